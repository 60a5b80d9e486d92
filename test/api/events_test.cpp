// Events other than messages, through the public API: WARNING at open, membership (inactive,
// active, removed), the join policy of a late receiver, loss reported when the sender's window
// moved on, max_senders, and small datagrams.
#include <blip/blip.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// A receive buffer far above net.core.rmem_max is clamped by the kernel: a WARNING event naming
// the sysctl comes first, before any other event of the channel.
TEST(Events, ClampedBufferGivesAWarningFirst) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "recv_buffer", 512 << 20);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    send(tx, "after the warning");
    const auto events = receive_messages(rx, 1);
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events[0].type, BLIP_EVENT_WARNING);
    EXPECT_NE(events[0].text.find("rmem_max"), std::string::npos) << events[0].text;
    EXPECT_EQ(events[0].node_id, 0u);
    EXPECT_EQ(only(events, BLIP_EVENT_WARNING).size(), 1u);
    EXPECT_EQ(events.back().type, BLIP_EVENT_MESSAGE);
    // The counter shows what the kernel granted: less than asked.
    const uint64_t granted = stat(rx, "recv_buffer");
    EXPECT_GT(granted, 0u);
    EXPECT_LT(granted, static_cast<uint64_t>(512 << 20));
}

// In callback mode the warning reaches the callback, on the loop thread, with its text.
TEST(Events, ClampedBufferWarningInCallbackMode) {
    REQUIRE_NETNS();
    std::mutex mu;
    std::vector<Event> events;
    Callback cb;
    cb.fn = [&](blip_channel_t*, const blip_event_info_t* info) {
        std::lock_guard<std::mutex> lock(mu);
        events.push_back(copy_info(*info));
    };
    Context ctx;
    ConfigPtr c = channel_config(unique_address());
    set_int(c.get(), "send_buffer", 512 << 20);
    set_callback(c.get(), &cb);
    ASSERT_NE(ctx.open(c.get()), nullptr);
    ASSERT_TRUE(wait_until([&] {
        std::lock_guard<std::mutex> lock(mu);
        return !events.empty();
    }));
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(events[0].type, BLIP_EVENT_WARNING);
    EXPECT_NE(events[0].text.find("wmem_max"), std::string::npos) << events[0].text;
}

// A sender that goes quiet is reported inactive after sender_timeout_ms, active again when heard,
// and, once gone for sender_forget_ms, removed (its state freed).
TEST(Events, MembershipInactiveActiveRemoved) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "sender_timeout_ms", 300);
    set_int(rc.get(), "heartbeat_max_us", 100000);  // must stay below sender_timeout
    set_int(rc.get(), "sender_forget_ms", 1500);
    set_int(tc.get(), "heartbeat_max_us", 1000000);  // idle heartbeats up to 1 s apart
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const uint64_t tx_node = node_id(tx);
    send(tx, "hello");

    // Heartbeats 1 s apart with a 300 ms timeout: inactive, then active again.
    std::vector<Event> seen;
    const auto deadline = Clock::now() + 15s;
    bool inactive = false, active_again = false;
    while (Clock::now() < deadline && !active_again) {
        Event e;
        if (receive(rx, 100, &e) != BLIP_OK) continue;
        if (e.node_id == tx_node && e.type == BLIP_EVENT_SENDER_INACTIVE) inactive = true;
        if (e.node_id == tx_node && e.type == BLIP_EVENT_SENDER_ACTIVE && inactive) {
            active_again = true;
        }
        seen.push_back(e);
    }
    EXPECT_TRUE(inactive) << "no SENDER_INACTIVE";
    EXPECT_TRUE(active_again) << "no SENDER_ACTIVE after SENDER_INACTIVE";
    uint64_t v = 0;
    EXPECT_EQ(blip_channel_remote_stat(rx, tx_node, 0, "inactive", &v), BLIP_OK);

    // Gone for good: removed, and no longer listed.
    ASSERT_EQ(blip_channel_close(tx), BLIP_OK);
    bool removed = false;
    const auto deadline2 = Clock::now() + 15s;
    while (Clock::now() < deadline2 && !removed) {
        Event e;
        if (receive(rx, 100, &e) != BLIP_OK) continue;
        EXPECT_NE(e.type, BLIP_EVENT_LOSS) << "nothing was missing";
        if (e.node_id == tx_node && e.type == BLIP_EVENT_SENDER_REMOVED) removed = true;
    }
    EXPECT_TRUE(removed) << "no SENDER_REMOVED";
    size_t count = 9;
    ASSERT_EQ(blip_channel_remotes(rx, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 0u);
    EXPECT_EQ(blip_channel_remote_stat(rx, tx_node, 0, "messages", &v), BLIP_EADDRNOTAVAIL);
}

