// The channel's multicast UDP sockets over libuv (see udp_socket.h). Must not include src/proto.
#include "io/udp_socket.h"

#include <arpa/inet.h>
#include <blip/blip.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/filter.h>
#endif

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <new>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "io/result.h"
#include "io/uv_error.h"

namespace blip::io {

namespace {

// libuv rejects IP_MULTICAST_TTL values outside one unsigned byte.
constexpr int kMaxTtl = 255;

std::string ipv4_text(in_addr a) {
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

std::string ipv6_text(const in6_addr& a) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(AF_INET6, &a, buf, sizeof buf);
    return buf;
}

// The interface's name, or its index as text when no interface has it (then the bind or join
// fails with "no such device" and the message still says which index was asked for).
std::string interface_name(unsigned index) {
    char buf[IF_NAMESIZE] = {};
    if (if_indextoname(index, buf) == nullptr) return std::to_string(index);
    return buf;
}

// Groups whose scope is one link (ff02::/16) or one interface (ff01::/16): their address means
// nothing without an interface, so the kernel needs the scope id to bind or send.
bool needs_scope_id(const in6_addr& a) {
    return IN6_IS_ADDR_MC_LINKLOCAL(&a) || IN6_IS_ADDR_MC_NODELOCAL(&a);
}

// What setsockopt(SO_RCVBUF/SO_SNDBUF, requested) actually granted, in the units of the
// request. Linux stores (and getsockopt reports) double the value set, to cover bookkeeping
// overhead, so a full grant reads back as 2 * requested.
std::int64_t granted(int read_back) {
#ifdef __linux__
    return std::int64_t{read_back} / 2;
#else
    return read_back;
#endif
}

void check_clamped(const char* what, const char* sysctl, int requested, int read_back,
                   std::vector<std::string>* warnings) {
    if (requested <= 0 || granted(read_back) >= requested) return;
    warnings->push_back(std::string(what) + " buffer: requested " + std::to_string(requested) +
                        " bytes, the kernel granted " + std::to_string(granted(read_back)) +
                        " (reads back as " + std::to_string(read_back) + "); it is capped by " +
                        sysctl + ": raise it to at least " + std::to_string(requested) +
                        " (sysctl -w " + sysctl + "=" + std::to_string(requested) + ")");
}

}  // namespace

// The receive slot that holds any datagram (and any run the kernel coalesced with UDP_GRO: at
// most 64 KiB), and how many slots one recvmmsg fills.
constexpr std::size_t kMaxDatagramBuffer = std::size_t{64} << 10;
constexpr std::size_t kRecvBatch = 20;
// Datagrams handed on per readiness event at most (about what 32 reads of 20 took before runs
// were read whole), so that a flood cannot starve the loop's timers: a NAK due while a
// thousand datagrams are processed waits for them, and the repair's round trip with it.
constexpr std::size_t kDatagramsPerEvent = 640;
// The most datagrams one read may return in a slot: a run sent with segmentation offload.
constexpr std::size_t kRunMax = 64;

struct UdpSocketState {
    uv_udp_t handle{};       // receives: bound to the group and port, a member
    uv_udp_t send_handle{};  // sends: ephemeral port, connected to the group, not a member
    // Readiness of the receive socket, polled through a duplicate of its descriptor (recv_fd):
    // the datagrams are read here with recvmmsg and their control messages (UDP_GRO), which
    // libuv's own receive path does not return. `handle` still owns the socket itself.
    uv_poll_t poll{};
    int recv_fd = -1;
    int open_handles = 0;    // how many of the three the loop still holds; the last close frees
    bool drops_own = false;  // the receive socket's filter drops our own looped datagrams
    bool gso = false;        // send runs of datagrams with UDP_SEGMENT (cleared if refused)
    bool gro = false;        // the receive socket returns coalesced runs (UDP_GRO)
    bool receiving = false;  // cleared by close(), which may run inside on_datagram
    UdpSocket::OnDatagram on_datagram;
    UdpSocket::OnError on_error;
    std::function<void()> on_closed;
    std::size_t max_send_queue = 0;
    // The group: a sockaddr_in, or a sockaddr_in6 with the scope id set when it needs one.
    sockaddr_storage group{};
    UdpStats stats;
    // The receive slots: recvmmsg reads a batch of datagrams into them, we hand each to
    // on_datagram, and they are free again before the next read, so there is no per-datagram
    // malloc. One slot of datagram_buffer bytes when that is smaller than 64 KiB (to test
    // truncation), else kRecvBatch slots of 64 KiB.
    std::size_t slot = 0;
    std::size_t slots = 0;
    std::vector<std::uint8_t> buffer;
};

namespace {

// A datagram that waited for socket buffer space: the request and its own copy of the bytes.
struct QueuedSend {
    uv_udp_send_t req{};
    std::vector<std::uint8_t> data;
};

}  // namespace

// The libuv trampolines are noexcept: an exception must not unwind through libuv's C frames.
extern "C" {

static void blip_udp_readable(uv_poll_t* h, int status, int events) noexcept;

static void blip_udp_sent(uv_udp_send_t* req, int status) noexcept {
    auto* q = static_cast<QueuedSend*>(req->data);
    auto* impl = static_cast<UdpSocketState*>(req->handle->data);
    if (status == 0) {
        ++impl->stats.datagrams_sent;
        ++impl->stats.packets_sent;
    } else if (status != UV_ECANCELED) {  // cancelled by close(): not a send failure
        ++impl->stats.send_errors;
        if (impl->on_error) impl->on_error(map_uv_error(status), "send: " + uv_error_text(status));
    }
    delete q;
}

static void blip_udp_closed(uv_handle_t* h) noexcept {
    auto* impl = static_cast<UdpSocketState*>(h->data);
    if (--impl->open_handles > 0) return;
    std::function<void()> done = std::move(impl->on_closed);
    if (impl->recv_fd >= 0) ::close(impl->recv_fd);  // the poll handle is closed: not watched
    delete impl;
    if (done) done();
}

}  // extern "C"

namespace {

// A failed receive (`uv_code` a libuv code): counted, and reported to on_error if set.
void report_recv_error(UdpSocketState* impl, int uv_code) {
    ++impl->stats.recv_errors;
    if (impl->on_error) impl->on_error(map_uv_error(uv_code), "receive: " + uv_error_text(uv_code));
}

// Hands one read (a datagram, or with UDP_GRO a run of datagrams of `segment` bytes but the
// last) to on_datagram, datagram by datagram, until done or the socket is closed.
void deliver_read(UdpSocketState* impl, const std::uint8_t* data, std::size_t len,
                  std::size_t segment) {
    if (segment == 0 || segment >= len) {
        ++impl->stats.datagrams_received;
        impl->on_datagram(std::span<const std::uint8_t>(data, len));
        return;
    }
    ++impl->stats.gro_reads;
    for (std::size_t off = 0; off < len && impl->receiving; off += segment) {
        ++impl->stats.datagrams_received;
        impl->on_datagram(std::span<const std::uint8_t>(data + off, std::min(segment, len - off)));
    }
}

// Reads what the receive socket holds, a recvmmsg batch at a time, until it is drained or
// about kDatagramsPerEvent datagrams were handed on.
void read_datagrams(UdpSocketState* impl) {
    std::array<mmsghdr, kRecvBatch> msgs{};
    std::array<iovec, kRecvBatch> iov{};
    // UDP_GRO's segment size: an int.
    alignas(cmsghdr) std::array<std::uint8_t, kRecvBatch * CMSG_SPACE(sizeof(int))> control{};
    const std::uint64_t start = impl->stats.datagrams_received;
    while (impl->receiving) {
        const std::size_t done = impl->stats.datagrams_received - start;
        if (done >= kDatagramsPerEvent) return;  // the rest after the loop's other work
        // Slots that cannot overshoot the budget by much: a slot may hold a whole run.
        const std::size_t left = kDatagramsPerEvent - done;
        const std::size_t slots =
            std::clamp<std::size_t>(impl->gro ? left / kRunMax : left, 1, impl->slots);
        for (std::size_t i = 0; i < slots; ++i) {
            iov[i].iov_base = impl->buffer.data() + i * impl->slot;
            iov[i].iov_len = impl->slot;
            msgs[i] = mmsghdr{};
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            if (impl->gro) {
                msgs[i].msg_hdr.msg_control = control.data() + i * CMSG_SPACE(sizeof(int));
                msgs[i].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(int));
            }
        }
        const int n = ::recvmmsg(impl->recv_fd, msgs.data(), static_cast<unsigned>(slots),
                                 MSG_DONTWAIT, nullptr);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            report_recv_error(impl, uv_translate_sys_error(errno));
            return;
        }
        for (std::size_t i = 0; i < static_cast<std::size_t>(n) && impl->receiving; ++i) {
            msghdr& h = msgs[i].msg_hdr;
            if ((h.msg_flags & MSG_TRUNC) != 0) {
                // The kernel cut the datagram to fit the slot; a cut Blip fragment could still
                // decode as a valid (shorter) one, so it is dropped, never delivered.
                ++impl->stats.truncated_dropped;
                continue;
            }
            std::size_t segment = 0;
            for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
                if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                    int size = 0;
                    std::memcpy(&size, CMSG_DATA(c), sizeof size);
                    if (size > 0) segment = static_cast<std::size_t>(size);
                }
            }
            deliver_read(impl, static_cast<const std::uint8_t*>(iov[i].iov_base), msgs[i].msg_len,
                         segment);
        }
        if (static_cast<std::size_t>(n) < slots) return;  // drained
    }
}

}  // namespace

