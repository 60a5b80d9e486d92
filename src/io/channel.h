// A channel as the application sees it: a ChannelDriver on a context's EventLoop, made safe to
// use from any thread, with its events going either to a callback on the loop thread (outside
// the protocol engine) or to a bounded ReceiveQueue for pull-style readers.
#pragma once

#include <blip/blip.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/channel_config.h"
#include "io/channel_driver.h"
#include "io/channel_event.h"
#include "io/event_loop.h"
#include "io/receive_queue.h"
#include "io/staged_events.h"
#include "proto/time.h"

namespace blip::io {

class Channel {
public:
    /// Receives events in callback mode, on the loop thread, outside the engine and its locks.
    /// The payload (a message's data, valid during the call) comes beside the event: a message
    /// event's own `data` is empty here.
    using Callback =
        std::function<void(const ChannelEvent&, std::span<const std::uint8_t> payload)>;

    /// Resolves the group and interface of `cfg` and opens the channel on `loop`. Must run on
    /// the loop thread. An empty `cb` selects pull mode.
    /// @return 0 or a BLIP_E* code with `err` set (see blip_channel_open()).
    static int open(EventLoop& loop, const ChannelConfig& cfg, Callback cb,
                    std::unique_ptr<Channel>* out, std::string* err);

    Channel(const Channel&) = delete;
    Channel& operator=(const Channel&) = delete;
    /// Closes first if still open; the loop must still exist. Not from the loop's callbacks.
    ~Channel();

    /// Any thread. See blip_channel_send_stream().
    int send(std::uint32_t stream, std::span<const std::uint8_t> data, std::uint64_t* seq);
    [[nodiscard]] std::uint32_t default_stream() const noexcept { return default_stream_; }
    /// Any thread but the loop thread (BLIP_ESTATE) when they would wait.
    int wait_writable(int timeout_ms);
    int wait_sent(int timeout_ms);
    int receive(int timeout_ms, std::unique_ptr<ChannelEvent>* out);
    int fd(int* out) const;
    int identity(std::uint64_t* node, std::uint64_t* session) const;

    /// Counters by name (see stat_names()).
    int stat(std::string_view name, std::uint64_t* value) const;
    int remotes(std::vector<proto::StreamKey>* out) const;
    int remote_stat(std::uint64_t node, std::uint32_t stream, std::string_view name,
                    std::uint64_t* value) const;
    /// The names stat() and remote_stat() know, in a fixed order.
    [[nodiscard]] static const std::vector<std::string_view>& stat_names();
    [[nodiscard]] static const std::vector<std::string_view>& remote_stat_names();

    /// Any thread, also from inside a callback. After it returns no callback runs again (from
    /// inside a callback: none after that callback). BLIP_ECLOSED the second time; BLIP_ESTATE
    /// off the loop thread of an embedded loop.
    int close();
    [[nodiscard]] bool closed() const noexcept { return closed_.load(); }

private:
    Channel(EventLoop& loop, Callback cb, const ChannelConfig& cfg);
    void close_on_loop();
    void stage(std::unique_ptr<ChannelEvent> ev);
    void stage_message(const proto::MessageInfo& info, std::span<const std::uint8_t> data);
    void dispatch();
    void on_core_done();
    void on_socket_error(int code, const std::string& what);
    void notify_waiters();
    int wait_until(int timeout_ms, const std::function<bool(const ChannelDriver&)>& ready);
    // Runs f(driver) if open, with the locking the calling thread needs; BLIP_ECLOSED if not.
    template <class F>
    int with_driver(F&& f) const;

    EventLoop& loop_;
    Callback cb_;
    std::uint32_t default_stream_;
    std::uint64_t node_id_ = 0;
    std::uint64_t session_id_ = 0;

    // driver_ is used by other threads under state_mu_; close() sets closed_ under it, after
    // which no other thread touches driver_. A plain mutex rather than a shared one: the
    // driver's own lock serialises callers anyway, and a shared mutex's readers could starve
    // close(). The loop thread uses driver_ without state_mu_: only the loop thread frees it,
    // and never while using it.
    mutable std::mutex state_mu_;
    std::unique_ptr<ChannelDriver> driver_;
    std::atomic<bool> closed_{false};
    std::atomic<bool> flush_posted_{false};
    std::atomic<std::int64_t> last_send_ns_{0};  // clock_now() of the latest idle send (any thread)
    // Size of the last message refused with BLIP_EAGAIN: wait_writable() waits for room for it
    // (waiting for "any room" would wake at once and the retry would fail again).
    std::atomic<std::size_t> blocked_len_{0};

    ReceiveQueue queue_;

    // Callback mode, loop thread only: what the engine produced, staged inside it (staged_)
    // and handed to the callback after it (dispatching_batch_). Two areas that swap, so that
    // a callback's own send() can stage while a batch is dispatched, and both keep their
    // memory from one pass to the next.
    StagedEvents staged_;
    StagedEvents dispatching_batch_;
    bool dispatching_ = false;

    // Socket error reports, loop thread only: at most one per second.
    proto::Time last_error_report_{};
    bool error_reported_ = false;
    std::uint64_t errors_suppressed_ = 0;

    // wait_writable() / wait_sent() sleepers, woken after each batch of engine work.
    std::mutex wait_mu_;
    std::condition_variable wait_cv_;
    std::atomic<int> waiters_{0};
};

template <class F>
inline int Channel::with_driver(F&& f) const {
    if (loop_.on_loop_thread()) {
        if (closed_.load()) return BLIP_ECLOSED;
        return f(*driver_);
    }
    std::lock_guard<std::mutex> lock(state_mu_);
    if (closed_.load()) return BLIP_ECLOSED;
    return f(*driver_);
}

}  // namespace blip::io
