// The send queue: a full queue gives BLIP_EAGAIN (never a silent drop), blip_channel_wait_writable
// and blip_channel_wait_sent wait for it to drain at rate_limit, and a wait ends with BLIP_ECLOSED
// when the channel closes.
#include <blip/blip.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// Sends `msg` until BLIP_EAGAIN (at most `limit` tries); returns the number accepted, or -1 if
// the queue never filled.
int fill(blip_channel_t* ch, const std::string& msg, int limit) {
    for (int i = 0; i < limit; ++i) {
        const int rc = blip_channel_send(ch, msg.data(), msg.size(), nullptr);
        if (rc == BLIP_EAGAIN) return i;
        EXPECT_EQ(rc, BLIP_OK) << blip_err_name(rc);
        if (rc != BLIP_OK) return -1;
    }
    return -1;
}

// One test per limit: by messages, and by bytes. The rate limiter lets a burst of 16 datagrams
// pass at once, so the queue must be larger than that burst to fill and then drain at the rate.
void queue_full_then_writable(const char* limit_name, int64_t limit) {
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(tc.get(), "max_message_size", 1000);  // send_queue_bytes may not be below it
    set_int(tc.get(), limit_name, limit);
    set_int(tc.get(), "rate_limit", 100000);  // 100 KB/s: ~100 messages of 1000 bytes per second
    set_int(rc.get(), "recv_buffer", 4 << 20);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);

    const std::string msg(1000, 'q');
    const int accepted = fill(tx, msg, 5000);
    ASSERT_GT(accepted, 0) << "the send queue never filled (" << limit_name << " = " << limit
                           << ")";
    // The queue is full, so not everything has been sent yet.
    EXPECT_EQ(blip_channel_wait_sent(tx, 0), BLIP_ETIMEDOUT);
    uint64_t queued = 0;
    EXPECT_EQ(blip_channel_stat(tx, limit_name, &queued), BLIP_OK);
    EXPECT_GT(queued, 0u) << limit_name << " counter of the queue";

    const auto t0 = Clock::now();
    ASSERT_EQ(blip_channel_wait_writable(tx, 20000), BLIP_OK);
    EXPECT_LT(Clock::now() - t0, 15s);
    uint64_t seq = 0;
    ASSERT_EQ(blip_channel_send(tx, msg.data(), msg.size(), &seq), BLIP_OK) << "room after wait";
    EXPECT_EQ(seq, static_cast<uint64_t>(accepted)) << "the refused sends took no number";

    ASSERT_EQ(blip_channel_wait_sent(tx, 30000), BLIP_OK);
    EXPECT_EQ(blip_channel_wait_sent(tx, 0), BLIP_OK) << "drained stays drained";
    EXPECT_EQ(blip_channel_wait_writable(tx, 0), BLIP_OK);
    EXPECT_EQ(blip_channel_stat(tx, limit_name, &queued), BLIP_OK);
    EXPECT_EQ(queued, 0u);
    // Draining at 100 KB/s: the ~100 KB beyond the burst took a while.
    EXPECT_GT(Clock::now() - t0, 200ms) << "rate_limit did not pace the queue";

    // Every accepted message arrives, in order: EAGAIN refused, never dropped.
    const auto msgs = only(receive_messages(rx, accepted + 1, 30s), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(accepted + 1));
    for (size_t i = 0; i < msgs.size(); ++i) EXPECT_EQ(msgs[i].sequence, i);
    EXPECT_EQ(stat(tx, "messages_sent"), static_cast<uint64_t>(accepted + 1));
}

TEST(SendQueue, FullByMessagesThenWritable) {
    REQUIRE_NETNS();
    queue_full_then_writable("send_queue_messages", 100);
}

TEST(SendQueue, FullByBytesThenWritable) {
    REQUIRE_NETNS();
    queue_full_then_writable("send_queue_bytes", 100000);
}

// wait_sent with a short timeout while the queue needs seconds to drain: BLIP_ETIMEDOUT after
// about that time.
TEST(SendQueue, WaitTimesOut) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr tc = channel_config(unique_address());
    set_int(tc.get(), "send_queue_messages", 100);
    set_int(tc.get(), "rate_limit", 1000);  // past the burst, one 1000-byte message per second
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(tx, nullptr);
    ASSERT_TRUE(fill_until_full(tx));
    const auto t0 = Clock::now();
    EXPECT_EQ(blip_channel_wait_sent(tx, 200), BLIP_ETIMEDOUT);
    const auto waited = Clock::now() - t0;
    EXPECT_GE(waited, 195ms);
    EXPECT_LT(waited, 10s);
}

