// Callback mode's staging area: the messages and events one pass of the protocol engine
// produced, kept in order until the channel hands them to the application outside the engine.
// Messages are appended to one contiguous byte arena as a small header and the payload, not
// one heap object per message: a repair can release tens of thousands of buffered small
// messages in one pass, and an arena that keeps its memory turns each of them into two short
// sequential copies (no malloc, free or page fault per message).
// Loop thread only; no locking.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "io/channel_event.h"
#include "proto/events.h"

namespace blip::io {

class StagedEvents {
public:
    /// Appends a message, copying its payload.
    void add_message(const proto::MessageInfo& info, std::span<const std::uint8_t> data);
    /// Appends any other event.
    void add_event(std::unique_ptr<ChannelEvent> ev);

    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// Bytes of the arena in use (headers and payloads), and allocated.
    [[nodiscard]] std::size_t arena_bytes() const noexcept { return size_; }
    [[nodiscard]] std::size_t arena_capacity() const noexcept { return capacity_; }

    /// Calls f(event, payload) for each item in order while it returns true. A message
    /// comes as an event of type BLIP_EVENT_MESSAGE without data, its payload beside it (valid
    /// during the call); any other event with its own data as the payload.
    template <class F>
    void for_each(F&& f) {
        ChannelEvent msg;
        msg.type = kMessageType;
        std::size_t pos = 0;
        while (pos < size_) {
            Header h;
            std::memcpy(&h, bytes_.get() + pos, sizeof h);
            pos += sizeof h;
            if (h.key == kEventKey) {
                const ChannelEvent& ev = *events_[h.sequence];
                if (!f(ev, std::span<const std::uint8_t>(ev.data))) return;
                continue;
            }
            msg.from = keys_[h.key];
            msg.sequence = h.sequence;
            const std::span<const std::uint8_t> payload(bytes_.get() + pos, h.length);
            pos += h.length;
            if (!f(static_cast<const ChannelEvent&>(msg), payload)) return;
        }
    }

    /// Empties the area. Its memory is kept for the next pass up to kKeepBytes (a burst of
    /// large messages does not pin its arena for the channel's lifetime).
    void clear() noexcept;
    /// Empties the area and frees its memory.
    void release() noexcept;
    void swap(StagedEvents& other) noexcept;

    static constexpr std::size_t kKeepBytes = std::size_t{4} << 20;

private:
    static constexpr int kMessageType = 1;  // BLIP_EVENT_MESSAGE (checked in the .cpp)
    static constexpr std::uint32_t kEventKey = 0xffffffffu;

    // Before each payload in the arena (copied in and out with memcpy: no alignment needed).
    // key indexes keys_, or is kEventKey for an event (sequence then indexes events_).
    struct Header {
        std::uint32_t key;
        std::uint32_t length;
        std::uint64_t sequence;
    };

    // Room for n more bytes at size_ (the arena doubles; it is not zeroed).
    std::uint8_t* append(std::size_t n);

    std::unique_ptr<std::uint8_t[]> bytes_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
    std::vector<proto::StreamKey> keys_;  // the senders of this pass; usually one
    std::vector<std::unique_ptr<ChannelEvent>> events_;
};

}  // namespace blip::io
