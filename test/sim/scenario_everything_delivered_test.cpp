// Scenario: 1 sender, 20 receivers, 10,000 messages of 1 B to 200 KB over links with 20%
// independent loss, 5% duplication and reordering. Everything must be delivered.
#include <gtest/gtest.h>

#include "sim/checker.h"
#include "sim/network.h"
#include "sim/scenario.h"

namespace blip::sim {
namespace {

TEST(SimScenario, HeavyLossDuplicationReorderingDeliversEverything) {
    run_seeds("loss20-dup5-reorder", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.20;
        link.duplicate = 0.05;
        link.delay = 50us;
        link.jitter = 40us;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        cfg.sender.rate_limit = 100u << 20;
        const int sender = net.add_node(cfg);
        std::vector<int> receivers;
        for (int i = 0; i < 20; ++i) receivers.push_back(net.add_node(cfg));
        proto::Rng sizes(static_cast<std::uint64_t>(seed) * 7919);
        const int messages =
            std::getenv("BLIP_SIM_MESSAGES") ? std::atoi(std::getenv("BLIP_SIM_MESSAGES")) : 10000;
        for (int i = 0; i < messages; ++i) {
            // Mostly small messages, one in ten large (up to 200 KB), like mixed traffic.
            std::size_t size = sizes.below(10) == 0 ? log_uniform(sizes, 1024, 200 * 1024)
                                                    : log_uniform(sizes, 1, 1024);
            net.at(Time(i * 300us), [&, size] { check.send(net, sender, 0, size); });
        }
        net.run_until(Time(messages * 300us));
        const StreamId id = stream_of(net, sender, 0);
        bool done = net.run_until(Time(60s), [&] {
            for (int r : receivers) {
                if (!check.complete(r, id)) return false;
            }
            return true;
        });
        EXPECT_TRUE(done) << "not everything delivered by the time limit";
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : receivers) {
            const auto* s = check.stream(r, id);
            ASSERT_NE(s, nullptr);
            EXPECT_EQ(s->first, 0u) << "receiver " << r;
            EXPECT_EQ(s->delivered, static_cast<std::uint64_t>(messages)) << "receiver " << r;
            EXPECT_TRUE(s->losses.empty()) << "receiver " << r << " reported a loss";
        }
    });
}

}  // namespace
}  // namespace blip::sim
