// Where a channel lives: parsing its multicast group and resolving the interface it must use.
// Pure C++20 + POSIX (getifaddrs, if_nametoindex, inet_pton); no libuv, and it sends nothing.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/result.h"

namespace blip::io {

/// One network interface as seen by getifaddrs(). Addresses are numeric text without a scope
/// suffix ("fe80::1", not "fe80::1%eth0"): the interface itself is the scope.
struct Interface {
    std::string name;
    unsigned index = 0;  ///< if_nametoindex(); never 0 in list_interfaces()' output
    std::vector<std::string> ipv4;
    std::vector<std::string> ipv6;
    bool up = false;         ///< IFF_UP
    bool loopback = false;   ///< IFF_LOOPBACK
    bool multicast = false;  ///< IFF_MULTICAST
};

/// The interfaces of this host (of the current network namespace), sorted by index. Address
/// labels ("eth0:1") are folded into their interface. Fails with BLIP_EIO only when
/// getifaddrs() does. Queries the kernel; sends nothing.
Result<std::vector<Interface>> list_interfaces();

/// A channel's multicast group and port, ready for bind/sendto/IP_ADD_MEMBERSHIP.
struct GroupAddress {
    int family = AF_UNSPEC;      ///< AF_INET or AF_INET6
    sockaddr_storage addr{};     ///< sockaddr_in or sockaddr_in6: group, port, scope id
    std::uint32_t scope_id = 0;  ///< IPv6 scope ("ff02::1%eth0"); 0 when none was given
    std::string text;            ///< canonical, for logs: "239.1.2.3:5000", "[ff02::1%eth0]:5000"
};

/// Parses a multicast group: "239.1.2.3", "ff02::1", "ff02::1%eth0", "ff02::1%2", optionally in
/// brackets ("[ff02::1%2]"); the port is a separate argument, never part of `text`.
///
/// `interfaces` (normally list_interfaces()) resolves a scope name or checks a scope index, so
/// the group and the channel's interface are resolved against one snapshot of the host.
///
/// Errors: BLIP_EINVAL for text that is not an address, an address that is not multicast
/// (IPv4 224.0.0.0/4, IPv6 ff00::/8), a scope on an IPv4 address, or port 0; BLIP_ENODEV for
/// a scope that names no interface (the message lists the interfaces).
Result<GroupAddress> parse_group(std::string_view text, std::uint16_t port,
                                 const std::vector<Interface>& interfaces);

/// The interface a channel sends and joins on.
struct ResolvedInterface {
    std::string name;
    unsigned index = 0;  ///< for IPV6_MULTICAST_IF / IPV6_JOIN_GROUP (and ip_mreqn)
    in_addr ipv4{};      ///< for IP_MULTICAST_IF / IP_ADD_MEMBERSHIP; INADDR_ANY for AF_INET6
};

/// Resolves a channel's interface among `candidates` (normally list_interfaces(); tests pass
/// a fabricated list). `spec` is tried, in this order, as an interface name ("lo", "veth0"),
/// an index ("1"), or an address the interface owns ("127.0.0.1", "::1", "fe80::1%veth0";
/// brackets allowed). For AF_INET, `ipv4` is the address given, else the interface's first
/// IPv4 address. `family` is the group's family (AF_INET or AF_INET6).
///
/// There is no default interface: an empty `spec` is an error, because a guessed interface is
/// the classic silent multicast failure (joined on one NIC, traffic on another).
///
/// Every error message lists the candidates ("lo (1, 127.0.0.1, ::1), veth0 (2, fe80::1)"):
///  - BLIP_EINVAL: empty spec; bad family; an address owned by several interfaces.
///  - BLIP_ENODEV: no interface with that name or index (or address scope).
///  - BLIP_EADDRNOTAVAIL: an address no interface owns; an interface that is down, lacks the
///    MULTICAST flag, or has no address of `family`.
Result<ResolvedInterface> resolve_interface(std::string_view spec, int family,
                                            const std::vector<Interface>& candidates);

}  // namespace blip::io
