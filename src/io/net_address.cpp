// Parsing multicast groups and resolving channel interfaces (see net_address.h). Only queries
// the kernel (getifaddrs, if_nametoindex); never opens a connection or sends a datagram.
#include "io/net_address.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

namespace blip::io {
namespace {

/// Concatenates text. Used instead of `"literal" + std::string(...)`, which GCC 12 at -O2/-O3
/// reports as an overlapping memcpy inside libstdc++ (a false -Wrestrict, GCC PR 105651).
template <class... Parts>
std::string cat(const Parts&... parts) {
    std::string s;
    (s.append(std::string_view(parts)), ...);
    return s;
}

/// An IP address parsed from text such as "239.1.2.3", "fe80::1%eth0" or "[ff02::1%2]".
struct IpText {
    int family = AF_UNSPEC;
    in_addr v4{};
    in6_addr v6{};
    bool has_scope = false;
    std::string scope;      ///< the text after '%' (IPv6 only)
    std::string addr_text;  ///< the address part, without brackets and scope
};

/// Parses `text` into `out`; returns an error message, or an empty string on success.
/// glibc's inet_pton accepts only full dotted quads, so "239.1" or "0xef.1.2.3" are errors
/// here, not the surprising addresses inet_aton would make of them.
std::string parse_ip(std::string_view text, IpText& out) {
    const std::string quoted = cat("'", text, "'");
    std::string_view body = text;
    const bool bracketed = !body.empty() && body.front() == '[';
    if (bracketed) {
        const auto close = body.find(']');
        if (close == std::string_view::npos) return quoted + " has '[' without a closing ']'";
        if (close + 1 != body.size()) {
            return quoted + ": nothing may follow ']' (the port is given separately)";
        }
        body = body.substr(1, close - 1);
    } else if (body.find(']') != std::string_view::npos) {
        return quoted + " has ']' without an opening '['";
    }
    if (body.empty()) return "empty address " + quoted;

    std::string_view addr = body;
    if (const auto pct = body.find('%'); pct != std::string_view::npos) {
        addr = body.substr(0, pct);
        out.has_scope = true;
        out.scope = std::string(body.substr(pct + 1));
    }
    out.addr_text = std::string(addr);

    if (inet_pton(AF_INET, out.addr_text.c_str(), &out.v4) == 1) {
        if (bracketed) return quoted + ": brackets are for IPv6 addresses only";
        if (out.has_scope) return quoted + ": a scope (%...) is for IPv6 addresses only";
        out.family = AF_INET;
        return {};
    }
    if (inet_pton(AF_INET6, out.addr_text.c_str(), &out.v6) == 1) {
        if (out.has_scope && out.scope.empty()) return quoted + " has an empty scope after '%'";
        out.family = AF_INET6;
        return {};
    }
    return quoted + " is not an IPv4 or IPv6 address";
}

/// A decimal interface index, or nullopt when `text` is not one (any non-digit, or overflow).
std::optional<unsigned> parse_index(std::string_view text) {
    if (text.empty()) return std::nullopt;
    unsigned value = 0;
    const char* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end) return std::nullopt;
    return value;
}

const Interface* find_by_name(std::string_view name, const std::vector<Interface>& list) {
    for (const auto& i : list) {
        if (i.name == name) return &i;
    }
    return nullptr;
}

const Interface* find_by_index(unsigned index, const std::vector<Interface>& list) {
    for (const auto& i : list) {
        if (i.index == index) return &i;
    }
    return nullptr;
}

/// A scope as in "ff02::1%eth0" or "%2": a name first (Linux allows all-digit names), then an
/// index.
const Interface* find_scope(std::string_view scope, const std::vector<Interface>& list) {
    if (const Interface* i = find_by_name(scope, list)) return i;
    if (const auto index = parse_index(scope)) return find_by_index(*index, list);
    return nullptr;
}

/// "lo (1, 127.0.0.1, ::1)", with "down" / "no MULTICAST flag" when that makes it unusable,
/// so a user can pick a working interface straight from an error message.
std::string describe(const Interface& i) {
    std::string s = i.name + " (" + std::to_string(i.index);
    for (const auto& a : i.ipv4) s += ", " + a;
    for (const auto& a : i.ipv6) s += ", " + a;
    if (i.ipv4.empty() && i.ipv6.empty()) s += ", no addresses";
    if (!i.up) s += ", down";
    if (!i.multicast) s += ", no MULTICAST flag";
    return s + ")";
}

std::string describe(const std::vector<const Interface*>& list) {
    std::string s;
    for (const Interface* i : list) {
        if (!s.empty()) s += ", ";
        s += describe(*i);
    }
    return s;
}

/// "; interfaces: lo (1, 127.0.0.1), veth0 (2, fe80::1)": the tail of every error message.
std::string candidates_tail(const std::vector<Interface>& list) {
    if (list.empty()) return "; no network interfaces found";
    std::vector<const Interface*> all;
    all.reserve(list.size());
    for (const auto& i : list) all.push_back(&i);
    return cat("; interfaces: ", describe(all));
}

bool owns(const Interface& i, const IpText& ip) {
    if (ip.family == AF_INET) {
        for (const auto& a : i.ipv4) {
            in_addr v4{};
            if (inet_pton(AF_INET, a.c_str(), &v4) == 1 && v4.s_addr == ip.v4.s_addr) return true;
        }
    } else {
        for (const auto& a : i.ipv6) {
            in6_addr v6{};
            if (inet_pton(AF_INET6, a.c_str(), &v6) == 1 &&
                std::memcmp(&v6, &ip.v6, sizeof v6) == 0) {
                return true;
            }
        }
    }
    return false;
}

std::optional<in_addr> first_ipv4(const Interface& i) {
    for (const auto& a : i.ipv4) {
        in_addr v4{};
        if (inet_pton(AF_INET, a.c_str(), &v4) == 1) return v4;
    }
    return std::nullopt;
}

bool has_ipv6(const Interface& i) {
    for (const auto& a : i.ipv6) {
        in6_addr v6{};
        if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) return true;
    }
    return false;
}

