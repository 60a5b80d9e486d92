// The sender's queue of accepted, not yet transmitted messages: their bytes back to back in one
// buffer, plus an index. Queuing a message costs one copy and, once the buffer has grown, no
// allocation; a vector per message cost a malloc and a free each, about an eighth of a flat-out
// sender's loop thread at 64-byte messages. Pure data structure: no time, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace blip::proto {

class MessageQueue {
public:
    /// Appends a copy of `data` (may be empty).
    void push(std::span<const std::uint8_t> data);
    /// Removes the front message. The queue must not be empty.
    void pop_front() noexcept;

    [[nodiscard]] bool empty() const noexcept { return first_ == index_.size(); }
    /// Messages queued.
    [[nodiscard]] std::size_t size() const noexcept { return index_.size() - first_; }
    /// Bytes of the messages queued (whole messages, including parts already sent).
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
    /// The i-th queued message (0 = the front); valid until the next push().
    [[nodiscard]] std::span<const std::uint8_t> at(std::size_t i) const noexcept {
        const Entry& e = index_[first_ + i];
        return {buffer_.data() + e.offset, e.length};
    }
    [[nodiscard]] std::span<const std::uint8_t> front() const noexcept { return at(0); }

    /// Bytes of the front message already sent as fragments.
    [[nodiscard]] std::size_t front_sent() const noexcept { return front_sent_; }
    void set_front_sent(std::size_t n) noexcept { front_sent_ = n; }

    /// Buffer capacity kept when the queue empties; a larger one (after a burst) is freed.
    static constexpr std::size_t kKeptCapacity = std::size_t{1} << 20;

private:
    struct Entry {
        std::size_t offset = 0;  // into buffer_
        std::size_t length = 0;
    };
    // Drops the bytes and entries of popped messages when they are at least half of what is
    // held, so each byte moves at most about once while it is queued (amortised O(1)).
    void compact();

    std::vector<std::uint8_t> buffer_;  // live bytes: [head_, buffer_.size())
    std::size_t head_ = 0;
    std::vector<Entry> index_;  // live entries: [first_, index_.size())
    std::size_t first_ = 0;
    std::size_t bytes_ = 0;
    std::size_t front_sent_ = 0;
};

}  // namespace blip::proto
