// One endpoint + one socket + one timer on a libuv loop (see channel_driver.h). The protocol
// logic stays in src/proto; this file only feeds it time and I/O.
#include "io/channel_driver.h"

#include <blip/blip.h>

#include <cstring>
#include <new>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "common/errors.h"
#include "io/clock.h"
#include "io/result.h"

namespace blip::io {

namespace {

// Holds the driver's lock and marks this thread as inside the endpoint for the guard's lifetime,
// so that a callback reaching back into the driver is refused instead of re-entering the
// endpoint mid-update (or deadlocking on the lock).
class CoreGuard {
public:
    CoreGuard(std::mutex& mu, std::atomic<std::thread::id>& owner)
        : CoreGuard(std::unique_lock<std::mutex>(mu), owner) {}
    // Takes over a lock the caller already holds (flush_inline() only try-locks).
    CoreGuard(std::unique_lock<std::mutex> held, std::atomic<std::thread::id>& owner)
        : lock_(std::move(held)), owner_(owner) {
        owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    }
    ~CoreGuard() { owner_.store(std::thread::id{}, std::memory_order_relaxed); }
    CoreGuard(const CoreGuard&) = delete;
    CoreGuard& operator=(const CoreGuard&) = delete;

private:
    std::unique_lock<std::mutex> lock_;
    std::atomic<std::thread::id>& owner_;
};

void add(proto::SenderStats& a, const proto::SenderStats& b) noexcept {
    a.messages_sent += b.messages_sent;
    a.bytes_sent += b.bytes_sent;
    a.datagrams_sent += b.datagrams_sent;
    a.heartbeats_sent += b.heartbeats_sent;
    a.naks_received += b.naks_received;
    a.nak_datagrams_requested += b.nak_datagrams_requested;
    a.repairs_sent += b.repairs_sent;
    a.repairs_coalesced += b.repairs_coalesced;
    a.unavailable_sent += b.unavailable_sent;
    a.naks_ignored += b.naks_ignored;
    a.statuses_received += b.statuses_received;
    a.statuses_ignored += b.statuses_ignored;
    a.flow_stalls += b.flow_stalls;
    a.flow_timeouts += b.flow_timeouts;
    a.flow_probes += b.flow_probes;
}

void add(proto::NakSchedulerStats& a, const proto::NakSchedulerStats& b) noexcept {
    a.naks_suppressed += b.naks_suppressed;
    a.retries += b.retries;
    a.rtt_samples += b.rtt_samples;
}

void add(proto::ReceiverStats& a, const proto::ReceiverStats& b) noexcept {
    a.datagrams += b.datagrams;
    a.repairs += b.repairs;
    a.duplicates += b.duplicates;
    a.out_of_order += b.out_of_order;
    a.buffer_evictions += b.buffer_evictions;
    a.implausible += b.implausible;
    a.naks_sent += b.naks_sent;
    a.nak_datagrams += b.nak_datagrams;
    a.messages += b.messages;
    a.bytes += b.bytes;
    a.loss_events += b.loss_events;
    a.messages_lost += b.messages_lost;
    a.datagrams_lost += b.datagrams_lost;
    a.protocol_errors += b.protocol_errors;
    a.statuses_sent += b.statuses_sent;
}

// A record of submitted_: [stream u32][length u32][the message's bytes].
constexpr std::size_t kRecordHead = 8;
struct RecordHead {
    std::uint32_t stream = 0;
    std::uint32_t length = 0;
};
RecordHead read_record_head(const std::vector<std::uint8_t>& records, std::size_t at) noexcept {
    RecordHead h;
    std::memcpy(&h.stream, records.data() + at, 4);
    std::memcpy(&h.length, records.data() + at + 4, 4);
    return h;
}

}  // namespace

std::uint64_t status_credit(int recv_buffer, std::size_t datagram_size) noexcept {
    // The kernel charges a datagram's whole buffer to the socket (skb truesize): its payload
    // and headers rounded up to a power of two, plus the skb itself. Measured on loopback:
    // 832 bytes for 64-byte datagrams, 2,304 for 1,400, 16,640 for 8,000.
    std::size_t truesize = 512;
    while (truesize < datagram_size + 256) truesize *= 2;
    truesize += 256;
    // Half the buffer: the rest is for other senders, NAKs, reports and repairs.
    const std::uint64_t credit =
        static_cast<std::uint64_t>(std::max(recv_buffer, 0)) / 2 / truesize;
    return std::max<std::uint64_t>(credit, 4);
}

// close() waits for three close callbacks (timer, socket, busy poller). The join lives on the heap,
// not in the driver, so the callbacks never touch the driver itself.
struct ChannelDriver::CloseJoin {
    int pending = 3;
    std::function<void()> done;

