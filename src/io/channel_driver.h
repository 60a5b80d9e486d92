// Drives one sans-I/O proto::Endpoint with real time (uv_hrtime), one UdpSocket and one FineTimer
// on a caller's libuv loop. Loop-thread driven; enqueue() and the read-only queries may also be
// called from other threads (enqueue() only appends to a submission buffer; a lock guards the
// endpoint). Waking the loop is the owner's job.
#pragma once

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "io/busy_poll.h"
#include "io/fine_timer.h"
#include "io/udp_socket.h"
#include "proto/config.h"
#include "proto/endpoint.h"
#include "proto/events.h"
#include "proto/output.h"
#include "proto/receiver.h"
#include "proto/rng.h"
#include "proto/sender.h"
#include "proto/time.h"

namespace blip::io {

struct DriverOptions {
    UdpOptions udp;
    proto::EndpointConfig endpoint;
    /// Test/demo hook: this fraction (0..1) of RECEIVED datagrams is dropped before the endpoint
    /// sees it, as a lossy network would; counted in DriverStats::injected_drops. The choice is
    /// a seeded generator, so a given seed and datagram sequence drop the same datagrams.
    double inject_loss = 0.0;
    std::uint64_t inject_seed = 1;
    /// Use endpoint.seed as given. Otherwise a seed of 0 or the core's default (1) is replaced
    /// by one from the system, so that processes never share NAK timing by accident.
    bool pin_seed = false;
    /// After a received datagram, the loop spins this long before it sleeps (see BusyPoll);
    /// zero: it never spins.
    proto::Duration busy_poll{};
};

struct DriverStats {
    proto::EndpointStats endpoint;
    /// Summed over this driver's local sending streams.
    proto::SenderStats senders;
    /// Summed over the remote sender streams tracked now (a replaced or removed session's
    /// counts leave with it).
    proto::ReceiverStats receivers;
    /// Summed NAK scheduling counters of those remote streams.
    proto::NakSchedulerStats naks;
    std::uint64_t remote_senders = 0;  ///< remote sender streams tracked now
    /// Receivers whose flow-control reports hold this driver's streams back (summed).
    std::uint64_t flow_receivers = 0;
    /// Datagrams a sender may send beyond the newest one read here (see status_credit()).
    std::uint64_t status_credit = 0;
    std::uint64_t send_queue_messages = 0;  ///< accepted, not yet transmitted (all streams)
    std::uint64_t send_queue_bytes = 0;
    UdpStats socket;
    std::uint64_t injected_drops = 0;  ///< received datagrams dropped by inject_loss
    /// Datagrams the socket refused with BLIP_EAGAIN (send queue full): dropped as the network
    /// could drop them; the protocol repairs them like any loss.
    std::uint64_t send_dropped = 0;
    std::uint64_t send_failures = 0;  ///< other socket send errors (also lost to the protocol)
    /// Datagrams a sending thread transmitted itself (flush_inline()); also in
    /// socket.datagrams_sent.
    std::uint64_t datagrams_sent_inline = 0;
    std::uint64_t busy_poll_spins = 0;  ///< turns of the loop spent busy polling (busy_poll)
};

/// Flow-control credit for a receive socket of `recv_buffer` bytes (as read back from the
/// kernel) and datagrams of up to `datagram_size` bytes: how many datagrams a sender may send
/// beyond the newest one read before the buffer could overflow, keeping half for other traffic.
[[nodiscard]] std::uint64_t status_credit(int recv_buffer, std::size_t datagram_size) noexcept;

/// One channel on a libuv loop: datagrams from the socket, API calls and timer expiries go into
/// the endpoint; what the endpoint emits goes to the socket (datagrams) or to the owner's
/// callbacks (messages, events). After every input the timer is re-armed to the endpoint's next
/// deadline.
///
/// Threading: every member and callback runs on the loop's thread, except enqueue(), stats(),
/// writable(), all_sent() and inspect(), which may be called from any thread: a mutex guards
/// the endpoint. Callbacks (on_message, on_event, on_socket_error) run with that mutex held;
/// on_core_done runs after it is released.
///
/// Callbacks and reentrancy: on_message and on_event are called from INSIDE the endpoint (while
/// it processes a datagram, a timer or a send), so the owner must not call back into this driver
/// synchronously from them: copy or queue what it needs and act after the callback returns (the
/// C layer queues them for the app thread). A send() made from inside a callback is refused with
/// BLIP_ESTATE instead of corrupting the endpoint's state. close() from inside a callback is
/// allowed: the endpoint stays allocated until the driver is destroyed, and nothing is delivered
/// after close(). Callbacks must not throw (they run under libuv's C frames) and must not
/// destroy the driver.
class ChannelDriver : private proto::Output {
public:
    std::function<void(const proto::MessageInfo&, std::span<const std::uint8_t>)> on_message;
    std::function<void(const proto::Event&)> on_event;
    /// A socket error no call returned (rate-limiting is the owner's job). Inside the core.
    std::function<void(int code, const std::string& what)> on_socket_error;
    /// Runs on the loop thread after every batch of endpoint work (a datagram, a timer, a
    /// send or flush), outside the core and its lock: the place to hand staged messages to
    /// an application, which may then call send() or close().
    std::function<void()> on_core_done;

