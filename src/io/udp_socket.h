// The channel's multicast UDP sockets on a libuv loop (the only code opening them); no src/proto.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace blip::io {

/// How to open a UdpSocket. There is no default group or interface: both must be given.
struct UdpOptions {
    /// The group and port, as a sockaddr_in or sockaddr_in6 in sockaddr_storage (the shape of
    /// GroupAddress::addr in io/net_address.h). The address must be multicast (IPv4
    /// 224.0.0.0/4, IPv6 ff00::/8) and the port non-zero. An IPv6 scope id, if set, must equal
    /// interface_index; for link-local (ff02::/16) and interface-local (ff01::/16) groups
    /// open() sets it to interface_index when it is 0.
    sockaddr_storage group{};
    /// IPv4 groups only: the address of the interface to join on and send from
    /// (IP_MULTICAST_IF). Required: INADDR_ANY is rejected, because letting the kernel pick is
    /// the classic silent failure (joined on one NIC, traffic on another).
    in_addr interface {};
    /// IPv6 groups only: the index (if_nametoindex(), ResolvedInterface::index) of the interface
    /// to join on (IPV6_JOIN_GROUP) and send from (IPV6_MULTICAST_IF). Required: 0 is rejected
    /// for the same reason as INADDR_ANY above. Ignored for IPv4 groups.
    unsigned interface_index = 0;
    /// IP_MULTICAST_TTL (IPv6: IPV6_MULTICAST_HOPS), 0..255; 1 keeps traffic on the local link
    int ttl = 1;
    /// IP_MULTICAST_LOOP (IPv6: IPV6_MULTICAST_LOOP): on, so several processes on one host hear
    /// each other.
    bool loopback = true;
    /// With loopback on, the kernel also hands this socket's own datagrams back to its receive
    /// socket. A socket filter drops them there (matched by the send socket's source address and
    /// port, unique on the host), so they neither cost a read nor crowd out other senders'
    /// datagrams (NAKs) in the receive buffer. Off: they are delivered like any other.
    bool drop_own = true;
    /// Lets several sockets bind the same group and port (SO_REUSEADDR through
    /// UV_UDP_REUSEADDR; for multicast every such socket receives a copy). When false, a second
    /// bind fails with BLIP_EADDRINUSE.
    bool reuse_port = true;
    /// Linux UDP segmentation offload (GSO): a run of datagrams of one size goes to the kernel
    /// as one message (UDP_SEGMENT), which it cuts into the same datagrams on the wire, as late
    /// as the path allows. If the kernel refuses it (too old, a device without checksum
    /// offload, a datagram larger than the MTU), the socket sends datagrams one by one from
    /// then on. Off: always one by one.
    bool segmentation_offload = true;
    int recv_buffer = 0;  ///< SO_RCVBUF request in bytes; 0 leaves the kernel default
    int send_buffer = 0;  ///< SO_SNDBUF request in bytes; 0 leaves the kernel default
    /// Bytes of copied datagrams that may wait in the send queue when the socket buffer is full;
    /// beyond it send() returns BLIP_EAGAIN (the datagram is dropped, as the network could).
    std::size_t max_send_queue = std::size_t{4} << 20;
    /// Size of the one receive buffer. 64 KiB holds any IPv4 or IPv6 datagram (at most 65507 or
    /// 65527 bytes; no jumbograms); longer datagrams are dropped as truncated. Smaller values
    /// exist to test that path.
    std::size_t datagram_buffer = std::size_t{64} << 10;
};

/// What open() obtained.
struct UdpInfo {
    /// SO_RCVBUF / SO_SNDBUF as read back from the kernel. Linux reports (and accounts)
    /// double the value set, so a 1 MiB request reads back as 2 MiB when granted in full.
    int recv_buffer = 0;
    int send_buffer = 0;
    /// Non-fatal problems, e.g. a buffer request the kernel clamped (names the sysctl to raise).
    std::vector<std::string> warnings;
};

struct UdpStats {
    std::uint64_t datagrams_sent = 0;  ///< accepted by the kernel (directly or queued)
    /// Messages handed to the kernel for those: one per datagram, or one per run sent with
    /// segmentation offload.
    std::uint64_t packets_sent = 0;
    std::uint64_t datagrams_received = 0;  ///< handed to the OnDatagram callback
    std::uint64_t truncated_dropped = 0;   ///< longer than the receive buffer: dropped
    std::uint64_t send_errors = 0;         ///< send() failures and failed queued sends
    std::uint64_t send_queued = 0;         ///< datagrams that had to wait in the send queue
    std::uint64_t send_queue_full = 0;     ///< dropped because max_send_queue was reached
    std::uint64_t recv_errors = 0;         ///< errors reported by the receive callback
    /// Messages that carried several datagrams to the kernel (segmentation offload)
    std::uint64_t gso_sends = 0;
    /// Reads that returned a run of datagrams coalesced by the kernel (UDP_GRO)
    std::uint64_t gro_reads = 0;
};

struct UdpSocketState;  // private to udp_socket.cpp

/// One multicast UDP endpoint: a receive socket (bound to the group and port, a member) and a
/// send socket (an ephemeral port, connected to the group, not a member). Sending from a
/// separate connected socket spares the kernel a route lookup per datagram, and gives this
/// endpoint a source address of its own, by which the receive socket drops its looped-back
/// datagrams (UdpOptions::drop_own). Runs of datagrams of one size leave in one call when the
/// kernel offers segmentation offload, and runs coming back whole are split here (see
/// UdpOptions::segmentation_offload); receiving is recvmmsg in batches. Every member, and every
/// callback, runs on the loop's thread (send_direct() excepted). Not copyable or movable: libuv
/// holds pointers into its state while it is open.
class UdpSocket {
public:
    /// Called on the loop thread for each complete datagram; the bytes are valid only during
    /// the call. Must not throw (it is called from libuv's C code; an exception terminates).
    using OnDatagram = std::function<void(std::span<const std::uint8_t>)>;
    /// Called on the loop thread for errors that no caller sees: a failed receive, or a queued
    /// datagram whose send failed later. `code` is a BLIP_E* code. Must not throw.
    using OnError = std::function<void(int code, const std::string& what)>;

