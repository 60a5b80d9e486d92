// The common header of a packet about one sender stream: the sender's own DATA, HEARTBEAT and
// UNAVAILABLE, and a receiver's NAK and STATUS, which name the sender stream they are about.
#pragma once

#include <cstdint>

#include "proto/events.h"
#include "wire/packet.h"

namespace blip::proto {

[[nodiscard]] inline wire::Header stream_header(const StreamKey& key, wire::PacketType type,
                                                std::uint8_t flags = 0) noexcept {
    wire::Header h;
    h.type = type;
    h.flags = flags;
    h.node = key.node;
    h.session = key.session;
    h.stream = key.stream;
    return h;
}

}  // namespace blip::proto
