// Real-socket tests of io::UdpSocket over lo; they skip unless BLIP_NETNS is set (private netns).
#include "io/udp_socket.h"

#include <arpa/inet.h>
#include <blip/blip.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "net/net_test_util.h"

using blip::io::UdpInfo;
using blip::io::UdpOptions;
using blip::io::UdpSocket;
using blip::nettest::bytes;
using blip::nettest::Loop;
using blip::nettest::Received;
using blip::nettest::SocketPair;

namespace {

constexpr const char* kGroup = "239.255.0.1";

// A port per process and test, so tests that ctest runs in parallel in one namespace do not
// hear each other.
std::uint16_t test_port(int offset) {
    return static_cast<std::uint16_t>(40000 + (getpid() % 5000) * 4 + offset);
}

UdpOptions options(std::uint16_t port) {
    UdpOptions o;
    auto* g = reinterpret_cast<sockaddr_in*>(&o.group);
    EXPECT_EQ(uv_ip4_addr(kGroup, port, g), 0);
    EXPECT_EQ(inet_pton(AF_INET, "127.0.0.1", &o.interface), 1);
    return o;
}

TEST(UdpSocket, DatagramReachesBothSocketsOnTheGroup) {
    REQUIRE_NETNS();
    Loop loop;
    const UdpOptions o = options(test_port(0));
    UdpSocket a;
    UdpSocket b;
    Received ra;
    Received rb;
    std::string err;
    ASSERT_EQ(a.open(loop.get(), o, ra.callback(), nullptr, &err), 0) << err;
    ASSERT_EQ(b.open(loop.get(), o, rb.callback(), nullptr, &err), 0) << err;

    const auto msg = bytes("hello group " + std::to_string(getpid()));
    ASSERT_EQ(a.send(msg), 0);
    ASSERT_TRUE(loop.run_until([&] { return !rb.datagrams.empty(); }));
    loop.settle(std::chrono::milliseconds(50));  // a duplicate would arrive by now
    ASSERT_EQ(rb.datagrams.size(), 1U);
    EXPECT_EQ(rb.datagrams[0], msg);
    // Loopback is on, but the kernel drops a's own datagram before a's receive socket.
    EXPECT_TRUE(a.drops_own());
    EXPECT_TRUE(ra.datagrams.empty());
    EXPECT_EQ(a.stats().datagrams_sent, 1U);
    EXPECT_EQ(a.stats().datagrams_received, 0U);
    EXPECT_EQ(b.stats().datagrams_received, 1U);

    // And back: b's datagram reaches a (the filter drops only a's own).
    const auto reply = bytes("reply " + std::to_string(getpid()));
    ASSERT_EQ(b.send(reply), 0);
    ASSERT_TRUE(loop.run_until([&] { return !ra.datagrams.empty(); }));
    loop.settle(std::chrono::milliseconds(50));
    ASSERT_EQ(ra.datagrams.size(), 1U);
    EXPECT_EQ(ra.datagrams[0], reply);
    EXPECT_EQ(rb.datagrams.size(), 1U);
    a.close(nullptr);
    b.close(nullptr);
}

TEST(UdpSocket, WithoutDropOwnTheSenderHearsItself) {
    REQUIRE_NETNS();
    Loop loop;
    UdpOptions o = options(test_port(3));
    o.drop_own = false;
    UdpSocket a;
    Received ra;
    std::string err;
    ASSERT_EQ(a.open(loop.get(), o, ra.callback(), nullptr, &err), 0) << err;
    EXPECT_FALSE(a.drops_own());
    const auto msg = bytes("self " + std::to_string(getpid()));
    ASSERT_EQ(a.send(msg), 0);
    ASSERT_TRUE(loop.run_until([&] { return !ra.datagrams.empty(); }));
    loop.settle(std::chrono::milliseconds(50));
    ASSERT_EQ(ra.datagrams.size(), 1U);
    EXPECT_EQ(ra.datagrams[0], msg);
    a.close(nullptr);
}

TEST(UdpSocket, TwoEndpointsInOneProcessHearEachOtherButNotThemselves) {
    REQUIRE_NETNS();
    Loop loop;
    const UdpOptions o = options(test_port(2));
    UdpSocket a;
    UdpSocket b;
    Received ra;
    Received rb;
    std::string err;
    ASSERT_EQ(a.open(loop.get(), o, ra.callback(), nullptr, &err), 0) << err;
    ASSERT_EQ(b.open(loop.get(), o, rb.callback(), nullptr, &err), 0) << err;
    const std::vector<std::size_t> ends{3, 6, 9};
    const auto data = bytes("abcdefghi");
    EXPECT_EQ(a.send_batch(data, ends).failed, 0U);
    EXPECT_EQ(b.send_batch(data, ends).failed, 0U);
    ASSERT_TRUE(loop.run_until([&] { return ra.datagrams.size() + rb.datagrams.size() >= 6; }));
    loop.settle(std::chrono::milliseconds(50));
    ASSERT_EQ(ra.datagrams.size(), 3U);
    ASSERT_EQ(rb.datagrams.size(), 3U);
    EXPECT_EQ(ra.datagrams[2], bytes("ghi"));
    EXPECT_EQ(rb.datagrams[0], bytes("abc"));
    a.close(nullptr);
    b.close(nullptr);
}

TEST(UdpSocket, SecondBindWithoutReuseFailsWithAddrInUse) {
    REQUIRE_NETNS();
    Loop loop;
    UdpOptions o = options(test_port(1));
    o.reuse_port = false;
    UdpSocket a;
    UdpSocket b;
    std::string err;
    ASSERT_EQ(a.open(
                  loop.get(), o, [](auto) {}, nullptr, &err),
              0)
        << err;
    EXPECT_EQ(b.open(
                  loop.get(), o, [](auto) {}, nullptr, &err),
              BLIP_EADDRINUSE);
    EXPECT_EQ(err, "bind " + std::string(kGroup) + ":" + std::to_string(test_port(1)) +
                       ": address already in use");
    EXPECT_FALSE(b.is_open());
    a.close(nullptr);
    // The failed open's handle is closed by open() itself; Loop's destructor checks that.
}

TEST(UdpSocket, TruncatedDatagramIsDroppedAndCounted) {
    REQUIRE_NETNS();
    Loop loop;
    UdpOptions o = options(test_port(2));
    o.drop_own = false;  // tx hears itself with its full-size buffer
    UdpOptions small = o;
    small.datagram_buffer = 64;
    SocketPair p;
    ASSERT_TRUE(p.open(loop.get(), o, small));

    const std::vector<std::uint8_t> big(100, 0xAB);
    const std::vector<std::uint8_t> exact(64, 0xCD);
    ASSERT_EQ(p.tx.send(big), 0);
    ASSERT_EQ(p.tx.send(exact), 0);
    ASSERT_TRUE(loop.run_until([&] { return p.rtx.datagrams.size() == 2; }));
    ASSERT_TRUE(loop.run_until([&] { return !p.rrx.datagrams.empty(); }));
    loop.settle(std::chrono::milliseconds(50));
    ASSERT_EQ(p.rrx.datagrams.size(), 1U);  // only the one that fit
    EXPECT_EQ(p.rrx.datagrams[0], exact);
    EXPECT_EQ(p.rx.stats().truncated_dropped, 1U);
    EXPECT_EQ(p.tx.stats().truncated_dropped, 0U);
    p.close();
}

TEST(UdpSocket, BufferSizesAreReadBack) {
    REQUIRE_NETNS();
    Loop loop;
    UdpOptions o = options(test_port(3));
    UdpSocket s;
    UdpInfo info;
    std::string err;
    ASSERT_EQ(s.open(
                  loop.get(), o, [](auto) {}, &info, &err),
              0)
        << err;
    EXPECT_GT(info.recv_buffer, 0);
    EXPECT_GT(info.send_buffer, 0);
    EXPECT_TRUE(info.warnings.empty());
    s.close(nullptr);

    // A small request is granted in full; Linux reads it back doubled.
    o.recv_buffer = 65536;
    o.send_buffer = 65536;
    ASSERT_EQ(s.open(
                  loop.get(), o, [](auto) {}, &info, &err),
              0)
        << err;
    EXPECT_EQ(info.recv_buffer, 2 * 65536);
    EXPECT_EQ(info.send_buffer, 2 * 65536);
    EXPECT_TRUE(info.warnings.empty()) << info.warnings.front();
    s.close(nullptr);
}

long read_sysctl(const char* path) {
    std::ifstream in(path);
    long v = -1;
    in >> v;
    return v;
}

TEST(UdpSocket, ClampedBufferRequestWarnsNamingTheSysctl) {
    REQUIRE_NETNS();
    constexpr int kGiB = 1 << 30;
    if (read_sysctl("/proc/sys/net/core/rmem_max") >= kGiB) {
        GTEST_SKIP() << "net.core.rmem_max allows 1 GiB here; nothing to clamp";
    }
    Loop loop;
    UdpOptions o = options(test_port(0));
    o.recv_buffer = kGiB;
    UdpSocket s;
    UdpInfo info;
    std::string err;
    ASSERT_EQ(s.open(
                  loop.get(), o, [](auto) {}, &info, &err),
              0)
        << err;
    ASSERT_EQ(info.warnings.size(), 1U);
    const std::string& w = info.warnings[0];
    EXPECT_NE(w.find("net.core.rmem_max"), std::string::npos) << w;
    EXPECT_NE(w.find(std::to_string(info.recv_buffer)), std::string::npos) << w;
    EXPECT_LT(info.recv_buffer, kGiB);
    s.close(nullptr);
}

TEST(UdpSocket, CloseRunsItsCallbackAndLeavesNoHandle) {
    REQUIRE_NETNS();
    Loop loop;
    UdpSocket s;
    std::string err;
    ASSERT_EQ(s.open(
                  loop.get(), options(test_port(1)), [](auto) {}, nullptr, &err),
              0)
        << err;
    EXPECT_TRUE(s.is_open());
    int closed = 0;
    s.close([&] { ++closed; });
    EXPECT_FALSE(s.is_open());
    EXPECT_EQ(closed, 0);  // asynchronous, like uv_close
    EXPECT_EQ(s.send(bytes("late")), BLIP_ECLOSED);
    uv_run(loop.get(), UV_RUN_DEFAULT);
    EXPECT_EQ(closed, 1);
    loop.close_and_check();
}

TEST(UdpSocket, CloseFromInsideTheReceiveCallback) {
    REQUIRE_NETNS();
    Loop loop;
    UdpSocket s;
    std::string err;
    int heard = 0;
    bool closed = false;
    UdpOptions o = options(test_port(2));
    o.drop_own = false;  // s hears its own two datagrams
    ASSERT_EQ(s.open(
                  loop.get(), o,
                  [&](auto) {
                      ++heard;
                      s.close([&] { closed = true; });
                  },
                  nullptr, &err),
              0)
        << err;
    ASSERT_EQ(s.send(bytes("one")), 0);
    ASSERT_EQ(s.send(bytes("two")), 0);
    ASSERT_TRUE(loop.run_until([&] { return closed; }));
    EXPECT_EQ(heard, 1);  // nothing is delivered after close()
}

TEST(UdpSocket, BadOptionsAreRejectedBeforeAnySocketExists) {
    REQUIRE_NETNS();
    Loop loop;
    UdpSocket s;
    std::string err;
    auto cb = [](auto) {};

    UdpOptions o = options(test_port(3));
    inet_pton(AF_INET, "10.1.2.3", &reinterpret_cast<sockaddr_in*>(&o.group)->sin_addr);
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);
    EXPECT_NE(err.find("not a multicast address"), std::string::npos) << err;

