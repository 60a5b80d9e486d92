// perf_blip_roles.cpp - blip-perf's Blip roles (receiver, sender/pinger, echo), each in its own
// forked process, over the public C API only (<blip/blip.h>). They measure and verify; the
// parent judges and prints.
#include <blip/blip.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "perf_payload.h"
#include "perf_roles.h"
#include "perf_util.h"

namespace perf {

namespace {

void set_error(Report& r, const std::string& what) {
    if (r.error[0] == '\0') std::snprintf(r.error, sizeof r.error, "%s", what.c_str());
    r.ok = 0;
}

void report(int fd, Report& r, Phase phase) {
    r.phase = phase;
    write_all(fd, &r, sizeof r);
}

std::uint64_t stat(blip_channel_t* ch, const char* name) {
    std::uint64_t v = 0;
    return blip_channel_stat(ch, name, &v) == BLIP_OK ? v : kUnknown;
}

// Opens one channel with the run's shared options, then the role's own, then the user's
// --set options (last, so they win). On failure fills r.error and returns the code.
int open_channel(const RunSpec& s, const std::vector<std::pair<std::string, std::string>>& own,
                 const std::vector<std::pair<std::string, std::string>>& user, blip_event_fn cb,
                 void* cb_user, blip_context_t** ctx, blip_channel_t** ch, Report& r) {
    std::vector<std::pair<std::string, std::string>> opts = {
        {"group", s.group}, {"port", std::to_string(s.port)}, {"interface", s.interface}};
    auto add = [&](const char* name, std::int64_t v) {
        if (v > 0) opts.emplace_back(name, std::to_string(v));
    };
    add("recv_buffer", s.recv_buffer);
    add("send_buffer", s.send_buffer);
    add("datagram_size", s.datagram_size);
    add("window_bytes", s.window_bytes);
    add("rate_limit", s.rate_limit);
    if (s.size > (16u << 20)) add("max_message_size", static_cast<std::int64_t>(s.size));
    opts.insert(opts.end(), own.begin(), own.end());
    opts.insert(opts.end(), user.begin(), user.end());

    blip_config_t* cfg = nullptr;
    int rc = blip_config_create(&cfg);
    if (rc != BLIP_OK) {
        set_error(r, "blip_config_create failed");
        return rc;
    }
    for (const auto& [name, value] : opts) {
        rc = blip_config_set_string(cfg, name.c_str(), value.c_str());
        if (rc != BLIP_OK) {
            set_error(r, "option " + name + "=" + value + ": " + blip_config_error(cfg));
            break;
        }
    }
    if (rc == BLIP_OK && cb != nullptr) rc = blip_config_set_callback(cfg, cb, cb_user);
    if (rc == BLIP_OK) {
        rc = blip_context_create(ctx);
        if (rc != BLIP_OK) set_error(r, std::string("blip_context_create: ") + blip_strerror(rc));
    }
    if (rc == BLIP_OK) {
        rc = blip_channel_open(*ctx, cfg, ch);
        if (rc != BLIP_OK) {
            set_error(r, std::string("blip_channel_open: ") + blip_err_name(rc) + ": " +
                             blip_config_error(cfg));
            blip_context_destroy(*ctx);
            *ctx = nullptr;
        }
    }
    blip_config_destroy(cfg);
    r.open_rc = rc;
    return rc;
}

// Verifies each event of the one expected sender stream and measures. Runs on the loop thread
// (callback mode) or the main thread (pull mode); the main thread reads only the atomics while
// the channel is open.
class Checker {
public:
    Checker(const RunSpec& s, const Pattern& pat, Report& r, bool timed)
        : s_(s), pat_(pat), r_(r), timed_(timed) {
        if (timed_) {
            const std::uint64_t expect =
                s.count > 0
                    ? s.count
                    : static_cast<std::uint64_t>(s.rate * static_cast<double>(s.duration_ns) / 1e9);
            const std::size_t n =
                static_cast<std::size_t>(std::min<std::uint64_t>(expect, 50'000'000));
            lat_.reserve(n);
            lat_call_.reserve(n);
        }
    }

    [[nodiscard]] bool done() const { return done_.load(std::memory_order_acquire); }
    [[nodiscard]] std::uint64_t next() const { return next_.load(std::memory_order_relaxed); }

