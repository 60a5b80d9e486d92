// handles.h - what the C API's opaque handles are: a tag (checked at the boundary, poisoned on
// destroy) in front of the C++ object. Only the shim sees these.
#pragma once

#include <blip/blip.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "io/channel.h"
#include "io/channel_config.h"
#include "io/channel_event.h"
#include "io/event_loop.h"

namespace blip::api {

// Distinct per handle type, so a handle cast to the wrong type is refused with BLIP_EINVAL.
inline constexpr std::uint32_t kConfigTag = 0xB11C0F16;
inline constexpr std::uint32_t kContextTag = 0xB11CC7C7;
inline constexpr std::uint32_t kChannelTag = 0xB11CC4A7;
inline constexpr std::uint32_t kEventTag = 0xB11CE7E7;
inline constexpr std::uint32_t kDeadTag = 0xDEADB11C;

}  // namespace blip::api

struct blip_config {
    std::uint32_t tag = blip::api::kConfigTag;
    blip::io::ChannelConfig cfg;
    blip_event_fn cb = nullptr;
    void* user = nullptr;
    std::string error;  // why the last failed call that took this config failed
};

struct blip_channel {
    std::uint32_t tag = blip::api::kChannelTag;
    blip_context* ctx = nullptr;
    std::unique_ptr<blip::io::Channel> ch;  // null until open succeeded
    blip_event_fn cb = nullptr;
    void* user = nullptr;
};

struct blip_context {
    std::uint32_t tag = blip::api::kContextTag;
    std::unique_ptr<blip::io::EventLoop> loop;
    std::mutex mu;  // guards channels and destroying
    // Every channel ever opened, closed ones too: a closed handle stays valid (and answers
    // BLIP_ECLOSED) until the context is destroyed.
    std::vector<std::unique_ptr<blip_channel>> channels;
    bool destroying = false;
    int callback_depth = 0;  // loop thread only: > 0 while a user callback runs
};

struct blip_event {
    std::uint32_t tag = blip::api::kEventTag;
    std::unique_ptr<blip::io::ChannelEvent> ev;
};
