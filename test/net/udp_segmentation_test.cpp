// Real-socket tests of io::UdpSocket's segmentation offload (UDP GSO on send, UDP_GRO on
// receive): runs of datagrams leave in one call and still arrive as the same datagrams, in order,
// to sockets that take runs whole and to sockets that do not. Skip unless BLIP_NETNS is set.
#include <arpa/inet.h>
#include <blip/blip.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "io/udp_socket.h"
#include "net/net_test_util.h"

using blip::io::UdpOptions;
using blip::io::UdpSocket;
using blip::nettest::Loop;
using blip::nettest::Received;
using blip::nettest::SocketPair;

namespace {

// A port per process and test, in a range of its own (udp_socket_test.cpp uses 40000 and up,
// udp_socket_ipv6_test.cpp 30000 and up).
std::uint16_t test_port(int offset) {
    return static_cast<std::uint16_t>(20000 + (getpid() % 2500) * 4 + offset);
}

UdpOptions options4(std::uint16_t port) {
    UdpOptions o;
    auto* g = reinterpret_cast<sockaddr_in*>(&o.group);
    EXPECT_EQ(uv_ip4_addr("239.255.0.9", port, g), 0);
    EXPECT_EQ(inet_pton(AF_INET, "127.0.0.1", &o.interface), 1);
    // Room for a whole batch cut into datagrams (the kernel charges ~2 KiB for each).
    o.recv_buffer = 1 << 20;
    return o;
}

// Datagrams back to back in one buffer, as the channel driver hands them to send_batch(): each
// one's bytes say which datagram it is, so a split in the wrong place cannot pass.
struct Batch {
    std::vector<std::uint8_t> data;
    std::vector<std::size_t> ends;
    std::vector<std::vector<std::uint8_t>> datagrams;

