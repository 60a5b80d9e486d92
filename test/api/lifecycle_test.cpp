// Context and channel lifetime: destroying a context with open channels (events outlive it,
// descriptors are released), churn, concurrent and racing closes, and the calls a callback must
// not make (destroying its own context, waiting on the loop thread).
#include <blip/blip.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "api_test_util.h"

namespace {

using namespace blip_api_test;

// Every descriptor a context opened (sockets, eventfds, the loop's own) is closed by
// blip_context_destroy. The baseline is taken after a first round, since runtimes (e.g. the
// sanitizers) open a few descriptors of their own once; a leak then shows as growth.
std::string open_descriptors_text(size_t* count) {
    std::string text;
    *count = 0;
    for (int fd = 0; fd < 4096; ++fd) {
        if (fcntl(fd, F_GETFD) == -1) continue;
        ++*count;
        char target[256] = {};
        const std::string link = "/proc/self/fd/" + std::to_string(fd);
        const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
        text += std::to_string(fd) + "=" + (n > 0 ? std::string(target, n) : "?") + " ";
    }
    return text;
}

void context_round(bool close_pull_first) {
    const Address addr = unique_address();
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create(&ctx), BLIP_OK);
    Callback cb;
    cb.fn = [](blip_channel_t*, const blip_event_info_t*) {};
    ConfigPtr pull = channel_config(addr), callback = channel_config(addr),
              closed = channel_config(unique_address());
    set_callback(callback.get(), &cb);
    blip_channel_t* p = nullptr;
    blip_channel_t* c = nullptr;
    blip_channel_t* x = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, pull.get(), &p), BLIP_OK);
    ASSERT_EQ(blip_channel_open(ctx, callback.get(), &c), BLIP_OK);
    ASSERT_EQ(blip_channel_open(ctx, closed.get(), &x), BLIP_OK);
    int fd = -1;
    ASSERT_EQ(blip_channel_fd(p, &fd), BLIP_OK);
    EXPECT_EQ(blip_channel_send(c, "x", 1, nullptr), BLIP_OK);
    if (close_pull_first) {
        ASSERT_EQ(blip_channel_close(p), BLIP_OK);
    }
    ASSERT_EQ(blip_channel_close(x), BLIP_OK);
    ASSERT_EQ(blip_context_destroy(ctx), BLIP_OK);
}

TEST(Lifecycle, DestroyReleasesEveryDescriptor) {
    REQUIRE_NETNS();
    context_round(false);  // warm-up
    size_t before = 0, after = 0;
    const std::string before_text = open_descriptors_text(&before);
    for (int round = 0; round < 4; ++round) context_round(round % 2 == 1);
    const std::string after_text = open_descriptors_text(&after);
    EXPECT_EQ(after, before) << "before: " << before_text << "\nafter:  " << after_text;
}

// close is thread-safe: of many concurrent closes exactly one succeeds.
TEST(Lifecycle, ConcurrentClosesOneWins) {
    REQUIRE_NETNS();
    Context ctx;
    ConfigPtr cfg = channel_config(unique_address());
    blip_channel_t* ch = ctx.open(cfg.get());
    ASSERT_NE(ch, nullptr);
    std::atomic<bool> go{false};
    std::atomic<int> ok{0}, closed{0}, other{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            while (!go) std::this_thread::yield();
            const int rc = blip_channel_close(ch);
            (rc == BLIP_OK ? ok : rc == BLIP_ECLOSED ? closed : other)++;
        });
    }
    go = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1);
    EXPECT_EQ(closed.load(), 7);
    EXPECT_EQ(other.load(), 0);
}

