// Channel and remote-sender counters by name: the one table behind blip_channel_stat() and
// blip_channel_remote_stat(). Adding a counter is one row; names are never renamed or reused.
#include <blip/blip.h>

#include <algorithm>
#include <utility>

#include "io/channel.h"

namespace blip::io {

namespace {

// What a channel counter is read from.
struct ChannelSnapshot {
    const DriverStats& d;
    const ReceiveQueue& queue;
    const UdpInfo& udp;
    std::uint64_t kernel_drops;
};

using ChannelGetter = std::uint64_t (*)(const ChannelSnapshot&);

#define ROW(n, expr)                                                      \
    std::pair<std::string_view, ChannelGetter> {                          \
        n, [](const ChannelSnapshot& s) -> std::uint64_t { return expr; } \
    }

const std::pair<std::string_view, ChannelGetter> kChannelStats[] = {
    // Sending (summed over this channel's streams).
    ROW("messages_sent", s.d.senders.messages_sent),
    ROW("bytes_sent", s.d.senders.bytes_sent),
    ROW("datagrams_sent", s.d.senders.datagrams_sent),
    ROW("heartbeats_sent", s.d.senders.heartbeats_sent),
    ROW("naks_received", s.d.senders.naks_received),
    ROW("repairs_sent", s.d.senders.repairs_sent),
    ROW("repairs_coalesced", s.d.senders.repairs_coalesced),
    ROW("unavailable_sent", s.d.senders.unavailable_sent),
    ROW("statuses_received", s.d.senders.statuses_received),
    ROW("flow_receivers", s.d.flow_receivers),
    ROW("flow_stalls", s.d.senders.flow_stalls),
    ROW("flow_timeouts", s.d.senders.flow_timeouts),
    ROW("flow_probes", s.d.senders.flow_probes),
    ROW("send_queue_messages", s.d.send_queue_messages),
    ROW("send_queue_bytes", s.d.send_queue_bytes),
    // Receiving (summed over the remote sender streams tracked now).
    ROW("messages_received", s.d.receivers.messages),
    ROW("bytes_received", s.d.receivers.bytes),
    ROW("datagrams_received", s.d.endpoint.datagrams_received),
    ROW("data_datagrams_received", s.d.receivers.datagrams),
    ROW("repairs_received", s.d.receivers.repairs),
    ROW("duplicates", s.d.receivers.duplicates),
    ROW("out_of_order", s.d.receivers.out_of_order),
    ROW("naks_sent", s.d.receivers.naks_sent),
    ROW("nak_datagrams", s.d.receivers.nak_datagrams),
    ROW("naks_suppressed", s.d.naks.naks_suppressed),
    ROW("nak_retries", s.d.naks.retries),
    ROW("rtt_samples", s.d.naks.rtt_samples),
    ROW("naks_seen", s.d.endpoint.naks_for_others),
    ROW("statuses_sent", s.d.receivers.statuses_sent),
    ROW("status_credit", s.d.status_credit),
    ROW("loss_events", s.d.receivers.loss_events),
    ROW("messages_lost", s.d.receivers.messages_lost),
    ROW("datagrams_lost", s.d.receivers.datagrams_lost),
    ROW("buffer_evictions", s.d.receivers.buffer_evictions),
    ROW("remote_senders", s.d.remote_senders),
    // Dropped before the protocol.
    ROW("foreign_dropped", s.d.endpoint.foreign),
    ROW("malformed_dropped", s.d.endpoint.malformed),
    ROW("own_looped", s.d.endpoint.own_looped),
    ROW("ignored_streams", s.d.endpoint.ignored_streams),
    ROW("stale_sessions", s.d.endpoint.stale_sessions),
    ROW("too_many_senders", s.d.endpoint.too_many_senders),
    ROW("out_of_range", s.d.endpoint.out_of_range),
    ROW("implausible", s.d.receivers.implausible),
    ROW("protocol_errors", s.d.receivers.protocol_errors),
    ROW("injected_drops", s.d.injected_drops),
    // Socket and kernel.
    ROW("socket_datagrams_sent", s.d.socket.datagrams_sent),
    ROW("socket_datagrams_received", s.d.socket.datagrams_received),
    ROW("socket_send_errors", s.d.socket.send_errors),
    ROW("socket_recv_errors", s.d.socket.recv_errors),
    ROW("socket_send_queued", s.d.socket.send_queued),
    ROW("socket_packets_sent", s.d.socket.packets_sent),
    ROW("socket_gso_sends", s.d.socket.gso_sends),
    ROW("socket_gro_reads", s.d.socket.gro_reads),
    ROW("datagrams_sent_inline", s.d.datagrams_sent_inline),
    ROW("busy_poll_spins", s.d.busy_poll_spins),
    ROW("send_dropped", s.d.send_dropped),
    ROW("truncated_dropped", s.d.socket.truncated_dropped),
    ROW("kernel_drops", s.kernel_drops),
    ROW("recv_buffer", static_cast<std::uint64_t>(std::max(s.udp.recv_buffer, 0))),
    ROW("send_buffer", static_cast<std::uint64_t>(std::max(s.udp.send_buffer, 0))),
    // The application side.
    ROW("receive_queue_messages", s.queue.messages()),
    ROW("receive_queue_bytes", s.queue.bytes()),
    ROW("receive_queue_events", s.queue.events()),
    ROW("overrun_messages", s.queue.overrun_messages()),
};
#undef ROW

std::uint64_t us(proto::Duration d) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}

struct RemoteSnapshot {
    const proto::Receiver& r;
    bool inactive;
};

using RemoteGetter = std::uint64_t (*)(const RemoteSnapshot&);

#define ROW(n, expr)                                                     \
    std::pair<std::string_view, RemoteGetter> {                          \
        n, [](const RemoteSnapshot& s) -> std::uint64_t { return expr; } \
    }

const std::pair<std::string_view, RemoteGetter> kRemoteStats[] = {
    ROW("session_id", s.r.key().session),
    ROW("messages", s.r.stats().messages),
    ROW("bytes", s.r.stats().bytes),
    ROW("datagrams", s.r.stats().datagrams),
    ROW("repairs", s.r.stats().repairs),
    ROW("duplicates", s.r.stats().duplicates),
    ROW("out_of_order", s.r.stats().out_of_order),
    ROW("buffer_evictions", s.r.stats().buffer_evictions),
    ROW("implausible", s.r.stats().implausible),
    ROW("naks_sent", s.r.stats().naks_sent),
    ROW("nak_datagrams", s.r.stats().nak_datagrams),
    ROW("naks_suppressed", s.r.nak_stats().naks_suppressed),
    ROW("nak_retries", s.r.nak_stats().retries),
    ROW("rtt_samples", s.r.nak_stats().rtt_samples),
    ROW("srtt_us", us(s.r.repair_timer().smoothed_rtt())),
    ROW("repair_timeout_us", us(s.r.repair_timer().timeout())),
    ROW("loss_events", s.r.stats().loss_events),
    ROW("messages_lost", s.r.stats().messages_lost),
    ROW("datagrams_lost", s.r.stats().datagrams_lost),
    ROW("protocol_errors", s.r.stats().protocol_errors),
    ROW("statuses_sent", s.r.stats().statuses_sent),
    ROW("missing_datagrams", s.r.missing()),
    ROW("buffered_bytes", s.r.buffered_bytes()),
    ROW("inactive", s.inactive ? 1 : 0),
};
#undef ROW

template <class Table>
std::vector<std::string_view> names_of(const Table& table) {
    std::vector<std::string_view> names;
    for (const auto& row : table) names.push_back(row.first);
    return names;
}

template <class Table>
auto find_getter(const Table& table, std::string_view name) -> decltype(table[0].second) {
    for (const auto& row : table) {
        if (row.first == name) return row.second;
    }
    return nullptr;
}

}  // namespace

