// Real-socket tests of io::UdpSocket with an IPv6 group over the veth pair of the CI namespace.
#include <arpa/inet.h>
#include <blip/blip.h>
#include <gtest/gtest.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "io/udp_socket.h"
#include "net/net_test_util.h"

using blip::io::UdpOptions;
using blip::io::UdpSocket;
using blip::nettest::bytes;
using blip::nettest::Loop;
using blip::nettest::Received;

namespace {

// Link-local scope: Linux does not carry IPv6 multicast on lo, so these tests use the veth pair
// that .ci/in-netns.sh (and netns-run) create: veth0 <-> veth1, each with a link-local address.
constexpr const char* kGroup6 = "ff02::1:b11b";

// Skips unless inside the private namespace with its veth pair; sets the two indexes.
#define REQUIRE_VETH_PAIR(veth0, veth1)                                                      \
    do {                                                                                     \
        (veth0) = if_nametoindex("veth0");                                                   \
        (veth1) = if_nametoindex("veth1");                                                   \
        if (std::getenv("BLIP_NETNS") == nullptr || (veth0) == 0 || (veth1) == 0) {          \
            GTEST_SKIP() << "needs the veth pair of the CI network namespace (veth0, veth1 " \
                            "and BLIP_NETNS=1; run via .ci/in-netns.sh)";                    \
        }                                                                                    \
    } while (0)

// A port per process and test; offsets 0..3 like udp_socket_test.cpp, but a disjoint range.
std::uint16_t test_port(int offset) {
    return static_cast<std::uint16_t>(30000 + (getpid() % 2500) * 4 + offset);
}

UdpOptions options6(std::uint16_t port, unsigned interface_index) {
    UdpOptions o;
    auto* g = reinterpret_cast<sockaddr_in6*>(&o.group);
    EXPECT_EQ(uv_ip6_addr(kGroup6, port, g), 0);
    o.interface_index = interface_index;
    return o;
}

TEST(UdpSocketIpv6, DatagramFromVeth0ReachesTheSocketOnVeth1) {
    unsigned veth0 = 0;
    unsigned veth1 = 0;
    REQUIRE_VETH_PAIR(veth0, veth1);
    Loop loop;
    UdpSocket a;
    UdpSocket b;
    Received ra;
    Received rb;
    std::string err;
    UdpOptions oa = options6(test_port(0), veth0);
    oa.loopback = false;  // only the path over the wire is under test here
    ASSERT_EQ(a.open(loop.get(), oa, ra.callback(), nullptr, &err), 0) << err;
    ASSERT_EQ(b.open(loop.get(), options6(test_port(0), veth1), rb.callback(), nullptr, &err), 0)
        << err;

    const auto msg = bytes("hello v6 group " + std::to_string(getpid()));
    ASSERT_EQ(a.send(msg), 0);
    ASSERT_TRUE(loop.run_until([&] { return !rb.datagrams.empty(); }));
    loop.settle(std::chrono::milliseconds(100));  // a duplicate would arrive by now
    ASSERT_EQ(rb.datagrams.size(), 1U);
    EXPECT_EQ(rb.datagrams[0], msg);
    EXPECT_TRUE(ra.datagrams.empty());  // loopback off: a does not hear itself

    // And back: b sends through veth1, a hears it on veth0.
    const auto reply = bytes("reply " + std::to_string(getpid()));
    ASSERT_EQ(b.send(reply), 0);
    ASSERT_TRUE(loop.run_until([&] { return !ra.datagrams.empty(); }));
    loop.settle(std::chrono::milliseconds(100));
    ASSERT_EQ(ra.datagrams.size(), 1U);
    EXPECT_EQ(ra.datagrams[0], reply);
    EXPECT_EQ(a.stats().datagrams_sent, 1U);
    EXPECT_EQ(b.stats().datagrams_sent, 1U);
    a.close(nullptr);
    b.close(nullptr);
}

TEST(UdpSocketIpv6, LoopbackAndDropOwnDecideWhetherTheSenderHearsItself) {
    unsigned veth0 = 0;
    unsigned veth1 = 0;
    REQUIRE_VETH_PAIR(veth0, veth1);
    for (const bool loopback : {true, false}) {
        SCOPED_TRACE(loopback ? "loopback on, drop_own off" : "loopback off");
        Loop loop;
        UdpSocket a;
        UdpSocket b;  // on veth1: proves the datagram left, so a's silence is not a lost send
        Received ra;
        Received rb;
        std::string err;
        UdpOptions o = options6(test_port(1), veth0);
        o.loopback = loopback;
        o.drop_own = false;
        ASSERT_EQ(a.open(loop.get(), o, ra.callback(), nullptr, &err), 0) << err;
        ASSERT_EQ(b.open(loop.get(), options6(test_port(1), veth1), rb.callback(), nullptr, &err),
                  0)
            << err;
        const auto msg = bytes("self " + std::to_string(getpid()));
        ASSERT_EQ(a.send(msg), 0);
        ASSERT_TRUE(loop.run_until([&] { return !rb.datagrams.empty(); }));
        loop.settle(std::chrono::milliseconds(100));
        if (loopback) {
            ASSERT_EQ(ra.datagrams.size(), 1U);
            EXPECT_EQ(ra.datagrams[0], msg);
        } else {
            EXPECT_TRUE(ra.datagrams.empty());
        }
        EXPECT_EQ(rb.datagrams.size(), 1U);
        a.close(nullptr);
        b.close(nullptr);
    }
}

TEST(UdpSocketIpv6, DropOwnFiltersOnlyTheSendersOwnDatagrams) {
    unsigned veth0 = 0;
    unsigned veth1 = 0;
    REQUIRE_VETH_PAIR(veth0, veth1);
    Loop loop;
    UdpSocket a;  // a and c share veth0 (loopback on); b is on veth1
    UdpSocket b;
    UdpSocket c;
    Received ra;
    Received rb;
    Received rc;
    std::string err;
    const UdpOptions o = options6(test_port(2), veth0);
    ASSERT_EQ(a.open(loop.get(), o, ra.callback(), nullptr, &err), 0) << err;
    ASSERT_EQ(c.open(loop.get(), o, rc.callback(), nullptr, &err), 0) << err;
    ASSERT_EQ(b.open(loop.get(), options6(test_port(2), veth1), rb.callback(), nullptr, &err), 0)
        << err;
    EXPECT_TRUE(a.drops_own());
    const auto msg = bytes("own v6 " + std::to_string(getpid()));
    ASSERT_EQ(a.send(msg), 0);
    ASSERT_TRUE(loop.run_until([&] { return !rb.datagrams.empty() && !rc.datagrams.empty(); }));
    loop.settle(std::chrono::milliseconds(100));
    EXPECT_TRUE(ra.datagrams.empty());
    ASSERT_EQ(rb.datagrams.size(), 1U);
    ASSERT_EQ(rc.datagrams.size(), 1U);
    EXPECT_EQ(rc.datagrams[0], msg);
    a.close(nullptr);
    b.close(nullptr);
    c.close(nullptr);
}

TEST(UdpSocketIpv6, SecondBindWithoutReuseOnTheSameInterfaceFailsWithAddrInUse) {
    unsigned veth0 = 0;
    unsigned veth1 = 0;
    REQUIRE_VETH_PAIR(veth0, veth1);
    Loop loop;
    UdpOptions o = options6(test_port(3), veth0);
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
    EXPECT_EQ(err, "bind [" + std::string(kGroup6) + "%veth0]:" + std::to_string(test_port(3)) +
                       ": address already in use");
    EXPECT_FALSE(b.is_open());
    a.close(nullptr);
}

TEST(UdpSocketIpv6, BadOptionsAreRejectedBeforeAnySocketExists) {
    // Sends nothing and opens no socket, so it needs no namespace.
    Loop loop;
    UdpSocket s;
    std::string err;
    auto cb = [](auto) {};

    UdpOptions o = options6(test_port(0), 0);  // no interface index
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);
    EXPECT_EQ(err, "udp socket: no interface index given for IPv6 group " + std::string(kGroup6) +
                       " (0 would let the kernel guess the interface)");

