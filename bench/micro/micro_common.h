// micro_common.h - what the micro-benchmarks share: a sink that counts what the core emits,
// and streams of real DATA datagrams made by a real Sender. Depends on src/proto and src/wire.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "proto/config.h"
#include "proto/events.h"
#include "proto/output.h"
#include "proto/sender.h"
#include "proto/time.h"

namespace blip_bench {

using Bytes = std::vector<std::uint8_t>;

inline constexpr blip::proto::StreamKey kKey{0x1111222233334444ULL, 0x5555666677778888ULL, 7};
inline constexpr blip::proto::Time kStart{std::chrono::seconds(1)};

/// Counts deliveries and datagrams; keeps nothing (the core's bytes are only valid in the call).
class CountingOutput : public blip::proto::Output {
public:
    std::uint64_t datagrams = 0;
    std::uint64_t datagram_bytes = 0;
    std::uint64_t messages = 0;
    std::uint64_t message_bytes = 0;
    std::uint64_t events = 0;

    void send_datagram(std::span<const std::uint8_t> d) override {
        ++datagrams;
        datagram_bytes += d.size();
    }
    void deliver(const blip::proto::MessageInfo& /*info*/,
                 std::span<const std::uint8_t> data) override {
        ++messages;
        message_bytes += data.size();
    }
    void event(const blip::proto::Event& /*ev*/) override { ++events; }
};

/// Keeps a copy of every datagram.
class CollectingOutput : public blip::proto::Output {
public:
    std::vector<Bytes> datagrams;
    void send_datagram(std::span<const std::uint8_t> d) override {
        datagrams.emplace_back(d.begin(), d.end());
    }
    void deliver(const blip::proto::MessageInfo& /*info*/,
                 std::span<const std::uint8_t> /*data*/) override {}
    void event(const blip::proto::Event& /*ev*/) override {}
};

/// The DATA datagrams a default Sender makes of `messages` messages of `size` bytes (batched
/// below ~1.3 KB, fragmented above), flushed every 1000 messages so that batches are full.
inline std::vector<Bytes> make_stream(std::size_t messages, std::size_t size) {
    blip::proto::SenderConfig cfg;
    blip::proto::Sender sender(cfg, kKey, kStart);
    CollectingOutput out;
    Bytes msg(size);
    for (std::size_t i = 0; i < messages; ++i) {
        for (std::size_t k = 0; k < size; ++k) msg[k] = static_cast<std::uint8_t>(i + k);
        std::uint64_t mseq = 0;
        (void)sender.submit(kStart, msg, &mseq);
        if (sender.queued_messages() >= 1000) sender.flush(kStart, out);
    }
    sender.flush(kStart, out);
    // The first flush may carry a heartbeat (the session announces itself): keep DATA only.
    std::vector<Bytes> data;
    for (Bytes& d : out.datagrams) {
        if (d.size() > 5 && d[5] == 1) data.push_back(std::move(d));  // type byte: DATA
    }
    return data;
}

}  // namespace blip_bench
