// Scenarios about group size and sender count: NAK implosion with 200 receivers that all
// miss the same datagrams, and three senders interleaved to the same receivers.
#include <gtest/gtest.h>

#include "sim/scenario.h"

namespace blip::sim {
namespace {

// 200 receivers, loss upstream of everyone (2% at the sender's egress): randomized NAK
// back-off plus suppression must keep the sender's NAK load at most 3 per lost datagram
// on average, and every receiver still gets everything.
TEST(SimScenario, NakImplosionIsSuppressed) {
    const Report report = run_seeds(
        "nak-implosion-200", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
            LinkModel link;
            link.delay = 50us;
            link.jitter = 20us;
            net.set_default_link(link);
            proto::EndpointConfig cfg;
            const int sender = net.add_node(cfg);
            LinkModel egress;
            egress.loss = 0.02;
            net.set_egress(sender, egress);
            const std::vector<int> receivers = add_nodes(net, 200, cfg);
            for (int i = 0; i < 1000; ++i) {
                net.at(Time(i * 1ms), [&] { check.send(net, sender, 0, 1000); });
            }
            net.run_until(Time(1s));
            const StreamId id = stream_of(net, sender, 0);
            EXPECT_TRUE(run_until_complete(net, check, receivers, {id}, Time(30s)));
            ASSERT_TRUE(check.errors().empty()) << check.errors().front();
            for (int r : receivers) {
                const auto* s = check.stream(r, id);
                ASSERT_NE(s, nullptr);
                EXPECT_EQ(s->delivered, 1000u) << "receiver " << r;
            }
        });
    EXPECT_GT(report.lost, 0u);
    EXPECT_LE(report.naks_per_loss(), 3.0) << "NAK implosion: too many NAKs per lost datagram";
}

// Three senders interleaved on one group: each sender's stream is delivered whole and in
// its own order at every receiver, whatever the interleaving.
TEST(SimScenario, ThreeSendersInterleavedKeepTheirOrder) {
    run_seeds("three-senders", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.10;
        link.duplicate = 0.02;
        link.jitter = 30us;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        const std::vector<int> senders = add_nodes(net, 3, cfg);
        const std::vector<int> receivers = add_nodes(net, 10, cfg);
        proto::Rng sizes(static_cast<std::uint64_t>(seed));
        for (int i = 0; i < 2000; ++i) {
            for (int k = 0; k < 3; ++k) {
                std::size_t size = mixed_size(sizes, 16 * 1024);
                net.at(Time(i * 500us + k * 150us), [&, k, size] {
                    check.send(net, senders[static_cast<std::size_t>(k)], 0, size);
                });
            }
        }
        net.run_until(Time(1s));
        std::vector<StreamId> ids;
        for (int s : senders) ids.push_back(stream_of(net, s, 0));
        EXPECT_TRUE(run_until_complete(net, check, receivers, ids, Time(30s)));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : receivers) {
            for (const StreamId& id : ids) {
                const auto* s = check.stream(r, id);
                ASSERT_NE(s, nullptr);
                EXPECT_EQ(s->first, 0u);
                EXPECT_EQ(s->delivered, 2000u) << "receiver " << r;
            }
        }
    });
}

}  // namespace
}  // namespace blip::sim
