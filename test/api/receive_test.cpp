// Pull mode (blip_channel_receive, blip_channel_fd): timeouts, waking a blocked receiver on close,
// the level-triggered descriptor, concurrent receivers, and OVERRUN when the queue is full.
#include <blip/blip.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

bool readable(int fd, int timeout_ms) {
    pollfd p{};
    p.fd = fd;
    p.events = POLLIN;
    const int rc = poll(&p, 1, timeout_ms);
    EXPECT_GE(rc, 0);
    EXPECT_EQ(p.revents & (POLLERR | POLLNVAL), 0) << "revents " << p.revents;
    return rc > 0 && (p.revents & POLLIN) != 0;
}

// Takes every queued event with timeout 0 until BLIP_EAGAIN; returns how many.
size_t take_all(blip_channel_t* ch, std::vector<Event>* out = nullptr) {
    size_t n = 0;
    for (;;) {
        Event e;
        const int rc = receive(ch, 0, &e);
        if (rc == BLIP_EAGAIN) return n;
        EXPECT_EQ(rc, BLIP_OK) << blip_err_name(rc);
        if (rc != BLIP_OK || n > 100000) return n;
        ++n;
        if (out != nullptr) out->push_back(std::move(e));
    }
}

TEST(Receive, TimeoutZeroGivesEagainWhenEmpty) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr c = channel_config(unique_address());
    blip_channel_t* ch = ctx.open(c.get());
    ASSERT_NE(ch, nullptr);
    take_all(ch);                                              // e.g. a WARNING queued at open
    blip_event_t* ev = reinterpret_cast<blip_event_t*>(&ctx);  // must stay untouched
    const auto t0 = Clock::now();
    EXPECT_EQ(blip_channel_receive(ch, 0, &ev), BLIP_EAGAIN);
    EXPECT_LT(Clock::now() - t0, 2s) << "timeout 0 does not wait";
    EXPECT_EQ(ev, reinterpret_cast<blip_event_t*>(&ctx)) << "out is unchanged on failure";
}

TEST(Receive, PositiveTimeoutGivesEtimedoutAfterRoughlyThatTime) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr c = channel_config(unique_address());
    blip_channel_t* ch = ctx.open(c.get());
    ASSERT_NE(ch, nullptr);
    take_all(ch);
    for (int timeout : {1, 50, 300}) {
        blip_event_t* ev = nullptr;
        const auto t0 = Clock::now();
        EXPECT_EQ(blip_channel_receive(ch, timeout, &ev), BLIP_ETIMEDOUT) << timeout;
        const auto waited = Clock::now() - t0;
        EXPECT_GE(waited, std::chrono::milliseconds(timeout) - 5ms) << "returned early";
        EXPECT_LT(waited, std::chrono::milliseconds(timeout) + 10s);
        EXPECT_EQ(ev, nullptr);
    }
}

// A receive waiting with a timeout (or forever) returns as soon as a message arrives.
TEST(Receive, WaitingReceiveWakesOnAMessage) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    take_all(rx);
    for (int timeout : {-1, 60000}) {
        auto waiter = std::async(std::launch::async, [&] {
            // Skip membership events; return the first message.
            for (;;) {
                Event e;
                const int r = receive(rx, timeout, &e);
                if (r != BLIP_OK) return "error " + std::string(blip_err_name(r));
                if (e.type == BLIP_EVENT_MESSAGE) return e.data;
            }
        });
        std::this_thread::sleep_for(100ms);
        const std::string m = "wake " + std::to_string(timeout);
        send(tx, m);
        ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
        EXPECT_EQ(waiter.get(), m);
    }
}

// A receive blocked in another thread returns BLIP_ECLOSED when the channel is closed.
TEST(Receive, BlockedReceiveReturnsEclosedOnClose) {
    REQUIRE_NETNS();
    for (int timeout : {-1, 60000}) {
        Context ctx;
        ConfigPtr c = channel_config(unique_address());
        blip_channel_t* ch = ctx.open(c.get());
        ASSERT_NE(ch, nullptr);
        take_all(ch);
        auto waiter = std::async(std::launch::async, [&] {
            blip_event_t* ev = nullptr;
            const int r = blip_channel_receive(ch, timeout, &ev);
            if (r == BLIP_OK) blip_event_free(ev);
            return r;
        });
        EXPECT_EQ(waiter.wait_for(200ms), std::future_status::timeout) << "did not block";
        const auto t0 = Clock::now();
        ASSERT_EQ(blip_channel_close(ch), BLIP_OK);
        ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready) << "still blocked after close";
        EXPECT_LT(Clock::now() - t0, 10s);
        EXPECT_EQ(waiter.get(), BLIP_ECLOSED) << "timeout " << timeout;
        blip_event_t* ev = nullptr;
        EXPECT_EQ(blip_channel_receive(ch, 0, &ev), BLIP_ECLOSED);
        EXPECT_EQ(blip_channel_receive(ch, 100, &ev), BLIP_ECLOSED);
        int fd = -1;
        EXPECT_EQ(blip_channel_fd(ch, &fd), BLIP_ECLOSED);
    }
}

