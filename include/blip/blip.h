/* blip.h - the public C API of Blip: reliable, sequenced messaging over IP multicast.
 *
 * Contract: what is not declared here is private. Only the functions, types and constants in
 * this header (and the headers it includes) are part of the API and ABI; everything else in
 * the library is an implementation detail that may change in any release.
 *
 * This header is plain C99, usable from C++ (extern "C"), and never includes system or
 * third-party headers beyond the C standard library.
 *
 * Sections, in this fixed order: errors, library/version, types, callbacks, configuration,
 * context, channel, events/membership, messages, stats.
 *
 * Threading rules (the short version; each function states its own):
 *  - A context runs one event loop on one thread: its own thread (blip_context_create()), or
 *    the caller's libuv loop in embedding mode (blip/blip_uv.h). All protocol work, socket I/O
 *    and every callback run on that loop thread.
 *  - blip_channel_send(), blip_channel_send_stream(), blip_channel_wait_writable(),
 *    blip_channel_receive(), blip_channel_fd(), the stats getters and blip_channel_close() are
 *    thread-safe: call them from any thread, concurrently. Calls that wait
 *    (blip_channel_wait_writable(), blip_channel_receive() with a timeout) refuse to wait on
 *    the loop thread (#BLIP_ESTATE), since the loop could then never make progress.
 *  - A config object is not thread-safe: one thread builds it, then it may be shared read-only.
 *  - A callback runs on the loop thread, never inside the protocol engine: it may call any
 *    function on any channel, including blip_channel_send() and blip_channel_close() on its
 *    own channel. It must not call blip_context_destroy() on its own context, and should return
 *    quickly (the loop, and so repairs for every channel of the context, wait for it).
 *    blip_channel_open() on another context waits for that context's loop: do not do it from
 *    callbacks of two contexts that could be waiting for each other.
 */
#ifndef BLIP_BLIP_H
#define BLIP_BLIP_H

#include <blip/version.h>
#include <stddef.h>
#include <stdint.h>

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

/**
 * @defgroup types Types
 * Opaque handles. Each is a distinct type, so a channel cannot be passed where a config is
 * expected. Handles are checked at the boundary: a handle of the wrong kind, or one already
 * destroyed *while its memory is still owned by Blip* (see blip_channel_close()), gives an
 * error code, not a crash. Passing a pointer Blip never returned is undefined behaviour.
 * @{
 */

/** A context: one event loop (and, by default, the thread running it). @since 0.1 */
typedef struct blip_context blip_context_t;
/** A set of channel options, filled by name before blip_channel_open(). @since 0.1 */
typedef struct blip_config blip_config_t;
/** One open channel: a multicast group + port + interface, sending and receiving. @since 0.1 */
typedef struct blip_channel blip_channel_t;
/** One received message or event taken with blip_channel_receive(). @since 0.1 */
typedef struct blip_event blip_event_t;

/** @} */

/**
 * @defgroup events Events and messages
 * Everything a channel reports arrives as an event: delivered messages (#BLIP_EVENT_MESSAGE),
 * losses, membership changes and local problems. The numbers are part of the ABI and never
 * reused; new types may be added, so ignore types you do not know.
 * @{
 */

/** A message, delivered exactly once and in order per sender stream. */
#define BLIP_EVENT_MESSAGE 1
/** Messages [sequence, sequence + count) of a sender stream will never arrive; `reason` says
 *  why. With `open_ended` set the loss runs to the unknown end of a vanished stream and
 *  `count` is 0. Delivery continues after a loss. */
#define BLIP_EVENT_LOSS 2
/** First packet heard from a sender stream. */
#define BLIP_EVENT_SENDER_NEW 3
/** A known node (same node id) came back with a new session: it restarted. `old_session_id`
 *  is the session that ended. */
#define BLIP_EVENT_SENDER_RESTARTED 4
/** Nothing heard from the sender for `sender_timeout_ms`. */
#define BLIP_EVENT_SENDER_INACTIVE 5
/** An inactive sender was heard again. */
#define BLIP_EVENT_SENDER_ACTIVE 6
/** A silent sender's state was freed (`sender_forget_ms`). */
#define BLIP_EVENT_SENDER_REMOVED 7
/** This receiver fell behind: its receive queue was full, so messages [sequence, sequence +
 *  count) of this sender stream, although received, were dropped locally. Raise
 *  `receive_queue_messages` / `receive_queue_bytes` or read faster. Never happens in callback
 *  mode (there is no queue). */
