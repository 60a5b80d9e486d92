// perf_collect.cpp - blip-perf's figures: what each kind of repetition's reports become
// (rates per receiver, latency percentiles, repair figures, memory and CPU).
#include "perf_collect.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace perf {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void put(Section& sec, const std::string& key, const std::string& label, Unit unit,
         const std::string& unit_text, double v) {
    sec.figure(key, label, unit, unit_text).values.push_back(v);
}

// Adds a counter unless the library does not have it.
void put_counter(Section& sec, const std::string& key, const std::string& label, std::uint64_t v) {
    if (v != kUnknown) put(sec, key, label, Unit::kCount, "", static_cast<double>(v));
}

std::uint64_t sum_rx(const RepResult& res, std::uint64_t Report::*field) {
    std::uint64_t total = 0;
    for (const Report& r : res.receivers) {
        if (r.*field == kUnknown) return kUnknown;
        total += r.*field;
    }
    return total;
}

std::uint64_t max_rx(const RepResult& res, std::uint64_t Report::*field) {
    std::uint64_t m = 0;
    for (const Report& r : res.receivers) m = std::max(m, r.*field);
    return m;
}

double cpu_ns_per(const Report& r, std::uint64_t n) {
    return n == 0 ? kNaN
                  : static_cast<double>(r.cpu_user_us + r.cpu_sys_us) * 1000.0 /
                        static_cast<double>(n);
}

void put_memory(Section& sec, const RepResult& res) {
    put(sec, "rx.rss_start_kb", "receiver VmRSS once open (largest receiver)", Unit::kKB, "",
        static_cast<double>(max_rx(res, &Report::rss_start_kb)));
    put(sec, "rx.rss_early_kb", "receiver VmRSS a quarter into the traffic", Unit::kKB, "",
        static_cast<double>(max_rx(res, &Report::rss_early_kb)));
    put(sec, "rx.rss_end_kb", "receiver VmRSS at the end", Unit::kKB, "",
        static_cast<double>(max_rx(res, &Report::rss_end_kb)));
    put(sec, "rx.hwm_kb", "receiver VmHWM (peak) at the end", Unit::kKB, "",
        static_cast<double>(max_rx(res, &Report::hwm_kb)));
    put(sec, "tx.rss_end_kb", "sender VmRSS at the end", Unit::kKB, "",
        static_cast<double>(res.sender.rss_end_kb));
    put(sec, "tx.hwm_kb", "sender VmHWM (peak) at the end", Unit::kKB, "",
        static_cast<double>(res.sender.hwm_kb));
}

void put_latency(Section& sec, const std::string& prefix, const std::string& what,
                 const LatencySummary& l, bool all) {
    if (l.n == 0) {
        put(sec, prefix + ".n", what + ": messages", Unit::kCount, "", 0);
        return;
    }
    put(sec, prefix + ".p50", what + " p50", Unit::kNs, "", static_cast<double>(l.p50));
    if (all) put(sec, prefix + ".p90", what + " p90", Unit::kNs, "", static_cast<double>(l.p90));
    put(sec, prefix + ".p99", what + " p99", Unit::kNs, "", static_cast<double>(l.p99));
    if (all) {
        put(sec, prefix + ".p999", what + " p99.9", Unit::kNs, "", static_cast<double>(l.p999));
        put(sec, prefix + ".max", what + " max", Unit::kNs, "", static_cast<double>(l.max));
    }
    put(sec, prefix + ".n", what + ": messages", Unit::kCount, "", static_cast<double>(l.n));
}

}  // namespace

