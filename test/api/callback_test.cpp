// Callback mode (blip_config_set_callback): events on the loop thread, pull calls refused, send and
// close from inside a callback, and close from another thread while messages flow: once close
// returns, the callback never runs again.
#include <blip/blip.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// Collects the events of a callback-mode channel, with the thread each arrived on.
struct Recorder {
    std::mutex mu;
    std::vector<Event> events;
    std::vector<std::thread::id> threads;
    std::vector<blip_channel_t*> channels;
    std::vector<size_t> sizes;
    Callback cb;

    Recorder() {
        cb.fn = [this](blip_channel_t* ch, const blip_event_info_t* info) {
            std::lock_guard<std::mutex> lock(mu);
            events.push_back(copy_info(*info));
            threads.push_back(std::this_thread::get_id());
            channels.push_back(ch);
            sizes.push_back(info->size);
        };
    }
    size_t messages() {
        std::lock_guard<std::mutex> lock(mu);
        return only(events, BLIP_EVENT_MESSAGE).size();
    }
};

TEST(Callback, EventsArriveOnTheLoopThread) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Recorder rec;  // declared before the context, which calls it until destroyed
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_callback(rc.get(), &rec.cb);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);

    // Pull-mode calls are refused in callback mode.
    blip_event_t* ev = nullptr;
    EXPECT_EQ(blip_channel_receive(rx, 0, &ev), BLIP_ESTATE);
    EXPECT_EQ(blip_channel_receive(rx, 10, &ev), BLIP_ESTATE);
    EXPECT_EQ(ev, nullptr);
    int fd = -1;
    EXPECT_EQ(blip_channel_fd(rx, &fd), BLIP_ESTATE);

    std::vector<uint64_t> seqs;
    for (int i = 0; i < 10; ++i) seqs.push_back(send(tx, payload(i, 100)));
    ASSERT_TRUE(wait_until([&] { return rec.messages() == 10; }))
        << "got " << rec.messages() << " messages";

    std::lock_guard<std::mutex> lock(rec.mu);
    const std::thread::id me = std::this_thread::get_id();
    for (size_t i = 0; i < rec.events.size(); ++i) {
        EXPECT_NE(rec.threads[i], me) << "callback on the test thread";
        EXPECT_EQ(rec.threads[i], rec.threads[0]) << "one loop thread per context";
        EXPECT_EQ(rec.channels[i], rx) << "the callback names its channel";
        EXPECT_GE(rec.sizes[i], offsetof(blip_event_info_t, suppressed) + sizeof(uint64_t));
        EXPECT_NE(rec.events[i].type, BLIP_EVENT_OVERRUN) << "never in callback mode";
    }
    const auto msgs = only(rec.events, BLIP_EVENT_MESSAGE);
    ASSERT_EQ(msgs.size(), 10u);
    for (size_t i = 0; i < msgs.size(); ++i) {
        EXPECT_EQ(msgs[i].sequence, seqs[i]);
        EXPECT_EQ(msgs[i].data, payload(i, 100));
        EXPECT_EQ(msgs[i].node_id, node_id(tx));
    }
    // SENDER_NEW came first for this sender, before its messages.
    size_t first_new = rec.events.size(), first_msg = rec.events.size();
    for (size_t i = rec.events.size(); i-- > 0;) {
        if (rec.events[i].type == BLIP_EVENT_SENDER_NEW) first_new = i;
        if (rec.events[i].type == BLIP_EVENT_MESSAGE) first_msg = i;
    }
    EXPECT_LT(first_new, first_msg);
}

// Two channels of two different contexts call back on two different loop threads.
TEST(Callback, EachContextHasItsOwnLoopThread) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Recorder r1, r2;
    Context ctx1, ctx2;
    ConfigPtr c1 = channel_config(addr), c2 = channel_config(addr), tc = channel_config(addr);
    set_callback(c1.get(), &r1.cb);
    set_callback(c2.get(), &r2.cb);
    ASSERT_NE(ctx1.open(c1.get()), nullptr);
    ASSERT_NE(ctx2.open(c2.get()), nullptr);
    blip_channel_t* tx = ctx1.open(tc.get());
    ASSERT_NE(tx, nullptr);
    send(tx, "to both");
    ASSERT_TRUE(wait_until([&] { return r1.messages() == 1 && r2.messages() == 1; }));
    std::lock_guard<std::mutex> l1(r1.mu), l2(r2.mu);
    EXPECT_NE(r1.threads.back(), r2.threads.back());
}

