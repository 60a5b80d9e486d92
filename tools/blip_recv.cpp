// blip_recv.cpp - blip-recv: joins a group and prints every message and event (text or JSON
// Lines), in pull mode so that Ctrl-C/SIGTERM end it cleanly, with optional order checking.
#include <blip/blip.h>

#include <cinttypes>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "order_check.h"
#include "text_format.h"
#include "tool_common.h"

namespace {

constexpr const char* kProg = "blip-recv";
constexpr int kPollMs = 200;                 // receive timeout: how quickly a signal is noticed
constexpr std::size_t kTextHexBytes = 32;    // text mode shows binary payloads by their start
constexpr std::size_t kTextMaxBytes = 1024;  // and long text too (--json shows everything)

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int /*sig*/) { g_stop = 1; }

void print_help() {
    std::printf(
        "usage: blip-recv --interface I [options]\n"
        "Joins a group and prints every message and event until interrupted.\n\n"
        "options:\n%s"
        "  --json             one JSON object per line for every message, event and the stats\n"
        "  --count N          exit after N messages\n"
        "  --timeout-ms N     exit after N ms without any message or event\n"
        "  --stats            print every channel counter at exit\n"
        "  --quiet            do not print messages (events and stats still are)\n"
        "  --check-order      check that each (node, session, stream) delivers consecutive\n"
        "                     sequence numbers, loss/overrun ranges included; exit 1 if not\n"
        "  --help             this text\n\n"
        "Text output: messages as NODE/STREAM #SEQ LEN bytes: PAYLOAD (as text if printable\n"
        "UTF-8, cut at 1024 bytes; else the hex of its first 32 bytes), events as\n"
        "'event TYPE key=value...'. --json carries every byte (\"data\" or \"data_hex\").\n\n"
        "Exit status: 0 done, 1 a Blip call failed, an order violation, or --timeout-ms\n"
        "before --count messages; 2 usage error.\n",
        tools::kChannelHelp);
}

struct Options {
    tools::ChannelArgs channel;
    bool json = false;
    std::uint64_t count = 0;       // 0 = unlimited
    std::uint64_t timeout_ms = 0;  // 0 = none
    bool stats = false;
    bool quiet = false;
    bool check_order = false;
};

Options parse(int argc, char** argv) {
    Options o;
    tools::Args args(kProg, argc, argv);
    while (!args.done()) {
        if (args.flag("--help") || args.flag("-h")) {
            print_help();
            std::exit(0);
        }
        // Options that store their value themselves.
        if (o.channel.parse(args) || args.option_u64("--count", &o.count, 1) ||
            args.option_u64("--timeout-ms", &o.timeout_ms, 1, INT32_MAX)) {
            continue;
        }
        if (args.flag("--json")) {
            o.json = true;
        } else if (args.flag("--stats")) {
            o.stats = true;
        } else if (args.flag("--quiet") || args.flag("-q")) {
            o.quiet = true;
        } else if (args.flag("--check-order")) {
            o.check_order = true;
        } else {
            args.unknown();
        }
    }
    return o;
}

std::string hex64(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%016" PRIx64, v);
    return buf;
}

// Builds one output line: "key=value" pairs in text mode, "key":value members in JSON mode.
class Line {
public:
    explicit Line(bool json) : json_(json) { out_ = json ? "{" : ""; }
    void raw(const char* key, const std::string& value) {
        if (json_) {
            out_ += (out_.size() > 1 ? ",\"" : "\"") + std::string(key) + "\":" + value;
        } else {
            out_ += (out_.empty() ? "" : " ") + std::string(key) + "=" + value;
        }
    }
    void num(const char* key, std::uint64_t v) { raw(key, std::to_string(v)); }
    /// A fixed identifier such as a loss reason: bare in text mode, a JSON string in JSON.
    void name(const char* key, const char* v) { json_ ? str(key, v) : raw(key, v); }
    void id(const char* key, std::uint64_t v) {
        raw(key, json_ ? "\"" + hex64(v) + "\"" : hex64(v));
    }
    void str(const char* key, const char* text) {
        std::string v;
        tools::append_json_string(v, text);  // quoted and escaped in both modes: one line, always
        raw(key, v);
    }
    void boolean(const char* key, bool v) {
        raw(key, json_ ? (v ? "true" : "false") : (v ? "1" : "0"));
    }
    std::string& text() { return out_; }
    void print() {
        if (json_) out_ += "}";
        out_ += '\n';
        std::fwrite(out_.data(), 1, out_.size(), stdout);
    }

private:
    bool json_;
    std::string out_;
};

