// perf_options.cpp - blip-perf's argument parsing and help text.
#include "perf_options.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace perf {

namespace {

constexpr const char* kHelp =
    "usage: blip-perf MODE [options]\n"
    "Measures Blip over loopback multicast with separate sender and receiver processes, and\n"
    "verifies every message (sequence and full content), so a fast wrong answer cannot pass.\n"
    "Every figure is the median of --reps repetitions, with min and max. Exit status: 0 all\n"
    "verified, 1 a run failed, 2 usage, 3 (--check-targets) a target missed.\n"
    "\n"
    "It sends multicast: run it inside a private network namespace, e.g.\n"
    "  .ci/in-netns.sh build/bench/blip-perf compare\n"
    "\n"
    "modes:\n"
    "  throughput  one sender, N receivers: messages/s and MB/s delivered per receiver\n"
    "              (defaults: --size 1024 --count 200000, flat out)\n"
    "  latency     fixed-rate one-way latency from the INTENDED send time t0 + i/rate, so a\n"
    "              stall counts for every message it delays (no coordinated omission); with\n"
    "              --pingpong, round trips over two streams; with --raw, the same test over\n"
    "              plain UDP multicast, the kernel's floor (defaults: --size 64 --rate 10000\n"
    "              --count 30000 --warmup 1000)\n"
    "  repair      the latency test at each --loss-levels (and lossless first): latency of all\n"
    "              messages, of the messages a repair delivered, and the repair delay (their\n"
    "              latency minus the lossless median); see docs/performance.md\n"
    "  raw         the same datagrams as plain UDP multicast without any protocol\n"
    "              (sendmmsg/recvmmsg): the kernel's limit here (defaults: --size 1400\n"
    "              --count 500000, flat out)\n"
    "  compare     (or all) raw at 1 KiB and 1400 B, and 1 KiB with --gso; Blip\n"
    "              throughput (searched, see --search) at 1 KiB and 64 B, lossless and at\n"
    "              5% loss, and at 1 KiB with a busy-polling receiver (busy_poll_us=50) and\n"
    "              without segmentation offload; latency (default,\n"
    "              and busy-polling: receiver busy_poll_us=200, sender --spin-us 50) and\n"
    "              repair at 10,000 msg/s of 64 B, each latency also over plain UDP\n"
    "              (--raw); and the targets of issue 4\n"
    "\n"
    "options:\n"
    "  --size B           message size in bytes (raw: datagram payload), >= 24\n"
    "  --count N          messages per repetition\n"
    "  --duration S       send for S seconds instead of a count (e.g. 60 to check memory)\n"
    "  --reps N           repetitions (default 3)\n"
    "  --receivers N      receiver processes (default 1)\n"
    "  --loss F           inject_loss at each receiver, 0..0.5 (default 0)\n"
    "  --loss-levels L,.. repair: loss fractions (default 0.001,0.01,0.05)\n"
    "  --margin-us U      repair: \"delayed\" = latency above the lossless p99 + U (default 100)\n"
    "  --rate R           pace the sender at R messages (raw: datagrams) per second\n"
    "  --mbps M           pace the sender at M MB/s (10^6 bytes) instead\n"
    "  --warmup N         latency/repair: leave the first N messages out of the figures\n"
    "  --spin-us U        paced sender: busy-wait the last U us before each send (default 0)\n"
    "  --pull             receive with blip_channel_receive() (default: the callback)\n"
    "  --pingpong         latency: round trips (stream 1 out, stream 2 back)\n"
    "  --raw              latency: plain UDP multicast, one datagram per message, no protocol;\n"
    "                     the receiver spins for busy_poll_us if --set/--rx-set gives it\n"
    "  --window B         Blip window_bytes (retransmit window)\n"
    "  --rate-limit B     Blip rate_limit, bytes/s (the library's own pacing)\n"
    "  --datagram B       Blip datagram_size\n"
    "  --rcvbuf B         SO_RCVBUF for Blip (recv_buffer) and raw (default 4194304)\n"
    "  --sndbuf B         SO_SNDBUF for Blip (send_buffer) and raw (default: kernel's)\n"
    "  --batch N          raw: datagrams per sendmmsg/recvmmsg (default 32)\n"
    "  --gso              raw: send with UDP GSO (UDP_SEGMENT), receive with UDP_GRO\n"
    "  --set NAME=VALUE   any Blip option for sender and receivers (repeatable)\n"
    "  --tx-set, --rx-set NAME=VALUE   the same, for the sender or the receivers only\n"
    "  --interface ADDR   IPv4 address of the interface (default 127.0.0.1)\n"
    "  --group G          multicast group (default 239.255.91.1)\n"
    "  --port P           first UDP port (default: derived from the pid; +1 per run)\n"
    "  --timeout S        give up on a repetition after S seconds (default: from the size)\n"
    "  --stall-ms N       a receiver with no progress for N ms gives up (default 10000)\n"
    "  --search           throughput: find the highest rate at which every message is\n"
    "                     delivered and no receiver's kernel dropped a datagram (RFC 2544\n"
    "                     style: flat out first, which passes when flow control holds the\n"
    "                     sender; else paced); compare does this unless --no-search or a\n"
    "                     pace is given\n"
    "  --check-targets    compare: exit 3 when a target is not met\n"
    "  --json             one JSON document on stdout instead of the table\n"
    "  --help             this text\n";

[[noreturn]] void usage(const std::string& msg) {
    std::fprintf(stderr, "blip-perf: usage error: %s (try --help)\n", msg.c_str());
    std::exit(2);
}

class Cursor {
public:
    Cursor(int argc, char** argv) : argc_(argc), argv_(argv) {}
    [[nodiscard]] bool done() const { return i_ >= argc_; }
    [[nodiscard]] const char* current() const { return argv_[i_]; }
    void skip() { ++i_; }

