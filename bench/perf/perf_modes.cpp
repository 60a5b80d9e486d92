// perf_modes.cpp - blip-perf's modes: run specifications from the options and each mode's
// defaults, repetitions (with the throughput rate search), and the dispatch to each mode.
#include "perf_modes.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>

#include "perf_collect.h"
#include "perf_run.h"
#include "perf_sections.h"

namespace perf {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string pct_text(double f) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g%%", f * 100);
    return buf;
}

std::string pct_key(double f) {
    std::string s = pct_text(f);
    s.pop_back();  // '%'
    std::replace(s.begin(), s.end(), '.', '_');
    return s + "pct";
}

// Ports: a fresh one per repetition, so a late datagram of one run never reaches the next.
int next_port(const Options& o) {
    static int port = o.port != 0 ? o.port : 20000 + static_cast<int>(getpid() % 20000);
    const int p = port;
    port = port >= 65000 ? 20000 : port + 1;
    return p;
}

RunSpec base_spec(const Options& o, Kind kind) {
    RunSpec s;
    s.kind = kind;
    s.receivers = o.receivers;
    s.loss = o.loss;
    s.spin_ns = o.spin_us * 1000;
    s.group = o.group;
    s.interface = o.interface;
    s.recv_buffer = o.recv_buffer;
    s.send_buffer = o.send_buffer;
    s.datagram_size = o.datagram_size;
    s.window_bytes = o.window_bytes;
    s.rate_limit = o.rate_limit;
    s.tx_sets = o.tx_sets;
    s.rx_sets = o.rx_sets;
    s.pull = o.pull;
    s.batch = o.batch;
    s.gso = o.gso;
    s.stall_ms = o.stall_ms;
    return s;
}

// Size, count or duration, and pace: the options where given, else the mode's defaults.
void traffic(const Options& o, RunSpec& s, std::size_t size, std::uint64_t count, double rate) {
    s.size = static_cast<std::size_t>(o.size.value_or(size));
    if (o.duration_s) {
        s.count = 0;
        s.duration_ns = static_cast<std::uint64_t>(*o.duration_s * 1e9);
    } else {
        s.count = o.count.value_or(count);
    }
    s.rate = o.mbps ? *o.mbps * 1e6 / static_cast<double>(s.size) : o.rate.value_or(rate);
}

int timeout_for(const Options& o, const RunSpec& s) {
    if (o.timeout_s) return *o.timeout_s;
    double secs = 0;
    if (s.count == 0) {
        secs = static_cast<double>(s.duration_ns) / 1e9 * 2;
    } else if (s.rate > 0) {
        secs = static_cast<double>(s.count) / s.rate * 2;
    } else {
        // Flat out: assume no worse than 5 MB/s and 20,000 messages/s; paced by Blip's
        // rate_limit: twice the time it allows.
        const double bytes = static_cast<double>(s.count * s.size);
        secs = std::max(bytes / 5e6, static_cast<double>(s.count) / 20000);
        if (s.rate_limit > 0) secs = std::max(secs, 2 * bytes / static_cast<double>(s.rate_limit));
    }
    return static_cast<int>(std::min(86400.0, 60 + secs));
}

