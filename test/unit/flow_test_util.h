// Shared by the flow-control unit tests (flow_control_test.cpp, flow_receiver_test.cpp): the
// stream under test, the reporting receiver, the epoch of virtual time, and readable times.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "proto/events.h"
#include "proto/receiver.h"
#include "proto/time.h"

namespace flow_test {

inline constexpr blip::proto::StreamKey kKey{0x5E4D, 0x5E55, 9};  // the sender stream under test
inline constexpr blip::proto::ReporterId kMe{0xB0B, 0xB0B5};      // the receiver that reports
inline constexpr blip::proto::Time kT0{
    std::chrono::seconds{10}};  // an arbitrary epoch: nothing may assume 0
// A message of this size travels alone in a datagram: two do not fit in a 1400-byte batch.
inline constexpr std::size_t kMsg = 1000;

/// Nanoseconds since kT0, for readable failure messages.
inline std::int64_t ns(blip::proto::Time t) { return (t - kT0).count(); }

inline std::vector<std::int64_t> ns(const std::vector<blip::proto::Time>& ts) {
    std::vector<std::int64_t> v;
    v.reserve(ts.size());
    for (blip::proto::Time t : ts) v.push_back(ns(t));
    return v;
}

}  // namespace flow_test