// Closing discards the events not taken yet; later receives see BLIP_ECLOSED, not the events.
TEST(Receive, CloseDiscardsQueuedEvents) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    for (int i = 0; i < 10; ++i) send(tx, "queued");
    ASSERT_TRUE(wait_until([&] {
        uint64_t v = 0;
        return blip_channel_remote_stat(rx, node_id(tx), 0, "messages", &v) == BLIP_OK && v == 10;
    })) << "the messages did not arrive";
    ASSERT_EQ(blip_channel_close(rx), BLIP_OK);
    blip_event_t* ev = nullptr;
    EXPECT_EQ(blip_channel_receive(rx, 0, &ev), BLIP_ECLOSED);
}

// The descriptor is readable exactly while events are queued (level-triggered).
TEST(Receive, DescriptorIsLevelTriggered) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    int fd = -1;
    ASSERT_EQ(blip_channel_fd(rx, &fd), BLIP_OK);
    ASSERT_GE(fd, 0);
    int fd2 = -1;
    ASSERT_EQ(blip_channel_fd(rx, &fd2), BLIP_OK);
    EXPECT_EQ(fd, fd2) << "one descriptor per channel";

    take_all(rx);
    EXPECT_FALSE(readable(fd, 0)) << "readable with nothing queued";
    EXPECT_FALSE(readable(fd, 100));

    for (int i = 0; i < 3; ++i) send(tx, "lt" + std::to_string(i));
    ASSERT_TRUE(readable(fd, 10000)) << "not readable after messages arrived";
    // Let all three arrive; polling does not consume readiness.
    ASSERT_TRUE(wait_until([&] {
        uint64_t v = 0;
        return blip_channel_remote_stat(rx, node_id(tx), 0, "messages", &v) == BLIP_OK && v == 3;
    }));
    EXPECT_TRUE(readable(fd, 0));
    EXPECT_TRUE(readable(fd, 0)) << "level-triggered: still readable";
    Event first;
    ASSERT_EQ(receive(rx, 0, &first), BLIP_OK);
    EXPECT_TRUE(readable(fd, 0)) << "more events are queued";

    std::vector<Event> rest;
    take_all(rx, &rest);
    rest.insert(rest.begin(), first);
    const auto msgs = only(rest, BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 3u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(msgs[i].data, "lt" + std::to_string(i));
    EXPECT_FALSE(readable(fd, 0)) << "readable after draining";
    EXPECT_FALSE(readable(fd, 200)) << "readable after draining";

    send(tx, "again");
    ASSERT_TRUE(readable(fd, 10000)) << "not readable again after new data";
    std::vector<Event> again;
    ASSERT_TRUE(wait_until([&] {
        take_all(rx, &again);
        return !only(again, BLIP_EVENT_MESSAGE).empty();
    }));
    EXPECT_EQ(only(again, BLIP_EVENT_MESSAGE)[0].data, "again");
    take_all(rx);
    EXPECT_FALSE(readable(fd, 100));
}

// Closing the channel makes its descriptor readable, so a poller wakes and its receive then says
// BLIP_ECLOSED; the descriptor stays valid until the context is destroyed.
TEST(Receive, DescriptorWakesPollersOnClose) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr c = channel_config(unique_address());
    blip_channel_t* ch = ctx.open(c.get());
    ASSERT_NE(ch, nullptr);
    int fd = -1;
    ASSERT_EQ(blip_channel_fd(ch, &fd), BLIP_OK);
    take_all(ch);
    ASSERT_FALSE(readable(fd, 0));
    auto poller = std::async(std::launch::async, [fd] { return readable(fd, 10000); });
    EXPECT_EQ(poller.wait_for(200ms), std::future_status::timeout);
    ASSERT_EQ(blip_channel_close(ch), BLIP_OK);
    ASSERT_EQ(poller.wait_for(10s), std::future_status::ready);
    EXPECT_TRUE(poller.get()) << "the poller did not wake on close";
    EXPECT_TRUE(readable(fd, 0)) << "stays readable";
    blip_event_t* ev = nullptr;
    EXPECT_EQ(blip_channel_receive(ch, 0, &ev), BLIP_ECLOSED);
}

