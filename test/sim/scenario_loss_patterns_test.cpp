// Scenarios with structured loss: bursts, lost tails before silence, and a partition that
// outlasts the sender's window. Each runs over seed_count() seeds.
#include <gtest/gtest.h>

#include "sim/scenario.h"

namespace blip::sim {
namespace {

// Bursty loss: Gilbert-Elliott links averaging 5% loss in bursts (mean 10, at most 50
// datagrams). Everything must be delivered.
TEST(SimScenario, BurstyLossDeliversEverything) {
    run_seeds("bursty-loss5-max50", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.p_leave_burst = 0.1;                // mean burst 10 datagrams
        link.p_enter_burst = 0.05 * 0.1 / 0.95;  // stationary loss 5%
        link.max_burst = 50;
        link.jitter = 20us;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        cfg.sender.rate_limit = 100u << 20;
        const int sender = net.add_node(cfg);
        const std::vector<int> receivers = add_nodes(net, 10, cfg);
        proto::Rng sizes(static_cast<std::uint64_t>(seed));
        for (int i = 0; i < 3000; ++i) {
            std::size_t size = mixed_size(sizes, 64 * 1024);
            net.at(Time(i * 200us), [&, size] { check.send(net, sender, 0, size); });
        }
        net.run_until(Time(3000 * 200us));
        const StreamId id = stream_of(net, sender, 0);
        EXPECT_TRUE(run_until_complete(net, check, receivers, {id}, Time(60s)));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : receivers) {
            const auto* s = check.stream(r, id);
            ASSERT_NE(s, nullptr);
            EXPECT_EQ(s->first, 0u);
            EXPECT_EQ(s->delivered, 3000u) << "receiver " << r;
        }
    });
}

// Tail loss: the sender sends bursts of 50 messages and goes quiet; the last 3 messages'
// original datagrams of every burst are lost to everyone. Only heartbeats reveal them.
TEST(SimScenario, TailLossRecoveredThroughHeartbeats) {
    run_seeds("tail-loss", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.05;
        link.jitter = 10us;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        const int sender = net.add_node(cfg);
        const std::vector<int> receivers = add_nodes(net, 10, cfg);
        net.set_filter([sender](int from, int, const wire::Packet& p, Time) {
            const auto* d = std::get_if<wire::Data>(&p.body);
            return from == sender && d != nullptr && !d->repair && d->mseq % 50 >= 47;
        });
        proto::Rng sizes(static_cast<std::uint64_t>(seed));
        for (int burst = 0; burst < 20; ++burst) {
            for (int i = 0; i < 50; ++i) {
                std::size_t size = mixed_size(sizes, 8 * 1024);
                net.at(Time(burst * 50ms + i * 10us),
                       [&, size] { check.send(net, sender, 0, size); });
            }
        }
        net.run_until(Time(1s));
        const StreamId id = stream_of(net, sender, 0);
        EXPECT_TRUE(run_until_complete(net, check, receivers, {id}, Time(30s)));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : receivers) {
            const auto* s = check.stream(r, id);
            ASSERT_NE(s, nullptr);
            EXPECT_EQ(s->delivered, 1000u) << "receiver " << r;
            EXPECT_TRUE(s->losses.empty());
        }
    });
}

// A 2-second partition between the sender and all receivers, with a window of 200
// messages (0.2 s of traffic): the messages that left the window are reported lost
// exactly (the checker verifies each loss starts where delivery stopped and that
// delivered + lost accounts for every message), then delivery resumes.
TEST(SimScenario, PartitionLongerThanWindowGivesExactLossThenResumes) {
    run_seeds("partition-2s", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.01;
        link.jitter = 10us;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        cfg.sender.window_max_messages = 200;
        const int sender = net.add_node(cfg);
        const std::vector<int> receivers = add_nodes(net, 5, cfg);
        net.add_partition(Time(1500ms), Time(3500ms), {sender});
        const int messages = 5000;
        for (int i = 0; i < messages; ++i) {
            net.at(Time(i * 1ms), [&] { check.send(net, sender, 0, 1000); });
        }
        net.run_until(Time(messages * 1ms));
        const StreamId id = stream_of(net, sender, 0);
        EXPECT_TRUE(run_until_complete(net, check, receivers, {id}, Time(30s)));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : receivers) {
            const auto* s = check.stream(r, id);
            ASSERT_NE(s, nullptr);
            EXPECT_EQ(s->first, 0u);
            EXPECT_EQ(s->delivered + s->lost, std::uint64_t(messages)) << "receiver " << r;
            // About 2000 messages were sent during the partition; the last 200 of them
            // were still in the window when it healed.
            EXPECT_GE(s->lost, 1700u) << "receiver " << r;
            EXPECT_LE(s->lost, 1900u) << "receiver " << r;
            EXPECT_FALSE(s->ended);
            for (const auto& ev : s->losses) {
                EXPECT_EQ(ev.reason, proto::LossReason::kLeftWindow);
                EXPECT_FALSE(ev.open_ended);
            }
            // Delivery resumed: the last message arrived.
            EXPECT_EQ(s->next, std::uint64_t(messages));
        }
    });
}

}  // namespace
}  // namespace blip::sim
