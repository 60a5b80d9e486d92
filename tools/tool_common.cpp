// tool_common.cpp - argument cursor, channel options and error reports shared by the tools.
// Only <blip/blip.h> and POSIX; getifaddrs() merely lists interfaces when --interface is missing.
#include "tool_common.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>

namespace tools {

const char* const kChannelHelp =
    "  --group G          multicast group (default 239.255.0.1)\n"
    "  --port P           UDP port (default 5000)\n"
    "  --interface I      REQUIRED: interface by name (lo), index or address (127.0.0.1)\n"
    "  --set NAME=VALUE   any channel option of blip.h's table, e.g. --set ttl=4 (repeatable)\n";

bool parse_u64(const char* text, std::uint64_t* value) {
    if (text == nullptr || *text == '\0' || *text == '-' || *text == '+') return false;
    errno = 0;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(text, &end, 0);
    if (errno != 0 || *end != '\0') return false;
    *value = v;
    return true;
}

bool Args::flag(const char* name) {
    if (done() || std::strcmp(argv_[i_], name) != 0) return false;
    ++i_;
    return true;
}

bool Args::option(const char* name, const char** value) {
    if (done()) return false;
    const char* arg = argv_[i_];
    const size_t n = std::strlen(name);
    if (std::strncmp(arg, name, n) != 0) return false;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        ++i_;
        return true;
    }
    if (arg[n] != '\0') return false;
    if (i_ + 1 >= argc_) usage_error(prog_, std::string(name) + " needs a value");
    *value = argv_[i_ + 1];
    i_ += 2;
    return true;
}

bool Args::option_u64(const char* name, std::uint64_t* value, std::uint64_t min,
                      std::uint64_t max) {
    const char* text = nullptr;
    if (!option(name, &text)) return false;
    std::uint64_t v = 0;
    if (!parse_u64(text, &v) || v < min || v > max) {
        usage_error(prog_, std::string(name) + ": '" + text + "' is not an integer in " +
                               std::to_string(min) + ".." + std::to_string(max));
    }
    *value = v;
    return true;
}

bool Args::option_double(const char* name, double* value, double min, double max) {
    const char* text = nullptr;
    if (!option(name, &text)) return false;
    char* end = nullptr;
    const double v = std::strtod(text, &end);
    if (*text == '\0' || *end != '\0' || std::isnan(v) || v < min || v > max) {
        usage_error(prog_, std::string(name) + ": '" + text + "' is not a number in " +
                               std::to_string(min) + ".." + std::to_string(max));
    }
    *value = v;
    return true;
}

void Args::unknown() const { error(std::string("unknown argument '") + current() + "'"); }

void Args::error(const std::string& msg) const { usage_error(prog_, msg); }

bool ChannelArgs::parse(Args& args) {
    const char* v = nullptr;
    if (args.option("--group", &v)) {
        group = v;
    } else if (args.option("--port", &v)) {
        port = v;
    } else if (args.option("--interface", &v)) {
        interface = v;
    } else if (args.option("--set", &v)) {
        const char* eq = std::strchr(v, '=');
        if (eq == nullptr || eq == v) args.error(std::string("--set '") + v + "': want NAME=VALUE");
        sets.emplace_back(std::string(v, eq), std::string(eq + 1));
    } else {
        return false;
    }
    return true;
}

std::string ChannelArgs::where() const {
    const bool v6 = group.find(':') != std::string::npos;
    return (v6 ? "[" + group + "]" : group) + ":" + port + " on " + interface;
}

void usage_error(const char* prog, const std::string& msg) {
    std::fprintf(stderr, "%s: usage error: %s (try --help)\n", prog, msg.c_str());
    std::exit(2);
}

void fail(const char* prog, const std::string& what, int err, const blip_config_t* cfg) {
    const char* detail = cfg != nullptr ? blip_config_error(cfg) : "";
    std::fprintf(stderr, "%s: %s: %s (%s)%s%s\n", prog, what.c_str(), blip_strerror(err),
                 blip_err_name(err), *detail != '\0' ? ": " : "", detail);
    std::exit(1);
}

namespace {

// "lo (127.0.0.1, ::1), eth0 (10.0.0.5)": what the user may pass to --interface.
std::string list_interfaces() {
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return "(cannot list interfaces)";
    std::map<std::string, std::string> addrs;  // name -> addresses; sorted for a stable output
    for (const ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
        std::string& a = addrs[ifa->ifa_name];
        char text[INET6_ADDRSTRLEN] = "";
        if (ifa->ifa_addr == nullptr) continue;
        if (ifa->ifa_addr->sa_family == AF_INET) {
            inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr)->sin_addr, text,
                      sizeof text);
        } else if (ifa->ifa_addr->sa_family == AF_INET6) {
            inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr)->sin6_addr,
                      text, sizeof text);
        } else {
            continue;
        }
        a += (a.empty() ? "" : ", ") + std::string(text);
    }
    freeifaddrs(list);
    std::string out;
    for (const auto& [name, a] : addrs) {
        out += (out.empty() ? "" : "; ") + name + (a.empty() ? "" : " (" + a + ")");
    }
    return out.empty() ? "(none found)" : out;
}

}  // namespace

blip_config_t* make_config(const char* prog, const ChannelArgs& ch) {
    if (ch.interface.empty()) {
        std::fprintf(stderr,
                     "%s: --interface is required: nothing is guessed, because a guessed "
                     "interface is the classic silent multicast failure.\n"
                     "%s: pass a name, index or address, e.g. --interface 127.0.0.1 for this "
                     "host only; interfaces here: %s\n",
                     prog, prog, list_interfaces().c_str());
        std::exit(2);
    }
    blip_config_t* cfg = nullptr;
    int rc = blip_config_create(&cfg);
    if (rc != BLIP_OK) fail(prog, "create config", rc);
    const std::pair<std::string, std::string> base[] = {
        {"group", ch.group}, {"port", ch.port}, {"interface", ch.interface}};
    for (const auto& [name, value] : base) {
        rc = blip_config_set_string(cfg, name.c_str(), value.c_str());
        if (rc != BLIP_OK)
            fail(prog, std::string("--").append(name).append(" ").append(value), rc, cfg);
    }
    for (const auto& [name, value] : ch.sets) {
        rc = blip_config_set_string(cfg, name.c_str(), value.c_str());
        if (rc != BLIP_OK)
            fail(prog, std::string("--set ").append(name).append("=").append(value), rc, cfg);
    }
    return cfg;
}

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000U +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace tools