    bool flag(const char* name) {
        if (std::strcmp(argv_[i_], name) != 0) return false;
        ++i_;
        return true;
    }
    // "--name value" or "--name=value".
    bool option(const char* name, std::string* value) {
        const char* arg = argv_[i_];
        const std::size_t n = std::strlen(name);
        if (std::strncmp(arg, name, n) != 0) return false;
        if (arg[n] == '=') {
            *value = arg + n + 1;
            ++i_;
            return true;
        }
        if (arg[n] != '\0') return false;
        if (i_ + 1 >= argc_) usage(std::string(name) + " needs a value");
        *value = argv_[i_ + 1];
        i_ += 2;
        return true;
    }

private:
    int argc_;
    char** argv_;
    int i_ = 1;
};

double to_double(const char* name, const std::string& v, double lo, double hi) {
    errno = 0;
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || errno != 0 || *end != '\0' || std::isnan(d) || d < lo || d > hi) {
        usage(std::string(name) + ": '" + v + "' is not a number in " + std::to_string(lo) + ".." +
              std::to_string(hi));
    }
    return d;
}

std::uint64_t to_u64(const char* name, const std::string& v, std::uint64_t lo, std::uint64_t hi) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long u = std::strtoull(v.c_str(), &end, 0);
    if (v.empty() || v[0] == '-' || errno != 0 || *end != '\0' || u < lo || u > hi) {
        usage(std::string(name) + ": '" + v + "' is not an integer in " + std::to_string(lo) +
              ".." + std::to_string(hi));
    }
    return u;
}

std::pair<std::string, std::string> name_value(const char* name, const std::string& v) {
    const std::size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) usage(std::string(name) + " wants NAME=VALUE");
    return {v.substr(0, eq), v.substr(eq + 1)};
}

}  // namespace

