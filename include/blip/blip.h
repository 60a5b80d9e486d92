/* blip.h - the public C API of Blip: reliable, sequenced messaging over IP multicast.
 *
 * Contract: what is not declared here is private. Only the functions, types and constants in
 * this header (and the headers it includes) are part of the API and ABI; everything else in
 * the library is an implementation detail that may change in any release.
 *
 * This header is plain C99, usable from C++ (extern "C"), and never includes system or
 * third-party headers beyond the C standard library.
 *
 * Sections, in this fixed order: errors, library/version. (Types, callbacks, configuration,
 * context, channel, events/membership, messages and stats follow in later milestones.)
 */
#ifndef BLIP_BLIP_H
#define BLIP_BLIP_H

#include <blip/version.h>

/**
 * @def BLIP_API
 * Marks a function as part of the exported ABI. The library is built with hidden visibility,
 * so only declarations carrying BLIP_API are visible outside it; for users it expands to
 * nothing.
 */
#if defined(BLIP_BUILDING) && (defined(__GNUC__) || defined(__clang__))
#define BLIP_API __attribute__((visibility("default")))
#else
#define BLIP_API
#endif

/**
 * @def BLIP_NOEXCEPT
 * Tells C++ callers that a function never throws: no exception crosses the C boundary, every
 * failure comes back as an error code. Expands to nothing in C.
 */
#ifdef __cplusplus
#define BLIP_NOEXCEPT noexcept
#else
#define BLIP_NOEXCEPT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @defgroup errors Errors
 * Every fallible call returns an int: #BLIP_OK (0) on success or one of the negative
 * `BLIP_E*` codes below. The codes are the same on every platform and are part of the ABI:
 * constants are never renumbered or reused; new codes are only ever added at the end.
 * @{
 */

#define BLIP_OK 0               /**< Success. @since 0.1 */
#define BLIP_EINVAL (-1)        /**< Invalid argument. @since 0.1 */
#define BLIP_ENOMEM (-2)        /**< Out of memory. @since 0.1 */
#define BLIP_EAGAIN (-3)        /**< Would block: a queue is full; try again later. @since 0.1 */
#define BLIP_EMSGSIZE (-4)      /**< Message too large. @since 0.1 */
#define BLIP_ECLOSED (-5)       /**< Object is closed or closing. @since 0.1 */
#define BLIP_ETIMEDOUT (-6)     /**< Operation timed out. @since 0.1 */
#define BLIP_ENOTSUP (-7)       /**< Operation or option not supported. @since 0.1 */
#define BLIP_EADDRINUSE (-8)    /**< Address already in use. @since 0.1 */
#define BLIP_EADDRNOTAVAIL (-9) /**< Address or interface not available. @since 0.1 */
#define BLIP_ENODEV (-10)       /**< No such network interface. @since 0.1 */
#define BLIP_EPROTO (-11)       /**< Protocol error: malformed packet. @since 0.1 */
#define BLIP_ESTATE (-12)       /**< Object is in the wrong state for this call. @since 0.1 */
#define BLIP_EIO (-13)          /**< System or socket error. @since 0.1 */
#define BLIP_EINTERNAL (-14)    /**< Internal error: a bug in Blip; please report it. @since 0.1 */

/**
 * Describes an error code in a few words of English.
 *
 * @param err  #BLIP_OK or a `BLIP_E*` code; any other value is accepted.
 * @return A static, NUL-terminated string, never NULL; the caller must not free or modify it.
 *         Unknown codes give "unknown error". The wording may change between releases: match
 *         on the code (or blip_err_name()), never on this text.
 * @par Thread safety
 *      Thread-safe; may be called at any time, including before any other call.
 * @since 0.1
 */
BLIP_API const char* blip_strerror(int err) BLIP_NOEXCEPT;

/**
 * Names an error code, e.g. "BLIP_EINVAL" for #BLIP_EINVAL.
 *
 * @param err  #BLIP_OK or a `BLIP_E*` code; any other value is accepted.
 * @return A static, NUL-terminated string equal to the constant's name, never NULL; the caller
 *         must not free or modify it. Unknown codes give "BLIP_E_UNKNOWN". Names are as
 *         stable as the constants themselves.
 * @par Thread safety
 *      Thread-safe; may be called at any time, including before any other call.
 * @since 0.1
 */
BLIP_API const char* blip_err_name(int err) BLIP_NOEXCEPT;

/** @} */

/**
 * @defgroup library Library and version
 * The version of the library actually loaded at run time, as opposed to the version of the
 * headers compiled against (#BLIP_VERSION_STRING, #BLIP_VERSION_NUMBER).
 * @{
 */

/**
 * Returns the version of the loaded library.
 *
 * @return A static, NUL-terminated string "MAJOR.MINOR.PATCH" (the library's
 *         #BLIP_VERSION_STRING), never NULL; the caller must not free or modify it.
 * @par Thread safety
 *      Thread-safe; may be called at any time, including before any other call.
 * @since 0.1
 */
BLIP_API const char* blip_version(void) BLIP_NOEXCEPT;

/**
 * Returns the version of the loaded library as one number.
 *
 * @return MAJOR * 10000 + MINOR * 100 + PATCH of the library (e.g. 100 for 0.1.0); compare it
 *         with #BLIP_VERSION_NUMBER to detect a header/library mismatch.
 * @par Thread safety
 *      Thread-safe; may be called at any time, including before any other call.
 * @since 0.1
 */
BLIP_API int blip_version_number(void) BLIP_NOEXCEPT;

/** @} */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BLIP_BLIP_H */
