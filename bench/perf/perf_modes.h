// perf_modes.h - blip-perf's modes: each turns the options into run specifications, runs the
// repetitions and turns the reports into sections of figures (and, for compare, targets).
#pragma once

#include "perf_options.h"
#include "perf_report.h"

namespace perf {

/// Runs `o.mode` and appends its sections (and targets) to `doc`.
void run_mode(const Options& o, Document& doc);

}  // namespace perf