extern "C" {

static void blip_udp_readable(uv_poll_t* h, int status, int /*events*/) noexcept {
    auto* impl = static_cast<UdpSocketState*>(h->data);
    if (status < 0) {
        report_recv_error(impl, status);
        return;
    }
    read_datagrams(impl);
}

}  // extern "C"

namespace {

// setsockopt(IPPROTO_IPV6, ...) on the handle's descriptor, as a libuv code (so map_uv_error and
// uv_error_text apply). Used for the IPv6 multicast options because libuv 1.44 names the
// interface by a string it parses with uv_ip6_addr(): "%veth0" works, but a numeric "%2" silently
// becomes scope 0, i.e. "let the kernel pick", which is the failure the index exists to prevent.
int set_ipv6_option(uv_udp_t* h, int option, const void* value, socklen_t len) {
    uv_os_fd_t fd{};
    int rc = uv_fileno(reinterpret_cast<const uv_handle_t*>(h), &fd);
    if (rc != 0) return rc;
    if (setsockopt(fd, IPPROTO_IPV6, option, value, len) != 0) {
        return uv_translate_sys_error(errno);
    }
    return 0;
}

int set_ipv6_int(uv_udp_t* h, int option, int value) {
    return set_ipv6_option(h, option, &value, sizeof value);
}

// How open()'s messages name the group and interface.
struct GroupNames {
    const std::string& group_ip;    // "239.1.2.3", "ff02::1:b11b"
    const std::string& group_text;  // "239.1.2.3:5000", "[ff02::1:b11b%veth0]:5000"
    const std::string& if_text;     // "127.0.0.1", "veth0 (index 2)"
};

// setup_ipv4 / setup_ipv6 bind the receive socket `h` and join the group, then set the send
// socket `s`'s outgoing interface, ttl and loopback and connect it to the group. They return 0
// or a libuv code, with the failed step named in *step.
int setup_ipv4(uv_udp_t* h, uv_udp_t* s, const UdpOptions& opts, const sockaddr_storage& target,
               const GroupNames& n, std::string* step) {
    auto failed = [step](std::string what, int rc) {
        *step = std::move(what);
        return rc;
    };
    // Linux lets a socket bind a multicast address, and then it receives only that group's
    // datagrams; bound to INADDR_ANY it would also get every other group this host joined
    // on the port. Elsewhere binding a group address is not portable.
    sockaddr_in bind_addr{};
    std::memcpy(&bind_addr, &target, sizeof bind_addr);
#ifndef __linux__
    bind_addr.sin_addr.s_addr = htonl(INADDR_ANY);
#endif
    int rc = uv_udp_bind(h, reinterpret_cast<const sockaddr*>(&bind_addr),
                         opts.reuse_port ? UV_UDP_REUSEADDR : 0);
    if (rc != 0) return failed("bind " + n.group_text, rc);
    rc = uv_udp_set_membership(h, n.group_ip.c_str(), n.if_text.c_str(), UV_JOIN_GROUP);
    if (rc != 0) return failed("join group " + n.group_ip + " on interface " + n.if_text, rc);
    // The send socket is bound to the interface's address, so every datagram's source address
    // is that address (what the receive socket's own-datagram filter matches).
    sockaddr_in source{};
    source.sin_family = AF_INET;
    source.sin_addr = opts.interface;
    rc = uv_udp_bind(s, reinterpret_cast<const sockaddr*>(&source), 0);
    if (rc != 0) return failed("bind the send socket to " + n.if_text, rc);
    rc = uv_udp_set_multicast_interface(s, n.if_text.c_str());
    if (rc != 0) return failed("set multicast interface " + n.if_text, rc);
    rc = uv_udp_set_multicast_ttl(s, opts.ttl);
    if (rc != 0) return failed("set multicast ttl " + std::to_string(opts.ttl), rc);
    rc = uv_udp_set_multicast_loop(s, opts.loopback ? 1 : 0);
    if (rc != 0) return failed("set multicast loop", rc);
    rc = uv_udp_connect(s, reinterpret_cast<const sockaddr*>(&target));
    if (rc != 0) return failed("connect the send socket to " + n.group_text, rc);
    return 0;
}

int setup_ipv6(uv_udp_t* h, uv_udp_t* s, const UdpOptions& opts, const sockaddr_storage& target,
               const GroupNames& n, std::string* step) {
    auto failed = [step](std::string what, int rc) {
        *step = std::move(what);
        return rc;
    };
    sockaddr_in6 group{};
    std::memcpy(&group, &target, sizeof group);
    // As for IPv4, Linux binds the group itself; a link-local group is bound as
    // [group%interface], which also binds the socket to that interface. Elsewhere [::]:port.
    sockaddr_in6 bind_addr = group;
#ifndef __linux__
    bind_addr.sin6_addr = in6addr_any;
    bind_addr.sin6_scope_id = 0;
#endif
    // IPV6ONLY: an IPv6 channel never receives IPv4 datagrams (matters for [::] only).
    int rc = uv_udp_bind(h, reinterpret_cast<const sockaddr*>(&bind_addr),
                         UV_UDP_IPV6ONLY | (opts.reuse_port ? UV_UDP_REUSEADDR : 0));
    if (rc != 0) return failed("bind " + n.group_text, rc);
    ipv6_mreq mreq{};
    mreq.ipv6mr_multiaddr = group.sin6_addr;
    mreq.ipv6mr_interface = opts.interface_index;
    rc = set_ipv6_option(h, IPV6_JOIN_GROUP, &mreq, sizeof mreq);
    if (rc != 0) return failed("join group " + n.group_ip + " on interface " + n.if_text, rc);
    // The send socket: interface, hops and loop first, so that connect() picks the route (and
    // with it the source address) through that interface.
    const unsigned index = opts.interface_index;
    rc = set_ipv6_option(s, IPV6_MULTICAST_IF, &index, sizeof index);
    if (rc != 0) return failed("set multicast interface " + n.if_text, rc);
    rc = set_ipv6_int(s, IPV6_MULTICAST_HOPS, opts.ttl);
    if (rc != 0) return failed("set multicast ttl " + std::to_string(opts.ttl), rc);
    rc = set_ipv6_int(s, IPV6_MULTICAST_LOOP, opts.loopback ? 1 : 0);
    if (rc != 0) return failed("set multicast loop", rc);
    rc = uv_udp_connect(s, reinterpret_cast<const sockaddr*>(&group));
    if (rc != 0) return failed("connect the send socket to " + n.group_text, rc);
    return 0;
}

#ifdef __linux__
// Attaches to the receive socket `h` a classic BPF filter that drops datagrams whose source is
// the send socket `s` (address and port, as getsockname() reports them after connect()). For a
// UDP socket the filter sees the packet from the UDP header on (offset 0: source port), and the
// IP header at SKF_NET_OFF. Returns 0 or a libuv code.
int attach_own_filter(uv_udp_t* h, uv_udp_t* s) {
    sockaddr_storage self{};
    int len = sizeof self;
    int rc = uv_udp_getsockname(s, reinterpret_cast<sockaddr*>(&self), &len);
    if (rc != 0) return rc;
    constexpr auto kAccept = static_cast<std::uint32_t>(-1);  // keep the whole datagram
    std::vector<sock_filter> code;
    auto stmt = [&](std::uint16_t op, std::uint32_t k) {
        code.push_back(sock_filter{op, 0, 0, k});
    };
    // Jumps to "accept" are patched once the program's length is known.
    std::vector<std::size_t> to_accept;
    auto unless_equal_accept = [&](std::uint32_t k) {
        to_accept.push_back(code.size());
        code.push_back(sock_filter{static_cast<std::uint16_t>(BPF_JMP | BPF_JEQ | BPF_K), 0, 0, k});
    };
    const auto ldh = static_cast<std::uint16_t>(BPF_LD | BPF_H | BPF_ABS);
    const auto ldw = static_cast<std::uint16_t>(BPF_LD | BPF_W | BPF_ABS);
    if (self.ss_family == AF_INET) {
        const auto* a = reinterpret_cast<const sockaddr_in*>(&self);
        stmt(ldh, 0);
        unless_equal_accept(ntohs(a->sin_port));
        stmt(ldw, static_cast<std::uint32_t>(SKF_NET_OFF + 12));  // IPv4 source address
        unless_equal_accept(ntohl(a->sin_addr.s_addr));
    } else {
        const auto* a = reinterpret_cast<const sockaddr_in6*>(&self);
        stmt(ldh, 0);
        unless_equal_accept(ntohs(a->sin6_port));
        for (std::uint32_t word = 0; word < 4; ++word) {
            std::uint32_t v = 0;
            std::memcpy(&v, a->sin6_addr.s6_addr + 4 * word, 4);
            stmt(ldw, static_cast<std::uint32_t>(SKF_NET_OFF + 8) + 4 * word);  // source address
            unless_equal_accept(ntohl(v));
        }
    }
    stmt(static_cast<std::uint16_t>(BPF_RET | BPF_K), 0);  // ours: drop
    const std::size_t accept = code.size();
    stmt(static_cast<std::uint16_t>(BPF_RET | BPF_K), kAccept);
    for (const std::size_t at : to_accept) {
        code[at].jf = static_cast<std::uint8_t>(accept - at - 1);
    }
    sock_fprog prog{static_cast<unsigned short>(code.size()), code.data()};
    uv_os_fd_t fd = -1;
    if ((rc = uv_fileno(reinterpret_cast<const uv_handle_t*>(h), &fd)) != 0) return rc;
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
        return uv_translate_sys_error(errno);
    }
    return 0;
}
#endif

}  // namespace

