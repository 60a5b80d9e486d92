// perf_run.h - one repetition of a blip-perf run: forks the receivers, waits until they listen,
// forks the sender, drives both over pipes and collects their reports, under a deadline that
// kills every child when it passes. The parent never creates a Blip context (fork first).
#pragma once

#include <string>
#include <vector>

#include "perf_spec.h"

namespace perf {

struct RepResult {
    bool ok = false;                // every role reported and verified everything
    std::string error;              // the first problem, when !ok
    Report sender;                  // the sender's final report (or what it sent before failing)
    std::vector<Report> receivers;  // final reports, by receiver index
    double wall_s = 0;
};

/// Runs one repetition of `s` (its receivers, then its sender), giving up after `timeout_s`.
RepResult run_rep(const RunSpec& s, int timeout_s);

}  // namespace perf
