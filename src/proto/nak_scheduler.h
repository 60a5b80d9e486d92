// Decides when a receiver NAKs which missing datagrams of one sender stream.
// Each gap waits a random back-off before its NAK (so one receiver's NAK, multicast to the
// group, can suppress the others'; a receiver that knows of no other receiver has nothing to
// suppress and waits only for reordering), then waits for the repair, retries with a doubling
// wait, and is given up after the configured number of NAKs. The wait for a repair is learned
// from the round trips of this stream (RepairTimer). Pure: time is an argument, randomness
// comes from an injected generator.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "proto/config.h"
#include "proto/repair_timer.h"
#include "proto/rng.h"
#include "proto/time.h"
#include "wire/packet.h"

namespace blip::proto {

struct NakSchedulerStats {
    std::uint64_t naks_suppressed =
        0;                      ///< gaps whose NAK another receiver's NAK/repair made unnecessary
    std::uint64_t retries = 0;  ///< NAKs sent again after a repair did not arrive
    std::uint64_t rtt_samples = 0;  ///< NAK-to-repair round trips measured (Karn's rule)
};

class NakScheduler {
public:
    NakScheduler(const ReceiverConfig& cfg, Rng& rng) noexcept
        : cfg_(cfg), rng_(rng), timer_(cfg) {}

    /// Datagrams [first, end) became known missing (none of them is tracked yet).
    void add(Time now, std::uint64_t first, std::uint64_t end);
    /// One datagram arrived: it stops being missing. No-op if it was not tracked.
    void remove(std::uint64_t seq);
    /// Stops tracking everything below `end` and returns those ranges (declared lost).
    std::vector<wire::SeqRange> take_below(std::uint64_t end);
    /// Stops tracking the tracked parts of [first, end) and returns them.
    std::vector<wire::SeqRange> take(std::uint64_t first, std::uint64_t end);
    /// Another receiver NAKed [first, end): our pending NAKs for it are suppressed.
    void on_nak_seen(Time now, std::uint64_t first, std::uint64_t end);
    /// A repair for `seq` was seen: the sender is repairing around it, so the rest of the
    /// gap it belonged to (the ranges touching it) waits for repairs instead of NAKing. If
    /// `seq` is the first repair of a gap NAKed exactly once, the time since that NAK is a
    /// round-trip sample. Call before remove(seq).
    void on_repair_seen(Time now, std::uint64_t seq);

    /// Another receiver reported on this stream (STATUS): NAKs wait the suppression back-off
    /// while one was heard within sender_forget. Only a receiver that reports itself relies
    /// on this (its peers report too); one that does not always waits the back-off.
    void on_peer_heard(Time now) noexcept { last_peer_ = now; }
    /// The sender was heard. Until repair_timeout after the first time, the peers may not
    /// have reported yet (they hear the stream when we do), so NAKs wait the back-off.
    void on_sender_heard(Time now) noexcept {
        if (first_heard_ == kNever) first_heard_ = now;
    }
    /// Whether a NAK now waits the random suppression back-off.
    [[nodiscard]] bool suppression(Time now) const noexcept;

    /// Processes all deadlines up to `now`. Appends ranges to NAK now to `nak` and ranges
    /// that exhausted their retries to `gave_up`.
    void poll(Time now, std::vector<wire::SeqRange>& nak, std::vector<wire::SeqRange>& gave_up);

    [[nodiscard]] Time next_deadline() const noexcept {
        return by_deadline_.empty() ? kNever : by_deadline_.begin()->first;
    }
    [[nodiscard]] bool empty() const noexcept { return gaps_.empty(); }
    [[nodiscard]] bool contains(std::uint64_t seq) const noexcept;
    /// Number of missing datagrams tracked.
    [[nodiscard]] std::uint64_t missing() const noexcept { return missing_; }
    [[nodiscard]] std::size_t gap_count() const noexcept { return gaps_.size(); }
    [[nodiscard]] const NakSchedulerStats& stats() const noexcept { return stats_; }
    /// The round trips learned so far and the wait for a repair they give.
    [[nodiscard]] const RepairTimer& repair_timer() const noexcept { return timer_; }

private:
    enum class Phase : std::uint8_t { kBackoff, kAwaitRepair };
    struct Gap {
        std::uint64_t end = 0;
        Phase phase = Phase::kBackoff;
        std::uint32_t naks = 0;  // NAKs sent or seen for this gap so far
        bool sampled = false;    // its round trip was measured (once per NAK, not per datagram)
        Time nak_time{};         // when naks last went up
        Duration first_wait{};   // the wait after its first NAK (then doubling); 0: not yet
        Time deadline{};
    };
    using GapMap = std::map<std::uint64_t, Gap>;  // keyed by first

    Duration backoff(Time now);
    Duration repair_wait(Gap& g, std::uint32_t naks);
    void set_deadline(GapMap::iterator it, Time t);
    void send_now(Time now, GapMap::iterator it, std::vector<wire::SeqRange>& nak);
    void measure(Time now, Gap& g);
    void erase(GapMap::iterator it);
    /// Splits so that a gap boundary falls at `seq`; returns the gap starting at seq or end().
    GapMap::iterator split_at(std::uint64_t seq);
    void insert(std::uint64_t first, const Gap& g);

    const ReceiverConfig& cfg_;
    Rng& rng_;
    RepairTimer timer_;
    Time last_peer_ = kNever;    // when another receiver last reported; kNever: none yet
    Time first_heard_ = kNever;  // when the sender was first heard
    GapMap gaps_;
    std::set<std::pair<Time, std::uint64_t>> by_deadline_;
    std::uint64_t missing_ = 0;
    NakSchedulerStats stats_;
};

}  // namespace blip::proto
