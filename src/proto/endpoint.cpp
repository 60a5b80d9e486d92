// The protocol engine of one channel (see endpoint.h).
#include "proto/endpoint.h"

#include <algorithm>
#include <stdexcept>

namespace blip::proto {
namespace {
// Replaced sessions remembered per remote, so that their late packets are not mistaken for
// yet another restart.
constexpr std::size_t kEndedSessionsKept = 4;
// Removed senders remembered endpoint-wide (see Endpoint::forgotten_).
constexpr std::size_t kForgottenKept = 1024;
}  // namespace

bool sequences_in_range(const wire::Packet& p) noexcept {
    auto ranges_ok = [](const wire::RangeList& r) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (r[i].end() > kMaxSequence) return false;
        }
        return true;
    };
    if (const auto* d = std::get_if<wire::Data>(&p.body)) {
        const std::uint64_t messages = d->fragment ? 1 : d->messages.size();
        return d->dseq < kMaxSequence && d->mseq < kMaxSequence - messages;
    }
    if (const auto* hb = std::get_if<wire::Heartbeat>(&p.body)) {
        return hb->next_dseq < kMaxSequence && hb->next_mseq < kMaxSequence;
    }
    if (const auto* n = std::get_if<wire::Nak>(&p.body)) return ranges_ok(n->ranges);
    if (const auto* st = std::get_if<wire::StatusReport>(&p.body)) {
        return st->limit < kMaxSequence;  // position <= limit (decode checks it)
    }
    const auto& u = std::get<wire::Unavailable>(p.body);
    return u.trail < kMaxSequence && ranges_ok(u.ranges);
}

Endpoint::Endpoint(const EndpointConfig& cfg, Output& out, Time now)
    : cfg_(cfg), out_(out), rng_(cfg.seed), start_(now) {
    std::string err = validate(cfg_);
    if (!err.empty()) throw std::invalid_argument(err);
    node_ = cfg_.node_id != 0 ? cfg_.node_id : (rng_.next() | 1);
    session_ = cfg_.session_id != 0 ? cfg_.session_id : (rng_.next() | 1);
}

bool Endpoint::accepts(std::uint32_t stream) const {
    const auto& a = cfg_.receiver.accept_streams;
    return a.empty() || std::find(a.begin(), a.end(), stream) != a.end();
}

Sender& Endpoint::local_sender(std::uint32_t stream) {
    auto it = senders_.find(stream);
    if (it == senders_.end()) {
        it = senders_
                 .emplace(stream, std::make_unique<Sender>(
                                      cfg_.sender, StreamKey{node_, session_, stream}, start_))
                 .first;
    }
    return *it->second;
}

Status Endpoint::send(Time now, std::uint32_t stream, std::span<const std::uint8_t> data,
                      std::uint64_t* mseq) {
    return local_sender(stream).submit(now, data, mseq);
}

Status Endpoint::send_adopted(Time now, std::uint32_t stream, std::vector<std::uint8_t>& bytes,
                              std::span<const MessageQueue::Extent> extents) {
    return local_sender(stream).submit_adopted(now, bytes, extents);
}

std::vector<std::uint8_t> Endpoint::take_spare_buffer(std::uint32_t stream) {
    auto it = senders_.find(stream);
    return it == senders_.end() ? std::vector<std::uint8_t>{} : it->second->take_spare_buffer();
}

void Endpoint::flush(Time now) {
    for (auto& [stream, s] : senders_) s->flush(now, out_);
}

const Sender* Endpoint::sender(std::uint32_t stream) const {
    auto it = senders_.find(stream);
    return it == senders_.end() ? nullptr : it->second.get();
}

void Endpoint::for_each_receiver(
    const std::function<void(const Receiver&, bool inactive)>& fn) const {
    for (const auto& [key, r] : remotes_) fn(*r.rx, r.inactive);
}

void Endpoint::emit_membership(EventType type, const StreamKey& key, std::uint64_t old_session) {
    Event ev;
    ev.type = type;
    ev.from = key;
    ev.old_session = old_session;
    out_.event(ev);
}

std::unique_ptr<Receiver> Endpoint::make_receiver(Time now, const wire::Packet& p) {
    // Where a new receiver starts. If the session is younger than our listening time we
    // were there when it began: everything it sent is ours, from dseq 0 (a lost first
    // datagram is then repaired or reported, never silently skipped). Otherwise we joined
    // late and the join policy decides.
    std::uint32_t age = 0;
    std::uint64_t trail = 0;
    std::uint64_t first = 0;
    if (const auto* d = std::get_if<wire::Data>(&p.body)) {
        age = d->age_ms;
        trail = d->trail();
        first = d->dseq;
    } else {
        const auto& hb = std::get<wire::Heartbeat>(p.body);
        age = hb.age_ms;
        trail = hb.trail;
        first = hb.next_dseq;
    }
    const StreamKey key{p.header.node, p.header.session, p.header.stream};
    const bool forgotten =
        std::find(forgotten_.begin(), forgotten_.end(),
                  std::make_pair(p.header.node, p.header.session)) != forgotten_.end();
    const bool young = !forgotten && age <= to_ms_u32(now - start_);
    std::uint64_t start = first;
    if (young) {
        start = 0;
    } else if (cfg_.receiver.join == JoinPolicy::kRecover) {
        start = trail;
    }
    return std::make_unique<Receiver>(cfg_.receiver, key, rng_, cfg_.sender.datagram_size, start,
                                      young, ReporterId{node_, session_});
}

