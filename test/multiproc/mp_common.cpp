// mp_common.cpp - output, config and counter helpers shared by the processes of the
// multi-process test. Public API only.
#include "mp_common.h"

#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>

namespace blip_mp {

namespace {
char g_role[32] = "parent";
}  // namespace

void set_role(const char* role) { std::snprintf(g_role, sizeof g_role, "%s", role); }

void logf(const char* fmt, ...) {
    char buf[1024];
    int n = std::snprintf(buf, sizeof buf, "[%s] ", g_role);
    va_list ap;
    va_start(ap, fmt);
    n += std::vsnprintf(buf + n, sizeof buf - static_cast<std::size_t>(n), fmt, ap);
    va_end(ap);
    if (n > static_cast<int>(sizeof buf) - 2) n = static_cast<int>(sizeof buf) - 2;
    buf[n++] = '\n';
    (void)!write(STDERR_FILENO, buf, static_cast<std::size_t>(n));
}

void Report::line(const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf - 1, fmt, ap);
    va_end(ap);
    if (n > static_cast<int>(sizeof buf) - 2) n = static_cast<int>(sizeof buf) - 2;
    buf[n++] = '\n';
    for (int off = 0; off < n;) {
        const ssize_t w = write(fd, buf + off, static_cast<std::size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;  // the parent is gone; PR_SET_PDEATHSIG ends us
        off += static_cast<int>(w);
    }
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool set_opt(blip_config_t* cfg, const char* name, const std::string& value) {
    const int rc = blip_config_set_string(cfg, name, value.c_str());
    if (rc != BLIP_OK) {
        logf("FAIL: option %s = '%s': %s (%s)", name, value.c_str(), blip_err_name(rc),
             blip_config_error(cfg));
    }
    return rc == BLIP_OK;
}

bool set_opt(blip_config_t* cfg, const char* name, std::int64_t value) {
    const int rc = blip_config_set_int(cfg, name, value);
    if (rc != BLIP_OK) {
        logf("FAIL: option %s = %" PRId64 ": %s (%s)", name, value, blip_err_name(rc),
             blip_config_error(cfg));
    }
    return rc == BLIP_OK;
}

bool set_opt(blip_config_t* cfg, const char* name, double value) {
    const int rc = blip_config_set_double(cfg, name, value);
    if (rc != BLIP_OK) {
        logf("FAIL: option %s = %g: %s (%s)", name, value, blip_err_name(rc),
             blip_config_error(cfg));
    }
    return rc == BLIP_OK;
}

bool set_common(blip_config_t* cfg, const Options& o) {
    return set_opt(cfg, "group", o.group) && set_opt(cfg, "port", std::int64_t{o.port}) &&
           set_opt(cfg, "interface", o.interface) &&
           set_opt(cfg, "max_message_size", static_cast<std::int64_t>(o.max_size));
}

bool report_stats(Report& rep, blip_channel_t* ch, int scope, std::uint64_t node,
                  std::uint32_t stream, std::map<std::string, std::uint64_t>* out) {
    bool ok = true;
    const char* name = nullptr;
    for (std::size_t i = 0; blip_stat_name(scope, i, &name) == BLIP_OK; ++i) {
        std::uint64_t v = 0;
        const int rc = scope == BLIP_STATS_CHANNEL
                           ? blip_channel_stat(ch, name, &v)
                           : blip_channel_remote_stat(ch, node, stream, name, &v);
        if (rc != BLIP_OK) {
            logf("FAIL: reading counter %s: %s", name, blip_err_name(rc));
            ok = false;
            continue;
        }
        rep.line("STAT %s %s %" PRIu64, scope == BLIP_STATS_CHANNEL ? "channel" : "remote", name,
                 v);
        if (out != nullptr) (*out)[name] = v;
    }
    return ok;
}

std::uint64_t sender_node_id() {
    return 0x424C49504D500000ull | (static_cast<std::uint64_t>(getppid()) & 0xFFFF);
}

char read_control(int fd) {
    char c = 0;
    for (;;) {
        const ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        return r == 1 ? c : '\0';
    }
}

}  // namespace blip_mp