    void on_event(blip_channel_t* ch, const blip_event_info_t& e) {
        switch (e.type) {
            case BLIP_EVENT_MESSAGE:
                on_message(ch, e);
                break;
            case BLIP_EVENT_LOSS:
            case BLIP_EVENT_OVERRUN: {
                ++r_.loss_events;
                r_.lost += e.count;
                char what[160];
                std::snprintf(what, sizeof what, "%s of messages %llu+%llu%s%s",
                              e.type == BLIP_EVENT_LOSS ? "loss" : "overrun",
                              static_cast<unsigned long long>(e.sequence),
                              static_cast<unsigned long long>(e.count),
                              e.type == BLIP_EVENT_LOSS ? ": " : " (receive queue full)",
                              e.type == BLIP_EVENT_LOSS ? blip_loss_reason_name(e.reason) : "");
                set_error(r_, what);
                if (e.sequence == next())
                    next_.store(e.sequence + e.count, std::memory_order_relaxed);
                break;
            }
            case BLIP_EVENT_WARNING:
            case BLIP_EVENT_SOCKET_ERROR:
                std::fprintf(stderr, "blip-perf: %s: %s\n", blip_event_type_name(e.type),
                             e.text != nullptr ? e.text : "");
                break;
            default:
                break;
        }
    }

    /// The sender stream's repair round trip, as the library learned it.
    void read_repair_timer(blip_channel_t* ch) {
        if (r_.delivered == 0) return;
        blip_channel_remote_stat(ch, node_, stream_, "srtt_us", &r_.srtt_us);
        blip_channel_remote_stat(ch, node_, stream_, "repair_timeout_us", &r_.repair_timeout_us);
    }

    void finish() {
        r_.lat = summarize(lat_);
        r_.lat_call = summarize(lat_call_);
        r_.lat_repaired = summarize(lat_repaired_);
        r_.lat_delayed = summarize(lat_delayed_);
    }

private:
    void problem(const std::string& what) {
        ++r_.bad;
        set_error(r_, what);
    }

    void on_message(blip_channel_t* ch, const blip_event_info_t& e) {
        const auto* data = static_cast<const std::uint8_t*>(e.data);
        const std::uint64_t seq = e.sequence;
        if (r_.delivered == 0 && r_.bad == 0) {
            node_ = e.node_id;
            stream_ = e.stream_id;
        } else if (e.node_id != node_ || e.stream_id != stream_) {
            return problem("a message from a second sender stream");
        }
        const std::uint64_t want = next();
        next_.store(seq + 1, std::memory_order_relaxed);
        if (seq != want) {
            problem("message " + std::to_string(seq) + " arrived when " + std::to_string(want) +
                    " was expected");
        }
        if (e.length != s_.size || data == nullptr || !pat_.check(data, e.length, seq)) {
            return problem("message " + std::to_string(seq) + ": wrong length or content (" +
                           std::to_string(e.length) + " bytes)");
        }
        ++r_.delivered;
        r_.delivered_bytes += e.length;
        const bool last = (flags_of(data) & kFlagLast) != 0;
        // A clock read costs ~20-40 ns, too much per message at millions per second: a
        // throughput run reads it on the first, every 64th and the last message.
        if (!timed_ && r_.delivered != 1 && (seq & 63) != 0 && !last) return;
        const std::uint64_t now = monotonic_ns();
        if (r_.delivered == 1) r_.first_ns = now;
        r_.last_ns = now;
        if (timed_) measure(ch, e, data, now);
        if (last) done_.store(true, std::memory_order_release);
    }

    void measure(blip_channel_t* ch, const blip_event_info_t& e, const std::uint8_t* data,
                 std::uint64_t now) {
        bool repaired = false;
        if (s_.track_repairs) {
            // The library delivers right after each datagram it processes, so the first message
            // delivered after the stream's repair count rose is the one the repair brought: the
            // lost one (a duplicate repair delivers nothing and counts as a duplicate too).
            std::uint64_t repairs = 0;
            std::uint64_t dups = 0;
            if (blip_channel_remote_stat(ch, e.node_id, e.stream_id, "repairs", &repairs) ==
                    BLIP_OK &&
                blip_channel_remote_stat(ch, e.node_id, e.stream_id, "duplicates", &dups) ==
                    BLIP_OK) {
                const std::uint64_t useful = repairs - std::min(repairs, dups);
                repaired = useful > repairs_seen_;
                repairs_seen_ = std::max(repairs_seen_, useful);
            }
        }
        if (e.sequence < s_.warmup) return;
        const std::uint64_t intended = intended_at(data);
        const std::uint64_t actual = actual_at(data);
        const std::uint64_t lat = now > intended ? now - intended : 0;
        lat_.push_back(lat);
        lat_call_.push_back(now > actual ? now - actual : 0);
        if (repaired) lat_repaired_.push_back(lat);
        if (s_.delayed_threshold_ns > 0 && lat > s_.delayed_threshold_ns) {
            lat_delayed_.push_back(lat);
        }
    }

