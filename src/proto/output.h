// The sink through which the protocol core emits everything it produces.
// The core calls these synchronously from inside its entry points; an implementation must
// not call back into the core from them (copy or queue instead).
#pragma once

#include <cstdint>
#include <span>

#include "proto/events.h"

namespace blip::proto {

class Output {
public:
    virtual ~Output() = default;
    /// A datagram to multicast to the group. The bytes are valid only during the call.
    virtual void send_datagram(std::span<const std::uint8_t> datagram) = 0;
    /// The next in-order message of a sender stream. Bytes valid only during the call.
    virtual void deliver(const MessageInfo& info, std::span<const std::uint8_t> data) = 0;
    /// A loss or membership event, in stream order with the deliveries.
    virtual void event(const Event& ev) = 0;
};

}  // namespace blip::proto
