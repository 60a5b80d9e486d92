// The channel's multicast UDP socket over libuv (see udp_socket.h). Must not include src/proto.
#include "io/udp_socket.h"

#include <arpa/inet.h>
#include <blip/blip.h>

#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <utility>
#include <vector>

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

int fail(std::string* err, int code, std::string message) {
    if (err != nullptr) *err = std::move(message);
    return code;
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

struct UdpSocketState {
    uv_udp_t handle{};
    UdpSocket::OnDatagram on_datagram;
    std::function<void()> on_closed;
    std::size_t max_send_queue = 0;
    sockaddr_in group{};
    UdpStats stats;
    // The one receive buffer: libuv reads a datagram into it, we hand it to on_datagram, and
    // it is free again before the next read (recvmmsg is not enabled), so no per-datagram malloc.
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

static void blip_udp_alloc(uv_handle_t* h, std::size_t /*suggested*/, uv_buf_t* buf) noexcept {
    auto* impl = static_cast<UdpSocketState*>(h->data);
    *buf = uv_buf_init(reinterpret_cast<char*>(impl->buffer.data()),
                       static_cast<unsigned>(impl->buffer.size()));
}

static void blip_udp_recv(uv_udp_t* h, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                          unsigned flags) noexcept {
    auto* impl = static_cast<UdpSocketState*>(h->data);
    if (nread < 0) {
        ++impl->stats.recv_errors;
        return;
    }
    if (nread == 0 && addr == nullptr) return;  // nothing more to read this time
    if ((flags & UV_UDP_PARTIAL) != 0) {
        // The kernel cut the datagram to fit the buffer; a cut Blip fragment could still decode
        // as a valid (shorter) one, so it is dropped, never delivered.
        ++impl->stats.truncated_dropped;
        return;
    }
    ++impl->stats.datagrams_received;
    impl->on_datagram(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(buf->base), static_cast<std::size_t>(nread)));
}

static void blip_udp_sent(uv_udp_send_t* req, int status) noexcept {
    auto* q = static_cast<QueuedSend*>(req->data);
    auto* impl = static_cast<UdpSocketState*>(req->handle->data);
    if (status == 0) {
        ++impl->stats.datagrams_sent;
    } else if (status != UV_ECANCELED) {  // cancelled by close(): not a send failure
        ++impl->stats.send_errors;
    }
    delete q;
}

static void blip_udp_closed(uv_handle_t* h) noexcept {
    auto* impl = static_cast<UdpSocketState*>(h->data);
    std::function<void()> done = std::move(impl->on_closed);
    delete impl;
    if (done) done();
}

}  // extern "C"

UdpSocket::~UdpSocket() { close(nullptr); }

