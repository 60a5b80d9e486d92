// demo_roles.h - the two roles blip-demo forks into (sender, receiver) and the fixed-size
// reports they write back to the parent through a pipe (same binary, so plain structs are fine).
#pragma once

#include <cstddef>
#include <cstdint>

namespace demo {

constexpr std::uint64_t kUnknown = UINT64_MAX;  // a counter this library version does not have

struct Params {
    const char* group = "239.255.77.1";
    int port = 0;
    const char* interface = "127.0.0.1";
    int receivers = 3;
    std::uint64_t messages = 20000;
    double loss = 0.1;
    std::size_t max_size = 65536;
    std::uint64_t rate = 20000000;  // the sender paces itself to this (bytes/s); 0 = burst
    int timeout_ms = 30000;         // the whole run, enforced by the parent
    std::uint64_t stop_at_ns = 0;   // CLOCK_MONOTONIC: roles stop here and report what they have
};

/// Written once by each receiver, after its readiness byte ('R' ready, 'F' failed to open).
struct ReceiverReport {
    int open_rc = 0;       // BLIP_OK, or why the channel did not open
    char error[400] = "";  // blip_config_error() text, or the first problem seen
    std::uint64_t delivered = 0;
    std::uint64_t lost = 0;  // messages named by loss events
    std::uint64_t loss_events = 0;
    bool in_order = true;   // every message in sequence, exactly once, byte-exact
    bool finished = false;  // delivered + lost reached the message count before the deadline
    std::uint64_t injected_drops = kUnknown;
    std::uint64_t repairs = kUnknown;
    std::uint64_t naks_sent = kUnknown;
    std::uint64_t kernel_drops = kUnknown;  // datagrams the kernel dropped (socket buffer full)
    std::uint64_t bytes = 0;
    double seconds = 0;  // first to last delivery
    std::uint64_t lat_p50_ns = 0;
    std::uint64_t lat_p99_ns = 0;
    std::uint64_t lat_max_ns = 0;
};

struct SenderReport {
    int open_rc = 0;
    char error[400] = "";
    std::uint64_t messages = 0;
    std::uint64_t bytes = 0;
    double seconds = 0;  // first send to everything transmitted once
    std::uint64_t naks_received = kUnknown;
    std::uint64_t repairs_sent = kUnknown;
    std::uint64_t kernel_drops = kUnknown;  // its own looped datagrams can fill its buffer
};

/// Stops a role early (set from a signal handler).
void request_stop();

/// Opens a receiving channel (inject_loss = loss, inject_seed = index + 1), writes 'R' (or 'F'
/// and the report) to `fd`, then receives until every message is accounted for or the
/// deadline, and writes its ReceiverReport. Returns the process exit status.
int run_receiver(const Params& p, int index, int fd);

/// Sends the burst, waits until sent, lingers for repairs until `done_fd` becomes readable
/// (the parent closes it once every receiver reported) or the deadline, then writes its
/// SenderReport to `fd`. Returns the process exit status.
int run_sender(const Params& p, int fd, int done_fd);

}  // namespace demo
