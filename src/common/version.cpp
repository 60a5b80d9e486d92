// version.cpp - the library's version, taken from the generated <blip/version.h>. Always part
// of blip_core, so the core library is never empty.
#include "common/version.h"

#include <blip/version.h>

namespace blip {

const char* version_string() noexcept { return BLIP_VERSION_STRING; }

}  // namespace blip