#define BLIP_EVENT_OVERRUN 8
/** The socket reported an error: `error` is a BLIP_E* code and `text` says what failed. At
 *  most one per second per channel; `suppressed` counts those not reported since the last. */
#define BLIP_EVENT_SOCKET_ERROR 9
/** A non-fatal problem found at open, e.g. a socket buffer the kernel clamped (the text names
 *  the sysctl to raise). Queued before any other event of the channel. */
#define BLIP_EVENT_WARNING 10

/** The sender no longer held the data (its window moved on). */
#define BLIP_LOSS_LEFT_WINDOW 1
/** The sender restarted or went silent while data was missing. */
#define BLIP_LOSS_SENDER_GONE 2
/** Repair requests went unanswered `nak_max_retries` times. */
#define BLIP_LOSS_GAVE_UP 3
/** Above a local limit (e.g. `max_message_size`), or malformed. */
#define BLIP_LOSS_REJECTED 4

/**
 * What an event carries; versioned by its first member.
 *
 * Filled by blip_event_get_info() and passed to callbacks. A field is valid only if it lies
 * within `size` bytes (fields are only ever added at the end), so code built against a newer
 * header checks `size` before reading a newer field. Fields that do not apply to an event type
 * are 0 / NULL.
 * @since 0.1
 */
typedef struct blip_event_info {
    size_t size;             /**< Size of this struct as filled, in bytes. */
    int type;                /**< BLIP_EVENT_* */
    int reason;              /**< #BLIP_EVENT_LOSS: a BLIP_LOSS_* reason. */
    uint64_t node_id;        /**< The sender's node id (all but WARNING, SOCKET_ERROR). */
    uint64_t session_id;     /**< The sender's session (random per sender start). */
    uint32_t stream_id;      /**< The sender's stream. */
    int open_ended;          /**< #BLIP_EVENT_LOSS: 1 if the loss has no known end. */
    uint64_t sequence;       /**< MESSAGE: its sequence number; LOSS/OVERRUN: the first. */
    uint64_t count;          /**< LOSS/OVERRUN: how many messages. */
    uint64_t old_session_id; /**< SENDER_RESTARTED: the session that ended. */
    const void* data;        /**< MESSAGE: the payload (NULL when empty). */
    size_t length;           /**< MESSAGE: payload length in bytes. */
    int error;               /**< SOCKET_ERROR: a BLIP_E* code. */
    const char* text;        /**< SOCKET_ERROR, WARNING: what happened, NUL-terminated. */
    uint64_t suppressed;     /**< SOCKET_ERROR: similar errors not reported since the last. */
} blip_event_info_t;

/**
 * Names an event type, e.g. "message", "loss", "sender_new".
 * @param type  a BLIP_EVENT_* value; others give "unknown".
 * @return a static string, never NULL.
 * @par Thread safety
 *      Thread-safe.
 * @since 0.1
 */
BLIP_API const char* blip_event_type_name(int type) BLIP_NOEXCEPT;

/**
 * Names a loss reason, e.g. "left_window", "sender_gone", "gave_up", "rejected".
 * @param reason  a BLIP_LOSS_* value; others give "unknown".
 * @return a static string, never NULL.
 * @par Thread safety
 *      Thread-safe.
 * @since 0.1
 */
BLIP_API const char* blip_loss_reason_name(int reason) BLIP_NOEXCEPT;

/**
 * Describes an event taken with blip_channel_receive().
 *
 * @param ev    the event.
 * @param info  filled with the event's fields; set `info->size = sizeof *info` first. Blip
 *              writes at most that many bytes and sets `size` to what it filled. Pointers in
 *              it (`data`, `text`) stay valid until blip_event_free(ev).
 * @return #BLIP_OK; #BLIP_EINVAL for NULL arguments, a handle that is not an event, or a
 *         `size` smaller than the first version of the struct (through `suppressed`).
 * @par Thread safety
 *      Safe to call concurrently on distinct events.
 * @since 0.1
 */
BLIP_API int blip_event_get_info(const blip_event_t* ev, blip_event_info_t* info) BLIP_NOEXCEPT;