UdpSocket::~UdpSocket() { close(nullptr); }

int UdpSocket::open(uv_loop_t* loop, const UdpOptions& opts, OnDatagram cb, UdpInfo* info,
                    std::string* err) {
    if (impl_ != nullptr) return fail(err, BLIP_ESTATE, "udp socket: already open");
    if (loop == nullptr || !cb) return fail(err, BLIP_EINVAL, "udp socket: no loop or callback");
    const int family = opts.group.ss_family;
    if (family != AF_INET && family != AF_INET6) {
        return fail(err, BLIP_EINVAL,
                    "udp socket: the group is neither an IPv4 nor an IPv6 address");
    }
    // The validated group (for IPv6 with its scope id filled in) and the texts for messages:
    // group_ip "239.1.2.3" / "ff02::1:b11b", group_text "239.1.2.3:5000" /
    // "[ff02::1:b11b%veth0]:5000", if_text "127.0.0.1" / "veth0 (index 2)".
    sockaddr_storage target{};
    std::string group_ip;
    std::string group_text;
    std::string if_text;
    if (family == AF_INET) {
        sockaddr_in group{};
        std::memcpy(&group, &opts.group, sizeof group);
        group_ip = ipv4_text(group.sin_addr);
        group_text = group_ip + ":" + std::to_string(ntohs(group.sin_port));
        if_text = ipv4_text(opts.interface);
        if (!IN_MULTICAST(ntohl(group.sin_addr.s_addr))) {
            return fail(err, BLIP_EINVAL,
                        "udp socket: " + group_ip + " is not a multicast address");
        }
        if (group.sin_port == 0) return fail(err, BLIP_EINVAL, "udp socket: the group port is 0");
        if (opts.interface.s_addr == htonl(INADDR_ANY)) {
            return fail(err, BLIP_EINVAL,
                        "udp socket: no interface address given (0.0.0.0 would let the kernel "
                        "guess the interface)");
        }
        std::memcpy(&target, &group, sizeof group);
    } else {
        sockaddr_in6 group{};
        std::memcpy(&group, &opts.group, sizeof group);
        group_ip = ipv6_text(group.sin6_addr);
        if (!IN6_IS_ADDR_MULTICAST(&group.sin6_addr)) {
            return fail(err, BLIP_EINVAL,
                        "udp socket: " + group_ip + " is not a multicast address");
        }
        if (group.sin6_port == 0) {
            return fail(err, BLIP_EINVAL, "udp socket: the group port is 0");
        }
        if (opts.interface_index == 0) {
            return fail(err, BLIP_EINVAL,
                        "udp socket: no interface index given for IPv6 group " + group_ip +
                            " (0 would let the kernel guess the interface)");
        }
        const std::string if_name = interface_name(opts.interface_index);
        if_text = if_name + " (index " + std::to_string(opts.interface_index) + ")";
        if (group.sin6_scope_id != 0 && group.sin6_scope_id != opts.interface_index) {
            return fail(err, BLIP_EINVAL,
                        "udp socket: group " + group_ip + " has scope id " +
                            std::to_string(group.sin6_scope_id) + " but the interface is " +
                            if_text);
        }
        if (needs_scope_id(group.sin6_addr)) group.sin6_scope_id = opts.interface_index;
        group_text = "[" + group_ip + (group.sin6_scope_id != 0 ? "%" + if_name : "") +
                     "]:" + std::to_string(ntohs(group.sin6_port));
        std::memcpy(&target, &group, sizeof group);
    }
    if (opts.ttl < 0 || opts.ttl > kMaxTtl) {
        return fail(err, BLIP_EINVAL,
                    "udp socket: ttl " + std::to_string(opts.ttl) + " is outside 0..255");
    }
    if (opts.recv_buffer < 0 || opts.send_buffer < 0) {
        return fail(err, BLIP_EINVAL, "udp socket: negative socket buffer size");
    }
    if (opts.datagram_buffer == 0 || opts.datagram_buffer > (std::size_t{64} << 10)) {
        return fail(err, BLIP_EINVAL, "udp socket: datagram_buffer must be 1..65536 bytes");
    }

    auto* impl = new (std::nothrow) UdpSocketState;
    if (impl == nullptr) return fail(err, BLIP_ENOMEM, "udp socket: out of memory");
    try {
        // A full-size buffer reads up to kRecvBatch datagrams per system call, each into its own
        // 64 KiB slot (smaller buffers exist only to test truncation, and take one datagram per
        // call, with no coalesced runs, which would not fit).
        const bool full = opts.datagram_buffer == kMaxDatagramBuffer;
        impl->slot = full ? kMaxDatagramBuffer : opts.datagram_buffer;
        impl->slots = full ? kRecvBatch : 1;
        impl->gro = full && opts.segmentation_offload;
        impl->buffer.resize(impl->slot * impl->slots);
    } catch (const std::bad_alloc&) {
        delete impl;
        return fail(err, BLIP_ENOMEM, "udp socket: out of memory");
    }
    impl->on_datagram = std::move(cb);
    impl->on_error = on_error;
    impl->max_send_queue = opts.max_send_queue;
    impl->gso = opts.segmentation_offload;
    impl->group = target;
    impl->handle.data = impl;
    impl->send_handle.data = impl;
    impl->poll.data = impl;

    // Giving the family creates the sockets now, so buffer sizes can be set before bind.
    int rc = uv_udp_init_ex(loop, &impl->handle, static_cast<unsigned>(family));
    if (rc != 0) {
        delete impl;  // init failed: the handle never joined the loop
        return fail(err, map_uv_error(rc), "udp socket: create: " + uv_error_text(rc));
    }
    impl->open_handles = 1;
    rc = uv_udp_init_ex(loop, &impl->send_handle, static_cast<unsigned>(family));
    if (rc == 0) impl->open_handles = 2;
    // From here on the handles belong to the loop: failures close them and the last close
    // callback frees impl.
    bool polling = false;  // the poll handle was initialised (the third handle)
    auto abandon = [&](const std::string& step, int uv_rc) {
        impl->on_datagram = nullptr;
        const bool send_open = impl->open_handles >= 2;
        uv_close(reinterpret_cast<uv_handle_t*>(&impl->handle), blip_udp_closed);
        if (send_open) {
            uv_close(reinterpret_cast<uv_handle_t*>(&impl->send_handle), blip_udp_closed);
        }
        if (polling) uv_close(reinterpret_cast<uv_handle_t*>(&impl->poll), blip_udp_closed);
        return fail(err, map_uv_error(uv_rc), step + ": " + uv_error_text(uv_rc));
    };
    if (rc != 0) return abandon("udp socket: create the send socket", rc);
    auto* as_handle = reinterpret_cast<uv_handle_t*>(&impl->handle);
    auto* as_send_handle = reinterpret_cast<uv_handle_t*>(&impl->send_handle);

    UdpInfo got;
    if (opts.recv_buffer > 0) {
        int v = opts.recv_buffer;
        if ((rc = uv_recv_buffer_size(as_handle, &v)) != 0) {
            return abandon("set receive buffer " + std::to_string(opts.recv_buffer), rc);
        }
    }
    if (opts.send_buffer > 0) {
        int v = opts.send_buffer;
        if ((rc = uv_send_buffer_size(as_send_handle, &v)) != 0) {
            return abandon("set send buffer " + std::to_string(opts.send_buffer), rc);
        }
    }
    // A value of 0 asks libuv to read the current size back.
    if ((rc = uv_recv_buffer_size(as_handle, &got.recv_buffer)) != 0) {
        return abandon("read receive buffer size", rc);
    }
    if ((rc = uv_send_buffer_size(as_send_handle, &got.send_buffer)) != 0) {
        return abandon("read send buffer size", rc);
    }
    check_clamped("receive", "net.core.rmem_max", opts.recv_buffer, got.recv_buffer, &got.warnings);
    check_clamped("send", "net.core.wmem_max", opts.send_buffer, got.send_buffer, &got.warnings);

    const GroupNames names{group_ip, group_text, if_text};
    std::string step;
    rc = family == AF_INET
             ? setup_ipv4(&impl->handle, &impl->send_handle, opts, target, names, &step)
             : setup_ipv6(&impl->handle, &impl->send_handle, opts, target, names, &step);
    if (rc != 0) return abandon(step, rc);
#ifdef __linux__
    // Without the filter (an old kernel, or drop_own off) the protocol core still recognises
    // and discards our own datagrams; the filter only saves the work.
    if (opts.drop_own && opts.loopback) {
        impl->drops_own = attach_own_filter(&impl->handle, &impl->send_handle) == 0;
    }
#endif
    uv_os_fd_t fd = -1;
    if ((rc = uv_fileno(as_handle, &fd)) != 0) return abandon("receive socket descriptor", rc);
    // Coalesced runs come only from a sender using segmentation offload on this host (the
    // loopback path keeps its run whole); without UDP_GRO the kernel cuts them up first.
    if (impl->gro) {
        const int on = 1;
        impl->gro = setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof on) == 0;
    }
    impl->recv_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (impl->recv_fd < 0) {
        return abandon("duplicate the receive socket", uv_translate_sys_error(errno));
    }
    if ((rc = uv_poll_init_socket(loop, &impl->poll, impl->recv_fd)) != 0) {
        return abandon("watch the receive socket", rc);
    }
    polling = true;
    ++impl->open_handles;
    impl->receiving = true;
    if ((rc = uv_poll_start(&impl->poll, UV_READABLE, blip_udp_readable)) != 0) {
        return abandon("start receiving on " + group_text, rc);
    }

    impl_ = impl;
    closed_stats_ = UdpStats{};
    if (info != nullptr) *info = std::move(got);
    return BLIP_OK;
}