Options parse_options(int argc, char** argv) {
    Options o;
    Cursor c(argc, argv);
    std::string v;
    while (!c.done()) {
        if (c.flag("--help") || c.flag("-h")) {
            std::fputs(kHelp, stdout);
            std::exit(0);
        }
        if (c.flag("--json")) {
            o.json = true;
        } else if (c.flag("--pull")) {
            o.pull = true;
        } else if (c.flag("--pingpong")) {
            o.pingpong = true;
        } else if (c.flag("--raw")) {
            o.raw = true;
        } else if (c.flag("--check-targets")) {
            o.check_targets = true;
        } else if (c.flag("--search")) {
            o.search = true;
        } else if (c.flag("--no-search")) {
            o.no_search = true;
        } else if (c.option("--size", &v)) {
            o.size = to_u64("--size", v, 24, 16u << 20);
        } else if (c.option("--count", &v)) {
            o.count = to_u64("--count", v, 1, 1'000'000'000);
        } else if (c.option("--duration", &v)) {
            o.duration_s = to_double("--duration", v, 0.01, 86400);
        } else if (c.option("--reps", &v)) {
            o.reps = static_cast<int>(to_u64("--reps", v, 1, 1000));
        } else if (c.option("--receivers", &v)) {
            o.receivers = static_cast<int>(to_u64("--receivers", v, 1, 64));
        } else if (c.option("--loss-levels", &v)) {
            o.loss_levels.clear();
            for (std::size_t a = 0; a <= v.size();) {
                std::size_t b = v.find(',', a);
                if (b == std::string::npos) b = v.size();
                o.loss_levels.push_back(to_double("--loss-levels", v.substr(a, b - a), 1e-6, 0.5));
                a = b + 1;
            }
        } else if (c.option("--loss", &v)) {
            o.loss = to_double("--loss", v, 0, 0.5);
        } else if (c.option("--margin-us", &v)) {
            o.margin_us = to_double("--margin-us", v, 0, 1e7);
        } else if (c.option("--rate-limit", &v)) {
            o.rate_limit = static_cast<std::int64_t>(to_u64("--rate-limit", v, 1, 1ULL << 40));
        } else if (c.option("--rate", &v)) {
            o.rate = to_double("--rate", v, 1, 1e9);
        } else if (c.option("--mbps", &v)) {
            o.mbps = to_double("--mbps", v, 0.001, 1e6);
        } else if (c.option("--warmup", &v)) {
            o.warmup = to_u64("--warmup", v, 0, 1'000'000'000);
        } else if (c.option("--spin-us", &v)) {
            o.spin_us = to_u64("--spin-us", v, 0, 1'000'000);
        } else if (c.option("--window", &v)) {
            o.window_bytes = static_cast<std::int64_t>(to_u64("--window", v, 1, 1ULL << 40));
        } else if (c.option("--datagram", &v)) {
            o.datagram_size = static_cast<std::int64_t>(to_u64("--datagram", v, 128, 65000));
        } else if (c.option("--rcvbuf", &v)) {
            o.recv_buffer = static_cast<std::int64_t>(to_u64("--rcvbuf", v, 0, 1ULL << 31));
        } else if (c.option("--sndbuf", &v)) {
            o.send_buffer = static_cast<std::int64_t>(to_u64("--sndbuf", v, 0, 1ULL << 31));
        } else if (c.option("--batch", &v)) {
            o.batch = static_cast<int>(to_u64("--batch", v, 1, 1024));
        } else if (c.flag("--gso")) {
            o.gso = true;
        } else if (c.option("--set", &v)) {
            o.tx_sets.push_back(name_value("--set", v));
            o.rx_sets.push_back(name_value("--set", v));
        } else if (c.option("--tx-set", &v)) {
            o.tx_sets.push_back(name_value("--tx-set", v));
        } else if (c.option("--rx-set", &v)) {
            o.rx_sets.push_back(name_value("--rx-set", v));
        } else if (c.option("--interface", &v)) {
            o.interface = v;
        } else if (c.option("--group", &v)) {
            o.group = v;
        } else if (c.option("--port", &v)) {
            o.port = static_cast<int>(to_u64("--port", v, 1, 65000));
        } else if (c.option("--timeout", &v)) {
            o.timeout_s = static_cast<int>(to_u64("--timeout", v, 1, 100000));
        } else if (c.option("--stall-ms", &v)) {
            o.stall_ms = static_cast<int>(to_u64("--stall-ms", v, 100, 3'600'000));
        } else if (c.current()[0] != '-' && o.mode.empty()) {
            o.mode = c.current();
            c.skip();
        } else {
            usage(std::string("unknown argument '") + c.current() + "'");
        }
    }
    if (o.mode == "all") o.mode = "compare";
    if (o.mode.empty()) usage("no mode given (throughput, latency, repair, raw or compare)");
    if (o.mode != "throughput" && o.mode != "latency" && o.mode != "repair" && o.mode != "raw" &&
        o.mode != "compare") {
        usage("unknown mode '" + o.mode + "'");
    }
    if (o.count && o.duration_s) usage("--count and --duration exclude each other");
    if (o.rate && o.mbps) usage("--rate and --mbps exclude each other");
    if (o.pingpong && o.mode != "latency") usage("--pingpong is a latency option");
    if (o.raw && o.mode != "latency")
        usage("--raw is a latency option (the raw mode is throughput)");
    if (o.raw && o.pingpong) usage("--raw and --pingpong exclude each other");
    if (o.search && o.mode != "throughput") usage("--search is a throughput option");
    return o;
}

}  // namespace perf