// Throughput and raw: rates per receiver, measured from the sender's first send to the
// receiver's last delivery (so the pipeline's fill and drain count against it).
void collect_rates(Section& sec, const RunSpec& s, const RepResult& res) {
    const Report& tx = res.sender;
    const bool raw = is_raw(s.kind);
    const char* what = raw ? "datagrams" : "messages";
    const std::string unit = raw ? "dgram/s" : "msg/s";
    double slowest = kNaN;
    double slowest_mb = kNaN;
    for (std::size_t i = 0; i < res.receivers.size(); ++i) {
        const Report& rx = res.receivers[i];
        const double secs =
            static_cast<double>(rx.last_ns - std::min(rx.last_ns, tx.start_ns)) / 1e9;
        const double rate = secs > 0 ? static_cast<double>(rx.delivered) / secs : kNaN;
        const double mb = secs > 0 ? static_cast<double>(rx.delivered_bytes) / secs / 1e6 : kNaN;
        if (std::isnan(slowest) || rate < slowest) {
            slowest = rate;
            slowest_mb = mb;
        }
        if (res.receivers.size() > 1) {
            const std::string k = "rx" + std::to_string(i + 1);
            put(sec, k + ".per_s", "receiver " + std::to_string(i + 1) + ": " + what + " /s",
                Unit::kRate, unit, rate);
            put(sec, k + ".mb_per_s", "receiver " + std::to_string(i + 1) + ": payload MB/s",
                Unit::kMBps, "MB/s", mb);
        }
    }
    const std::string who = res.receivers.size() > 1 ? "slowest receiver" : "receiver";
    put(sec, "rx.per_s", who + ": " + what + " received /s", Unit::kRate, unit, slowest);
    put(sec, "rx.mb_per_s", who + ": payload MB/s", Unit::kMBps, "MB/s", slowest_mb);
    const double send_s = static_cast<double>(tx.end_send_ns - tx.start_ns) / 1e9;
    put(sec, "tx.per_s", std::string("sender: ") + what + " handed over /s", Unit::kRate, unit,
        send_s > 0 ? static_cast<double>(tx.sent) / send_s : kNaN);
    put_counter(sec, "tx.sent", std::string("sender: ") + what + " sent", tx.sent);
    if (raw) {
        std::uint64_t received = 0;
        for (const Report& r : res.receivers) received += r.delivered;
        put_counter(sec, "rx.received", "datagrams received (all receivers)", received);
        put_counter(sec, "rx.lost", "datagrams never received (all receivers)",
                    sum_rx(res, &Report::lost));
        put_counter(sec, "rx.kernel_drops", "receive-buffer drops, SO_RXQ_OVFL (all)",
                    sum_rx(res, &Report::kernel_drops));
        put_counter(sec, "rx.reordered", "datagrams out of order (all receivers)",
                    sum_rx(res, &Report::reordered));
        put_counter(sec, "tx.retries", "sender: sendmmsg ENOBUFS/EAGAIN retries", tx.eagain);
    } else {
        put_counter(sec, "rx.kernel_drops", "receive-buffer drops, kernel (all receivers)",
                    sum_rx(res, &Report::kernel_drops));
        put_counter(sec, "rx.injected_drops", "datagrams dropped by inject_loss (all)",
                    sum_rx(res, &Report::injected_drops));
        put_counter(sec, "rx.naks_sent", "NAKs sent (all receivers)",
                    sum_rx(res, &Report::naks_sent));
        put_counter(sec, "rx.repairs_received", "repairs received (all receivers)",
                    sum_rx(res, &Report::repairs_received));
        put_counter(sec, "rx.nak_retries", "NAKs sent again (all receivers)",
                    sum_rx(res, &Report::nak_retries));
        put_counter(sec, "rx.srtt_us", "receiver 1: learned NAK-to-repair round trip, us",
                    res.receivers.front().srtt_us);
        put_counter(sec, "rx.repair_timeout_us", "receiver 1: learned wait for a repair, us",
                    res.receivers.front().repair_timeout_us);
        put_counter(sec, "tx.repairs_sent", "sender: repairs sent", tx.repairs_sent);
        put_counter(sec, "tx.datagrams_sent", "sender: datagrams sent", tx.datagrams_sent);
        put_counter(sec, "tx.send_dropped", "sender: datagrams the socket refused (EAGAIN)",
                    tx.send_dropped);
        put_counter(sec, "tx.own_looped", "sender: own datagrams read back (loopback)",
                    tx.own_looped);
        put_counter(sec, "tx.eagain", "sender: send calls refused (queue full)", tx.eagain);
        put_counter(sec, "tx.flow_stalls", "sender: waits for a receiver (flow control)",
                    tx.flow_stalls);
        put_counter(sec, "tx.flow_probes", "sender: flow probes", tx.flow_probes);
    }
    put(sec, "tx.cpu_ns_per", std::string("sender CPU per ") + (raw ? "datagram" : "message"),
        Unit::kNs, "", cpu_ns_per(tx, tx.sent));
    const Report& rx1 = res.receivers.front();
    put(sec, "rx.cpu_ns_per", std::string("receiver 1 CPU per ") + (raw ? "datagram" : "message"),
        Unit::kNs, "", cpu_ns_per(rx1, rx1.delivered));
    put(sec, "rx.ctx_switches", "receiver 1 context switches (vol+invol)", Unit::kCount, "",
        static_cast<double>(rx1.ctx_voluntary + rx1.ctx_involuntary));
    put_memory(sec, res);
}

