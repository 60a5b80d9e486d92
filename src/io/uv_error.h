// The one map from libuv error codes to BLIP_E* codes; declared without uv.h.
#pragma once

#include <string>

namespace blip::io {

/// The BLIP_E* code for a libuv result: 0 (and any non-negative value, e.g. a byte count) gives
/// BLIP_OK; errors with no closer Blip meaning give BLIP_EIO.
[[nodiscard]] int map_uv_error(int uv_err) noexcept;

/// libuv's lower-case description of `uv_err` (e.g. "address already in use"), for messages
/// such as "bind 239.1.2.3:5000: address already in use".
[[nodiscard]] std::string uv_error_text(int uv_err);

}  // namespace blip::io
