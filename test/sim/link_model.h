// Seeded models of what a network does to a datagram on one path: independent or bursty
// (Gilbert-Elliott) loss, duplication, and delay with jitter (which reorders).
#pragma once

#include <cstdint>

#include "proto/rng.h"
#include "proto/time.h"

namespace blip::sim {

using proto::Duration;
using proto::Time;
using namespace std::chrono_literals;

struct LinkModel {
    /// Independent loss probability per datagram.
    double loss = 0.0;
    /// Bursty loss (Gilbert-Elliott): in the bad state every datagram is lost. The chain
    /// moves good->bad with p_enter_burst and bad->good with p_leave_burst per datagram;
    /// average loss p_enter / (p_enter + p_leave), mean burst length 1 / p_leave.
    double p_enter_burst = 0.0;
    double p_leave_burst = 1.0;
    /// Longest burst allowed (the chain is forced back to good after this many drops).
    std::uint32_t max_burst = 0xFFFFFFFF;
    /// Probability that a datagram is delivered twice (the copy gets its own delay).
    double duplicate = 0.0;
    /// One-way delay: base + uniform [0, jitter]. Jitter larger than the gap between
    /// datagrams reorders them.
    Duration delay = 50us;
    Duration jitter = 0us;
};

/// The state of one directed path under a LinkModel.
class LinkState {
public:
    /// True if the next datagram on this path is lost.
    bool drop(const LinkModel& m, proto::Rng& rng) {
        if (m.p_enter_burst > 0.0) {
            if (in_burst_) {
                if (burst_len_ >= m.max_burst || rng.uniform() < m.p_leave_burst) {
                    in_burst_ = false;
                } else {
                    ++burst_len_;
                    return true;
                }
            } else if (rng.uniform() < m.p_enter_burst) {
                in_burst_ = true;
                burst_len_ = 1;
                return true;
            }
        }
        return m.loss > 0.0 && rng.uniform() < m.loss;
    }

private:
    bool in_burst_ = false;
    std::uint32_t burst_len_ = 0;
};

}  // namespace blip::sim
