// Bounded receive queue with explicit overrun reporting and a level-triggered eventfd (see
// receive_queue.h).
#include "io/receive_queue.h"

#include <blip/blip.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace blip::io {

ReceiveQueue::~ReceiveQueue() {
    if (fd_ >= 0) ::close(fd_);
}

int ReceiveQueue::init(std::string* err) {
    fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd_ < 0) {
        const int e = errno;
        if (err != nullptr) *err = std::string("eventfd: ") + std::strerror(e);
        return e == ENOMEM ? BLIP_ENOMEM : BLIP_EIO;
    }
    return BLIP_OK;
}

// An eventfd is readable while its counter is non-zero: write 1 to raise it, read to clear.
// Tracking the state avoids a system call per message.
void ReceiveQueue::set_readable(bool readable) noexcept {
    if (readable == readable_ || fd_ < 0) return;
    readable_ = readable;
    if (readable) {
        const std::uint64_t one = 1;
        [[maybe_unused]] const ssize_t n = ::write(fd_, &one, sizeof one);
    } else {
        std::uint64_t value = 0;
        [[maybe_unused]] const ssize_t n = ::read(fd_, &value, sizeof value);
    }
}

bool ReceiveQueue::fits(std::size_t len) const noexcept {
    if (messages_ >= max_messages_) return false;
    return messages_ == 0 || bytes_ + len <= max_bytes_;
}

void ReceiveQueue::enqueue(std::unique_ptr<ChannelEvent> ev) {
    if (ev->type == BLIP_EVENT_MESSAGE) {
        ++messages_;
        bytes_ += ev->data.size();
    }
    queue_.push_back(std::move(ev));
    set_readable(true);
    cv_.notify_one();
}

void ReceiveQueue::flush_overrun(const proto::StreamKey& from) {
    auto it = std::find_if(overruns_.begin(), overruns_.end(),
                           [&](const Overrun& o) { return o.from == from; });
    if (it == overruns_.end()) return;
    auto ev = std::make_unique<ChannelEvent>();
    ev->type = BLIP_EVENT_OVERRUN;
    ev->from = it->from;
    ev->sequence = it->first;
    ev->count = it->count;
    overruns_.erase(it);
    enqueue(std::move(ev));
}

void ReceiveQueue::flush_all_overruns() {
    while (!overruns_.empty()) flush_overrun(overruns_.front().from);
}

void ReceiveQueue::push(std::unique_ptr<ChannelEvent> ev) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    if (ev->type == BLIP_EVENT_MESSAGE && !fits(ev->data.size())) {
        ++overrun_total_;
        auto it = std::find_if(overruns_.begin(), overruns_.end(),
                               [&](const Overrun& o) { return o.from == ev->from; });
        if (it != overruns_.end() && it->first + it->count == ev->sequence) {
            ++it->count;
            return;
        }
        // Not contiguous with the pending range (a loss came between): that range is
        // complete, so it goes out now, ahead of the new one.
        if (it != overruns_.end()) flush_overrun(ev->from);
        overruns_.push_back(Overrun{ev->from, ev->sequence, 1});
        return;
    }
    // Whatever this stream reports next comes after its overrun: keep that order.
    flush_overrun(ev->from);
    enqueue(std::move(ev));
}

int ReceiveQueue::pop(int timeout_ms, std::unique_ptr<ChannelEvent>* out) {
    std::unique_lock<std::mutex> lock(mu_);
    auto ready = [this] { return closed_ || !queue_.empty(); };
    if (!ready()) {
        if (timeout_ms == 0) return BLIP_EAGAIN;
        if (timeout_ms < 0) {
            cv_.wait(lock, ready);
        } else if (!cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready)) {
            return BLIP_ETIMEDOUT;
        }
    }
    if (closed_) return BLIP_ECLOSED;
    *out = std::move(queue_.front());
    queue_.pop_front();
    if ((*out)->type == BLIP_EVENT_MESSAGE) {
        --messages_;
        bytes_ -= (*out)->data.size();
    }
    // The reader caught up: report what it missed now rather than at the stream's next event.
    if (queue_.empty()) flush_all_overruns();
    if (queue_.empty()) set_readable(false);
    return BLIP_OK;
}

void ReceiveQueue::close() {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    overruns_.clear();
    messages_ = 0;
    bytes_ = 0;
    set_readable(true);
    cv_.notify_all();
}

std::size_t ReceiveQueue::messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
}

std::size_t ReceiveQueue::bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
}

std::size_t ReceiveQueue::events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
}

std::uint64_t ReceiveQueue::overrun_messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return overrun_total_;
}

}  // namespace blip::io
