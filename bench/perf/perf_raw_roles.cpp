// perf_raw_roles.cpp - blip-perf's baseline: the same datagrams as plain UDP multicast with no
// protocol (sendmmsg/recvmmsg on sockets opened here, the same interface and socket buffer
// sizes), so the kernel's own limit on this machine is measured in the same run as Blip.
// IPv4 only; POSIX sockets, no Blip.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "perf_payload.h"
#include "perf_roles.h"
#include "perf_util.h"

namespace perf {

namespace {

constexpr std::uint64_t kIdleEndNs = 300'000'000;  // once the total is known: idle this long
// The most datagrams one UDP GSO send may carry on every kernel since 4.18 (UDP_MAX_SEGMENTS;
// 128 from 6.9 on), and the most bytes (a UDP datagram's limit).
constexpr std::size_t kGsoMaxSegments = 64;
constexpr std::size_t kGsoMaxBytes = 65507;

void fail(Report& r, const std::string& what) {
    if (r.error[0] == '\0') {
        std::snprintf(r.error, sizeof r.error, "%s: %s", what.c_str(), std::strerror(errno));
    }
    r.ok = 0;
}

bool parse_ipv4(const std::string& text, in_addr* out) {
    return inet_pton(AF_INET, text.c_str(), out) == 1;
}

bool set_int(int fd, int level, int name, int value) {
    return setsockopt(fd, level, name, &value, sizeof value) == 0;
}

}  // namespace

int raw_receiver_role(const RunSpec& s, int /*index*/, RolePipes p) {
    Report r;
    Pattern pat(s.size);
    in_addr group{};
    in_addr iface{};
    if (!parse_ipv4(s.group, &group) || !parse_ipv4(s.interface, &iface)) {
        errno = EINVAL;
        fail(r, "raw mode needs IPv4 addresses for --group and --interface");
        write_all(p.report_fd, &r, sizeof r);
        return 1;
    }
    const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    sockaddr_in bind_to{};
    bind_to.sin_family = AF_INET;
    bind_to.sin_port = htons(static_cast<std::uint16_t>(s.port));
    bind_to.sin_addr = group;  // only this group's traffic
    ip_mreq mreq{};
    mreq.imr_multiaddr = group;
    mreq.imr_interface = iface;
    if (fd < 0) {
        fail(r, "socket");
    } else if (!set_int(fd, SOL_SOCKET, SO_REUSEADDR, 1) ||
               !set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)) {
        fail(r, "SO_REUSEADDR/SO_REUSEPORT");
    } else if (s.recv_buffer > 0 &&
               !set_int(fd, SOL_SOCKET, SO_RCVBUF, static_cast<int>(s.recv_buffer))) {
        fail(r, "SO_RCVBUF");
    } else if (!set_int(fd, SOL_SOCKET, SO_RXQ_OVFL, 1)) {
        fail(r, "SO_RXQ_OVFL");
    } else if (s.gso && !set_int(fd, IPPROTO_UDP, UDP_GRO, 1)) {
        fail(r, "UDP_GRO");
    } else if (bind(fd, reinterpret_cast<const sockaddr*>(&bind_to), sizeof bind_to) != 0) {
        fail(r, "bind");
    } else if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0) {
        fail(r, "IP_ADD_MEMBERSHIP on " + s.interface);
    }
    r.phase = Phase::kReady;
    r.rss_start_kb = status_kb("VmRSS:");
    RssTrack rss;
    rss.sample(monotonic_ns());
    write_all(p.report_fd, &r, sizeof r);
    if (r.ok == 0) {
        if (fd >= 0) close(fd);
        return 1;
    }

    // One slot per datagram of a batch, each big enough for the largest UDP payload, so a
    // datagram larger than expected shows up as a wrong length rather than truncated.
    const std::size_t slot = 65536;
    const auto batch = static_cast<std::size_t>(std::max(1, s.batch));
    std::vector<std::uint8_t> bufs(slot * batch);
    std::vector<iovec> iov(batch);
    std::vector<mmsghdr> msgs(batch);
    // Room for SO_RXQ_OVFL and UDP_GRO.
    const std::size_t cmsg_len = 2 * CMSG_SPACE(sizeof(std::uint32_t));
    std::vector<std::uint8_t> cmsg_space(batch * cmsg_len);
    Control ctl(p.control_fd);
    std::uint64_t next = 0;
    std::uint64_t received = 0;
    std::uint64_t last_progress = monotonic_ns();
    bool seen_last = false;
    // Latency (kRawLatency): one sample per datagram past the warm-up.
    const bool timed = s.kind == Kind::kRawLatency;
    std::vector<std::uint64_t> lat;
    std::vector<std::uint64_t> lat_call;
    if (timed) {
        lat.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(s.count, 50'000'000)));
        lat_call.reserve(lat.capacity());
    }
    const std::uint64_t busy_ns = raw_busy_poll_ns(s);
    std::uint64_t spins = 0;
    while (!ctl.quit()) {
        // Sleep in poll() unless a datagram came less than busy_ns ago: then spin on the
        // socket (the control pipe is looked at every 1024 turns).
        if (busy_ns == 0 || monotonic_ns() - last_progress > busy_ns) {
            pollfd pfds[2] = {{fd, POLLIN, 0}, {p.control_fd, POLLIN, 0}};
            if (poll(pfds, 2, 20) < 0 && errno != EINTR) {
                fail(r, "poll");
                break;
            }
            if (pfds[1].revents != 0) ctl.poll(0);
        } else if ((++spins & 1023) == 0) {
            ctl.poll(0);
        }
        for (;;) {
            for (std::size_t i = 0; i < batch; ++i) {
                iov[i] = {bufs.data() + i * slot, slot};
                msgs[i] = {};
                msgs[i].msg_hdr.msg_iov = &iov[i];
                msgs[i].msg_hdr.msg_iovlen = 1;
                msgs[i].msg_hdr.msg_control = cmsg_space.data() + i * cmsg_len;
                msgs[i].msg_hdr.msg_controllen = cmsg_len;
            }
            const int n =
                recvmmsg(fd, msgs.data(), static_cast<unsigned>(batch), MSG_DONTWAIT, nullptr);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) fail(r, "recvmmsg");
                break;
            }
            const std::uint64_t now = monotonic_ns();
            if (received == 0) r.first_ns = now;
            r.last_ns = now;
            last_progress = now;
            for (int k = 0; k < n; ++k) {
                const auto* read = bufs.data() + static_cast<std::size_t>(k) * slot;
                const std::size_t read_len = msgs[static_cast<std::size_t>(k)].msg_len;
                std::size_t segment = read_len;  // UDP_GRO: a run of datagrams of this size
                msghdr& h = msgs[static_cast<std::size_t>(k)].msg_hdr;
                for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
                    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
                        std::uint32_t drops = 0;
                        std::memcpy(&drops, CMSG_DATA(c), sizeof drops);
                        r.kernel_drops = drops;  // cumulative for the socket
                    } else if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) {
                        int size = 0;
                        std::memcpy(&size, CMSG_DATA(c), sizeof size);
                        if (size > 0) segment = static_cast<std::size_t>(size);
                    }
                }
                for (std::size_t off = 0; off < read_len; off += segment) {
                    const auto* d = read + off;
                    const std::size_t len = std::min(segment, read_len - off);
                    ++received;
                    if (len < kHeaderBytes) {
                        ++r.bad;
                        continue;
                    }
                    const std::uint64_t seq = get_u64(d);
                    if (len != s.size || !pat.check(d, len, seq)) {
                        ++r.bad;
                        continue;
                    }
                    if (seq < next) {
                        ++r.reordered;
                    } else {
                        next = seq + 1;
                    }
                    ++r.delivered;
                    r.delivered_bytes += len;
                    if (timed && seq >= s.warmup) {
                        const std::uint64_t intended = intended_at(d);
                        const std::uint64_t actual = actual_at(d);
                        lat.push_back(now > intended ? now - intended : 0);
                        lat_call.push_back(now > actual ? now - actual : 0);
                    }
                    if ((flags_of(d) & kFlagLast) != 0) seen_last = true;
                }
            }
            if (static_cast<std::size_t>(n) < batch) break;
        }
        if (r.ok == 0) break;
        rss.sample(monotonic_ns());
        const std::uint64_t total = ctl.total();
        if (total != kUnknown && r.delivered >= total) break;
        // The last datagram may be the one the kernel dropped: once the sender is done and
        // nothing arrives for a while, everything that will arrive has.
        if ((total != kUnknown || seen_last) && monotonic_ns() - last_progress > kIdleEndNs) break;
        if (total == kUnknown && !seen_last &&
            monotonic_ns() - last_progress > static_cast<std::uint64_t>(s.stall_ms) * 1000000) {
            errno = ETIMEDOUT;
            fail(r, "stalled: nothing received for " + std::to_string(s.stall_ms) + " ms");
            break;
        }
    }
    if (ctl.total() != kUnknown && ctl.total() > r.delivered) r.lost = ctl.total() - r.delivered;
    if (r.kernel_drops == kUnknown) r.kernel_drops = 0;  // no cmsg: nothing was ever dropped
    r.datagrams_received = received;
    r.lat = summarize(lat);
    r.lat_call = summarize(lat_call);
    r.rss_end_kb = status_kb("VmRSS:");
    r.rss_early_kb = rss.at(r.first_ns + (r.last_ns - r.first_ns) / 4);
    r.hwm_kb = status_kb("VmHWM:");
    close(fd);
    if (r.bad > 0) {
        errno = EBADMSG;
        fail(r, std::to_string(r.bad) + " datagrams with a wrong length or content");
    }
    fill_rusage(r);
    r.phase = Phase::kFinal;
    write_all(p.report_fd, &r, sizeof r);
    return r.ok != 0 ? 0 : 1;
}