    /// Set before open() (it is copied there); may stay empty.
    OnError on_error;

    UdpSocket() = default;
    UdpSocket(const UdpSocket&) = delete;
    UdpSocket& operator=(const UdpSocket&) = delete;
    /// Closes the socket if still open (as close(nullptr)); the loop frees the rest later.
    ~UdpSocket();

    /// Creates, configures, binds and joins the socket, then starts receiving into `cb`.
    /// On Linux it binds the group address itself, so only that group's traffic arrives (for a
    /// link-local IPv6 group, [group%interface], which also ties the socket to the interface).
    ///
    /// @param info  may be null; receives the buffer sizes obtained and warnings.
    /// @param err   may be null; on failure, what failed, e.g.
    ///              "bind 239.1.2.3:5000: address already in use" or
    ///              "join group ff02::1:b11b on interface veth0 (index 2): no such device".
    /// @return 0, or a negative BLIP_E* code: BLIP_EINVAL (bad options, e.g. a group that is
    ///         neither IPv4 nor IPv6, null loop or empty cb), BLIP_ESTATE (already open),
    ///         BLIP_EADDRINUSE, BLIP_EADDRNOTAVAIL, BLIP_ENODEV, BLIP_ENOMEM, BLIP_EIO. On failure
    ///         the socket is back to not open and `cb` is never called; a handle that was already
    ///         created is closed asynchronously, so run the loop before uv_loop_close().
    int open(uv_loop_t* loop, const UdpOptions& opts, OnDatagram cb, UdpInfo* info,
             std::string* err);

    /// Sends one datagram to the group. Tries a synchronous send first; if the socket buffer
    /// is full (or earlier datagrams are queued) it queues a copy, within max_send_queue.
    /// @return 0 (sent or queued), BLIP_ECLOSED (not open), BLIP_EAGAIN (queue full: dropped),
    ///         BLIP_EMSGSIZE, BLIP_ENOMEM or BLIP_EIO. Failures of queued datagrams surface
    ///         only in stats().send_errors.
    int send(std::span<const std::uint8_t> datagram);

    /// What send_batch() did with each datagram.
    struct BatchResult {
        std::size_t dropped = 0;  ///< refused with BLIP_EAGAIN (send queue full)
        std::size_t failed = 0;   ///< other errors
        int first_error = 0;      ///< the first such error's BLIP_E* code
    };

    /// Sends datagrams [0, ends[0]), [ends[0], ends[1]), ... of `data` in order, with as few
    /// system calls as the kernel allows (sendmmsg); what does not fit in the socket buffer is
    /// queued as send() would. Same outcomes per datagram as send().
    BatchResult send_batch(std::span<const std::uint8_t> data, std::span<const std::size_t> ends);

    /// Any thread (the caller serialises calls and send_batch()): as send_batch() but only what
    /// the kernel takes at once (sendmmsg), with no queueing. Only valid while pending_sends()
    /// is 0, or datagrams would overtake queued ones.
    /// @param counts  the caller's counters (not stats(), which belong to the loop thread):
    ///                datagrams_sent, packets_sent and gso_sends are added to.
    /// @return how many of the datagrams were sent, from the first; -1 if not open.
    int send_direct(std::span<const std::uint8_t> data, std::span<const std::size_t> ends,
                    UdpStats* counts);
    /// Datagrams waiting in the send queue (loop thread).
    [[nodiscard]] std::size_t pending_sends() const noexcept;

    /// Stops receiving and closes the socket; queued datagrams are discarded. `done` (may be
    /// empty) runs in libuv's close callback, after the socket's memory is freed; if the
    /// socket is not open it runs at once. After close() the socket may be opened again.
    void close(std::function<void()> done);

    [[nodiscard]] bool is_open() const noexcept { return impl_ != nullptr; }
    /// True when the kernel drops this endpoint's own looped-back datagrams (drop_own was set
    /// and the socket filter was accepted).
    [[nodiscard]] bool drops_own() const noexcept;
    /// True while runs of datagrams are sent with segmentation offload (asked for, and not
    /// refused by the kernel so far). Loop thread.
    [[nodiscard]] bool segmenting() const noexcept;
    /// True when the receive socket takes runs of datagrams whole (UDP_GRO), as sent by a
    /// segmenting socket on this host; they are still handed to OnDatagram one by one. Then the
    /// own-datagram filter drops such a run, looped back, as one packet (see packets_sent).
    [[nodiscard]] bool receives_runs() const noexcept;
    /// Datagrams the kernel dropped for the receive socket, from /proc/net/udp or udp6: a full
    /// receive buffer, and (with drops_own()) each of our own looped-back datagrams the filter
    /// dropped; empty when the socket is closed or Linux does not report it.
    [[nodiscard]] std::optional<std::uint64_t> kernel_drops() const;
    /// Counters since open(); after close(), their values at the time of close().
    [[nodiscard]] UdpStats stats() const noexcept;

private:
    UdpSocketState* impl_ = nullptr;  // owned by the libuv handle: freed in its close callback
    UdpStats closed_stats_;
};

}  // namespace blip::io
