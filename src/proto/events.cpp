// Names for the protocol core's events and loss reasons.
#include "proto/events.h"

namespace blip::proto {

std::string_view to_string(LossReason r) noexcept {
    switch (r) {
        case LossReason::kLeftWindow:
            return "left the sender's window";
        case LossReason::kSenderGone:
            return "sender gone";
        case LossReason::kGaveUp:
            return "gave up after retries";
        case LossReason::kRejected:
            return "rejected";
    }
    return "unknown";
}

std::string_view to_string(EventType t) noexcept {
    switch (t) {
        case EventType::kLoss:
            return "loss";
        case EventType::kSenderNew:
            return "sender-new";
        case EventType::kSenderRestarted:
            return "sender-restarted";
        case EventType::kSenderInactive:
            return "sender-inactive";
        case EventType::kSenderActive:
            return "sender-active";
        case EventType::kSenderRemoved:
            return "sender-removed";
    }
    return "unknown";
}

}  // namespace blip::proto