// Sends, receives, waits and stats racing a close from another thread: each call returns a
// sensible code (never a crash; ASan checks the memory), and every call after close returned
// says BLIP_ECLOSED.
TEST(Lifecycle, CallsRacingCloseAreSafe) {
    REQUIRE_NETNS();
    for (int round = 0; round < 3; ++round) {
        const Address addr = unique_address();
        Context ctx;
        ConfigPtr cfg = channel_config(addr);
        set_int(cfg.get(), "send_queue_messages", 50);
        blip_channel_t* ch = ctx.open(cfg.get());
        ASSERT_NE(ch, nullptr);
        std::atomic<bool> closed{false};
        std::atomic<int> bad{0}, late_ok{0};
        auto worker = [&](int kind) {
            for (;;) {
                const bool was_closed = closed.load();
                int rc = BLIP_OK;
                uint64_t v = 0;
                blip_event_t* ev = nullptr;
                switch (kind) {
                    case 0:
                        rc = blip_channel_send(ch, "race", 4, nullptr);
                        if (rc == BLIP_EAGAIN) rc = BLIP_OK;
                        break;
                    case 1:
                        rc = blip_channel_receive(ch, 5, &ev);
                        if (rc == BLIP_OK) blip_event_free(ev);
                        if (rc == BLIP_ETIMEDOUT) rc = BLIP_OK;
                        break;
                    case 2:
                        rc = blip_channel_wait_writable(ch, 5);
                        if (rc == BLIP_ETIMEDOUT) rc = BLIP_OK;
                        break;
                    default:
                        rc = blip_channel_stat(ch, "messages_sent", &v);
                        break;
                }
                if (rc != BLIP_OK && rc != BLIP_ECLOSED) ++bad;
                if (was_closed) {
                    if (rc != BLIP_ECLOSED) ++late_ok;
                    return;
                }
            }
        };
        std::vector<std::thread> threads;
        for (int k = 0; k < 4; ++k) threads.emplace_back(worker, k);
        std::this_thread::sleep_for(std::chrono::milliseconds(20 + round * 10));
        ASSERT_EQ(blip_channel_close(ch), BLIP_OK);
        closed = true;
        for (auto& t : threads) t.join();
        EXPECT_EQ(bad.load(), 0) << "round " << round;
        EXPECT_EQ(late_ok.load(), 0) << "a call after close returned did not say BLIP_ECLOSED";
    }
}

// ---- Context lifetime ---------------------------------------------------------------------

// Destroying a context closes its open channels and frees everything (ASan checks the "no leak"
// part); events already taken stay valid after it.
TEST(Lifecycle, DestroyContextWithOpenChannelsAndEventsOutliveIt) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create(&ctx), BLIP_OK);
    ConfigPtr rc = channel_config(addr), tc = channel_config(addr);
    blip_channel_t* rx = nullptr;
    blip_channel_t* tx = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, rc.get(), &rx), BLIP_OK);
    ASSERT_EQ(blip_channel_open(ctx, tc.get(), &tx), BLIP_OK);
    for (int i = 0; i < 5; ++i) send(tx, "kept " + std::to_string(i));
    std::vector<blip_event_t*> taken;
    int messages = 0;
    const auto deadline = Clock::now() + 10s;
    while (messages < 2 && Clock::now() < deadline) {
        blip_event_t* ev = nullptr;
        if (blip_channel_receive(rx, 100, &ev) != BLIP_OK) continue;
        blip_event_info_t info{};
        info.size = sizeof info;
        ASSERT_EQ(blip_event_get_info(ev, &info), BLIP_OK);
        if (info.type == BLIP_EVENT_MESSAGE) ++messages;
        taken.push_back(ev);
    }
    ASSERT_EQ(messages, 2);
    // Queued, untaken events and a closed channel too.
    std::this_thread::sleep_for(100ms);
    ConfigPtr xc = channel_config(unique_address());
    blip_channel_t* closed = nullptr;
    ASSERT_EQ(blip_channel_open(ctx, xc.get(), &closed), BLIP_OK);
    ASSERT_EQ(blip_channel_close(closed), BLIP_OK);
    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);

    int seen = 0;
    for (blip_event_t* ev : taken) {
        blip_event_info_t info{};
        info.size = sizeof info;
        ASSERT_EQ(blip_event_get_info(ev, &info), BLIP_OK);
        if (info.type == BLIP_EVENT_MESSAGE) {
            EXPECT_EQ(std::string(static_cast<const char*>(info.data), info.length),
                      "kept " + std::to_string(seen));
            ++seen;
        }
        EXPECT_EQ(blip_event_free(ev), BLIP_OK);
    }
    EXPECT_EQ(seen, 2);
}

// Many contexts and channels created and destroyed in a row: no leak, no crash, no hang.
TEST(Lifecycle, ContextChurn) {
    REQUIRE_NETNS();
    for (int i = 0; i < 20; ++i) {
        const Address addr = unique_address();
        blip_context_t* ctx = nullptr;
        ASSERT_EQ(blip_context_create(&ctx), BLIP_OK);
        ConfigPtr c = channel_config(addr);
        blip_channel_t* ch = nullptr;
        ASSERT_EQ(blip_channel_open(ctx, c.get(), &ch), BLIP_OK);
        EXPECT_EQ(blip_channel_send(ch, "churn", 5, nullptr), BLIP_OK);
        if (i % 2 == 0) {
            EXPECT_EQ(blip_channel_close(ch), BLIP_OK);
        }
        ASSERT_EQ(blip_context_destroy(ctx), BLIP_OK);
    }
    // A context without any channel.
    blip_context_t* ctx = nullptr;
    ASSERT_EQ(blip_context_create(&ctx), BLIP_OK);
    EXPECT_EQ(blip_context_destroy(ctx), BLIP_OK);
}