// A wait in another thread returns BLIP_ECLOSED when the channel is closed; waits on a closed
// channel too.
TEST(SendQueue, WaitEndsWithEclosedOnClose) {
    REQUIRE_NETNS();
    for (bool writable : {false, true}) {
        Context ctx;
        ConfigPtr tc = channel_config(unique_address());
        set_int(tc.get(), "send_queue_messages", 100);
        set_int(tc.get(), "rate_limit", 100);  // past the burst, a 1000-byte message every 10 s
        blip_channel_t* tx = ctx.open(tc.get());
        ASSERT_NE(tx, nullptr);
        ASSERT_TRUE(fill_until_full(tx));
        auto waiter = std::async(std::launch::async, [&] {
            return writable ? blip_channel_wait_writable(tx, -1) : blip_channel_wait_sent(tx, -1);
        });
        EXPECT_EQ(waiter.wait_for(200ms), std::future_status::timeout) << "did not wait";
        ASSERT_EQ(blip_channel_close(tx), BLIP_OK);
        ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready) << "still waiting after close";
        EXPECT_EQ(waiter.get(), BLIP_ECLOSED);
        EXPECT_EQ(blip_channel_wait_writable(tx, 0), BLIP_ECLOSED);
        EXPECT_EQ(blip_channel_wait_writable(tx, 100), BLIP_ECLOSED);
        EXPECT_EQ(blip_channel_wait_sent(tx, 0), BLIP_ECLOSED);
        EXPECT_EQ(blip_channel_wait_sent(tx, -1), BLIP_ECLOSED);
    }
}

// With nothing queued, both waits succeed at once.
TEST(SendQueue, IdleChannelIsWritableAndSent) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr tc = channel_config(unique_address());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(tx, nullptr);
    EXPECT_EQ(blip_channel_wait_writable(tx, 0), BLIP_OK);
    EXPECT_EQ(blip_channel_wait_sent(tx, 0), BLIP_OK);
    send(tx, "one");
    EXPECT_EQ(blip_channel_wait_sent(tx, 10000), BLIP_OK);
    EXPECT_EQ(blip_channel_wait_writable(tx, -1), BLIP_OK);
}

// Messages sent from one thread keep their order even when several threads send at once.
TEST(SendQueue, ConcurrentSendersKeepPerThreadOrder) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "recv_buffer", 4 << 20);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    const int threads = 4, per_thread = 250;
    std::vector<std::future<int>> senders;
    for (int t = 0; t < threads; ++t) {
        senders.push_back(std::async(std::launch::async, [&, t] {
            for (int i = 0; i < per_thread; ++i) {
                const std::string m = std::to_string(t) + ":" + std::to_string(i);
                uint64_t seq = 0;
                const int r = send_blocking(tx, 0, m, &seq);
                if (r != BLIP_OK) return r;
            }
            return BLIP_OK;
        }));
    }
    for (auto& s : senders) EXPECT_EQ(s.get(), BLIP_OK);
    const auto msgs = only(receive_messages(rx, threads * per_thread, 30s), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(threads * per_thread));
    std::vector<int> next(threads, 0);
    for (size_t i = 0; i < msgs.size(); ++i) {
        EXPECT_EQ(msgs[i].sequence, i);
        const auto colon = msgs[i].data.find(':');
        ASSERT_NE(colon, std::string::npos);
        const int t = std::stoi(msgs[i].data.substr(0, colon));
        const int k = std::stoi(msgs[i].data.substr(colon + 1));
        ASSERT_TRUE(t >= 0 && t < threads);
        EXPECT_EQ(k, next[t]) << "thread " << t << " out of order";
        next[t] = k + 1;
    }
}

}  // namespace

// wait_writable waits for room for the message that was refused, not just for "below the
// limit": a large message refused with EAGAIN must be accepted right after the wait, else the
// documented retry loop spins.
TEST(SendQueue, WaitWritableWaitsForRoomForTheRefusedMessage) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr tc = channel_config(addr);
    set_int(tc.get(), "max_message_size", 60000);
    set_int(tc.get(), "send_queue_bytes", 100000);
    set_int(tc.get(), "rate_limit", 200000);  // the 16-datagram burst goes, then 200 KB/s
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(tx, nullptr);
    const std::string big(40000, 'b');
    int refused = 0;
    for (int i = 0; i < 20; ++i) {
        int rc = blip_channel_send(tx, big.data(), big.size(), nullptr);
        if (rc == BLIP_OK) continue;
        ASSERT_EQ(rc, BLIP_EAGAIN) << blip_err_name(rc);
        ++refused;
        ASSERT_EQ(blip_channel_wait_writable(tx, 20000), BLIP_OK);
        rc = blip_channel_send(tx, big.data(), big.size(), nullptr);
        EXPECT_EQ(rc, BLIP_OK) << "refused again right after wait_writable said there was room";
    }
    EXPECT_GT(refused, 0) << "the queue never filled: the test checks nothing";
    EXPECT_EQ(stat(tx, "messages_sent"), 20u);
}

