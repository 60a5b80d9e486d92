// Unit tests of NAK timing (src/proto/nak_scheduler.h): random back-off bounds and shape,
// exact ranges, splitting, suppression by seen NAKs and repairs, retries with a doubling
// wait, giving up, and determinism for a seed. Virtual time.
#include "proto/nak_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "proto/config.h"
#include "proto/rng.h"
#include "wire/packet.h"

using blip::proto::Duration;
using blip::proto::kNever;
using blip::proto::NakScheduler;
using blip::proto::ReceiverConfig;
using blip::proto::Rng;
using blip::proto::Time;
using blip::wire::SeqRange;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

namespace {

constexpr Time kT0 = 5s;

using Ranges = std::vector<SeqRange>;

Ranges sorted(Ranges r) {
    std::sort(r.begin(), r.end(),
              [](const SeqRange& a, const SeqRange& b) { return a.first < b.first; });
    return r;
}

// Scheduler plus the objects it references (it keeps references to both).
struct Fixture {
    explicit Fixture(ReceiverConfig c = {}, std::uint64_t seed = 1) : cfg(c), rng(seed) {}
    ReceiverConfig cfg;
    Rng rng;
    NakScheduler nak{cfg, rng};

    // Polls at `now`; returns the NAKed ranges, appends given-up ones to `gave_up`.
    Ranges poll(Time now, Ranges* gave_up = nullptr) {
        Ranges n;
        Ranges g;
        nak.poll(now, n, g);
        if (gave_up != nullptr) {
            gave_up->insert(gave_up->end(), g.begin(), g.end());
        } else {
            EXPECT_TRUE(g.empty()) << "unexpected give-up at " << now.count();
        }
        return n;
    }
};

}  // namespace

TEST(NakScheduler, GapIsNakedAfterARandomDelayWithinBounds) {
    for (std::uint64_t seed = 1; seed <= 200; ++seed) {
        Fixture f({}, seed);
        f.nak.add(kT0, 5, 8);
        EXPECT_EQ(f.nak.missing(), 3u);
        const Time due = f.nak.next_deadline();
        ASSERT_GE(due, kT0 + f.cfg.nak_delay_min) << "seed " << seed;
        ASSERT_LE(due, kT0 + f.cfg.nak_delay_min + f.cfg.nak_backoff) << "seed " << seed;
        ASSERT_TRUE(f.poll(due - 1ns).empty()) << "NAK before its deadline, seed " << seed;
        ASSERT_EQ(f.poll(due), (Ranges{{5, 3}})) << "seed " << seed;
        // Now awaiting the repair.
        EXPECT_EQ(f.nak.next_deadline(), due + f.cfg.repair_timeout);
        EXPECT_EQ(f.nak.missing(), 3u) << "a NAKed gap is still missing";
    }
}

TEST(NakScheduler, RangesAreExact) {
    Fixture f;
    f.nak.add(kT0, 10, 11);
    f.nak.add(kT0, 20, 25);
    f.nak.add(kT0, std::numeric_limits<std::uint64_t>::max() - 3,
              std::numeric_limits<std::uint64_t>::max());
    f.nak.add(kT0, 30, 30);  // empty: ignored
    EXPECT_EQ(f.nak.gap_count(), 3u);
    EXPECT_EQ(f.nak.missing(), 1u + 5u + 3u);
    EXPECT_FALSE(f.nak.contains(9));
    EXPECT_TRUE(f.nak.contains(10));
    EXPECT_FALSE(f.nak.contains(11));
    EXPECT_TRUE(f.nak.contains(24));
    EXPECT_FALSE(f.nak.contains(25));
    EXPECT_FALSE(f.nak.contains(30));
    const Ranges n = f.poll(kT0 + f.cfg.nak_delay_min + f.cfg.nak_backoff);
    EXPECT_EQ(sorted(n),
              (Ranges{{10, 1}, {20, 5}, {std::numeric_limits<std::uint64_t>::max() - 3, 3}}));
}