std::string ntop(int family, const void* addr) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (inet_ntop(family, addr, buf, sizeof buf) == nullptr) return "?";
    return buf;
}

}  // namespace

Result<std::vector<Interface>> list_interfaces() {
    ifaddrs* head = nullptr;
    if (getifaddrs(&head) != 0) {
        const int err = errno;
        return Result<std::vector<Interface>>::failure(
            BLIP_EIO,
            "cannot list network interfaces: getifaddrs: " + std::generic_category().message(err));
    }
    const std::unique_ptr<ifaddrs, decltype(&freeifaddrs)> guard(head, &freeifaddrs);

    // getifaddrs() yields one entry per address (plus one per link on Linux), so entries are
    // merged by name. Linux forbids ':' in interface names, so "eth0:1" is an address label of
    // eth0, not an interface of its own.
    std::map<std::string, Interface> by_name;
    for (const ifaddrs* p = head; p != nullptr; p = p->ifa_next) {
        if (p->ifa_name == nullptr) continue;
        std::string name = p->ifa_name;
        if (const auto colon = name.find(':'); colon != std::string::npos) name.resize(colon);
        auto [it, inserted] = by_name.try_emplace(name);
        Interface& i = it->second;
        if (inserted) {
            i.name = name;
            i.index = if_nametoindex(name.c_str());
        }
        i.up = (p->ifa_flags & IFF_UP) != 0;
        i.loopback = (p->ifa_flags & IFF_LOOPBACK) != 0;
        i.multicast = (p->ifa_flags & IFF_MULTICAST) != 0;
        if (p->ifa_addr == nullptr) continue;
        // Copied out rather than cast: ifa_addr is a sockaddr*, and the copy keeps the access
        // within the rules whatever the allocation behind it.
        if (p->ifa_addr->sa_family == AF_INET) {
            sockaddr_in sin{};
            std::memcpy(&sin, p->ifa_addr, sizeof sin);
            i.ipv4.push_back(ntop(AF_INET, &sin.sin_addr));
        } else if (p->ifa_addr->sa_family == AF_INET6) {
            sockaddr_in6 sin6{};
            std::memcpy(&sin6, p->ifa_addr, sizeof sin6);
            i.ipv6.push_back(ntop(AF_INET6, &sin6.sin6_addr));
        }
    }

    std::vector<Interface> out;
    for (auto& [name, i] : by_name) {
        // Index 0: the interface vanished between getifaddrs() and if_nametoindex().
        if (i.index != 0) out.push_back(std::move(i));
    }
    std::sort(out.begin(), out.end(),
              [](const Interface& a, const Interface& b) { return a.index < b.index; });
    return Result<std::vector<Interface>>::success(std::move(out));
}

Result<GroupAddress> parse_group(std::string_view text, std::uint16_t port,
                                 const std::vector<Interface>& interfaces) {
    using R = Result<GroupAddress>;
    IpText ip;
    if (std::string err = parse_ip(text, ip); !err.empty()) {
        return R::failure(BLIP_EINVAL, "bad multicast group: " + err);
    }
    if (ip.family == AF_INET) {
        // 224.0.0.0/4: the top four bits are 1110.
        if ((ntohl(ip.v4.s_addr) >> 28) != 0xE) {
            return R::failure(BLIP_EINVAL, ip.addr_text +
                                               " is not a multicast address (IPv4 multicast is "
                                               "224.0.0.0/4)");
        }
    } else if (ip.v6.s6_addr[0] != 0xFF) {
        std::string why = ip.addr_text + " is not a multicast address (IPv6 multicast is ff00::/8)";
        if (IN6_IS_ADDR_V4MAPPED(&ip.v6)) {
            why += "; for an IPv4 group, give the IPv4 address itself";
        }
        return R::failure(BLIP_EINVAL, why);
    }
    if (port == 0) {
        // A group's members must all use the same port, so an ephemeral one cannot work.
        return R::failure(BLIP_EINVAL, "bad port for multicast group " + ip.addr_text +
                                           ": 0 is not allowed; every member of a channel "
                                           "binds the same fixed port");
    }

    GroupAddress g;
    g.family = ip.family;
    if (ip.family == AF_INET) {
        sockaddr_in sin{};
        sin.sin_family = AF_INET;
        sin.sin_port = htons(port);
        sin.sin_addr = ip.v4;
        std::memcpy(&g.addr, &sin, sizeof sin);
        g.text = ntop(AF_INET, &ip.v4) + ":" + std::to_string(port);
        return R::success(std::move(g));
    }

    std::string scope_name;
    if (ip.has_scope) {
        const Interface* scope = find_scope(ip.scope, interfaces);
        if (scope == nullptr) {
            return R::failure(BLIP_ENODEV, "no interface named '" + ip.scope + "' (the scope of " +
                                               std::string(text) + ")" +
                                               candidates_tail(interfaces));
        }
        g.scope_id = scope->index;
        scope_name = "%" + scope->name;
    }
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    sin6.sin6_addr = ip.v6;
    sin6.sin6_scope_id = g.scope_id;
    std::memcpy(&g.addr, &sin6, sizeof sin6);
    g.text = cat("[", ntop(AF_INET6, &ip.v6), scope_name, "]:", std::to_string(port));
    return R::success(std::move(g));
}

