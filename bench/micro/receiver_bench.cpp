// receiver_bench.cpp - micro-benchmarks of receive tracking: proto::Receiver fed a real
// sender's DATA datagrams in order, and with 1% of them missing (gap detection, NAKs from
// poll(), repairs arriving 20 datagrams later, reorder buffer); and the whole receive path of
// an Endpoint (decode, stream lookup, receiver, delivery). Items are messages delivered.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <utility>
#include <variant>
#include <vector>

#include "micro_common.h"
#include "proto/config.h"
#include "proto/endpoint.h"
#include "proto/receiver.h"
#include "proto/rng.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace {

namespace proto = blip::proto;
namespace wire = blip::wire;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)

// 20,000 messages, fewer when large: a stream stays within ~16 MB.
std::size_t stream_messages(std::size_t size) {
    return std::max<std::size_t>(1000, std::min<std::size_t>(20000, (16u << 20) / size));
}

// A stream decoded once: the benchmark times the receiver, not the codec.
struct Decoded {
    std::vector<blip_bench::Bytes> raw;
    std::vector<wire::Data> data;
    std::size_t messages = 0;
};

Decoded decode_stream(std::size_t size) {
    Decoded s;
    s.messages = stream_messages(size);
    s.raw = blip_bench::make_stream(s.messages, size);
    for (const auto& d : s.raw) {
        wire::Packet p;
        if (wire::decode(d, p) != wire::DecodeError::kOk) return {};
        s.data.push_back(std::get<wire::Data>(p.body));
    }
    return s;
}

// Every datagram in order, one every microsecond of virtual time.
void BM_ReceiverInOrder(benchmark::State& state) {
    const Decoded s = decode_stream(static_cast<std::size_t>(state.range(0)));
    if (s.data.empty()) {
        state.SkipWithError("could not build the stream");
        return;
    }
    const proto::ReceiverConfig cfg;
    for (auto _ : state) {
        proto::Rng rng(1);
        blip_bench::CountingOutput out;
        proto::Receiver rx(cfg, blip_bench::kKey, rng, 1400, 0, true);
        proto::Time now = blip_bench::kStart;
        for (std::size_t i = 0; i < s.data.size(); ++i) {
            now += 1us;
            rx.on_data(now, s.data[i], s.raw[i], out);
        }
        if (out.messages != s.messages) {
            state.SkipWithError("not every message was delivered");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(s.messages));
    state.counters["datagrams"] = static_cast<double>(s.data.size());
}
BENCHMARK(BM_ReceiverInOrder)->Arg(64)->Arg(1024)->Arg(8192)->Unit(benchmark::kMicrosecond);

// 1% of the datagrams (a fixed seeded choice) go missing. One datagram every 10 us of virtual
// time (100,000/s); poll() runs every 16 datagrams as the timer would and sends the NAKs (due
// 20-520 us after the gap is seen); each missing datagram arrives as a repair 100 datagrams
// (1 ms) after it should have, so the reorder buffer holds ~100 datagrams meanwhile.
void BM_ReceiverGaps1pct(benchmark::State& state) {
    const Decoded s = decode_stream(static_cast<std::size_t>(state.range(0)));
    if (s.data.empty()) {
        state.SkipWithError("could not build the stream");
        return;
    }
    std::vector<bool> dropped(s.data.size(), false);
    proto::Rng pick(7);
    for (std::size_t i = 1; i < s.data.size(); ++i) dropped[i] = pick.uniform() < 0.01;
    const proto::ReceiverConfig cfg;
    std::uint64_t naks = 0;
    for (auto _ : state) {
        proto::Rng rng(1);
        blip_bench::CountingOutput out;
        proto::Receiver rx(cfg, blip_bench::kKey, rng, 1400, 0, true);
        proto::Time now = blip_bench::kStart;
        std::deque<std::pair<std::size_t, std::size_t>> repairs;  // (due at step, datagram)
        auto repair = [&](std::size_t i) {
            wire::Data d = s.data[i];
            d.repair = true;
            rx.on_data(now, d, s.raw[i], out);
        };
        for (std::size_t i = 0; i < s.data.size(); ++i) {
            now += 10us;
            while (!repairs.empty() && repairs.front().first <= i) {
                repair(repairs.front().second);
                repairs.pop_front();
            }
            if (dropped[i]) {
                repairs.emplace_back(i + 100, i);
            } else {
                rx.on_data(now, s.data[i], s.raw[i], out);
            }
            if (i % 16 == 0) rx.poll(now, out);
        }
        for (; !repairs.empty(); repairs.pop_front()) repair(repairs.front().second);
        rx.poll(now + 1s, out);
        naks = rx.stats().naks_sent;
        if (out.messages != s.messages) {
            state.SkipWithError("not every message was delivered");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(s.messages));
    state.counters["naks"] = static_cast<double>(naks);
}
BENCHMARK(BM_ReceiverGaps1pct)->Arg(64)->Arg(1024)->Unit(benchmark::kMicrosecond);

// The whole receive path: raw datagrams into an Endpoint (decode, sender stream lookup,
// receiver, delivery), as the socket layer hands them over.
void BM_EndpointReceive(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::size_t messages = stream_messages(size);
    const std::vector<blip_bench::Bytes> raw = blip_bench::make_stream(messages, size);
    proto::EndpointConfig cfg;
    cfg.node_id = 0x9999;
    cfg.session_id = 0x8888;
    for (auto _ : state) {
        blip_bench::CountingOutput out;
        proto::Endpoint ep(cfg, out, blip_bench::kStart);
        proto::Time now = blip_bench::kStart;
        for (const auto& d : raw) {
            now += 1us;
            ep.on_datagram(now, d);
        }
        if (out.messages != messages) {
            state.SkipWithError("not every message was delivered");
            break;
        }
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(messages));
    state.counters["datagrams"] = static_cast<double>(raw.size());
}
BENCHMARK(BM_EndpointReceive)->Arg(64)->Arg(1024)->Unit(benchmark::kMicrosecond);

}  // namespace
