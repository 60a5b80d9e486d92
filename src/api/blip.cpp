// blip.cpp - the C shim for the errors and library/version sections of blip.h: it only maps.
// Every extern "C" function is noexcept; no exception may cross the C boundary.
#include <blip/blip.h>

#include "common/errors.h"
#include "common/version.h"

extern "C" {

const char* blip_strerror(int err) noexcept { return blip::error_message(err); }

const char* blip_err_name(int err) noexcept { return blip::error_name(err); }

const char* blip_version() noexcept { return blip::version_string(); }

int blip_version_number() noexcept { return BLIP_VERSION_NUMBER; }

}  // extern "C"
