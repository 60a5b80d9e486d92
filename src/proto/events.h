// What the protocol core reports to its user besides messages: losses and membership.
#pragma once

#include <cstdint>
#include <string_view>

namespace blip::proto {

/// Identifies one stream of one sender incarnation.
struct StreamKey {
    std::uint64_t node = 0;     ///< stable sender identity (survives restarts)
    std::uint64_t session = 0;  ///< random per sender start
    std::uint32_t stream = 0;
    friend bool operator==(const StreamKey&, const StreamKey&) = default;
};

/// A delivered message's origin and position.
struct MessageInfo {
    StreamKey from;
    std::uint64_t mseq = 0;
};

enum class LossReason : std::uint8_t {
    kLeftWindow = 1,  ///< the sender no longer holds the data (UNAVAILABLE or trail moved)
    kSenderGone = 2,  ///< the sender restarted or went silent while data was missing
    kGaveUp = 3,      ///< NAKs went unanswered for the configured number of retries
    kRejected = 4,    ///< the message broke a local limit or the stream was inconsistent
};

[[nodiscard]] std::string_view to_string(LossReason r) noexcept;

enum class EventType : std::uint8_t {
    kLoss = 1,             ///< messages [first_mseq, first_mseq + count) will never arrive
    kSenderNew = 2,        ///< first packet from a sender stream
    kSenderRestarted = 3,  ///< a known node came back with a new session (old_session ended)
    kSenderInactive = 4,   ///< nothing heard for the configured timeout
    kSenderActive = 5,     ///< an inactive sender was heard again
    kSenderRemoved = 6,    ///< state of a long-silent sender freed
};

[[nodiscard]] std::string_view to_string(EventType t) noexcept;

struct Event {
    EventType type = EventType::kLoss;
    StreamKey from;
    // kLoss:
    std::uint64_t first_mseq = 0;
    std::uint64_t count = 0;
    /// The loss runs to the end of a stream whose last message number is unknown (the
    /// sender vanished while its tail was missing); count is then 0.
    bool open_ended = false;
    LossReason reason = LossReason::kLeftWindow;
    // kSenderRestarted:
    std::uint64_t old_session = 0;
};

}  // namespace blip::proto
