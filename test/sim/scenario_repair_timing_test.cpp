// Simulator scenarios of repair timing: the wait for a repair learned from the round trip
// (adaptive_repair_timeout, Karn's rule) and the suppression back-off that a receiver without
// peers skips. Each compares the learned behaviour against the fixed one in the same
// scenario, so a regression to the fixed timing fails.
#include <gtest/gtest.h>

#include <vector>

#include "checker.h"
#include "network.h"
#include "proto/receiver.h"
#include "scenario.h"

namespace blip::sim {
namespace {

using proto::Duration;
using proto::Time;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

struct Timing {
    Report report;
    double retries_per_loss = 0;  // NAKs sent again per lost datagram, over all receivers
};

// One sender, `receivers` receivers, each link `delay` one way (+ up to 20 us jitter: no
// reordering of datagrams 100 us apart), the sender's datagrams (originals and repairs) lost
// with probability `loss`; 2,000 messages, one per 100 us.
Timing run(const std::string& name, const proto::EndpointConfig& cfg, int receivers, Duration delay,
           double loss) {
    std::uint64_t retries = 0;
    Report report = run_seeds(name, [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.delay = delay;
        link.jitter = 20us;
        net.set_default_link(link);
        const int sender = net.add_node(cfg);
        LinkModel egress;
        egress.loss = loss;
        net.set_egress(sender, egress);
        const std::vector<int> rx = add_nodes(net, receivers, cfg);
        for (int i = 0; i < 2000; ++i) {
            net.at(Time(i * 100us), [&] { check.send(net, sender, 0, 200); });
        }
        net.run_until(Time(200ms));
        const StreamId id = stream_of(net, sender, 0);
        ASSERT_TRUE(run_until_complete(net, check, rx, {id}, Time(30s)));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : rx) {
            EXPECT_EQ(check.stream(r, id)->delivered, 2000u) << "receiver " << r;
            net.endpoint(r).for_each_receiver([&](const proto::Receiver& x, bool /*inactive*/) {
                retries += x.nak_stats().retries;
            });
        }
    });
    Timing t{report, 0};
    if (report.lost > 0) t.retries_per_loss = double(retries) / double(report.lost);
    std::printf("[sim] %-22s NAK retries/loss=%.3f\n", name.c_str(), t.retries_per_loss);
    return t;
}

proto::EndpointConfig fixed_timeout(Duration repair_timeout = 1ms) {
    proto::EndpointConfig cfg;
    cfg.receiver.adaptive_repair_timeout = false;
    cfg.receiver.repair_timeout = repair_timeout;
    return cfg;
}

proto::EndpointConfig learned_timeout(Duration repair_timeout = 1ms) {
    proto::EndpointConfig cfg;
    cfg.receiver.repair_timeout = repair_timeout;
    return cfg;
}

double p50_us(const Report& r) {
    Metrics m;
    m.repair_delays = r.delays;
    return double(m.repair_delay_percentile(50).count()) / 1000.0;
}

double p99_us(const Report& r) {
    Metrics m;
    m.repair_delays = r.delays;
    return double(m.repair_delay_percentile(99).count()) / 1000.0;
}

// A ~4 ms round trip, for which the application configured a generous repair_timeout of
// 20 ms: with the fixed timeout a lost repair is asked for again only after 20 ms; the learned
// one waits about a round trip (srtt + 4 rttvar) and still does not NAK before the repair
// could arrive.
TEST(SimRepairTiming, TimeoutLearnsAPathsRoundTripBelowTheConfiguredOne) {
    const Timing fixed = run("slow-path-fixed-20ms", fixed_timeout(20ms), 1, 2ms, 0.05);
    const Timing learned = run("slow-path-learned", learned_timeout(20ms), 1, 2ms, 0.05);
    ASSERT_GT(learned.report.lost, 0u);
    EXPECT_LT(p99_us(learned.report), 0.75 * p99_us(fixed.report));
    EXPECT_LT(learned.retries_per_loss, 0.15) << "a NAK again before the repair could come";
    EXPECT_LT(learned.report.repairs_per_loss(), 1.2);
}

// A LAN-like round trip (~100 us) and lost repairs (the sender's egress loses them too): the
// second NAK for a lost repair goes out after the learned ~250 us instead of 1 ms, which is
// what the tail of the repair delay is made of.
TEST(SimRepairTiming, LostRepairIsNakedAgainAfterTheLearnedTimeout) {
    const Timing fixed = run("lost-repair-fixed", fixed_timeout(), 1, 50us, 0.05);
    const Timing learned = run("lost-repair-learned", learned_timeout(), 1, 50us, 0.05);
    ASSERT_GT(learned.report.lost, 0u);
    EXPECT_LT(p99_us(learned.report), 0.8 * p99_us(fixed.report));
    EXPECT_LT(learned.retries_per_loss, 0.15) << "a short timeout must not NAK on time";
}

// One receiver has nobody to suppress: it NAKs after nak_delay_min, not after the random
// back-off of up to nak_backoff (500 us) that a group of receivers needs; with a second
// receiver reporting, the back-off is back.
TEST(SimRepairTiming, LoneReceiverSkipsTheSuppressionBackoff) {
    const Timing alone = run("lone-receiver", learned_timeout(), 1, 50us, 0.02);
    const Timing pair = run("two-receivers", learned_timeout(), 2, 50us, 0.02);
    ASSERT_GT(alone.report.lost, 0u);
    const proto::ReceiverConfig defaults;
    const double backoff_us = double(defaults.nak_backoff.count()) / 1000.0;
    // Alone: the next datagram (100 us), nak_delay_min, a round trip (~100 us).
    EXPECT_LT(p50_us(alone.report), 400.0);
    EXPECT_GT(p50_us(pair.report), p50_us(alone.report) + backoff_us / 2);
    EXPECT_LT(pair.report.naks_per_loss(), 1.8) << "two receivers still suppress each other";
}

}  // namespace
}  // namespace blip::sim
