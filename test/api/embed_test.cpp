// Embedding mode (blip/blip_uv.h): the context runs on the test's own libuv loop and thread.
// Callbacks run inside uv_run on this thread; open/close/destroy from another thread are refused;
// after blip_context_destroy and one more run every handle is closed, so uv_loop_close succeeds.
#include <blip/blip.h>
#include <blip/blip_uv.h>
#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// A loop on the heap: if a test leaves a handle open, the loop cannot be closed and is leaked
// instead of freed under libuv's feet.
class Loop {
public:
    Loop() : loop_(new uv_loop_t) { EXPECT_EQ(uv_loop_init(loop_), 0); }
    ~Loop() {
        if (loop_ != nullptr) close_and_check();
    }
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;
    uv_loop_t* get() { return loop_; }

    /// Runs the loop (UV_RUN_NOWAIT, 1 ms apart) until `done` or the timeout; false on timeout.
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout = 10s) {
        const auto deadline = Clock::now() + timeout;
        while (!done()) {
            if (Clock::now() > deadline) return false;
            uv_run(loop_, UV_RUN_NOWAIT);
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }

    /// Runs until no handle is active or closing (bounded, instead of UV_RUN_DEFAULT that would
    /// hang on a handle left open), then requires uv_loop_close() to succeed.
    void close_and_check() {
        const bool idle = run_until([this] { return uv_loop_alive(loop_) == 0; }, 10s);
        EXPECT_TRUE(idle) << "the loop still has active handles: " << describe();
        uv_run(loop_, UV_RUN_NOWAIT);
        const int rc = uv_loop_close(loop_);
        EXPECT_EQ(rc, 0) << "uv_loop_close: " << uv_err_name(rc) << "; handles: " << describe();
        if (rc == 0) delete loop_;  // else leaked on purpose
        loop_ = nullptr;
    }

    std::string describe() {
        std::string out;
        uv_walk(
            loop_,
            [](uv_handle_t* h, void* arg) {
                auto* s = static_cast<std::string*>(arg);
                *s += std::string(uv_handle_type_name(uv_handle_get_type(h))) +
                      (uv_is_active(h) ? "(active)" : "") + (uv_is_closing(h) ? "(closing)" : "") +
                      " ";
            },
            &out);
        return out;
    }

private:
    uv_loop_t* loop_;
};

struct Recorder {
    std::vector<Event> events;
    std::vector<std::thread::id> threads;
    Callback cb;
    Recorder() {
        cb.fn = [this](blip_channel_t*, const blip_event_info_t* info) {
            events.push_back(copy_info(*info));
            threads.push_back(std::this_thread::get_id());
        };
    }
    size_t messages() const { return only(events, BLIP_EVENT_MESSAGE).size(); }
};