/**
 * Frees an event taken with blip_channel_receive(), with its payload. Events outlive their
 * channel and context; free each exactly once.
 * @param ev  the event.
 * @return #BLIP_OK; #BLIP_EINVAL for NULL or a handle that is not a live event.
 * @par Thread safety
 *      Any thread.
 * @since 0.1
 */
BLIP_API int blip_event_free(blip_event_t* ev) BLIP_NOEXCEPT;

/** @} */

/**
 * @defgroup callbacks Callbacks
 * @{
 */

/**
 * Receives a channel's events in callback mode (see blip_config_set_callback()).
 *
 * Runs on the context's loop thread, one call at a time per context, never inside the
 * protocol engine. It may call any Blip function except blip_context_destroy() on its own
 * context, including blip_channel_send() and blip_channel_close() on `ch` (after which no
 * further callback for `ch` runs). `info` and the memory it points to are valid only during
 * the call: copy what you keep.
 *
 * @param user  the pointer given to blip_config_set_callback().
 * @param ch    the channel the event belongs to.
 * @param info  the event.
 * @since 0.1
 */
typedef void (*blip_event_fn)(void* user, blip_channel_t* ch, const blip_event_info_t* info);

/** @} */

// The option table below keeps one row per line, so clang-format must not reflow it.
// clang-format off
/**
 * @defgroup config Configuration
 * A channel's options, set by name with one setter per value type, so that new options add no
 * symbols. Every option may also be set as text with blip_config_set_string() (handy for
 * command lines: "ttl" = "4"). Unknown names, wrong types and out-of-range values are refused
 * with #BLIP_EINVAL (#BLIP_ENOTSUP for an unknown name) and a message from
 * blip_config_error().
 *
 * Required: `group`, `port`, `interface`. Everything else has a default meant for a LAN.
 * Relations between options are checked when the channel opens (#BLIP_EINVAL and a message
 * naming the options): `send_queue_bytes` >= `max_message_size`; `window_bytes` and
 * `repair_burst` >= `datagram_size`; `heartbeat_min_us` <= `heartbeat_max_us` < `sender_timeout_ms`;
 * `repair_timeout_us` <= `nak_retry_max_us`; `sender_timeout_ms` <= `sender_forget_ms`.
 *
 * | name | type | default | meaning |
 * |------|------|---------|---------|
 * | group | string | (required) | multicast group: "239.1.2.3", "ff12::1", "ff02::1%eth0" (IPv6 scope by name or index) |
 * | port | int 1..65535 | (required) | UDP port |
 * | interface | string | (required) | interface by name ("eth0"), index ("2") or address ("10.0.0.5"); no default on purpose: a guessed interface is the classic silent multicast failure |
 * | ttl | int 0..255 | 1 | IPv4 TTL / IPv6 hop limit (1 = this link only) |
 * | loopback | bool | 1 | other processes on this host hear our datagrams |
 * | reuse_port | bool | 1 | several processes may bind the same group and port |
 * | segmentation_offload | bool | 1 | Linux UDP GSO/GRO: a run of equal-sized datagrams goes to the kernel in one call (UDP_SEGMENT) and is cut into the same datagrams on the wire; a run from a sender on this host is read back whole (UDP_GRO) and split here. Falls back to one datagram per call by itself if the kernel or device refuses; 0 = never |
 * | recv_buffer | int bytes | 0 | SO_RCVBUF request (0 = kernel default); a clamped request gives a #BLIP_EVENT_WARNING |
 * | send_buffer | int bytes | 0 | SO_SNDBUF request (0 = kernel default); idem |
 * | datagram_size | int 128..65000 | 1400 | largest UDP payload sent |
 * | max_message_size | int 1..2^32-1 | 16777216 | largest message sent or reassembled |
 * | stream | int 0..2^32-1 | 0 | stream that blip_channel_send() uses |
 * | accept_streams | string | "" | comma-separated stream ids to receive, "" = all |
 * | window_bytes | int | 67108864 | retransmit window: bytes kept for repair |
 * | window_messages | int | 1048576 | retransmit window: messages kept for repair |
 * | send_queue_bytes | int >= max_message_size | 16777216 | accepted but unsent bytes before send returns #BLIP_EAGAIN (larger is not faster: a flat-out sender is quickest when its unsent bytes stay in the CPU caches) |
 * | send_queue_messages | int | 1048576 | accepted but unsent messages, idem |
 * | rate_limit | int bytes/s | 0 | original data rate, 0 = unlimited (messages wait in the send queue meanwhile, so a deep queue adds latency: queue bytes / rate) |
 * | repair_rate | int bytes/s | 104857600 | repair rate (bounds what a NAK storm can cost) |
 * | repair_burst | int bytes | 262144 | repair burst |
 * | repair_holdoff_us | int | 250 | a datagram repaired this recently is not repaired again |
 * | heartbeat_min_us | int | 200 | first idle heartbeat (then doubling) |
 * | heartbeat_max_us | int | 1000000 | longest idle heartbeat interval |
 * | flow_control | bool | 1 | receivers report how far each sender may go (STATUS) and senders hold new data to the slowest receiver that reports, so a fast sender cannot overrun a slow receiver's socket buffer (a new stream's first burst waits up to 20 ms for the first reports); 0 on a receiver: it never holds senders back; 0 on a sender: it ignores reports |
 * | flow_timeout_ms | int | 500 | a receiver that holds a sender back and stays silent this long (gone, or stuck) stops holding it |
 * | join | string | "next" | late join: "next" (from the next message heard) or "recover" (all the sender still holds) |
 * | reorder_buffer_bytes | int >= 65507 | 33554432 | memory for out-of-order datagrams per sender stream (each takes `datagram_size` rounded up to 64 bytes, or its own size if larger) |
 * | nak_delay_min_us | int | 20 | shortest wait before a NAK |
 * | nak_backoff_us | int | 500 | random extra wait before a NAK (suppression window) |
 * | repair_timeout_us | int | 1000 | wait for a repair before NAKing again (doubles per retry); with adaptive_repair_timeout the longest first wait, and the one until a round trip has been measured (raise it for a path whose round trip is longer) |
 * | adaptive_repair_timeout | bool | 1 | learn the wait for a repair from each sender's NAK-to-repair round trips (smoothed round trip + 4 deviations, Karn's rule, at most repair_timeout_us), so a lost repair is NAKed again after about one round trip |
 * | repair_timeout_min_us | int | 250 | the learned wait is never below this (nor below repair_timeout_us) |
 * | nak_retry_max_us | int | 100000 | longest wait between NAKs for one gap |
 * | nak_max_retries | int | 30 | NAKs per gap before it is reported lost |
 * | sender_timeout_ms | int | 5000 | silence before a sender is inactive (its gaps lost) |
 * | sender_forget_ms | int | 60000 | silence before a sender's state is freed |
 * | max_senders | int | 4096 | remote sender streams tracked at most |
 * | busy_poll_us | int 0..1000000 | 0 | after each received datagram the channel's loop thread keeps polling for this long instead of sleeping: lower latency (no wake-up of a sleeping thread) for a busy CPU; 0 = never spins |
 * | receive_queue_messages | int | 65536 | pull mode: queued events before #BLIP_EVENT_OVERRUN |
 * | receive_queue_bytes | int | 134217728 | pull mode: queued payload bytes, idem |
 * | node_id | int or string (decimal/0x hex) | 0 | this node's stable identity; 0 = random per open |
 * | node_name | string | "" | sets node_id to a 64-bit hash of the name (e.g. "host/service") |
 * | seed | int | 0 | seed of NAK timing and ids; 0 = from the system (set only for reproducible tests) |
 * | inject_loss | double 0..1 | 0 | **testing and demos only**: drop this fraction of received datagrams |
 * | inject_seed | int | 1 | seed of the inject_loss choice |
 *
 * Identity: a receiver tells a sender's restart (#BLIP_EVENT_SENDER_RESTARTED) from a new
 * sender by its node id. The default (random per open) is unique but changes on restart; give
 * `node_id` or `node_name` to make restarts visible. Two live channels must never share a node
 * id on one group.
 * @{
 */
