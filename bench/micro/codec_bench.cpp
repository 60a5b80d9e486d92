// codec_bench.cpp - micro-benchmarks of the wire codec (src/wire): encoding and decoding DATA
// in batch form (many small messages per datagram) and fragment form (a piece of a large one),
// and NAKs. Items are datagrams; bytes are datagram bytes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <variant>
#include <vector>

#include "micro_common.h"
#include "wire/bytes.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace {

namespace wire = blip::wire;

wire::Header data_header(std::uint8_t flags) {
    wire::Header h;
    h.type = wire::PacketType::kData;
    h.flags = flags;
    h.node = blip_bench::kKey.node;
    h.session = blip_bench::kKey.session;
    h.stream = blip_bench::kKey.stream;
    return h;
}

// A batch DATA of range(0) messages of 64 bytes, written as the sender does: prefix, count,
// then each entry's length and bytes.
void BM_EncodeDataBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::vector<std::uint8_t> msg(64, 0xAB);
    std::vector<std::uint8_t> out(wire::kMaxDatagramSize);
    const wire::Header h = data_header(0);
    std::uint64_t dseq = 0;
    std::size_t size = 0;
    for (auto _ : state) {
        wire::encode_data_prefix(out, h, dseq, dseq * 20, 100, 5);
        wire::ByteWriter w{std::span<std::uint8_t>(out).subspan(wire::kDataPrefixSize)};
        w.u16(static_cast<std::uint16_t>(n));
        for (std::size_t i = 0; i < n; ++i) {
            w.u16(static_cast<std::uint16_t>(msg.size()));
            w.bytes(msg);
        }
        size = wire::kDataPrefixSize + w.size();
        benchmark::DoNotOptimize(out.data());
        ++dseq;
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}
BENCHMARK(BM_EncodeDataBatch)->Arg(1)->Arg(20);

// Decodes a batch DATA of range(0) messages of 64 bytes and walks its entries.
void BM_DecodeDataBatch(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    const std::vector<blip_bench::Bytes> stream = blip_bench::make_stream(n, 64);
    const blip_bench::Bytes& d = stream.front();
    std::size_t bytes = 0;
    for (auto _ : state) {
        wire::Packet p;
        if (wire::decode(d, p) != wire::DecodeError::kOk) {
            state.SkipWithError("decode failed");
            break;
        }
        const auto& data = std::get<wire::Data>(p.body);
        for (const auto entry : data.messages) bytes += entry.size();
        benchmark::DoNotOptimize(bytes);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(d.size()));
    state.counters["messages"] = static_cast<double>(n);
}
BENCHMARK(BM_DecodeDataBatch)->Arg(1)->Arg(20);

// One full-size fragment of a large message: prefix, fragment header, chunk copy.
void BM_EncodeDataFragment(benchmark::State& state) {
    const std::size_t datagram = 1400;
    const std::size_t chunk = datagram - wire::kDataPrefixSize - wire::kFragmentHeaderSize;
    const std::vector<std::uint8_t> msg(std::size_t{64} << 10, 0xCD);
    std::vector<std::uint8_t> out(datagram);
    const wire::Header h = data_header(wire::kFlagFragment);
    std::uint64_t dseq = 0;
    for (auto _ : state) {
        const std::size_t offset = (dseq * chunk) % (msg.size() - chunk);
        wire::encode_data_prefix(out, h, dseq, 3, 100, 5);
        wire::ByteWriter w{std::span<std::uint8_t>(out).subspan(wire::kDataPrefixSize)};
        w.u32(static_cast<std::uint32_t>(msg.size()));
        w.u32(static_cast<std::uint32_t>(offset));
        w.bytes(std::span(msg).subspan(offset, chunk));
        benchmark::DoNotOptimize(out.data());
        ++dseq;
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(datagram));
}
BENCHMARK(BM_EncodeDataFragment);

void BM_DecodeDataFragment(benchmark::State& state) {
    const std::vector<blip_bench::Bytes> stream = blip_bench::make_stream(1, std::size_t{64} << 10);
    const blip_bench::Bytes& d = stream.front();
    std::size_t bytes = 0;
    for (auto _ : state) {
        wire::Packet p;
        if (wire::decode(d, p) != wire::DecodeError::kOk) {
            state.SkipWithError("decode failed");
            break;
        }
        bytes += std::get<wire::Data>(p.body).chunk.size();
        benchmark::DoNotOptimize(bytes);
    }
    state.SetItemsProcessed(state.iterations());
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(d.size()));
}
BENCHMARK(BM_DecodeDataFragment);

std::vector<wire::SeqRange> nak_ranges(std::size_t n) {
    std::vector<wire::SeqRange> ranges;
    for (std::size_t i = 0; i < n; ++i) ranges.push_back({1000 + i * 10, 1 + i % 4});
    return ranges;
}

void BM_EncodeNak(benchmark::State& state) {
    const std::vector<wire::SeqRange> ranges = nak_ranges(static_cast<std::size_t>(state.range(0)));
    std::vector<std::uint8_t> out(1400);
    wire::Header h;
    h.type = wire::PacketType::kNak;
    h.node = blip_bench::kKey.node;
    h.session = blip_bench::kKey.session;
    std::size_t len = 0;
    for (auto _ : state) {
        len = wire::encode_nak(out, h, ranges);
        benchmark::DoNotOptimize(out.data());
    }
    if (len == 0) state.SkipWithError("encode_nak failed");
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EncodeNak)->Arg(1)->Arg(16)->Arg(100);

void BM_DecodeNak(benchmark::State& state) {
    const std::vector<wire::SeqRange> ranges = nak_ranges(static_cast<std::size_t>(state.range(0)));
    std::vector<std::uint8_t> out(1400);
    wire::Header h;
    h.type = wire::PacketType::kNak;
    out.resize(wire::encode_nak(out, h, ranges));
    std::uint64_t sum = 0;
    for (auto _ : state) {
        wire::Packet p;
        if (wire::decode(out, p) != wire::DecodeError::kOk) {
            state.SkipWithError("decode failed");
            break;
        }
        const auto& nak = std::get<wire::Nak>(p.body);
        for (std::size_t i = 0; i < nak.ranges.size(); ++i) sum += nak.ranges[i].count;
        benchmark::DoNotOptimize(sum);
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeNak)->Arg(1)->Arg(16)->Arg(100);

}  // namespace