Result<ResolvedInterface> resolve_interface(std::string_view spec, int family,
                                            const std::vector<Interface>& candidates) {
    using R = Result<ResolvedInterface>;
    const std::string tail = candidates_tail(candidates);
    if (family != AF_INET && family != AF_INET6) {
        return R::failure(BLIP_EINVAL, cat("bad address family ", std::to_string(family)) +
                                           " (expected AF_INET or AF_INET6)");
    }
    if (spec.empty()) {
        return R::failure(BLIP_EINVAL,
                          "no interface given: every channel must name its interface explicitly "
                          "(a name, an index or an address)" +
                              tail);
    }

    const std::string spec_text(spec);
    const Interface* found = find_by_name(spec, candidates);
    std::optional<in_addr> given_v4;
    if (found == nullptr) {
        if (const auto index = parse_index(spec)) {
            found = find_by_index(*index, candidates);
            if (found == nullptr) {
                return R::failure(BLIP_ENODEV, "no interface with index " + spec_text + tail);
            }
        }
    }
    if (found == nullptr) {
        IpText ip;
        if (!parse_ip(spec, ip).empty()) {
            return R::failure(BLIP_ENODEV, "no interface named '" + spec_text + "'" + tail);
        }
        const Interface* scope = nullptr;
        if (ip.has_scope) {
            scope = find_scope(ip.scope, candidates);
            if (scope == nullptr) {
                return R::failure(BLIP_ENODEV, "no interface named '" + ip.scope +
                                                   "' (the scope of " + spec_text + ")" + tail);
            }
        }
        std::vector<const Interface*> owners;
        for (const auto& c : candidates) {
            if ((scope == nullptr || c.index == scope->index) && owns(c, ip)) owners.push_back(&c);
        }
        if (owners.empty()) {
            std::string where = scope != nullptr ? " on interface " + scope->name : "";
            return R::failure(BLIP_EADDRNOTAVAIL,
                              "no interface has the address " + ip.addr_text + where + tail);
        }
        if (owners.size() > 1) {
            // Typical for IPv6 link-local addresses, which each link may reuse.
            return R::failure(BLIP_EINVAL,
                              "the address " + ip.addr_text +
                                  " belongs to more than one interface: " + describe(owners) +
                                  "; give the interface's name instead, or the "
                                  "address with its scope (e.g. " +
                                  ip.addr_text + "%" + owners.front()->name + ")");
        }
        found = owners.front();
        if (ip.family == AF_INET) given_v4 = ip.v4;
    }

    const std::string which =
        "interface '" + found->name + "' (" + std::to_string(found->index) + ")";
    if (!found->up) {
        return R::failure(BLIP_EADDRNOTAVAIL,
                          which + " is down; bring it up or choose another" + tail);
    }
    if (!found->multicast) {
        return R::failure(BLIP_EADDRNOTAVAIL,
                          which + " does not have the MULTICAST flag (on Linux: ip link set " +
                              found->name + " multicast on)" + tail);
    }

    ResolvedInterface r;
    r.name = found->name;
    r.index = found->index;
    r.ipv4.s_addr = htonl(INADDR_ANY);
    if (family == AF_INET) {
        // IPv4 multicast options name the interface by one of its addresses, so one is needed.
        const auto v4 = given_v4 ? given_v4 : first_ipv4(*found);
        if (!v4) {
            return R::failure(
                BLIP_EADDRNOTAVAIL,
                which + " has no IPv4 address, so it cannot carry an IPv4 group" + tail);
        }
        r.ipv4 = *v4;
    } else if (!has_ipv6(*found)) {
        // No IPv6 address at all means IPv6 is disabled there; a join would fail obscurely.
        return R::failure(BLIP_EADDRNOTAVAIL,
                          which + " has no IPv6 address, so it cannot carry an IPv6 group" + tail);
    }
    return R::success(std::move(r));
}

}  // namespace blip::io