std::vector<std::pair<std::string, std::string>> describe(const RunSpec& s, int reps) {
    std::vector<std::pair<std::string, std::string>> d;
    auto add = [&d](const std::string& k, const std::string& v) { d.emplace_back(k, v); };
    add("size", std::to_string(s.size) + "B");
    if (s.count > 0) {
        add("count", std::to_string(s.count));
    } else {
        add("duration", format_number(static_cast<double>(s.duration_ns) / 1e9, 1) + "s");
    }
    add("pace", s.rate > 0 ? format_number(s.rate, 0) + "/s" : "flat-out");
    add("reps", std::to_string(reps));
    if (s.kind == Kind::kRaw) {
        add("batch", std::to_string(s.batch));
        if (s.gso) add("gso", "on");
    } else if (s.kind == Kind::kRawLatency) {
        if (s.warmup > 0) add("warmup", std::to_string(s.warmup));
        if (s.spin_ns > 0) add("spin_us", std::to_string(s.spin_ns / 1000));
        if (const std::uint64_t b = raw_busy_poll_ns(s))
            add("busy_poll_us", std::to_string(b / 1000));
    } else {
        add("receivers", std::to_string(s.kind == Kind::kPingPong ? 1 : s.receivers));
        add("loss", pct_text(s.loss));
        add("api", s.pull ? "pull" : "callback");
        add("datagram_size", s.datagram_size > 0 ? std::to_string(s.datagram_size) : "default");
        add("window_bytes", s.window_bytes > 0 ? std::to_string(s.window_bytes) : "default");
        add("rate_limit", s.rate_limit > 0 ? std::to_string(s.rate_limit) : "0");
        if (s.warmup > 0) add("warmup", std::to_string(s.warmup));
        if (s.spin_ns > 0) add("spin_us", std::to_string(s.spin_ns / 1000));
    }
    if (is_raw(s.kind)) add("receivers", std::to_string(s.receivers));
    add("rcvbuf", std::to_string(s.recv_buffer));
    add("sndbuf", s.send_buffer > 0 ? std::to_string(s.send_buffer) : "default");
    add("interface", s.interface);
    add("group", s.group);
    if (!is_raw(s.kind)) {
        for (const auto& [k, v] : s.tx_sets) add("tx:" + k, v);
        for (const auto& [k, v] : s.rx_sets) add("rx:" + k, v);
    }
    return d;
}

RepResult run_one(const Options& o, const std::string& key, const std::string& what, RunSpec& s) {
    const int timeout = timeout_for(o, s);
    s.port = next_port(o);
    std::fprintf(stderr, "[blip-perf] %s: %s ...", key.c_str(), what.c_str());
    std::fflush(stderr);
    RepResult res = run_rep(s, timeout);
    std::fprintf(stderr, " %s in %.1f s%s%s\n", res.ok ? "verified" : "FAILED", res.wall_s,
                 res.ok ? "" : ": ", res.error.c_str());
    return res;
}

// Wire bytes per payload byte of messages of `size` bytes in datagrams of `datagram` bytes:
// the unit of Blip's rate_limit is datagram bytes.
double wire_factor(std::size_t size, std::size_t datagram) {
    constexpr double kPrefix = 52, kCount = 2, kEntry = 2, kFragment = 8;
    const double room = static_cast<double>(datagram) - kPrefix;
    const double sz = static_cast<double>(size);
    if (sz + kCount + kEntry <= room) {
        const double per = std::floor((room - kCount) / (sz + kEntry));
        return (sz + kEntry + (kPrefix + kCount) / per) / sz;
    }
    const double chunks = std::ceil(sz / (room - kFragment));
    return (sz + chunks * (kPrefix + kFragment)) / sz;
}

// The wire rate (datagram bytes/s, the unit of rate_limit) the sender of `res` transmitted at.
double offered_rate(const RunSpec& s, const RepResult& res) {
    const double factor =
        wire_factor(s.size, s.datagram_size > 0 ? static_cast<std::size_t>(s.datagram_size) : 1400);
    const Report& tx = res.sender;
    const double secs =
        static_cast<double>(tx.end_sent_ns - std::min(tx.end_sent_ns, tx.start_ns)) / 1e9;
    return secs > 0 ? static_cast<double>(tx.sent_bytes) * factor / secs : 0;
}

// Datagrams the receivers' kernels dropped (receive buffer full) in a repetition.
std::uint64_t kernel_drops(const RepResult& res) {
    std::uint64_t n = 0;
    for (const Report& r : res.receivers) {
        if (r.kernel_drops != kUnknown) n += r.kernel_drops;
    }
    return n;
}

