// Channel: threading, callbacks and the receive queue around a ChannelDriver (see channel.h).
#include "io/channel.h"

#include <blip/blip.h>

#include <algorithm>
#include <chrono>
#include <new>
#include <string_view>
#include <utility>

#include "io/clock.h"
#include "io/net_address.h"

namespace blip::io {

namespace {

int event_type(proto::EventType t) noexcept {
    switch (t) {
        case proto::EventType::kLoss:
            return BLIP_EVENT_LOSS;
        case proto::EventType::kSenderNew:
            return BLIP_EVENT_SENDER_NEW;
        case proto::EventType::kSenderRestarted:
            return BLIP_EVENT_SENDER_RESTARTED;
        case proto::EventType::kSenderInactive:
            return BLIP_EVENT_SENDER_INACTIVE;
        case proto::EventType::kSenderActive:
            return BLIP_EVENT_SENDER_ACTIVE;
        case proto::EventType::kSenderRemoved:
            return BLIP_EVENT_SENDER_REMOVED;
    }
    return 0;
}

int loss_reason(proto::LossReason r) noexcept {
    switch (r) {
        case proto::LossReason::kLeftWindow:
            return BLIP_LOSS_LEFT_WINDOW;
        case proto::LossReason::kSenderGone:
            return BLIP_LOSS_SENDER_GONE;
        case proto::LossReason::kGaveUp:
            return BLIP_LOSS_GAVE_UP;
        case proto::LossReason::kRejected:
            return BLIP_LOSS_REJECTED;
    }
    return 0;
}

constexpr proto::Duration kErrorReportInterval = std::chrono::seconds(1);

// A send this long after the previous one is "lone": worth transmitting from the calling thread
// (see Channel::send). Shorter gaps are a burst, which the loop thread batches into fewer
// datagrams (a hand-off costs about this much, so a burst loses nothing by waiting for it).
constexpr std::chrono::nanoseconds kLoneGap = std::chrono::microseconds(50);

// > 0 while this thread runs an application callback (of any channel, any context).
thread_local int t_callback_depth = 0;

// proto::validate() names the core's fields; the application knows the option names.
std::string in_option_names(std::string why) {
    static const std::pair<std::string_view, std::string_view> kNames[] = {
        {"sender max_message_size", "max_message_size"},
        {"receiver max_message_size", "max_message_size"},
        {"window_max_bytes", "window_bytes"},
        {"window_max_messages", "window_messages"},
        {"queue_max_bytes", "send_queue_bytes"},
        {"queue_max_messages", "send_queue_messages"},
        {"heartbeat_min", "heartbeat_min_us"},
        {"heartbeat_max", "heartbeat_max_us"},
        {"repair_holdoff", "repair_holdoff_us"},
        {"repair_timeout", "repair_timeout_us"},
        {"repair_timeout_min", "repair_timeout_min_us"},
        {"nak_retry_max", "nak_retry_max_us"},
        {"sender_timeout", "sender_timeout_ms"},
        {"sender_forget", "sender_forget_ms"},
    };
    std::string out;
    std::size_t i = 0;
    while (i < why.size()) {
        bool replaced = false;
        for (const auto& [core, option] : kNames) {
            const bool starts_word = i == 0 || why[i - 1] == ' ';
            const std::size_t end = i + core.size();
            if (end > why.size()) continue;
            const bool ends_word =
                end == why.size() || why[end] == ' ' || why[end] == ',' || why[end] == '.';
            if (starts_word && ends_word && why.compare(i, core.size(), core) == 0) {
                out += option;
                i = end;
                replaced = true;
                break;
            }
        }
        if (!replaced) out += why[i++];
    }
    return out;
}

}  // namespace

Channel::Channel(EventLoop& loop, Callback cb, const ChannelConfig& cfg)
    : loop_(loop),
      cb_(std::move(cb)),
      default_stream_(cfg.stream),
      queue_(cfg.receive_queue_messages, cfg.receive_queue_bytes) {}

Channel::~Channel() {
    if (!closed_.load()) close();
}

int Channel::open(EventLoop& loop, const ChannelConfig& cfg, Callback cb,
                  std::unique_ptr<Channel>* out, std::string* err) {
    if (cfg.group.empty()) {
        return fail(err, BLIP_EINVAL,
                    "option 'group' is required: a multicast address such as 239.1.2.3 or ff12::1");
    }
    if (cfg.port == 0) return fail(err, BLIP_EINVAL, "option 'port' is required (1..65535)");
    if (cfg.interface.empty()) {
        return fail(err, BLIP_EINVAL,
                    "option 'interface' is required: the interface to join on, by name, index or "
                    "address (e.g. lo or 127.0.0.1); Blip never guesses it");
    }
    Result<std::vector<Interface>> interfaces = list_interfaces();
    if (!interfaces.ok()) return fail(err, interfaces.code, interfaces.message);
    Result<GroupAddress> group = parse_group(cfg.group, cfg.port, *interfaces.value);
    if (!group.ok()) return fail(err, group.code, "option 'group': " + group.message);
    Result<ResolvedInterface> itf =
        resolve_interface(cfg.interface, group.value->family, *interfaces.value);
    if (!itf.ok()) return fail(err, itf.code, "option 'interface': " + itf.message);

    DriverOptions o;
    o.udp.group = group.value->addr;
    o.udp.interface = itf.value->ipv4;
    o.udp.interface_index = itf.value->index;
    o.udp.ttl = cfg.ttl;
    o.udp.loopback = cfg.loopback;
    o.udp.reuse_port = cfg.reuse_port;
    o.udp.segmentation_offload = cfg.segmentation_offload;
    o.udp.recv_buffer = cfg.recv_buffer;
    o.udp.send_buffer = cfg.send_buffer;
    o.endpoint = cfg.endpoint;
    o.endpoint.seed = cfg.seed;
    o.pin_seed = cfg.seed != 0;
    o.inject_loss = cfg.inject_loss;
    o.inject_seed = cfg.inject_seed;
    o.busy_poll = cfg.busy_poll;

    if (std::string why = proto::validate(o.endpoint); !why.empty()) {
        return fail(err, BLIP_EINVAL, "invalid options: " + in_option_names(std::move(why)));
    }

    std::unique_ptr<Channel> ch(new (std::nothrow) Channel(loop, std::move(cb), cfg));
    if (!ch) return fail(err, BLIP_ENOMEM, "out of memory");
    if (const int rc = ch->queue_.init(err); rc != BLIP_OK) return rc;
    ch->driver_.reset(new (std::nothrow) ChannelDriver);
    if (!ch->driver_) return fail(err, BLIP_ENOMEM, "out of memory");
    Channel* self = ch.get();
    ChannelDriver& d = *ch->driver_;
    d.on_message = [self](const proto::MessageInfo& info, std::span<const std::uint8_t> data) {
        self->stage_message(info, data);
    };
    d.on_event = [self](const proto::Event& e) {
        auto ev = std::make_unique<ChannelEvent>();
        ev->type = event_type(e.type);
        ev->from = e.from;
        if (e.type == proto::EventType::kLoss) {
            ev->reason = loss_reason(e.reason);
            ev->sequence = e.first_mseq;
            ev->count = e.count;
            ev->open_ended = e.open_ended;
        }
        ev->old_session = e.old_session;
        self->stage(std::move(ev));
    };
    d.on_socket_error = [self](int code, const std::string& what) {
        self->on_socket_error(code, what);
    };
    d.on_core_done = [self] { self->on_core_done(); };
    if (const int rc = d.open(loop.uv(), o, err); rc != BLIP_OK) {
        if (err != nullptr && rc != BLIP_EINVAL) *err = group.value->text + ": " + *err;
        return rc;
    }
    ch->node_id_ = d.node_id();
    d.inspect([&](const proto::Endpoint& e) { ch->session_id_ = e.session_id(); });
    for (const std::string& w : d.udp_info().warnings) {
        auto ev = std::make_unique<ChannelEvent>();
        ev->type = BLIP_EVENT_WARNING;
        ev->text = w;
        ch->stage(std::move(ev));
    }
    // Callback mode: warnings reach the callback once open() has returned the handle.
    if (ch->cb_ && !ch->staged_.empty()) loop.post([self] { self->dispatch(); });
    *out = std::move(ch);
    return BLIP_OK;
}

void Channel::stage(std::unique_ptr<ChannelEvent> ev) {
    if (cb_) {
        staged_.add_event(std::move(ev));
    } else {
        queue_.push(std::move(ev));
    }
}

void Channel::stage_message(const proto::MessageInfo& info, std::span<const std::uint8_t> data) {
    if (cb_) {
        staged_.add_message(info, data);
        return;
    }
    auto ev = std::make_unique<ChannelEvent>();
    ev->type = BLIP_EVENT_MESSAGE;
    ev->from = info.from;
    ev->sequence = info.mseq;
    ev->data.assign(data.begin(), data.end());
    queue_.push(std::move(ev));
}

void Channel::dispatch() {
    if (dispatching_ || !cb_) return;  // a callback's own send() ends up here: the outer loop
    dispatching_ = true;               // picks up what it staged
    while (!staged_.empty() && !closed_.load()) {
        dispatching_batch_.swap(staged_);
        dispatching_batch_.for_each(
            [this](const ChannelEvent& ev, std::span<const std::uint8_t> payload) {
                if (closed_.load()) return false;
                ++t_callback_depth;
                cb_(ev, payload);
                --t_callback_depth;
                return true;
            });
        dispatching_batch_.clear();
    }
    dispatching_ = false;
}

void Channel::on_core_done() {
    dispatch();
    notify_waiters();
}

void Channel::on_socket_error(int code, const std::string& what) {
    const proto::Time now = clock_now();
    if (error_reported_ && now - last_error_report_ < kErrorReportInterval) {
        ++errors_suppressed_;
        return;
    }
    auto ev = std::make_unique<ChannelEvent>();
    ev->type = BLIP_EVENT_SOCKET_ERROR;
    ev->error = code;
    ev->text = what;
    ev->suppressed = std::exchange(errors_suppressed_, 0);
    error_reported_ = true;
    last_error_report_ = now;
    stage(std::move(ev));
}

void Channel::notify_waiters() {
    if (waiters_.load() == 0) return;
    std::lock_guard<std::mutex> lock(wait_mu_);
    wait_cv_.notify_all();
}

int Channel::send(std::uint32_t stream, std::span<const std::uint8_t> data, std::uint64_t* seq) {
    // On the loop thread (a callback, the embedding loop) transmit at once. From other threads:
    // a lone message (none sent in the last kLoneGap, and none of its stream still waiting to
    // be transmitted) is transmitted by this thread if the engine is free, saving the wake-up
    // of the loop thread; otherwise it is only queued, and one flush task per burst lets the
    // loop thread batch what was sent before it runs (a sender held back by a full queue thus
    // never packs the backlog itself).
    const bool on_loop = loop_.on_loop_thread();
    bool sent_inline = false;
    const int rc = with_driver([&](ChannelDriver& d) {
        if (on_loop) return d.send(stream, data, seq);
        bool was_idle = false;
        const int r = d.enqueue(stream, data, seq, &was_idle);
        // Only a send that finds its stream idle can be lone, and only it reads the clock (a
        // clock read costs tens of ns on a VM, a sizeable part of a queued small message).
        // "Nothing sent in the last kLoneGap" is then: no idle send stamped last_send_ns_, and
        // no hand-over of queued sends to the engine, in that time (a queued send is handed
        // over after it was made, so the hand-over's time stands in for it).
        if (r == BLIP_OK && was_idle) {
            const std::int64_t now = clock_now().count();
            const std::int64_t last = std::max(
                last_send_ns_.exchange(now, std::memory_order_relaxed), d.last_handover_ns());
            if (now - last >= kLoneGap.count()) sent_inline = d.flush_inline();
        }
        return r;
    });
    if (rc == BLIP_EAGAIN) blocked_len_.store(data.size());
    if (rc == BLIP_OK) blocked_len_.store(0);
    if (sent_inline) {
        notify_waiters();  // wait_sent() may be satisfied now
    } else if (rc == BLIP_OK && !on_loop && !flush_posted_.exchange(true)) {
        loop_.post([this] {
            flush_posted_.store(false);
            if (!closed_.load()) driver_->flush();
        });
    }
    return rc;
}

int Channel::wait_until(int timeout_ms, const std::function<bool(const ChannelDriver&)>& ready) {
    auto check = [&] { return with_driver([&](ChannelDriver& d) { return ready(d) ? 1 : 0; }); };
    int st = check();
    if (st != 0) return st < 0 ? st : BLIP_OK;
    if (timeout_ms == 0) return BLIP_ETIMEDOUT;
    if (loop_.on_loop_thread()) return BLIP_ESTATE;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max(timeout_ms, 0));
    ++waiters_;
    std::unique_lock<std::mutex> lock(wait_mu_);
    while ((st = check()) == 0) {
        auto slice = std::chrono::milliseconds(100);  // also covers a missed wake-up
        if (timeout_ms > 0) {
            const auto now = std::chrono::steady_clock::now();
            if (now >= deadline) break;
            slice = std::min(slice, std::chrono::duration_cast<std::chrono::milliseconds>(
                                        deadline - now + std::chrono::milliseconds(1)));
        }
        wait_cv_.wait_for(lock, slice);
    }
    --waiters_;
    if (st == 0) return BLIP_ETIMEDOUT;
    return st < 0 ? st : BLIP_OK;
}

