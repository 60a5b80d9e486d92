// receiver.cpp - a receiver process of the multi-process test: opens a pull-mode channel with
// injected loss, then checks that the sender's messages 0..N-1 arrive in order, exactly once
// and byte-exact, with no LOSS or OVERRUN event, and reports its counters. Public API only.
#include <blip/blip.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "mp_common.h"
#include "payload.h"

namespace blip_mp {

namespace {

struct ReceiverRun {
    ReceiverRun(const Options& opts, std::uint64_t node)
        : o(opts), sender_node(node), expect(std::max<std::size_t>(opts.max_size, 1)) {}

    const Options& o;
    std::uint64_t sender_node;
    int failures = 0;
    std::uint64_t next = 0;       // the sequence number expected next
    std::uint64_t delivered = 0;  // messages of the sender's stream taken
    std::uint64_t bytes = 0;      // their bytes that matched
    std::uint64_t session = 0;
    bool sender_known = false;
    std::uint64_t other_events = 0;  // membership events of other nodes (the other receivers)
    std::uint64_t warnings = 0, socket_errors = 0;
    std::vector<std::uint8_t> expect;

    void fail(const char* fmt, ...) __attribute__((format(printf, 2, 3))) {
        ++failures;
        if (failures > 20) {
            if (failures == 21) logf("FAIL: more failures follow; not printed");
            return;
        }
        char buf[600];
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        logf("FAIL: %s", buf);
    }

    void on_message(const blip_event_info_t& e) {
        if (e.node_id != sender_node || e.stream_id != o.stream) {
            fail("message from node %016" PRIx64 " stream %" PRIu32 " seq %" PRIu64
                 " (expected only node %016" PRIx64 " stream %" PRIu32 ")",
                 e.node_id, e.stream_id, e.sequence, sender_node, o.stream);
            return;
        }
        ++delivered;
        if (!sender_known) fail("message %" PRIu64 " before the sender_new event", e.sequence);
        if (e.session_id != session) {
            fail("message %" PRIu64 " of session %016" PRIx64 ", sender_new said %016" PRIx64,
                 e.sequence, e.session_id, session);
        }
        if (e.sequence != next) {
            if (e.sequence < next) {
                fail("duplicate or out-of-order message %" PRIu64 " (expected %" PRIu64 ")",
                     e.sequence, next);
                return;
            }
            fail("gap: got message %" PRIu64 ", expected %" PRIu64 " (%" PRIu64 " never delivered)",
                 e.sequence, next, e.sequence - next);
        }
        next = e.sequence + 1;
        if (e.sequence >= o.messages) {
            fail("message %" PRIu64 " beyond the %" PRIu64 " sent", e.sequence, o.messages);
            return;
        }
        const std::size_t size = message_size(o.seed, e.sequence, o.messages, o.max_size);
        const auto* got = static_cast<const std::uint8_t*>(e.data);
        if (e.length > 0 && got == nullptr) {
            fail("message %" PRIu64 ": length %zu but no data", e.sequence, e.length);
            return;
        }
        if (e.length >= kHeaderSize && (load_le(got, 8) != e.sequence || e.length != size)) {
            fail("message %" PRIu64 ": %zu bytes whose header says message %" PRIu64 " of %" PRIu64
                 " bytes; expected %zu bytes",
                 e.sequence, e.length, load_le(got, 8), load_le(got + 8, 4), size);
            return;
        }
        if (e.length != size) {
            fail("message %" PRIu64 ": %zu bytes, expected %zu", e.sequence, e.length, size);
            return;
        }
        fill_payload(o.seed, e.sequence, size, expect.data());
        if (size > 0 && std::memcmp(got, expect.data(), size) != 0) {
            std::size_t at = 0;
            while (got[at] == expect[at]) ++at;
            const char* sum = "no header";
            if (size >= kHeaderSize) {
                sum = load_le(got + 12, 4) == fnv1a32(got + kHeaderSize, size - kHeaderSize)
                          ? "header checksum matches the body"
                          : "header checksum does not match the body";
            }
            fail("message %" PRIu64 " (%zu bytes): content differs from byte %zu on (%s)",
                 e.sequence, size, at, sum);
            return;
        }
        bytes += size;
    }