    static void arrive(CloseJoin* j) {
        if (--j->pending > 0) return;
        std::function<void()> done = std::move(j->done);
        delete j;
        if (done) done();
    }
};

// The core is deterministic for a given seed, which the simulator needs and a real process
// must not have: two processes with the default seed would draw the same NAK back-offs
// (defeating suppression) and a restart would reuse its session id (hiding the restart).
// So a real channel takes its randomness from the system, unless the caller pinned a seed;
// the session id is always fresh unless given explicitly.
proto::EndpointConfig ChannelDriver::with_entropy(proto::EndpointConfig cfg, bool pin_seed) {
    std::random_device rd;
    auto random64 = [&rd] { return (std::uint64_t{rd()} << 32) ^ rd(); };
    if (!pin_seed && (cfg.seed == 0 || cfg.seed == proto::EndpointConfig{}.seed)) {
        cfg.seed = random64();
    }
    if (cfg.session_id == 0) cfg.session_id = random64() | 1;
    if (cfg.node_id == 0) cfg.node_id = random64() | 1;
    return cfg;
}

ChannelDriver::~ChannelDriver() {
    if (state_ == State::kOpen) close(nullptr);
}

int ChannelDriver::open(uv_loop_t* loop, const DriverOptions& opts, std::string* err) {
    if (state_ != State::kIdle) {
        return fail(err, BLIP_ESTATE, "channel driver: open() may be called once");
    }
    if (loop == nullptr) return fail(err, BLIP_EINVAL, "channel driver: no loop");
    if (const std::string why = proto::validate(opts.endpoint); !why.empty()) {
        return fail(err, BLIP_EINVAL, "invalid endpoint configuration: " + why);
    }
    // Written so that NaN fails too.
    if (!(opts.inject_loss >= 0.0 && opts.inject_loss <= 1.0)) {
        return fail(err, BLIP_EINVAL, "channel driver: inject_loss must be within 0..1");
    }

    const proto::Time now = clock_now();
    // The private base is only reachable from inside the class, so convert here, not in
    // make_unique.
    proto::Output& out = *this;
    try {
        endpoint_ =
            std::make_unique<proto::Endpoint>(with_entropy(opts.endpoint, opts.pin_seed), out, now);
    } catch (const std::bad_alloc&) {
        return fail(err, BLIP_ENOMEM, "channel driver: out of memory");
    } catch (const std::invalid_argument& e) {  // validate() passed, so this would be a bug
        return fail(err, BLIP_EINTERNAL, std::string("channel driver: ") + e.what());
    }

    // The socket first: the timer cannot fail to initialise, so a failed open leaves nothing
    // of ours to close.
    // Errors no call returns (a failed receive, a queued send failing later) arrive outside
    // the core, so the owner's staged work is handed on right after.
    socket_.on_error = [this](int code, const std::string& what) {
        if (state_ != State::kOpen || !on_socket_error) return;
        on_socket_error(code, what);
        core_done();
    };
    int rc = timer_.open(
        loop, [this] { on_timer(); }, err);
    if (rc != 0) {
        endpoint_.reset();
        return rc;
    }
    rc = socket_.open(
        loop, opts.udp, [this](std::span<const std::uint8_t> d) { on_datagram(d); }, &udp_info_,
        err);
    if (rc != 0) {
        endpoint_.reset();
        timer_.close(nullptr);
        return rc;
    }

    // The receivers' credit is not known before their first report: assume they got the same
    // buffer as we did.
    const std::uint64_t credit =
        status_credit(udp_info_.recv_buffer, opts.endpoint.sender.datagram_size);
    endpoint_->set_status_credit(credit);
    endpoint_->set_initial_credit(credit);
    busy_.open(loop, opts.busy_poll);  // cannot fail: the loop is there
    loop_ = loop;
    send_cfg_ = opts.endpoint.sender;
    inject_loss_ = opts.inject_loss;
    inject_rng_ = proto::Rng(opts.inject_seed);
    state_ = State::kOpen;
    rearm();
    return BLIP_OK;
}

bool ChannelDriver::in_core_on_this_thread() const noexcept {
    return core_thread_.load(std::memory_order_relaxed) == std::this_thread::get_id();
}

ChannelDriver::StreamQueue* ChannelDriver::stream_queue_locked(std::uint32_t stream) {
    for (StreamQueue& q : stream_queues_) {
        if (q.stream == stream) return &q;
    }
    stream_queues_.push_back(StreamQueue{});
    stream_queues_.back().stream = stream;
    return &stream_queues_.back();
}

int ChannelDriver::enqueue(std::uint32_t stream, std::span<const std::uint8_t> data,
                           std::uint64_t* mseq, bool* was_idle) {
    if (in_core_on_this_thread()) return BLIP_ESTATE;  // from inside a callback: see the header
    const State st = state_.load();
    if (st == State::kClosed) return BLIP_ECLOSED;
    if (st != State::kOpen) return BLIP_ESTATE;
    // The same tests, in the same order, as proto::Sender::submit().
    if (data.size() > send_cfg_.max_message_size) return BLIP_EMSGSIZE;
    std::lock_guard<std::mutex> lock(submit_mu_);
    try {
        StreamQueue* q = stream_queue_locked(stream);
        if (q->messages >= send_cfg_.queue_max_messages ||
            q->bytes + data.size() > send_cfg_.queue_max_bytes) {
            return BLIP_EAGAIN;
        }
        if (was_idle != nullptr) *was_idle = q->messages == 0;
        const auto len = static_cast<std::uint32_t>(data.size());
        std::uint8_t head[kRecordHead];
        std::memcpy(head, &stream, 4);
        std::memcpy(head + 4, &len, 4);
        const bool first = submitted_.empty();
        // insert(), not resize() and a copy: resize would zero the bytes first.
        submitted_.insert(submitted_.end(), head, head + kRecordHead);
        submitted_.insert(submitted_.end(), data.begin(), data.end());
        if (first) {
            submitted_stream_ = stream;
            submitted_mixed_ = false;
            submitted_messages_ = 0;
        } else if (stream != submitted_stream_) {
            submitted_mixed_ = true;
        }
        ++submitted_messages_;
        if (mseq != nullptr) *mseq = q->next_mseq;
        ++q->next_mseq;
        q->bytes += data.size();
        ++q->messages;
        q->fresh_bytes += data.size();
        ++q->fresh_messages;
    } catch (const std::bad_alloc&) {
        return BLIP_ENOMEM;
    }
    return BLIP_OK;
}

void ChannelDriver::recount_queues_locked() {
    std::lock_guard<std::mutex> lock(submit_mu_);
    for (StreamQueue& q : stream_queues_) {
        const proto::Sender* snd = endpoint_->sender(q.stream);
        q.bytes = q.fresh_bytes + (snd != nullptr ? snd->queued_bytes() : 0);
        q.messages = q.fresh_messages + (snd != nullptr ? snd->queued_messages() : 0);
    }
}

int ChannelDriver::send(std::uint32_t stream, std::span<const std::uint8_t> data,
                        std::uint64_t* mseq) {
    const int rc = enqueue(stream, data, mseq);
    if (rc == BLIP_OK) flush();
    return rc;
}

bool ChannelDriver::adopt_locked(proto::Time now, std::uint32_t stream) {
    try {
        extents_.clear();
        for (std::size_t at = 0; at < draining_.size();) {
            const RecordHead h = read_record_head(draining_, at);
            extents_.push_back(proto::MessageQueue::Extent{at + kRecordHead, h.length});
            at += kRecordHead + std::size_t{h.length};
        }
        if (endpoint_->send_adopted(now, stream, draining_, extents_) != proto::Status::kOk) {
            return false;
        }
        draining_.clear();  // moved from: its storage is the Sender's now
    } catch (const std::bad_alloc&) {
        return false;  // before the Sender took anything: the message-by-message path retries
    }
    return true;
}

void ChannelDriver::hand_over_locked(proto::Time now) {
    bool adopt = false;
    std::uint32_t adopt_stream = 0;
    {
        // Under mu_ too, so stats() sees each message either buffered or in its Sender.
        std::lock_guard<std::mutex> lock(submit_mu_);
        draining_.swap(submitted_);
        adopt = !draining_.empty() && !submitted_mixed_ &&
                draining_.size() >= kAdoptMinAverage * submitted_messages_;
        adopt_stream = submitted_stream_;
        for (StreamQueue& q : stream_queues_) q.fresh_bytes = q.fresh_messages = 0;
    }
    if (!draining_.empty()) last_handover_ns_.store(now.count(), std::memory_order_relaxed);
    const bool adopted = adopt && adopt_locked(now, adopt_stream);
    for (std::size_t at = 0; at < draining_.size();) {
        const RecordHead h = read_record_head(draining_, at);
        proto::Status st = proto::Status::kOk;
        try {
            st = endpoint_->send(now, h.stream, {draining_.data() + at + kRecordHead, h.length},
                                 nullptr);
        } catch (const std::bad_alloc&) {
            st = proto::Status::kInvalid;
        }
        // enqueue() applied the Sender's own limits, so a refusal here would be a bug (or
        // out of memory); it is counted, never silent.
        if (st != proto::Status::kOk) ++handover_failures_;
        at += kRecordHead + std::size_t{h.length};
    }
    draining_.clear();
    endpoint_->flush(now);
    // After the flush, which emptied what it sent: the buffer that enqueue() fills next (the
    // swap above) is one the Sender is done with, grown to a batch's size already; a fresh
    // one would grow by reallocating into memory the kernel must fault in.
    if (adopted && draining_.capacity() == 0) {
        draining_ = endpoint_->take_spare_buffer(adopt_stream);
    }
    recount_queues_locked();
}

void ChannelDriver::flush() {
    if (state_ != State::kOpen || in_core_on_this_thread()) return;
    {
        CoreGuard guard(mu_, core_thread_);
        hand_over_locked(clock_now());
    }
    transmit_pending();
    rearm();
    core_done();
}

bool ChannelDriver::flush_inline() {
    if (state_ != State::kOpen || in_core_on_this_thread()) return false;
    std::unique_lock<std::mutex> lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) return false;  // the loop thread is busy: it will batch this
    // Datagrams already emitted, or waiting in libuv's queue, must leave first: the loop's job.
    if (state_ != State::kOpen || !direct_ok_ || !pending_ends_.empty()) return false;
    const CoreGuard guard(std::move(lock), core_thread_);
    const proto::Time now = clock_now();
    hand_over_locked(now);
    bool done = true;
    if (!pending_ends_.empty()) {
        const int sent = socket_.send_direct(pending_out_, pending_ends_, &direct_);
        const std::size_t n = sent > 0 ? static_cast<std::size_t>(sent) : 0;
        if (n == pending_ends_.size()) {
            pending_out_.clear();
            pending_ends_.clear();
        } else {  // socket buffer full: the loop thread queues the rest, in order
            if (n > 0) {
                const std::size_t cut = pending_ends_[n - 1];
                pending_out_.erase(pending_out_.begin(),
                                   pending_out_.begin() + static_cast<std::ptrdiff_t>(cut));
                pending_ends_.erase(pending_ends_.begin(),
                                    pending_ends_.begin() + static_cast<std::ptrdiff_t>(n));
                for (std::size_t& e : pending_ends_) e -= cut;
            }
            done = false;
        }
    }
    if (done) {
        const proto::Time next = endpoint_->next_deadline(now);
        const std::int64_t armed = armed_deadline_ns_.load(std::memory_order_relaxed);
        if (next.count() < armed) {
            // Earlier than the armed timer (say, a heartbeat soon after this datagram): the loop
            // thread re-arms.
            done = false;
        } else if (next.count() > armed && timer_.postpone_to(next)) {
            // Later: a lone sender pushes its heartbeat back with every message, and the timer
            // armed for the old one would wake the loop thread for nothing, on this core, at
            // about the time of the next send. One system call here costs less.
            armed_deadline_ns_.store(next.count(), std::memory_order_relaxed);
        }
    }
    return done;
}