// clang-format on

/**
 * Creates a config with every option at its default.
 * @param out  receives the config; unchanged on failure.
 * @return #BLIP_OK; #BLIP_EINVAL (NULL out); #BLIP_ENOMEM.
 * @par Thread safety
 *      Any thread.
 * @since 0.1
 */
BLIP_API int blip_config_create(blip_config_t** out) BLIP_NOEXCEPT;

/**
 * Destroys a config. Channels opened with it keep their own copy of the options.
 * @param cfg  the config.
 * @return #BLIP_OK; #BLIP_EINVAL for NULL or a handle that is not a live config.
 * @par Thread safety
 *      Not concurrently with other calls on the same config.
 * @since 0.1
 */
BLIP_API int blip_config_destroy(blip_config_t* cfg) BLIP_NOEXCEPT;

/**
 * Sets an option from text; works for options of every type ("1400", "0x1f", "true", "0.1").
 * @param cfg    the config.
 * @param name   the option's name (see the table above).
 * @param value  NUL-terminated; copied.
 * @return #BLIP_OK; #BLIP_ENOTSUP (unknown name); #BLIP_EINVAL (NULL argument, text that does
 *         not parse, value out of range); #BLIP_ENOMEM. On failure the option keeps its value
 *         and blip_config_error() says why.
 * @par Thread safety
 *      Not concurrently with other calls on the same config.
 * @since 0.1
 */