    void on_event(const blip_event_info_t& e) {
        const bool from_sender = e.node_id == sender_node && e.stream_id == o.stream;
        switch (e.type) {
            case BLIP_EVENT_MESSAGE:
                on_message(e);
                break;
            case BLIP_EVENT_LOSS:
                fail("LOSS event: node %016" PRIx64 " stream %" PRIu32 " messages [%" PRIu64
                     ", +%" PRIu64 ") reason %s%s, while expecting %" PRIu64,
                     e.node_id, e.stream_id, e.sequence, e.count, blip_loss_reason_name(e.reason),
                     e.open_ended ? " (open-ended)" : "", next);
                // Delivery goes on after the loss: check the order from there on.
                if (from_sender && e.sequence == next && !e.open_ended) next += e.count;
                break;
            case BLIP_EVENT_OVERRUN:
                fail("OVERRUN event: node %016" PRIx64 " messages [%" PRIu64 ", +%" PRIu64
                     ") dropped from the receive queue",
                     e.node_id, e.sequence, e.count);
                if (from_sender && e.sequence == next) next += e.count;
                break;
            case BLIP_EVENT_SENDER_NEW:
                if (!from_sender) {
                    ++other_events;
                } else if (sender_known) {
                    fail("second sender_new for the sender (session %016" PRIx64 ")", e.session_id);
                } else {
                    sender_known = true;
                    session = e.session_id;
                }
                break;
            case BLIP_EVENT_SENDER_RESTARTED:
            case BLIP_EVENT_SENDER_REMOVED:
                if (from_sender) {
                    fail("%s event for the sender after %" PRIu64 " messages",
                         blip_event_type_name(e.type), next);
                } else {
                    ++other_events;
                }
                break;
            case BLIP_EVENT_SENDER_INACTIVE:
            case BLIP_EVENT_SENDER_ACTIVE:
                if (from_sender) {
                    logf("note: %s event for the sender after %" PRIu64 " messages",
                         blip_event_type_name(e.type), next);
                } else {
                    ++other_events;
                }
                break;
            case BLIP_EVENT_SOCKET_ERROR:
                ++socket_errors;
                logf("socket error: %s: %s (%" PRIu64 " suppressed)", blip_err_name(e.error),
                     e.text != nullptr ? e.text : "", e.suppressed);
                break;
            case BLIP_EVENT_WARNING:
                ++warnings;
                logf("warning: %s", e.text != nullptr ? e.text : "");
                break;
            default:
                logf("note: ignoring event type %d (%s)", e.type, blip_event_type_name(e.type));
                break;
        }
    }

    /// Checks the counters against what this receiver saw, and that the run tested what it
    /// claims: loss was injected (at about the configured rate) and repaired by NAKs.
    void check_counters(const std::map<std::string, std::uint64_t>& channel,
                        const std::map<std::string, std::uint64_t>& remote) {
        auto get = [this](const std::map<std::string, std::uint64_t>& m, const char* scope,
                          const char* name) -> std::uint64_t {
            const auto it = m.find(name);
            if (it != m.end()) return it->second;
            fail("no %s counter '%s'", scope, name);
            return 0;
        };
        auto expect_eq = [&](const std::map<std::string, std::uint64_t>& m, const char* scope,
                             const char* name, std::uint64_t want) {
            const std::uint64_t v = get(m, scope, name);
            if (v != want) {
                fail("%s counter %s = %" PRIu64 ", expected %" PRIu64, scope, name, v, want);
            }
        };
        expect_eq(remote, "remote", "messages", delivered);
        expect_eq(remote, "remote", "messages_lost", 0);
        expect_eq(remote, "remote", "loss_events", 0);
        expect_eq(remote, "remote", "missing_datagrams", 0);
        expect_eq(channel, "channel", "loss_events", 0);
        expect_eq(channel, "channel", "overrun_messages", 0);
        // Too few datagrams for a meaningful rate only in tiny local runs, never in the suite's.
        const std::uint64_t dropped = get(channel, "channel", "injected_drops");
        const std::uint64_t heard = get(channel, "channel", "socket_datagrams_received");
        if (o.loss <= 0 || delivered != o.messages || heard < 1000) return;
        const double rate = static_cast<double>(dropped) / static_cast<double>(heard);
        if (rate < o.loss * 0.5 || rate > o.loss * 1.5) {
            fail("injected_drops %" PRIu64 " of %" PRIu64 " datagrams (%.3f), inject_loss %g",
                 dropped, heard, rate, o.loss);
        }
        for (const char* name : {"naks_sent", "repairs"}) {
            if (get(remote, "remote", name) == 0) {
                fail("remote counter %s is 0 with inject_loss %g", name, o.loss);
            }
        }
    }

