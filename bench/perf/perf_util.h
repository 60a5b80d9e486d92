// perf_util.h - small helpers of blip-perf: the clock, pacing, percentiles, /proc readings,
// the machine's description and text formatting. POSIX and the standard library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "perf_spec.h"

namespace perf {

/// CLOCK_MONOTONIC in ns: the same clock in every process of this host.
std::uint64_t monotonic_ns();

/// Waits until CLOCK_MONOTONIC reaches `t_ns`: sleeps (absolute, 1 ns timer slack) and then
/// busy-waits the last `spin_ns`. Returns at once when `t_ns` has passed.
void wait_until(std::uint64_t t_ns, std::uint64_t spin_ns);

/// Sets this thread's timer slack to 1 ns (the default 50 us would blur paced sends).
void tight_timer_slack();

/// Percentiles of `v` (sorted in place): p50, p90, p99, p99.9 and max; nearest rank.
LatencySummary summarize(std::vector<std::uint64_t>& v);

/// A "VmRSS:"-style field of /proc/self/status in kB (0 if absent).
std::uint64_t status_kb(const char* field);

/// VmRSS over time, sampled at most every 100 ms, to report it a quarter into the traffic.
class RssTrack {
public:
    void sample(std::uint64_t now_ns);
    /// The first sample taken at or after `t_ns` (the last one if none; 0 if no sample).
    [[nodiscard]] std::uint64_t at(std::uint64_t t_ns) const;

private:
    std::vector<std::pair<std::uint64_t, std::uint64_t>> samples_;  // (time, kB)
};

/// Fills the CPU time and context switch fields from getrusage(RUSAGE_SELF).
void fill_rusage(Report& r);

/// Writes all of `len` bytes (retries on EINTR); false if the reader is gone.
bool write_all(int fd, const void* data, std::size_t len);

/// The host, for every run's header.
struct Machine {
    int cores = 0;
    std::string cpu;          // /proc/cpuinfo "model name"
    std::string kernel;       // uname: sysname release machine
    std::string clocksource;  // /sys/.../current_clocksource
    std::uint64_t rmem_max = 0;
    std::uint64_t wmem_max = 0;
    bool netns = false;  // BLIP_NETNS set: inside .ci/in-netns.sh
    double load1 = 0;    // /proc/loadavg: other work competing for the cores
};
Machine describe_machine();

/// "1,234,567" style grouping for integers; fixed decimals otherwise.
std::string format_number(double v, int decimals);
/// "812 ns", "12.4 us", "3.10 ms", "1.20 s".
std::string format_ns(double ns);
/// JSON string literal with escapes.
std::string json_string(const std::string& s);
/// JSON number: integers exactly, others with up to 6 significant decimals; null for NaN.
std::string json_number(double v);

}  // namespace perf
