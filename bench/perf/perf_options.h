// perf_options.h - blip-perf's command line: the mode, and the options with what was given
// explicitly (each mode has its own defaults for the rest).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace perf {

struct Options {
    std::string mode;  // throughput, latency, repair, raw, compare
    bool json = false;
    bool check_targets = false;  // compare: exit 3 if a target is missed
    bool search = false;         // throughput: find the highest rate that verifies
    bool no_search = false;      // compare: run Blip flat out instead
    int reps = 3;
    std::optional<std::uint64_t> size;
    std::optional<std::uint64_t> count;
    std::optional<double> duration_s;
    std::optional<double> rate;  // messages (raw: datagrams) per second
    std::optional<double> mbps;  // pace as MB/s instead
    int receivers = 1;
    double loss = 0;
    std::vector<double> loss_levels = {0.001, 0.01, 0.05};
    double margin_us = 100;
    bool pull = false;
    bool pingpong = false;
    bool raw = false;  // latency: plain UDP multicast instead of Blip
    std::optional<std::uint64_t> warmup;
    std::uint64_t spin_us = 0;
    std::string group = "239.255.91.1";
    int port = 0;  // 0: derived from the pid
    std::string interface = "127.0.0.1";
    std::int64_t recv_buffer = 4 << 20;
    std::int64_t send_buffer = 0;
    std::int64_t datagram_size = 0;
    std::int64_t window_bytes = 0;
    std::int64_t rate_limit = 0;
    std::vector<std::pair<std::string, std::string>> tx_sets;
    std::vector<std::pair<std::string, std::string>> rx_sets;
    int batch = 32;
    bool gso = false;
    std::optional<int> timeout_s;
    int stall_ms = 10000;
};

/// Parses argv; prints help and exits 0 for --help, exits 2 on a usage error.
Options parse_options(int argc, char** argv);

}  // namespace perf
