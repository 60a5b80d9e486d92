// Time as the protocol core sees it: a count of nanoseconds passed in by the caller.
// The core never reads a clock; the transport or the simulator supplies `now`.
#pragma once

#include <chrono>
#include <cstdint>

namespace blip::proto {

/// Nanoseconds since an arbitrary epoch chosen by the caller (monotonic).
using Time = std::chrono::nanoseconds;
using Duration = std::chrono::nanoseconds;

/// "No deadline": returned by next_deadline() when nothing is scheduled.
inline constexpr Time kNever = Time::max();

using namespace std::chrono_literals;

/// Whole milliseconds of `d`, saturated into 32 bits (for the age fields on the wire).
inline std::uint32_t to_ms_u32(Duration d) noexcept {
    if (d.count() <= 0) return 0;
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    return ms > 0xFFFFFFFFLL ? 0xFFFFFFFFu : static_cast<std::uint32_t>(ms);
}

}  // namespace blip::proto
