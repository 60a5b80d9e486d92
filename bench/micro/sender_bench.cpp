// sender_bench.cpp - micro-benchmarks of the sending half (proto::Sender): submit (the copy
// into the send queue) and flush (packing into datagrams, the window, the encode), and the
// answer to a NAK. Items are messages.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "micro_common.h"
#include "proto/config.h"
#include "proto/sender.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace {

namespace proto = blip::proto;
namespace wire = blip::wire;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

constexpr int kPerFlush = 240;

// Submits 240 messages of range(0) bytes (whole datagrams' worth: 20 of 64 B fit one), then
// flushes them, over and over: the window fills to its default limit and then evicts, as in a
// long run.
void BM_SenderSubmitFlush(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const proto::SenderConfig cfg;
    proto::Sender sender(cfg, blip_bench::kKey, blip_bench::kStart);
    blip_bench::CountingOutput out;
    const std::vector<std::uint8_t> msg(size, 0x42);
    proto::Time now = blip_bench::kStart;
    for (auto _ : state) {
        now += 10us;
        for (int i = 0; i < kPerFlush; ++i) {
            std::uint64_t mseq = 0;
            if (sender.submit(now, msg, &mseq) != proto::Status::kOk) {
                state.SkipWithError("submit refused");
                return;
            }
        }
        sender.flush(now, out);
    }
    state.SetItemsProcessed(state.iterations() * kPerFlush);
    state.SetBytesProcessed(state.iterations() * kPerFlush * static_cast<std::int64_t>(size));
    state.counters["datagrams_per_msg"] =
        static_cast<double>(out.datagrams) / static_cast<double>(state.iterations() * kPerFlush);
}
BENCHMARK(BM_SenderSubmitFlush)->Arg(64)->Arg(1024)->Arg(8192);

// A NAK for one datagram of a full window and the repair it causes (holdoff expired).
void BM_SenderNakRepair(benchmark::State& state) {
    const proto::SenderConfig cfg;
    proto::Sender sender(cfg, blip_bench::kKey, blip_bench::kStart);
    blip_bench::CountingOutput out;
    const std::vector<std::uint8_t> msg(1024, 0x42);
    proto::Time now = blip_bench::kStart;
    for (int i = 0; i < 20000; ++i) {
        std::uint64_t mseq = 0;
        (void)sender.submit(now, msg, &mseq);
    }
    sender.flush(now, out);
    std::vector<std::uint8_t> buf(1400);
    wire::Header h;
    h.type = wire::PacketType::kNak;
    h.node = blip_bench::kKey.node;
    h.session = blip_bench::kKey.session;
    h.stream = blip_bench::kKey.stream;
    std::uint64_t dseq = 0;
    const std::uint64_t held = sender.next_dseq() - sender.trail();
    for (auto _ : state) {
        const wire::SeqRange r{sender.trail() + dseq++ % held, 1};
        buf.resize(1400);
        buf.resize(wire::encode_nak(buf, h, std::span(&r, 1)));
        wire::Packet p;
        (void)wire::decode(buf, p);
        now += 1ms;  // past the repair holdoff, within the repair rate
        sender.on_nak(now, std::get<wire::Nak>(p.body));
        sender.flush(now, out);
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["repairs"] = static_cast<double>(sender.stats().repairs_sent);
}
BENCHMARK(BM_SenderNakRepair);

}  // namespace
