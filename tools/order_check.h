// order_check.h - blip-recv --check-order: per (node, session, stream), every sequence number
// must be accounted for exactly once and in order, by a message or by a loss/overrun range.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>

namespace tools {

class OrderCheck {
public:
    /// A message. Returns "" or a description of the violation.
    std::string message(std::uint64_t node, std::uint64_t session, std::uint32_t stream,
                        std::uint64_t seq) {
        return range(node, session, stream, seq, 1, false);
    }

    /// Messages [first, first + count) reported lost or overrun; open-ended ends the stream.
    std::string range(std::uint64_t node, std::uint64_t session, std::uint32_t stream,
                      std::uint64_t first, std::uint64_t count, bool open_ended) {
        Stream& s = streams_[{node, session, stream}];
        std::string problem;
        if (s.ended) {
            problem = "sequence " + std::to_string(first) + " after an open-ended loss";
        } else if (s.started && first != s.next) {
            problem = "expected sequence " + std::to_string(s.next) + ", got " +
                      std::to_string(first) +
                      (first < s.next ? " (duplicate or reordered)" : " (silent gap)");
        }
        // The first thing heard of a stream sets its start: a late joiner starts anywhere.
        s.started = true;
        s.next = first + count;
        s.ended = s.ended || open_ended;
        if (!problem.empty()) ++violations_;
        return problem;
    }

    [[nodiscard]] std::uint64_t violations() const { return violations_; }

private:
    struct Stream {
        bool started = false;
        bool ended = false;
        std::uint64_t next = 0;
    };
    std::map<std::tuple<std::uint64_t, std::uint64_t, std::uint32_t>, Stream> streams_;
    std::uint64_t violations_ = 0;
};

}  // namespace tools
