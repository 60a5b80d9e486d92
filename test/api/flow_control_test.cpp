// Flow control through the public API: a receiver whose loop thread is slower than the sender
// (a callback that takes 30 us per message) holds a flat-out sender back, so its socket buffer
// never overflows and every message arrives without a repair being needed for it; with
// flow_control off on the receiver, it reports nothing and holds nobody back.
#include <blip/blip.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// A callback-mode receiver that spends `cost` on every message, as a slow application would.
struct SlowReceiver {
    std::chrono::microseconds cost;
    std::mutex mu;
    std::vector<Event> events;
    Callback cb;

    explicit SlowReceiver(std::chrono::microseconds c) : cost(c) {
        cb.fn = [this](blip_channel_t* /*ch*/, const blip_event_info_t* info) {
            if (info->type == BLIP_EVENT_MESSAGE) {
                // Busy: a sleep would round up to the timer slack and vary with the machine.
                const auto until = Clock::now() + cost;
                while (Clock::now() < until) {
                }
            }
            std::lock_guard<std::mutex> lock(mu);
            events.push_back(copy_info(*info));
        };
    }
    std::vector<Event> snapshot() {
        std::lock_guard<std::mutex> lock(mu);
        return events;
    }
    size_t messages() { return only(snapshot(), BLIP_EVENT_MESSAGE).size(); }
};

TEST(FlowControl, ASlowReceiverHoldsAFlatOutSenderBackWithoutOverflowing) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    SlowReceiver rec(30us);  // declared before the contexts, which call it until destroyed
    // Two contexts: two loop threads, so the slow callback does not slow the sender's loop.
    Context rx_ctx, tx_ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_callback(rc.get(), &rec.cb);
    set_int(rc.get(), "recv_buffer", 256 << 10);  // small: without flow control it overflows
    blip_channel_t* rx = rx_ctx.open(rc.get());
    blip_channel_t* tx = tx_ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);

    // The credit follows from the buffer the kernel granted: half of it over the kernel's
    // charge for one 1400-byte datagram (2,304 bytes).
    const uint64_t rcvbuf = stat(rx, "recv_buffer");
    EXPECT_EQ(stat(rx, "status_credit"), std::max<uint64_t>(4, rcvbuf / 2 / 2304));

    // The sender hears the receiver before the flood. (A cold start is held too: the first
    // datagrams up to the sender's initial credit, then up to 20 ms for a first report. On a
    // loaded machine the receiver's first report can take longer than that, and this test is
    // about the steady state.)
    const int n = 20000;
    ASSERT_EQ(send_blocking(tx, 0, payload(0, 1000), nullptr), BLIP_OK);
    ASSERT_TRUE(wait_until([&] { return stat(tx, "flow_receivers") == 1; }, 10s));
    for (int i = 1; i < n; ++i) {
        ASSERT_EQ(send_blocking(tx, 0, payload(i, 1000), nullptr), BLIP_OK);
    }
    ASSERT_TRUE(wait_until([&] { return rec.messages() == static_cast<size_t>(n); }, 60s))
        << rec.messages() << " of " << n << " messages arrived";
    const auto msgs = only(rec.snapshot(), BLIP_EVENT_MESSAGE);
    for (int i = 0; i < n; ++i) {
        ASSERT_EQ(msgs[i].sequence, static_cast<uint64_t>(i));
        ASSERT_EQ(msgs[i].data, payload(i, 1000)) << "payload of " << i;
    }
    EXPECT_TRUE(only(rec.snapshot(), BLIP_EVENT_LOSS).empty());

    // The sender was held back (about 30 us per message at the receiver against a few us to
    // send one) by the one receiver that reports, and the receiver's kernel dropped nothing.
    EXPECT_GT(stat(tx, "flow_stalls"), 0u);
    EXPECT_EQ(stat(tx, "flow_receivers"), 1u);
    EXPECT_EQ(stat(tx, "flow_timeouts"), 0u);
    EXPECT_GT(stat(tx, "statuses_received"), 0u);
    EXPECT_GT(stat(rx, "statuses_sent"), 0u);
    EXPECT_EQ(stat(rx, "kernel_drops"), 0u)
        << "recv_buffer " << rcvbuf << " status_credit " << stat(rx, "status_credit")
        << " flow_stalls " << stat(tx, "flow_stalls") << " flow_probes " << stat(tx, "flow_probes")
        << " statuses " << stat(rx, "statuses_sent") << "/" << stat(tx, "statuses_received")
        << " datagrams " << stat(tx, "datagrams_sent") << " inline "
        << stat(tx, "datagrams_sent_inline") << " rx socket "
        << stat(rx, "socket_datagrams_received") << " rx sent " << stat(rx, "socket_datagrams_sent")
        << " tx kernel_drops " << stat(tx, "kernel_drops");
    EXPECT_EQ(stat(rx, "naks_sent"), 0u) << "nothing was lost, so nothing was asked for";
}

TEST(FlowControl, AReceiverWithFlowControlOffReportsNothing) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_str(rc.get(), "flow_control", "off");
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const int n = 500;
    for (int i = 0; i < n; ++i) ASSERT_EQ(send_blocking(tx, 0, payload(i, 100), nullptr), BLIP_OK);
    const auto msgs = only(receive_messages(rx, n), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(n));
    EXPECT_EQ(stat(rx, "statuses_sent"), 0u);
    EXPECT_EQ(stat(tx, "statuses_received"), 0u);
    EXPECT_EQ(stat(tx, "flow_receivers"), 0u);
    // At most one stall: the new sender's wait for a first report (initial_wait) once its
    // initial credit is out. Sends slow enough to go one datagram each (a sanitizer build)
    // exceed that credit; batched, they do not. Nothing holds the sender after it.
    EXPECT_LE(stat(tx, "flow_stalls"), 1u);
}

TEST(FlowControl, AReceiverThatReportsIsCountedBySenders) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc1 = channel_config(addr), rc2 = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx1 = ctx.open(rc1.get());
    blip_channel_t* rx2 = ctx.open(rc2.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx1, nullptr);
    ASSERT_NE(rx2, nullptr);
    ASSERT_NE(tx, nullptr);
    ASSERT_EQ(send_blocking(tx, 0, payload(0, 100), nullptr), BLIP_OK);
    ASSERT_EQ(only(receive_messages(rx1, 1), BLIP_EVENT_MESSAGE).size(), 1u);
    ASSERT_EQ(only(receive_messages(rx2, 1), BLIP_EVENT_MESSAGE).size(), 1u);
    // Each receiver reports at once on a new sender; the sender tracks both.
    EXPECT_TRUE(wait_until([&] { return stat(tx, "flow_receivers") == 2; }, 5s))
        << stat(tx, "flow_receivers");
    EXPECT_GE(stat(tx, "statuses_received"), 2u);
}

}  // namespace