BLIP_API int blip_config_set_string(blip_config_t* cfg, const char* name,
                                    const char* value) BLIP_NOEXCEPT;

/**
 * Sets an integer option (also accepted by bool options as 0/1 and double options).
 * @param cfg    the config.
 * @param name   the option's name.
 * @param value  the value; negative values are out of every integer option's range.
 * @return as blip_config_set_string(); #BLIP_EINVAL also for a string-typed option other than
 *         `node_id`.
 * @par Thread safety
 *      As blip_config_set_string().
 * @since 0.1
 */
BLIP_API int blip_config_set_int(blip_config_t* cfg, const char* name, int64_t value) BLIP_NOEXCEPT;

/**
 * Sets a floating-point option (NaN is out of every range).
 * @param cfg    the config.
 * @param name   the option's name.
 * @param value  the value.
 * @return as blip_config_set_string(); #BLIP_EINVAL also for a non-double option.
 * @par Thread safety
 *      As blip_config_set_string().
 * @since 0.1
 */
BLIP_API int blip_config_set_double(blip_config_t* cfg, const char* name,
                                    double value) BLIP_NOEXCEPT;

/**
 * Sets a boolean option: 0 is false, any other value true.
 * @param cfg    the config.
 * @param name   the option's name.
 * @param value  the value.
 * @return as blip_config_set_string(); #BLIP_EINVAL also for a non-bool option.
 * @par Thread safety
 *      As blip_config_set_string().
 * @since 0.1
 */
BLIP_API int blip_config_set_bool(blip_config_t* cfg, const char* name, int value) BLIP_NOEXCEPT;

/**
 * Selects callback mode: every event of channels opened with this config goes to `fn` on the
 * loop thread, and blip_channel_receive() is refused with #BLIP_ESTATE. Without a callback
 * (the default, or `fn` NULL) events queue for blip_channel_receive().
 * @param cfg   the config.
 * @param fn    the callback, or NULL for pull mode.
 * @param user  passed to `fn` unchanged; Blip never dereferences it.
 * @return #BLIP_OK; #BLIP_EINVAL for a NULL or dead config.
 * @par Thread safety
 *      As blip_config_set_string().
 * @since 0.1
 */
BLIP_API int blip_config_set_callback(blip_config_t* cfg, blip_event_fn fn,
                                      void* user) BLIP_NOEXCEPT;

/**
 * Says why the last failed call that took this config (a setter or blip_channel_open()) failed,
 * e.g. "option 'ttl': 300 is out of range 0..255" or "interface 'eth9': no such interface;
 * interfaces: lo (1, 127.0.0.1, ::1), eth0 (2, 10.0.0.5)".
 * @param cfg  the config (NULL gives "").
 * @return a NUL-terminated string owned by the config, valid until the next call on it; ""
 *         after a success or for a NULL config. Never NULL.
 * @par Thread safety
 *      As blip_config_set_string().
 * @since 0.1
 */
BLIP_API const char* blip_config_error(const blip_config_t* cfg) BLIP_NOEXCEPT;

/** @} */

/**
 * @defgroup context Context
 * A context owns an event loop and the channels on it. blip_context_create() starts a thread
 * that runs the loop; the embedding API (blip/blip_uv.h) runs it on the caller's libuv loop
 * instead.
 * @{
 */

