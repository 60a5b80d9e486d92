// The sender's bounded retransmit window: the datagrams it can still repair.
// Pure data structure: no time, no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "proto/time.h"

namespace blip::proto {

/// One transmitted DATA datagram as kept for repair: the whole datagram as first sent (it is
/// encoded once, here, and the original goes out from this buffer). A repair copies it and
/// rewrites the prefix with the repair flag and the current trail.
struct StoredDatagram {
    std::uint64_t mseq = 0;
    std::uint32_t age_ms = 0;
    bool fragment = false;
    std::uint32_t messages_started = 0;  ///< messages that begin in this datagram
    bool repaired = false;               ///< last_repair is meaningful
    Time last_repair{};
    bool repair_queued = false;
    std::vector<std::uint8_t> datagram;
};

/// Holds datagrams [trail, next) keyed by dseq. The oldest leave when the total datagram bytes
/// or the count of messages begun inside the window exceed the limits.
class SendWindow {
public:
    SendWindow(std::size_t max_bytes, std::size_t max_messages) noexcept
        : max_bytes_(max_bytes), max_messages_(max_messages) {}

    /// Appends the datagram with dseq == next(), then evicts from the front as needed.
    void push(StoredDatagram d);

    [[nodiscard]] std::uint64_t trail() const noexcept { return trail_; }
    [[nodiscard]] std::uint64_t next() const noexcept { return trail_ + items_.size(); }
    [[nodiscard]] bool contains(std::uint64_t dseq) const noexcept {
        return dseq >= trail_ && dseq < next();
    }
    /// The datagram, or nullptr when it is not held.
    StoredDatagram* find(std::uint64_t dseq) noexcept {
        return contains(dseq) ? &items_[dseq - trail_] : nullptr;
    }
    /// An empty buffer for the next datagram: the buffer of an evicted one when there is
    /// one (its capacity kept, so a window that is full allocates nothing per datagram).
    [[nodiscard]] std::vector<std::uint8_t> take_buffer() {
        if (spare_.empty()) return {};
        std::vector<std::uint8_t> b = std::move(spare_.back());
        spare_.pop_back();
        b.clear();
        return b;
    }

    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }
    [[nodiscard]] std::size_t messages() const noexcept { return messages_; }
    [[nodiscard]] std::size_t datagrams() const noexcept { return items_.size(); }

private:
    std::size_t max_bytes_;
    std::size_t max_messages_;
    std::uint64_t trail_ = 0;
    std::size_t bytes_ = 0;
    std::size_t messages_ = 0;
    std::deque<StoredDatagram> items_;
    // Buffers of evicted datagrams, for take_buffer(). A few suffice: one leaves per one pushed.
    std::vector<std::vector<std::uint8_t>> spare_;
    static constexpr std::size_t kSpareBuffers = 16;
};

}  // namespace blip::proto
