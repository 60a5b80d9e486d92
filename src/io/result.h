// A value or a BLIP_E* code with a human-readable message: how src/io reports failures that a
// user must be able to act on (which interface, which address, what to do instead).
#pragma once

#include <blip/blip.h>

#include <optional>
#include <string>
#include <utility>

namespace blip::io {

/// Either a value (code == 0) or a failure: a negative BLIP_E* code and a message meant for the
/// user, complete enough to fix the problem without reading the source.
template <class T>
struct Result {
    int code = 0;         ///< 0, or a negative BLIP_E* value from <blip/blip.h>
    std::string message;  ///< empty on success
    std::optional<T> value;

    [[nodiscard]] bool ok() const noexcept { return code == 0 && value.has_value(); }

    static Result success(T v) { return Result{0, {}, std::move(v)}; }
    static Result failure(int error_code, std::string why) {
        return Result{error_code, std::move(why), std::nullopt};
    }
};

/// Stores `message` in `*err` (when given) and returns `code`: the shape of the io layer's
/// `int f(..., std::string* err)` functions, which report a BLIP_E* code plus what failed.
inline int fail(std::string* err, int code, std::string message) {
    if (err != nullptr) *err = std::move(message);
    return code;
}

}  // namespace blip::io
