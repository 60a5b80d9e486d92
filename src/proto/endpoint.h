// The protocol engine of one channel: this node's sending streams, the receivers for every
// remote sender stream it hears, and the membership around them (senders new, restarted,
// inactive, removed). Decodes datagrams, rejects and counts foreign or malformed ones, and
// routes the rest. Sans-I/O: (now, input) -> Output calls, and next_deadline() says when to
// call on_timer() again. Not thread-safe: one caller drives it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "proto/config.h"
#include "proto/events.h"
#include "proto/output.h"
#include "proto/receiver.h"
#include "proto/rng.h"
#include "proto/sender.h"
#include "proto/status.h"
#include "proto/time.h"
#include "wire/codec.h"

namespace blip::proto {

struct EndpointStats {
    std::uint64_t datagrams_received = 0;
    std::uint64_t foreign = 0;    ///< not Blip (bad magic)
    std::uint64_t malformed = 0;  ///< Blip magic but undecodable (sum of the array below)
    std::array<std::uint64_t, 10> malformed_by_reason{};  ///< indexed by wire::DecodeError
    std::uint64_t own_looped = 0;                         ///< our own packets heard back
    std::uint64_t ignored_streams = 0;                    ///< streams not accepted by configuration
    std::uint64_t stale_sessions = 0;       ///< packets of a session that has been replaced
    std::uint64_t too_many_senders = 0;     ///< packets of senders beyond max_senders
    std::uint64_t naks_for_others = 0;      ///< NAKs seen for other senders' streams
    std::uint64_t statuses_for_others = 0;  ///< flow reports seen for other senders' streams
    std::uint64_t out_of_range = 0;         ///< sequence numbers at or beyond kMaxSequence
};

/// Sequence numbers (dseq and mseq) a correct sender reaches: it starts at 0 and could not
/// reach 2^63 in millennia. Packets naming sequences at or beyond it are dropped before
/// the core sees them, so no "+1" or "+count" inside the core can overflow.
inline constexpr std::uint64_t kMaxSequence = std::uint64_t{1} << 63;

/// True if every sequence number `p` names (and one past it) is below kMaxSequence.
[[nodiscard]] bool sequences_in_range(const wire::Packet& p) noexcept;

class Endpoint {
public:
    /// `cfg` must be valid (see validate()); throws std::invalid_argument otherwise.
    /// `now` marks the start of listening and of this node's sending session.
    Endpoint(const EndpointConfig& cfg, Output& out, Time now);

    /// Queues a message on `stream` (see Sender::submit); call flush() to transmit.
    Status send(Time now, std::uint32_t stream, std::span<const std::uint8_t> data,
                std::uint64_t* mseq);
    /// Queues the messages at `extents` of `bytes` on `stream` without copying them (see
    /// Sender::submit_adopted: all or nothing, `bytes` moved only on kOk).
    Status send_adopted(Time now, std::uint32_t stream, std::vector<std::uint8_t>& bytes,
                        std::span<const MessageQueue::Extent> extents);
    /// An emptied buffer from `stream`'s queue for the next send_adopted(), or an empty vector.
    [[nodiscard]] std::vector<std::uint8_t> take_spare_buffer(std::uint32_t stream);
    /// Transmits what is queued (batching whatever is waiting into full datagrams).
    void flush(Time now);
    /// One received UDP payload.
    void on_datagram(Time now, std::span<const std::uint8_t> datagram);
    /// Runs everything due at `now`: NAKs, retries, heartbeats, repairs, inactivity.
    void on_timer(Time now);
    /// When on_timer() must next run; kNever if nothing is scheduled, a time at or before
    /// `now` if at once (a receiver has in-order data waiting to be delivered).
    [[nodiscard]] Time next_deadline(Time now);

    /// Sets ReceiverConfig::status_credit (at least 1). A transport learns the buffer its
    /// socket got only after opening it, so this is set after construction, before the first
    /// datagram.
    void set_status_credit(std::uint64_t datagrams) noexcept {
        cfg_.receiver.status_credit = datagrams > 0 ? datagrams : 1;
    }
    /// Sets SenderConfig::initial_credit for the streams created from now on (0 = none).
    void set_initial_credit(std::uint64_t datagrams) noexcept {
        cfg_.sender.initial_credit = datagrams;
    }

    [[nodiscard]] std::uint64_t node_id() const noexcept { return node_; }
    [[nodiscard]] std::uint64_t session_id() const noexcept { return session_; }
    [[nodiscard]] const EndpointStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const EndpointConfig& config() const noexcept { return cfg_; }
    /// The local sender of `stream`, or nullptr if nothing was sent on it yet.
    [[nodiscard]] const Sender* sender(std::uint32_t stream) const;
    /// Visits every tracked remote sender stream (current sessions only).
    void for_each_receiver(const std::function<void(const Receiver&, bool inactive)>& fn) const;

private:
    /// This endpoint's Sender for `stream`, created on first use.
    Sender& local_sender(std::uint32_t stream);
    struct RemoteKey {
        std::uint64_t node;
        std::uint32_t stream;
        friend bool operator==(const RemoteKey&, const RemoteKey&) = default;
    };
    struct RemoteKeyHash {
        std::size_t operator()(const RemoteKey& k) const noexcept {
            return std::hash<std::uint64_t>()(k.node * 0x9E3779B97F4A7C15ULL ^ k.stream);
        }
    };
    struct Remote {
        std::uint64_t session = 0;
        std::unique_ptr<Receiver> rx;
        Time last_heard{};
        bool inactive = false;
        std::vector<std::uint64_t> ended_sessions;  // recent replaced sessions, ignored
    };

    Remote* route(Time now, const wire::Packet& p);
    std::unique_ptr<Receiver> make_receiver(Time now, const wire::Packet& p);
    void emit_membership(EventType type, const StreamKey& key, std::uint64_t old_session = 0);
    [[nodiscard]] bool accepts(std::uint32_t stream) const;

    EndpointConfig cfg_;
    Output& out_;
    Rng rng_;
    Time start_;
    std::uint64_t node_;
    std::uint64_t session_;
    std::map<std::uint32_t, std::unique_ptr<Sender>> senders_;
    std::unordered_map<RemoteKey, Remote, RemoteKeyHash> remotes_;
    // (node, session) of senders removed after sender_forget, most recent last. If one is
    // heard again it is not "younger than our listening": it is joined like a late joiner,
    // so nothing delivered before its removal is delivered twice.
    std::deque<std::pair<std::uint64_t, std::uint64_t>> forgotten_;
    EndpointStats stats_;
};

}  // namespace blip::proto
