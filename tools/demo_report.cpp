// demo_report.cpp - formats blip-demo's intro and result table from the roles' reports.
#include "demo_report.h"

#include <cstdio>
#include <string>

#include "demo_payload.h"

namespace demo {

namespace {

std::string size_text(double bytes) {
    char buf[32];
    if (bytes >= 1e6) {
        std::snprintf(buf, sizeof buf, "%.1f MB", bytes / 1e6);
    } else if (bytes >= 1024 && static_cast<std::uint64_t>(bytes) % 1024 == 0) {
        std::snprintf(buf, sizeof buf, "%.0f KiB", bytes / 1024);
    } else {
        std::snprintf(buf, sizeof buf, "%.0f B", bytes);
    }
    return buf;
}

std::string count_text(std::uint64_t v) { return v == kUnknown ? "-" : std::to_string(v); }

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

}  // namespace

void print_intro(const Params& p) {
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < p.messages; ++i) total += message_size(i, p.max_size);
    std::printf("blip-demo: 1 sender -> %d receivers (separate processes) on %s:%d via %s\n",
                p.receivers, p.group, p.port, p.interface);
    std::printf(
        "  %llu messages of %s..%s (%s in all); each receiver drops %.0f%% of the "
        "datagrams it receives (inject_loss)\n\n",
        static_cast<unsigned long long>(p.messages), size_text(kMinSize).c_str(),
        size_text(static_cast<double>(p.max_size)).c_str(),
        size_text(static_cast<double>(total)).c_str(), p.loss * 100);
    std::fflush(stdout);
}

void print_report(const Params& p, const SenderReport& s, bool sender_reported,
                  const std::vector<ReceiverReport>& r, const std::vector<bool>& reported) {
    if (sender_reported && s.open_rc != 0) {
        std::printf("sender: could not open its channel (see below)\n\n");
    } else if (!sender_reported) {
        std::printf("sender: no report (crashed, or killed at the timeout)\n\n");
    } else {
        std::printf(
            "sender: %llu messages (%s) transmitted in %.2f s = %.1f MB/s; NAKs received "
            "%s, repairs sent %s, kernel drops %s%s%s\n\n",
            static_cast<unsigned long long>(s.messages),
            size_text(static_cast<double>(s.bytes)).c_str(), s.seconds,
            s.seconds > 0 ? static_cast<double>(s.bytes) / 1e6 / s.seconds : 0.0,
            count_text(s.naks_received).c_str(), count_text(s.repairs_sent).c_str(),
            count_text(s.kernel_drops).c_str(), s.error[0] != '\0' ? "; " : "", s.error);
    }
    std::printf(
        "receiver  delivered    order  losses  dropped  kernel  repairs   NAKs    MB/s   p50 ms"
        "   p99 ms   max ms\n");
    for (std::size_t i = 0; i < r.size(); ++i) {
        if (!reported[i]) {
            std::printf("%8zu  no report (crashed, or killed at the timeout)\n", i + 1);
            continue;
        }
        const ReceiverReport& x = r[i];
        const std::string got = std::to_string(x.delivered) + "/" + std::to_string(p.messages);
        std::printf("%8zu  %-11s  %5s  %6llu  %7s  %6s  %7s  %5s  %6.1f  %7.2f  %7.2f  %7.2f\n",
                    i + 1, got.c_str(), x.in_order ? "ok" : "BAD",
                    static_cast<unsigned long long>(x.loss_events),
                    count_text(x.injected_drops).c_str(), count_text(x.kernel_drops).c_str(),
                    count_text(x.repairs).c_str(), count_text(x.naks_sent).c_str(),
                    x.seconds > 0 ? static_cast<double>(x.bytes) / 1e6 / x.seconds : 0.0,
                    ms(x.lat_p50_ns), ms(x.lat_p99_ns), ms(x.lat_max_ns));
    }
    std::printf(
        "\n  dropped: datagrams discarded by inject_loss; kernel: dropped by the kernel (socket"
        "\n  buffer full); repairs: repair datagrams received; latency: from send to in-order"
        "\n  delivery (one host, one clock), repairs included\n");
    for (std::size_t i = 0; i < r.size(); ++i) {
        if (reported[i] && r[i].error[0] != '\0') {
            std::printf("  receiver %zu: %s%s\n", i + 1, r[i].error,
                        r[i].finished ? "" : " (stopped before the end)");
        } else if (reported[i] && !r[i].finished) {
            std::printf("  receiver %zu: stopped before the end\n", i + 1);
        }
    }
    std::printf("\n");
}

}  // namespace demo
