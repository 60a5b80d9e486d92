// The deterministic network simulator (see network.h).
#include "sim/network.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "wire/codec.h"

namespace blip::sim {

std::string Metrics::summary() const {
    char buf[512];
    auto us = [](proto::Duration d) { return double(d.count()) / 1000.0; };
    std::snprintf(buf, sizeof buf,
                  "lost datagrams %zu (copies %llu), repairs/loss %.2f, NAKs/loss %.2f, "
                  "repair delay p50 %.0f us p99 %.0f us (n=%zu), socket overflows %llu",
                  lost.size(), static_cast<unsigned long long>(copies_dropped), repairs_per_loss(),
                  naks_per_loss(), us(repair_delay_percentile(50)), us(repair_delay_percentile(99)),
                  repair_delays.size(), static_cast<unsigned long long>(overflow_drops));
    return buf;
}

// The Output of one simulated node: datagrams go onto the simulated wire, deliveries and
// events to the listener.
class Network::NodeOutput final : public proto::Output {
public:
    NodeOutput(Network& net, int node) : net_(net), node_(node) {}
    void send_datagram(std::span<const std::uint8_t> d) override { net_.transmit(node_, d); }
    void deliver(const proto::MessageInfo& info, std::span<const std::uint8_t> data) override {
        if (net_.listener_) net_.listener_->on_deliver(node_, net_.now_, info, data);
    }
    void event(const proto::Event& ev) override {
        if (net_.listener_) net_.listener_->on_event(node_, net_.now_, ev);
    }

private:
    Network& net_;
    int node_;
};

struct Network::Node {
    std::unique_ptr<NodeOutput> output;
    std::unique_ptr<proto::Endpoint> ep;
    Time deadline = proto::kNever;
    // Receive capacity (see set_receive_capacity); read_time zero: none.
    Duration read_time{0};
    std::size_t socket_max = 0;
    Time cpu_free{0};          // when the node can read its next datagram
    std::deque<Time> waiting;  // read times of the datagrams in the socket, ascending
    std::uint64_t socket = 0;  // generation: bumped when the node stops (the socket closes)
};

Network::Network(std::uint64_t seed, Listener* listener) : rng_(seed), listener_(listener) {}
Network::~Network() = default;

int Network::add_node(const proto::EndpointConfig& cfg) {
    const int id = size();
    auto n = std::make_unique<Node>();
    n->output = std::make_unique<NodeOutput>(*this, id);
    proto::EndpointConfig c = cfg;
    if (c.seed == 1) c.seed = rng_.next();  // distinct back-off per node unless pinned
    n->ep = std::make_unique<proto::Endpoint>(c, *n->output, now_);
    nodes_.push_back(std::move(n));
    refresh_deadline(id);
    return id;
}

void Network::stop_node(int node) {
    Node& n = *nodes_.at(static_cast<std::size_t>(node));
    deadlines_.erase({n.deadline, node});
    n.deadline = proto::kNever;
    n.ep.reset();
    // The socket closes with the process: what it held is never read, not even by a restart.
    n.waiting.clear();
    n.cpu_free = Time{0};
    ++n.socket;
}

void Network::set_receive_capacity(int node, double datagrams_per_second,
                                   std::size_t queue_datagrams) {
    Node& n = *nodes_.at(static_cast<std::size_t>(node));
    if (!(datagrams_per_second > 0.0)) {
        n.read_time = Duration{0};
        n.socket_max = 0;
        return;
    }
    // Whole nanoseconds per datagram (at least one): read times stay exact integers.
    n.read_time = Duration{std::max<std::int64_t>(
        1, static_cast<std::int64_t>(std::llround(1e9 / datagrams_per_second)))};
    n.socket_max = queue_datagrams;
}

void Network::restart_node(int node, proto::EndpointConfig cfg) {
    Node& n = *nodes_.at(static_cast<std::size_t>(node));
    if (n.ep) cfg.node_id = n.ep->node_id();
    stop_node(node);
    cfg.session_id = 0;
    cfg.seed = rng_.next();
    n.ep = std::make_unique<proto::Endpoint>(cfg, *n.output, now_);
    refresh_deadline(node);
}

proto::Endpoint& Network::endpoint(int node) {
    auto& ep = nodes_.at(static_cast<std::size_t>(node))->ep;
    if (!ep) throw std::logic_error("node is stopped");
    return *ep;
}

bool Network::alive(int node) const {
    return node >= 0 && node < size() && nodes_[static_cast<std::size_t>(node)]->ep != nullptr;
}

void Network::set_link(int from, int to, const LinkModel& m) { links_[{from, to}] = m; }
void Network::set_egress(int from, const LinkModel& m) { egress_[from] = m; }

void Network::add_partition(Time start, Time end, std::vector<int> side) {
    partitions_.push_back({start, end, std::set<int>(side.begin(), side.end())});
}

const LinkModel& Network::link(int from, int to) const {
    auto it = links_.find({from, to});
    return it == links_.end() ? default_link_ : it->second;
}

bool Network::partitioned(int a, int b, Time t) const {
    for (const Partition& p : partitions_) {
        if (t >= p.start && t < p.end && (p.side.count(a) != p.side.count(b))) return true;
    }
    return false;
}

void Network::at(Time t, std::function<void()> fn) {
    actions_.push(Action{t, order_++, std::move(fn)});
}

std::uint64_t Network::send(int node, std::uint32_t stream, std::span<const std::uint8_t> data) {
    std::uint64_t mseq = 0;
    proto::Endpoint& ep = endpoint(node);
    if (ep.send(now_, stream, data, &mseq) != proto::Status::kOk) {
        throw std::runtime_error("simulated send refused (queue full or too large)");
    }
    ep.flush(now_);
    refresh_deadline(node);
    return mseq;
}

void Network::refresh_deadline(int node) {
    Node& n = *nodes_[static_cast<std::size_t>(node)];
    deadlines_.erase({n.deadline, node});
    n.deadline = n.ep ? n.ep->next_deadline(now_) : proto::kNever;
    // A deadline in the past means "now": the core has work it could not do yet.
    if (n.deadline != proto::kNever && n.deadline < now_) n.deadline = now_;
    if (n.deadline != proto::kNever) deadlines_.insert({n.deadline, node});
}

void Network::transmit(int from, std::span<const std::uint8_t> datagram) {
    wire::Packet p;
    if (wire::decode(datagram, p) != wire::DecodeError::kOk) {
        throw std::logic_error("a node sent an undecodable datagram");
    }
    const auto* data = std::get_if<wire::Data>(&p.body);
    Metrics::DatagramId id{p.header.node, p.header.session, p.header.stream, data ? data->dseq : 0};
    switch (p.header.type) {
        case wire::PacketType::kData:
            ++(data->repair ? metrics_.repairs_sent : metrics_.data_sent);
            break;
        case wire::PacketType::kNak:
            ++metrics_.naks_sent;
            break;
        case wire::PacketType::kHeartbeat:
            ++metrics_.heartbeats_sent;
            break;
        case wire::PacketType::kUnavailable:
            ++metrics_.unavailable_sent;
            break;
        case wire::PacketType::kStatus:
            ++metrics_.statuses_sent;
            break;
    }
    const bool original = data != nullptr && !data->repair;
    auto bytes =
        std::make_shared<const std::vector<std::uint8_t>>(datagram.begin(), datagram.end());
    auto eg = egress_.find(from);
    bool egress_drop = eg != egress_.end() && egress_state_[from].drop(eg->second, rng_);
    for (int to = 0; to < size(); ++to) {
        if (to == from || !alive(to)) continue;
        const LinkModel& m = link(from, to);
        bool drop = egress_drop || link_state_[{from, to}].drop(m, rng_) ||
                    partitioned(from, to, now_) || (filter_ && filter_(from, to, p, now_));
        if (drop) {
            if (original) {
                ++metrics_.copies_dropped;
                metrics_.lost.insert(id);
                metrics_.awaiting_repair.emplace(std::make_pair(to, id), now_);
            }
            continue;
        }
        int copies = (m.duplicate > 0.0 && rng_.uniform() < m.duplicate) ? 2 : 1;
        for (int c = 0; c < copies; ++c) {
            Duration d = m.delay;
            if (m.jitter > Duration::zero()) {
                d += Duration(static_cast<std::int64_t>(
                    rng_.below(static_cast<std::uint64_t>(m.jitter.count()) + 1)));
            }
            in_flight_.push(InFlight{now_ + d, order_++, to, from, bytes});
        }
    }
}

void Network::arrive(const InFlight& f) {
    if (!alive(f.to)) return;
    Node& n = *nodes_[static_cast<std::size_t>(f.to)];
    if (f.queued) {  // the node gets to a datagram in its socket
        if (f.socket == n.socket) read(f);
        return;
    }
    if (n.read_time == Duration{0}) {  // infinite capacity: read on arrival
        read(f);
        return;
    }
    if (n.cpu_free <= now_) {  // idle, so the socket is empty: read at once
        n.waiting.clear();
        n.cpu_free = now_ + n.read_time;
        read(f);
        return;
    }
    // Datagrams whose read time has come have left the socket (their read event may still
    // be queued behind this arrival at the same instant).
    while (!n.waiting.empty() && n.waiting.front() <= now_) n.waiting.pop_front();
    if (n.waiting.size() >= n.socket_max) {
        ++metrics_.overflow_drops;
        ++metrics_.overflow_drops_at[f.to];
        return;
    }
    InFlight q = f;
    q.at = n.cpu_free;
    q.order = order_++;
    q.queued = true;
    q.socket = n.socket;
    in_flight_.push(std::move(q));
    n.waiting.push_back(n.cpu_free);
    n.cpu_free += n.read_time;
    std::size_t& peak = metrics_.socket_peak[f.to];
    peak = std::max(peak, n.waiting.size());
}

void Network::read(const InFlight& f) {
    wire::Packet p;
    if (wire::decode(*f.bytes, p) == wire::DecodeError::kOk) {
        if (const auto* d = std::get_if<wire::Data>(&p.body)) {
            auto it = metrics_.awaiting_repair.find(
                {f.to,
                 Metrics::DatagramId{p.header.node, p.header.session, p.header.stream, d->dseq}});
            if (it != metrics_.awaiting_repair.end()) {
                metrics_.repair_delays.push_back(now_ - it->second);
                metrics_.awaiting_repair.erase(it);
            }
        } else if (const auto* n = std::get_if<wire::Nak>(&p.body)) {
            proto::Endpoint& ep = endpoint(f.to);
            if (ep.node_id() == p.header.node && ep.session_id() == p.header.session) {
                ++metrics_.naks_at_sender;
                for (std::size_t i = 0; i < n->ranges.size(); ++i) {
                    metrics_.nak_mentions_at_sender += n->ranges[i].count;
                }
            }
        }
    }
    endpoint(f.to).on_datagram(now_, *f.bytes);
    refresh_deadline(f.to);
}

bool Network::step(Time limit) {
    Time t_pkt = in_flight_.empty() ? proto::kNever : in_flight_.top().at;
    Time t_act = actions_.empty() ? proto::kNever : actions_.top().at;
    Time t_tmr = deadlines_.empty() ? proto::kNever : deadlines_.begin()->first;
    Time t = std::min({t_pkt, t_act, t_tmr});
    if (t == proto::kNever || t > limit) return false;
    now_ = std::max(now_, t);
    if (t == t_act) {
        Action a = actions_.top();
        actions_.pop();
        a.fn();
    } else if (t == t_pkt) {
        InFlight f = in_flight_.top();
        in_flight_.pop();
        arrive(f);
    } else {
        const int node = deadlines_.begin()->second;
        deadlines_.erase(deadlines_.begin());
        nodes_[static_cast<std::size_t>(node)]->deadline = proto::kNever;
        endpoint(node).on_timer(now_);
        refresh_deadline(node);
    }
    return true;
}

void Network::run_until(Time t) {
    while (step(t)) {
    }
    now_ = std::max(now_, t);
}

bool Network::run_until(Time limit, const std::function<bool()>& done) {
    while (!done()) {
        if (!step(limit)) return done();
    }
    return true;
}

}  // namespace blip::sim
