// Test sink for the protocol core: records every datagram, delivery and event it is given.
// Header-only; test code only. Depends on src/proto and src/wire, nothing else.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <variant>
#include <vector>

#include "proto/events.h"
#include "proto/output.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace blip::proto {
// Lets GoogleTest print an event readably in assertion messages (found by ADL).
inline void PrintTo(const Event& ev, std::ostream* os) {
    *os << to_string(ev.type) << " from " << ev.from.node << "/" << ev.from.session << "/"
        << ev.from.stream;
    if (ev.type == EventType::kLoss) {
        *os << " mseq [" << ev.first_mseq << ", +" << ev.count << ")"
            << (ev.open_ended ? " open-ended" : "") << " " << to_string(ev.reason);
    }
    if (ev.type == EventType::kSenderRestarted) *os << " old_session " << ev.old_session;
}
}  // namespace blip::proto

using Bytes = std::vector<std::uint8_t>;

/// One delivered message, copied (the core's bytes are valid only during the call).
struct Delivery {
    blip::proto::MessageInfo info;
    Bytes data;
};

/// Copies everything the core emits. Must not call back into the core (Output contract).
class RecordingOutput : public blip::proto::Output {
public:
    std::vector<Bytes> datagrams;
    std::vector<Delivery> deliveries;
    std::vector<blip::proto::Event> events;
    /// For each event, how many messages had been delivered before it (stream order).
    std::vector<std::size_t> event_after;

    void send_datagram(std::span<const std::uint8_t> datagram) override {
        datagrams.emplace_back(datagram.begin(), datagram.end());
    }
    void deliver(const blip::proto::MessageInfo& info,
                 std::span<const std::uint8_t> data) override {
        deliveries.push_back(Delivery{info, Bytes(data.begin(), data.end())});
    }
    void event(const blip::proto::Event& ev) override {
        events.push_back(ev);
        event_after.push_back(deliveries.size());
    }

    /// Decodes datagram i. The packet's views point into `datagrams[i]`: valid until the
    /// vector changes. A datagram the core sent that does not decode is a test failure.
    [[nodiscard]] blip::wire::Packet packet(std::size_t i) const {
        blip::wire::Packet p;
        if (i >= datagrams.size()) {
            ADD_FAILURE() << "no datagram " << i << " (have " << datagrams.size() << ")";
            return p;
        }
        const blip::wire::DecodeError e = blip::wire::decode(datagrams[i], p);
        EXPECT_EQ(e, blip::wire::DecodeError::kOk)
            << "datagram " << i << ": " << blip::wire::to_string(e);
        return p;
    }

    /// Number of datagrams of `type`.
    [[nodiscard]] std::size_t count(blip::wire::PacketType type) const {
        std::size_t n = 0;
        for (std::size_t i = 0; i < datagrams.size(); ++i) {
            if (packet(i).header.type == type) ++n;
        }
        return n;
    }

    /// Number of DATA datagrams with the repair flag.
    [[nodiscard]] std::size_t count_repairs() const {
        std::size_t n = 0;
        for (std::size_t i = 0; i < datagrams.size(); ++i) {
            const blip::wire::Packet p = packet(i);
            const auto* d = std::get_if<blip::wire::Data>(&p.body);
            if (d != nullptr && d->repair) ++n;
        }
        return n;
    }

    /// Number of events of `type`.
    [[nodiscard]] std::size_t count(blip::proto::EventType type) const {
        std::size_t n = 0;
        for (const auto& ev : events) {
            if (ev.type == type) ++n;
        }
        return n;
    }

    /// The events of `type`, in order.
    [[nodiscard]] std::vector<blip::proto::Event> events_of(blip::proto::EventType type) const {
        std::vector<blip::proto::Event> out;
        for (const auto& ev : events) {
            if (ev.type == type) out.push_back(ev);
        }
        return out;
    }

    /// The mseq of every delivery, in order.
    [[nodiscard]] std::vector<std::uint64_t> delivered_mseqs() const {
        std::vector<std::uint64_t> out;
        out.reserve(deliveries.size());
        for (const auto& d : deliveries) out.push_back(d.info.mseq);
        return out;
    }

    /// Moves the recorded datagrams out (the record starts empty again).
    std::vector<Bytes> take_datagrams() {
        std::vector<Bytes> out;
        out.swap(datagrams);
        return out;
    }

    void clear() {
        datagrams.clear();
        deliveries.clear();
        events.clear();
        event_after.clear();
    }
};
