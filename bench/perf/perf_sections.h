// perf_sections.h - the building blocks of blip-perf's modes: run specifications with each
// mode's defaults, and sections (the repetitions of one configuration and their figures).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "perf_options.h"
#include "perf_report.h"
#include "perf_run.h"
#include "perf_spec.h"

namespace perf {

using Collect = std::function<void(Section&, const RunSpec&, const RepResult&)>;

/// Run specifications: the options where given, else `size`/`count` (flat out).
RunSpec throughput_spec(const Options& o, std::size_t size, std::uint64_t count);
RunSpec raw_spec(const Options& o, std::size_t size, std::uint64_t count);
/// 64 B at 10,000 messages/s, 30,000 messages, warm-up 1,000, unless the options say otherwise.
RunSpec latency_spec(const Options& o, Kind kind);

/// Runs `o.reps` repetitions of `s` and collects their figures. With `lower_on_failure`, a
/// failed repetition runs again at 85% of s.rate_limit (twice at most; noted as a problem).
Section run_section(const Options& o, const std::string& key, const std::string& title, RunSpec s,
                    const Collect& collect, bool lower_on_failure = false);
/// Throughput repetitions at the options' pace or, with `search`, at the highest Blip
/// rate_limit at which a run verifies (see search_rate in perf_modes.cpp).
Section throughput_section(const Options& o, const std::string& key, const std::string& title,
                           RunSpec s, bool search);
Section latency_section(const Options& o, const std::string& key, const RunSpec& s);
/// The repair test: a lossless baseline, then each loss level; appended to `doc`.
void repair_sections(const Options& o, Document& doc, const std::vector<double>& levels);

/// compare mode (perf_compare.cpp).
void run_compare(const Options& o, Document& doc);

}  // namespace perf
