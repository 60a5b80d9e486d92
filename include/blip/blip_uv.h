/* blip_uv.h - embedding Blip in an existing libuv event loop (optional).
 *
 * The only public header that includes uv.h. Link with libuv as well (pkg-config: blip
 * already lists libuv in Requires.private; add `libuv` for static linking).
 *
 * In embedding mode the context runs on the caller's loop, with no extra thread:
 *  - The "loop thread" is the thread that called blip_context_create_uv(); it must be the one
 *    running `loop` (uv_run).
 *  - blip_channel_open(), blip_channel_close() and blip_context_destroy() must be called on
 *    that thread (else #BLIP_ESTATE): they touch libuv handles directly and cannot wait for a
 *    loop that may not be running.
 *  - Everything else keeps the rules of blip.h: blip_channel_send() and the stats getters are
 *    thread-safe (other threads wake the loop through a uv_async_t); waiting calls refuse to
 *    wait on the loop thread; callbacks run on the loop thread from inside uv_run().
 *  - After blip_context_destroy() the context's libuv handles are closing: run the loop once
 *    more (uv_run(loop, UV_RUN_DEFAULT) returns when nothing else is active) before
 *    uv_loop_close(loop).
 */
#ifndef BLIP_BLIP_UV_H
#define BLIP_BLIP_UV_H

#include <blip/blip.h>
#include <uv.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * @ingroup context
 * Creates a context that runs on an existing libuv loop instead of its own thread.
 * @param loop  an initialised loop; it must outlive the context (see the file comment for the
 *              shutdown order).
 * @param out   receives the context; unchanged on failure.
 * @return #BLIP_OK; #BLIP_EINVAL (NULL argument); #BLIP_ENOMEM; #BLIP_EIO.
 * @par Thread safety
 *      The calling thread becomes the context's loop thread.
 * @since 0.1
 */
BLIP_API int blip_context_create_uv(uv_loop_t* loop, blip_context_t** out) BLIP_NOEXCEPT;

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* BLIP_BLIP_UV_H */
