// Reliability through the public API: with inject_loss at the receiver every message still
// arrives in order and exactly once, repaired by NAKs; a message above the receiver's
// max_message_size is reported as a LOSS (rejected), and delivery continues after it.
#include <blip/blip.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// Mixed sizes: mostly small (batched), every 50th fragmented.
size_t size_of(uint64_t i) { return i % 50 == 7 ? 5000 + i : 20 + (i * 37) % 900; }

TEST(Loss, InjectedLossIsRepairedInOrderExactlyOnce) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_str(rc.get(), "inject_loss", "0.2");
    set_int(rc.get(), "inject_seed", 12345);
    set_int(rc.get(), "recv_buffer", 8 << 20);
    // The receiver opens first: it was there when the sender's session began, so it must get
    // the session from message 0, even if the first datagram is lost.
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const uint64_t tx_node = node_id(tx);

    const int n = 2000;
    for (int i = 0; i < n; ++i) {
        uint64_t seq = 0;
        ASSERT_EQ(send_blocking(tx, 0, payload(i, size_of(i)), &seq), BLIP_OK);
        ASSERT_EQ(seq, static_cast<uint64_t>(i));
        if (i % 20 == 19) std::this_thread::sleep_for(1ms);  // a paced sender, not a flood
    }
    const auto events = receive_messages(rx, n, 60s);
    const auto msgs = only(events, BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        ASSERT_EQ(msgs[i].sequence, static_cast<uint64_t>(i)) << "out of order or duplicate";
        ASSERT_EQ(msgs[i].data, payload(i, size_of(i))) << "payload of " << i;
        EXPECT_EQ(msgs[i].node_id, tx_node);
    }
    EXPECT_TRUE(only(events, BLIP_EVENT_LOSS).empty()) << "a loss was reported";
    EXPECT_TRUE(only(events, BLIP_EVENT_OVERRUN).empty());
    for (const Event& e : drain(rx)) {
        EXPECT_NE(e.type, BLIP_EVENT_MESSAGE) << "extra message " << e.sequence;
        EXPECT_NE(e.type, BLIP_EVENT_LOSS);
    }

    // The repairs are visible in the counters: drops injected at the receiver, NAKs sent by it,
    // repairs received from the sender (and sent by it).
    const uint64_t injected = stat(rx, "injected_drops");
    EXPECT_GT(injected, 0u);
    EXPECT_GT(stat(rx, "naks_sent"), 0u);
    EXPECT_GT(remote_stat(rx, tx_node, 0, "repairs"), 0u);
    EXPECT_GT(remote_stat(rx, tx_node, 0, "naks_sent"), 0u);
    EXPECT_EQ(remote_stat(rx, tx_node, 0, "messages"), static_cast<uint64_t>(n));
    EXPECT_EQ(stat(tx, "messages_sent"), static_cast<uint64_t>(n));
    if (has_stat(BLIP_STATS_CHANNEL, "repairs_sent")) {
        EXPECT_GT(stat(tx, "repairs_sent"), 0u);
    } else {
        ADD_FAILURE() << "no channel counter \"repairs_sent\"";
    }
    // The sender's own channel injected nothing and NAKed nothing.
    EXPECT_EQ(stat(tx, "injected_drops"), 0u);
    EXPECT_EQ(stat(tx, "naks_sent"), 0u);
}

// inject_loss 1 drops every received datagram before the protocol sees it: the sender is never
// heard, and every drop is counted.
TEST(Loss, TotalInjectedLossHearsNothing) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "inject_loss", 1);  // drop everything: nothing is delivered
    blip_channel_t* deaf = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(deaf, nullptr);
    ASSERT_NE(tx, nullptr);
    for (int i = 0; i < 20; ++i) send(tx, "unheard");
    ASSERT_EQ(blip_channel_wait_sent(tx, 10000), BLIP_OK);
    // Every datagram tx sent so far reaches deaf's socket and is dropped there.
    const uint64_t sent = stat(tx, "socket_datagrams_sent");
    EXPECT_GT(sent, 0u);
    ASSERT_TRUE(wait_until([&] { return stat(deaf, "injected_drops") >= sent; }))
        << stat(deaf, "injected_drops") << " of " << sent;
    for (const Event& e : drain(deaf)) {
        EXPECT_NE(e.type, BLIP_EVENT_MESSAGE);
        EXPECT_NE(e.type, BLIP_EVENT_SENDER_NEW) << "a sender heard through 100% loss";
    }
    size_t count = 99;
    ASSERT_EQ(blip_channel_remotes(deaf, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 0u);
}

// A message above the receiver's max_message_size is reported lost (rejected), in order, and
// the messages around it are delivered.
TEST(Loss, MessageAboveReceiverLimitIsRejected) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "max_message_size", 1000);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const uint64_t s0 = send(tx, "before");
    const uint64_t s1 = send(tx, payload(1, 3000));        // fragmented, above 1000
    const uint64_t s2 = send(tx, std::string(1000, 'k'));  // exactly the limit: delivered
    const uint64_t s3 = send(tx, "after");
    const auto events = receive_messages(rx, 3);
    std::vector<Event> relevant;
    for (const Event& e : events) {
        if (e.type == BLIP_EVENT_MESSAGE || e.type == BLIP_EVENT_LOSS) relevant.push_back(e);
    }
    ASSERT_EQ(relevant.size(), 4u);
    EXPECT_EQ(relevant[0].type, BLIP_EVENT_MESSAGE);
    EXPECT_EQ(relevant[0].sequence, s0);
    EXPECT_EQ(relevant[1].type, BLIP_EVENT_LOSS);
    EXPECT_EQ(relevant[1].sequence, s1);
    EXPECT_EQ(relevant[1].count, 1u);
    EXPECT_EQ(relevant[1].reason, BLIP_LOSS_REJECTED);
    EXPECT_EQ(relevant[1].open_ended, 0);
    EXPECT_EQ(relevant[1].node_id, node_id(tx));
    EXPECT_EQ(relevant[2].type, BLIP_EVENT_MESSAGE);
    EXPECT_EQ(relevant[2].sequence, s2);
    EXPECT_EQ(relevant[2].data.size(), 1000u);
    EXPECT_EQ(relevant[3].type, BLIP_EVENT_MESSAGE);
    EXPECT_EQ(relevant[3].sequence, s3);
    EXPECT_EQ(relevant[3].data, "after");
}

}  // namespace
