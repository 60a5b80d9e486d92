// How long a receiver waits for a repair before it NAKs again, learned from the round trips it
// sees (as TCP learns its retransmission timeout, RFC 6298): a smoothed NAK-to-repair time
// plus four times its mean deviation. A fixed guess is either too long on a LAN (a lost repair
// costs a millisecond more than it needs to) or too short behind a slow path or a receiver
// with a backlog (every gap is NAKed and repaired twice).
//
// Only unambiguous samples count (Karn's rule): a gap NAKed once whose repair arrived. After a
// second NAK there is no telling which one the repair answers, and a sample that included the
// timeout would feed the timeout on itself. So that a round trip longer than the timeout can
// still be measured, a wait that expires doubles the timeout until the next sample (TCP's
// back-off, RFC 6298 5.5). Pure: the caller measures, this only averages.
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
        ++samples_;
        backoff_ = 1;
    }

    /// A first wait for a repair expired: until the next sample, wait twice as long.
    void on_timeout() noexcept {
        if (cfg_.adaptive_repair_timeout && timeout() < cfg_.nak_retry_max) backoff_ *= 2;
    }

    /// The wait after a first NAK: the configured repair_timeout until a round trip has been
    /// measured, then srtt + 4 * rttvar, at least min(repair_timeout_min, repair_timeout);
    /// doubled per expired wait since the last sample; at most nak_retry_max.
    [[nodiscard]] Duration timeout() const noexcept {
        Duration t = cfg_.repair_timeout;
        if (samples_ > 0) {
            const Duration floor = std::min(cfg_.repair_timeout_min, cfg_.repair_timeout);
            t = std::max(srtt_ + 4 * rttvar_, floor);
        }
        return std::min(t * backoff_, cfg_.nak_retry_max);
    }

    [[nodiscard]] std::uint64_t samples() const noexcept { return samples_; }
    [[nodiscard]] Duration smoothed_rtt() const noexcept { return srtt_; }

private:
    const ReceiverConfig& cfg_;
    Duration srtt_{};
    Duration rttvar_{};
    std::uint64_t samples_ = 0;
    std::int64_t backoff_ = 1;  // doubles per expired wait, back to 1 on a sample
};

}  // namespace blip::proto
