// Every tunable of the protocol core, with defaults chosen for a LAN: a lost datagram is
// repaired in about a millisecond, not the hundreds of milliseconds older protocols use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/time.h"

namespace blip::proto {

enum class JoinPolicy : std::uint8_t {
    /// A receiver that joins a running sender starts at the next message it hears.
    kNext = 0,
    /// A receiver that joins a running sender recovers all the sender still holds.
    kRecover = 1,
};

struct SenderConfig {
    /// Largest datagram sent (UDP payload). 1400 fits IPv6 and common overlays.
    std::size_t datagram_size = 1400;
    /// Largest message accepted by send(); larger ones are refused (never truncated).
    std::size_t max_message_size = 16u << 20;
    /// Retransmit window limits: the oldest datagrams leave when either is exceeded.
    std::size_t window_max_bytes = 64u << 20;
    std::size_t window_max_messages = 1u << 20;
    /// Queue of accepted but not yet transmitted messages (send() returns kWouldBlock). Its
    /// bytes are copied twice more (into the queue, into datagrams) after the application's
    /// thread wrote them: a queue that fits in the caches keeps those copies fast (a flat-out
    /// 1 KiB sender: ~0.8 GB/s with 16 MiB, ~0.55 GB/s with 64 MiB). At least max_message_size.
    std::size_t queue_max_bytes = 16u << 20;
    std::size_t queue_max_messages = 1u << 20;
    /// Original data rate, bytes/s; 0 = unlimited.
    std::uint64_t rate_limit = 0;
    /// Repair rate, bytes/s, and its burst: bounds what a NAK flood can make us send.
    std::uint64_t repair_rate = 100u << 20;
    std::size_t repair_burst = 256u << 10;
    /// A datagram repaired less than this long ago is not repaired again: the NAKs of
    /// other receivers for the same loss that crossed the repair in flight are coalesced.
    Duration repair_holdoff = 250us;
    /// Heartbeats while idle: first after heartbeat_min, then doubling to heartbeat_max.
    Duration heartbeat_min = 200us;
    Duration heartbeat_max = 1s;
    /// Flow control: original data never goes beyond the lowest limit the receivers report
    /// (STATUS), so a sender cannot overrun the slowest receiver that reports. Off: the
    /// sender ignores reports and sends at rate_limit (or as fast as it can).
    bool flow_control = true;
    /// A receiver that holds the sender back and has not reported for this long (dead, or
    /// stuck) stops holding it.
    Duration flow_timeout = 500ms;
    /// Before the first report arrives (it takes a round trip), at most this many datagrams go
    /// out; then new data waits for a report, at most initial_wait: a flat-out first burst
    /// could otherwise overrun a receiver that has not reported yet. 0: no such wait (the
    /// core's default; a channel sets it from its socket buffer, like status_credit).
    std::uint64_t initial_credit = 0;
    Duration initial_wait = 20ms;
};

struct ReceiverConfig {
    JoinPolicy join = JoinPolicy::kNext;
    /// Largest message reassembled; larger ones are reported lost with kRejected.
    std::size_t max_message_size = 16u << 20;
    /// Bytes of out-of-order datagrams buffered per sender stream while a gap is repaired.
    std::size_t reorder_buffer_bytes = 32u << 20;
    /// Before NAKing, wait a random time in [nak_delay_min, nak_delay_min + nak_backoff]
    /// drawn from a truncated exponential of shape nak_backoff_lambda, so that in a large
    /// group the first NAK (seen by all) suppresses the others. A receiver that reports
    /// (send_status) and has heard no other receiver's report on the stream within
    /// sender_forget is alone: there is nothing to suppress, and it NAKs after nak_delay_min
    /// or a quarter of the smallest NAK-to-repair round trip measured, whichever is longer
    /// (the allowance for reordering).
    Duration nak_delay_min = 20us;
    Duration nak_backoff = 500us;
    double nak_backoff_lambda = 6.0;
    /// After a NAK (ours or one seen), wait this long for the repair before NAKing again;
    /// doubles per retry up to nak_retry_max. With adaptive_repair_timeout, the longest first
    /// wait (and the one until a round trip has been measured).
    Duration repair_timeout = 1ms;
    /// Learn the wait from the NAK-to-repair round trips of each sender stream (srtt + 4 *
    /// rttvar, Karn's rule), within [min(repair_timeout_min, repair_timeout), repair_timeout].
    /// The floor keeps a second NAK clear of the sender's repair_holdoff.
    bool adaptive_repair_timeout = true;
    Duration repair_timeout_min = 250us;
    Duration nak_retry_max = 100ms;
    /// NAKs per gap before it is declared lost (kGaveUp).
    std::uint32_t nak_max_retries = 30;
    /// Silence after which a sender is reported inactive and its gaps lost (kSenderGone).
    Duration sender_timeout = 5s;
    /// Silence after which an inactive sender's state is freed.
    Duration sender_forget = 60s;
    /// At most this many remote sender streams are tracked; packets of more are dropped.
    std::size_t max_senders = 4096;
    /// Streams to receive; empty = all.
    std::vector<std::uint32_t> accept_streams;
    /// Datagrams further than this beyond the newest known are implausible and dropped.
    std::uint64_t max_sequence_jump = 1u << 30;
    /// Flow control: report (STATUS) to each sender how far it may send. Off: this receiver
    /// never holds a sender back (and may be overrun by a fast one).
    bool send_status = true;
    /// Datagrams a sender may send beyond the newest one this receiver has read before it
    /// must wait for a report: what the socket buffer can hold unread. The transport sets it
    /// from the buffer the kernel granted. A report goes out each time the limit has moved by
    /// a quarter of it.
    std::uint64_t status_credit = 1024;
};

struct EndpointConfig {
    /// Stable identity of this node (survives restarts); 0 = pick a random one.
    std::uint64_t node_id = 0;
    /// Session id for this start; 0 = random (the normal case).
    std::uint64_t session_id = 0;
    /// Seed of the core's random generator (NAK back-off, ids).
    std::uint64_t seed = 1;
    SenderConfig sender;
    ReceiverConfig receiver;
};

/// Checks ranges and relations between fields. Returns an empty string when valid, else a
/// message naming the offending field.
[[nodiscard]] std::string validate(const EndpointConfig& c);

}  // namespace blip::proto
