// A token bucket rate limiter over caller-supplied time (bytes per second, with a burst).
#pragma once

#include <algorithm>
#include <cstdint>

#include "proto/time.h"

namespace blip::proto {

class TokenBucket {
public:
    /// rate 0 means unlimited.
    TokenBucket(std::uint64_t rate_bytes_per_s, std::uint64_t burst_bytes, Time now) noexcept
        : rate_(rate_bytes_per_s),
          burst_(burst_bytes),
          tokens_(static_cast<double>(burst_bytes)),
          last_(now) {}

    [[nodiscard]] bool unlimited() const noexcept { return rate_ == 0; }

    /// Takes `bytes` if available now. A packet larger than the burst passes when the
    /// bucket is full, so a small burst cannot block large datagrams forever.
    bool try_take(Time now, std::uint64_t bytes) noexcept {
        if (unlimited()) return true;
        refill(now);
        double need = std::min(static_cast<double>(bytes), static_cast<double>(burst_));
        if (tokens_ < need) return false;
        tokens_ -= static_cast<double>(bytes);
        return true;
    }

    /// When `bytes` will be available (now if already).
    [[nodiscard]] Time ready_at(Time now, std::uint64_t bytes) noexcept {
        if (unlimited()) return now;
        refill(now);
        double need = std::min(static_cast<double>(bytes), static_cast<double>(burst_));
        if (tokens_ >= need) return now;
        double secs = (need - tokens_) / static_cast<double>(rate_);
        return now + Duration(static_cast<std::int64_t>(secs * 1e9) + 1);
    }

private:
    void refill(Time now) noexcept {
        if (now <= last_) return;
        double add = static_cast<double>((now - last_).count()) * 1e-9 * static_cast<double>(rate_);
        tokens_ = std::min(static_cast<double>(burst_), tokens_ + add);
        last_ = now;
    }

    std::uint64_t rate_;
    std::uint64_t burst_;
    double tokens_;  // may go negative after an oversized packet: that debt is repaid first
    Time last_;
};

}  // namespace blip::proto