    o = options(test_port(3));
    o.interface.s_addr = htonl(INADDR_ANY);
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);

    o = options(test_port(3));
    o.ttl = 256;
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);

    o = options(0);
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);

    o = UdpOptions{};
    auto* g6 = reinterpret_cast<sockaddr_in6*>(&o.group);
    ASSERT_EQ(uv_ip6_addr("ff02::1", test_port(3), g6), 0);
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);  // no interface_index
    EXPECT_NE(err.find("no interface index given for IPv6 group ff02::1"), std::string::npos)
        << err;

    EXPECT_EQ(s.open(loop.get(), options(test_port(3)), nullptr, nullptr, &err), BLIP_EINVAL);
    EXPECT_FALSE(s.is_open());
}

TEST(UdpSocket, JoinOnAnAddressNoInterfaceOwnsFails) {
    REQUIRE_NETNS();
    Loop loop;
    UdpOptions o = options(test_port(0));
    inet_pton(AF_INET, "192.0.2.1", &o.interface);  // TEST-NET-1: on no interface
    UdpSocket s;
    std::string err;
    const int rc = s.open(
        loop.get(), o, [](auto) {}, nullptr, &err);
    EXPECT_EQ(rc, BLIP_ENODEV) << err;  // Linux: IP_ADD_MEMBERSHIP finds no such device
    EXPECT_EQ(err.rfind("join group 239.255.0.1 on interface 192.0.2.1: ", 0), 0U) << err;
    EXPECT_FALSE(s.is_open());
}

}  // namespace