// A receiver that opens after the sender sent messages: "next" starts at what it hears next,
// "recover" asks for everything the sender still holds.
TEST(Events, LateJoinNextAndRecover) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr tc = channel_config(addr);
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(tx, nullptr);
    for (int i = 0; i < 10; ++i) send(tx, "early " + std::to_string(i));
    ASSERT_EQ(blip_channel_wait_sent(tx, 10000), BLIP_OK);
    std::this_thread::sleep_for(100ms);  // the session is older than the receivers

    ConfigPtr nc = channel_config(addr), rcv = channel_config(addr);
    set_str(rcv.get(), "join", "recover");
    blip_channel_t* next = ctx.open(nc.get());
    blip_channel_t* recover = ctx.open(rcv.get());
    ASSERT_NE(next, nullptr);
    ASSERT_NE(recover, nullptr);
    const uint64_t last = send(tx, "late");
    ASSERT_EQ(last, 10u);

    const auto r = only(receive_messages(recover, 11), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(r.size(), 11u);
    for (uint64_t i = 0; i < 10; ++i) {
        EXPECT_EQ(r[i].sequence, i);
        EXPECT_EQ(r[i].data, "early " + std::to_string(i));
    }
    EXPECT_EQ(r[10].data, "late");

    const auto events = receive_messages(next, 1);
    const auto n = only(events, BLIP_EVENT_MESSAGE);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].sequence, 10u);
    EXPECT_EQ(n[0].data, "late");
    EXPECT_TRUE(only(events, BLIP_EVENT_LOSS).empty()) << "nothing before the join is a loss";
    for (const Event& e : drain(next)) {
        EXPECT_NE(e.type, BLIP_EVENT_MESSAGE);
    }
}

// With a tiny retransmit window and heavy loss, some gaps cannot be repaired: they are reported
// as LOSS (left_window or gave_up), in order, and messages plus losses cover every sequence
// number exactly once. Never a silent gap.
TEST(Events, LossesAndMessagesCoverTheStream) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_str(rc.get(), "inject_loss", "0.3");
    set_int(rc.get(), "inject_seed", 99);
    set_int(rc.get(), "recv_buffer", 4 << 20);
    set_int(tc.get(), "window_messages", 4);
    set_int(tc.get(), "max_message_size", 1000);
    set_int(tc.get(), "send_queue_bytes", 1 << 20);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const uint64_t tx_node = node_id(tx);
    const int n = 400;
    for (int i = 0; i < n; ++i) {
        ASSERT_EQ(send_blocking(tx, 0, payload(i, 900), nullptr), BLIP_OK);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    uint64_t next = 0;
    int losses = 0, delivered = 0;
    const auto deadline = Clock::now() + 30s;
    while (next < static_cast<uint64_t>(n) && Clock::now() < deadline) {
        Event e;
        if (receive(rx, 100, &e) != BLIP_OK) continue;
        if (e.type == BLIP_EVENT_MESSAGE) {
            ASSERT_EQ(e.sequence, next) << "gap or reorder before message " << e.sequence;
            EXPECT_EQ(e.data, payload(e.sequence, 900));
            ++next;
            ++delivered;
        } else if (e.type == BLIP_EVENT_LOSS) {
            ASSERT_EQ(e.sequence, next) << "loss does not start where delivery stopped";
            ASSERT_EQ(e.open_ended, 0);
            ASSERT_GT(e.count, 0u);
            EXPECT_EQ(e.node_id, tx_node);
            EXPECT_TRUE(e.reason == BLIP_LOSS_LEFT_WINDOW || e.reason == BLIP_LOSS_GAVE_UP)
                << blip_loss_reason_name(e.reason);
            next += e.count;
            ++losses;
        }
    }
    EXPECT_EQ(next, static_cast<uint64_t>(n)) << "messages + losses do not cover the stream";
    EXPECT_GT(delivered, 0);
    EXPECT_GT(losses, 0) << "a 4-message window with 30% loss should lose something";
    EXPECT_EQ(remote_stat(rx, tx_node, 0, "loss_events"), static_cast<uint64_t>(losses));
    EXPECT_EQ(
        remote_stat(rx, tx_node, 0, "messages_lost") + remote_stat(rx, tx_node, 0, "messages"),
        static_cast<uint64_t>(n));
}

// At most max_senders remote streams are tracked; the rest are dropped and counted.
TEST(Events, MaxSendersLimitsTrackedStreams) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "max_senders", 2);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    for (uint32_t s = 1; s <= 3; ++s) {
        for (int i = 0; i < 3; ++i) {
            ASSERT_EQ(blip_channel_send_stream(tx, s, "m", 1, nullptr), BLIP_OK);
        }
        ASSERT_EQ(blip_channel_wait_sent(tx, 10000), BLIP_OK);
        std::this_thread::sleep_for(20ms);  // stream s is heard before s + 1
    }
    const auto msgs = only(receive_messages(rx, 6), BLIP_EVENT_MESSAGE);
    EXPECT_EQ(msgs.size(), 6u);
    for (const Event& e : drain(rx)) {
        EXPECT_NE(e.type, BLIP_EVENT_MESSAGE) << e.stream_id;
    }
    for (const Event& e : msgs) {
        EXPECT_NE(e.stream_id, 3u);
    }
    size_t count = 0;
    ASSERT_EQ(blip_channel_remotes(rx, nullptr, nullptr, 0, &count), BLIP_OK);
    EXPECT_EQ(count, 2u);
    EXPECT_GT(stat(rx, "too_many_senders"), 0u);
}

// The smallest datagram size: a few KB become many fragments, still intact and in order.
TEST(Events, SmallestDatagramSize) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(tc.get(), "datagram_size", 128);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    for (int i = 0; i < 20; ++i) send(tx, payload(i, 10 + i * 300));
    const auto msgs = only(receive_messages(rx, 20), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 20u);
    for (int i = 0; i < 20; ++i) {
        EXPECT_EQ(msgs[i].sequence, static_cast<uint64_t>(i));
        EXPECT_EQ(msgs[i].data, payload(i, 10 + i * 300));
    }
    EXPECT_GT(stat(tx, "datagrams_sent"), 20u * 10);
}

}  // namespace