    /// Takes events until every message arrived and `linger_ms` more passed, a stall, or too
    /// many failures.
    void receive_all(blip_channel_t* ch) {
        const auto t0 = Clock::now();
        auto last_progress = t0;
        std::uint64_t last_next = 0;
        Clock::time_point linger_end{};
        bool lingering = false;
        std::uint64_t report_step = std::max<std::uint64_t>(o.messages / 5, 1);
        while (failures <= 100) {
            const auto now = Clock::now();
            if (!lingering && now - last_progress > std::chrono::seconds(o.stall_s)) {
                fail("stalled: no new message for %d s; got %" PRIu64 " of %" PRIu64 " messages",
                     o.stall_s, next, o.messages);
                return;
            }
            if (!lingering && next >= o.messages) {
                lingering = true;
                linger_end = now + std::chrono::milliseconds(o.linger_ms);
                logf("all %" PRIu64 " messages (%.1f MB) in %.1f s", o.messages,
                     static_cast<double>(bytes) / 1e6, seconds_since(t0));
            }
            int timeout_ms = 1000;
            if (lingering) {
                if (now >= linger_end) break;
                timeout_ms = static_cast<int>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(linger_end - now)
                        .count() +
                    1);
            }
            blip_event_t* ev = nullptr;
            const int rc = blip_channel_receive(ch, timeout_ms, &ev);
            if (rc == BLIP_ETIMEDOUT) continue;
            if (rc != BLIP_OK) {
                fail("blip_channel_receive: %s", blip_err_name(rc));
                return;
            }
            blip_event_info_t info;
            std::memset(&info, 0, sizeof info);
            info.size = sizeof info;
            const int irc = blip_event_get_info(ev, &info);
            if (irc != BLIP_OK) {
                fail("blip_event_get_info: %s", blip_err_name(irc));
            } else {
                on_event(info);
            }
            const int frc = blip_event_free(ev);
            if (frc != BLIP_OK) fail("blip_event_free: %s", blip_err_name(frc));
            if (next != last_next) {
                if (next / report_step != last_next / report_step && next < o.messages) {
                    logf("%" PRIu64 " of %" PRIu64 " messages after %.1f s", next, o.messages,
                         seconds_since(t0));
                }
                last_next = next;
                last_progress = Clock::now();
            }
        }
    }
};

}  // namespace

int receiver_main(const Options& o, int idx, int report_fd) {
    char role[32];
    std::snprintf(role, sizeof role, "receiver %d", idx);
    set_role(role);
    Report rep{report_fd};
    ReceiverRun run(o, sender_node_id());

    blip_context_t* ctx = nullptr;
    blip_config_t* cfg = nullptr;
    blip_channel_t* ch = nullptr;
    int rc = blip_context_create(&ctx);
    if (rc != BLIP_OK) {
        logf("FAIL: blip_context_create: %s", blip_err_name(rc));
        rep.line("RESULT fail context");
        return 1;
    }
    rc = blip_config_create(&cfg);
    bool ok = rc == BLIP_OK && set_common(cfg, o) &&
              set_opt(cfg, "accept_streams", std::to_string(o.stream)) &&
              set_opt(cfg, "recv_buffer", o.recv_buffer) && set_opt(cfg, "inject_loss", o.loss) &&
              set_opt(cfg, "inject_seed", static_cast<std::int64_t>(o.seed * 1000 + 1 + idx));
    if (ok) {
        rc = blip_channel_open(ctx, cfg, &ch);
        if (rc != BLIP_OK) {
            logf("FAIL: blip_channel_open: %s: %s", blip_err_name(rc), blip_config_error(cfg));
            ok = false;
        }
    }
    if (cfg != nullptr) blip_config_destroy(cfg);
    if (!ok) {
        rep.line("RESULT fail open");
        blip_context_destroy(ctx);
        return 1;
    }
    std::uint64_t node = 0;
    rc = blip_channel_identity(ch, &node, nullptr);
    if (rc != BLIP_OK) run.fail("blip_channel_identity: %s", blip_err_name(rc));
    logf("listening on %s:%d via %s as node %016" PRIx64 ", inject_loss %g seed %" PRIu64,
         o.group.c_str(), o.port, o.interface.c_str(), node, o.loss, o.seed * 1000 + 1 + idx);
    rep.line("READY");

    run.receive_all(ch);

    // Counters, while the sender (kept open until every receiver reported) is still tracked.
    std::map<std::string, std::uint64_t> channel, remote;
    if (!report_stats(rep, ch, BLIP_STATS_CHANNEL, 0, 0, &channel) ||
        !report_stats(rep, ch, BLIP_STATS_REMOTE, run.sender_node, o.stream, &remote)) {
        run.fail("some counters could not be read");
    }
    run.check_counters(channel, remote);

    rc = blip_channel_close(ch);
    if (rc != BLIP_OK) run.fail("blip_channel_close: %s", blip_err_name(rc));
    rc = blip_context_destroy(ctx);
    if (rc != BLIP_OK) run.fail("blip_context_destroy: %s", blip_err_name(rc));

    rep.line("received %" PRIu64 " of %" PRIu64 " messages (%.1f MB verified), %" PRIu64
             " warnings, %" PRIu64 " socket errors, %" PRIu64 " events of other nodes",
             run.delivered, o.messages, static_cast<double>(run.bytes) / 1e6, run.warnings,
             run.socket_errors, run.other_events);
    rep.line("RESULT %s %d", run.failures == 0 ? "ok" : "fail", run.failures);
    return run.failures == 0 ? 0 : 1;
}

}  // namespace blip_mp
