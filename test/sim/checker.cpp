// Delivery verification for simulator scenarios (see checker.h).
#include "sim/checker.h"

#include <cstring>
#include <sstream>

namespace blip::sim {

std::uint64_t content_hash(std::span<const std::uint8_t> data) {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ data.size();
    std::size_t i = 0;
    for (; i + 8 <= data.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, data.data() + i, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDULL;
        h ^= h >> 32;
    }
    for (; i < data.size(); ++i) h = (h ^ data[i]) * 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 29);
}

std::vector<std::uint8_t> make_payload(std::uint64_t tag, std::size_t size) {
    std::vector<std::uint8_t> out(size);
    proto::Rng rng(tag);
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t w = rng.next();
        std::memcpy(out.data() + i, &w, 8);
    }
    std::uint64_t w = rng.next();
    for (; i < size; ++i, w >>= 8) out[i] = static_cast<std::uint8_t>(w);
    return out;
}

StreamId stream_of(Network& net, int node, std::uint32_t stream) {
    proto::Endpoint& ep = net.endpoint(node);
    return {ep.node_id(), ep.session_id(), stream};
}

void Checker::error(int node, std::string msg) {
    if (errors_.size() >= 20) return;
    if (node >= 0) {
        msg += "\n  recent at this receiver:";
        for (const std::string& r : nodes_[node].recent) msg += "\n    " + r;
    }
    errors_.push_back(std::move(msg));
}

void Checker::trace(int node, Time now, std::string what) {
    auto& r = nodes_[node].recent;
    if (r.size() >= 12) r.erase(r.begin());
    r.push_back(std::to_string(now.count() / 1000) + "us " + std::move(what));
}

void Checker::sent(const StreamId& id, std::uint64_t mseq, std::span<const std::uint8_t> data) {
    auto& v = sent_[id];
    if (mseq != v.size()) error(-1, "sender mseq not consecutive");
    v.push_back({data.size(), content_hash(data)});
}

std::uint64_t Checker::send(Network& net, int node, std::uint32_t stream, std::size_t size) {
    std::vector<std::uint8_t> data = make_payload(++tag_ * 0x100000001B3ULL, size);
    std::uint64_t mseq = net.send(node, stream, data);
    sent(stream_of(net, node, stream), mseq, data);
    return mseq;
}

void Checker::on_deliver(int node, Time now, const proto::MessageInfo& info,
                         std::span<const std::uint8_t> data) {
    const StreamId id{info.from.node, info.from.session, info.from.stream};
    StreamLog& s = nodes_[node].streams[id];
    std::ostringstream where;
    where << "receiver " << node << " stream " << std::get<0>(id) << "/" << std::get<1>(id) << "/"
          << std::get<2>(id) << " mseq " << info.mseq << ": ";
    trace(node, now,
          "deliver mseq " + std::to_string(info.mseq) + " size " + std::to_string(data.size()));
    if (s.ended) error(node, where.str() + "delivered after an open-ended loss");
    if (!s.started) {
        s.started = true;
        s.first = s.next = info.mseq;
    }
    if (info.mseq != s.next) {
        error(node, where.str() + "expected mseq " + std::to_string(s.next) +
                        " (out of order, duplicate, or a gap without a loss event)");
    }
    s.next = info.mseq + 1;
    ++s.delivered;
    s.last_delivery = now;
    auto it = sent_.find(id);
    if (it == sent_.end() || info.mseq >= it->second.size()) {
        error(node, where.str() + "delivered a message never sent");
        return;
    }
    const Sent& m = it->second[info.mseq];
    if (m.size != data.size() || m.hash != content_hash(data)) {
        error(node, where.str() + "content differs from what was sent");
    }
}

void Checker::on_event(int node, Time now, const proto::Event& ev) {
    if (ev.type != proto::EventType::kLoss) {
        trace(node, now, std::string(proto::to_string(ev.type)));
        nodes_[node].membership.emplace_back(now, ev);
        return;
    }
    const StreamId id{ev.from.node, ev.from.session, ev.from.stream};
    StreamLog& s = nodes_[node].streams[id];
    std::ostringstream where;
    where << "receiver " << node << " loss [" << ev.first_mseq << ", +" << ev.count << ") "
          << (ev.open_ended ? "open-ended " : "") << proto::to_string(ev.reason) << ": ";
    trace(node, now, where.str());
    if (s.ended) error(node, where.str() + "loss after an open-ended loss");
    if (!s.started) {
        s.started = true;
        s.first = s.next = ev.first_mseq;
    }
    if (ev.first_mseq != s.next) {
        error(node,
              where.str() + "does not start at the stream position " + std::to_string(s.next));
    }
    if (ev.count == 0 && !ev.open_ended) error(node, where.str() + "empty loss event");
    s.losses.push_back(ev);
    if (ev.open_ended) {
        s.ended = true;
        auto it = sent_.find(id);
        std::uint64_t total = it == sent_.end() ? s.next : it->second.size();
        if (total > ev.first_mseq) s.lost += total - ev.first_mseq;
        return;
    }
    s.next = ev.first_mseq + ev.count;
    s.lost += ev.count;
    auto it = sent_.find(id);
    if (it == sent_.end() || s.next > it->second.size()) {
        error(node, where.str() + "names messages never sent");
    }
}

const Checker::StreamLog* Checker::stream(int receiver, const StreamId& id) const {
    auto n = nodes_.find(receiver);
    if (n == nodes_.end()) return nullptr;
    auto s = n->second.streams.find(id);
    return s == n->second.streams.end() ? nullptr : &s->second;
}

std::uint64_t Checker::sent_count(const StreamId& id) const {
    auto it = sent_.find(id);
    return it == sent_.end() ? 0 : it->second.size();
}

bool Checker::complete(int receiver, const StreamId& id) const {
    const StreamLog* s = stream(receiver, id);
    if (s == nullptr) return sent_count(id) == 0;
    return s->ended || s->next >= sent_count(id);
}

}  // namespace blip::sim