void print_message(const blip_event_info_t& e, bool json) {
    const bool text = tools::is_printable_text(e.data, e.length);
    if (!json) {
        std::string line = hex64(e.node_id) + "/" + std::to_string(e.stream_id) + " #" +
                           std::to_string(e.sequence) + " " + std::to_string(e.length) + " bytes: ";
        if (text) {
            const auto* text = static_cast<const char*>(e.data);
            std::size_t n = std::min(e.length, kTextMaxBytes);
            while (n < e.length && n > 0 && (text[n] & 0xC0) == 0x80) --n;  // whole UTF-8 only
            line.append(text, n);
            if (n < e.length) line += "... (" + std::to_string(e.length - n) + " more bytes)";
        } else {
            tools::append_hex(line, e.data, std::min(e.length, kTextHexBytes));
            if (e.length > kTextHexBytes) line += "...";
        }
        line += '\n';
        std::fwrite(line.data(), 1, line.size(), stdout);
        return;
    }
    Line l(true);
    l.str("type", "message");
    l.id("node", e.node_id);
    l.id("session", e.session_id);
    l.num("stream", e.stream_id);
    l.num("seq", e.sequence);
    l.num("length", e.length);
    std::string data;
    if (text) {
        tools::append_json_string(data, e.data, e.length);
        l.raw("data", data);
    } else {
        data = "\"";
        tools::append_hex(data, e.data, e.length);
        l.raw("data_hex", data + "\"");
    }
    l.print();
}

void print_event(const blip_event_info_t& e, bool json) {
    Line l(json);
    const char* name = blip_event_type_name(e.type);
    if (json) {
        l.str("type", name);
    } else {
        l.text() = std::string("event ") + name;
    }
    switch (e.type) {
        case BLIP_EVENT_WARNING:
            l.str("text", e.text);
            break;
        case BLIP_EVENT_SOCKET_ERROR:
            l.name("error", blip_err_name(e.error));
            l.raw("error_code", std::to_string(e.error));
            l.str("text", e.text);
            l.num("suppressed", e.suppressed);
            break;
        case BLIP_EVENT_LOSS:
        case BLIP_EVENT_OVERRUN:
        case BLIP_EVENT_SENDER_NEW:
        case BLIP_EVENT_SENDER_RESTARTED:
        case BLIP_EVENT_SENDER_INACTIVE:
        case BLIP_EVENT_SENDER_ACTIVE:
        case BLIP_EVENT_SENDER_REMOVED:
            l.id("node", e.node_id);
            l.id("session", e.session_id);
            l.num("stream", e.stream_id);
            if (e.type == BLIP_EVENT_LOSS) l.name("reason", blip_loss_reason_name(e.reason));
            if (e.type == BLIP_EVENT_LOSS || e.type == BLIP_EVENT_OVERRUN) {
                l.num("first", e.sequence);
                l.num("count", e.count);
            }
            if (e.type == BLIP_EVENT_LOSS) l.boolean("open_ended", e.open_ended != 0);
            if (e.type == BLIP_EVENT_SENDER_RESTARTED) l.id("old_session", e.old_session_id);
            break;
        default:  // a type newer than this tool: say so, do not guess its fields
            l.raw("type_code", std::to_string(e.type));
            break;
    }
    l.print();
}