void ChannelDriver::core_done() {
    if (state_ == State::kOpen && on_core_done) on_core_done();
}

bool ChannelDriver::writable(std::size_t need) const {
    if (state_.load() == State::kIdle) return false;
    std::lock_guard<std::mutex> lock(submit_mu_);
    for (const StreamQueue& q : stream_queues_) {
        // The same test as enqueue(), so that "writable" means the send would pass.
        if (q.bytes + need > send_cfg_.queue_max_bytes ||
            q.messages >= send_cfg_.queue_max_messages) {
            return false;
        }
    }
    return true;
}

bool ChannelDriver::all_sent() const {
    std::lock_guard<std::mutex> lock(submit_mu_);
    for (const StreamQueue& q : stream_queues_) {
        if (q.messages > 0) return false;
    }
    return true;
}

void ChannelDriver::inspect(const std::function<void(const proto::Endpoint&)>& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (endpoint_) fn(*endpoint_);
}

UdpStats ChannelDriver::socket_stats_locked() const {
    UdpStats s = socket_.stats();
    s.datagrams_sent += direct_.datagrams_sent;
    s.packets_sent += direct_.packets_sent;
    s.gso_sends += direct_.gso_sends;
    return s;
}

std::optional<std::uint64_t> ChannelDriver::kernel_drops() const {
    const std::optional<std::uint64_t> drops = socket_.kernel_drops();
    if (!drops || !socket_.drops_own()) return drops;
    // The kernel counts the packets our own filter drops (each one we sent, looped back) as
    // receive drops too; they are not losses. A run sent with segmentation offload comes back
    // as one packet if the socket takes runs whole, else cut into its datagrams. One still on
    // its way back is not counted yet, so the difference is clamped (it may read a few low for
    // a moment, never high).
    std::uint64_t own = 0;
    {
        std::lock_guard<std::mutex> lock(mu_);
        const UdpStats sent = socket_stats_locked();
        own = socket_.receives_runs() ? sent.packets_sent : sent.datagrams_sent;
    }
    return *drops > own ? *drops - own : 0;
}

