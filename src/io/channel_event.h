// One message or event of a channel, as queued for the application (the C shim turns it into
// a blip_event_info_t). Plain data; BLIP_EVENT_* / BLIP_LOSS_* numbers from blip.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/events.h"

namespace blip::io {

struct ChannelEvent {
    int type = 0;    ///< BLIP_EVENT_*
    int reason = 0;  ///< BLIP_LOSS_* for BLIP_EVENT_LOSS
    proto::StreamKey from;
    bool open_ended = false;
    std::uint64_t sequence = 0;  ///< message: its mseq; loss/overrun: the first
    std::uint64_t count = 0;
    std::uint64_t old_session = 0;
    std::vector<std::uint8_t> data;  ///< message payload
    int error = 0;                   ///< socket error: BLIP_E*
    std::string text;                ///< socket error, warning
    std::uint64_t suppressed = 0;    ///< socket error: similar errors not reported
};

}  // namespace blip::io