    const RunSpec& s_;
    const Pattern& pat_;
    Report& r_;
    bool timed_;
    std::uint64_t node_ = 0;
    std::uint32_t stream_ = 0;
    std::atomic<std::uint64_t> next_{0};
    std::atomic<bool> done_{false};
    std::uint64_t repairs_seen_ = 0;
    std::vector<std::uint64_t> lat_, lat_call_, lat_repaired_, lat_delayed_;
};

void checker_cb(void* user, blip_channel_t* ch, const blip_event_info_t* info) {
    static_cast<Checker*>(user)->on_event(ch, *info);
}

void ignore_cb(void* /*user*/, blip_channel_t* /*ch*/, const blip_event_info_t* info) {
    if (info->type == BLIP_EVENT_WARNING || info->type == BLIP_EVENT_SOCKET_ERROR) {
        std::fprintf(stderr, "blip-perf: sender: %s: %s\n", blip_event_type_name(info->type),
                     info->text != nullptr ? info->text : "");
    }
}

// Pull mode: takes what is queued (waiting up to `wait_ms` for the first), at most 4096.
void drain(blip_channel_t* ch, Checker& chk, int wait_ms, Report& r) {
    for (int i = 0; i < 4096; ++i) {
        blip_event_t* ev = nullptr;
        const int rc = blip_channel_receive(ch, i == 0 ? wait_ms : 0, &ev);
        if (rc == BLIP_ETIMEDOUT || rc == BLIP_EAGAIN) return;
        if (rc != BLIP_OK) {
            set_error(r, std::string("blip_channel_receive: ") + blip_err_name(rc));
            return;
        }
        blip_event_info_t info{};
        info.size = sizeof info;
        if (blip_event_get_info(ev, &info) == BLIP_OK) chk.on_event(ch, info);
        blip_event_free(ev);
    }
}

bool is_timed(const RunSpec& s) { return s.kind == Kind::kLatency || s.kind == Kind::kPingPong; }

// Waits until `chk` is done (or the sender's total is accounted for), the parent says quit or
// nothing progresses for stall_ms. Samples RSS meanwhile. Returns what went wrong, if anything
// (set into the report only once the loop thread, which writes it too, has stopped).
std::string wait_done(const RunSpec& s, blip_channel_t* ch, Checker& chk, Control& ctl,
                      RssTrack& rss, Report& r) {
    std::uint64_t last_next = chk.next();
    std::uint64_t last_progress = monotonic_ns();
    for (;;) {
        if (chk.done()) return {};
        if (ctl.total() != kUnknown && chk.next() >= ctl.total()) return {};  // losses included
        if (s.pull) {
            drain(ch, chk, 10, r);
            ctl.poll(0);
        } else {
            ctl.poll(20);
        }
        if (ctl.quit() && !chk.done()) {
            return "stopped by the parent after message " + std::to_string(chk.next());
        }
        const std::uint64_t now = monotonic_ns();
        rss.sample(now);
        if (chk.next() != last_next) {
            last_next = chk.next();
            last_progress = now;
        } else if (now - last_progress > static_cast<std::uint64_t>(s.stall_ms) * 1000000) {
            return "stalled: no progress for " + std::to_string(s.stall_ms) +
                   " ms while expecting message " + std::to_string(last_next);
        }
    }
}

void read_counters(blip_channel_t* ch, Report& r) {
    r.injected_drops = stat(ch, "injected_drops");
    r.kernel_drops = stat(ch, "kernel_drops");
    r.naks_sent = stat(ch, "naks_sent");
    r.nak_retries = stat(ch, "nak_retries");
    r.naks_received = stat(ch, "naks_received");
    r.repairs_sent = stat(ch, "repairs_sent");
    r.repairs_received = stat(ch, "repairs_received");
    r.send_dropped = stat(ch, "send_dropped");
    r.datagrams_sent = stat(ch, "socket_datagrams_sent");
    r.datagrams_received = stat(ch, "socket_datagrams_received");
    r.own_looped = stat(ch, "own_looped");
    r.flow_stalls = stat(ch, "flow_stalls");
    r.flow_probes = stat(ch, "flow_probes");
}

}  // namespace

int blip_receiver_role(const RunSpec& s, int index, RolePipes p) {
    Report r;
    Pattern pat(s.size);
    Checker chk(s, pat, r, is_timed(s) || s.track_repairs);
    blip_context_t* ctx = nullptr;
    blip_channel_t* ch = nullptr;
    // Distinct seeds: each receiver loses different datagrams, as on a real network.
    const std::vector<std::pair<std::string, std::string>> own = {
        {"inject_loss", std::to_string(s.loss)},
        {"inject_seed", std::to_string(s.rep * 1000 + index + 1)}};
    if (open_channel(s, own, s.rx_sets, s.pull ? nullptr : checker_cb, &chk, &ctx, &ch, r) !=
        BLIP_OK) {
        r.ok = 0;
        report(p.report_fd, r, Phase::kReady);
        return 1;
    }
    RssTrack rss;
    r.rss_start_kb = status_kb("VmRSS:");
    rss.sample(monotonic_ns());
    report(p.report_fd, r, Phase::kReady);

    Control ctl(p.control_fd);
    const std::string stopped = wait_done(s, ch, chk, ctl, rss, r);
    r.rss_end_kb = status_kb("VmRSS:");
    r.hwm_kb = status_kb("VmHWM:");
    r.rss_early_kb = rss.at(r.first_ns + (r.last_ns - r.first_ns) / 4);
    read_counters(ch, r);
    chk.read_repair_timer(ch);
    blip_context_destroy(ctx);  // joins the loop thread: the checker is ours alone now
    chk.finish();
    if (!stopped.empty()) set_error(r, stopped);
    if (r.bad > 0 || r.loss_events > 0) r.ok = 0;
    fill_rusage(r);
    report(p.report_fd, r, Phase::kFinal);
    return r.ok != 0 ? 0 : 1;
}

int blip_sender_role(const RunSpec& s, RolePipes p) {
    Report r;
    Pattern pat(s.size);
    const bool pingpong = s.kind == Kind::kPingPong;
    Report echoes;                        // written by the loop thread (ping-pong)
    Checker pongs(s, pat, echoes, true);  // ping-pong: the echoes come back here
    blip_context_t* ctx = nullptr;
    blip_channel_t* ch = nullptr;
    std::vector<std::pair<std::string, std::string>> own;
    if (pingpong) own = {{"stream", "1"}, {"accept_streams", "2"}};
    if (open_channel(s, own, s.tx_sets, pingpong ? checker_cb : ignore_cb, &pongs, &ctx, &ch, r) !=
        BLIP_OK) {
        r.ok = 0;
        report(p.report_fd, r, Phase::kFinal);
        return 1;
    }
    tight_timer_slack();
    Control ctl(p.control_fd);
    while (!ctl.go() && !ctl.quit()) ctl.poll(100);
    RssTrack rss;
    r.rss_start_kb = status_kb("VmRSS:");

    std::vector<std::uint8_t> buf(s.size);
    std::vector<std::uint64_t> lag;
    const bool paced = s.rate > 0;
    const double period_ns = paced ? 1e9 / s.rate : 0;
    if (paced) lag.reserve(s.count > 0 ? s.count : 1 << 20);
    const std::uint64_t start = monotonic_ns();
    const std::uint64_t stop_at = start + s.duration_ns;
    r.start_ns = start;
    bool last = false;
    int rc = BLIP_OK;
    for (std::uint64_t i = 0; !last && !ctl.quit(); ++i) {
        std::uint64_t intended = 0;
        if (paced) {
            intended = start + static_cast<std::uint64_t>(static_cast<double>(i) * period_ns);
            const auto next_intended =
                start + static_cast<std::uint64_t>(static_cast<double>(i + 1) * period_ns);
            last = s.count > 0 ? i + 1 == s.count : next_intended >= stop_at;
            wait_until(intended, s.spin_ns);
        } else if (s.count > 0) {
            last = i + 1 == s.count;
        } else if ((i & 1023) == 0) {
            last = monotonic_ns() >= stop_at;
        }
        pat.fill(buf.data(), buf.size(), i, last ? kFlagLast : 0);
        if (paced) {
            const std::uint64_t now = monotonic_ns();
            stamp(buf.data(), intended, now);
            lag.push_back(now - std::min(now, intended));
        }
        std::uint64_t seq = 0;
        for (int waited_ms = 0;;) {
            rc = blip_channel_send(ch, buf.data(), buf.size(), &seq);
            if (rc != BLIP_EAGAIN) break;
            ++r.eagain;
            const int wrc = blip_channel_wait_writable(ch, 100);
            if (wrc == BLIP_ETIMEDOUT) waited_ms += 100;
            if ((wrc != BLIP_OK && wrc != BLIP_ETIMEDOUT) || waited_ms > s.stall_ms) {
                rc = wrc == BLIP_ETIMEDOUT ? BLIP_ETIMEDOUT : wrc;
                break;
            }
        }
        if (rc != BLIP_OK) {
            set_error(
                r, std::string("send: ") + blip_err_name(rc) + " at message " + std::to_string(i));
            break;
        }
        if (seq != i)
            set_error(r, "the library numbered message " + std::to_string(i) + " as " +
                             std::to_string(seq));
        ++r.sent;
        r.sent_bytes += buf.size();
        if ((i & 1023) == 0) {
            ctl.poll(0);
            rss.sample(monotonic_ns());
        }
    }
    r.end_send_ns = monotonic_ns();
    if (rc == BLIP_OK) {
        const int wrc = blip_channel_wait_sent(ch, s.stall_ms * 3);
        if (wrc != BLIP_OK) set_error(r, std::string("wait_sent: ") + blip_err_name(wrc));
    }
    r.end_sent_ns = monotonic_ns();
    r.send_lag = summarize(lag);
    report(p.report_fd, r, Phase::kSent);

    // Linger: receivers may still need repairs. A pinger waits for its last echo instead.
    std::string stopped;
    if (pingpong) {
        stopped = wait_done(s, ch, pongs, ctl, rss, r);
    } else {
        while (!ctl.quit() && ctl.poll(100)) rss.sample(monotonic_ns());
    }
    r.rss_end_kb = status_kb("VmRSS:");
    r.hwm_kb = status_kb("VmHWM:");
    r.rss_early_kb = rss.at(start + (r.end_sent_ns - start) / 4);
    read_counters(ch, r);
    blip_context_destroy(ctx);
    if (pingpong) {
        pongs.finish();
        if (echoes.error[0] != '\0') set_error(r, echoes.error);
        if (!stopped.empty()) set_error(r, stopped);
        r.delivered = echoes.delivered;
        r.delivered_bytes = echoes.delivered_bytes;
        r.first_ns = echoes.first_ns;
        r.last_ns = echoes.last_ns;
        r.bad = echoes.bad;
        r.lost = echoes.lost;
        r.loss_events = echoes.loss_events;
        r.lat = echoes.lat;
        r.lat_call = echoes.lat_call;
        if (r.bad > 0 || r.loss_events > 0 || r.delivered != r.sent) r.ok = 0;
    }
    fill_rusage(r);
    report(p.report_fd, r, Phase::kFinal);
    return r.ok != 0 ? 0 : 1;
}

namespace {

struct Echo {
    std::uint64_t echoed = 0;
    std::uint64_t failed = 0;
    int first_rc = BLIP_OK;
};

void echo_cb(void* user, blip_channel_t* ch, const blip_event_info_t* info) {
    auto* e = static_cast<Echo*>(user);
    if (info->type != BLIP_EVENT_MESSAGE) return;
    // From the loop thread a send transmits at once; it cannot wait for room, so a full queue
    // is a failure (the pinger then misses an echo and the run fails visibly).
    const int rc = blip_channel_send(ch, info->data, info->length, nullptr);
    if (rc == BLIP_OK) {
        ++e->echoed;
    } else {
        if (e->failed++ == 0) e->first_rc = rc;
    }
}

}  // namespace

int blip_echo_role(const RunSpec& s, RolePipes p) {
    Report r;
    Echo echo;
    blip_context_t* ctx = nullptr;
    blip_channel_t* ch = nullptr;
    const std::vector<std::pair<std::string, std::string>> own = {
        {"stream", "2"},
        {"accept_streams", "1"},
        {"inject_loss", std::to_string(s.loss)},
        {"inject_seed", std::to_string(s.rep * 1000 + 1)}};
    if (open_channel(s, own, s.rx_sets, echo_cb, &echo, &ctx, &ch, r) != BLIP_OK) {
        r.ok = 0;
        report(p.report_fd, r, Phase::kReady);
        return 1;
    }
    r.rss_start_kb = status_kb("VmRSS:");
    report(p.report_fd, r, Phase::kReady);
    Control ctl(p.control_fd);
    while (!ctl.quit() && ctl.poll(100)) {
    }
    r.rss_end_kb = status_kb("VmRSS:");
    r.hwm_kb = status_kb("VmHWM:");
    read_counters(ch, r);
    blip_context_destroy(ctx);
    r.delivered = echo.echoed;
    if (echo.failed > 0) {
        set_error(r, std::to_string(echo.failed) + " echoes failed, the first with " +
                         blip_err_name(echo.first_rc));
    }
    fill_rusage(r);
    report(p.report_fd, r, Phase::kFinal);
    return r.ok != 0 ? 0 : 1;
}

}  // namespace perf