void ChannelDriver::close(std::function<void()> done) {
    std::unique_lock<std::mutex> lock(mu_, std::defer_lock);
    // From inside a callback this thread already holds the lock (state_ is then only read by
    // the loop thread and by enqueue() under the lock it waits for).
    if (!in_core_on_this_thread()) lock.lock();
    if (state_ != State::kOpen) {
        // Never opened, or already closed (the first close's `done` is still pending).
        state_ = State::kClosed;
        if (lock.owns_lock()) lock.unlock();
        if (done) done();
        return;
    }
    state_ = State::kClosed;
    if (lock.owns_lock()) lock.unlock();
    auto* join = new CloseJoin;
    join->done = std::move(done);
    timer_.close([join] { CloseJoin::arrive(join); });
    socket_.close([join] { CloseJoin::arrive(join); });
    busy_.close([join] { CloseJoin::arrive(join); });
}

void ChannelDriver::on_timer() {
    if (state_ != State::kOpen) return;
    {
        CoreGuard guard(mu_, core_thread_);
        endpoint_->on_timer(clock_now());
        // A rate-limited Sender transmits queued data on its timer.
        if (!stream_queues_.empty()) recount_queues_locked();
    }
    transmit_pending();
    rearm();
    core_done();
}

void ChannelDriver::on_datagram(std::span<const std::uint8_t> datagram) {
    if (state_ != State::kOpen) return;
    if (inject_loss_ > 0.0 && inject_rng_.uniform() < inject_loss_) {
        ++injected_drops_;
        return;
    }
    const proto::Time now = clock_now();
    {
        CoreGuard guard(mu_, core_thread_);
        endpoint_->on_datagram(now, datagram);
    }
    busy_.touch(now);
    transmit_pending();
    rearm();
    core_done();
}

