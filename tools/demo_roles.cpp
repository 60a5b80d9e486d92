// demo_roles.cpp - blip-demo's sender and receiver, each run in its own forked process over the
// public C API only. They measure; the parent (blip_demo.cpp) judges and prints.
#include "demo_roles.h"

#include <blip/blip.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "demo_payload.h"
#include "tool_common.h"

namespace demo {

namespace {

volatile std::sig_atomic_t g_stop = 0;

bool past(std::uint64_t deadline_ns) { return tools::monotonic_ns() >= deadline_ns; }

int ms_until(std::uint64_t deadline_ns) {
    const std::uint64_t now = tools::monotonic_ns();
    return now >= deadline_ns ? 0 : static_cast<int>((deadline_ns - now) / 1000000);
}

// A pipe write of at most PIPE_BUF bytes is atomic, so the parent never sees half a report.
template <typename T>
void write_all(int fd, const T& v) {
    static_assert(sizeof(T) <= 4096, "reports must fit PIPE_BUF");
    const auto* p = reinterpret_cast<const char*>(&v);
    std::size_t done = 0;
    while (done < sizeof v) {
        const ssize_t n = write(fd, p + done, sizeof v - done);
        if (n <= 0) return;  // the parent is gone: nobody to report to
        done += static_cast<std::size_t>(n);
    }
}

bool write_byte(int fd, char c) { return write(fd, &c, 1) == 1; }

void copy_text(char (&dst)[400], const std::string& src) {
    std::snprintf(dst, sizeof dst, "%s", src.c_str());
}

// Opens a pull-mode channel on the demo's group; on failure returns the code and fills `error`.
int open_channel(const Params& p, const std::vector<std::pair<std::string, std::string>>& extra,
                 blip_context_t** ctx, blip_channel_t** ch, char (&error)[400]) {
    blip_config_t* cfg = nullptr;
    int rc = blip_config_create(&cfg);
    if (rc != BLIP_OK) return rc;
    std::vector<std::pair<std::string, std::string>> opts = {
        {"group", p.group}, {"port", std::to_string(p.port)}, {"interface", p.interface}};
    opts.insert(opts.end(), extra.begin(), extra.end());
    for (const auto& [name, value] : opts) {
        rc = blip_config_set_string(cfg, name.c_str(), value.c_str());
        if (rc != BLIP_OK) break;
    }
    if (rc == BLIP_OK) rc = blip_context_create(ctx);
    if (rc == BLIP_OK) {
        rc = blip_channel_open(*ctx, cfg, ch);
        if (rc != BLIP_OK) {
            blip_context_destroy(*ctx);
            *ctx = nullptr;
        }
    }
    if (rc != BLIP_OK) copy_text(error, blip_config_error(cfg));
    blip_config_destroy(cfg);
    return rc;
}

// A counter by name; kUnknown if this library does not have it.
std::uint64_t stat(blip_channel_t* ch, const char* name) {
    std::uint64_t v = 0;
    return blip_channel_stat(ch, name, &v) == BLIP_OK ? v : kUnknown;
}

std::uint64_t percentile(std::vector<std::uint64_t>& v, double q) {
    if (v.empty()) return 0;
    const std::size_t k =
        std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

// Checks each event against the one expected stream: message `next` of the first sender heard.
class Verifier {
public:
    Verifier(const Params& p, int index, ReceiverReport& r) : p_(p), index_(index), r_(r) {
        latencies_.reserve(p.messages);
    }

    [[nodiscard]] bool complete() const { return next_ >= p_.messages; }

    void on_event(const blip_event_info_t& e) {
        if (e.type == BLIP_EVENT_MESSAGE) {
            on_message(e);
        } else if (e.type == BLIP_EVENT_LOSS || e.type == BLIP_EVENT_OVERRUN) {
            ++r_.loss_events;
            r_.lost += e.count;
            problem(std::string(e.type == BLIP_EVENT_LOSS ? "loss (" : "overrun (") +
                    (e.type == BLIP_EVENT_LOSS ? blip_loss_reason_name(e.reason) : "queue full") +
                    ") of messages " + std::to_string(e.sequence) + "+" + std::to_string(e.count));
            if (e.sequence == next_) next_ += e.count;
        } else if (e.type == BLIP_EVENT_WARNING || e.type == BLIP_EVENT_SOCKET_ERROR) {
            std::fprintf(stderr, "blip-demo: receiver %d: %s: %s\n", index_ + 1,
                         blip_event_type_name(e.type), e.text != nullptr ? e.text : "");
        }
    }

    void finish() {
        r_.lat_p50_ns = percentile(latencies_, 0.50);
        r_.lat_p99_ns = percentile(latencies_, 0.99);
        r_.lat_max_ns =
            latencies_.empty() ? 0 : *std::max_element(latencies_.begin(), latencies_.end());
        r_.seconds = r_.delivered > 1 ? static_cast<double>(last_ns_ - first_ns_) / 1e9 : 0.0;
    }

private:
    void on_message(const blip_event_info_t& e) {
        const std::uint64_t now = tools::monotonic_ns();
        if (r_.delivered == 0) {
            sender_ = e.node_id;
            first_ns_ = now;
        }
        last_ns_ = now;
        ++r_.delivered;
        r_.bytes += e.length;
        const auto* data = static_cast<const std::uint8_t*>(e.data);
        if (e.node_id != sender_) return problem("a message from a second sender");
        if (e.sequence != next_) {
            return problem("message " + std::to_string(e.sequence) + " arrived when " +
                           std::to_string(next_) + " was expected");
        }
        ++next_;
        if (e.length < kHeaderBytes) return problem("a message shorter than its header");
        if (const char* bad = verify(data, e.length, e.sequence, p_.max_size)) {
            return problem("message " + std::to_string(e.sequence) + ": " + bad);
        }
        const std::uint64_t sent = sent_at(data);
        latencies_.push_back(now > sent ? now - sent : 0);
    }

    void problem(const std::string& what) {
        if (r_.in_order) copy_text(r_.error, what);  // keep the first: it explains the rest
        r_.in_order = false;
    }

    const Params& p_;
    int index_;
    ReceiverReport& r_;
    std::uint64_t sender_ = 0;
    std::uint64_t next_ = 0;
    std::uint64_t first_ns_ = 0;
    std::uint64_t last_ns_ = 0;
    std::vector<std::uint64_t> latencies_;
};

// Paces the sender itself (Blip's rate_limit would pace too, but messages would then wait in
// the send queue after being stamped, and the latencies would measure that queue).
void pace(std::uint64_t start_ns, std::uint64_t bytes_sent, std::uint64_t rate) {
    const auto due = start_ns + static_cast<std::uint64_t>(static_cast<double>(bytes_sent) * 1e9 /
                                                           static_cast<double>(rate));
    const std::uint64_t now = tools::monotonic_ns();
    if (due > now + 1000000) {  // ahead by over 1 ms: sleep, in few and coarse steps
        const timespec ts{0, static_cast<long>(std::min<std::uint64_t>(due - now, 999999999))};
        nanosleep(&ts, nullptr);
    }
}

}  // namespace

void request_stop() { g_stop = 1; }

int run_receiver(const Params& p, int index, int fd) {
    ReceiverReport r;
    blip_context_t* ctx = nullptr;
    blip_channel_t* ch = nullptr;
    // Distinct seeds: each receiver loses different datagrams, as on a real network, so
    // repairs one receiver asked for also serve (or are suppressed by) the others.
    r.open_rc = open_channel(p,
                             {{"inject_loss", std::to_string(p.loss)},
                              {"inject_seed", std::to_string(index + 1)},
                              {"recv_buffer", "4194304"}},
                             &ctx, &ch, r.error);
    if (r.open_rc != BLIP_OK) {
        if (write_byte(fd, 'F')) write_all(fd, r);
        return 1;
    }
    if (!write_byte(fd, 'R')) return 1;

    Verifier v(p, index, r);
    while (g_stop == 0 && !v.complete() && !past(p.stop_at_ns)) {
        blip_event_t* ev = nullptr;
        const int rc = blip_channel_receive(ch, std::min(200, ms_until(p.stop_at_ns) + 1), &ev);
        if (rc == BLIP_ETIMEDOUT) continue;
        if (rc != BLIP_OK) {
            copy_text(r.error, std::string("receive: ") + blip_strerror(rc));
            r.in_order = false;
            break;
        }
        blip_event_info_t e{};
        e.size = sizeof e;
        if (blip_event_get_info(ev, &e) == BLIP_OK) v.on_event(e);
        blip_event_free(ev);
    }
    r.finished = v.complete();
    v.finish();
    r.injected_drops = stat(ch, "injected_drops");
    r.repairs = stat(ch, "repairs_received");
    r.kernel_drops = stat(ch, "kernel_drops");
    r.naks_sent = stat(ch, "naks_sent");
    blip_context_destroy(ctx);  // closes the channel
    write_all(fd, r);
    return 0;
}

int run_sender(const Params& p, int fd, int done_fd) {
    SenderReport r;
    blip_context_t* ctx = nullptr;
    blip_channel_t* ch = nullptr;
    // A short send queue: a message is stamped when Blip accepts it, so a deep queue would make
    // the latency figures measure queueing, not the network and its repairs.
    // (Blip requires send_queue_bytes >= max_message_size, hence max_message_size too.)
    const std::string queue = std::to_string(std::max<std::size_t>(p.max_size, 256 << 10));
    r.open_rc = open_channel(
        p, {{"max_message_size", std::to_string(p.max_size)}, {"send_queue_bytes", queue}}, &ctx,
        &ch, r.error);
    if (r.open_rc != BLIP_OK) {
        write_all(fd, r);
        return 1;
    }
    std::vector<std::uint8_t> buf(p.max_size);
    const std::uint64_t start = tools::monotonic_ns();
    int rc = BLIP_OK;
    for (std::uint64_t i = 0; i < p.messages && rc == BLIP_OK && g_stop == 0; ++i) {
        const std::size_t len = message_size(i, p.max_size);
        fill(buf.data(), len, i);
        if (p.rate > 0) pace(start, r.bytes, p.rate);
        for (;;) {
            stamp(buf.data(), tools::monotonic_ns());
            rc = blip_channel_send(ch, buf.data(), len, nullptr);
            if (rc != BLIP_EAGAIN) break;
            rc = blip_channel_wait_writable(ch, std::max(1, ms_until(p.stop_at_ns)));
            if (rc != BLIP_OK) break;
        }
        if (rc == BLIP_OK) {
            ++r.messages;
            r.bytes += len;
        }
    }
    if (rc == BLIP_OK) rc = blip_channel_wait_sent(ch, std::max(1, ms_until(p.stop_at_ns)));
    r.seconds = static_cast<double>(tools::monotonic_ns() - start) / 1e9;
    if (rc != BLIP_OK) {
        copy_text(r.error,
                  std::string("send: ") + blip_strerror(rc) + " (" + blip_err_name(rc) + ")");
    }
    // Linger: receivers may still need repairs. The parent closes done_fd once all reported.
    pollfd pfd{done_fd, POLLIN, 0};
    while (g_stop == 0 && !past(p.stop_at_ns) && poll(&pfd, 1, 100) == 0) {
    }
    r.naks_received = stat(ch, "naks_received");
    r.repairs_sent = stat(ch, "repairs_sent");
    r.kernel_drops = stat(ch, "kernel_drops");
    blip_context_destroy(ctx);
    write_all(fd, r);
    return rc == BLIP_OK ? 0 : 1;
}

}  // namespace demo
