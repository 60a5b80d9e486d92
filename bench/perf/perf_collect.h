// perf_collect.h - turns the reports of one blip-perf repetition into figures of a section.
#pragma once

#include "perf_report.h"
#include "perf_run.h"
#include "perf_spec.h"

namespace perf {

/// Throughput and raw: messages (datagrams) and MB per second for each receiver, from the
/// sender's first send to the receiver's last delivery; counters, CPU and memory.
void collect_rates(Section& sec, const RunSpec& s, const RepResult& res);
/// Latency (one-way or round trip) percentiles from the intended send time and from the send
/// call, and the sender's lateness.
void collect_latency(Section& sec, const RunSpec& s, const RepResult& res);
/// Repair: latency of all messages, of the repaired ones, the repair delay (their latency minus
/// `baseline_p50`, the lossless median; NaN: not known) and the delayed subset.
void collect_repair(Section& sec, const RunSpec& s, const RepResult& res, double baseline_p50);

}  // namespace perf
