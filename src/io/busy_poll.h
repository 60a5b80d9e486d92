// Busy polling for latency: after activity, a loop keeps checking its sockets for a while
// instead of going to sleep. On a virtual machine waking a sleeping thread (and its halted
// vCPU) costs tens of microseconds; a spinning loop sees the next datagram at once, at the
// price of a busy CPU. Off unless a channel asks for it (option busy_poll_us).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

#include "proto/time.h"

namespace blip::io {

struct BusyPollState;  // private to busy_poll.cpp

/// A uv_idle_t: while it is active, libuv polls for I/O without blocking on every turn of the
/// loop, so the loop spins. touch() keeps it active until `window` after the last activity;
/// then it stops by itself and the loop sleeps again. Every member runs on the loop's thread.
/// Not copyable or movable.
class BusyPoll {
public:
    BusyPoll() = default;
    BusyPoll(const BusyPoll&) = delete;
    BusyPoll& operator=(const BusyPoll&) = delete;
    /// Closes as close(nullptr) if still open.
    ~BusyPoll();

    /// Creates the poller, inactive. A `window` of zero or less makes every touch() a no-op.
    /// @return 0, or BLIP_ESTATE (already open), BLIP_EINVAL (no loop).
    int open(uv_loop_t* loop, proto::Duration window);
    /// Activity at `now`: spin until now + window.
    void touch(proto::Time now);
    /// Stops and closes; `done` (may be empty) runs in libuv's close callback, after the
    /// poller's memory is freed, or at once if it is not open.
    void close(std::function<void()> done);
    [[nodiscard]] bool is_open() const noexcept { return impl_ != nullptr; }
    /// Turns of the loop spent spinning so far (any thread).
    [[nodiscard]] std::uint64_t spins() const noexcept;

private:
    BusyPollState* impl_ = nullptr;  // owned by the libuv handle: freed in its close callback
};

}  // namespace blip::io