const std::vector<std::string_view>& Channel::stat_names() {
    static const std::vector<std::string_view> names = names_of(kChannelStats);
    return names;
}

const std::vector<std::string_view>& Channel::remote_stat_names() {
    static const std::vector<std::string_view> names = names_of(kRemoteStats);
    return names;
}

int Channel::stat(std::string_view name, std::uint64_t* value) const {
    const ChannelGetter get = find_getter(kChannelStats, name);
    if (get == nullptr) return BLIP_ENOTSUP;
    return with_driver([&](ChannelDriver& d) {
        const DriverStats stats = d.stats();
        // Reading /proc costs a file scan, so only when asked for.
        const std::uint64_t kernel = name == "kernel_drops" ? d.kernel_drops().value_or(0) : 0;
        *value = get(ChannelSnapshot{stats, queue_, d.udp_info(), kernel});
        return BLIP_OK;
    });
}

int Channel::remotes(std::vector<proto::StreamKey>* out) const {
    return with_driver([&](ChannelDriver& d) {
        out->clear();
        d.inspect([&](const proto::Endpoint& e) {
            e.for_each_receiver([&](const proto::Receiver& r, bool) { out->push_back(r.key()); });
        });
        return BLIP_OK;
    });
}

int Channel::remote_stat(std::uint64_t node, std::uint32_t stream, std::string_view name,
                         std::uint64_t* value) const {
    const RemoteGetter get = find_getter(kRemoteStats, name);
    if (get == nullptr) return BLIP_ENOTSUP;
    return with_driver([&](ChannelDriver& d) {
        int rc = BLIP_EADDRNOTAVAIL;
        d.inspect([&](const proto::Endpoint& e) {
            e.for_each_receiver([&](const proto::Receiver& r, bool inactive) {
                if (r.key().node == node && r.key().stream == stream) {
                    *value = get(RemoteSnapshot{r, inactive});
                    rc = BLIP_OK;
                }
            });
        });
        return rc;
    });
}

}  // namespace blip::io
