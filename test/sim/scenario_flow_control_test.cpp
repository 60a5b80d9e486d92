// Scenarios about receiver-driven flow control (STATUS): a sender with 20,000 datagrams
// queued at once and receivers of finite capacity (Network::set_receive_capacity), with and
// without flow control, with a fast and a slow receiver, with a receiver that dies while it
// holds the sender back, and with loss on every path.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "sim/scenario.h"

namespace blip::sim {
namespace {

// The slow receiver: a CPU that reads 50,000 datagrams/s (20 us each) behind a socket
// buffer of 256 datagrams, reporting a credit of 128 datagrams (half its buffer, so that
// repairs, probes and other traffic still fit).
constexpr double kSlowRate = 50'000;
constexpr std::size_t kSlowQueue = 256;
constexpr std::uint64_t kCredit = 128;
// Messages of 1 KiB: one per datagram (two do not fit in 1400 bytes), so datagrams and
// messages count the same and the ideal transfer time is kMessages / kSlowRate = 400 ms.
constexpr int kMessages = 20'000;
constexpr std::size_t kMessageSize = 1024;
constexpr Duration kIdeal = Duration(static_cast<std::int64_t>(kMessages / kSlowRate * 1e9));

// Fewer seeds than the other scenarios: without loss these runs differ only in node ids and
// back-off draws, and each moves 20,000 datagrams.
int flow_seeds() { return std::min(seed_count(), 10); }

// The sender's: the whole run (20 MB) is submitted at once, so its queue must hold it.
proto::EndpointConfig sender_config() {
    proto::EndpointConfig cfg;
    cfg.sender.queue_max_bytes = std::size_t{kMessages} * kMessageSize * 2;
    return cfg;
}

proto::EndpointConfig receiver_config() {
    proto::EndpointConfig cfg;
    cfg.receiver.status_credit = kCredit;
    return cfg;
}

// What one run shows, printed per scenario as min/max over the seeds.
struct Figures {
    std::string name;
    int runs = 0;
    Duration min_time = Duration::max(), max_time = Duration::zero();
    std::uint64_t max_overflow = 0, min_overflow = ~std::uint64_t{0};
    std::uint64_t max_naks = 0, max_repairs = 0, max_probes = 0, max_stalls = 0;
    std::uint64_t max_statuses = 0;
    std::size_t max_peak = 0;

