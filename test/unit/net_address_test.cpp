// Unit tests of group parsing and interface resolution (src/io/net_address.h). Almost all run
// on fabricated interface lists; one reads the real list to find "lo". No traffic is sent.
#include "io/net_address.h"

#include <arpa/inet.h>
#include <blip/blip.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

using blip::io::Interface;
using blip::io::list_interfaces;
using blip::io::parse_group;
using blip::io::resolve_interface;
using ::testing::HasSubstr;

namespace {

/// A host with every case the resolver must tell apart. fe80::1 sits on two links (as
/// link-local addresses may); 10.9.9.9 is on two interfaces by misconfiguration.
std::vector<Interface> fake_host() {
    return {
        {"lo", 1, {"127.0.0.1"}, {"::1"}, true, true, true},
        {"veth0", 2, {}, {"fe80::1"}, true, false, true},
        {"eth0",
         3,
         {"192.0.2.2", "192.0.2.3", "10.9.9.9"},
         {"fd00::2", "fe80::1"},
         true,
         false,
         true},
        {"down0", 4, {"10.0.0.1"}, {}, false, false, true},
        {"nomc0", 5, {"10.0.0.2"}, {}, true, false, false},
        {"eth1", 6, {"10.9.9.9"}, {}, true, false, true},
    };
}

const char* const kFakeHostList =
    "lo (1, 127.0.0.1, ::1), veth0 (2, fe80::1), eth0 (3, 192.0.2.2, 192.0.2.3, 10.9.9.9, "
    "fd00::2, fe80::1), down0 (4, 10.0.0.1, down), nomc0 (5, 10.0.0.2, no MULTICAST flag), "
    "eth1 (6, 10.9.9.9)";

sockaddr_in as_v4(const sockaddr_storage& ss) {
    sockaddr_in sin{};
    std::memcpy(&sin, &ss, sizeof sin);
    return sin;
}

sockaddr_in6 as_v6(const sockaddr_storage& ss) {
    sockaddr_in6 sin6{};
    std::memcpy(&sin6, &ss, sizeof sin6);
    return sin6;
}

std::string v4_text(in_addr a) {
    char buf[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, &a, buf, sizeof buf);
    return buf;
}

}  // namespace

// ---- parse_group ------------------------------------------------------------------------------

TEST(NetAddressParseGroup, Ipv4MulticastRangeEdges) {
    const auto host = fake_host();
    for (const char* good : {"224.0.0.0", "224.0.0.1", "239.1.2.3", "239.255.255.255"}) {
        const auto r = parse_group(good, 5000, host);
        EXPECT_TRUE(r.ok()) << good << ": " << r.message;
    }
    for (const char* bad :
         {"223.255.255.255", "240.0.0.0", "255.255.255.255", "0.0.0.0", "127.0.0.1"}) {
        const auto r = parse_group(bad, 5000, host);
        EXPECT_EQ(r.code, BLIP_EINVAL) << bad;
        EXPECT_FALSE(r.value.has_value()) << bad;
        EXPECT_EQ(r.message,
                  std::string(bad) + " is not a multicast address (IPv4 multicast is 224.0.0.0/4)");
    }
}

TEST(NetAddressParseGroup, Ipv4FillsSockaddrAndText) {
    const auto r = parse_group("239.1.2.3", 5000, fake_host());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(r.message.empty());
    EXPECT_EQ(r.value->family, AF_INET);
    EXPECT_EQ(r.value->scope_id, 0u);
    EXPECT_EQ(r.value->text, "239.1.2.3:5000");
    const sockaddr_in sin = as_v4(r.value->addr);
    EXPECT_EQ(sin.sin_family, AF_INET);
    EXPECT_EQ(ntohs(sin.sin_port), 5000);
    EXPECT_EQ(ntohl(sin.sin_addr.s_addr), 0xEF010203u);
}