namespace {

// UDP generic segmentation offload (Linux 4.18+): one message carries a run of datagrams, all
// of one size but the last (which may be shorter), and the kernel cuts it into datagrams as
// late as it can: on loopback, never before the receiving socket. One pass through the stack
// instead of one per datagram. These are the limits of every kernel that has it
// (UDP_MAX_SEGMENTS is 64 before 6.9), and the bytes one IPv4 datagram may carry.
constexpr std::size_t kGsoMaxSegments = 64;
constexpr std::size_t kGsoMaxBytes = 65507;

// Errors with which a kernel refuses segmentation itself rather than the datagrams: no
// UDP_SEGMENT (EINVAL, ENOPROTOOPT), a device without checksum offload (EIO), a segment larger
// than the path MTU (EINVAL), or a run too long for it (EMSGSIZE). The datagrams are then sent
// one by one, as without offload.
bool gso_refused(int e) {
    return e == EINVAL || e == EIO || e == EMSGSIZE || e == EOPNOTSUPP || e == ENOPROTOOPT;
}

// Where datagram i of a batch [0, ends[0]), [ends[0], ends[1]), ... begins.
std::size_t datagram_begin(std::span<const std::size_t> ends, std::size_t i) {
    return i == 0 ? 0 : ends[i - 1];
}

// sendmmsg() of datagrams [0, ends[0]), [ends[0], ends[1]), ... of `data` on a connected socket
// until done or the kernel takes no more; returns how many were sent, from the first. With
// `*gso`, runs of equal-sized datagrams go as one message each (UDP_SEGMENT); if the kernel
// refuses that, *gso is cleared and the datagrams go singly. Adds what was sent to `counts`
// (datagrams_sent, packets_sent, gso_sends).
std::size_t send_mmsg(int fd, std::span<const std::uint8_t> data, std::span<const std::size_t> ends,
                      bool* gso, UdpStats* counts) {
    constexpr std::size_t kSendBatch = 64;
    std::array<mmsghdr, kSendBatch> msgs{};
    std::array<iovec, kSendBatch> iov{};
    std::array<std::size_t, kSendBatch> count{};  // datagrams in each message
    alignas(cmsghdr) std::array<std::uint8_t, kSendBatch * CMSG_SPACE(sizeof(std::uint16_t))>
        control{};
    std::size_t next = 0;
    while (next < ends.size()) {
        std::size_t n = 0;
        for (std::size_t i = next; i < ends.size() && n < kSendBatch; ++n) {
            const std::size_t first = datagram_begin(ends, i);
            const std::size_t size = ends[i] - first;
            std::size_t j = i + 1;
            if (*gso) {
                // Extend the run while the datagrams are as long as the first; a shorter one
                // ends it (only the last segment may be short).
                while (j < ends.size() && j - i < kGsoMaxSegments &&
                       ends[j] - first <= kGsoMaxBytes && ends[j] - ends[j - 1] <= size) {
                    const bool shorter = ends[j] - ends[j - 1] < size;
                    ++j;
                    if (shorter) break;
                }
            }
            iov[n].iov_base = const_cast<std::uint8_t*>(data.data() + first);
            iov[n].iov_len = ends[j - 1] - first;
            msgs[n] = mmsghdr{};  // no msg_name: the send socket is connected to the group
            msgs[n].msg_hdr.msg_iov = &iov[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
            count[n] = j - i;
            if (count[n] > 1) {
                auto* c_space = control.data() + n * CMSG_SPACE(sizeof(std::uint16_t));
                msgs[n].msg_hdr.msg_control = c_space;
                msgs[n].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
                cmsghdr* c = CMSG_FIRSTHDR(&msgs[n].msg_hdr);
                c->cmsg_level = SOL_UDP;
                c->cmsg_type = UDP_SEGMENT;
                c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
                const auto segment = static_cast<std::uint16_t>(size);
                std::memcpy(CMSG_DATA(c), &segment, sizeof segment);
            }
            i = j;
        }
        const int sent = ::sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), MSG_DONTWAIT);
        if (sent <= 0) {
            if (sent < 0 && count[0] > 1 && gso_refused(errno)) {
                *gso = false;  // for good: this socket's path does not take it
                continue;
            }
            break;  // EAGAIN or an error: the caller decides
        }
        for (std::size_t m = 0; m < static_cast<std::size_t>(sent); ++m) {
            next += count[m];
            counts->datagrams_sent += count[m];
            ++counts->packets_sent;
            if (count[m] > 1) ++counts->gso_sends;
        }
    }
    return next;
}

}  // namespace