// RFC 2544-style throughput: "the fastest rate at which none of the offered frames are
// dropped". With flow control on (the default) a flat-out sender is held to what the receivers
// report and normally passes at once; with it off (or a receiver that cannot keep up even so) a
// sender that outruns a receiver overflows its receive buffer: the drops are repaired (at a cost:
// the repairs compete with new data), and beyond the retransmit window the data is lost. So a
// rate passes when every message verified AND no receiver's kernel dropped a datagram (the
// injected loss is the test's condition, not a drop).
// The search tries flat out; if that does not pass, Blip's own pacing (rate_limit, datagram
// bytes/s) from 90% of the rate the flat-out sender transmitted at, going down by 30% until a
// rate passes, then bisecting (geometrically) between the best rate that passed and the lowest
// that did not until they are within 15% (at most 6 paced runs). Returns the rate (0: flat
// out; -1: nothing verified); `log` tells the story. If no rate passes, a flat-out run that
// verified (with drops repaired) is used, then the best paced rate that verified.
std::int64_t search_rate(const Options& o, const std::string& key, RunSpec s, std::string& log) {
    s.rate_limit = 0;
    s.rep = 0;
    RepResult res = run_one(o, key, "search: flat out", s);
    auto verdict = [](const RepResult& r) {
        if (!r.ok) return std::string("failed");
        const std::uint64_t d = kernel_drops(r);
        return d == 0 ? std::string("verified")
                      : "verified, " + format_number(static_cast<double>(d), 0) + " kernel drops";
    };
    const bool flat_ok = res.ok;
    if (res.ok && kernel_drops(res) == 0) {
        log = "flat out verified";
        return 0;
    }
    double hi = offered_rate(s, res);  // lowest rate that did not pass
    if (hi <= 0) hi = 1e9;
    log = "flat out (" + format_number(hi / 1e6, 1) + " MB/s) " + verdict(res);
    double lo = 0;        // best rate that passed
    double verified = 0;  // best rate that verified, with drops
    double next = hi * 0.9;
    for (int probe = 0; probe < 6 && next >= 1e5; ++probe) {
        s.rate_limit = static_cast<std::int64_t>(next);
        res = run_one(o, key, "search: rate_limit " + format_number(next / 1e6, 1) + " MB/s", s);
        log += std::string(", ") + format_number(next / 1e6, 1) + " MB/s " + verdict(res);
        if (res.ok && kernel_drops(res) == 0) {
            lo = next;
        } else {
            if (res.ok) verified = std::max(verified, next);
            hi = next;
        }
        if (lo > 0 && hi / lo < 1.15) break;
        next = lo == 0 ? next * 0.7 : std::sqrt(lo * hi);
    }
    if (lo > 0) return static_cast<std::int64_t>(lo);
    if (flat_ok) return 0;
    return verified > 0 ? static_cast<std::int64_t>(verified) : -1;
}

std::uint64_t default_warmup(const Options& o, const RunSpec& s) {
    if (o.warmup) return *o.warmup;
    return s.count > 0 ? std::min<std::uint64_t>(1000, s.count / 10) : 1000;
}

}  // namespace

// Runs the repetitions. With `lower_on_failure` (a searched section), a repetition that fails
// is run again at 85% of its rate (the rate_limit, or the rate a flat-out sender transmitted
// at), at most twice; the failure stays on record as a note.
Section run_section(const Options& o, const std::string& key, const std::string& title, RunSpec s,
                    const Collect& collect, bool lower_on_failure) {
    Section sec;
    sec.key = key;
    sec.title = title;
    sec.settings = describe(s, o.reps);
    for (int rep = 0; rep < o.reps; ++rep) {
        s.rep = rep;
        const std::string what =
            "repetition " + std::to_string(rep + 1) + "/" + std::to_string(o.reps);
        RepResult res = run_one(o, key, what, s);
        for (int retry = 0; !res.ok && lower_on_failure && retry < 2; ++retry) {
            const double rate =
                s.rate_limit > 0 ? static_cast<double>(s.rate_limit) : offered_rate(s, res);
            if (rate < 1e5) break;
            sec.notes.push_back(what + " failed at " +
                                (s.rate_limit > 0 ? "rate_limit " : "flat out, ") +
                                format_number(rate / 1e6, 1) + " MB/s (" + res.error +
                                "); run again at 85% of that");
            s.rate_limit = static_cast<std::int64_t>(rate * 0.85);
            res = run_one(o, key, what + " at a lower rate", s);
        }
        ++sec.reps;
        if (!res.ok) {
            sec.problems.push_back(what + ": " + res.error);
            continue;
        }
        ++sec.reps_ok;
        if (s.kind == Kind::kThroughput) {
            sec.figure("tx.rate_limit", "rate_limit the repetition ran at (0: none)", Unit::kMBps,
                       "MB/s")
                .values.push_back(static_cast<double>(s.rate_limit) / 1e6);
        }
        collect(sec, s, res);
    }
    return sec;
}