int raw_sender_role(const RunSpec& s, RolePipes p) {
    Report r;
    Pattern pat(s.size);
    in_addr group{};
    in_addr iface{};
    const int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(static_cast<std::uint16_t>(s.port));
    if (!parse_ipv4(s.group, &group) || !parse_ipv4(s.interface, &iface)) {
        errno = EINVAL;
        fail(r, "raw mode needs IPv4 addresses for --group and --interface");
    } else if (fd < 0) {
        fail(r, "socket");
    } else if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &iface, sizeof iface) != 0) {
        fail(r, "IP_MULTICAST_IF " + s.interface);
    } else if (!set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 1) ||
               !set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1)) {
        fail(r, "IP_MULTICAST_TTL/LOOP");
    } else if (s.send_buffer > 0 &&
               !set_int(fd, SOL_SOCKET, SO_SNDBUF, static_cast<int>(s.send_buffer))) {
        fail(r, "SO_SNDBUF");
    } else {
        to.sin_addr = group;
        if (connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) fail(r, "connect");
    }
    if (r.ok == 0) {
        if (fd >= 0) close(fd);
        r.phase = Phase::kFinal;
        write_all(p.report_fd, &r, sizeof r);
        return 1;
    }
    tight_timer_slack();
    Control ctl(p.control_fd);
    while (!ctl.go() && !ctl.quit()) ctl.poll(100);
    r.rss_start_kb = status_kb("VmRSS:");

    const auto batch = static_cast<std::size_t>(std::max(1, s.batch));
    std::vector<std::uint8_t> bufs(s.size * batch);
    std::vector<iovec> iov(batch);
    std::vector<mmsghdr> msgs(batch);
    std::vector<std::uint8_t> gso_cmsg(batch * CMSG_SPACE(sizeof(std::uint16_t)));
    std::vector<std::size_t> gso_count(batch);
    std::vector<std::uint64_t> lag;
    const bool paced = s.rate > 0;
    const bool timed = s.kind == Kind::kRawLatency;
    const double period_ns = paced ? 1e9 / s.rate : 0;
    const std::uint64_t start = monotonic_ns();
    // Paced: datagram k is due at start + k / rate.
    auto intended_at = [&](std::uint64_t k) {
        return start + static_cast<std::uint64_t>(static_cast<double>(k) * period_ns);
    };
    const std::uint64_t stop_at = start + s.duration_ns;
    r.start_ns = start;
    std::uint64_t i = 0;
    bool last = false;
    while (!last && !ctl.quit()) {
        // Flat out: full batches. Paced: what is due by now (at least one datagram), so the
        // intended time of datagram i stays start + i / rate.
        std::size_t n_max = batch;
        if (paced) {
            const std::uint64_t intended = intended_at(i);
            wait_until(intended, s.spin_ns);
            const std::uint64_t now = monotonic_ns();
            lag.push_back(now - std::min(now, intended));
            const auto due =
                static_cast<std::uint64_t>(static_cast<double>(now - start) / period_ns) + 1;
            n_max = static_cast<std::size_t>(
                std::clamp<std::uint64_t>(due - std::min(due, i), 1, batch));
        }
        const bool time_up = s.count == 0 && monotonic_ns() >= stop_at;
        const std::uint64_t first = i;
        std::size_t n = 0;
        for (; n < n_max && !last; ++n, ++i) {
            last = s.count > 0 ? i + 1 == s.count : time_up;
            std::uint8_t* d = bufs.data() + n * s.size;
            pat.fill(d, s.size, i, last ? kFlagLast : 0);
            iov[n] = {d, s.size};
            msgs[n] = {};
            msgs[n].msg_hdr.msg_iov = &iov[n];
            msgs[n].msg_hdr.msg_iovlen = 1;
        }
        if (timed && paced) {  // the send times, as the Blip sender writes them
            const std::uint64_t now = monotonic_ns();
            for (std::size_t k = 0; k < n; ++k) {
                stamp(bufs.data() + k * s.size, intended_at(first + k), now);
            }
        }
        // GSO: runs of up to kGsoMaxSegments datagrams, each one message with UDP_SEGMENT
        // (the datagrams are back to back in bufs, so a run is one iovec).
        std::size_t m = n;
        if (s.gso) {
            const std::size_t per = std::max<std::size_t>(
                1, std::min(kGsoMaxSegments, kGsoMaxBytes / std::max<std::size_t>(s.size, 1)));
            m = 0;
            for (std::size_t first = 0; first < n; first += per, ++m) {
                const std::size_t count = std::min(per, n - first);
                iov[m] = {bufs.data() + first * s.size, count * s.size};
                msgs[m] = {};
                msgs[m].msg_hdr.msg_iov = &iov[m];
                msgs[m].msg_hdr.msg_iovlen = 1;
                auto* cm = gso_cmsg.data() + m * CMSG_SPACE(sizeof(std::uint16_t));
                msgs[m].msg_hdr.msg_control = cm;
                msgs[m].msg_hdr.msg_controllen = CMSG_SPACE(sizeof(std::uint16_t));
                cmsghdr* c = CMSG_FIRSTHDR(&msgs[m].msg_hdr);
                c->cmsg_level = SOL_UDP;
                c->cmsg_type = UDP_SEGMENT;
                c->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
                const auto seg = static_cast<std::uint16_t>(s.size);
                std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
                gso_count[m] = count;
            }
        }
        for (std::size_t done = 0; done < m;) {
            const int k = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(m - done), 0);
            if (k < 0) {
                if (errno == EINTR) continue;
                if (errno == ENOBUFS || errno == EAGAIN) {
                    ++r.eagain;  // the datagram is not sent: try it again
                    continue;
                }
                fail(r, "sendmmsg");
                last = true;
                break;
            }
            for (std::size_t j = done; j < done + static_cast<std::size_t>(k); ++j) {
                const std::size_t datagrams = s.gso ? gso_count[j] : 1;
                r.sent += datagrams;
                r.sent_bytes += datagrams * s.size;
            }
            done += static_cast<std::size_t>(k);
        }
        if ((i & 1023) < batch) ctl.poll(0);
    }
    r.end_send_ns = monotonic_ns();
    r.end_sent_ns = r.end_send_ns;
    r.datagrams_sent = r.sent;
    r.send_lag = summarize(lag);
    r.phase = Phase::kSent;
    write_all(p.report_fd, &r, sizeof r);
    while (!ctl.quit() && ctl.poll(100)) {
    }
    r.rss_end_kb = status_kb("VmRSS:");
    r.hwm_kb = status_kb("VmHWM:");
    close(fd);
    fill_rusage(r);
    r.phase = Phase::kFinal;
    write_all(p.report_fd, &r, sizeof r);
    return r.ok != 0 ? 0 : 1;
}

}  // namespace perf