// Several threads receiving from one channel: each event goes to exactly one of them.
TEST(Receive, ConcurrentReceiversEachGetDistinctEvents) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "recv_buffer", 4 << 20);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const int n = 2000;
    std::mutex mu;
    std::vector<uint64_t> seqs;
    std::atomic<int> errors{0};
    std::atomic<bool> done{false};
    std::vector<std::thread> readers;
    for (int t = 0; t < 4; ++t) {
        readers.emplace_back([&] {
            while (!done) {
                Event e;
                const int r = receive(rx, 20, &e);
                if (r == BLIP_ETIMEDOUT) continue;
                if (r != BLIP_OK) {
                    ++errors;
                    return;
                }
                if (e.type != BLIP_EVENT_MESSAGE) continue;
                std::lock_guard<std::mutex> lock(mu);
                seqs.push_back(e.sequence);
                if (e.data != payload(e.sequence, 64)) ++errors;
            }
        });
    }
    for (int i = 0; i < n; ++i) {
        uint64_t seq = 0;
        ASSERT_EQ(send_blocking(tx, 0, payload(i, 64), &seq), BLIP_OK);
        if (i % 100 == 99) std::this_thread::sleep_for(1ms);
    }
    const bool all = wait_until(
        [&] {
            std::lock_guard<std::mutex> lock(mu);
            return seqs.size() >= static_cast<size_t>(n);
        },
        30s);
    std::this_thread::sleep_for(100ms);
    done = true;
    for (auto& r : readers) r.join();
    EXPECT_TRUE(all);
    EXPECT_EQ(errors.load(), 0);
    std::set<uint64_t> unique(seqs.begin(), seqs.end());
    EXPECT_EQ(seqs.size(), static_cast<size_t>(n)) << "an event went to two receivers";
    EXPECT_EQ(unique.size(), static_cast<size_t>(n));
    if (!unique.empty()) {
        EXPECT_EQ(*unique.begin(), 0u);
        EXPECT_EQ(*unique.rbegin(), static_cast<uint64_t>(n - 1));
    }
}

// A pull-mode receiver that does not read while 100 messages arrive with a 10-event queue: the
// messages it kept plus the OVERRUN ranges cover 0..99 exactly once, in order.
TEST(Receive, OverrunReportsWhatTheFullQueueDropped) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "receive_queue_messages", 10);
    set_int(rc.get(), "recv_buffer", 4 << 20);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const uint64_t tx_node = node_id(tx);
    const int n = 100;
    for (int i = 0; i < n; ++i) send(tx, payload(i, 32));
    // Wait (without reading) until the protocol has delivered all 100 to the channel.
    const bool arrived = wait_until([&] {
        uint64_t v = 0;
        return blip_channel_remote_stat(rx, tx_node, 0, "messages", &v) == BLIP_OK && v >= 100;
    });
    EXPECT_TRUE(arrived) << "the protocol did not deliver the 100 messages";

    std::vector<Event> events;
    uint64_t next = 0;
    int overruns = 0;
    size_t delivered = 0;
    const auto deadline = Clock::now() + 10s;
    while (next < static_cast<uint64_t>(n) && Clock::now() < deadline) {
        Event e;
        const int r = receive(rx, 100, &e);
        if (r == BLIP_ETIMEDOUT) continue;
        ASSERT_EQ(r, BLIP_OK) << blip_err_name(r);
        if (e.type == BLIP_EVENT_MESSAGE) {
            ASSERT_EQ(e.sequence, next) << "out of order or duplicate";
            EXPECT_EQ(e.data, payload(e.sequence, 32));
            ++next;
            ++delivered;
        } else if (e.type == BLIP_EVENT_OVERRUN) {
            ++overruns;
            EXPECT_EQ(e.node_id, tx_node);
            EXPECT_EQ(e.stream_id, 0u);
            ASSERT_EQ(e.sequence, next) << "overrun range does not start where delivery stopped";
            ASSERT_GT(e.count, 0u);
            next += e.count;
        } else {
            EXPECT_TRUE(e.type == BLIP_EVENT_SENDER_NEW || e.type == BLIP_EVENT_WARNING)
                << blip_event_type_name(e.type);
        }
    }
    EXPECT_EQ(next, static_cast<uint64_t>(n)) << "messages + overrun ranges do not cover 0..99";
    EXPECT_GE(overruns, 1);
    EXPECT_LE(delivered, 20u) << "a 10-event queue kept " << delivered << " of 100";
    EXPECT_GE(delivered, 1u);
    // Nothing more: no message twice, no further overrun.
    for (const Event& e : drain(rx)) {
        EXPECT_NE(e.type, BLIP_EVENT_MESSAGE) << e.sequence;
        EXPECT_NE(e.type, BLIP_EVENT_OVERRUN) << e.sequence << "+" << e.count;
    }
    // After the overrun, delivery continues normally.
    const uint64_t seq = send(tx, "after overrun");
    const auto msgs = only(receive_messages(rx, 1), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 1u);
    EXPECT_EQ(msgs[0].sequence, seq);
    EXPECT_EQ(msgs[0].data, "after overrun");
}