TEST(Embed, ChannelsRunOnTheCallersLoop) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Loop loop;
    Recorder rec;
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create_uv(loop.get(), &ctx), BLIP_OK);
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_callback(rc.get(), &rec.cb);
    blip_channel_t* rx = nullptr;
    blip_channel_t* tx = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, rc.get(), &rx), BLIP_OK) << blip_config_error(rc.get());
    ASSERT_EQ(blip_channel_open(ctx, tc.get(), &tx), BLIP_OK) << blip_config_error(tc.get());

    const int n = 20;
    for (int i = 0; i < n; ++i) send(tx, payload(i, 300));
    // Nothing runs while the loop does not.
    std::this_thread::sleep_for(50ms);
    EXPECT_EQ(rec.events.size(), 0u) << "a callback ran outside uv_run";

    ASSERT_TRUE(loop.run_until([&] { return rec.messages() == static_cast<size_t>(n); }))
        << "got " << rec.messages();
    const auto msgs = only(rec.events, BLIP_EVENT_MESSAGE);
    for (int i = 0; i < n; ++i) {
        EXPECT_EQ(msgs[i].sequence, static_cast<uint64_t>(i));
        EXPECT_EQ(msgs[i].data, payload(i, 300));
        EXPECT_EQ(msgs[i].node_id, node_id(tx));
    }
    for (const auto& t : rec.threads) EXPECT_EQ(t, std::this_thread::get_id());

    // Waiting calls on the loop thread (this thread) are refused; checks without a wait work.
    blip_event_t* ev = nullptr;
    EXPECT_EQ(blip_channel_receive(tx, 10, &ev), BLIP_ESTATE);
    EXPECT_EQ(blip_channel_receive(tx, -1, &ev), BLIP_ESTATE);
    const int now = blip_channel_receive(tx, 0, &ev);
    EXPECT_TRUE(now == BLIP_EAGAIN || now == BLIP_OK) << blip_err_name(now);
    if (now == BLIP_OK) blip_event_free(ev);
    EXPECT_EQ(blip_channel_wait_writable(tx, 0), BLIP_OK);
    // A channel whose send queue stays full (past the burst, 100 B/s): waiting for it here could
    // never end, since this thread runs the loop that drains it.
    ConfigPtr fc = channel_config(unique_address());
    set_int(fc.get(), "rate_limit", 100);
    set_int(fc.get(), "send_queue_messages", 100);
    blip_channel_t* full = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, fc.get(), &full), BLIP_OK);
    const std::string big(1000, 'f');
    int accepted = 0;
    while (accepted < 5000 && blip_channel_send(full, big.data(), big.size(), nullptr) == BLIP_OK) {
        ++accepted;
    }
    EXPECT_LT(accepted, 5000) << "the queue never filled";
    EXPECT_EQ(blip_channel_wait_sent(full, 10), BLIP_ESTATE);
    EXPECT_EQ(blip_channel_wait_writable(full, 10), BLIP_ESTATE);
    EXPECT_EQ(blip_channel_wait_writable(full, -1), BLIP_ESTATE);
    EXPECT_EQ(blip_channel_wait_writable(full, 0), BLIP_ETIMEDOUT);

    EXPECT_EQ(blip_channel_close(rx), BLIP_OK);
    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);
    loop.close_and_check();
}

// Other threads may send and read stats; the loop thread is woken for them.
TEST(Embed, SendFromAnotherThread) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Loop loop;
    Recorder rec;
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create_uv(loop.get(), &ctx), BLIP_OK);
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_callback(rc.get(), &rec.cb);
    blip_channel_t* rx = nullptr;
    blip_channel_t* tx = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, rc.get(), &rx), BLIP_OK);
    ASSERT_EQ(blip_channel_open(ctx, tc.get(), &tx), BLIP_OK);

    const int n = 50;
    auto sender = std::async(std::launch::async, [&] {
        for (int i = 0; i < n; ++i) {
            uint64_t seq = 0;
            const int r = send_blocking(tx, 0, payload(i, 100), &seq);
            if (r != BLIP_OK) return r;
        }
        uint64_t v = 0;
        return blip_channel_stat(tx, "messages_sent", &v);
    });
    ASSERT_TRUE(loop.run_until([&] { return rec.messages() == static_cast<size_t>(n); }))
        << "got " << rec.messages();
    EXPECT_EQ(sender.get(), BLIP_OK);
    const auto msgs = only(rec.events, BLIP_EVENT_MESSAGE);
    for (int i = 0; i < n; ++i) EXPECT_EQ(msgs[i].data, payload(i, 100));

    // A pull-mode receive with a timeout from another thread, while this thread runs the loop.
    ConfigPtr pc = channel_config(addr);
    blip_channel_t* pull = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, pc.get(), &pull), BLIP_OK);
    auto reader = std::async(std::launch::async, [&] {
        for (;;) {
            Event e;
            const int r = receive(pull, 10000, &e);
            if (r != BLIP_OK) return std::string("error ") + blip_err_name(r);
            if (e.type == BLIP_EVENT_MESSAGE) return e.data;
        }
    });
    send(tx, "pulled");
    ASSERT_TRUE(loop.run_until(
        [&] { return reader.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }));
    EXPECT_EQ(reader.get(), "pulled");

    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);
    loop.close_and_check();
}