    ChannelDriver() = default;
    ChannelDriver(const ChannelDriver&) = delete;
    ChannelDriver& operator=(const ChannelDriver&) = delete;
    /// If still open, closes as close(nullptr): the handles are then freed by the loop later, so
    /// run the loop before uv_loop_close().
    ~ChannelDriver() override;

    /// Validates `opts.endpoint` (proto::validate), opens the socket and starts the timer. Once
    /// per driver.
    /// @param err  may be null; on failure what failed (the validation message for BLIP_EINVAL).
    /// @return 0; BLIP_EINVAL (invalid config, inject_loss outside 0..1, null loop);
    ///         BLIP_ESTATE (already opened); any UdpSocket::open() error. On failure no callback
    ///         is ever called; a socket handle already created is closed asynchronously.
    int open(uv_loop_t* loop, const DriverOptions& opts, std::string* err);

    /// Queues `data` on `stream` and flushes at once (no Nagle-style delay).
    /// @param mseq  may be null; receives the message's sequence number.
    /// @return 0; BLIP_EAGAIN (send queue full: retry later); BLIP_EMSGSIZE (above
    ///         max_message_size); BLIP_EINVAL; BLIP_ESTATE (not opened yet, or called from
    ///         inside on_message/on_event); BLIP_ECLOSED (after close()).
    int send(std::uint32_t stream, std::span<const std::uint8_t> data, std::uint64_t* mseq);

    /// As send() but only queues: nothing is transmitted until flush() runs on the loop thread.
    /// Any thread. Same return codes (BLIP_ESTATE from inside a callback of this driver).
    /// The message is copied into a submission buffer under a lock of its own, never the
    /// endpoint's, so a sending thread does not wait while the loop thread packs and transmits;
    /// its sequence number and the send_queue limits are decided here, exactly as the endpoint
    /// will decide them when flush() hands it over.
    /// @param was_idle  may be null; set to whether the stream had no untransmitted message
    ///                  before this one (nothing buffered, nothing in the Sender's queue).
    int enqueue(std::uint32_t stream, std::span<const std::uint8_t> data, std::uint64_t* mseq,
                bool* was_idle = nullptr);

    /// Hands everything enqueue() buffered to the endpoint and transmits (loop thread). No-op
    /// unless open.
    void flush();

    /// Any thread: flush() done by the calling thread, if that can happen right now without
    /// the loop thread: the engine is free (its lock is not held), nothing emitted earlier is
    /// still waiting to be sent, the socket takes every datagram at once, and no deadline
    /// earlier than the armed timer appeared. Saves a lone message the hand-off to the loop
    /// thread (a wake-up: tens of microseconds). Returns false when the caller must still
    /// have the loop thread flush() (part of the work may have been done).
    bool flush_inline();
    /// clock_now() of the latest hand-over of submitted messages to the engine (0: none yet).
    /// Any thread: for Channel::send()'s lone-message test, which thus reads the clock only
    /// for a send that finds its stream idle.
    [[nodiscard]] std::int64_t last_handover_ns() const noexcept {
        return last_handover_ns_.load(std::memory_order_relaxed);
    }

    /// True if every local stream's send queue has room for one more message of `need` bytes
    /// (send would not fail with BLIP_EAGAIN). Any thread.
    [[nodiscard]] bool writable(std::size_t need) const;
    /// True if no local stream has queued, untransmitted messages. Any thread.
    [[nodiscard]] bool all_sent() const;
    /// Calls `fn` with the endpoint under the driver's lock (no-op before open). Any thread;
    /// `fn` must not call back into the driver.
    void inspect(const std::function<void(const proto::Endpoint&)>& fn) const;
    /// Datagrams the kernel dropped for want of receive buffer space: the socket's counter
    /// (UdpSocket::kernel_drops()) less our own looped-back datagrams. Loop thread, or any
    /// thread while the owner guarantees the driver is not being closed.
    [[nodiscard]] std::optional<std::uint64_t> kernel_drops() const;

    /// Stops the timer and closes timer and socket; nothing is delivered after this returns.
    /// `done` (may be empty) runs once both handles' close callbacks have run, or at once if the
    /// driver was never opened or is already closed. Keep the driver alive until `done` runs: that
    /// is the contract the C layer relies on (the handles' memory itself is owned by the loop until
    /// their close callbacks, so even an early destruction does not touch freed memory).
    void close(std::function<void()> done);

    [[nodiscard]] bool is_open() const noexcept { return state_.load() == State::kOpen; }
    /// Endpoint, socket and driver counters; still readable after close(). Any thread.
    [[nodiscard]] DriverStats stats() const;
    /// Buffer sizes and warnings from opening the socket.
    [[nodiscard]] const UdpInfo& udp_info() const noexcept { return udp_info_; }
    /// The endpoint's identity (valid once open() succeeded).
    [[nodiscard]] std::uint64_t node_id() const noexcept;

private:
    static proto::EndpointConfig with_entropy(proto::EndpointConfig cfg, bool pin_seed);
    enum class State : std::uint8_t { kIdle, kOpen, kClosed };
    struct CloseJoin;