/**
 * Creates a context and starts its loop thread.
 * @param out  receives the context; unchanged on failure.
 * @return #BLIP_OK; #BLIP_EINVAL (NULL out); #BLIP_ENOMEM; #BLIP_EIO (no thread or loop).
 * @par Thread safety
 *      Any thread.
 * @since 0.1
 */
BLIP_API int blip_context_create(blip_context_t** out) BLIP_NOEXCEPT;

/**
 * Closes every channel of the context (as blip_channel_close()), stops the loop thread and
 * frees everything, including the handles of closed channels. Events already taken with
 * blip_channel_receive() stay valid. Using the context or its channels afterwards is undefined.
 * @param ctx  the context.
 * @return #BLIP_OK; #BLIP_EINVAL for NULL or a handle that is not a live context;
 *         #BLIP_ESTATE when called from the context's own loop thread (from a callback).
 * @par Thread safety
 *      Any thread but the loop thread; not concurrently with other calls on this
 *      context or its channels.
 * @since 0.1
 */
BLIP_API int blip_context_destroy(blip_context_t* ctx) BLIP_NOEXCEPT;

/** @} */

/**
 * @defgroup channel Channel
 * @{
 */

/**
 * Opens a channel: validates the config, resolves the interface, binds and joins the group,
 * and starts sending heartbeats and receiving.
 * @param ctx  the context whose loop runs the channel.
 * @param cfg  the options; copied (the config may be destroyed afterwards).
 * @param out  receives the channel; unchanged on failure.
 * @return #BLIP_OK; #BLIP_EINVAL (NULL argument, missing or inconsistent option, group not
 *         multicast); #BLIP_ENODEV / #BLIP_EADDRNOTAVAIL (interface unknown, ambiguous, down or
 *         without an address of the group's family; the message lists the candidates);
 *         #BLIP_EADDRINUSE (group and port taken and `reuse_port` off here or there);
 *         #BLIP_ENOMEM; #BLIP_EIO; #BLIP_ECLOSED (context being destroyed). The message is in
 *         blip_config_error(cfg). On failure no callback is ever called.
 * @par Thread safety
 *      Any thread (the config not concurrently modified).
 * @since 0.1
 */
BLIP_API int blip_channel_open(blip_context_t* ctx, blip_config_t* cfg,
                               blip_channel_t** out) BLIP_NOEXCEPT;

/**
 * Closes a channel: leaves the group and closes the socket. Messages still queued to send are
 * discarded (use blip_channel_wait_sent() first to send them); receivers may still lose the
 * tail if they needed repairs. After it returns no callback for this channel runs again (when
 * called from inside a callback, none after that callback returns), and events not yet taken
 * with blip_channel_receive() are freed.
 *
 * One exception: called from a callback of *another* context, it does not wait for that
 * context's loop (which could deadlock); no callback of `ch` starts after it returns, but one
 * already running on the other loop thread at that moment may still be finishing.
 *
 * The handle itself stays valid, closed, until blip_context_destroy(): any call on it then
 * gives #BLIP_ECLOSED, including a second close.
 * @param ch  the channel.
 * @return #BLIP_OK; #BLIP_EINVAL (NULL or not a channel); #BLIP_ECLOSED (already closed).
 * @par Thread safety
 *      Any thread, including the loop thread inside a callback.
 * @since 0.1
 */
BLIP_API int blip_channel_close(blip_channel_t* ch) BLIP_NOEXCEPT;

/**
 * Sends a copy of a message on the channel's `stream` option, as blip_channel_send_stream().
 * @param ch    the channel.
 * @param data  the message; may be NULL when `len` is 0.
 * @param len   its size.
 * @param seq   may be NULL; receives its sequence number.
 * @return as blip_channel_send_stream().
 * @par Thread safety
 *      Any thread.
 * @since 0.1
 */
BLIP_API int blip_channel_send(blip_channel_t* ch, const void* data, size_t len,
                               uint64_t* seq) BLIP_NOEXCEPT;

