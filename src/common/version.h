// version.h - the library's own version string for internal code; depends on nothing but the
// generated <blip/version.h>.
#pragma once

namespace blip {

// The version this library was built as, "MAJOR.MINOR.PATCH"; a static string, never null.
const char* version_string() noexcept;

}  // namespace blip
