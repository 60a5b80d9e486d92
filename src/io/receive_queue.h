// The bounded queue between a channel's loop thread and the application threads that pull
// (blip_channel_receive), with a level-triggered eventfd for poll/epoll. A receiver that falls
// behind loses messages here explicitly: they are reported as OVERRUN ranges, never dropped
// quietly.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/channel_event.h"

namespace blip::io {

class ReceiveQueue {
public:
    /// At most `max_messages` messages and `max_bytes` payload bytes wait (a message larger
    /// than max_bytes still passes when the queue is empty). Events other than messages are
    /// always queued: they are few and each one matters.
    ReceiveQueue(std::size_t max_messages, std::size_t max_bytes) noexcept
        : max_messages_(max_messages), max_bytes_(max_bytes) {}
    ReceiveQueue(const ReceiveQueue&) = delete;
    ReceiveQueue& operator=(const ReceiveQueue&) = delete;
    ~ReceiveQueue();

    /// Creates the eventfd. @return 0, or BLIP_EIO / BLIP_ENOMEM with `err` set.
    int init(std::string* err);

    /// Queues an event (loop thread). A message that does not fit is dropped and becomes part
    /// of an OVERRUN range of its sender stream, queued before that stream's next event, or
    /// when the reader has emptied the queue.
    void push(std::unique_ptr<ChannelEvent> ev);

    /// Takes the next event. `timeout_ms` < 0 waits forever, 0 does not wait.
    /// @return 0; BLIP_EAGAIN (empty, no wait); BLIP_ETIMEDOUT; BLIP_ECLOSED.
    int pop(int timeout_ms, std::unique_ptr<ChannelEvent>* out);

    /// Drops everything queued, wakes every waiter (they get BLIP_ECLOSED) and leaves the fd
    /// readable, so a poller wakes too and learns of the close from pop(). Idempotent.
    void close();

    /// Readable exactly while an event is queued (or after close()). Valid until destruction.
    [[nodiscard]] int fd() const noexcept { return fd_; }

    [[nodiscard]] std::size_t messages() const;
    [[nodiscard]] std::size_t bytes() const;
    [[nodiscard]] std::size_t events() const;
    /// Messages dropped because the queue was full, in total.
    [[nodiscard]] std::uint64_t overrun_messages() const;

private:
    struct Overrun {
        proto::StreamKey from;
        std::uint64_t first = 0;
        std::uint64_t count = 0;
    };

    // All below under mu_.
    void enqueue(std::unique_ptr<ChannelEvent> ev);
    void flush_overrun(const proto::StreamKey& from);
    void flush_all_overruns();
    [[nodiscard]] bool fits(std::size_t len) const noexcept;
    void set_readable(bool readable) noexcept;

    const std::size_t max_messages_;
    const std::size_t max_bytes_;
    int fd_ = -1;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::unique_ptr<ChannelEvent>> queue_;
    std::size_t messages_ = 0;
    std::size_t bytes_ = 0;
    std::vector<Overrun> overruns_;  // pending, one per sender stream at most
    std::uint64_t overrun_total_ = 0;
    bool readable_ = false;
    bool closed_ = false;
};

}  // namespace blip::io