int Channel::wait_writable(int timeout_ms) {
    const std::size_t need = blocked_len_.load();
    return wait_until(timeout_ms, [need](const ChannelDriver& d) { return d.writable(need); });
}

int Channel::wait_sent(int timeout_ms) {
    return wait_until(timeout_ms, [](const ChannelDriver& d) { return d.all_sent(); });
}

int Channel::receive(int timeout_ms, std::unique_ptr<ChannelEvent>* out) {
    if (cb_) return BLIP_ESTATE;
    if (timeout_ms != 0 && loop_.on_loop_thread()) {
        // Waiting here would stop the loop that fills the queue; a poll is fine.
        const int rc = queue_.pop(0, out);
        return rc == BLIP_EAGAIN ? BLIP_ESTATE : rc;
    }
    return queue_.pop(timeout_ms, out);
}

int Channel::fd(int* out) const {
    if (cb_) return BLIP_ESTATE;
    if (closed_.load()) return BLIP_ECLOSED;
    *out = queue_.fd();
    return BLIP_OK;
}

int Channel::identity(std::uint64_t* node, std::uint64_t* session) const {
    if (closed_.load()) return BLIP_ECLOSED;
    if (node != nullptr) *node = node_id_;
    if (session != nullptr) *session = session_id_;
    return BLIP_OK;
}