// open, close and destroy touch libuv handles directly: only on the loop thread.
TEST(Embed, LifecycleCallsFromAnotherThreadAreRefused) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Loop loop;
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create_uv(loop.get(), &ctx), BLIP_OK);
    ConfigPtr c1 = channel_config(addr), c2 = channel_config(addr);
    blip_channel_t* ch = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, c1.get(), &ch), BLIP_OK);

    blip_channel_t* other = nullptr;
    int open_rc = 1, close_rc = 1, destroy_rc = 1, send_rc = 1;
    std::thread t([&] {
        open_rc = blip_channel_open(ctx, c2.get(), &other);
        close_rc = blip_channel_close(ch);
        destroy_rc = blip_context_destroy(ctx);
        send_rc = blip_channel_send(ch, "from a thread", 13, nullptr);
    });
    t.join();
    EXPECT_EQ(open_rc, BLIP_ESTATE);
    EXPECT_EQ(other, nullptr);
    EXPECT_STRNE(blip_config_error(c2.get()), "");
    EXPECT_EQ(close_rc, BLIP_ESTATE);
    EXPECT_EQ(destroy_rc, BLIP_ESTATE);
    EXPECT_EQ(send_rc, BLIP_OK) << "send stays thread-safe";
    // Everything still works on the loop thread.
    uv_run(loop.get(), UV_RUN_NOWAIT);
    EXPECT_EQ(blip_channel_close(ch), BLIP_OK);
    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);
    loop.close_and_check();
}

// A callback may not destroy its own context, in embedding mode either.
TEST(Embed, DestroyFromACallbackIsRefused) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    Loop loop;
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create_uv(loop.get(), &ctx), BLIP_OK);
    int destroy_rc = 1;
    Callback cb;
    cb.fn = [&](blip_channel_t*, const blip_event_info_t* info) {
        if (info->type == BLIP_EVENT_MESSAGE && destroy_rc == 1) {
            destroy_rc = blip_context_destroy(ctx);
        }
    };
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    set_callback(rc.get(), &cb);
    blip_channel_t* rx = nullptr;
    blip_channel_t* tx = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, rc.get(), &rx), BLIP_OK);
    ASSERT_EQ(blip_channel_open(ctx, tc.get(), &tx), BLIP_OK);
    send(tx, "destroy me");
    ASSERT_TRUE(loop.run_until([&] { return destroy_rc != 1; }));
    EXPECT_EQ(destroy_rc, BLIP_ESTATE);
    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);
    loop.close_and_check();
}

// The context shares the loop with the application's own handles and closes only its own.
TEST(Embed, DestroyLeavesTheApplicationsHandlesAlone) {
    REQUIRE_NETNS();
    Loop loop;
    uv_timer_t timer;
    ASSERT_EQ(uv_timer_init(loop.get(), &timer), 0);
    int ticks = 0;
    timer.data = &ticks;
    ASSERT_EQ(uv_timer_start(
                  &timer, [](uv_timer_t* t) { ++*static_cast<int*>(t->data); }, 1, 1),
              0);
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create_uv(loop.get(), &ctx), BLIP_OK);
    ConfigPtr c = channel_config(unique_address());
    blip_channel_t* ch = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, c.get(), &ch), BLIP_OK);
    ASSERT_TRUE(loop.run_until([&] { return ticks >= 5; }));
    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);
    const int before = ticks;
    ASSERT_TRUE(loop.run_until([&] { return ticks >= before + 5; })) << "our timer was stopped";
    EXPECT_TRUE(uv_is_active(reinterpret_cast<uv_handle_t*>(&timer)));
    uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
    loop.close_and_check();
}

TEST(Embed, NullArguments) {
    blip_context_t* ctx = nullptr;
    EXPECT_EQ(blip_context_create_uv(nullptr, &ctx), BLIP_EINVAL);
    EXPECT_EQ(ctx, nullptr);
    Loop loop;
    EXPECT_EQ(blip_context_create_uv(loop.get(), nullptr), BLIP_EINVAL);
    // A context with no channel: destroy, one more run, and the loop closes.
    ASSERT_EQ(blip_context_create_uv(loop.get(), &ctx), BLIP_OK);
    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);
    loop.close_and_check();
}

}  // namespace
