// Shared pieces of the simulator scenarios: seed count, configs, size distributions and
// the per-scenario report of repair figures.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "proto/config.h"
#include "proto/rng.h"
#include "sim/checker.h"
#include "sim/metrics.h"
#include "sim/network.h"

namespace blip::sim {

/// Seeds per scenario: BLIP_SIM_SEEDS, default 50 (CI's sanitizer build runs fewer).
inline int seed_count() {
    const char* s = std::getenv("BLIP_SIM_SEEDS");
    int n = s ? std::atoi(s) : 50;
    return n > 0 ? n : 50;
}

/// Log-uniform size in [lo, hi]: mostly small messages, some very large, like real traffic.
inline std::size_t log_uniform(proto::Rng& rng, std::size_t lo, std::size_t hi) {
    double x =
        std::log(double(lo)) + rng.uniform() * (std::log(double(hi) + 1) - std::log(double(lo)));
    std::size_t v = static_cast<std::size_t>(std::exp(x));
    return v < lo ? lo : (v > hi ? hi : v);
}

/// Sums the repair figures of all seeds of one scenario and prints them once.
struct Report {
    explicit Report(std::string n) : name(std::move(n)) {}
    std::string name;
    std::uint64_t lost = 0, nak_mentions = 0, repairs = 0, naks = 0, copies = 0;
    std::vector<proto::Duration> delays;
    double worst_naks_per_loss = 0;

    void add(const Metrics& m) {
        lost += m.lost.size();
        nak_mentions += m.nak_mentions_at_sender;
        repairs += m.repairs_sent;
        naks += m.naks_sent;
        copies += m.copies_dropped;
        delays.insert(delays.end(), m.repair_delays.begin(), m.repair_delays.end());
        if (worst_naks_per_loss < m.naks_per_loss()) worst_naks_per_loss = m.naks_per_loss();
    }
    [[nodiscard]] double naks_per_loss() const { return lost ? double(nak_mentions) / lost : 0; }
    [[nodiscard]] double repairs_per_loss() const { return lost ? double(repairs) / lost : 0; }
    void print(int seeds) const {
        Metrics m;
        m.repair_delays = delays;
        std::printf(
            "[sim] %-22s seeds=%d lost-datagrams=%llu lost-copies=%llu repairs/loss=%.2f "
            "NAKs/loss=%.2f (worst seed %.2f) NAK-packets=%llu repair-delay p50=%.0fus "
            "p99=%.0fus\n",
            name.c_str(), seeds, static_cast<unsigned long long>(lost),
            static_cast<unsigned long long>(copies), repairs_per_loss(), naks_per_loss(),
            worst_naks_per_loss, static_cast<unsigned long long>(naks),
            double(m.repair_delay_percentile(50).count()) / 1000.0,
            double(m.repair_delay_percentile(99).count()) / 1000.0);
        std::fflush(stdout);
    }
};

/// Mostly small messages with one in ten large (up to `large_max`), like mixed traffic.
inline std::size_t mixed_size(proto::Rng& rng, std::size_t large_max) {
    return rng.below(10) == 0 ? log_uniform(rng, 1024, large_max) : log_uniform(rng, 1, 1024);
}

/// Runs until every receiver has handled (delivered or reported) every message sent on
/// every stream in `ids`, or until `limit`. Returns whether that happened.
inline bool run_until_complete(Network& net, Checker& check, const std::vector<int>& receivers,
                               const std::vector<StreamId>& ids, Time limit) {
    return net.run_until(limit, [&] {
        for (int r : receivers) {
            for (const StreamId& id : ids) {
                if (!check.complete(r, id)) return false;
            }
        }
        return true;
    });
}

/// Runs `body(seed, checker, network)` for seeds 1..seed_count(), each with a fresh
/// checker and a network seeded with the seed, stopping at the first failing seed (its
/// number is in the failure trace). Prints the scenario's repair figures summed over the
/// seeds, and returns them.
template <class Body>
Report run_seeds(const std::string& name, Body body) {
    const int seeds = seed_count();
    Report report(name);
    for (int seed = 1; seed <= seeds && !::testing::Test::HasFailure(); ++seed) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        Checker check;
        Network net(static_cast<std::uint64_t>(seed), &check);
        body(seed, check, net);
        report.add(net.metrics());
    }
    report.print(seeds);
    return report;
}

/// Builds `n` nodes with `cfg`, returning their indices.
inline std::vector<int> add_nodes(Network& net, int n, const proto::EndpointConfig& cfg) {
    std::vector<int> out;
    for (int i = 0; i < n; ++i) out.push_back(net.add_node(cfg));
    return out;
}

}  // namespace blip::sim
