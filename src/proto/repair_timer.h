// How long a receiver waits for a repair before it NAKs again, learned from the round trips it
// sees (as TCP learns its retransmission timeout, RFC 6298): a smoothed NAK-to-repair time
// plus four times its mean deviation, at most the configured repair_timeout. On a LAN that
// is a fraction of it, so a lost repair is asked for again sooner. It never goes above: behind
// a receiver's full socket buffer the round trip is mostly queueing (milliseconds at full
// speed), and there a lost repair that waits a long timeout holds the whole stream, while a
// NAK sent too early costs only a duplicate repair. A long path needs a longer repair_timeout.
//
// Only unambiguous samples count (Karn's rule): a gap NAKed once whose repair arrived. After a
// second NAK there is no telling which one the repair answers, and a sample that included the
// timeout would feed the timeout on itself. So that a round trip longer than the timeout can
// still be measured, a wait that expires doubles the timeout until the next sample (TCP's
// back-off, RFC 6298 5.5). The smallest sample is kept too: the round trip without queueing,
// the measure of how long reordering can last. Pure: the caller measures, this only averages.
#pragma once

#include <algorithm>

#include "proto/config.h"
#include "proto/time.h"

namespace blip::proto {

class RepairTimer {
public:
    explicit RepairTimer(const ReceiverConfig& cfg) noexcept : cfg_(cfg) {}

    /// A repair arrived `rtt` after the one NAK that asked for it.
    void sample(Duration rtt) noexcept {
        if (!cfg_.adaptive_repair_timeout) return;
        rtt = std::max(rtt, Duration::zero());
        if (samples_ == 0) {
            srtt_ = rtt;
            rttvar_ = rtt / 2;
        } else {
            const Duration err = rtt > srtt_ ? rtt - srtt_ : srtt_ - rtt;
            rttvar_ = (3 * rttvar_ + err) / 4;
            srtt_ = (7 * srtt_ + rtt) / 8;
        }
        min_rtt_ = samples_ == 0 ? rtt : std::min(min_rtt_, rtt);
        ++samples_;
        backoff_ = 1;
    }

    /// A first wait for a repair, `expired`, ran out: until the next sample, wait twice as
    /// long. Gaps NAKed together time out together; only one that waited the current timeout
    /// doubles it, so a burst of them doubles it once, not once per gap.
    void on_timeout(Duration expired) noexcept {
        if (!cfg_.adaptive_repair_timeout || expired < timeout()) return;
        if (timeout() < cfg_.repair_timeout) backoff_ *= 2;
    }

    /// The wait after a first NAK: the configured repair_timeout until a round trip has been
    /// measured, then srtt + 4 * rttvar, at least min(repair_timeout_min, repair_timeout),
    /// doubled per expired wait since the last sample, at most repair_timeout.
    [[nodiscard]] Duration timeout() const noexcept {
        if (samples_ == 0) return cfg_.repair_timeout;
        const Duration floor = std::min(cfg_.repair_timeout_min, cfg_.repair_timeout);
        const Duration t = std::max(srtt_ + 4 * rttvar_, floor);
        return t >= cfg_.repair_timeout / backoff_ ? cfg_.repair_timeout : t * backoff_;
    }

    [[nodiscard]] std::uint64_t samples() const noexcept { return samples_; }
    [[nodiscard]] Duration smoothed_rtt() const noexcept { return srtt_; }
    /// The smallest round trip measured (0 before the first).
    [[nodiscard]] Duration min_rtt() const noexcept { return min_rtt_; }

private:
    const ReceiverConfig& cfg_;
    Duration srtt_{};
    Duration rttvar_{};
    Duration min_rtt_{};
    std::uint64_t samples_ = 0;
    std::int64_t backoff_ = 1;  // doubles per expired wait, back to 1 on a sample
};

}  // namespace blip::proto