TEST(NakScheduler, RemoveSplitsAGap) {
    Fixture f;
    f.nak.add(kT0, 10, 20);
    f.nak.remove(15);
    EXPECT_EQ(f.nak.missing(), 9u);
    EXPECT_EQ(f.nak.gap_count(), 2u);
    EXPECT_FALSE(f.nak.contains(15));
    EXPECT_TRUE(f.nak.contains(14));
    EXPECT_TRUE(f.nak.contains(16));
    f.nak.remove(10);  // first of a gap
    f.nak.remove(19);  // last of a gap
    f.nak.remove(15);  // not tracked any more: no-op
    f.nak.remove(99);  // never tracked: no-op
    EXPECT_EQ(f.nak.missing(), 7u);
    EXPECT_EQ(f.nak.gap_count(), 2u);
    f.nak.remove(16);
    f.nak.remove(17);
    f.nak.remove(18);  // the right part is gone entirely
    EXPECT_EQ(f.nak.gap_count(), 1u);
    // Both halves keep the original deadline: one NAK poll covers what is left.
    const Ranges n = f.poll(kT0 + f.cfg.nak_delay_min + f.cfg.nak_backoff);
    EXPECT_EQ(sorted(n), (Ranges{{11, 4}}));
    for (std::uint64_t s = 11; s < 15; ++s) f.nak.remove(s);
    EXPECT_TRUE(f.nak.empty());
    EXPECT_EQ(f.nak.missing(), 0u);
    EXPECT_EQ(f.nak.next_deadline(), kNever);
}

TEST(NakScheduler, RemoveAfterNakKeepsBothHalvesAwaitingRepair) {
    Fixture f;
    f.nak.add(kT0, 0, 10);
    const Time due = f.nak.next_deadline();
    ASSERT_EQ(f.poll(due), (Ranges{{0, 10}}));
    f.nak.remove(4);  // a repair arrived
    EXPECT_EQ(f.nak.next_deadline(), due + f.cfg.repair_timeout);
    EXPECT_TRUE(f.poll(due + f.cfg.repair_timeout - 1ns).empty());
}

TEST(NakScheduler, SeenNakSuppressesOurs) {
    Fixture f;
    f.nak.add(kT0, 5, 6);
    const Time seen = kT0 + 10us;  // before our back-off (at least nak_delay_min = 20 us)
    f.nak.on_nak_seen(seen, 0, 100);
    EXPECT_EQ(f.nak.stats().naks_suppressed, 1u);
    EXPECT_EQ(f.nak.next_deadline(), seen + f.cfg.repair_timeout);
    EXPECT_TRUE(f.poll(seen + f.cfg.repair_timeout - 1ns).empty())
        << "no NAK while the seen one's repair may still come";
    // The repair did not come: back off again, then NAK ourselves.
    EXPECT_TRUE(f.poll(seen + f.cfg.repair_timeout).empty());
    EXPECT_EQ(f.nak.stats().retries, 1u);
    const Time due = f.nak.next_deadline();
    EXPECT_GE(due, seen + f.cfg.repair_timeout + f.cfg.nak_delay_min);
    EXPECT_LE(due, seen + f.cfg.repair_timeout + f.cfg.nak_delay_min + f.cfg.nak_backoff);
    EXPECT_EQ(f.poll(due), (Ranges{{5, 1}}));
}

TEST(NakScheduler, SeenNakSuppressesOnlyTheOverlap) {
    Fixture f;
    f.nak.add(kT0, 3, 10);
    f.nak.on_nak_seen(kT0, 5, 7);
    f.nak.on_nak_seen(kT0, 50, 60);  // not tracked: nothing happens
    f.nak.on_nak_seen(kT0, 7, 7);    // empty
    EXPECT_EQ(f.nak.stats().naks_suppressed, 1u);
    EXPECT_EQ(f.nak.missing(), 7u);
    const Ranges n = f.poll(kT0 + f.cfg.nak_delay_min + f.cfg.nak_backoff);
    EXPECT_EQ(sorted(n), (Ranges{{3, 2}, {7, 3}}));
    // A second seen NAK while awaiting the repair changes nothing.
    f.nak.on_nak_seen(kT0 + 1us, 0, 100);
    EXPECT_EQ(f.nak.stats().naks_suppressed, 1u);
}

TEST(NakScheduler, SeenRepairSuppressesTheGapItBelongsToOrTouches) {
    struct Case {
        std::uint64_t repair;
        bool suppressed;
    };
    // Gap [10, 20): a repair inside it, just before it or just after it shows the sender
    // repairing around it; one further away does not.
    for (const Case c : {Case{15, true}, Case{10, true}, Case{19, true}, Case{9, true},
                         Case{20, true}, Case{8, false}, Case{21, false}}) {
        Fixture f;
        f.nak.add(kT0, 10, 20);
        const Time backoff_due = f.nak.next_deadline();
        f.nak.on_repair_seen(kT0, c.repair);
        EXPECT_EQ(f.nak.stats().naks_suppressed, c.suppressed ? 1u : 0u) << c.repair;
        EXPECT_EQ(f.nak.next_deadline(), c.suppressed ? kT0 + f.cfg.repair_timeout : backoff_due)
            << c.repair;
        EXPECT_EQ(f.poll(backoff_due).empty(), c.suppressed) << c.repair;
    }
}