void ChannelDriver::rearm() {
    if (state_ != State::kOpen) return;  // closed from inside a callback
    proto::Time now = clock_now();
    proto::Time deadline;
    {
        CoreGuard guard(mu_, core_thread_);
        deadline = endpoint_->next_deadline(now);
        // Under the lock: a flush_inline() that runs after this compares with this deadline,
        // one that ran before changed the engine before it was computed.
        armed_deadline_ns_.store(deadline.count(), std::memory_order_relaxed);
    }
    // Microsecond resolution: a 20 us NAK back-off waits 20 us, not libuv's 1 ms.
    timer_.arm_at(deadline);
}

void ChannelDriver::send_datagram(std::span<const std::uint8_t> datagram) {
    if (state_ != State::kOpen) return;
    pending_out_.insert(pending_out_.end(), datagram.begin(), datagram.end());
    pending_ends_.push_back(pending_out_.size());
}

void ChannelDriver::transmit_pending() {
    CoreGuard guard(mu_, core_thread_);  // flush_inline() may send from another thread
    if (!pending_ends_.empty() && state_ == State::kOpen) {
        const UdpSocket::BatchResult r = socket_.send_batch(pending_out_, pending_ends_);
        // A refused datagram is lost as the network could lose it: the protocol repairs it.
        send_dropped_ += r.dropped;
        send_failures_ += r.failed;
        if (r.failed > 0 && on_socket_error) {
            on_socket_error(r.first_error, std::string("send: ") + error_message(r.first_error));
        }
    }
    pending_out_.clear();
    pending_ends_.clear();
    // libuv's queue may also have drained since (its send callbacks): checked every time.
    direct_ok_ = state_ == State::kOpen && socket_.pending_sends() == 0;
}

