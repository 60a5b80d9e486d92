// Maps libuv error codes to Blip's BLIP_E* table (see uv_error.h). Depends only on libuv.
#include "io/uv_error.h"

#include <blip/blip.h>
#include <uv.h>

namespace blip::io {

int map_uv_error(int uv_err) noexcept {
    if (uv_err >= 0) return BLIP_OK;
    switch (uv_err) {
        case UV_EADDRINUSE:
            return BLIP_EADDRINUSE;
        case UV_EADDRNOTAVAIL:
            return BLIP_EADDRNOTAVAIL;
        case UV_ENODEV:
            return BLIP_ENODEV;
        case UV_EINVAL:
            return BLIP_EINVAL;
        case UV_ENOMEM:
            return BLIP_ENOMEM;
        // A full socket buffer or queue is transient: the caller may retry or drop.
        case UV_EAGAIN:
        case UV_ENOBUFS:
            return BLIP_EAGAIN;
        case UV_EMSGSIZE:
            return BLIP_EMSGSIZE;
        case UV_ENOTSUP:
        case UV_EAFNOSUPPORT:
            return BLIP_ENOTSUP;
        // Requests cancelled by uv_close(): the object was closing.
        case UV_ECANCELED:
            return BLIP_ECLOSED;
        default:
            return BLIP_EIO;
    }
}

std::string uv_error_text(int uv_err) { return uv_strerror(uv_err); }

}  // namespace blip::io