void collect_latency(Section& sec, const RunSpec& s, const RepResult& res) {
    const bool pp = s.kind == Kind::kPingPong;
    const char* kind = pp ? "round trip" : "latency";
    std::vector<const Report*> measured;
    if (pp) {
        measured.push_back(&res.sender);
    } else {
        for (const Report& r : res.receivers) measured.push_back(&r);
    }
    for (std::size_t i = 0; i < measured.size(); ++i) {
        const Report& r = *measured[i];
        const std::string p = measured.size() > 1 ? "rx" + std::to_string(i + 1) + "." : "";
        const std::string who =
            measured.size() > 1 ? "receiver " + std::to_string(i + 1) + " " : "";
        put_latency(sec, p + "lat", who + kind + " from intended send", r.lat, true);
        put_latency(sec, p + "lat_call", who + kind + " from the send call", r.lat_call, true);
    }
    put_latency(sec, "tx.lag", "sender lateness vs intended", res.sender.send_lag, false);
    put_counter(sec, "rx.kernel_drops", "receive-buffer drops, kernel (all receivers)",
                sum_rx(res, &Report::kernel_drops));
    put_counter(sec, "rx.repairs_received", "repairs received (all receivers)",
                sum_rx(res, &Report::repairs_received));
    put(sec, "rx.cpu_ns_per", "receiver 1 CPU per message", Unit::kNs, "",
        cpu_ns_per(res.receivers.front(),
                   pp ? res.sender.delivered : res.receivers.front().delivered));
}

// Repair: `baseline_p50` is the lossless median latency, to turn the latency of repaired
// messages into the delay their repair added.
void collect_repair(Section& sec, const RunSpec& s, const RepResult& res, double baseline_p50) {
    const Report& r = res.receivers.front();
    put_latency(sec, "lat", "all messages: latency", r.lat, true);
    put_latency(sec, "repaired", "repaired messages: latency", r.lat_repaired, false);
    if (r.lat_repaired.n > 0 && !std::isnan(baseline_p50)) {
        put(sec, "repair_delay.p50", "repair delay p50 (repaired - lossless p50)", Unit::kNs, "",
            static_cast<double>(r.lat_repaired.p50) - baseline_p50);
        put(sec, "repair_delay.p99", "repair delay p99 (repaired - lossless p50)", Unit::kNs, "",
            static_cast<double>(r.lat_repaired.p99) - baseline_p50);
    }
    if (s.delayed_threshold_ns > 0) {
        put_latency(sec, "delayed", "delayed messages (> lossless p99 + margin)", r.lat_delayed,
                    false);
    }
    put_counter(sec, "rx.injected_drops", "datagrams dropped by inject_loss", r.injected_drops);
    put_counter(sec, "rx.repairs_received", "repairs received", r.repairs_received);
    put_counter(sec, "rx.naks_sent", "NAKs sent", r.naks_sent);
    put_counter(sec, "rx.nak_retries", "NAKs sent again (repair late or lost)", r.nak_retries);
    put_counter(sec, "rx.srtt_us", "learned NAK-to-repair round trip, us", r.srtt_us);
    put_counter(sec, "rx.repair_timeout_us", "learned wait for a repair, us", r.repair_timeout_us);
    put_counter(sec, "rx.kernel_drops", "receive-buffer drops, kernel", r.kernel_drops);
    put_counter(sec, "tx.flow_stalls", "sender: waits for a receiver (flow control)",
                res.sender.flow_stalls);
    put_counter(sec, "tx.flow_probes", "sender: flow probes", res.sender.flow_probes);
    if (r.injected_drops != kUnknown && r.injected_drops > 0 && s.count > 0) {
        // Drops during the warm-up have no measured message: scale them out.
        const double measured = static_cast<double>(s.count - std::min(s.count, s.warmup)) /
                                static_cast<double>(s.count);
        put(sec, "repaired_per_drop", "repaired messages found / injected drops", Unit::kCount, "",
            static_cast<double>(r.lat_repaired.n) /
                (static_cast<double>(r.injected_drops) * measured));
    }
}

}  // namespace perf
