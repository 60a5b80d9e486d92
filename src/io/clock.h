// The io layer's clock: what proto::Time means in a real process. libuv only; no src/proto logic.
#pragma once

#include <uv.h>

#include <cstdint>

#include "proto/time.h"

namespace blip::io {

/// uv_hrtime() is monotonic nanoseconds: exactly what proto::Time asks for.
inline proto::Time clock_now() noexcept {
    return proto::Time(static_cast<std::int64_t>(uv_hrtime()));
}

}  // namespace blip::io