int Channel::close() {
    if (!loop_.owns_thread() && !loop_.on_loop_thread()) return BLIP_ESTATE;
    {
        std::lock_guard<std::mutex> lock(state_mu_);
        if (closed_.exchange(true)) return BLIP_ECLOSED;
    }
    queue_.close();
    notify_waiters();
    // On the loop thread this runs at once; from another thread it waits until the loop runs
    // it, so no callback of this channel can still be running when close() returns. If the
    // loop is already stopping, its before_stop step closes the driver.
    //
    // Except from a callback of another context: waiting for that loop could deadlock (its own
    // callback may be waiting for ours). closed_ is already set, so no callback of this channel
    // starts after this returns; one already running on the other loop may still finish.
    if (!loop_.on_loop_thread() && t_callback_depth > 0) {
        loop_.post([this] { close_on_loop(); });
        return BLIP_OK;
    }
    loop_.call([this] { close_on_loop(); });
    return BLIP_OK;
}

void Channel::close_on_loop() {
    staged_.release();
    if (!dispatching_) dispatching_batch_.release();  // else dispatch() is iterating it
    if (!driver_ || !driver_->is_open()) return;
    driver_->close(nullptr);
    // The engine's memory (retransmit window, buffers) goes as soon as the driver's frames have
    // left the stack: close() may run inside one of its callbacks.
    if (!loop_.post([this] { driver_.reset(); })) driver_.reset();
}

}  // namespace blip::io