void print_stats(blip_channel_t* ch, bool json) {
    // JSON: one object with every counter. Text: one "stat name=value" line each, for grep.
    Line l(json);
    l.str("type", "stats");
    const char* name = nullptr;
    for (std::size_t i = 0; blip_stat_name(BLIP_STATS_CHANNEL, i, &name) == BLIP_OK; ++i) {
        std::uint64_t v = 0;
        const int rc = blip_channel_stat(ch, name, &v);
        if (rc != BLIP_OK) tools::fail(kProg, std::string("read stat '") + name + "'", rc);
        if (json) {
            l.num(name, v);
        } else {
            std::printf("stat %s=%llu\n", name, static_cast<unsigned long long>(v));
        }
    }
    if (json) l.print();
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse(argc, argv);
    blip_config_t* cfg = tools::make_config(kProg, o.channel);

    // No SA_RESTART and no default action: the receive loop polls the flag every kPollMs.
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    blip_context_t* ctx = nullptr;
    int rc = blip_context_create(&ctx);
    if (rc != BLIP_OK) tools::fail(kProg, "create context", rc);
    blip_channel_t* ch = nullptr;
    const std::string where = o.channel.where();
    rc = blip_channel_open(ctx, cfg, &ch);
    if (rc != BLIP_OK) tools::fail(kProg, "open " + where, rc, cfg);
    blip_config_destroy(cfg);
    std::uint64_t node = 0;
    blip_channel_identity(ch, &node, nullptr);
    // Scripts wait for this line before they start a sender (a late joiner misses the start).
    std::fprintf(stderr, "%s: listening on %s (node %s)\n", kProg, where.c_str(),
                 hex64(node).c_str());

    tools::OrderCheck order;
    std::uint64_t messages = 0;
    std::uint64_t idle_since = tools::monotonic_ns();
    int status = 0;
    while (g_stop == 0 && (o.count == 0 || messages < o.count)) {
        blip_event_t* ev = nullptr;
        rc = blip_channel_receive(ch, 0, &ev);
        if (rc == BLIP_EAGAIN) {
            std::fflush(stdout);  // flush only when caught up: a line per write() is too slow
            rc = blip_channel_receive(ch, kPollMs, &ev);
        }
        if (rc == BLIP_ETIMEDOUT) {
            const std::uint64_t idle_ms = (tools::monotonic_ns() - idle_since) / 1000000;
            if (o.timeout_ms != 0 && idle_ms >= o.timeout_ms) {
                if (o.count != 0) {
                    std::fprintf(stderr,
                                 "%s: nothing received for %llu ms; got %llu of %llu "
                                 "messages\n",
                                 kProg, static_cast<unsigned long long>(idle_ms),
                                 static_cast<unsigned long long>(messages),
                                 static_cast<unsigned long long>(o.count));
                    status = 1;
                }
                break;
            }
            continue;
        }
        if (rc != BLIP_OK) tools::fail(kProg, "receive", rc);
        idle_since = tools::monotonic_ns();

        blip_event_info_t e{};
        e.size = sizeof e;
        rc = blip_event_get_info(ev, &e);
        if (rc != BLIP_OK) tools::fail(kProg, "read event", rc);
        std::string problem;
        if (e.type == BLIP_EVENT_MESSAGE) {
            ++messages;
            if (!o.quiet) print_message(e, o.json);
            if (o.check_order)
                problem = order.message(e.node_id, e.session_id, e.stream_id, e.sequence);
        } else {
            print_event(e, o.json);
            if (o.check_order && (e.type == BLIP_EVENT_LOSS || e.type == BLIP_EVENT_OVERRUN)) {
                problem = order.range(e.node_id, e.session_id, e.stream_id, e.sequence, e.count,
                                      e.open_ended != 0);
            }
        }
        if (!problem.empty()) {
            std::fflush(stdout);
            std::fprintf(stderr, "%s: order violation on %s/%u: %s\n", kProg,
                         hex64(e.node_id).c_str(), e.stream_id, problem.c_str());
        }
        blip_event_free(ev);
    }

    if (o.stats) print_stats(ch, o.json);
    std::fflush(stdout);
    blip_channel_close(ch);
    blip_context_destroy(ctx);
    if (o.check_order && order.violations() != 0) {
        std::fprintf(stderr, "%s: %llu order violations\n", kProg,
                     static_cast<unsigned long long>(order.violations()));
        status = 1;
    }
    return status;
}
