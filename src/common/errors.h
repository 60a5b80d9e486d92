// errors.h - texts of the BLIP_E* codes for every layer (the C shim's blip_strerror and
// blip_err_name return these); depends on nothing but <blip/blip.h>'s constants.
#pragma once

namespace blip {

/// A few words of English for a BLIP_E* code; "unknown error" for others. Static, never null.
const char* error_message(int err) noexcept;
/// The constant's name ("BLIP_EINVAL"); "BLIP_E_UNKNOWN" for others. Static, never null.
const char* error_name(int err) noexcept;

}  // namespace blip