TEST(NakScheduler, RetriesDoubleTheWaitUpToTheMaximum) {
    ReceiverConfig cfg;
    cfg.repair_timeout = 1ms;
    cfg.nak_retry_max = 10ms;
    cfg.nak_max_retries = 8;
    Fixture f(cfg);
    f.nak.add(kT0, 7, 9);
    const std::array<Duration, 8> waits = {1ms, 2ms, 4ms, 8ms, 10ms, 10ms, 10ms, 10ms};
    for (std::size_t k = 0; k < waits.size(); ++k) {
        const Time due = f.nak.next_deadline();
        ASSERT_EQ(f.poll(due), (Ranges{{7, 2}})) << "NAK " << k + 1;
        EXPECT_EQ(f.nak.next_deadline(), due + waits[k]) << "wait after NAK " << k + 1;
        if (k + 1 == waits.size()) break;
        EXPECT_TRUE(f.poll(due + waits[k]).empty()) << "retry starts with a back-off";
        EXPECT_EQ(f.nak.stats().retries, k + 1);
        const Time next = f.nak.next_deadline();
        EXPECT_GE(next, due + waits[k] + cfg.nak_delay_min);
        EXPECT_LE(next, due + waits[k] + cfg.nak_delay_min + cfg.nak_backoff);
    }
}

TEST(NakScheduler, GivesUpAfterMaxRetries) {
    ReceiverConfig cfg;
    cfg.nak_max_retries = 3;
    Fixture f(cfg);
    f.nak.add(kT0, 100, 104);
    f.nak.add(kT0 + 1s, 200, 201);  // a later gap is not affected
    int naks = 0;
    Ranges gave_up;
    Time now = kT0;
    while (gave_up.empty()) {
        now = f.nak.next_deadline();
        ASSERT_LT(now, kT0 + 1s);
        for (const SeqRange& r : f.poll(now, &gave_up)) {
            EXPECT_EQ(r, (SeqRange{100, 4}));
            ++naks;
        }
    }
    EXPECT_EQ(naks, 3);
    EXPECT_EQ(gave_up, (Ranges{{100, 4}}));
    EXPECT_FALSE(f.nak.contains(100));
    EXPECT_TRUE(f.nak.contains(200));
    EXPECT_EQ(f.nak.missing(), 1u);
    EXPECT_EQ(f.nak.stats().retries, 2u);
}

TEST(NakScheduler, SeenNaksCountTowardGivingUp) {
    ReceiverConfig cfg;
    cfg.nak_max_retries = 2;
    Fixture f(cfg);
    f.nak.add(kT0, 1, 2);
    f.nak.on_nak_seen(kT0, 1, 2);  // counts as the first NAK
    Ranges gave_up;
    int naks = 0;
    for (int i = 0; i < 10 && gave_up.empty(); ++i) {
        naks += static_cast<int>(f.poll(f.nak.next_deadline(), &gave_up).size());
    }
    EXPECT_EQ(naks, 1);
    EXPECT_EQ(gave_up, (Ranges{{1, 1}}));
    EXPECT_TRUE(f.nak.empty());
    EXPECT_EQ(f.nak.next_deadline(), kNever);
}