TEST(NetAddressParseGroup, Ipv6MulticastIsFf00Slash8) {
    const auto host = fake_host();
    for (const char* good : {"ff02::1", "ff00::", "ff0e::1:2", "FF05::ABCD",
                             "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}) {
        const auto r = parse_group(good, 7000, host);
        ASSERT_TRUE(r.ok()) << good << ": " << r.message;
        EXPECT_EQ(r.value->family, AF_INET6);
        EXPECT_EQ(r.value->scope_id, 0u);
        const sockaddr_in6 sin6 = as_v6(r.value->addr);
        EXPECT_EQ(sin6.sin6_family, AF_INET6);
        EXPECT_EQ(ntohs(sin6.sin6_port), 7000);
        EXPECT_EQ(sin6.sin6_addr.s6_addr[0], 0xFF);
        EXPECT_EQ(sin6.sin6_scope_id, 0u);
    }
    for (const char* bad : {"feff:ffff::1", "fe80::1", "::1", "::", "2001:db8::1"}) {
        const auto r = parse_group(bad, 7000, host);
        EXPECT_EQ(r.code, BLIP_EINVAL) << bad;
        EXPECT_EQ(r.message,
                  std::string(bad) + " is not a multicast address (IPv6 multicast is ff00::/8)");
    }
}

TEST(NetAddressParseGroup, Ipv4MappedGroupGetsAHint) {
    const auto r = parse_group("::ffff:239.1.2.3", 5000, fake_host());
    EXPECT_EQ(r.code, BLIP_EINVAL);
    EXPECT_THAT(r.message, HasSubstr("not a multicast address"));
    EXPECT_THAT(r.message, HasSubstr("give the IPv4 address itself"));
}

TEST(NetAddressParseGroup, Ipv6TextIsCanonical) {
    const auto r = parse_group("FF02:0:0::0:1", 5000, fake_host());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.value->text, "[ff02::1]:5000");
}

TEST(NetAddressParseGroup, ScopeByName) {
    const auto r = parse_group("ff02::1%veth0", 5000, fake_host());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.value->scope_id, 2u);
    EXPECT_EQ(as_v6(r.value->addr).sin6_scope_id, 2u);
    EXPECT_EQ(r.value->text, "[ff02::1%veth0]:5000");
}

TEST(NetAddressParseGroup, ScopeByNumberIsShownByName) {
    const auto r = parse_group("ff02::1%3", 5000, fake_host());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.value->scope_id, 3u);
    EXPECT_EQ(as_v6(r.value->addr).sin6_scope_id, 3u);
    EXPECT_EQ(r.value->text, "[ff02::1%eth0]:5000");
}

TEST(NetAddressParseGroup, Bracketed) {
    const auto host = fake_host();
    const auto scoped = parse_group("[ff02::1%2]", 5000, host);
    ASSERT_TRUE(scoped.ok()) << scoped.message;
    EXPECT_EQ(scoped.value->scope_id, 2u);
    EXPECT_EQ(scoped.value->text, "[ff02::1%veth0]:5000");

    const auto plain = parse_group("[ff02::1]", 5000, host);
    ASSERT_TRUE(plain.ok()) << plain.message;
    EXPECT_EQ(plain.value->scope_id, 0u);
    EXPECT_EQ(plain.value->text, "[ff02::1]:5000");
}

TEST(NetAddressParseGroup, UnknownScopeNamesTheInterfaces) {
    const auto host = fake_host();
    const auto by_name = parse_group("ff02::1%eth9", 5000, host);
    EXPECT_EQ(by_name.code, BLIP_ENODEV);
    EXPECT_FALSE(by_name.value.has_value());
    EXPECT_EQ(by_name.message, std::string("no interface named 'eth9' (the scope of ff02::1%eth9)"
                                           "; interfaces: ") +
                                   kFakeHostList);

    const auto by_index = parse_group("[ff02::1%99]", 5000, host);
    EXPECT_EQ(by_index.code, BLIP_ENODEV);
    EXPECT_THAT(by_index.message, HasSubstr("'99'"));
    EXPECT_THAT(by_index.message, HasSubstr(kFakeHostList));

    // Only the first '%' separates the scope; the rest is the (unknown) interface name.
    EXPECT_EQ(parse_group("ff02::1%%lo", 5000, host).code, BLIP_ENODEV);

    const auto no_host = parse_group("ff02::1%lo", 5000, {});
    EXPECT_EQ(no_host.code, BLIP_ENODEV);
    EXPECT_THAT(no_host.message, HasSubstr("no network interfaces found"));
}

TEST(NetAddressParseGroup, RejectsGarbage) {
    const auto host = fake_host();
    for (const char* bad :
         {"", "foo", "239.1.2", "239.1.2.3.4", "256.1.1.1", "239.1.2.3 ", " 239.1.2.3",
          "0xef.1.2.3", "239.1.2.3:5000", "[ff02::1", "ff02::1]", "[ff02::1]:5000", "[]",
          "[239.1.2.3]", "239.1.2.3%lo", "ff02::1%", "ff02:::1", "[[ff02::1]]"}) {
        const auto r = parse_group(bad, 5000, host);
        EXPECT_EQ(r.code, BLIP_EINVAL) << "'" << bad << "': " << r.message;
        EXPECT_FALSE(r.value.has_value()) << bad;
        EXPECT_THAT(r.message, HasSubstr("bad multicast group")) << bad;
    }
}

