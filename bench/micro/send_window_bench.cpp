// send_window_bench.cpp - micro-benchmarks of the sender's retransmit window
// (proto::SendWindow). Blip has no acknowledgements: the window moves when it is full, so
// "append" at steady state includes the eviction of the oldest datagram (what an ack would
// free), and "lookup" is what answering a NAK costs per datagram.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "proto/rng.h"
#include "proto/send_window.h"

namespace {

using blip::proto::SendWindow;
using blip::proto::StoredDatagram;

StoredDatagram datagram(std::size_t body, std::uint32_t messages) {
    StoredDatagram d;
    d.messages_started = messages;
    d.datagram.assign(body, 0x5A);
    return d;
}

// Appends datagrams of range(0) body bytes to a full window of 65,536 datagrams: each push
// allocates its buffer (as the sender does until the window is full) and evicts the oldest.
void BM_SendWindowAppendEvict(benchmark::State& state) {
    const auto body = static_cast<std::size_t>(state.range(0));
    const std::size_t held = 65536;
    SendWindow w(held * body, held);
    for (std::size_t i = 0; i < held; ++i) w.push(datagram(body, 1));
    for (auto _ : state) {
        w.push(datagram(body, 1));
        benchmark::DoNotOptimize(w.trail());
    }
    state.SetItemsProcessed(state.iterations());
    state.counters["held"] = static_cast<double>(w.datagrams());
}
BENCHMARK(BM_SendWindowAppendEvict)->Arg(64)->Arg(1400);

// Fills an empty window with 4096 datagrams and lets it go: growth without eviction.
void BM_SendWindowFill(benchmark::State& state) {
    const std::size_t n = 4096;
    for (auto _ : state) {
        SendWindow w(std::size_t{1} << 30, std::size_t{1} << 20);
        for (std::size_t i = 0; i < n; ++i) w.push(datagram(1024, 1));
        benchmark::DoNotOptimize(w.next());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_SendWindowFill);

// Random lookups in a full window of range(0) datagrams (a NAK names datagrams anywhere in it).
void BM_SendWindowLookup(benchmark::State& state) {
    const auto held = static_cast<std::size_t>(state.range(0));
    SendWindow w(held * 64, held);
    for (std::size_t i = 0; i < held + 1000; ++i) w.push(datagram(64, 1));
    blip::proto::Rng rng(42);
    std::vector<std::uint64_t> keys(4096);
    for (auto& k : keys) k = w.trail() + rng.below(w.datagrams());
    std::size_t i = 0;
    std::uint64_t found = 0;
    for (auto _ : state) {
        const StoredDatagram* d = w.find(keys[i++ & 4095]);
        found += d != nullptr ? d->messages_started : 0;
        benchmark::DoNotOptimize(found);
    }
    state.SetItemsProcessed(state.iterations());
    if (found != static_cast<std::uint64_t>(state.iterations()))
        state.SkipWithError("lookup missed");
}
BENCHMARK(BM_SendWindowLookup)->Arg(1024)->Arg(65536);

}  // namespace
