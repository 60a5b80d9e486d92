// Validation of protocol core configuration.
#include "proto/config.h"

#include "wire/packet.h"

namespace blip::proto {

std::string validate(const EndpointConfig& c) {
    const SenderConfig& s = c.sender;
    const ReceiverConfig& r = c.receiver;
    if (s.datagram_size < wire::kMinDatagramSize || s.datagram_size > wire::kMaxDatagramSize) {
        return "datagram_size must be between 128 and 65507 bytes";
    }
    if (s.max_message_size == 0 || s.max_message_size > 0xFFFFFFFFu) {
        return "sender max_message_size must be between 1 and 4294967295 bytes";
    }
    if (s.window_max_bytes < s.datagram_size) return "window_max_bytes must hold one datagram";
    if (s.window_max_messages == 0) return "window_max_messages must be at least 1";
    if (s.queue_max_bytes < s.max_message_size) {
        return "queue_max_bytes must be at least max_message_size";
    }
    if (s.queue_max_messages == 0) return "queue_max_messages must be at least 1";
    if (s.repair_rate == 0) return "repair_rate must be positive (bytes per second)";
    if (s.repair_burst < s.datagram_size) return "repair_burst must hold one datagram";
    if (s.heartbeat_min <= Duration::zero() || s.heartbeat_max < s.heartbeat_min) {
        return "heartbeat_min must be positive and not above heartbeat_max";
    }
    if (s.repair_holdoff < Duration::zero()) return "repair_holdoff must not be negative";
    if (r.max_message_size == 0 || r.max_message_size > 0xFFFFFFFFu) {
        return "receiver max_message_size must be between 1 and 4294967295 bytes";
    }
    if (r.reorder_buffer_bytes < wire::kMaxDatagramSize) {
        return "reorder_buffer_bytes must be at least 65507";
    }
    if (r.nak_delay_min < Duration::zero() || r.nak_backoff < Duration::zero()) {
        return "NAK delays must not be negative";
    }
    if (!(r.nak_backoff_lambda >= 0.0 && r.nak_backoff_lambda <= 30.0)) {
        return "nak_backoff_lambda must be between 0 and 30";
    }
    if (r.repair_timeout <= Duration::zero() || r.nak_retry_max < r.repair_timeout) {
        return "repair_timeout must be positive and not above nak_retry_max";
    }
    if (r.repair_timeout_min <= Duration::zero()) return "repair_timeout_min must be positive";
    if (r.sender_timeout <= Duration::zero() || r.sender_forget < r.sender_timeout) {
        return "sender_timeout must be positive and not above sender_forget";
    }
    if (s.heartbeat_max >= r.sender_timeout) {
        return "heartbeat_max must be below sender_timeout, or idle senders look dead";
    }
    if (s.flow_timeout <= Duration::zero()) return "flow_timeout must be positive";
    if (s.initial_wait < Duration::zero()) return "initial_wait must not be negative";
    if (r.status_credit == 0) return "status_credit must be at least 1 datagram";
    if (r.max_senders == 0) return "max_senders must be at least 1";
    if (r.max_sequence_jump == 0) return "max_sequence_jump must be at least 1";
    return {};
}

}  // namespace blip::proto