    void add(std::size_t size) {
        std::vector<std::uint8_t> d(size);
        const std::size_t index = datagrams.size();
        for (std::size_t i = 0; i < size; ++i) {
            d[i] = static_cast<std::uint8_t>(index * 31 + i * 7 + (i >> 8));
        }
        data.insert(data.end(), d.begin(), d.end());
        ends.push_back(data.size());
        datagrams.push_back(std::move(d));
    }
};

// Runs of equal sizes, a shorter datagram closing a run, a longer one opening the next, runs
// longer than one offload message may carry (64 datagrams), and lone datagrams between them.
Batch mixed_batch() {
    Batch b;
    for (int i = 0; i < 150; ++i) b.add(1000);
    b.add(300);
    b.add(1200);
    for (int i = 0; i < 40; ++i) b.add(500);
    b.add(64);
    b.add(64);
    b.add(1400);
    return b;
}

TEST(UdpSegmentation, RunsLeaveInFewCallsAndArriveAsTheSameDatagramsInOrder) {
    REQUIRE_NETNS();
    Loop loop;
    UdpOptions o = options4(test_port(0));
    UdpSocket tx;
    UdpSocket whole;  // takes runs whole (UDP_GRO), splits them itself
    UdpSocket cut;    // no offload: the kernel cuts runs before they reach it
    Received rtx;
    Received rwhole;
    Received rcut;
    std::string err;
    ASSERT_EQ(tx.open(loop.get(), o, rtx.callback(), nullptr, &err), 0) << err;
    ASSERT_EQ(whole.open(loop.get(), o, rwhole.callback(), nullptr, &err), 0) << err;
    UdpOptions plain = o;
    plain.segmentation_offload = false;
    ASSERT_EQ(cut.open(loop.get(), plain, rcut.callback(), nullptr, &err), 0) << err;
    ASSERT_TRUE(tx.segmenting());
    ASSERT_TRUE(whole.receives_runs());
    ASSERT_FALSE(cut.segmenting());
    ASSERT_FALSE(cut.receives_runs());

    const Batch b = mixed_batch();
    const UdpSocket::BatchResult r = tx.send_batch(b.data, b.ends);
    EXPECT_EQ(r.dropped + r.failed, 0U) << "first error " << r.first_error;
    const std::size_t n = b.datagrams.size();
    const bool all =
        loop.run_until([&] { return rwhole.datagrams.size() >= n && rcut.datagrams.size() >= n; });
    ASSERT_TRUE(all) << "of " << n << ": " << rwhole.datagrams.size() << " whole, "
                     << rcut.datagrams.size() << " cut";
    loop.settle(std::chrono::milliseconds(50));  // a duplicate would arrive by now
    EXPECT_EQ(rwhole.datagrams, b.datagrams);
    EXPECT_EQ(rcut.datagrams, b.datagrams);
    EXPECT_TRUE(rtx.datagrams.empty()) << "the sender's own datagrams are filtered";

    const auto s = tx.stats();
    EXPECT_EQ(s.datagrams_sent, n);
    // 150 x 1000 + 300: three runs (64, 64, 22 + the shorter 300); 1200 + 500 (a shorter
    // datagram ends a run); 39 x 500 + 64; then 64 and 1400 alone (a longer one cannot join).
    // Seven packets, five of them runs.
    EXPECT_EQ(s.packets_sent, 7U);
    EXPECT_EQ(s.gso_sends, 5U);
    EXPECT_GT(whole.stats().gro_reads, 0U);
    EXPECT_EQ(whole.stats().datagrams_received, n);
    EXPECT_EQ(cut.stats().gro_reads, 0U);
    EXPECT_EQ(cut.stats().datagrams_received, n);
    // The sender's filter dropped each of its looped-back packets once: a run whole.
    const auto own = tx.kernel_drops();
    ASSERT_TRUE(own.has_value());
    EXPECT_EQ(*own, s.packets_sent);
    tx.close(nullptr);
    whole.close(nullptr);
    cut.close(nullptr);
}

TEST(UdpSegmentation, OffSendsEveryDatagramInACallOfItsOwn) {
    REQUIRE_NETNS();
    Loop loop;
    UdpOptions o = options4(test_port(1));
    o.segmentation_offload = false;
    SocketPair p;
    ASSERT_TRUE(p.open(loop.get(), o, options4(test_port(1))));
    const Batch b = mixed_batch();
    const UdpSocket::BatchResult r = p.tx.send_batch(b.data, b.ends);
    EXPECT_EQ(r.dropped + r.failed, 0U);
    ASSERT_TRUE(loop.run_until([&] { return p.rrx.datagrams.size() >= b.datagrams.size(); }));
    loop.settle(std::chrono::milliseconds(50));
    EXPECT_EQ(p.rrx.datagrams, b.datagrams);
    EXPECT_EQ(p.tx.stats().packets_sent, b.datagrams.size());
    EXPECT_EQ(p.tx.stats().gso_sends, 0U);
    EXPECT_EQ(p.rx.stats().gro_reads, 0U) << "nothing was sent as a run";
    p.close();
}

// A datagram larger than the path MTU cannot be a segment (the kernel refuses the run with
// EINVAL); the socket then sends one by one, the kernel fragments each, and nothing is lost.
TEST(UdpSegmentation, RefusedOffloadFallsBackWithoutLosingADatagram) {
    const unsigned veth0 = if_nametoindex("veth0");
    const unsigned veth1 = if_nametoindex("veth1");
    if (std::getenv("BLIP_NETNS") == nullptr || veth0 == 0 || veth1 == 0) {
        GTEST_SKIP() << "needs the veth pair of the CI network namespace (run via .ci/in-netns.sh)";
    }
    Loop loop;
    auto options6 = [](std::uint16_t port, unsigned index) {
        UdpOptions o;
        auto* g = reinterpret_cast<sockaddr_in6*>(&o.group);
        EXPECT_EQ(uv_ip6_addr("ff02::1:b11c", port, g), 0);
        o.interface_index = index;
        o.loopback = false;
        return o;
    };
    SocketPair p;
    ASSERT_TRUE(p.open(loop.get(), options6(test_port(2), veth0), options6(test_port(2), veth1)));
    UdpSocket& tx = p.tx;
    Received& rrx = p.rrx;
    ASSERT_TRUE(tx.segmenting());

    Batch fits;  // below veth's MTU of 1500: a run on the wire, cut by the sending side
    for (int i = 0; i < 20; ++i) fits.add(1200);
    ASSERT_EQ(tx.send_batch(fits.data, fits.ends).failed, 0U);
    ASSERT_TRUE(loop.run_until([&] { return rrx.datagrams.size() >= fits.datagrams.size(); }));
    EXPECT_EQ(rrx.datagrams, fits.datagrams);
    EXPECT_TRUE(tx.segmenting());
    EXPECT_EQ(tx.stats().gso_sends, 1U);

    rrx.datagrams.clear();
    Batch big;  // above it: no run may carry them
    for (int i = 0; i < 20; ++i) big.add(4000);
    const UdpSocket::BatchResult r = tx.send_batch(big.data, big.ends);
    EXPECT_EQ(r.failed + r.dropped, 0U) << "first error " << r.first_error;
    ASSERT_TRUE(loop.run_until([&] { return rrx.datagrams.size() >= big.datagrams.size(); }));
    loop.settle(std::chrono::milliseconds(50));
    EXPECT_EQ(rrx.datagrams, big.datagrams);
    EXPECT_FALSE(tx.segmenting()) << "refused once: one by one from then on";
    EXPECT_EQ(tx.stats().gso_sends, 1U);
    EXPECT_EQ(tx.stats().datagrams_sent, fits.datagrams.size() + big.datagrams.size());
    p.close();
}

// Runs read whole can bring thousands of datagrams in one readiness event; the socket hands on
// only about 640 per turn of the loop, so timers (a NAK falling due) run in between.
TEST(UdpSegmentation, AFloodIsHandedOnInTurnsOfBoundedSize) {
    REQUIRE_NETNS();
    Loop loop;
    UdpOptions o = options4(test_port(3));
    o.recv_buffer = 4 << 20;
    SocketPair p;
    ASSERT_TRUE(p.open(loop.get(), o, o));
    const Received& rrx = p.rrx;
    ASSERT_TRUE(p.rx.receives_runs());

    Batch b;
    for (int i = 0; i < 4000; ++i) b.add(200);
    const UdpSocket::BatchResult r = p.tx.send_batch(b.data, b.ends);
    ASSERT_EQ(r.dropped + r.failed, 0U);

    // Counts the datagrams handed on between two turns of the loop (uv_prepare runs before
    // each poll for I/O).
    struct Turns {
        uv_prepare_t prepare{};
        const Received* rx = nullptr;
        std::size_t seen = 0;
        std::size_t most = 0;
        int turns = 0;
    } turns;
    turns.rx = &rrx;
    turns.prepare.data = &turns;
    ASSERT_EQ(uv_prepare_init(loop.get(), &turns.prepare), 0);
    ASSERT_EQ(uv_prepare_start(&turns.prepare,
                               [](uv_prepare_t* h) {
                                   auto* t = static_cast<Turns*>(h->data);
                                   const std::size_t now = t->rx->datagrams.size();
                                   t->most = std::max(t->most, now - t->seen);
                                   t->seen = now;
                                   ++t->turns;
                               }),
              0);
    ASSERT_TRUE(loop.run_until([&] { return rrx.datagrams.size() >= b.datagrams.size(); }));
    EXPECT_EQ(rrx.datagrams, b.datagrams);
    EXPECT_GT(p.rx.stats().gro_reads, 0U);
    // 640 per turn, overshot by at most one slot's run (64 datagrams) less one.
    EXPECT_LE(turns.most, 640U + 63U);
    EXPECT_GE(turns.turns, 4000 / (640 + 63));
    uv_close(reinterpret_cast<uv_handle_t*>(&turns.prepare), nullptr);
    p.close();
}

}  // namespace