void ChannelDriver::deliver(const proto::MessageInfo& info, std::span<const std::uint8_t> data) {
    if (state_ == State::kOpen && on_message) on_message(info, data);
}

void ChannelDriver::event(const proto::Event& ev) {
    if (state_ == State::kOpen && on_event) on_event(ev);
}

DriverStats ChannelDriver::stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    DriverStats s;
    if (endpoint_) {
        s.endpoint = endpoint_->stats();
        std::lock_guard<std::mutex> submit_lock(submit_mu_);
        for (const StreamQueue& q : stream_queues_) {
            if (const proto::Sender* snd = endpoint_->sender(q.stream)) {
                add(s.senders, snd->stats());
                s.flow_receivers += snd->flow_receivers();
            }
            // Accepted but still in the submission buffer: sent, as far as the caller knows.
            s.senders.messages_sent += q.fresh_messages;
            s.senders.bytes_sent += q.fresh_bytes;
            s.send_queue_messages += q.messages;
            s.send_queue_bytes += q.bytes;
        }
        endpoint_->for_each_receiver([&](const proto::Receiver& r, bool /*inactive*/) {
            add(s.receivers, r.stats());
            add(s.naks, r.nak_stats());
            ++s.remote_senders;
        });
    }
    if (endpoint_) s.status_credit = endpoint_->config().receiver.status_credit;
    s.socket = socket_stats_locked();
    s.datagrams_sent_inline = direct_.datagrams_sent;
    s.injected_drops = injected_drops_;
    s.busy_poll_spins = busy_.spins();
    s.send_dropped = send_dropped_;
    s.send_failures = send_failures_ + handover_failures_;
    return s;
}

std::uint64_t ChannelDriver::node_id() const noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    return endpoint_ ? endpoint_->node_id() : 0;
}

}  // namespace blip::io