// A channel whose send queue stays full for a long time: past the rate limiter's burst it drains
// one 1000-byte message per 10 s.
ConfigPtr slow_sender_config(const Address& addr) {
    ConfigPtr c = channel_config(addr);
    set_int(c.get(), "rate_limit", 100);
    set_int(c.get(), "send_queue_messages", 100);
    return c;
}

// From inside a callback: destroying the own context is refused (BLIP_ESTATE); a call that would
// have to wait on the loop thread is refused (BLIP_ESTATE); calls that do not wait work.
TEST(Lifecycle, ForbiddenCallsFromACallback) {
    REQUIRE_NETNS();
    const Address addr = unique_address();
    std::atomic<bool> done{false};
    std::atomic<int> destroy_rc{1}, writable_rc{1}, writable_forever_rc{1}, sent_rc{1},
        writable0_rc{1}, recv_wait_rc{1}, recv_forever_rc{1}, recv_now_rc{1}, stat_rc{1},
        send_rc{1};
    std::atomic<blip_context_t*> own_ctx{nullptr};
    std::atomic<blip_channel_t*> pull{nullptr}, full{nullptr};
    Callback cb;
    cb.fn = [&](blip_channel_t* ch, const blip_event_info_t* info) {
        if (info->type != BLIP_EVENT_MESSAGE || done) return;
        destroy_rc = blip_context_destroy(own_ctx.load());
        // `full` cannot drain for seconds, `pull` has nothing queued: both would have to wait.
        writable_rc = blip_channel_wait_writable(full.load(), 10);
        writable_forever_rc = blip_channel_wait_writable(full.load(), -1);
        sent_rc = blip_channel_wait_sent(full.load(), 10);
        writable0_rc = blip_channel_wait_writable(full.load(), 0);
        blip_event_t* ev = nullptr;
        recv_wait_rc = blip_channel_receive(pull.load(), 10, &ev);
        if (recv_wait_rc == BLIP_OK) blip_event_free(ev);
        ev = nullptr;
        recv_forever_rc = blip_channel_receive(pull.load(), -1, &ev);
        if (recv_forever_rc == BLIP_OK) blip_event_free(ev);
        ev = nullptr;
        recv_now_rc = blip_channel_receive(pull.load(), 0, &ev);
        if (recv_now_rc == BLIP_OK) blip_event_free(ev);
        uint64_t v = 0;
        stat_rc = blip_channel_stat(ch, "messages_sent", &v);
        send_rc = blip_channel_send(ch, "from callback", 13, nullptr);
        done = true;
    };
    Context ctx;
    own_ctx = ctx.get();
    ConfigPtr cc = channel_config(addr), tc = channel_config(addr);
    ConfigPtr pc = channel_config(unique_address());      // a group nobody sends to
    ConfigPtr fc = slow_sender_config(unique_address());  // a queue that stays full
    set_callback(cc.get(), &cb);
    ASSERT_NE(ctx.open(cc.get()), nullptr);
    pull = ctx.open(pc.get());
    full = ctx.open(fc.get());
    ASSERT_NE(pull.load(), nullptr);
    ASSERT_NE(full.load(), nullptr);
    ASSERT_TRUE(fill_until_full(full.load()));
    blip_channel_t* tx = ctx.open(tc.get());
    ASSERT_NE(tx, nullptr);
    send(tx, "trigger");
    ASSERT_TRUE(wait_until([&] { return done.load(); }, 20s)) << "the callback hung";
    EXPECT_EQ(destroy_rc.load(), BLIP_ESTATE) << "context destroyed from its own callback";
    EXPECT_EQ(writable_rc.load(), BLIP_ESTATE) << "wait_writable waited on the loop thread";
    EXPECT_EQ(writable_forever_rc.load(), BLIP_ESTATE) << "wait_writable(-1) on the loop thread";
    EXPECT_EQ(sent_rc.load(), BLIP_ESTATE) << "wait_sent waited on the loop thread";
    EXPECT_EQ(recv_wait_rc.load(), BLIP_ESTATE) << "receive waited on the loop thread";
    EXPECT_EQ(recv_forever_rc.load(), BLIP_ESTATE) << "receive(-1) on the loop thread";
    EXPECT_EQ(writable0_rc.load(), BLIP_ETIMEDOUT) << "timeout 0 only checks: still full";
    EXPECT_EQ(recv_now_rc.load(), BLIP_EAGAIN) << "timeout 0 only checks: nothing queued";
    EXPECT_EQ(stat_rc.load(), BLIP_OK);
    EXPECT_EQ(send_rc.load(), BLIP_OK);
    // The context survived the refused destroy.
    EXPECT_EQ(blip_channel_send(tx, "alive", 5, nullptr), BLIP_OK);
}

}  // namespace