/**
 * Sends a copy of a message on a stream. Returns as soon as the message is queued. A lone
 * message (none sent on the channel in the previous 50 us, and none of its stream still
 * waiting to be transmitted) is transmitted by the calling thread itself when the engine is
 * free, so it does not wait for the loop thread to wake up; messages sent in a burst are
 * transmitted by the loop thread, batched into as few datagrams as they fit (several small
 * messages per datagram), with no added delay. Never drops silently:
 * either it is accepted (and then retransmitted on request while in the retransmit window) or
 * an error says why not.
 * @param ch      the channel.
 * @param stream  the stream id (receivers may filter on it with `accept_streams`).
 * @param data    the message; may be NULL when `len` is 0.
 * @param len     its size; at most `max_message_size`.
 * @param seq     may be NULL; receives the message's sequence number in its stream (0, 1, 2...
 *                per stream and sender start), as receivers will see it.
 * The send queue drains as fast as the slowest receiver that reports takes the data (flow
 * control, option `flow_control`) and, if set, at `rate_limit`; when it is full, this
 * returns #BLIP_EAGAIN: the back-pressure of a slow receiver reaches the application.
 * @return #BLIP_OK; #BLIP_EAGAIN (send queue full: retry after blip_channel_wait_writable());
 *         #BLIP_EMSGSIZE (`len` above `max_message_size`); #BLIP_EINVAL (NULL channel, or NULL
 *         data with len > 0); #BLIP_ECLOSED (channel closed); #BLIP_ENOMEM.
 * @par Thread safety
 *      Any thread, concurrently; messages sent from one thread keep their order.
 * @since 0.1
 */
BLIP_API int blip_channel_send_stream(blip_channel_t* ch, uint32_t stream, const void* data,
                                      size_t len, uint64_t* seq) BLIP_NOEXCEPT;

/**
 * Waits until the send queue has room again (it drains as the loop thread transmits, as
 * flow control allows and at `rate_limit` if set): room for the message last refused with
 * #BLIP_EAGAIN, so that retrying it then succeeds (unless another thread took the room first). Use
 * after #BLIP_EAGAIN.
 * @param ch  the channel.
 * @param timeout_ms  longest wait; negative waits forever, 0 only checks.
 * @return #BLIP_OK (there is room); #BLIP_ETIMEDOUT; #BLIP_ECLOSED (closed
 *         before or during the wait); #BLIP_ESTATE (it would have to wait, on the loop
 *         thread); #BLIP_EINVAL.
 * @par Thread safety
 *      Any thread; on the loop thread only as a check that never waits.
 * @since 0.1
 */
BLIP_API int blip_channel_wait_writable(blip_channel_t* ch, int timeout_ms) BLIP_NOEXCEPT;

/**
 * Waits until every message sent so far has been transmitted at least once (the send queue is
 * empty). The retransmit window still holds them for repair afterwards: to give slow receivers
 * time to repair before closing, keep the channel open a little longer.
 * @param ch  the channel.
 * @param timeout_ms  longest wait; negative waits forever, 0 only checks.
 * @return as blip_channel_wait_writable().
 * @par Thread safety
 *      As blip_channel_wait_writable().
 * @since 0.1
 */
BLIP_API int blip_channel_wait_sent(blip_channel_t* ch, int timeout_ms) BLIP_NOEXCEPT;

/**
 * Takes the next message or event queued on a pull-mode channel (no callback configured).
 * @param ch  the channel.
 * @param timeout_ms  longest wait; negative waits forever; 0 does not wait.
 * @param ev          receives the event; free it with blip_event_free().
 * @return #BLIP_OK; #BLIP_EAGAIN (nothing queued, `timeout_ms` 0); #BLIP_ETIMEDOUT;
 *         #BLIP_ECLOSED (the channel was closed, before or during the wait); #BLIP_ESTATE
 *         (callback mode, or a wait on the loop thread); #BLIP_EINVAL.
 * @par Thread safety
 *      Any thread, concurrently (each event goes to one caller).
 * @since 0.1
 */
BLIP_API int blip_channel_receive(blip_channel_t* ch, int timeout_ms,
                                  blip_event_t** ev) BLIP_NOEXCEPT;

/**
 * A file descriptor that is readable exactly while events are queued for
 * blip_channel_receive() (level-triggered): add it to poll/epoll/select or another event loop,
 * then call blip_channel_receive() with timeout 0 until #BLIP_EAGAIN. Do not read, write or
 * close it. When the channel is closed it becomes readable (so a poller wakes, and its
 * blip_channel_receive() returns #BLIP_ECLOSED); it stays open until blip_context_destroy().
 * @param ch  the channel.
 * @param fd  receives the descriptor.
 * @return #BLIP_OK; #BLIP_ESTATE (callback mode); #BLIP_ECLOSED; #BLIP_EINVAL.
 * @par Thread safety
 *      Any thread.
 * @since 0.1
 */
