// A channel's options as the application names them ("ttl", "nak_backoff_us"...): the one table
// of names, types, ranges and defaults behind blip_config_set_*. Parsing and range checks only;
// the group and interface are resolved when the channel opens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/config.h"

namespace blip::io {

struct ChannelConfig {
    std::string group;       ///< required
    std::uint16_t port = 0;  ///< required (0 = not set)
    std::string interface;   ///< required
    int ttl = 1;
    bool loopback = true;
    bool reuse_port = true;
    bool segmentation_offload = true;  // UdpOptions::segmentation_offload
    int recv_buffer = 0;               ///< 0 = kernel default
    int send_buffer = 0;
    std::uint32_t stream = 0;  ///< the stream blip_channel_send() uses
    std::size_t receive_queue_messages = 65536;
    std::size_t receive_queue_bytes = std::size_t{128} << 20;
    /// Seed of the core's generator; 0 = from the system.
    std::uint64_t seed = 0;
    /// After activity, the loop spins this long before it sleeps (0 = never spins).
    proto::Duration busy_poll{};
    double inject_loss = 0.0;
    std::uint64_t inject_seed = 1;
    /// node_id, session and the protocol tunables; seed is taken from `seed` above.
    proto::EndpointConfig endpoint;
};

/// How a setter received its value.
struct OptionValue {
    enum class Kind : std::uint8_t { kText, kInt, kDouble, kBool } kind = Kind::kText;
    std::string_view text;
    std::int64_t i = 0;
    double d = 0.0;
    bool b = false;
};

/// Sets option `name` of `cfg`. On failure `cfg` is unchanged and `err` says why.
/// @return 0; BLIP_ENOTSUP (unknown name); BLIP_EINVAL (wrong type, unparsable, out of range).
int set_option(ChannelConfig& cfg, std::string_view name, const OptionValue& value,
               std::string* err);

/// 64-bit FNV-1a of `name`, never 0: the node id that the option node_name stands for.
[[nodiscard]] std::uint64_t node_id_from_name(std::string_view name) noexcept;

}  // namespace blip::io
