// perf_util.cpp - clock, pacing, percentiles, /proc readings and formatting for blip-perf.
#include "perf_util.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

namespace perf {

std::uint64_t monotonic_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1000000000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
}

void tight_timer_slack() { prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); }

void wait_until(std::uint64_t t_ns, std::uint64_t spin_ns) {
    std::uint64_t now = monotonic_ns();
    if (now >= t_ns) return;
    if (t_ns - now > spin_ns) {
        const std::uint64_t wake = t_ns - spin_ns;
        timespec ts{};
        ts.tv_sec = static_cast<time_t>(wake / 1000000000ULL);
        ts.tv_nsec = static_cast<long>(wake % 1000000000ULL);
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
        }
    }
    while (monotonic_ns() < t_ns) {
    }
}

LatencySummary summarize(std::vector<std::uint64_t>& v) {
    LatencySummary s;
    s.n = v.size();
    if (v.empty()) return s;
    std::sort(v.begin(), v.end());
    // Nearest rank: the smallest value with at least q of the sample at or below it.
    auto at = [&v](double q) {
        const double rank = std::ceil(q * static_cast<double>(v.size()));
        const std::size_t k = rank < 1 ? 0 : static_cast<std::size_t>(rank) - 1;
        return v[std::min(k, v.size() - 1)];
    };
    s.p50 = at(0.50);
    s.p90 = at(0.90);
    s.p99 = at(0.99);
    s.p999 = at(0.999);
    s.max = v.back();
    return s;
}

std::uint64_t status_kb(const char* field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    const std::size_t n = std::strlen(field);
    while (std::getline(in, line)) {
        if (line.compare(0, n, field) == 0) return std::strtoull(line.c_str() + n, nullptr, 10);
    }
    return 0;
}

void RssTrack::sample(std::uint64_t now_ns) {
    constexpr std::uint64_t kEveryNs = 100'000'000;
    if (!samples_.empty() && now_ns - samples_.back().first < kEveryNs) return;
    samples_.emplace_back(now_ns, status_kb("VmRSS:"));
}

std::uint64_t RssTrack::at(std::uint64_t t_ns) const {
    for (const auto& [when, kb] : samples_) {
        if (when >= t_ns) return kb;
    }
    return samples_.empty() ? 0 : samples_.back().second;
}

void fill_rusage(Report& r) {
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) != 0) return;
    auto us = [](const timeval& tv) {
        return static_cast<std::uint64_t>(tv.tv_sec) * 1000000ULL +
               static_cast<std::uint64_t>(tv.tv_usec);
    };
    r.cpu_user_us = us(ru.ru_utime);
    r.cpu_sys_us = us(ru.ru_stime);
    r.ctx_voluntary = static_cast<std::uint64_t>(ru.ru_nvcsw);
    r.ctx_involuntary = static_cast<std::uint64_t>(ru.ru_nivcsw);
}

bool write_all(int fd, const void* data, std::size_t len) {
    const auto* p = static_cast<const char*>(data);
    while (len > 0) {
        const ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

namespace {

std::string first_line(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

}  // namespace

Machine describe_machine() {
    Machine m;
    m.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            const std::size_t colon = line.find(':');
            if (colon != std::string::npos)
                m.cpu = line.substr(line.find_first_not_of(' ', colon + 1));
            break;
        }
    }
    utsname u{};
    if (uname(&u) == 0) {
        m.kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
    }
    m.clocksource = first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
    m.rmem_max = std::strtoull(first_line("/proc/sys/net/core/rmem_max").c_str(), nullptr, 10);
    m.wmem_max = std::strtoull(first_line("/proc/sys/net/core/wmem_max").c_str(), nullptr, 10);
    m.load1 = std::strtod(first_line("/proc/loadavg").c_str(), nullptr);
    const char* ns = std::getenv("BLIP_NETNS");
    m.netns = ns != nullptr && *ns != '\0';
    return m;
}

std::string format_number(double v, int decimals) {
    if (std::isnan(v)) return "-";
    char buf[64];
    if (decimals > 0) {
        std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%.0f", std::fabs(v));
    std::string digits = buf;
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return (v < 0 ? "-" : "") + out;
}

std::string format_ns(double ns) {
    if (std::isnan(ns)) return "-";
    char buf[64];
    if (ns < 1e3) {
        std::snprintf(buf, sizeof buf, "%.0f ns", ns);
    } else if (ns < 1e6) {
        std::snprintf(buf, sizeof buf, "%.1f us", ns / 1e3);
    } else if (ns < 1e9) {
        std::snprintf(buf, sizeof buf, "%.2f ms", ns / 1e6);
    } else {
        std::snprintf(buf, sizeof buf, "%.2f s", ns / 1e9);
    }
    return buf;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string json_number(double v) {
    if (std::isnan(v) || std::isinf(v)) return "null";
    char buf[64];
    if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
        std::snprintf(buf, sizeof buf, "%.0f", v);
    } else {
        std::snprintf(buf, sizeof buf, "%.6g", v);
    }
    return buf;
}

}  // namespace perf
