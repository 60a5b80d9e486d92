// mp_common.h - what the processes of the multi-process test share: the run's options, line
// output that does not interleave between processes, checked config setters and the counter
// report. Uses only the public C API (<blip/blip.h>).
#pragma once

#include <blip/blip.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace blip_mp {

using Clock = std::chrono::steady_clock;

/// The run, as given on the command line (see usage() in multiproc_test.cpp).
struct Options {
    std::uint64_t messages = 100000;
    int receivers = 3;
    double loss = 0.1;
    std::size_t max_size = 1u << 20;
    std::uint64_t seed = 1;
    int timeout_s = 600;  // the whole run, enforced by the parent
    int stall_s = 60;     // a receiver or sender without progress for this long gives up
    int linger_ms = 500;  // receivers keep listening after the last message (duplicates?)
    // Sender option rate_limit, bytes/s (0: the library default, unlimited). Blip has no flow
    // control: a sender that runs more than its retransmit window (64 MiB) ahead of a receiver
    // loses that receiver data (LOSS left_window), and an overloaded host drops NAKs until
    // receivers give up (LOSS gave_up). 16 MB/s keeps a 2-core machine under ASan well clear
    // of both: the run takes ~20 s.
    std::int64_t rate_limit = 16000000;
    std::int64_t window_bytes = 0;  // sender option window_bytes; 0: the library default
    std::int64_t recv_buffer = 8 << 20;
    std::uint32_t stream = 7;
    std::string group;  // default: derived from the pid, so concurrent runs do not meet
    int port = 0;       // idem
    std::string interface = "127.0.0.1";
};

/// Names this process in log lines ("parent", "sender", "receiver 2").
void set_role(const char* role);
/// Prints "[role] text" and a newline to stderr in one write(2), so that the lines of the
/// concurrent processes never interleave.
void logf(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

/// Writes whole lines to the parent over a pipe: READY, STAT, EVENT, SENT/RECEIVED, RESULT.
struct Report {
    int fd = -1;
    void line(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
};

double seconds_since(Clock::time_point t0);

/// Checked setters: on failure they log the library's message (blip_config_error) and return
/// false.
bool set_opt(blip_config_t* cfg, const char* name, const std::string& value);
bool set_opt(blip_config_t* cfg, const char* name, std::int64_t value);
bool set_opt(blip_config_t* cfg, const char* name, double value);
/// Sets what sender and receivers share: group, port, interface, max_message_size.
bool set_common(blip_config_t* cfg, const Options& o);

/// Reports every counter of `scope` (names from blip_stat_name()) as "STAT <scope> <name>
/// <value>" lines, and into `out` if not null. `node` and `stream` name the remote sender for
/// BLIP_STATS_REMOTE. Returns false if a listed counter could not be read.
bool report_stats(Report& rep, blip_channel_t* ch, int scope, std::uint64_t node,
                  std::uint32_t stream, std::map<std::string, std::uint64_t>* out);

/// The sender's node id: "BLIPMP" and 16 bits of the parent's pid, so every child computes it
/// and concurrent runs differ.
std::uint64_t sender_node_id();

/// Reads one byte from the parent's control pipe; 0 on EOF or error (the parent is gone).
char read_control(int fd);

/// The two kinds of child; each returns its exit status.
int receiver_main(const Options& o, int idx, int report_fd);
int sender_main(const Options& o, int control_fd, int report_fd);

}  // namespace blip_mp