TEST(NetAddressParseGroup, GarbageMessagesSayWhatIsWrong) {
    const auto host = fake_host();
    EXPECT_EQ(parse_group("foo", 5000, host).message,
              "bad multicast group: 'foo' is not an IPv4 or IPv6 address");
    EXPECT_THAT(parse_group("[ff02::1]:5000", 5000, host).message,
                HasSubstr("the port is given separately"));
    EXPECT_THAT(parse_group("239.1.2.3%lo", 5000, host).message,
                HasSubstr("for IPv6 addresses only"));
    EXPECT_THAT(parse_group("[239.1.2.3]", 5000, host).message, HasSubstr("brackets are for IPv6"));
}

TEST(NetAddressParseGroup, RejectsPortZero) {
    for (const char* group : {"239.1.2.3", "ff02::1"}) {
        const auto r = parse_group(group, 0, fake_host());
        EXPECT_EQ(r.code, BLIP_EINVAL) << group;
        EXPECT_FALSE(r.value.has_value());
        EXPECT_THAT(r.message, HasSubstr("port")) << group;
        EXPECT_THAT(r.message, HasSubstr("0 is not allowed")) << group;
    }
    const auto top = parse_group("239.1.2.3", 65535, fake_host());
    ASSERT_TRUE(top.ok()) << top.message;
    EXPECT_EQ(ntohs(as_v4(top.value->addr).sin_port), 65535);
}

// ---- resolve_interface: success ---------------------------------------------------------------

TEST(NetAddressResolve, ByNameUsesTheFirstIpv4Address) {
    const auto r = resolve_interface("eth0", AF_INET, fake_host());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.value->name, "eth0");
    EXPECT_EQ(r.value->index, 3u);
    EXPECT_EQ(v4_text(r.value->ipv4), "192.0.2.2");
}

TEST(NetAddressResolve, ByIndex) {
    const auto r = resolve_interface("1", AF_INET, fake_host());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.value->name, "lo");
    EXPECT_EQ(r.value->index, 1u);
    EXPECT_EQ(v4_text(r.value->ipv4), "127.0.0.1");
}

TEST(NetAddressResolve, ByIpv4AddressUsesThatAddress) {
    const auto r = resolve_interface("192.0.2.3", AF_INET, fake_host());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.value->name, "eth0");
    EXPECT_EQ(r.value->index, 3u);
    EXPECT_EQ(v4_text(r.value->ipv4), "192.0.2.3");
}

TEST(NetAddressResolve, ByIpv6Address) {
    const auto host = fake_host();
    for (const char* spec : {"::1", "[::1]", "0:0::1"}) {
        const auto r = resolve_interface(spec, AF_INET6, host);
        ASSERT_TRUE(r.ok()) << spec << ": " << r.message;
        EXPECT_EQ(r.value->name, "lo");
        EXPECT_EQ(r.value->index, 1u);
        EXPECT_EQ(r.value->ipv4.s_addr, htonl(INADDR_ANY));
    }
}

TEST(NetAddressResolve, AnIpv6AddressCanNameTheInterfaceOfAnIpv4Group) {
    const auto r = resolve_interface("fd00::2", AF_INET, fake_host());
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.value->name, "eth0");
    EXPECT_EQ(v4_text(r.value->ipv4), "192.0.2.2");
}

TEST(NetAddressResolve, ScopeDisambiguatesALinkLocalAddress) {
    const auto host = fake_host();
    for (const char* spec : {"fe80::1%veth0", "fe80::1%2", "[fe80::1%veth0]"}) {
        const auto r = resolve_interface(spec, AF_INET6, host);
        ASSERT_TRUE(r.ok()) << spec << ": " << r.message;
        EXPECT_EQ(r.value->name, "veth0");
        EXPECT_EQ(r.value->index, 2u);
    }
    const auto eth0 = resolve_interface("fe80::1%eth0", AF_INET6, host);
    ASSERT_TRUE(eth0.ok()) << eth0.message;
    EXPECT_EQ(eth0.value->name, "eth0");
}