int UdpSocket::send_direct(std::span<const std::uint8_t> data, std::span<const std::size_t> ends,
                           UdpStats* counts) {
    uv_os_fd_t fd = -1;
    if (impl_ == nullptr ||
        uv_fileno(reinterpret_cast<const uv_handle_t*>(&impl_->send_handle), &fd) != 0) {
        return -1;
    }
    return static_cast<int>(send_mmsg(fd, data, ends, &impl_->gso, counts));
}

std::size_t UdpSocket::pending_sends() const noexcept {
    return impl_ != nullptr ? uv_udp_get_send_queue_count(&impl_->send_handle) : 0;
}

UdpSocket::BatchResult UdpSocket::send_batch(std::span<const std::uint8_t> data,
                                             std::span<const std::size_t> ends) {
    BatchResult result;
    std::size_t next = 0;  // first datagram not yet handled
    auto account = [&](int rc) {
        if (rc == BLIP_EAGAIN) {
            ++result.dropped;
        } else if (rc != BLIP_OK) {
            if (result.failed++ == 0) result.first_error = rc;
        }
    };
    // Straight to the kernel only while nothing waits in libuv's queue (order); the rest, if
    // the socket buffer fills, goes through send() and queues.
    if (impl_ != nullptr && pending_sends() == 0) {
        const int sent = send_direct(data, ends, &impl_->stats);
        if (sent > 0) next = static_cast<std::size_t>(sent);
    }
    for (; next < ends.size(); ++next) {
        const std::size_t begin = datagram_begin(ends, next);
        account(send(data.subspan(begin, ends[next] - begin)));
    }
    return result;
}