// blip_channel_send() from inside the callback: every message is echoed back.
TEST(Callback, SendFromInsideTheCallbackEchoes) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    std::atomic<int> send_failures{0};
    std::atomic<int> echoed{0};
    Callback echo;
    echo.fn = [&](blip_channel_t* ch, const blip_event_info_t* info) {
        if (info->type != BLIP_EVENT_MESSAGE) return;
        const std::string reply =
            "echo:" + std::string(static_cast<const char*>(info->data), info->length);
        const int rc = blip_channel_send(ch, reply.data(), reply.size(), nullptr);
        if (rc != BLIP_OK) ++send_failures;
        ++echoed;
    };
    Context ctx;
    ConfigPtr ec = channel_config(addr), pc = channel_config(addr);
    set_callback(ec.get(), &echo);
    blip_channel_t* echoer = ctx.open(ec.get());
    blip_channel_t* pinger = ctx.open(pc.get());
    ASSERT_NE(echoer, nullptr);
    ASSERT_NE(pinger, nullptr);
    const int n = 30;
    for (int i = 0; i < n; ++i) send(pinger, "ping " + std::to_string(i));
    const auto msgs = only(receive_messages(pinger, n), BLIP_EVENT_MESSAGE);
    EXPECT_EQ(send_failures.load(), 0);
    ASSERT_EQ(msgs.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(msgs[i].data, "echo:ping " + std::to_string(i));
        EXPECT_EQ(msgs[i].node_id, node_id(echoer));
        EXPECT_EQ(msgs[i].sequence, static_cast<uint64_t>(i));
    }
}

// A callback may call into another channel of its own context (here: send on it).
TEST(Callback, CallbackMaySendOnAnotherChannelOfItsContext) {
    REQUIRE_NETNS();
    const Address in = unique_address(), out = unique_address();
    std::atomic<blip_channel_t*> forward{nullptr};
    std::atomic<int> failures{0};
    Callback relay;
    relay.fn = [&](blip_channel_t*, const blip_event_info_t* info) {
        if (info->type != BLIP_EVENT_MESSAGE) return;
        if (blip_channel_send(forward.load(), info->data, info->length, nullptr) != BLIP_OK) {
            ++failures;
        }
    };
    Context ctx;
    ConfigPtr sink_cfg = channel_config(out), fwd_cfg = channel_config(out),
              relay_cfg = channel_config(in), src_cfg = channel_config(in);
    set_callback(relay_cfg.get(), &relay);
    blip_channel_t* sink = ctx.open(sink_cfg.get());
    forward = ctx.open(fwd_cfg.get());
    ASSERT_NE(ctx.open(relay_cfg.get()), nullptr);
    blip_channel_t* src = ctx.open(src_cfg.get());
    ASSERT_NE(sink, nullptr);
    ASSERT_NE(forward.load(), nullptr);
    ASSERT_NE(src, nullptr);
    for (int i = 0; i < 5; ++i) send(src, "relayed " + std::to_string(i));
    const auto msgs = only(receive_messages(sink, 5), BLIP_EVENT_MESSAGE);
    EXPECT_EQ(failures.load(), 0);
    ASSERT_EQ(msgs.size(), 5u);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(msgs[i].data, "relayed " + std::to_string(i));
}