// Throughput at the options' pace, or (`search`) at the highest rate that verifies.
Section throughput_section(const Options& o, const std::string& key, const std::string& title,
                           RunSpec s, bool search) {
    if (!search) return run_section(o, key, title, s, collect_rates);
    std::string log;
    const std::int64_t rate = search_rate(o, key, s, log);
    if (rate < 0) {
        Section sec;
        sec.key = key;
        sec.title = title;
        sec.settings = describe(s, o.reps);
        sec.settings.emplace_back("search", log);
        sec.reps = 1;
        sec.problems.push_back("no rate verified (search: " + log + ")");
        return sec;
    }
    s.rate_limit = rate;
    Section sec = run_section(o, key, title, s, collect_rates, true);
    sec.settings.emplace_back("search", log);
    return sec;
}

RunSpec throughput_spec(const Options& o, std::size_t size, std::uint64_t count) {
    RunSpec s = base_spec(o, Kind::kThroughput);
    traffic(o, s, size, count, 0);
    return s;
}

RunSpec raw_spec(const Options& o, std::size_t size, std::uint64_t count) {
    RunSpec s = base_spec(o, Kind::kRaw);
    traffic(o, s, size, count, 0);
    return s;
}

RunSpec latency_spec(const Options& o, Kind kind) {
    RunSpec s = base_spec(o, kind);
    traffic(o, s, 64, 30000, 10000);
    s.warmup = default_warmup(o, s);
    return s;
}

Section latency_section(const Options& o, const std::string& key, const RunSpec& s) {
    std::string title = "one-way latency at a fixed rate, from the intended send time";
    if (s.kind == Kind::kPingPong) {
        title = "round trips at a fixed rate over two streams (echoed by a second process)";
    } else if (s.kind == Kind::kRawLatency) {
        title = "plain UDP multicast (no protocol): " + title;
    }
    return run_section(o, key, title, s, collect_latency);
}

// The repair figures at each loss level, after a lossless baseline of the same code path.
void repair_sections(const Options& o, Document& doc, const std::vector<double>& levels) {
    RunSpec s = latency_spec(o, Kind::kLatency);
    s.track_repairs = true;
    s.loss = 0;
    Section base = run_section(o, "repair_lossless",
                               "the repair test's lossless baseline (same rate, same code path)", s,
                               [](Section& sec, const RunSpec& rs, const RepResult& res) {
                                   collect_repair(sec, rs, res, kNaN);
                               });
    const double p50 = base.median_of("lat.p50");
    const double p99 = base.median_of("lat.p99");
    doc.sections.push_back(base);
    for (const double level : levels) {
        RunSpec ls = s;
        ls.loss = level;
        ls.delayed_threshold_ns =
            std::isnan(p99) ? 0 : static_cast<std::uint64_t>(p99 + o.margin_us * 1000);
        Section sec = run_section(
            o, "repair_" + pct_key(level),
            "latency with " + pct_text(level) + " injected loss; repaired messages found exactly",
            ls, [p50](Section& out, const RunSpec& rs, const RepResult& res) {
                collect_repair(out, rs, res, p50);
            });
        sec.settings.emplace_back("delayed_threshold",
                                  ls.delayed_threshold_ns > 0
                                      ? format_ns(static_cast<double>(ls.delayed_threshold_ns))
                                      : "n/a");
        doc.sections.push_back(sec);
    }
}

void run_mode(const Options& o, Document& doc) {
    if (o.mode == "throughput") {
        const RunSpec s = throughput_spec(o, 1024, 200000);
        doc.sections.push_back(throughput_section(
            o, "throughput", "one sender, " + std::to_string(s.receivers) + " receiver process(es)",
            s, o.search));
    } else if (o.mode == "raw") {
        const RunSpec s = raw_spec(o, 1400, 500000);
        doc.sections.push_back(run_section(
            o, "raw", "plain UDP multicast (sendmmsg/recvmmsg), no protocol", s, collect_rates));
    } else if (o.mode == "latency") {
        const Kind kind =
            o.pingpong ? Kind::kPingPong : (o.raw ? Kind::kRawLatency : Kind::kLatency);
        const RunSpec s = latency_spec(o, kind);
        doc.sections.push_back(
            latency_section(o, o.pingpong ? "pingpong" : (o.raw ? "raw_latency" : "latency"), s));
    } else if (o.mode == "repair") {
        repair_sections(o, doc, o.loss_levels);
    } else {
        run_compare(o, doc);
    }
}

}  // namespace perf
