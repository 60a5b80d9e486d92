// A one-shot timer with microsecond resolution on a libuv loop (libuv's own timers count whole
// milliseconds, which would put a 1 ms floor under every NAK back-off and repair). No src/proto
// logic: it only takes deadlines in proto::Time.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "proto/time.h"

namespace blip::io {

struct FineTimerState;  // private to fine_timer.cpp

/// A Linux timerfd (CLOCK_MONOTONIC, the clock of io::clock_now()) watched by a uv_poll_t.
/// Every member and the callback run on the loop's thread, except postpone_to(). Not copyable
/// or movable.
class FineTimer {
public:
    FineTimer() = default;
    FineTimer(const FineTimer&) = delete;
    FineTimer& operator=(const FineTimer&) = delete;
    /// Closes as close(nullptr) if still open.
    ~FineTimer();

    /// Creates the timer, disarmed. `cb` runs on the loop thread each time an armed deadline
    /// passes; it must not throw (it is called from libuv's C code).
    /// @return 0, or BLIP_ESTATE (already open), BLIP_EINVAL (no loop or callback), or the
    ///         BLIP_E* code of the failed system call, with `err` (may be null) saying which.
    int open(uv_loop_t* loop, std::function<void()> cb, std::string* err);

    /// Makes the callback run no later than the absolute time `deadline` (and not before it,
    /// unless an earlier deadline was armed and has not fired yet: a deadline that moves later
    /// fires at the earlier time, and the owner re-arms from its callback). A deadline already
    /// past fires on the next loop iteration; proto::kNever asks for nothing (an armed
    /// deadline stays). Only a deadline earlier than the armed one costs a system call.
    void arm_at(proto::Time deadline);
    /// From any thread, while the timer is open and the owner's state cannot change under the
    /// caller (the caller holds the owner's lock, and the owner computes what it passes to
    /// arm_at() under that lock): moves an armed deadline LATER, to `deadline`, so that the
    /// timer does not wake the loop thread for a deadline that has gone. Nothing changes, and
    /// it returns false, when no deadline is armed (it fired: the owner re-arms from the
    /// callback) or `deadline` is not later than the armed one.
    bool postpone_to(proto::Time deadline);
    /// Stops the timer; the callback does not run until the next arm_at().
    void disarm();

    /// Stops and closes; `done` (may be empty) runs in libuv's close callback, after the
    /// timer's memory is freed, or at once if the timer is not open.
    void close(std::function<void()> done);
    [[nodiscard]] bool is_open() const noexcept { return impl_ != nullptr; }

private:
    FineTimerState* impl_ = nullptr;  // owned by the libuv handle: freed in its close callback
};

}  // namespace blip::io