TEST(NakScheduler, TakeReturnsExactlyTheTrackedParts) {
    Fixture f;
    f.nak.add(kT0, 2, 5);
    f.nak.add(kT0, 8, 12);
    f.nak.add(kT0, 20, 21);
    EXPECT_EQ(f.nak.take(3, 10), (Ranges{{3, 2}, {8, 2}}));
    EXPECT_EQ(f.nak.missing(), 1u + 2u + 1u);
    EXPECT_TRUE(f.nak.contains(2));
    EXPECT_FALSE(f.nak.contains(3));
    EXPECT_FALSE(f.nak.contains(9));
    EXPECT_TRUE(f.nak.contains(10));
    EXPECT_TRUE(f.nak.take(12, 20).empty());  // nothing tracked there
    EXPECT_TRUE(f.nak.take(5, 5).empty());
    EXPECT_TRUE(f.nak.take(9, 3).empty());
    EXPECT_EQ(f.nak.take_below(11), (Ranges{{2, 1}, {10, 1}}));
    EXPECT_EQ(f.nak.missing(), 2u);
    EXPECT_EQ(f.nak.take_below(std::numeric_limits<std::uint64_t>::max()),
              (Ranges{{11, 1}, {20, 1}}));
    EXPECT_TRUE(f.nak.empty());
    EXPECT_EQ(f.nak.missing(), 0u);
    EXPECT_EQ(f.nak.next_deadline(), kNever);
    EXPECT_TRUE(f.nak.take_below(100).empty());
    // Taken ranges are not NAKed any more.
    EXPECT_TRUE(f.poll(kT0 + 10s).empty());
}

TEST(NakScheduler, TakeInsideOneGapLeavesBothSidesScheduled) {
    Fixture f;
    f.nak.add(kT0, 0, 100);
    EXPECT_EQ(f.nak.take(40, 60), (Ranges{{40, 20}}));
    EXPECT_EQ(f.nak.gap_count(), 2u);
    EXPECT_EQ(sorted(f.poll(kT0 + 1s)), (Ranges{{0, 40}, {60, 40}}));
}

TEST(NakScheduler, DeterministicForASeed) {
    auto run = [](std::uint64_t seed) {
        ReceiverConfig cfg;
        Fixture f(cfg, seed);
        std::vector<Time> deadlines;
        Time now = kT0;
        for (std::uint64_t i = 0; i < 50; ++i) {
            f.nak.add(now, 10 * i, 10 * i + 3);
            if (i % 7 == 3) f.nak.on_nak_seen(now, 10 * i, 10 * i + 1);
            if (i % 5 == 2) f.nak.remove(10 * i + 1);
            deadlines.push_back(f.nak.next_deadline());
            Ranges n;
            Ranges g;
            f.nak.poll(now, n, g);
            now += 37us;
        }
        return deadlines;
    };
    EXPECT_EQ(run(42), run(42));
    EXPECT_NE(run(42), run(43));
}

namespace {

// Back-off of `n` fresh gaps as fractions of nak_backoff, all drawn from one generator.
std::vector<double> backoff_fractions(double lambda, int n) {
    ReceiverConfig cfg;
    cfg.nak_delay_min = 20us;
    cfg.nak_backoff = 1ms;
    cfg.nak_backoff_lambda = lambda;
    Fixture f(cfg, 7);
    std::vector<double> x;
    for (int i = 0; i < n; ++i) {
        f.nak.add(kT0, 5, 6);
        const Duration d = f.nak.next_deadline() - kT0 - cfg.nak_delay_min;
        x.push_back(static_cast<double>(d.count()) / static_cast<double>(cfg.nak_backoff.count()));
        (void)f.nak.take(5, 6);
    }
    return x;
}

}  // namespace