TEST(NetAddressResolve, ANameWinsOverAnIndex) {
    // Linux allows all-digit interface names; the exact name is the more specific reading.
    std::vector<Interface> host = fake_host();
    host.push_back({"2", 7, {"10.7.7.7"}, {}, true, false, true});
    const auto r = resolve_interface("2", AF_INET, host);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.value->index, 7u);
}

// ---- resolve_interface: errors, each naming the candidates ------------------------------------

TEST(NetAddressResolve, EmptySpecIsAnErrorThatSaysWhy) {
    const auto r = resolve_interface("", AF_INET, fake_host());
    EXPECT_EQ(r.code, BLIP_EINVAL);
    EXPECT_FALSE(r.value.has_value());
    EXPECT_THAT(r.message, HasSubstr("must name its interface explicitly"));
    EXPECT_THAT(r.message, HasSubstr(kFakeHostList));
}

TEST(NetAddressResolve, UnknownNameListsTheInterfaces) {
    const auto r = resolve_interface("eth9", AF_INET, fake_host());
    EXPECT_EQ(r.code, BLIP_ENODEV);
    EXPECT_FALSE(r.value.has_value());
    EXPECT_EQ(r.message, std::string("no interface named 'eth9'; interfaces: ") + kFakeHostList);
}

TEST(NetAddressResolve, UnknownIndexListsTheInterfaces) {
    for (const char* spec : {"42", "0"}) {
        const auto r = resolve_interface(spec, AF_INET, fake_host());
        EXPECT_EQ(r.code, BLIP_ENODEV) << spec;
        EXPECT_EQ(r.message, std::string("no interface with index ") + spec +
                                 "; interfaces: " + kFakeHostList);
    }
}

TEST(NetAddressResolve, AddressOwnedByNoInterfaceListsTheInterfaces) {
    const auto host = fake_host();
    const auto v4 = resolve_interface("192.0.2.99", AF_INET, host);
    EXPECT_EQ(v4.code, BLIP_EADDRNOTAVAIL);
    EXPECT_FALSE(v4.value.has_value());
    EXPECT_EQ(v4.message,
              std::string("no interface has the address 192.0.2.99; interfaces: ") + kFakeHostList);

    const auto v6 = resolve_interface("fe80::99", AF_INET6, host);
    EXPECT_EQ(v6.code, BLIP_EADDRNOTAVAIL);
    EXPECT_THAT(v6.message, HasSubstr(kFakeHostList));

    // The address exists, but not on the interface its scope names.
    const auto wrong_scope = resolve_interface("fe80::1%lo", AF_INET6, host);
    EXPECT_EQ(wrong_scope.code, BLIP_EADDRNOTAVAIL);
    EXPECT_THAT(wrong_scope.message, HasSubstr("fe80::1 on interface lo"));
    EXPECT_THAT(wrong_scope.message, HasSubstr(kFakeHostList));
}

TEST(NetAddressResolve, UnknownScopeOfAnAddressListsTheInterfaces) {
    const auto r = resolve_interface("fe80::1%eth9", AF_INET6, fake_host());
    EXPECT_EQ(r.code, BLIP_ENODEV);
    EXPECT_THAT(r.message, HasSubstr("no interface named 'eth9'"));
    EXPECT_THAT(r.message, HasSubstr(kFakeHostList));
}

TEST(NetAddressResolve, DownInterfaceSaysSo) {
    const auto host = fake_host();
    for (const char* spec : {"down0", "4", "10.0.0.1"}) {
        const auto r = resolve_interface(spec, AF_INET, host);
        EXPECT_EQ(r.code, BLIP_EADDRNOTAVAIL) << spec;
        EXPECT_FALSE(r.value.has_value());
        EXPECT_EQ(r.message,
                  std::string("interface 'down0' (4) is down; bring it up or choose another"
                              "; interfaces: ") +
                      kFakeHostList)
            << spec;
    }
}

TEST(NetAddressResolve, InterfaceWithoutMulticastFlagSaysSo) {
    const auto r = resolve_interface("nomc0", AF_INET, fake_host());
    EXPECT_EQ(r.code, BLIP_EADDRNOTAVAIL);
    EXPECT_FALSE(r.value.has_value());
    EXPECT_THAT(r.message, HasSubstr("interface 'nomc0' (5) does not have the MULTICAST flag"));
    EXPECT_THAT(r.message, HasSubstr("ip link set nomc0 multicast on"));
    EXPECT_THAT(r.message, HasSubstr(kFakeHostList));
}

