// The sender's queue of accepted, not yet transmitted messages: an index of (pointer, length)
// into segments of bytes. A segment is either the queue's own chunk, which push() copies into,
// or a caller's buffer that adopt() takes over whole, so messages the transport has already
// gathered into one buffer are queued without another copy (the copy from that buffer into
// the queue was ~23 % of a flat-out 1 KiB sender's loop thread). A segment is recycled when
// its last message leaves; take_spare() hands emptied buffers back for the caller to refill.
// No per-message allocation once the buffers have grown. Pure data structure: no time, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace blip::proto {

class MessageQueue {
public:
    /// Where one message lies in a buffer given to adopt().
    struct Extent {
        std::size_t offset = 0;
        std::size_t length = 0;
    };

    MessageQueue();
    // Entries point into the segments' buffers; a copy would point into the original's.
    MessageQueue(const MessageQueue&) = delete;
    MessageQueue& operator=(const MessageQueue&) = delete;

    /// Appends a copy of `data` (may be empty).
    void push(std::span<const std::uint8_t> data);
    /// Appends the messages at `extents` of `bytes` (each within it, in order), without copying
    /// them: the queue owns `bytes` from now until the last of them has left. With no extents,
    /// `bytes` only becomes a spare.
    void adopt(std::vector<std::uint8_t>&& bytes, std::span<const Extent> extents);
    /// An emptied buffer (size 0, its capacity kept) to fill and adopt again, or an empty
    /// vector without capacity when the queue has none.
    [[nodiscard]] std::vector<std::uint8_t> take_spare();
    /// Removes the front message. The queue must not be empty.
    void pop_front() noexcept;

    [[nodiscard]] bool empty() const noexcept { return first_ == index_.size(); }
    /// Messages queued.
    [[nodiscard]] std::size_t size() const noexcept { return index_.size() - first_; }
    /// Bytes of the messages queued (whole messages, including parts already sent).
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
    /// The i-th queued message (0 = the front); valid until it is popped.
    [[nodiscard]] std::span<const std::uint8_t> at(std::size_t i) const noexcept {
        const Entry& e = index_[first_ + i];
        return {e.data, e.length};
    }
    [[nodiscard]] std::span<const std::uint8_t> front() const noexcept { return at(0); }

    /// Bytes of the front message already sent as fragments.
    [[nodiscard]] std::size_t front_sent() const noexcept { return front_sent_; }
    void set_front_sent(std::size_t n) noexcept { front_sent_ = n; }

    /// Size of the chunks push() copies into (a larger message gets a chunk of its size).
    static constexpr std::size_t kChunkBytes = std::size_t{64} << 10;
    /// Emptied buffers kept for reuse: at most kMaxSpares, of kKeptBytes of capacity in all;
    /// past that the larger ones are kept. The queue's depth swings (flow control holds it,
    /// then releases it), and a buffer freed at the bottom of a swing is memory the kernel must
    /// fault in again at the top of the next.
    static constexpr std::size_t kKeptBytes = std::size_t{16} << 20;
    static constexpr std::size_t kMaxSpares = 64;

private:
    struct Entry {
        const std::uint8_t* data = nullptr;
        std::size_t length = 0;
    };
    struct Segment {
        std::vector<std::uint8_t> bytes;  // never grown past its capacity: entries point in
        std::size_t live = 0;             // its messages still queued
        bool own = false;                 // push() may append to it
    };
    // Opens an own segment with room for `need` bytes (a spare if one is large enough).
    void open_own(std::size_t need);
    // An own segment left empty (the only segment, its messages gone) would otherwise sit in
    // front of a new one, holding no message: it becomes a spare.
    void drop_empty_back() noexcept;
    // The front segment's messages are all gone: recycle it, unless it is the own segment
    // that push() appends to, which is emptied in place.
    void retire_front() noexcept;
    void keep_spare(std::vector<std::uint8_t>&& b) noexcept;

    std::deque<Segment> segments_;  // in queue order; the front holds the front message
    std::vector<Entry> index_;      // live entries: [first_, index_.size())
    std::size_t first_ = 0;
    std::size_t bytes_ = 0;
    std::size_t front_sent_ = 0;
    std::vector<std::vector<std::uint8_t>> spares_;
    std::size_t spare_bytes_ = 0;  // their capacity in all
};

}  // namespace blip::proto