    o = options6(test_port(0), 1);
    ASSERT_EQ(inet_pton(AF_INET6, "fe80::1", &reinterpret_cast<sockaddr_in6*>(&o.group)->sin6_addr),
              1);
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);
    EXPECT_EQ(err, "udp socket: fe80::1 is not a multicast address");

    o = options6(0, 1);
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);
    EXPECT_EQ(err, "udp socket: the group port is 0");

    o = options6(test_port(0), 1);
    reinterpret_cast<sockaddr_in6*>(&o.group)->sin6_scope_id = 2;  // disagrees with index 1
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);
    EXPECT_NE(err.find("has scope id 2 but the interface is"), std::string::npos) << err;

    o = options6(test_port(0), 1);
    o.ttl = -1;
    EXPECT_EQ(s.open(loop.get(), o, cb, nullptr, &err), BLIP_EINVAL);
    EXPECT_FALSE(s.is_open());
}

TEST(UdpSocketIpv6, AnIndexNoInterfaceHasFailsNamingGroupAndInterface) {
    unsigned veth0 = 0;
    unsigned veth1 = 0;
    REQUIRE_VETH_PAIR(veth0, veth1);
    Loop loop;
    constexpr unsigned kNoSuchIndex = 999999;
    ASSERT_EQ(if_indextoname(kNoSuchIndex, std::vector<char>(IF_NAMESIZE).data()), nullptr);
    UdpSocket s;
    std::string err;
    const int rc = s.open(
        loop.get(), options6(test_port(0), kNoSuchIndex), [](auto) {}, nullptr, &err);
    EXPECT_EQ(rc, BLIP_ENODEV) << err;
    EXPECT_EQ(err.rfind("bind [" + std::string(kGroup6) + "%999999]:", 0), 0U) << err;
    EXPECT_FALSE(s.is_open());
}

}  // namespace