    // proto::Output: called from inside the endpoint.
    void send_datagram(std::span<const std::uint8_t> datagram) override;
    void deliver(const proto::MessageInfo& info, std::span<const std::uint8_t> data) override;
    void event(const proto::Event& ev) override;

    void on_datagram(std::span<const std::uint8_t> datagram);
    void transmit_pending();
    // Under mu_: hands submitted_ to the endpoint and lets it pack and emit.
    void hand_over_locked(proto::Time now);
    // Under mu_: has `stream`'s Sender adopt draining_ whole; false if it refused (nothing
    // was queued, draining_ is intact).
    bool adopt_locked(proto::Time now, std::uint32_t stream);
    void rearm();
    void on_timer();

    // Atomic: enqueue() reads it on other threads without the endpoint's lock.
    std::atomic<State> state_{State::kIdle};
    void core_done();
    // Under mu_: refreshes each stream's count of untransmitted messages from its Sender.
    void recount_queues_locked();
    // Under mu_: the socket's counters with what flush_inline() sent through it added.
    [[nodiscard]] UdpStats socket_stats_locked() const;

    // One local stream as enqueue() sees it (under submit_mu_).
    struct StreamQueue {
        std::uint32_t stream = 0;
        std::uint64_t next_mseq = 0;  // what the endpoint's Sender will assign next
        // Accepted, not yet transmitted: in the submission buffer, being handed over, or in the
        // Sender's queue. Checked against the Sender's limits, so the Sender never refuses.
        std::size_t bytes = 0;
        std::size_t messages = 0;
        // The part of the above that is in submitted_ (appended since the last hand-over).
        std::size_t fresh_bytes = 0;
        std::size_t fresh_messages = 0;
    };
    StreamQueue* stream_queue_locked(std::uint32_t stream);
    [[nodiscard]] bool in_core_on_this_thread() const noexcept;

    // Guards endpoint_, streams_ and the counters below against other threads' enqueue() and
    // queries. Held across every Endpoint call, so Output callbacks run with it held.
    mutable std::mutex mu_;
    // The thread inside an Endpoint call, if any (reentrancy guard: a callback calling back
    // into the driver is refused rather than deadlocking on mu_ or corrupting the endpoint).
    std::atomic<std::thread::id> core_thread_{};
    uv_loop_t* loop_ = nullptr;
    FineTimer timer_;
    BusyPoll busy_;
    UdpSocket socket_;
    UdpInfo udp_info_;
    std::unique_ptr<proto::Endpoint> endpoint_;
    // The sender limits enqueue() applies (the endpoint's, copied at open).
    proto::SenderConfig send_cfg_;
    // enqueue()'s side: records [stream u32][length u32][bytes] appended by any thread and
    // taken whole by flush() (a swap). When they are all for one stream (the usual case) and
    // large, the stream's Sender adopts the buffer as it is, with no copy (see adopt_locked()),
    // and hands back an emptied one; otherwise each message is copied into its Sender's queue
    // and the buffer comes back for the next swap.
    mutable std::mutex submit_mu_;
    std::vector<std::uint8_t> submitted_;
    std::uint32_t submitted_stream_ = 0;  // the stream of submitted_'s first record
    bool submitted_mixed_ = false;        // ... and some record is for another stream
    std::size_t submitted_messages_ = 0;  // records in submitted_
    // Adopt only batches of messages this large on average: for small messages the copy is
    // cheap, while an adopted buffer goes cold in the queue and its replacement must be
    // faulted in (64 B messages were ~8 % slower adopted).
    static constexpr std::size_t kAdoptMinAverage = 256;
    std::vector<StreamQueue> stream_queues_;            // local streams sent on, in first-use order
    std::vector<std::uint8_t> draining_;                // loop thread: the batch being handed over
    std::vector<proto::MessageQueue::Extent> extents_;  // loop thread: scratch
    std::uint64_t handover_failures_ = 0;  // the endpoint refused a handed-over message
    double inject_loss_ = 0.0;
    proto::Rng inject_rng_{1};
    std::uint64_t injected_drops_ = 0;
    std::uint64_t send_dropped_ = 0;
    std::uint64_t send_failures_ = 0;
    // Datagrams the endpoint emitted during one core call, sent together afterwards (one
    // sendmmsg instead of a system call each). Under mu_: flush_inline() may transmit them
    // from another thread.
    std::vector<std::uint8_t> pending_out_;
    std::vector<std::size_t> pending_ends_;
    bool direct_ok_ = true;  // under mu_: libuv's send queue is empty
    UdpStats direct_;        // under mu_: what flush_inline() sent
    // The engine's deadline the timer was last armed for (a proto::Time count; max: none). The
    // timer may be armed earlier (FineTimer keeps an earlier deadline), never later. Written by
    // rearm() under mu_, read by flush_inline() under mu_.
    std::atomic<std::int64_t> armed_deadline_ns_{INT64_MAX};
    std::atomic<std::int64_t> last_handover_ns_{0};  // see last_handover_ns()
};

}  // namespace blip::io
