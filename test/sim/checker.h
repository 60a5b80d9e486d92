// Verifies what simulated receivers get against what senders sent: per receiver and per
// sender stream, messages arrive in order, exactly once, byte-exact, and every message not
// delivered is named by exactly one loss event at the point where it is missing.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "proto/endpoint.h"
#include "sim/network.h"

namespace blip::sim {

/// 64-bit content hash for byte-exact comparison without keeping payloads.
std::uint64_t content_hash(std::span<const std::uint8_t> data);

/// Deterministic payload of `size` bytes derived from `tag`.
std::vector<std::uint8_t> make_payload(std::uint64_t tag, std::size_t size);

using StreamId = std::tuple<std::uint64_t, std::uint64_t, std::uint32_t>;  // node, session, stream

class Checker final : public Listener {
public:
    struct StreamLog {
        bool started = false;
        std::uint64_t first = 0;  ///< first mseq delivered or reported
        std::uint64_t next = 0;   ///< next mseq expected
        bool ended = false;       ///< an open-ended loss closed the stream
        std::uint64_t delivered = 0;
        std::uint64_t lost = 0;
        std::vector<proto::Event> losses;
        Time last_delivery{};
    };
    struct NodeLog {
        std::map<StreamId, StreamLog> streams;
        std::vector<std::string> recent;  ///< last deliveries/events, for error reports
        std::vector<std::pair<Time, proto::Event>> membership;
    };

    /// Records a message that a sender sent (call with the mseq the sender returned).
    void sent(const StreamId& id, std::uint64_t mseq, std::span<const std::uint8_t> data);
    /// Sends a generated message of `size` bytes from `node` through `net` and records it.
    std::uint64_t send(Network& net, int node, std::uint32_t stream, std::size_t size);

    void on_deliver(int node, Time now, const proto::MessageInfo& info,
                    std::span<const std::uint8_t> data) override;
    void on_event(int node, Time now, const proto::Event& ev) override;

    [[nodiscard]] const std::vector<std::string>& errors() const noexcept { return errors_; }
    [[nodiscard]] NodeLog& node(int n) { return nodes_[n]; }
    /// The log of `receiver` for a sender stream, or nullptr if nothing was received.
    [[nodiscard]] const StreamLog* stream(int receiver, const StreamId& id) const;
    /// Messages recorded as sent on a stream.
    [[nodiscard]] std::uint64_t sent_count(const StreamId& id) const;
    /// True when `receiver` has handled (delivered or reported) every message sent on `id`.
    [[nodiscard]] bool complete(int receiver, const StreamId& id) const;

private:
    void error(int node, std::string msg);
    void trace(int node, Time now, std::string what);
    struct Sent {
        std::size_t size;
        std::uint64_t hash;
    };
    std::map<StreamId, std::vector<Sent>> sent_;
    std::map<int, NodeLog> nodes_;
    std::vector<std::string> errors_;
    std::uint64_t tag_ = 0;
};

/// The stream id of what `node` sends on `stream` (its current session).
StreamId stream_of(Network& net, int node, std::uint32_t stream);

}  // namespace blip::sim
