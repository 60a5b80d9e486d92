// perf_spec.h - what one repetition of a blip-perf run is told (RunSpec, copied into each forked
// role) and what each role writes back to the parent (Report, a plain struct over a pipe: the
// roles are the same binary). Standard library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace perf {

inline constexpr std::uint64_t kUnknown = UINT64_MAX;  // a counter the library does not have

enum class Kind : std::uint8_t {
    kThroughput,  // Blip: one sender, N receivers, as fast as allowed (or paced)
    kLatency,     // Blip: one-way, fixed rate, timestamps in the messages
    kPingPong,    // Blip: fixed-rate pings on stream 1, echoed on stream 2
    kRaw,         // plain UDP multicast, sendmmsg/recvmmsg, no protocol
    kRawLatency,  // plain UDP multicast, one-way, fixed rate, timestamps (latency --raw)
};

/// The plain-UDP baselines (raw roles, no Blip).
inline bool is_raw(Kind k) { return k == Kind::kRaw || k == Kind::kRawLatency; }

/// Everything a role needs. The parent fills it, then forks: the children get a copy.
struct RunSpec {
    Kind kind = Kind::kThroughput;
    int rep = 0;  // 0-based repetition, for seeds and ports
    // Traffic.
    std::size_t size = 1024;        // message size (raw: datagram payload size)
    std::uint64_t count = 0;        // messages to send; 0 = send for duration_ns
    std::uint64_t duration_ns = 0;  // used when count == 0
    double rate = 0;  // messages (raw: datagrams) per second, paced by the tool; 0 = flat out
    std::uint64_t warmup = 0;   // latency: the first `warmup` messages are not measured
    std::uint64_t spin_ns = 0;  // paced sender: busy-wait the last spin_ns before a send
    int receivers = 1;
    double loss = 0;  // inject_loss at every receiver
    // Network and socket (the same for Blip and raw).
    std::string group = "239.255.91.1";
    int port = 0;
    std::string interface = "127.0.0.1";
    std::int64_t recv_buffer = 4 << 20;
    std::int64_t send_buffer = 0;  // 0 = kernel default
    // Blip channel options (0 = the library's default).
    std::int64_t datagram_size = 0;
    std::int64_t window_bytes = 0;
    std::int64_t rate_limit = 0;
    std::vector<std::pair<std::string, std::string>> tx_sets;  // --set / --tx-set, in order
    std::vector<std::pair<std::string, std::string>> rx_sets;  // --set / --rx-set, in order
    bool pull = false;           // receivers use blip_channel_receive() instead of a callback
    bool track_repairs = false;  // receivers mark each message delivered by a repair datagram
    std::uint64_t delayed_threshold_ns = 0;  // latency above this counts as "delayed" (0: off)
    // Raw.
    int batch = 32;  // datagrams per sendmmsg/recvmmsg
    // UDP GSO on send (UDP_SEGMENT: one sendmsg carries up to kGsoMaxSegments datagrams) and GRO
    // on receive (UDP_GRO: the kernel hands back such a run whole).
    bool gso = false;
    // Limits.
    int stall_ms = 10000;  // a receiver with no progress for this long gives up
};

/// Percentiles of a latency sample, ns. n == 0: no sample.
struct LatencySummary {
    std::uint64_t n = 0;
    std::uint64_t p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;
};

enum class Phase : std::uint32_t {
    kReady = 1,  // receiver: listening (ok) or failed to open (ok == 0)
    kSent = 2,   // sender: everything handed to the library and transmitted once
    kFinal = 3,  // any role: results
};

/// One report; a role writes a whole struct per phase. Fields that do not apply stay 0 (or
/// kUnknown for library counters).
struct Report {
    Phase phase = Phase::kFinal;
    std::int32_t ok = 1;  // 0: this role failed; `error` says why
    std::int32_t open_rc = 0;
    char error[240] = "";
    // Sender.
    std::uint64_t sent = 0;         // messages (raw: datagrams) accepted
    std::uint64_t sent_bytes = 0;   // their payload bytes
    std::uint64_t start_ns = 0;     // first send call (CLOCK_MONOTONIC)
    std::uint64_t end_send_ns = 0;  // last send call returned
    std::uint64_t end_sent_ns = 0;  // everything transmitted once (blip_channel_wait_sent)
    std::uint64_t eagain = 0;       // sends refused with BLIP_EAGAIN (then retried)
    LatencySummary send_lag;        // paced: actual - intended send time
    // Receiver.
    std::uint64_t delivered = 0;  // messages (raw: datagrams) verified in order
    std::uint64_t delivered_bytes = 0;
    std::uint64_t first_ns = 0;  // first and last delivery (CLOCK_MONOTONIC)
    std::uint64_t last_ns = 0;
    std::uint64_t bad = 0;   // wrong sequence, length or content
    std::uint64_t lost = 0;  // messages named by LOSS / OVERRUN events (raw: never arrived)
    std::uint64_t loss_events = 0;
    std::uint64_t reordered = 0;  // raw: arrived after a later datagram
    LatencySummary lat;           // from the intended send time (no coordinated omission)
    LatencySummary lat_call;      // from the actual send call
    LatencySummary lat_repaired;  // messages delivered by a repair datagram (track_repairs)
    LatencySummary lat_delayed;   // messages above delayed_threshold_ns
    // Library counters (kUnknown if absent), or the raw socket's.
    std::uint64_t injected_drops = kUnknown;
    std::uint64_t kernel_drops = kUnknown;
    std::uint64_t naks_sent = kUnknown;
    std::uint64_t nak_retries = kUnknown;        // NAKs sent again (a repair did not come)
    std::uint64_t srtt_us = kUnknown;            // learned NAK-to-repair round trip
    std::uint64_t repair_timeout_us = kUnknown;  // the wait for a repair it gives
    std::uint64_t naks_received = kUnknown;
    std::uint64_t repairs_sent = kUnknown;
    std::uint64_t repairs_received = kUnknown;
    std::uint64_t send_dropped = kUnknown;
    std::uint64_t datagrams_sent = kUnknown;
    std::uint64_t datagrams_received = kUnknown;
    std::uint64_t own_looped = kUnknown;
    std::uint64_t flow_stalls = kUnknown;  // sender: waits for a receiver's report
    std::uint64_t flow_probes = kUnknown;  // sender: newest datagram resent while waiting
    // Process.
    std::uint64_t rss_start_kb = 0;  // VmRSS once open, before traffic
    std::uint64_t rss_early_kb = 0;  // VmRSS a quarter into the traffic (after warm-up)
    std::uint64_t rss_end_kb = 0;    // VmRSS at the end, channel still open
    std::uint64_t hwm_kb = 0;        // VmHWM at the end
    std::uint64_t cpu_user_us = 0;   // getrusage(RUSAGE_SELF) over the whole role
    std::uint64_t cpu_sys_us = 0;
    std::uint64_t ctx_voluntary = 0;
    std::uint64_t ctx_involuntary = 0;
};

/// Raw receivers spin on their socket for this long after the last datagram before they sleep
/// in poll(), as a Blip channel does with busy_poll_us. Taken from the receivers' busy_poll_us
/// (--set / --rx-set; the last one given), so a raw baseline waits as the Blip run beside it.
inline std::uint64_t raw_busy_poll_ns(const RunSpec& s) {
    std::uint64_t us = 0;
    for (const auto& [name, value] : s.rx_sets) {
        if (name == "busy_poll_us") us = std::strtoull(value.c_str(), nullptr, 10);
    }
    return us * 1000;
}

static_assert(sizeof(Report) <= 4096, "a report must fit one atomic pipe write");

}  // namespace perf