TEST(NetAddressResolve, InterfaceWithoutAnAddressOfTheGroupFamilySaysSo) {
    const auto host = fake_host();
    const auto v4_group = resolve_interface("veth0", AF_INET, host);
    EXPECT_EQ(v4_group.code, BLIP_EADDRNOTAVAIL);
    EXPECT_FALSE(v4_group.value.has_value());
    EXPECT_EQ(v4_group.message,
              std::string("interface 'veth0' (2) has no IPv4 address, so it cannot carry an IPv4 "
                          "group; interfaces: ") +
                  kFakeHostList);

    const auto v6_group = resolve_interface("eth1", AF_INET6, host);
    EXPECT_EQ(v6_group.code, BLIP_EADDRNOTAVAIL);
    EXPECT_THAT(v6_group.message,
                HasSubstr("interface 'eth1' (6) has no IPv6 address, so it cannot carry an IPv6 "
                          "group"));
    EXPECT_THAT(v6_group.message, HasSubstr(kFakeHostList));
}

TEST(NetAddressResolve, AmbiguousAddressListsBothOwners) {
    const auto host = fake_host();
    const auto v6 = resolve_interface("fe80::1", AF_INET6, host);
    EXPECT_EQ(v6.code, BLIP_EINVAL);
    EXPECT_FALSE(v6.value.has_value());
    EXPECT_EQ(v6.message,
              "the address fe80::1 belongs to more than one interface: veth0 (2, fe80::1), eth0 "
              "(3, 192.0.2.2, 192.0.2.3, 10.9.9.9, fd00::2, fe80::1); give the interface's name "
              "instead, or the address with its scope (e.g. fe80::1%veth0)");

    const auto v4 = resolve_interface("10.9.9.9", AF_INET, host);
    EXPECT_EQ(v4.code, BLIP_EINVAL);
    EXPECT_THAT(v4.message, HasSubstr("more than one interface"));
    EXPECT_THAT(v4.message, HasSubstr("eth0 (3,"));
    EXPECT_THAT(v4.message, HasSubstr("eth1 (6, 10.9.9.9)"));
}

TEST(NetAddressResolve, BadFamilyIsInvalid) {
    const auto r = resolve_interface("lo", AF_UNIX, fake_host());
    EXPECT_EQ(r.code, BLIP_EINVAL);
    EXPECT_THAT(r.message, HasSubstr("AF_INET or AF_INET6"));
}

TEST(NetAddressResolve, NoCandidatesSaysSo) {
    const auto r = resolve_interface("lo", AF_INET, {});
    EXPECT_EQ(r.code, BLIP_ENODEV);
    EXPECT_EQ(r.message, "no interface named 'lo'; no network interfaces found");
}

TEST(NetAddressResolve, UnparsableCandidateAddressesAreIgnored) {
    // A fabricated or odd entry must not match, crash, or count as an address of its family.
    std::vector<Interface> host = {{"odd0", 1, {"not-an-ip"}, {"fe80::1%odd0"}, true, false, true}};
    EXPECT_EQ(resolve_interface("odd0", AF_INET, host).code, BLIP_EADDRNOTAVAIL);
    EXPECT_EQ(resolve_interface("odd0", AF_INET6, host).code, BLIP_EADDRNOTAVAIL);
    EXPECT_EQ(resolve_interface("fe80::1", AF_INET6, host).code, BLIP_EADDRNOTAVAIL);
}

// ---- list_interfaces on this host -------------------------------------------------------------

TEST(NetAddressListInterfaces, FindsLoopback) {
    const auto r = list_interfaces();
    ASSERT_TRUE(r.ok()) << r.message;
    const auto& list = *r.value;
    EXPECT_TRUE(std::is_sorted(list.begin(), list.end(),
                               [](const auto& a, const auto& b) { return a.index < b.index; }));
    for (const auto& i : list) EXPECT_GE(i.index, 1u) << i.name;

    const auto lo =
        std::find_if(list.begin(), list.end(), [](const Interface& i) { return i.name == "lo"; });
    if (lo == list.end()) GTEST_SKIP() << "this host has no interface named 'lo'";
    EXPECT_GE(lo->index, 1u);
    EXPECT_TRUE(lo->loopback);
    EXPECT_NE(std::find(lo->ipv4.begin(), lo->ipv4.end(), "127.0.0.1"), lo->ipv4.end())
        << "lo has no 127.0.0.1 (is it down, or in a namespace without it?)";
}