int UdpSocket::send(std::span<const std::uint8_t> datagram) {
    if (impl_ == nullptr) return BLIP_ECLOSED;
    // uv_buf_t takes a non-const pointer; libuv only reads from it when sending.
    uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(datagram.data())),
                               static_cast<unsigned>(datagram.size()));
    // try_send also answers UV_EAGAIN while earlier datagrams are queued, which keeps order.
    // No address: the send socket is connected to the group.
    int rc = uv_udp_try_send(&impl_->send_handle, &buf, 1, nullptr);
    if (rc >= 0) {
        ++impl_->stats.datagrams_sent;
        ++impl_->stats.packets_sent;
        return BLIP_OK;
    }
    if (rc != UV_EAGAIN) {
        ++impl_->stats.send_errors;
        return map_uv_error(rc);
    }
    if (uv_udp_get_send_queue_size(&impl_->send_handle) + datagram.size() > impl_->max_send_queue) {
        ++impl_->stats.send_queue_full;
        return BLIP_EAGAIN;
    }
    auto* q = new (std::nothrow) QueuedSend;
    if (q == nullptr) {
        ++impl_->stats.send_errors;
        return BLIP_ENOMEM;
    }
    try {
        q->data.assign(datagram.begin(), datagram.end());
    } catch (const std::bad_alloc&) {
        delete q;
        ++impl_->stats.send_errors;
        return BLIP_ENOMEM;
    }
    q->req.data = q;
    buf =
        uv_buf_init(reinterpret_cast<char*>(q->data.data()), static_cast<unsigned>(q->data.size()));
    rc = uv_udp_send(&q->req, &impl_->send_handle, &buf, 1, nullptr, blip_udp_sent);
    if (rc != 0) {  // the callback will not run
        delete q;
        ++impl_->stats.send_errors;
        return map_uv_error(rc);
    }
    ++impl_->stats.send_queued;
    return BLIP_OK;
}

