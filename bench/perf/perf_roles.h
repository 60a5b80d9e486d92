// perf_roles.h - the processes a blip-perf repetition forks into, and the control protocol the
// parent drives them with. Each role runs in its own process (forked before any Blip context
// exists), writes Reports to `report_fd` and reads control bytes from `control_fd`.
#pragma once

#include <cstdint>

#include "perf_spec.h"

namespace perf {

/// Control bytes, parent to role.
inline constexpr char kCtlGo = 'G';     // sender: start sending
inline constexpr char kCtlQuit = 'Q';   // stop and write the final report
inline constexpr char kCtlTotal = 'T';  // followed by a u64: how many the sender sent

struct RolePipes {
    int report_fd = -1;
    int control_fd = -1;
};

/// Reads the control pipe without blocking longer than asked.
class Control {
public:
    explicit Control(int fd) : fd_(fd) {}
    /// Waits up to `timeout_ms` for control bytes and handles them; false once the parent is
    /// gone (EOF), which counts as quit.
    bool poll(int timeout_ms);
    [[nodiscard]] bool go() const { return go_; }
    [[nodiscard]] bool quit() const { return quit_; }
    /// The sender's total, once told (kUnknown before).
    [[nodiscard]] std::uint64_t total() const { return total_; }

private:
    int fd_;
    bool go_ = false;
    bool quit_ = false;
    std::uint64_t total_ = kUnknown;
    unsigned char pending_[16] = {};
    std::size_t have_ = 0;
};

/// Blip receiver (throughput, latency, repair): opens a channel with inject_loss, reports
/// ready, verifies every message until the one flagged last, reports. Exit status 0 or 1.
int blip_receiver_role(const RunSpec& s, int index, RolePipes p);
/// Blip sender: opens, waits for go, sends (paced or flat out), waits until sent, reports
/// kSent, lingers to serve repairs until quit, reports kFinal. In ping-pong mode it is the
/// pinger: it also receives the echoes and measures round trips.
int blip_sender_role(const RunSpec& s, RolePipes p);
/// Ping-pong echo: receives stream 1, sends each message back on stream 2 from the callback.
int blip_echo_role(const RunSpec& s, RolePipes p);

/// Plain UDP multicast receiver: recvmmsg, verifies, counts drops (SO_RXQ_OVFL).
int raw_receiver_role(const RunSpec& s, int index, RolePipes p);
/// Plain UDP multicast sender: sendmmsg batches, flat out or paced.
int raw_sender_role(const RunSpec& s, RolePipes p);

}  // namespace perf