// Sequence numbers are decided when blip_channel_send() accepts a message, by the sending
// thread, before the loop thread hands the message to the engine. Several threads on two
// streams at once: every number one send returned must arrive with exactly that send's bytes.
TEST(SendQueue, SequenceNumbersFromConcurrentSendersMatchWhatArrives) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "recv_buffer", 4 << 20);
    set_int(tc.get(), "send_queue_messages", 64);  // small: the senders also meet EAGAIN
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    constexpr int kThreads = 4;
    constexpr int kPerThread = 2000;
    // sent[stream][seq] = the bytes the send that returned seq carried
    std::vector<std::vector<std::string>> sent(2, std::vector<std::string>(kThreads * kPerThread));
    std::vector<std::vector<bool>> taken(2, std::vector<bool>(kThreads * kPerThread));
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kPerThread; ++i) {
                const uint32_t stream = static_cast<uint32_t>((i + t) % 2) + 1;
                const std::string msg = payload(static_cast<uint64_t>(t) * kPerThread + i,
                                                static_cast<size_t>(1 + (i * 7 + t) % 300));
                uint64_t seq = ~0ULL;
                ASSERT_EQ(send_blocking(tx, stream, msg, &seq), BLIP_OK);
                std::lock_guard<std::mutex> lock(mu);
                ASSERT_LT(seq, sent[stream - 1].size());
                ASSERT_FALSE(taken[stream - 1][seq]) << "sequence number given twice: " << seq;
                taken[stream - 1][seq] = true;
                sent[stream - 1][seq] = msg;
            }
        });
    }
    for (auto& th : threads) th.join();
    const size_t total = kThreads * kPerThread;
    const auto msgs = only(receive_messages(rx, total, 60s), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), total);
    std::vector<uint64_t> next(2, 0);
    for (const Event& m : msgs) {
        ASSERT_TRUE(m.stream_id == 1 || m.stream_id == 2);
        const size_t s = m.stream_id - 1;
        ASSERT_EQ(m.sequence, next[s]) << "stream " << m.stream_id << " out of order";
        ++next[s];
        ASSERT_TRUE(taken[s][m.sequence]) << "no send returned " << m.sequence;
        ASSERT_EQ(m.data, sent[s][m.sequence]) << "stream " << m.stream_id << " seq " << m.sequence;
    }
    EXPECT_EQ(next[0] + next[1], total);
    EXPECT_EQ(stat(tx, "messages_sent"), total);
}

// A lone message from an application thread is transmitted by that thread (no hand-off to the
// loop thread); a burst is still batched by the loop thread into fewer datagrams.
TEST(SendQueue, LoneMessagesGoOutInlineAndBurstsAreBatched) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "recv_buffer", 4 << 20);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    constexpr int kLone = 20;
    for (int i = 0; i < kLone; ++i) {
        send(tx, payload(static_cast<uint64_t>(i), 64));
        std::this_thread::sleep_for(2ms);
    }
    EXPECT_GT(stat(tx, "datagrams_sent_inline"), 0u) << "no lone message went out inline";
    const uint64_t datagrams_before = stat(tx, "datagrams_sent");
    constexpr int kBurst = 20000;
    for (int i = kLone; i < kLone + kBurst; ++i) {
        ASSERT_EQ(send_blocking(tx, 0, payload(static_cast<uint64_t>(i), 64), nullptr), BLIP_OK);
    }
    const auto msgs = only(receive_messages(rx, kLone + kBurst, 30s), BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(kLone + kBurst));
    for (size_t i = 0; i < msgs.size(); ++i) {
        ASSERT_EQ(msgs[i].sequence, i);
        ASSERT_EQ(msgs[i].data, payload(i, 64));
    }
    // 64-byte messages, ~20 to a datagram when batched: far fewer datagrams than messages.
    EXPECT_LT(stat(tx, "datagrams_sent") - datagrams_before, static_cast<uint64_t>(kBurst / 2));
}
