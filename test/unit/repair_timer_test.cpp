// Unit tests of the learned wait for a repair (src/proto/repair_timer.h): the configured
// timeout before any sample, the RFC 6298 averages, the floor, the ceiling, and the switch.
#include "proto/repair_timer.h"

#include <gtest/gtest.h>

#include "proto/config.h"

using blip::proto::Duration;
using blip::proto::ReceiverConfig;
using blip::proto::RepairTimer;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

namespace {

// A floor and a ceiling out of the way of the averages under test.
ReceiverConfig unclamped() {
    ReceiverConfig cfg;
    cfg.repair_timeout = 10ms;
    cfg.repair_timeout_min = 1us;
    return cfg;
}

}  // namespace

TEST(RepairTimer, ConfiguredTimeoutUntilTheFirstSample) {
    ReceiverConfig cfg;
    cfg.repair_timeout = 3ms;
    RepairTimer t(cfg);
    EXPECT_EQ(t.timeout(), 3ms);
    EXPECT_EQ(t.samples(), 0u);
}

TEST(RepairTimer, FirstSampleGivesThreeRoundTrips) {
    ReceiverConfig cfg;
    cfg.repair_timeout = 10ms;
    RepairTimer t(cfg);
    t.sample(400us);  // srtt 400, rttvar 200: 400 + 4 * 200
    EXPECT_EQ(t.smoothed_rtt(), 400us);
    EXPECT_EQ(t.timeout(), 1200us);
}

TEST(RepairTimer, FollowsTheAveragesOfRfc6298) {
    ReceiverConfig cfg = unclamped();
    RepairTimer t(cfg);
    t.sample(800us);  // srtt 800, rttvar 400
    t.sample(400us);  // rttvar = (3 * 400 + 400) / 4 = 400; srtt = (7 * 800 + 400) / 8 = 750
    EXPECT_EQ(t.smoothed_rtt(), 750us);
    EXPECT_EQ(t.timeout(), 750us + 4 * 400us);
}

TEST(RepairTimer, SteadyRoundTripsSettleOnTheFloor) {
    ReceiverConfig cfg;  // repair_timeout_min 250 us
    RepairTimer t(cfg);
    for (int i = 0; i < 100; ++i) t.sample(60us);
    EXPECT_EQ(t.smoothed_rtt(), 60us);
    EXPECT_EQ(t.timeout(), cfg.repair_timeout_min);
    // Without the floor, it settles just above the round trip.
    cfg.repair_timeout_min = 1us;
    EXPECT_GE(t.timeout(), 60us);
    EXPECT_LT(t.timeout(), 70us);
}

TEST(RepairTimer, TheFloorIsNeverAboveTheConfiguredTimeout) {
    ReceiverConfig cfg;
    cfg.repair_timeout = 100us;  // an application that asked for fast retries keeps them
    RepairTimer t(cfg);
    for (int i = 0; i < 100; ++i) t.sample(10us);
    EXPECT_EQ(t.timeout(), 100us);
}

TEST(RepairTimer, SlowRoundTripsGrowItUpToRepairTimeout) {
    ReceiverConfig cfg;
    cfg.repair_timeout = 20ms;
    RepairTimer t(cfg);
    for (int i = 0; i < 100; ++i) t.sample(4ms);
    EXPECT_EQ(t.smoothed_rtt(), 4ms);
    EXPECT_GE(t.timeout(), 4ms);
    EXPECT_LT(t.timeout(), 5ms);
    // Queueing behind a full socket buffer: a long wait would hold the stream on every lost
    // repair, so the configured timeout stays the ceiling.
    for (int i = 0; i < 100; ++i) t.sample(50ms);
    EXPECT_GT(t.smoothed_rtt(), 49ms);
    EXPECT_EQ(t.timeout(), 20ms);
}

TEST(RepairTimer, TheSmallestRoundTripIsKept) {
    ReceiverConfig cfg;
    RepairTimer t(cfg);
    EXPECT_EQ(t.min_rtt(), Duration::zero());
    t.sample(300us);
    t.sample(90us);
    t.sample(5ms);
    EXPECT_EQ(t.min_rtt(), 90us);
}

TEST(RepairTimer, AVariableRoundTripWidensTheMargin) {
    ReceiverConfig cfg = unclamped();
    RepairTimer steady(cfg);
    RepairTimer jumpy(cfg);
    for (int i = 0; i < 200; ++i) {
        steady.sample(300us);
        jumpy.sample(i % 2 == 0 ? 100us : 500us);
    }
    EXPECT_LT(steady.timeout(), 310us);
    EXPECT_GT(jumpy.timeout(), 900us);  // mean deviation ~200 us, times four
}

TEST(RepairTimer, NegativeSamplesCountAsZero) {
    ReceiverConfig cfg;
    cfg.repair_timeout_min = 1us;
    RepairTimer t(cfg);
    t.sample(Duration(-5000));
    EXPECT_EQ(t.smoothed_rtt(), Duration::zero());
    EXPECT_EQ(t.timeout(), 1us);
}

TEST(RepairTimer, OffKeepsTheConfiguredTimeout) {
    ReceiverConfig cfg;
    cfg.adaptive_repair_timeout = false;
    RepairTimer t(cfg);
    for (int i = 0; i < 10; ++i) t.sample(5ms);
    EXPECT_EQ(t.samples(), 0u);
    EXPECT_EQ(t.timeout(), cfg.repair_timeout);
}

TEST(RepairTimer, AnExpiredWaitDoublesItUntilTheNextSample) {
    ReceiverConfig cfg;
    cfg.repair_timeout = 1ms;
    RepairTimer t(cfg);
    for (int i = 0; i < 100; ++i) t.sample(50us);
    ASSERT_EQ(t.timeout(), 250us);  // the floor
    t.on_timeout(250us);
    EXPECT_EQ(t.timeout(), 500us);
    t.on_timeout(250us);  // another gap of the same burst, which waited the old timeout
    EXPECT_EQ(t.timeout(), 500us) << "one burst of gaps doubles it once";
    t.on_timeout(500us);
    EXPECT_EQ(t.timeout(), 1ms);
    t.on_timeout(1ms);
    EXPECT_EQ(t.timeout(), 1ms) << "at most repair_timeout";
    t.sample(50us);  // a round trip measured: back to the estimate
    EXPECT_EQ(t.timeout(), 250us);
}
