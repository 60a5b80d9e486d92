// A timerfd polled by libuv (see fine_timer.h).
#include "io/fine_timer.h"

#include <blip/blip.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <new>
#include <utility>

#include "io/result.h"
#include "io/uv_error.h"

namespace blip::io {

struct FineTimerState {
    uv_poll_t poll{};
    int fd = -1;
    std::function<void()> cb;
    std::function<void()> on_closed;
    // Setting the timerfd and `armed` happen together under `mu`: postpone_to() may run on
    // another thread. `armed` is atomic for arm_at()'s check without the lock.
    std::mutex mu;
    // The deadline the timerfd is set to, in ns (kNever: none, or it has fired).
    std::atomic<std::int64_t> armed{proto::kNever.count()};
};

namespace {

// Absolute CLOCK_MONOTONIC time; an all-zero it_value would disarm, so a deadline at or before
// time zero fires at 1 ns. A deadline already past fires at once.
void set_timerfd(int fd, std::int64_t deadline_ns) noexcept {
    constexpr std::int64_t kNsPerSecond = 1'000'000'000;
    const std::int64_t ns = deadline_ns > 0 ? deadline_ns : 1;
    itimerspec spec{};
    spec.it_value.tv_sec = static_cast<time_t>(ns / kNsPerSecond);
    spec.it_value.tv_nsec = static_cast<long>(ns % kNsPerSecond);
    ::timerfd_settime(fd, TFD_TIMER_ABSTIME, &spec, nullptr);
}

}  // namespace

extern "C" {

static void blip_fine_timer_ready(uv_poll_t* p, int status, int /*events*/) noexcept {
    auto* impl = static_cast<FineTimerState*>(p->data);
    if (status < 0) return;
    // Reading resets the expiry count; EAGAIN means it was re-armed since it fired: nothing due.
    {
        // With the lock: a postpone_to() between the read and the store would be forgotten.
        const std::lock_guard<std::mutex> lock(impl->mu);
        std::uint64_t expirations = 0;
        if (::read(impl->fd, &expirations, sizeof expirations) != sizeof expirations) return;
        impl->armed.store(proto::kNever.count(), std::memory_order_relaxed);
    }
    if (impl->cb) impl->cb();
}

static void blip_fine_timer_closed(uv_handle_t* h) noexcept {
    auto* impl = static_cast<FineTimerState*>(h->data);
    ::close(impl->fd);
    std::function<void()> done = std::move(impl->on_closed);
    delete impl;
    if (done) done();
}

}  // extern "C"

FineTimer::~FineTimer() { close(nullptr); }

int FineTimer::open(uv_loop_t* loop, std::function<void()> cb, std::string* err) {
    if (impl_ != nullptr) return fail(err, BLIP_ESTATE, "timer: already open");
    if (loop == nullptr || !cb) return fail(err, BLIP_EINVAL, "timer: no loop or callback");
    auto* impl = new (std::nothrow) FineTimerState;
    if (impl == nullptr) return fail(err, BLIP_ENOMEM, "timer: out of memory");
    impl->fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (impl->fd < 0) {
        const int e = errno;
        delete impl;
        return fail(err, map_uv_error(uv_translate_sys_error(e)),
                    std::string("timer: timerfd_create: ") + std::strerror(e));
    }
    int rc = uv_poll_init(loop, &impl->poll, impl->fd);
    if (rc != 0) {
        ::close(impl->fd);
        delete impl;
        return fail(err, map_uv_error(rc), "timer: " + uv_error_text(rc));
    }
    impl->poll.data = impl;
    impl->cb = std::move(cb);
    rc = uv_poll_start(&impl->poll, UV_READABLE, blip_fine_timer_ready);
    if (rc != 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&impl->poll), blip_fine_timer_closed);
        return fail(err, map_uv_error(rc), "timer: " + uv_error_text(rc));
    }
    impl_ = impl;
    return BLIP_OK;
}

void FineTimer::arm_at(proto::Time deadline) {
    if (impl_ == nullptr) return;
    // timerfd_settime is a system call that disables interrupts (costly in a VM), and owners
    // re-arm after every datagram. So only an EARLIER deadline is set: a later one waits for
    // the armed one to fire (the owner re-arms from its callback; an early wake-up costs one
    // empty pass), and kNever leaves it armed for the same reason.
    if (deadline.count() >= impl_->armed.load(std::memory_order_relaxed)) return;
    const std::lock_guard<std::mutex> lock(impl_->mu);
    if (deadline.count() >= impl_->armed.load(std::memory_order_relaxed)) return;
    impl_->armed.store(deadline.count(), std::memory_order_relaxed);
    set_timerfd(impl_->fd, deadline.count());
}

bool FineTimer::postpone_to(proto::Time deadline) {
    if (impl_ == nullptr || deadline == proto::kNever) return false;
    const std::lock_guard<std::mutex> lock(impl_->mu);
    const std::int64_t armed = impl_->armed.load(std::memory_order_relaxed);
    if (armed == proto::kNever.count() || deadline.count() <= armed) return false;
    impl_->armed.store(deadline.count(), std::memory_order_relaxed);
    set_timerfd(impl_->fd, deadline.count());
    return true;
}

void FineTimer::disarm() {
    if (impl_ == nullptr) return;
    const std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->armed.store(proto::kNever.count(), std::memory_order_relaxed);
    itimerspec spec{};
    ::timerfd_settime(impl_->fd, 0, &spec, nullptr);
}

void FineTimer::close(std::function<void()> done) {
    if (impl_ == nullptr) {
        if (done) done();
        return;
    }
    disarm();
    FineTimerState* impl = std::exchange(impl_, nullptr);
    uv_poll_stop(&impl->poll);
    impl->on_closed = std::move(done);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->poll), blip_fine_timer_closed);
}

}  // namespace blip::io
