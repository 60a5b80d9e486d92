// Result codes of the protocol core's API calls (mapped to BLIP_E* by the C shim).
#pragma once

#include <cstdint>

namespace blip::proto {

enum class Status : std::uint8_t {
    kOk = 0,
    kInvalid,          ///< bad argument
    kWouldBlock,       ///< queue full: retry after the queue drains
    kMessageTooLarge,  ///< above the configured maximum message size
    kClosed,           ///< the object no longer accepts calls
};

}  // namespace blip::proto