Endpoint::Remote* Endpoint::route(Time now, const wire::Packet& p) {
    const wire::Header& h = p.header;
    const RemoteKey rk{h.node, h.stream};
    const StreamKey key{h.node, h.session, h.stream};
    // Only an original DATA or a HEARTBEAT may introduce a sender: a repair or an
    // UNAVAILABLE says nothing about where a newcomer should start.
    const bool can_introduce =
        h.type == wire::PacketType::kHeartbeat ||
        (h.type == wire::PacketType::kData && !std::get<wire::Data>(p.body).repair);
    auto it = remotes_.find(rk);
    if (it == remotes_.end()) {
        if (!can_introduce) return nullptr;
        if (remotes_.size() >= cfg_.receiver.max_senders) {
            ++stats_.too_many_senders;
            return nullptr;
        }
        Remote r;
        r.session = h.session;
        r.rx = make_receiver(now, p);
        r.last_heard = now;
        it = remotes_.emplace(rk, std::move(r)).first;
        emit_membership(EventType::kSenderNew, key);
        return &it->second;
    }
    Remote& r = it->second;
    if (r.session != h.session) {
        const auto& ended = r.ended_sessions;
        if (std::find(ended.begin(), ended.end(), h.session) != ended.end()) {
            ++stats_.stale_sessions;
            return nullptr;
        }
        if (!can_introduce) return nullptr;
        // The node restarted: the old session's stream ends here.
        r.rx->sender_gone(now, out_, true);
        const std::uint64_t old = r.session;
        if (r.ended_sessions.size() >= kEndedSessionsKept) {
            r.ended_sessions.erase(r.ended_sessions.begin());
        }
        r.ended_sessions.push_back(old);
        r.session = h.session;
        r.rx = make_receiver(now, p);
        r.inactive = false;
        r.last_heard = now;
        emit_membership(EventType::kSenderRestarted, key, old);
        return &r;
    }
    r.last_heard = now;
    if (r.inactive) {
        r.inactive = false;
        emit_membership(EventType::kSenderActive, key);
    }
    return &r;
}

void Endpoint::on_datagram(Time now, std::span<const std::uint8_t> datagram) {
    ++stats_.datagrams_received;
    wire::Packet p;
    const wire::DecodeError err = wire::decode(datagram, p);
    if (err == wire::DecodeError::kBadMagic) {
        ++stats_.foreign;
        return;
    }
    if (err != wire::DecodeError::kOk) {
        ++stats_.malformed;
        ++stats_.malformed_by_reason[static_cast<std::size_t>(err)];
        return;
    }
    if (!sequences_in_range(p)) {
        ++stats_.out_of_range;
        return;
    }
    const wire::Header& h = p.header;
    const bool from_me = h.node == node_ && h.session == session_;
    if (h.type == wire::PacketType::kNak) {
        const auto& nak = std::get<wire::Nak>(p.body);
        if (from_me) {  // a NAK addressed to one of our streams
            auto s = senders_.find(h.stream);
            if (s != senders_.end()) s->second->on_nak(now, nak);
            return;
        }
        ++stats_.naks_for_others;
        auto it = remotes_.find(RemoteKey{h.node, h.stream});
        if (it != remotes_.end() && it->second.session == h.session) {
            it->second.rx->on_nak_seen(now, nak);
        }
        return;
    }
    if (h.type == wire::PacketType::kStatus) {
        if (!from_me) {  // about another sender: it has other receivers than us
            ++stats_.statuses_for_others;
            auto it = remotes_.find(RemoteKey{h.node, h.stream});
            if (it != remotes_.end() && it->second.session == h.session) {
                it->second.rx->on_status_seen(now, std::get<wire::StatusReport>(p.body));
            }
            return;
        }
        auto s = senders_.find(h.stream);
        if (s != senders_.end()) s->second->on_status(now, std::get<wire::StatusReport>(p.body));
        return;
    }
    if (from_me) {
        ++stats_.own_looped;
        return;
    }
    if (!accepts(h.stream)) {
        ++stats_.ignored_streams;
        return;
    }
    Remote* r = route(now, p);
    if (r == nullptr) return;
    switch (h.type) {
        case wire::PacketType::kData:
            r->rx->on_data(now, std::get<wire::Data>(p.body), datagram, out_);
            break;
        case wire::PacketType::kHeartbeat:
            r->rx->on_heartbeat(now, std::get<wire::Heartbeat>(p.body), out_);
            break;
        case wire::PacketType::kUnavailable:
            r->rx->on_unavailable(now, std::get<wire::Unavailable>(p.body), out_);
            break;
        case wire::PacketType::kNak:
        case wire::PacketType::kStatus:
            break;
    }
}

void Endpoint::on_timer(Time now) {
    for (auto it = remotes_.begin(); it != remotes_.end();) {
        Remote& r = it->second;
        r.rx->poll(now, out_);
        const StreamKey key = r.rx->key();
        if (!r.inactive && now - r.last_heard >= cfg_.receiver.sender_timeout) {
            r.inactive = true;
            r.rx->sender_gone(now, out_, false);
            emit_membership(EventType::kSenderInactive, key);
        }
        if (r.inactive && now - r.last_heard >= cfg_.receiver.sender_forget) {
            r.rx->sender_gone(now, out_, true);
            if (forgotten_.size() >= kForgottenKept) forgotten_.pop_front();
            forgotten_.emplace_back(key.node, key.session);
            emit_membership(EventType::kSenderRemoved, key);
            it = remotes_.erase(it);
            continue;
        }
        ++it;
    }
    flush(now);
}

Time Endpoint::next_deadline(Time now) {
    Time t = kNever;
    for (auto& [stream, s] : senders_) t = std::min(t, s->next_deadline(now));
    for (const auto& [key, r] : remotes_) {
        t = std::min(t, r.rx->next_deadline());
        t = std::min(t, r.last_heard + (r.inactive ? cfg_.receiver.sender_forget
                                                   : cfg_.receiver.sender_timeout));
    }
    return t;
}

}  // namespace blip::proto