// blip_channel_close() from inside the callback: OK, and no callback for the channel after it.
TEST(Callback, CloseFromInsideTheCallback) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    std::atomic<int> close_rc{1};
    std::atomic<bool> closed{false};
    std::atomic<int> after_close{0};
    std::atomic<int> messages{0};
    Callback cb;
    cb.fn = [&](blip_channel_t* ch, const blip_event_info_t* info) {
        if (closed) {
            ++after_close;
            return;
        }
        if (info->type != BLIP_EVENT_MESSAGE) return;
        ++messages;
        close_rc = blip_channel_close(ch);
        closed = true;
        // A second close from the same callback: the channel is closed now.
        if (blip_channel_close(ch) != BLIP_ECLOSED) ++after_close;
    };
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_callback(rc.get(), &cb);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    for (int i = 0; i < 50; ++i) {
        send(tx, "m" + std::to_string(i));
        if (i % 10 == 0) std::this_thread::sleep_for(5ms);
    }
    ASSERT_TRUE(wait_until([&] { return closed.load(); }));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(close_rc.load(), BLIP_OK);
    EXPECT_EQ(messages.load(), 1);
    EXPECT_EQ(after_close.load(), 0) << "callbacks after close";
    EXPECT_EQ(blip_channel_close(rx), BLIP_ECLOSED);
    EXPECT_EQ(blip_channel_send(rx, "x", 1, nullptr), BLIP_ECLOSED);
    // The sender is unaffected.
    EXPECT_EQ(blip_channel_send(tx, "x", 1, nullptr), BLIP_OK);
}

// Close from another thread while messages flow: once blip_channel_close() returns, no callback
// is running and none ever starts again. The callback sleeps a little so that close often finds
// one in progress.
TEST(Callback, CloseFromAnotherThreadStopsCallbacks) {
    REQUIRE_NETNS();
    for (int round = 0; round < 3; ++round) {
        const Address addr = unique_address();
        std::atomic<int> entered{0}, left{0};
        Callback cb;
        cb.fn = [&](blip_channel_t*, const blip_event_info_t*) {
            ++entered;
            std::this_thread::sleep_for(std::chrono::microseconds(500));
            ++left;
        };
        Context ctx;
        ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
        set_callback(rc.get(), &cb);
        blip_channel_t* rx = ctx.open(rc.get());
        blip_channel_t* tx = ctx.open(tc.get());
        ASSERT_NE(rx, nullptr);
        ASSERT_NE(tx, nullptr);
        std::atomic<bool> stop{false};
        std::thread sender([&] {
            int i = 0;
            while (!stop) {
                const std::string m = "flow " + std::to_string(i++);
                const int rc2 = blip_channel_send(tx, m.data(), m.size(), nullptr);
                if (rc2 == BLIP_EAGAIN) blip_channel_wait_writable(tx, 1000);
                std::this_thread::sleep_for(std::chrono::microseconds(100));
            }
        });
        const bool flowing = wait_until([&] { return entered.load() > 50; });
        const int close_rc = blip_channel_close(rx);
        const int entered_at_close = entered.load();
        const int left_at_close = left.load();
        std::this_thread::sleep_for(200ms);
        stop = true;
        sender.join();
        ASSERT_TRUE(flowing) << "callbacks: " << entered.load();
        EXPECT_EQ(close_rc, BLIP_OK);
        EXPECT_EQ(entered_at_close, left_at_close) << "a callback was running after close returned";
        EXPECT_EQ(entered.load(), entered_at_close) << "callbacks started after close returned";
        EXPECT_EQ(left.load(), left_at_close);
    }
}

