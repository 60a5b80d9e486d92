// Test helpers for the wire codec tests: packet builders over the production encoders,
// big-endian field patching, and decoding from an exactly sized heap copy (so that
// AddressSanitizer sees any read past a datagram). Header-only; test code only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "../common/packet_reencode.h"
#include "wire/bytes.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace blip::wire {
// Lets GoogleTest print "truncated packet" instead of a raw byte.
inline void PrintTo(DecodeError e, std::ostream* os) { *os << to_string(e); }
}  // namespace blip::wire

namespace blip::testutil {
using namespace blip::wire;  // NOLINT(google-build-using-namespace): test vocabulary

using Bytes = std::vector<std::uint8_t>;
inline constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
inline constexpr std::uint32_t kU32Max = std::numeric_limits<std::uint32_t>::max();

inline Header make_header(PacketType type, std::uint8_t flags = 0) {
    Header h;
    h.type = type;
    h.flags = flags;
    h.node = 0x0102030405060708;
    h.session = 0x1112131415161718;
    h.stream = 0x21222324;
    return h;
}

inline Bytes str(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Builds a batch DATA; the buffer is oversized on purpose so that datagrams above
// kMaxDatagramSize can be built for the kTooLarge test.
inline Bytes make_batch(const std::vector<Bytes>& msgs, std::uint8_t flags = 0,
                        std::uint64_t dseq = 1000, std::uint64_t mseq = 5000,
                        std::uint32_t trail_back = 100, std::uint32_t age_ms = 42) {
    Bytes out(2 * kMaxDatagramSize + 4096);
    EXPECT_TRUE(encode_data_prefix(out, make_header(PacketType::kData, flags), dseq, mseq,
                                   trail_back, age_ms));
    ByteWriter w(std::span<std::uint8_t>(out).subspan(kDataPrefixSize));
    w.u16(static_cast<std::uint16_t>(msgs.size()));
    for (const Bytes& m : msgs) {
        w.u16(static_cast<std::uint16_t>(m.size()));
        w.bytes(m);
    }
    EXPECT_TRUE(w.ok());
    out.resize(kDataPrefixSize + w.size());
    return out;
}

inline Bytes make_fragment(std::uint32_t total_len, std::uint32_t offset, const Bytes& chunk,
                           std::uint8_t flags = kFlagFragment, std::uint64_t dseq = 2000,
                           std::uint64_t mseq = 7, std::uint32_t trail_back = 2000,
                           std::uint32_t age_ms = 9) {
    Bytes out(kDataPrefixSize + kFragmentHeaderSize + chunk.size());
    EXPECT_TRUE(encode_data_prefix(out, make_header(PacketType::kData, flags), dseq, mseq,
                                   trail_back, age_ms));
    ByteWriter w(std::span<std::uint8_t>(out).subspan(kDataPrefixSize));
    w.u32(total_len);
    w.u32(offset);
    w.bytes(chunk);
    EXPECT_TRUE(w.ok());
    EXPECT_EQ(w.remaining(), 0u);
    return out;
}

inline Bytes make_heartbeat(const Heartbeat& hb) {
    Bytes out(kHeaderSize + kHeartbeatBodySize);
    EXPECT_EQ(encode_heartbeat(out, make_header(PacketType::kHeartbeat), hb), out.size());
    return out;
}

inline Bytes make_nak(const std::vector<SeqRange>& ranges) {
    Bytes out(kMaxDatagramSize);
    std::size_t n = encode_nak(out, make_header(PacketType::kNak), ranges);
    EXPECT_NE(n, 0u);
    out.resize(n);
    return out;
}

inline Bytes make_unavailable(std::uint64_t trail, const std::vector<SeqRange>& ranges) {
    Bytes out(kMaxDatagramSize);
    std::size_t n = encode_unavailable(out, make_header(PacketType::kUnavailable), trail, ranges);
    EXPECT_NE(n, 0u);
    out.resize(n);
    return out;
}

inline Bytes make_status(const StatusReport& st) {
    Bytes out(kHeaderSize + kStatusBodySize);
    EXPECT_EQ(encode_status(out, make_header(PacketType::kStatus), st), out.size());
    return out;
}

inline void put_be(Bytes& b, std::size_t off, std::uint64_t v, std::size_t width) {
    for (std::size_t i = 0; i < width; ++i) {
        b.at(off + i) = static_cast<std::uint8_t>(v >> (8 * (width - 1 - i)));
    }
}

inline std::uint64_t get_be(const Bytes& b, std::size_t off, std::size_t width) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) v = (v << 8) | b.at(off + i);
    return v;
}

// Decodes from an exactly sized heap copy so that AddressSanitizer flags any read past
// the end of the datagram; the views in `packet` point into `buf`.
struct Decoded {
    std::unique_ptr<std::uint8_t[]> buf;
    std::size_t size = 0;
    Packet packet;
    DecodeError error = DecodeError::kOk;
    [[nodiscard]] std::span<const std::uint8_t> bytes() const { return {buf.get(), size}; }
};

inline Decoded decode_copy(std::span<const std::uint8_t> in) {
    Decoded d;
    d.size = in.size();
    d.buf = std::make_unique<std::uint8_t[]>(in.size());
    std::copy(in.begin(), in.end(), d.buf.get());
    d.error = decode(d.bytes(), d.packet);
    return d;
}

inline DecodeError decode_error(const Bytes& b) { return decode_copy(b).error; }

inline std::vector<Bytes> batch_messages(const Data& d) {
    std::vector<Bytes> out;
    for (std::span<const std::uint8_t> m : d.messages) out.emplace_back(m.begin(), m.end());
    return out;
}

inline std::vector<SeqRange> range_vector(const RangeList& list) {
    std::vector<SeqRange> out;
    for (std::size_t i = 0; i < list.size(); ++i) out.push_back(list[i]);
    return out;
}

inline void expect_header(const Header& h, PacketType type, std::uint8_t flags) {
    Header want = make_header(type, flags);
    EXPECT_EQ(h.type, want.type);
    EXPECT_EQ(h.flags, want.flags);
    EXPECT_EQ(h.node, want.node);
    EXPECT_EQ(h.session, want.session);
    EXPECT_EQ(h.stream, want.stream);
}

inline void expect_reencodes(const Decoded& d) {
    EXPECT_TRUE(testutil::reencodes_to(d.packet, d.bytes()));
}

}  // namespace blip::testutil
