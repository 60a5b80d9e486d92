// A deterministic network simulator for the protocol core: a virtual clock, an event
// queue, and a multicast "wire" on which every datagram a node sends reaches every other
// live node through its own seeded LinkModel (loss, bursts, duplication, delay, jitter),
// optionally after an egress model shared by all receivers (loss upstream of everyone)
// and subject to timed partitions. A node may be given a finite receive capacity (a socket
// buffer in front of a CPU); by default it reads every datagram at its arrival time. Same
// seed, same run, bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <span>
#include <tuple>
#include <vector>

#include "proto/endpoint.h"
#include "proto/rng.h"
#include "sim/link_model.h"
#include "sim/metrics.h"

namespace blip::sim {

/// Receives what the simulated nodes deliver (the test's checker).
class Listener {
public:
    virtual ~Listener() = default;
    virtual void on_deliver(int node, Time now, const proto::MessageInfo& info,
                            std::span<const std::uint8_t> data) = 0;
    virtual void on_event(int node, Time now, const proto::Event& ev) = 0;
};

class Network {
public:
    explicit Network(std::uint64_t seed, Listener* listener = nullptr);
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    /// Adds a node running an Endpoint with `cfg`, starting now. Returns its index.
    int add_node(const proto::EndpointConfig& cfg);
    /// The node stops: its endpoint is destroyed, it sends and hears nothing more.
    void stop_node(int node);
    /// The node restarts with a new endpoint (same node id, new random session).
    void restart_node(int node, proto::EndpointConfig cfg);
    [[nodiscard]] proto::Endpoint& endpoint(int node);
    [[nodiscard]] bool alive(int node) const;
    [[nodiscard]] int size() const noexcept { return static_cast<int>(nodes_.size()); }

    void set_default_link(const LinkModel& m) { default_link_ = m; }
    /// The path from -> to uses `m` instead of the default.
    void set_link(int from, int to, const LinkModel& m);
    /// Loss applied once per datagram sent by `from`, before fan-out: every receiver
    /// misses the same datagrams. Only loss fields are used.
    void set_egress(int from, const LinkModel& m);
    /// Gives `node` a finite receive capacity: its "socket" holds at most `queue_datagrams`
    /// datagrams waiting to be read, and it reads them one at a time, in arrival order, each
    /// taking 1 / `datagrams_per_second` (the endpoint sees a datagram when it is read; timers
    /// cost nothing). A datagram that arrives while the socket is full is dropped and counted
    /// (Metrics::overflow_drops). One arriving while the node is idle is read at once. A rate
    /// <= 0 removes the limit (the default: every datagram is read when it arrives).
    /// Deterministic: no randomness. Stopping the node empties its socket; the setting
    /// survives restarts. Meant to be set before traffic; a change applies to later arrivals.
    void set_receive_capacity(int node, double datagrams_per_second, std::size_t queue_datagrams);
    /// During [start, end) nothing crosses between `side` and the other nodes.
    void add_partition(Time start, Time end, std::vector<int> side);
    /// Packet filter for special scenarios: return true to drop (after other models).
    using Filter = std::function<bool(int from, int to, const wire::Packet& p, Time now)>;
    void set_filter(Filter f) { filter_ = std::move(f); }

    /// Runs `fn` at virtual time `t` (in order of scheduling for equal times).
    void at(Time t, std::function<void()> fn);
    /// Sends a message from `node` now (queues and flushes), returning its mseq.
    std::uint64_t send(int node, std::uint32_t stream, std::span<const std::uint8_t> data);

    /// Advances virtual time, processing everything due, until `t`.
    void run_until(Time t);
    /// Runs until `done()` is true (checked after each step) or virtual time `limit`.
    /// Returns whether done() became true.
    bool run_until(Time limit, const std::function<bool()>& done);

    [[nodiscard]] Time now() const noexcept { return now_; }
    [[nodiscard]] Metrics& metrics() noexcept { return metrics_; }

private:
    struct Node;
    class NodeOutput;
    struct InFlight {
        Time at;
        std::uint64_t order;
        int to;
        int from;
        std::shared_ptr<const std::vector<std::uint8_t>> bytes;
        // Set when `at` is the time a node with a receive capacity reads a datagram already
        // in its socket (not an arrival); valid only for the socket generation `socket`.
        bool queued = false;
        std::uint64_t socket = 0;
        bool operator>(const InFlight& o) const noexcept {
            return std::tie(at, order) > std::tie(o.at, o.order);
        }
    };
    struct Action {
        Time at;
        std::uint64_t order;
        std::function<void()> fn;
    };
    struct ActionLater {
        bool operator()(const Action& a, const Action& b) const noexcept {
            return std::tie(a.at, a.order) > std::tie(b.at, b.order);
        }
    };

    void transmit(int from, std::span<const std::uint8_t> datagram);
    void arrive(const InFlight& f);
    /// The node reads `f` now: repair bookkeeping, then the endpoint.
    void read(const InFlight& f);
    [[nodiscard]] bool partitioned(int a, int b, Time t) const;
    const LinkModel& link(int from, int to) const;
    void refresh_deadline(int node);
    bool step(Time limit);

    proto::Rng rng_;
    Listener* listener_;
    Time now_{0};
    std::uint64_t order_ = 0;
    std::vector<std::unique_ptr<Node>> nodes_;
    LinkModel default_link_;
    std::map<std::pair<int, int>, LinkModel> links_;
    std::map<std::pair<int, int>, LinkState> link_state_;
    std::map<int, LinkModel> egress_;
    std::map<int, LinkState> egress_state_;
    struct Partition {
        Time start, end;
        std::set<int> side;
    };
    std::vector<Partition> partitions_;
    Filter filter_;
    std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> in_flight_;
    std::priority_queue<Action, std::vector<Action>, ActionLater> actions_;
    std::set<std::pair<Time, int>> deadlines_;
    Metrics metrics_;
};

}  // namespace blip::sim
