// errors.cpp - the one table of BLIP_E* codes, names and messages (see errors.h).
#include "common/errors.h"

#include <blip/blip.h>

namespace {

struct ErrorInfo {
    int code;
    const char* name;
    const char* message;
};

// The one error table: codes, names and messages come only from here. Row i holds code -i
// (checked below), so lookup is an index and a gap or reordering fails to compile.
#define BLIP_ERROR_ROW(code, message) \
    { code, #code, message }
constexpr ErrorInfo kErrors[] = {
    BLIP_ERROR_ROW(BLIP_OK, "success"),
    BLIP_ERROR_ROW(BLIP_EINVAL, "invalid argument"),
    BLIP_ERROR_ROW(BLIP_ENOMEM, "out of memory"),
    BLIP_ERROR_ROW(BLIP_EAGAIN, "would block: queue full, or nothing to receive yet"),
    BLIP_ERROR_ROW(BLIP_EMSGSIZE, "message too large"),
    BLIP_ERROR_ROW(BLIP_ECLOSED, "object closed"),
    BLIP_ERROR_ROW(BLIP_ETIMEDOUT, "timed out"),
    BLIP_ERROR_ROW(BLIP_ENOTSUP, "not supported"),
    BLIP_ERROR_ROW(BLIP_EADDRINUSE, "address in use"),
    BLIP_ERROR_ROW(BLIP_EADDRNOTAVAIL, "address or interface not available"),
    BLIP_ERROR_ROW(BLIP_ENODEV, "no such interface"),
    BLIP_ERROR_ROW(BLIP_EPROTO, "protocol error: malformed packet"),
    BLIP_ERROR_ROW(BLIP_ESTATE, "wrong state for this call"),
    BLIP_ERROR_ROW(BLIP_EIO, "system or socket error"),
    BLIP_ERROR_ROW(BLIP_EINTERNAL, "internal error (a bug in Blip)"),
};
#undef BLIP_ERROR_ROW

constexpr int kErrorCount = static_cast<int>(sizeof kErrors / sizeof kErrors[0]);

constexpr bool table_is_dense() {
    for (int i = 0; i < kErrorCount; ++i) {
        if (kErrors[i].code != -i) {
            return false;
        }
    }
    return true;
}
static_assert(table_is_dense(), "kErrors row i must hold code -i");

const ErrorInfo* find_error(int err) noexcept {
    // Compare before negating: -INT_MIN would overflow.
    if (err > 0 || err <= -kErrorCount) {
        return nullptr;
    }
    return &kErrors[-err];
}

}  // namespace

namespace blip {

const char* error_message(int err) noexcept {
    const ErrorInfo* info = find_error(err);
    return info != nullptr ? info->message : "unknown error";
}

const char* error_name(int err) noexcept {
    const ErrorInfo* info = find_error(err);
    return info != nullptr ? info->name : "BLIP_E_UNKNOWN";
}

}  // namespace blip