BLIP_API int blip_channel_fd(blip_channel_t* ch, int* fd) BLIP_NOEXCEPT;

/**
 * This channel's node id (as receivers see it in #blip_event_info_t::node_id) and session id.
 * @param ch  the channel.
 * @param node_id     may be NULL.
 * @param session_id  may be NULL.
 * @return #BLIP_OK; #BLIP_ECLOSED; #BLIP_EINVAL.
 * @par Thread safety
 *      Any thread.
 * @since 0.1
 */
BLIP_API int blip_channel_identity(blip_channel_t* ch, uint64_t* node_id,
                                   uint64_t* session_id) BLIP_NOEXCEPT;

/** @} */

/**
 * @defgroup stats Statistics
 * Counters by name, so new counters add no symbols. Names are listed by blip_stat_name().
 * Channel counters sum every stream this channel sends and every remote sender stream it
 * tracks now; remote counters are per sender stream (node id + stream id).
 * @{
 */

#define BLIP_STATS_CHANNEL 0 /**< Scope of blip_channel_stat(). */
#define BLIP_STATS_REMOTE 1  /**< Scope of blip_channel_remote_stat(). */

/**
 * Enumerates counter names.
 * @param scope  #BLIP_STATS_CHANNEL or #BLIP_STATS_REMOTE.
 * @param index  0, 1, 2, ...
 * @param name   receives a static string.
 * @return #BLIP_OK; #BLIP_EINVAL (bad scope, NULL name, or `index` past the last name: stop).
 * @par Thread safety
 *      Thread-safe.
 * @since 0.1
 */
BLIP_API int blip_stat_name(int scope, size_t index, const char** name) BLIP_NOEXCEPT;

/**
 * Reads one channel counter, e.g. "messages_sent", "naks_sent", "kernel_drops".
 * @param ch     the channel.
 * @param name   the counter's name (see blip_stat_name()).
 * @param value  receives its value.
 * @return #BLIP_OK; #BLIP_ENOTSUP (unknown name); #BLIP_ECLOSED; #BLIP_EINVAL.
 * @par Thread safety
 *      Any thread (waits briefly for the loop thread's state lock).
 * @since 0.1
 */
BLIP_API int blip_channel_stat(blip_channel_t* ch, const char* name, uint64_t* value) BLIP_NOEXCEPT;

/**
 * Lists the remote sender streams the channel tracks now.
 * @param ch          the channel.
 * @param node_ids    an array of `capacity` entries (may be NULL when `capacity` is 0).
 * @param stream_ids  an array of `capacity` entries (may be NULL when `capacity` is 0).
 * @param capacity    the arrays' length.
 * @param count  receives how many there are (possibly more than `capacity`; then only
 *               `capacity` are written: call again with larger arrays).
 * @return #BLIP_OK; #BLIP_ECLOSED; #BLIP_EINVAL.
 * @par Thread safety
 *      Any thread.
 * @since 0.1
 */
BLIP_API int blip_channel_remotes(blip_channel_t* ch, uint64_t* node_ids, uint32_t* stream_ids,
                                  size_t capacity, size_t* count) BLIP_NOEXCEPT;

/**
 * Reads one counter of a remote sender stream, e.g. "messages", "repairs", "naks_sent".
 * @param ch         the channel.
 * @param node_id    the sender's node id (from blip_channel_remotes() or an event).
 * @param stream_id  the sender's stream.
 * @param name       the counter's name (see blip_stat_name()).
 * @param value      receives its value.
 * @return #BLIP_OK; #BLIP_ENOTSUP (unknown name); #BLIP_EADDRNOTAVAIL (no such sender stream
 *         tracked); #BLIP_ECLOSED; #BLIP_EINVAL.
 * @par Thread safety
 *      Any thread.
 * @since 0.1
 */
BLIP_API int blip_channel_remote_stat(blip_channel_t* ch, uint64_t node_id, uint32_t stream_id,
                                      const char* name, uint64_t* value) BLIP_NOEXCEPT;

/** @} */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BLIP_BLIP_H */