TEST(NakScheduler, BackoffWithLambdaSixFallsLateInTheInterval) {
    const auto x = backoff_fractions(6.0, 10'000);
    double sum = 0;
    int first_half = 0;
    for (double v : x) {
        ASSERT_GE(v, 0.0);
        ASSERT_LE(v, 1.0);
        sum += v;
        if (v < 0.5) ++first_half;
    }
    const double mean = sum / static_cast<double>(x.size());
    // Truncated exponential, lambda 6: mean 1/(1 - e^-6) - 1/6 = 0.836; P(x < 1/2) = 0.047.
    EXPECT_GT(mean, 0.7);
    EXPECT_NEAR(mean, 0.836, 0.02);
    EXPECT_NEAR(first_half / 10'000.0, 0.047, 0.015);
}

TEST(NakScheduler, BackoffWithLambdaZeroIsUniform) {
    const auto x = backoff_fractions(0.0, 10'000);
    std::array<int, 10> deciles{};
    double sum = 0;
    for (double v : x) {
        ASSERT_GE(v, 0.0);
        ASSERT_LE(v, 1.0);
        sum += v;
        deciles[std::min<std::size_t>(9, static_cast<std::size_t>(v * 10))]++;
    }
    EXPECT_NEAR(sum / static_cast<double>(x.size()), 0.5, 0.02);
    for (std::size_t i = 0; i < deciles.size(); ++i) {
        EXPECT_NEAR(deciles[i], 1000, 150) << "decile " << i;  // about 5 standard deviations
    }
}

TEST(NakScheduler, GapsDueSoonRideAlongWithANakGoingOut) {
    // A NAK packet that goes out anyway takes along gaps whose back-off ends within
    // nak_backoff / 8; later ones keep waiting (and can still be suppressed).
    ReceiverConfig cfg;
    int rode = 0;
    int waited = 0;
    for (std::uint64_t seed = 1; seed <= 300; ++seed) {
        // Preview both draws with a twin generator: same seed, same order of draws.
        Fixture probe(cfg, seed);
        probe.nak.add(kT0, 1, 2);
        const Time da = probe.nak.next_deadline();
        (void)probe.nak.take(1, 2);
        probe.nak.add(kT0 + 30us, 5, 6);
        const Time db = probe.nak.next_deadline();

        Fixture f(cfg, seed);
        f.nak.add(kT0, 1, 2);
        f.nak.add(kT0 + 30us, 5, 6);
        const Time first = std::min(da, db);
        const Time second = std::max(da, db);
        ASSERT_EQ(f.nak.next_deadline(), first);
        ASSERT_TRUE(f.poll(first - 1ns).empty()) << "nothing goes before a NAK is due";
        const Ranges n = sorted(f.poll(first));
        if (second <= first + cfg.nak_backoff / 8) {
            EXPECT_EQ(n, (Ranges{{1, 1}, {5, 1}})) << "seed " << seed;
            ++rode;
        } else {
            EXPECT_EQ(n.size(), 1u) << "seed " << seed;
            EXPECT_EQ(f.nak.next_deadline(), second) << "seed " << seed;
            ++waited;
        }
    }
    EXPECT_GT(rode, 0);
    EXPECT_GT(waited, 0);
}

// ---- the learned repair timeout (Karn's rule) -------------------------------------------

TEST(NakScheduler, ARepairAfterOneNakIsARoundTripSample) {
    Fixture f;
    f.nak.add(kT0, 10, 20);
    const Time naked = f.nak.next_deadline();
    ASSERT_EQ(f.poll(naked), (Ranges{{10, 10}}));
    f.nak.on_repair_seen(naked + 300us, 10);
    f.nak.remove(10);
    EXPECT_EQ(f.nak.stats().rtt_samples, 1u);
    EXPECT_EQ(f.nak.repair_timer().smoothed_rtt(), 300us);
    // The rest of the gap's repairs follow in a burst: they are not round trips.
    for (std::uint64_t s = 11; s < 20; ++s) {
        f.nak.on_repair_seen(naked + 300us + 10us * (s - 10), s);
        f.nak.remove(s);
    }
    EXPECT_EQ(f.nak.stats().rtt_samples, 1u);
    EXPECT_TRUE(f.nak.empty());
}

TEST(NakScheduler, NoSampleFromAGapNakedTwice) {
    Fixture f;
    f.nak.add(kT0, 5, 6);
    ASSERT_EQ(f.poll(f.nak.next_deadline()).size(), 1u);
    EXPECT_TRUE(f.poll(f.nak.next_deadline()).empty());  // timeout: back off again
    const Time second = f.nak.next_deadline();
    ASSERT_EQ(f.poll(second), (Ranges{{5, 1}}));
    f.nak.on_repair_seen(second + 50us, 5);  // answers the first NAK or the second?
    f.nak.remove(5);
    EXPECT_EQ(f.nak.stats().rtt_samples, 0u);
    EXPECT_EQ(f.nak.repair_timer().timeout(), f.cfg.repair_timeout);
}

TEST(NakScheduler, ALateRepairStillCountsBeforeTheSecondNak) {
    // The repair comes after the timeout, while the second NAK waits its back-off: one NAK
    // was sent, so it is a true (long) round trip.
    Fixture f;
    f.nak.add(kT0, 5, 6);
    const Time naked = f.nak.next_deadline();
    ASSERT_EQ(f.poll(naked).size(), 1u);
    const Time timeout = naked + f.cfg.repair_timeout;
    EXPECT_TRUE(f.poll(timeout).empty());
    ASSERT_GT(f.nak.next_deadline(), timeout + 1us);
    f.nak.on_repair_seen(timeout + 1us, 5);
    f.nak.remove(5);
    EXPECT_EQ(f.nak.stats().rtt_samples, 1u);
    EXPECT_EQ(f.nak.repair_timer().smoothed_rtt(), f.cfg.repair_timeout + 1us);
    EXPECT_EQ(f.nak.repair_timer().timeout(), f.cfg.repair_timeout) << "never above it";
}

TEST(NakScheduler, TheLearnedTimeoutIsTheNextWait) {
    Fixture f;
    Time now = kT0;
    for (std::uint64_t s = 0; s < 50; ++s) {
        f.nak.add(now, s, s + 1);
        const Time naked = f.nak.next_deadline();
        ASSERT_EQ(f.poll(naked).size(), 1u);
        f.nak.on_repair_seen(naked + 80us, s);
        f.nak.remove(s);
        now = naked + 1ms;
    }
    EXPECT_EQ(f.nak.stats().rtt_samples, 50u);
    const Duration learned = f.nak.repair_timer().timeout();
    EXPECT_EQ(learned, f.cfg.repair_timeout_min);
    f.nak.add(now, 100, 101);
    const Time naked = f.nak.next_deadline();
    ASSERT_EQ(f.poll(naked).size(), 1u);
    EXPECT_EQ(f.nak.next_deadline(), naked + learned);
    EXPECT_TRUE(f.poll(naked + learned - 1ns).empty());
    EXPECT_EQ(f.nak.stats().retries, 0u);
    EXPECT_TRUE(f.poll(naked + learned).empty());  // the retry's back-off begins
    EXPECT_EQ(f.nak.stats().retries, 1u);
}

TEST(NakScheduler, ASeenNakStartsTheRoundTripToo) {
    Fixture f;
    f.nak.add(kT0, 5, 6);
    f.nak.on_nak_seen(kT0 + 10us, 5, 6);
    f.nak.on_repair_seen(kT0 + 210us, 5);
    EXPECT_EQ(f.nak.stats().rtt_samples, 1u);
    EXPECT_EQ(f.nak.repair_timer().smoothed_rtt(), 200us);
}

TEST(NakScheduler, ARepairOfAGapNeverNakedIsNoSample) {
    Fixture f;
    f.nak.add(kT0, 5, 10);
    f.nak.on_repair_seen(kT0 + 5us, 5);  // another receiver's NAK we did not see
    f.nak.remove(5);
    EXPECT_EQ(f.nak.stats().rtt_samples, 0u);
}

// ---- the suppression back-off and peers -------------------------------------------------

TEST(NakScheduler, WithoutPeersTheNakGoesOutAfterNakDelayMin) {
    Fixture f;
    f.nak.on_sender_heard(kT0 - 10ms);
    EXPECT_FALSE(f.nak.suppression(kT0));
    f.nak.add(kT0, 5, 6);
    EXPECT_EQ(f.nak.next_deadline(), kT0 + f.cfg.nak_delay_min);
}

TEST(NakScheduler, BackoffUntilThePeersHadTimeToReport) {
    Fixture f;
    EXPECT_TRUE(f.nak.suppression(kT0)) << "the sender was never heard";
    f.nak.on_sender_heard(kT0);
    f.nak.on_sender_heard(kT0 + 5ms);  // only the first time counts
    EXPECT_TRUE(f.nak.suppression(kT0 + f.cfg.repair_timeout - 1ns));
    EXPECT_FALSE(f.nak.suppression(kT0 + f.cfg.repair_timeout));
}

TEST(NakScheduler, APeerReportBringsTheBackoffBackForSenderForget) {
    Fixture f;
    f.nak.on_sender_heard(kT0 - 10ms);
    f.nak.on_peer_heard(kT0);
    EXPECT_TRUE(f.nak.suppression(kT0 + f.cfg.sender_forget - 1ns));
    EXPECT_FALSE(f.nak.suppression(kT0 + f.cfg.sender_forget));
    // With a peer, the back-off is random again: even the earliest of 20 gaps waits longer.
    for (std::uint64_t s = 0; s < 20; ++s) f.nak.add(kT0 + 1ms, 10 * s, 10 * s + 1);
    EXPECT_GT(f.nak.next_deadline(), kT0 + 1ms + f.cfg.nak_delay_min);
}

TEST(NakScheduler, AReceiverThatDoesNotReportAlwaysBacksOff) {
    ReceiverConfig cfg;
    cfg.send_status = false;  // its peers may not report either: it cannot know it is alone
    Fixture f(cfg);
    f.nak.on_sender_heard(kT0 - 10ms);
    EXPECT_TRUE(f.nak.suppression(kT0));
}
