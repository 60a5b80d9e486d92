// Busy polling (see busy_poll.h).
#include "io/busy_poll.h"

#include <blip/blip.h>

#include <atomic>
#include <utility>

#include "io/clock.h"

namespace blip::io {

struct BusyPollState {
    uv_idle_t idle{};
    proto::Duration window{};
    proto::Time until{};
    std::atomic<std::uint64_t> spins{0};  // read by stats() from any thread
    std::function<void()> on_closed;
};

extern "C" {

static void blip_busy_poll_turn(uv_idle_t* h) noexcept {
    auto* s = static_cast<BusyPollState*>(h->data);
    s->spins.fetch_add(1, std::memory_order_relaxed);
    if (clock_now() < s->until) return;
    uv_idle_stop(h);  // the window passed with nothing new: sleep again
}

static void blip_busy_poll_closed(uv_handle_t* h) noexcept {
    auto* s = static_cast<BusyPollState*>(h->data);
    std::function<void()> done = std::move(s->on_closed);
    delete s;
    if (done) done();
}

}  // extern "C"

BusyPoll::~BusyPoll() { close(nullptr); }

int BusyPoll::open(uv_loop_t* loop, proto::Duration window) {
    if (impl_ != nullptr) return BLIP_ESTATE;
    if (loop == nullptr) return BLIP_EINVAL;
    auto* s = new BusyPollState;
    uv_idle_init(loop, &s->idle);  // cannot fail
    s->idle.data = s;
    s->window = window;
    impl_ = s;
    return 0;
}

void BusyPoll::touch(proto::Time now) {
    if (impl_ == nullptr || impl_->window <= proto::Duration::zero()) return;
    impl_->until = now + impl_->window;
    // Starting an active idle handle is a no-op in libuv.
    uv_idle_start(&impl_->idle, blip_busy_poll_turn);
}

std::uint64_t BusyPoll::spins() const noexcept {
    return impl_ != nullptr ? impl_->spins.load(std::memory_order_relaxed) : 0;
}

void BusyPoll::close(std::function<void()> done) {
    BusyPollState* s = impl_;
    if (s == nullptr) {
        if (done) done();
        return;
    }
    impl_ = nullptr;
    uv_idle_stop(&s->idle);
    s->on_closed = std::move(done);
    uv_close(reinterpret_cast<uv_handle_t*>(&s->idle), blip_busy_poll_closed);
}

}  // namespace blip::io
