// What the simulator measures about repair (losses, NAKs, repairs, repair delay) and about
// receivers with a finite capacity (socket overflows).
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "proto/time.h"

namespace blip::sim {

struct Metrics {
    /// A DATA datagram as (sender node id, session, stream, dseq).
    using DatagramId = std::tuple<std::uint64_t, std::uint64_t, std::uint32_t, std::uint64_t>;

    std::uint64_t data_sent = 0;     ///< original DATA datagrams
    std::uint64_t repairs_sent = 0;  ///< DATA datagrams flagged repair
    std::uint64_t naks_sent = 0;     ///< NAK packets
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t unavailable_sent = 0;
    std::uint64_t statuses_sent = 0;   ///< flow-control reports
    std::uint64_t copies_dropped = 0;  ///< (receiver, original DATA) pairs dropped
    /// Datagrams named by NAKs that reached the sender they were addressed to.
    std::uint64_t nak_mentions_at_sender = 0;
    std::uint64_t naks_at_sender = 0;  ///< NAK packets that reached their sender
    std::set<DatagramId> lost;         ///< originals dropped on at least one path
    /// (receiver, datagram) -> when the original was sent; erased when a copy arrives.
    std::map<std::pair<int, DatagramId>, proto::Time> awaiting_repair;
    /// Original send -> first copy received (read, at a node with a receive capacity).
    std::vector<proto::Duration> repair_delays;
    /// Datagrams (any type) dropped because a receiver's socket was full (see
    /// Network::set_receive_capacity), in total and per receiving node. These are not in
    /// `lost`/`copies_dropped`, which count what the links drop.
    std::uint64_t overflow_drops = 0;
    std::map<int, std::uint64_t> overflow_drops_at;
    /// Most datagrams waiting in each capacity-limited node's socket at once.
    std::map<int, std::size_t> socket_peak;

    [[nodiscard]] double naks_per_loss() const {
        return lost.empty() ? 0.0 : double(nak_mentions_at_sender) / double(lost.size());
    }
    [[nodiscard]] double repairs_per_loss() const {
        return lost.empty() ? 0.0 : double(repairs_sent) / double(lost.size());
    }
    /// Percentile (0..100) of repair delay; zero if none.
    [[nodiscard]] proto::Duration repair_delay_percentile(double p) const {
        if (repair_delays.empty()) return proto::Duration::zero();
        std::vector<proto::Duration> v = repair_delays;
        std::size_t k = static_cast<std::size_t>(p / 100.0 * double(v.size() - 1) + 0.5);
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
        return v[k];
    }
    [[nodiscard]] std::string summary() const;
};

}  // namespace blip::sim