// receive_queue_bytes bounds the queue by payload bytes in the same way.
TEST(Receive, OverrunByBytes) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "receive_queue_bytes", 10000);
    set_int(rc.get(), "recv_buffer", 4 << 20);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const int n = 50;
    for (int i = 0; i < n; ++i) send(tx, payload(i, 1000));
    wait_until([&] {
        uint64_t v = 0;
        return blip_channel_remote_stat(rx, node_id(tx), 0, "messages", &v) == BLIP_OK && v >= 50;
    });
    uint64_t next = 0;
    int overruns = 0;
    size_t delivered = 0;
    const auto deadline = Clock::now() + 10s;
    while (next < static_cast<uint64_t>(n) && Clock::now() < deadline) {
        Event e;
        const int r = receive(rx, 100, &e);
        if (r == BLIP_ETIMEDOUT) continue;
        ASSERT_EQ(r, BLIP_OK);
        if (e.type == BLIP_EVENT_MESSAGE) {
            ASSERT_EQ(e.sequence, next);
            ++next;
            ++delivered;
        } else if (e.type == BLIP_EVENT_OVERRUN) {
            ++overruns;
            ASSERT_EQ(e.sequence, next);
            next += e.count;
        }
    }
    EXPECT_EQ(next, static_cast<uint64_t>(n));
    EXPECT_GE(overruns, 1);
    EXPECT_LE(delivered, 11u) << "10000 queued bytes hold about 10 messages of 1000";
}

}  // namespace

namespace {

using namespace blip_api_test;

// busy_poll_us: after a datagram the receiving loop spins instead of sleeping, and stops
// spinning once the window has passed with nothing new.
TEST(Receive, BusyPollSpinsAfterADatagramThenSleeps) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context rx_ctx, tx_ctx;  // own loops: the sender's heartbeats must not keep rx spinning
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr), plain = channel_config(addr);
    set_int(rc.get(), "busy_poll_us", 20000);
    blip_channel_t* rx = rx_ctx.open(rc.get());
    blip_channel_t* other = rx_ctx.open(plain.get());  // same loop, no busy_poll of its own
    blip_channel_t* tx = tx_ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(other, nullptr);
    ASSERT_NE(tx, nullptr);
    EXPECT_EQ(stat(rx, "busy_poll_spins"), 0u) << "nothing received yet";
    ASSERT_EQ(send_blocking(tx, 0, payload(0, 10), nullptr), BLIP_OK);
    ASSERT_EQ(only(receive_messages(rx, 1), BLIP_EVENT_MESSAGE).size(), 1u);
    EXPECT_TRUE(wait_until([&] { return stat(rx, "busy_poll_spins") > 10; }, 5s))
        << stat(rx, "busy_poll_spins");
    EXPECT_EQ(stat(other, "busy_poll_spins"), 0u);
    // Once the sender is gone (no more heartbeats) and the 20 ms window has passed, the loop
    // sleeps: the count stops.
    ASSERT_EQ(blip_channel_close(tx), BLIP_OK);
    std::this_thread::sleep_for(100ms);
    const uint64_t spins = stat(rx, "busy_poll_spins");
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(stat(rx, "busy_poll_spins"), spins) << "still spinning after the window";
}

}  // namespace
