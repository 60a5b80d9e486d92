// demo_report.h - blip-demo's human-readable output: what runs, and the result table.
#pragma once

#include <vector>

#include "demo_roles.h"

namespace demo {

/// What the demo is about to do (group, processes, messages, loss).
void print_intro(const Params& p);

/// The sender's line and one row per receiver; `reported[i]` false: receiver i sent no report.
void print_report(const Params& p, const SenderReport& s, bool sender_reported,
                  const std::vector<ReceiverReport>& r, const std::vector<bool>& reported);

}  // namespace demo
