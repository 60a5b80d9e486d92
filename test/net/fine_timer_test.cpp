// io::FineTimer on a real libuv loop: fires at (never before) its deadline, re-arming replaces,
// kNever and disarm() stop it, postpone_to() moves an armed deadline later (from any thread),
// close() runs its callback and leaves the loop closable. No network; the properties checked
// do not depend on how fast the machine is.
#include "io/fine_timer.h"

#include <blip/blip.h>
#include <gtest/gtest.h>
#include <uv.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "io/clock.h"
#include "net/net_test_util.h"

using blip::io::clock_now;
using blip::io::FineTimer;
using blip::nettest::Loop;
using namespace std::chrono_literals;

namespace {

TEST(FineTimer, FiresOnceAtItsDeadlineNeverBefore) {
    Loop loop;
    FineTimer t;
    std::vector<blip::proto::Time> fired;
    std::string err;
    ASSERT_EQ(t.open(
                  loop.get(), [&] { fired.push_back(clock_now()); }, &err),
              BLIP_OK)
        << err;
    const blip::proto::Time deadline = clock_now() + 300us;
    t.arm_at(deadline);
    ASSERT_TRUE(loop.run_until([&] { return !fired.empty(); }));
    EXPECT_GE(fired[0], deadline);
    loop.settle(20ms);
    EXPECT_EQ(fired.size(), 1U) << "one-shot";
    t.close(nullptr);
    loop.close_and_check();
}

TEST(FineTimer, APastDeadlineFiresAtOnceAndAnEarlierDeadlineWins) {
    Loop loop;
    FineTimer t;
    int fired = 0;
    ASSERT_EQ(t.open(
                  loop.get(), [&] { ++fired; }, nullptr),
              BLIP_OK);
    t.arm_at(clock_now() - 1s);
    ASSERT_TRUE(loop.run_until([&] { return fired == 1; }));
    // A far deadline replaced by a near one fires once, at the near one.
    t.arm_at(clock_now() + 1h);
    t.arm_at(clock_now() + 1ms);
    ASSERT_TRUE(loop.run_until([&] { return fired == 2; }));
    // A near deadline followed by a far one still fires at the near one (once: the owner
    // re-arms from its callback if it still wants the far one).
    t.arm_at(clock_now() + 1ms);
    t.arm_at(clock_now() + 1h);
    ASSERT_TRUE(loop.run_until([&] { return fired == 3; }));
    loop.settle(30ms);
    EXPECT_EQ(fired, 3);
    t.close(nullptr);
    loop.close_and_check();
}

TEST(FineTimer, DisarmStopsItAndNeverArmsNothing) {
    Loop loop;
    FineTimer t;
    int fired = 0;
    ASSERT_EQ(t.open(
                  loop.get(), [&] { ++fired; }, nullptr),
              BLIP_OK);
    t.arm_at(blip::proto::kNever);
    loop.settle(20ms);
    EXPECT_EQ(fired, 0);
    t.arm_at(clock_now() + 2ms);
    t.disarm();
    loop.settle(30ms);
    EXPECT_EQ(fired, 0);
    // After disarm() a later deadline than the cancelled one is armed again.
    t.arm_at(clock_now() + 3ms);
    ASSERT_TRUE(loop.run_until([&] { return fired == 1; }));
    t.close(nullptr);
    loop.close_and_check();
}

TEST(FineTimer, CloseRunsItsCallbackAndAClosedTimerIgnoresCalls) {
    Loop loop;
    FineTimer t;
    int fired = 0;
    bool closed = false;
    EXPECT_EQ(t.open(loop.get(), nullptr, nullptr), BLIP_EINVAL);
    ASSERT_EQ(t.open(
                  loop.get(), [&] { ++fired; }, nullptr),
              BLIP_OK);
    EXPECT_EQ(t.open(
                  loop.get(), [] {}, nullptr),
              BLIP_ESTATE);
    t.arm_at(clock_now());  // due, but closed before the loop runs: never fires
    t.close([&] { closed = true; });
    EXPECT_FALSE(t.is_open());
    t.arm_at(clock_now());
    t.disarm();
    ASSERT_TRUE(loop.run_until([&] { return closed; }));
    loop.settle(10ms);
    EXPECT_EQ(fired, 0);
    bool again = false;
    t.close([&] { again = true; });  // not open: runs at once
    EXPECT_TRUE(again);
    loop.close_and_check();
}

TEST(FineTimer, PostponeMovesAnArmedDeadlineLaterAndNothingElse) {
    Loop loop;
    FineTimer t;
    std::vector<blip::proto::Time> fired;
    ASSERT_EQ(t.open(
                  loop.get(), [&] { fired.push_back(clock_now()); }, nullptr),
              BLIP_OK);
    const blip::proto::Time first = clock_now() + 2ms;
    EXPECT_FALSE(t.postpone_to(first)) << "nothing armed: nothing to postpone";
    t.arm_at(first);
    EXPECT_FALSE(t.postpone_to(first - 1ms)) << "earlier is arm_at()'s job";
    EXPECT_FALSE(t.postpone_to(first)) << "not later";
    EXPECT_FALSE(t.postpone_to(blip::proto::kNever)) << "kNever is not a deadline";
    const blip::proto::Time later = first + 40ms;
    EXPECT_TRUE(t.postpone_to(later));
    ASSERT_TRUE(loop.run_until([&] { return !fired.empty(); }));
    EXPECT_GE(fired[0], later) << "the first deadline must not fire";
    // Fired: nothing is armed until the owner re-arms, so postponing arms nothing.
    EXPECT_FALSE(t.postpone_to(clock_now() + 1ms));
    loop.settle(20ms);
    EXPECT_EQ(fired.size(), 1U);
    // After a postponement an earlier arm_at() still wins.
    t.arm_at(clock_now() + 1h);
    EXPECT_TRUE(t.postpone_to(clock_now() + 2h));
    const blip::proto::Time near = clock_now() + 1ms;
    t.arm_at(near);
    ASSERT_TRUE(loop.run_until([&] { return fired.size() == 2; }));
    EXPECT_GE(fired[1], near);
    t.close(nullptr);
    loop.close_and_check();
}

TEST(FineTimer, AnotherThreadPostponesWhileTheLoopRuns) {
    Loop loop;
    FineTimer t;
    std::atomic<int> fired{0};
    std::atomic<std::int64_t> fired_at{0};
    ASSERT_EQ(t.open(
                  loop.get(),
                  [&] {
                      fired_at.store(clock_now().count());
                      ++fired;
                  },
                  nullptr),
              BLIP_OK);
    t.arm_at(clock_now() + 5ms);
    std::atomic<std::int64_t> last{0};
    std::thread other([&] {
        // As a lone sender does: each "send" pushes the deadline 5 ms past now, for 30 ms.
        const auto stop = clock_now() + 30ms;
        while (clock_now() < stop && fired.load() == 0) {
            const blip::proto::Time d = clock_now() + 5ms;
            if (t.postpone_to(d)) last.store(d.count());
            std::this_thread::sleep_for(1ms);
        }
    });
    const bool ok = loop.run_until([&] { return fired.load() == 1; });
    other.join();
    ASSERT_TRUE(ok);
    EXPECT_GE(fired_at.load(), last.load()) << "fired before the last postponed deadline";
    loop.settle(20ms);
    EXPECT_EQ(fired.load(), 1);
    t.close(nullptr);
    loop.close_and_check();
}

}  // namespace