int UdpSocket::open(uv_loop_t* loop, const UdpOptions& opts, OnDatagram cb, UdpInfo* info,
                    std::string* err) {
    if (impl_ != nullptr) return fail(err, BLIP_ESTATE, "udp socket: already open");
    if (loop == nullptr || !cb) return fail(err, BLIP_EINVAL, "udp socket: no loop or callback");
    if (opts.group.ss_family == AF_INET6) {
        return fail(err, BLIP_ENOTSUP, "udp socket: IPv6 multicast groups are not supported yet");
    }
    if (opts.group.ss_family != AF_INET) {
        return fail(err, BLIP_EINVAL, "udp socket: the group is not an IPv4 address");
    }
    sockaddr_in group{};
    std::memcpy(&group, &opts.group, sizeof group);
    const std::string group_ip = ipv4_text(group.sin_addr);
    const std::string group_text = group_ip + ":" + std::to_string(ntohs(group.sin_port));
    const std::string if_text = ipv4_text(opts.interface);
    if (!IN_MULTICAST(ntohl(group.sin_addr.s_addr))) {
        return fail(err, BLIP_EINVAL, "udp socket: " + group_ip + " is not a multicast address");
    }
    if (group.sin_port == 0) return fail(err, BLIP_EINVAL, "udp socket: the group port is 0");
    if (opts.interface.s_addr == htonl(INADDR_ANY)) {
        return fail(err, BLIP_EINVAL,
                    "udp socket: no interface address given (0.0.0.0 would let the kernel "
                    "guess the interface)");
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
        impl->buffer.resize(opts.datagram_buffer);
    } catch (const std::bad_alloc&) {
        delete impl;
        return fail(err, BLIP_ENOMEM, "udp socket: out of memory");
    }
    impl->on_datagram = std::move(cb);
    impl->max_send_queue = opts.max_send_queue;
    impl->group = group;
    impl->handle.data = impl;

    // AF_INET creates the socket now, so buffer sizes can be set before bind.
    int rc = uv_udp_init_ex(loop, &impl->handle, AF_INET);
    if (rc != 0) {
        delete impl;  // init failed: the handle never joined the loop
        return fail(err, map_uv_error(rc), "udp socket: create: " + uv_error_text(rc));
    }
    // From here on the handle belongs to the loop: failures close it and the close callback
    // frees impl.
    auto abandon = [&](const std::string& step, int uv_rc) {
        impl->on_datagram = nullptr;
        uv_close(reinterpret_cast<uv_handle_t*>(&impl->handle), blip_udp_closed);
        return fail(err, map_uv_error(uv_rc), step + ": " + uv_error_text(uv_rc));
    };
    auto* as_handle = reinterpret_cast<uv_handle_t*>(&impl->handle);

    UdpInfo got;
    if (opts.recv_buffer > 0) {
        int v = opts.recv_buffer;
        if ((rc = uv_recv_buffer_size(as_handle, &v)) != 0) {
            return abandon("set receive buffer " + std::to_string(opts.recv_buffer), rc);
        }
    }
    if (opts.send_buffer > 0) {
        int v = opts.send_buffer;
        if ((rc = uv_send_buffer_size(as_handle, &v)) != 0) {
            return abandon("set send buffer " + std::to_string(opts.send_buffer), rc);
        }
    }
    // A value of 0 asks libuv to read the current size back.
    if ((rc = uv_recv_buffer_size(as_handle, &got.recv_buffer)) != 0) {
        return abandon("read receive buffer size", rc);
    }
    if ((rc = uv_send_buffer_size(as_handle, &got.send_buffer)) != 0) {
        return abandon("read send buffer size", rc);
    }
    check_clamped("receive", "net.core.rmem_max", opts.recv_buffer, got.recv_buffer, &got.warnings);
    check_clamped("send", "net.core.wmem_max", opts.send_buffer, got.send_buffer, &got.warnings);

    // Linux lets a socket bind a multicast address, and then it receives only that group's
    // datagrams; bound to INADDR_ANY it would also get every other group this host joined
    // on the port. Elsewhere binding a group address is not portable.
    sockaddr_in bind_addr = group;
#ifndef __linux__
    bind_addr.sin_addr.s_addr = htonl(INADDR_ANY);
#endif
    rc = uv_udp_bind(&impl->handle, reinterpret_cast<const sockaddr*>(&bind_addr),
                     opts.reuse_port ? UV_UDP_REUSEADDR : 0);
    if (rc != 0) return abandon("bind " + group_text, rc);
    rc = uv_udp_set_membership(&impl->handle, group_ip.c_str(), if_text.c_str(), UV_JOIN_GROUP);
    if (rc != 0) return abandon("join group " + group_ip + " on interface " + if_text, rc);
    rc = uv_udp_set_multicast_interface(&impl->handle, if_text.c_str());
    if (rc != 0) return abandon("set multicast interface " + if_text, rc);
    rc = uv_udp_set_multicast_ttl(&impl->handle, opts.ttl);
    if (rc != 0) return abandon("set multicast ttl " + std::to_string(opts.ttl), rc);
    rc = uv_udp_set_multicast_loop(&impl->handle, opts.loopback ? 1 : 0);
    if (rc != 0) return abandon("set multicast loop", rc);
    rc = uv_udp_recv_start(&impl->handle, blip_udp_alloc, blip_udp_recv);
    if (rc != 0) return abandon("start receiving on " + group_text, rc);

    impl_ = impl;
    closed_stats_ = UdpStats{};
    if (info != nullptr) *info = std::move(got);
    return BLIP_OK;
}

int UdpSocket::send(std::span<const std::uint8_t> datagram) {
    if (impl_ == nullptr) return BLIP_ECLOSED;
    // uv_buf_t takes a non-const pointer; libuv only reads from it when sending.
    uv_buf_t buf = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(datagram.data())),
                               static_cast<unsigned>(datagram.size()));
    const auto* to = reinterpret_cast<const sockaddr*>(&impl_->group);
    // try_send also answers UV_EAGAIN while earlier datagrams are queued, which keeps order.
    int rc = uv_udp_try_send(&impl_->handle, &buf, 1, to);
    if (rc >= 0) {
        ++impl_->stats.datagrams_sent;
        return BLIP_OK;
    }
    if (rc != UV_EAGAIN) {
        ++impl_->stats.send_errors;
        return map_uv_error(rc);
    }
    if (uv_udp_get_send_queue_size(&impl_->handle) + datagram.size() > impl_->max_send_queue) {
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
    rc = uv_udp_send(&q->req, &impl_->handle, &buf, 1, to, blip_udp_sent);
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
    uv_udp_recv_stop(&impl->handle);
    impl->on_closed = std::move(done);
    uv_close(reinterpret_cast<uv_handle_t*>(&impl->handle), blip_udp_closed);
}

UdpStats UdpSocket::stats() const noexcept {
    return impl_ != nullptr ? impl_->stats : closed_stats_;
}

}  // namespace blip::io