    void add(Duration t, const Metrics& m, const proto::SenderStats& s) {
        ++runs;
        min_time = std::min(min_time, t);
        max_time = std::max(max_time, t);
        min_overflow = std::min(min_overflow, m.overflow_drops);
        max_overflow = std::max(max_overflow, m.overflow_drops);
        max_naks = std::max(max_naks, m.naks_sent);
        max_repairs = std::max(max_repairs, s.repairs_sent);
        max_probes = std::max(max_probes, s.flow_probes);
        max_stalls = std::max(max_stalls, s.flow_stalls);
        max_statuses = std::max(max_statuses, m.statuses_sent);
        for (const auto& [node, peak] : m.socket_peak) max_peak = std::max(max_peak, peak);
    }
    ~Figures() {
        if (runs == 0) return;
        std::printf(
            "[sim] %-22s seeds=%d completion %.1f..%.1f ms (ideal %.1f) overflow-drops "
            "%llu..%llu socket-peak<=%zu NAKs<=%llu repairs<=%llu probes<=%llu stalls<=%llu "
            "STATUS<=%llu\n",
            name.c_str(), runs, double(min_time.count()) / 1e6, double(max_time.count()) / 1e6,
            double(kIdeal.count()) / 1e6, static_cast<unsigned long long>(min_overflow),
            static_cast<unsigned long long>(max_overflow), max_peak,
            static_cast<unsigned long long>(max_naks), static_cast<unsigned long long>(max_repairs),
            static_cast<unsigned long long>(max_probes),
            static_cast<unsigned long long>(max_stalls),
            static_cast<unsigned long long>(max_statuses));
        std::fflush(stdout);
    }
};

// Runs `body(seed, checker, network)` over flow_seeds(), stopping at the first failure.
template <class Body>
void for_seeds(Body body) {
    for (int seed = 1; seed <= flow_seeds() && !::testing::Test::HasFailure(); ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        Checker check;
        Network net(static_cast<std::uint64_t>(seed), &check);
        body(seed, check, net);
    }
}

const proto::Sender& sender_of(Network& net, int node) {
    const proto::Sender* s = net.endpoint(node).sender(0);
    if (s == nullptr) throw std::logic_error("node has not sent on stream 0");
    return *s;
}

// Sends one message and runs until `receivers` receivers have reported to the sender, so
// that the burst that follows is held by their limits. A stream that has never heard a
// report is held only by an initial credit: see the ColdStart tests.
void warm_up(Network& net, Checker& check, int sender, std::size_t receivers) {
    check.send(net, sender, 0, kMessageSize);
    ASSERT_TRUE(net.run_until(net.now() + 10ms, [&] {
        return sender_of(net, sender).flow_receivers() == receivers;
    })) << "the receivers did not report";
}

// Queues kMessages at once (each send flushes: the first sends all flow control allows,
// the rest wait in the sender's queue).
void burst(Network& net, Checker& check, int sender) {
    for (int i = 0; i < kMessages; ++i) check.send(net, sender, 0, kMessageSize);
}

// Every message of `id` (the warm-up one and the burst) delivered once, in order, with no
// loss event.
void expect_everything(Checker& check, int receiver, const StreamId& id) {
    ASSERT_TRUE(check.errors().empty()) << check.errors().front();
    const auto* s = check.stream(receiver, id);
    ASSERT_NE(s, nullptr) << "receiver " << receiver;
    EXPECT_EQ(s->first, 0u) << "receiver " << receiver;
    EXPECT_EQ(s->delivered, std::uint64_t(kMessages + 1)) << "receiver " << receiver;
    EXPECT_TRUE(s->losses.empty()) << "receiver " << receiver << " reported a loss";
}

// Runs until `rx` has every message of the sender's stream 0 or `limit` passes, checks them
// (expect_everything) and sets *took to the time from `t0` to the last delivery. False if the
// stream did not complete.
bool receive_all(Network& net, Checker& check, int sender, int rx, Time t0, Time limit,
                 Duration* took) {
    const StreamId id = stream_of(net, sender, 0);
    if (!run_until_complete(net, check, {rx}, {id}, limit)) return false;
    expect_everything(check, rx, id);
    *took = check.stream(rx, id)->last_delivery - t0;
    return true;
}

// The capacity model itself, on exact times: a receiver reading 1,000 datagrams/s (1 ms
// each) behind a socket of 2. Five datagrams sent at once arrive together 50 us later: the
// first is read at once, two wait and are read 1 and 2 ms later, two are dropped. A stop
// closes the socket: a restart at once does not read what the old one held, and the
// capacity still applies to the new endpoint.
TEST(SimFlowControl, CapacityModelReadsInOrderDropsWhenFullAndClosesOnStop) {
    struct Recorder final : Listener {
        std::vector<std::tuple<int, Time, std::uint64_t>> got;
        void on_deliver(int node, Time now, const proto::MessageInfo& info,
                        std::span<const std::uint8_t>) override {
            got.emplace_back(node, now, info.mseq);
        }
        void on_event(int, Time, const proto::Event&) override {}
    } rec;
    Network net(1, &rec);
    proto::EndpointConfig scfg = sender_config();
    scfg.sender.flow_control = false;
    const int sender = net.add_node(scfg);
    const int rx = net.add_node(receiver_config());
    net.set_receive_capacity(rx, 1000, 2);
    const std::vector<std::uint8_t> msg(100, 7);
    for (int i = 0; i < 5; ++i) net.send(sender, 0, msg);
    net.run_until(Time(2100us));
    using Got = std::vector<std::tuple<int, Time, std::uint64_t>>;
    EXPECT_EQ(rec.got, (Got{{rx, Time(50us), 0}, {rx, Time(1050us), 1}, {rx, Time(2050us), 2}}));
    // Data 3 and 4, and the heartbeats at 200 and 600 us (socket still full).
    EXPECT_EQ(net.metrics().overflow_drops_at[rx], 4u);
    EXPECT_EQ(net.metrics().overflow_drops, 4u);
    EXPECT_EQ(net.metrics().socket_peak[rx], 2u);

    // Again, 5 ms into the sender's session, but the receiver restarts while data 1 and 2
    // wait in its socket. (Later than above so that the new endpoint is a late joiner, kNext:
    // had it read data 1 from the old socket it would deliver it.)
    rec.got.clear();
    Network net2(1, &rec);
    const int sender2 = net2.add_node(scfg);
    const int rx2 = net2.add_node(receiver_config());
    net2.set_receive_capacity(rx2, 1000, 2);
    net2.run_until(Time(5ms));
    for (int i = 0; i < 5; ++i) net2.send(sender2, 0, msg);
    net2.run_until(Time(5900us));  // before the next heartbeat reaches the new socket
    net2.restart_node(rx2, receiver_config());
    net2.at(Time(8ms), [&] {
        for (int i = 0; i < 3; ++i) net2.send(sender2, 0, msg);
    });
    net2.run_until(Time(12ms));
    // The new endpoint joins from a heartbeat at the sender's next datagram and reads the new
    // data 1 ms apart.
    EXPECT_EQ(rec.got, (Got{{rx2, Time(5050us), 0},
                            {rx2, Time(8050us), 5},
                            {rx2, Time(9050us), 6},
                            {rx2, Time(10050us), 7}}));
}

// (a) One slow receiver: flow control paces the sender to its reading rate. The socket never
// holds much more than the credit (peak 131), nothing overflows, nothing is NAKed or repaired.
// Observed: 400.3 ms for the ideal 400, 14 probes in all: the receiver reports each time its
// limit has moved by credit / 4 = 32 datagrams (640 us of reading), and the held sender waits
// twice the usual interval between reports before its first probe, so a receiver that reports
// as it reads draws none (before that adaptation: 424.9 ms and 1,242 probes, two per stall).
TEST(SimFlowControl, SlowReceiverIsNotOverrun) {
    Figures fig{"flow-slow-receiver"};
    for_seeds([&](int, Checker& check, Network& net) {
        const int sender = net.add_node(sender_config());
        const int rx = net.add_node(receiver_config());
        net.set_receive_capacity(rx, kSlowRate, kSlowQueue);
        warm_up(net, check, sender, 1);
        const Time t0 = net.now();
        burst(net, check, sender);
        Duration took{};
        ASSERT_TRUE(receive_all(net, check, sender, rx, t0, t0 + 5s, &took));
        const proto::SenderStats& st = sender_of(net, sender).stats();
        fig.add(took, net.metrics(), st);
        EXPECT_EQ(net.metrics().overflow_drops, 0u);
        EXPECT_LE(net.metrics().socket_peak[rx], kCredit + 8);
        EXPECT_EQ(net.metrics().naks_sent, 0u);
        EXPECT_EQ(st.repairs_sent, 0u);
        EXPECT_GT(st.flow_stalls, std::uint64_t(kMessages) / kCredit) << "not paced by reports";
        EXPECT_EQ(st.flow_timeouts, 0u);
        EXPECT_LE(st.flow_probes, 2 * st.flow_stalls);
        EXPECT_GE(took, kIdeal);
        EXPECT_LE(took, kIdeal * 6 / 5) << "more than 20% slower than the receiver can read";
    });
}

// The socket overrun of (b) and of ColdStartBurstIsNotHeldBack: the sender puts all 20,000
// datagrams on the wire at once and the socket keeps 256 of them (one more is read at once).
// The receiver learns of the rest from the sender's heartbeats (it is idle after the burst)
// and NAKs it; repairs are paced only by repair_rate (100 MiB/s, ~97,000 datagrams/s of this
// size, about twice what the receiver reads) and never by flow control, so repair rounds
// overflow too (~37,000 drops, ~37,700 repairs for ~19,750 datagrams missing). Each round
// still gets the receiver a socket-full further, and the NAK retries (30, 1 ms doubling up
// to 100 ms) outlast the rounds needed: everything is delivered, in ~650 ms instead of 400,
// with no loss event. With a smaller socket or a slower receiver, gaps could be given up.
void expect_overrun_then_repaired(Network& net, Checker& check, int sender, int rx, Time t0,
                                  Figures& fig) {
    const StreamId id = stream_of(net, sender, 0);
    ASSERT_TRUE(run_until_complete(net, check, {rx}, {id}, t0 + 30s));
    const proto::SenderStats& st = sender_of(net, sender).stats();
    fig.add(check.stream(rx, id)->last_delivery - t0, net.metrics(), st);
    EXPECT_GT(net.metrics().overflow_drops, std::uint64_t(kMessages) * 3 / 2);
    EXPECT_EQ(net.metrics().overflow_drops_at[rx], net.metrics().overflow_drops);
    EXPECT_EQ(net.metrics().socket_peak[rx], kSlowQueue);
    EXPECT_GT(net.metrics().naks_sent, 0u);
    EXPECT_GT(st.repairs_sent, std::uint64_t(kMessages) * 3 / 2);
    EXPECT_EQ(st.flow_stalls, 0u) << "flow control never held anything back";
    expect_everything(check, rx, id);
}

// (b) The same as (a) without flow control: the socket overflows (see above).
TEST(SimFlowControl, WithoutFlowControlTheSocketOverflows) {
    Figures fig{"no-flow-slow-receiver"};
    for_seeds([&](int, Checker& check, Network& net) {
        proto::EndpointConfig scfg = sender_config();
        scfg.sender.flow_control = false;
        const int sender = net.add_node(scfg);
        const int rx = net.add_node(receiver_config());
        net.set_receive_capacity(rx, kSlowRate, kSlowQueue);
        warm_up(net, check, sender, 1);  // reports arrive, and are ignored
        const Time t0 = net.now();
        burst(net, check, sender);
        expect_overrun_then_repaired(net, check, sender, rx, t0, fig);
    });
}

// The burst of (a) with flow control on, but as the first thing the stream sends: no receiver
// has reported on it yet. Without an initial credit (the core's default: SenderConfig::
// initial_credit 0) a sender is held only by limits reported, so the first flush sends all
// 20,000 and the slow receiver is overrun exactly as without flow control; its first report
// (limit ~129) arrives when nothing is left to hold.
TEST(SimFlowControl, ColdStartBurstIsNotHeldBackWithoutAnInitialCredit) {
    Figures fig{"flow-cold-start"};
    for_seeds([&](int, Checker& check, Network& net) {
        const int sender = net.add_node(sender_config());
        const int rx = net.add_node(receiver_config());
        net.set_receive_capacity(rx, kSlowRate, kSlowQueue);
        net.run_until(Time(1ms));  // the receiver has nothing of this sender to report on
        const Time t0 = net.now();
        check.send(net, sender, 0, kMessageSize);  // the warm-up message of the others
        burst(net, check, sender);
        expect_overrun_then_repaired(net, check, sender, rx, t0, fig);
    });
}

// The same cold start with an initial credit (what a channel sets, from its socket buffer):
// the first kCredit datagrams go out, then the sender waits for the first report (a round trip,
// 100 us here), and from then on it is (a): nothing overflows and nothing needs a repair.
TEST(SimFlowControl, ColdStartBurstWaitsForTheFirstReport) {
    Figures fig{"flow-cold-start-credit"};
    for_seeds([&](int, Checker& check, Network& net) {
        proto::EndpointConfig scfg = sender_config();
        scfg.sender.initial_credit = kCredit;
        const int sender = net.add_node(scfg);
        const int rx = net.add_node(receiver_config());
        net.set_receive_capacity(rx, kSlowRate, kSlowQueue);
        net.run_until(Time(1ms));
        const Time t0 = net.now();
        check.send(net, sender, 0, kMessageSize);
        burst(net, check, sender);
        Duration took{};
        ASSERT_TRUE(receive_all(net, check, sender, rx, t0, t0 + 5s, &took));
        const proto::SenderStats& st = sender_of(net, sender).stats();
        fig.add(took, net.metrics(), st);
        EXPECT_EQ(net.metrics().overflow_drops, 0u);
        EXPECT_EQ(net.metrics().naks_sent, 0u);
        EXPECT_EQ(st.repairs_sent, 0u);
        EXPECT_EQ(st.flow_timeouts, 0u);
        EXPECT_GE(took, kIdeal);
        EXPECT_LE(took, kIdeal * 6 / 5);
    });
}

// A sender with an initial credit and nobody listening waits initial_wait once, then sends
// freely: there is no one to protect, and nothing waits for a report again.
TEST(SimFlowControl, InitialCreditWithNoReceiverWaitsOnceThenSendsFreely) {
    proto::EndpointConfig scfg = sender_config();
    scfg.sender.initial_credit = 16;
    scfg.sender.initial_wait = 5ms;
    Checker check;
    Network net(1, &check);
    const int sender = net.add_node(scfg);
    for (int i = 0; i < 100; ++i) check.send(net, sender, 0, kMessageSize);
    const proto::Sender& s = sender_of(net, sender);
    EXPECT_EQ(s.next_dseq(), 16u) << "the initial credit, then the wait";
    net.run_until(net.now() + 4ms);
    EXPECT_EQ(s.next_dseq(), 16u);
    net.run_until(net.now() + 2ms);
    EXPECT_EQ(s.next_dseq(), 100u) << "after initial_wait, no limit";
    for (int i = 0; i < 100; ++i) check.send(net, sender, 0, kMessageSize);
    EXPECT_EQ(s.next_dseq(), 200u) << "no second wait";
    EXPECT_EQ(s.stats().flow_stalls, 1u);
    EXPECT_EQ(s.stats().flow_probes, 0u);
}

// (c) A fast receiver (no capacity limit) and a slow one: the sender goes at the slow
// one's pace, and neither loses anything. Observed: 412.8 ms, 12.5 ms more than (a) because
// STATUS is multicast: the slow receiver also reads each of the fast one's ~630 reports
// (20 us each). Every receiver reads every other receiver's reports, so this overhead grows
// with the group.
TEST(SimFlowControl, SlowestReceiverPacesTheSender) {
    Figures fig{"flow-fast-and-slow"};
    for_seeds([&](int, Checker& check, Network& net) {
        const int sender = net.add_node(sender_config());
        const int fast = net.add_node(receiver_config());
        const int slow = net.add_node(receiver_config());
        net.set_receive_capacity(slow, kSlowRate, kSlowQueue);
        warm_up(net, check, sender, 2);
        const Time t0 = net.now();
        burst(net, check, sender);
        const StreamId id = stream_of(net, sender, 0);
        ASSERT_TRUE(run_until_complete(net, check, {fast, slow}, {id}, t0 + 5s));
        expect_everything(check, fast, id);
        expect_everything(check, slow, id);
        const proto::SenderStats& st = sender_of(net, sender).stats();
        const Duration slow_took = check.stream(slow, id)->last_delivery - t0;
        const Duration fast_took = check.stream(fast, id)->last_delivery - t0;
        fig.add(slow_took, net.metrics(), st);
        EXPECT_EQ(net.metrics().overflow_drops, 0u);
        EXPECT_EQ(net.metrics().naks_sent, 0u);
        EXPECT_EQ(st.flow_timeouts, 0u);
        EXPECT_GE(slow_took, kIdeal);
        EXPECT_LE(slow_took, kIdeal * 6 / 5);
        // The fast one gets each datagram when the slow one's socket does: paced the same.
        EXPECT_GE(fast_took, kIdeal - 10ms);
    });
}

// (d) Of a fast and a slow receiver, the slow one dies 100 ms into the transfer while it
// holds the sender back. The sender waits flow_timeout (50 ms) after its last report, drops
// it, and finishes at the fast one's pace; the fast one gets everything. Observed: 4,449
// messages delivered when it stops, a 49.8 ms pause (the fast one had everything sent up to
// the stall already), then the remaining ~15,550 in 12 ms (one credit of 128 per 100 us
// round trip), done 162 ms after the burst.
TEST(SimFlowControl, DeadReceiverStopsHoldingTheSenderAfterFlowTimeout) {
    constexpr Duration kFlowTimeout = 50ms;
    Figures fig{"flow-dead-receiver"};
    for_seeds([&](int, Checker& check, Network& net) {
        proto::EndpointConfig scfg = sender_config();
        scfg.sender.flow_timeout = kFlowTimeout;
        const int sender = net.add_node(scfg);
        const int fast = net.add_node(receiver_config());
        const int slow = net.add_node(receiver_config());
        net.set_receive_capacity(slow, kSlowRate, kSlowQueue);
        warm_up(net, check, sender, 2);
        const Time t0 = net.now();
        burst(net, check, sender);
        const StreamId id = stream_of(net, sender, 0);
        net.run_until(t0 + 100ms);
        const std::uint64_t before = check.stream(fast, id)->delivered;
        net.stop_node(slow);
        const Time stopped = net.now();
        // Record when the fast receiver's deliveries pause and resume.
        Time last = stopped;
        Duration longest_pause{0};
        Time resumed{};
        const bool done = net.run_until(t0 + 5s, [&] {
            const auto* s = check.stream(fast, id);
            if (s->last_delivery > last) {
                if (s->last_delivery - last > longest_pause) {
                    longest_pause = s->last_delivery - last;
                    resumed = s->last_delivery;
                }
                last = s->last_delivery;
            }
            return check.complete(fast, id);
        });
        ASSERT_TRUE(done);
        expect_everything(check, fast, id);
        const proto::SenderStats& st = sender_of(net, sender).stats();
        const Duration took = check.stream(fast, id)->last_delivery - t0;
        fig.add(took, net.metrics(), st);
        // Paced by the slow one until it died (~5,000 of 20,000).
        EXPECT_GT(before, std::uint64_t(kMessages) / 5);
        EXPECT_LT(before, std::uint64_t(kMessages) / 3);
        EXPECT_EQ(st.flow_timeouts, 1u);
        EXPECT_EQ(sender_of(net, sender).flow_receivers(), 1u);
        // The stall: flow_timeout from the dead one's last report, less what was still in
        // flight to the fast one when the sender stopped (at most the credit, a few ms).
        EXPECT_GE(longest_pause, kFlowTimeout - 5ms);
        EXPECT_LE(longest_pause, kFlowTimeout + 2ms);
        EXPECT_LE(resumed, stopped + kFlowTimeout + 2ms);
        // After it: at the fast receiver's pace, the remaining ~15,000 in a few ms.
        EXPECT_LE(check.stream(fast, id)->last_delivery, resumed + 50ms);
        EXPECT_EQ(net.metrics().overflow_drops, 0u);
    });
}

// (e) 5% independent loss on every path (data, repairs, NAKs, STATUS, probes) with the slow
// receiver: lost data is NAKed and repaired, a lost report is made up for by the sender's
// probe, and the socket never overflows (peak ~150): original data outstanding is bounded by
// the credit, and repairs and probes are few. Observed: 416-419 ms, ~1,000 datagrams lost
// per run. Each loss is NAKed and repaired about twice (1.9 each, repair delay p50 5.5 ms):
// a repair waits behind up to credit = 128 datagrams in the socket (2.6 ms), longer than the
// receiver's repair_timeout (1 ms), so the receiver NAKs again before it reads the repair,
// and the second NAK comes after repair_holdoff (250 us) so it is repaired again. With
// repair_timeout = 4 ms it is 1.02 of each.
TEST(SimFlowControl, LossOnEveryPathWithASlowReceiver) {
    Figures fig{"flow-loss5-slow"};
    for_seeds([&](int, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.05;
        net.set_default_link(link);
        const int sender = net.add_node(sender_config());
        const int rx = net.add_node(receiver_config());
        net.set_receive_capacity(rx, kSlowRate, kSlowQueue);
        warm_up(net, check, sender, 1);
        const Time t0 = net.now();
        burst(net, check, sender);
        Duration took{};
        ASSERT_TRUE(receive_all(net, check, sender, rx, t0, t0 + 10s, &took));
        const proto::SenderStats& st = sender_of(net, sender).stats();
        fig.add(took, net.metrics(), st);
        const Metrics& m = net.metrics();
        EXPECT_EQ(m.overflow_drops, 0u);
        EXPECT_GT(m.lost.size(), std::uint64_t(kMessages) / 40);
        EXPECT_LE(m.naks_per_loss(), 2.5);
        EXPECT_LE(double(st.repairs_sent), 2.5 * double(m.lost.size()));
        EXPECT_EQ(st.flow_timeouts, 0u);
        EXPECT_GE(took, kIdeal);
        EXPECT_LE(took, kIdeal * 3 / 2);
    });
}

}  // namespace
}  // namespace blip::sim