// Two contexts whose callbacks each close a channel of the other context at the same moment: a
// callback "may call any function on any channel", so this must not deadlock the two loops.
TEST(Callback, CrossContextCloseFromCallbacksDoesNotDeadlock) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    std::atomic<int> arrived{0}, finished{0};
    std::atomic<int> rc_a{1}, rc_b{1};
    std::atomic<blip_channel_t*> victim_a{nullptr}, victim_b{nullptr};
    // Each callback waits (bounded) for the other to be inside its callback too, then closes a
    // channel of the other context.
    auto make = [&](std::atomic<blip_channel_t*>* victim, std::atomic<int>* rc) {
        return [&arrived, &finished, victim, rc](blip_channel_t*, const blip_event_info_t* info) {
            if (info->type != BLIP_EVENT_MESSAGE || *rc != 1) return;
            ++arrived;
            wait_until([&] { return arrived.load() >= 2; }, 2s);
            *rc = blip_channel_close(victim->load());
            ++finished;
        };
    };
    Callback cb_a, cb_b;
    cb_a.fn = make(&victim_b, &rc_a);  // runs on context A's loop, closes a channel of B
    cb_b.fn = make(&victim_a, &rc_b);
    blip_context_t* ctx_a = nullptr;
    blip_context_t* ctx_b = nullptr;
    ASSERT_EQ(blip_context_create(&ctx_a), BLIP_OK);
    ASSERT_EQ(blip_context_create(&ctx_b), BLIP_OK);
    ConfigPtr ca = channel_config(addr), cb = channel_config(addr), tc = channel_config(addr),
              va = channel_config(unique_address()), vb = channel_config(unique_address());
    set_callback(ca.get(), &cb_a);
    set_callback(cb.get(), &cb_b);
    blip_channel_t* tmp = nullptr;
    ASSERT_EQ(blip_channel_open(ctx_a, va.get(), &tmp), BLIP_OK);
    victim_a = tmp;
    ASSERT_EQ(blip_channel_open(ctx_b, vb.get(), &tmp), BLIP_OK);
    victim_b = tmp;
    ASSERT_EQ(blip_channel_open(ctx_a, ca.get(), &tmp), BLIP_OK);
    ASSERT_EQ(blip_channel_open(ctx_b, cb.get(), &tmp), BLIP_OK);
    blip_channel_t* tx = nullptr;
    ASSERT_EQ(blip_channel_open(ctx_a, tc.get(), &tx), BLIP_OK);
    send(tx, "close the other one");
    const bool done = wait_until([&] { return finished.load() == 2; }, 15s);
    if (!done) {
        // Both loop threads are stuck: destroying the contexts would hang too, so they are
        // leaked on purpose and the failure is reported.
        ADD_FAILURE() << "deadlock: " << arrived.load() << " callbacks entered, " << finished.load()
                      << " returned from blip_channel_close() of the other "
                      << "context's channel within 15 s";
        return;
    }
    EXPECT_EQ(rc_a.load(), BLIP_OK);
    EXPECT_EQ(rc_b.load(), BLIP_OK);
    EXPECT_EQ(blip_context_destroy(ctx_a), BLIP_OK);
    EXPECT_EQ(blip_context_destroy(ctx_b), BLIP_OK);
}

// A callback-mode channel never reports OVERRUN, however slow the callback: there is no queue.
TEST(Callback, SlowCallbackLosesNothing) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Recorder rec;
    Callback slow;
    slow.fn = [&](blip_channel_t* ch, const blip_event_info_t* info) {
        if (info->type == BLIP_EVENT_MESSAGE) std::this_thread::sleep_for(2ms);
        rec.cb.fn(ch, info);
    };
    Context ctx;
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_int(rc.get(), "receive_queue_messages", 10);  // a pull-mode limit: not used here
    set_int(rc.get(), "recv_buffer", 4 << 20);
    set_callback(rc.get(), &slow);
    blip_channel_t* rx = ctx.open(rc.get());
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(rx, nullptr);
    ASSERT_NE(tx, nullptr);
    for (int i = 0; i < 100; ++i) send(tx, payload(i, 50));
    ASSERT_TRUE(wait_until([&] { return rec.messages() == 100; }, 30s)) << rec.messages();
    std::lock_guard<std::mutex> lock(rec.mu);
    const auto msgs = only(rec.events, BLIP_EVENT_MESSAGE);
    for (size_t i = 0; i < msgs.size(); ++i) {
        EXPECT_EQ(msgs[i].sequence, i);
        EXPECT_EQ(msgs[i].data, payload(i, 50));
    }
    EXPECT_TRUE(only(rec.events, BLIP_EVENT_OVERRUN).empty());
    EXPECT_TRUE(only(rec.events, BLIP_EVENT_LOSS).empty());
}

}  // namespace