void UdpSocket::close(std::function<void()> done) {
    if (impl_ == nullptr) {
        if (done) done();
        return;
    }
    UdpSocketState* impl = std::exchange(impl_, nullptr);
    closed_stats_ = impl->stats;
    // on_datagram is kept until the state is freed: close() may be running inside it.
    impl->receiving = false;
    impl->on_closed = std::move(done);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->poll), blip_udp_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->handle), blip_udp_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->send_handle), blip_udp_closed);
}

bool UdpSocket::drops_own() const noexcept { return impl_ != nullptr && impl_->drops_own; }

bool UdpSocket::segmenting() const noexcept { return impl_ != nullptr && impl_->gso; }

bool UdpSocket::receives_runs() const noexcept { return impl_ != nullptr && impl_->gro; }

std::optional<std::uint64_t> UdpSocket::kernel_drops() const {
    if (impl_ == nullptr) return std::nullopt;
    uv_os_fd_t fd = -1;
    if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&impl_->handle), &fd) != 0) {
        return std::nullopt;
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) return std::nullopt;
    // Linux reports per-socket receive drops (full buffer) only in the last column of
    // /proc/net/udp{,6}, on the line whose inode column is the socket's inode.
    const char* table = impl_->group.ss_family == AF_INET6 ? "/proc/net/udp6" : "/proc/net/udp";
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::vector<std::string> f;
        for (std::string x; fields >> x;) f.push_back(x);
        // sl local rem st tx:rx tr:tm retrnsmt uid timeout inode ref pointer drops
        if (f.size() < 13) continue;
        if (f[9] != std::to_string(st.st_ino)) continue;
        try {
            return std::stoull(f[12]);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

UdpStats UdpSocket::stats() const noexcept {
    return impl_ != nullptr ? impl_->stats : closed_stats_;
}

}  // namespace blip::io
