// Seeded randomized totality test of the protocol v1 decoder (src/wire/codec.cpp): random
// and mutated datagrams never misbehave, and whatever decodes re-encodes to itself.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "../common/wire_test_util.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace blip::wire {
namespace {

using namespace blip::testutil;  // NOLINT(google-build-using-namespace)

// ---------------------------------------------------------------------------------------
// Randomized totality: decode never misbehaves, and every accepted datagram re-encodes to
// itself (reserved bytes aside), so decode is canonical.

struct TotalityStats {
    int ok = 0;
    int mismatches = 0;
};

void check_total(std::span<const std::uint8_t> in, TotalityStats& stats) {
    Decoded d = decode_copy(in);
    ASSERT_LE(static_cast<int>(d.error), static_cast<int>(DecodeError::kTooLarge));
    if (d.error != DecodeError::kOk) return;
    ++stats.ok;
    volatile std::uint64_t sink = testutil::touch_all_views(d.packet);
    (void)sink;
    if (!testutil::reencodes_to(d.packet, d.bytes()) && ++stats.mismatches <= 5) {
        std::string hex;
        for (std::uint8_t b : in) {
            char buf[4];
            std::snprintf(buf, sizeof buf, "%02x", b);
            hex += buf;
        }
        ADD_FAILURE() << "decoded but does not re-encode to itself: " << hex;
    }
}

Bytes random_bytes(std::mt19937_64& rng, std::size_t n) {
    Bytes b(n);
    for (std::uint8_t& x : b) x = static_cast<std::uint8_t>(rng());
    return b;
}

// Mostly a valid v1 header with a random body of a plausible length, so that the
// type-specific checks are reached; sometimes fully random bytes.
Bytes random_datagram(std::mt19937_64& rng) {
    if (rng() % 8 == 0) return random_bytes(rng, rng() % 96);
    static constexpr std::size_t kBodyLens[] = {0, 1, 24, 26, 28, 29, 32, 36, 40, 44, 52, 64};
    std::size_t body = rng() % 4 == 0 ? rng() % 160 : kBodyLens[rng() % std::size(kBodyLens)];
    Bytes b = random_bytes(rng, kHeaderSize + body);
    put_be(b, 0, kMagic, 4);
    b[4] = rng() % 32 == 0 ? static_cast<std::uint8_t>(rng()) : kVersion;
    b[5] = static_cast<std::uint8_t>(rng() % 7);  // 1-5 defined; 0 and 6 unknown
    b[6] = rng() % 4 == 0 ? static_cast<std::uint8_t>(rng()) : static_cast<std::uint8_t>(rng() % 4);
    return b;
}

std::vector<Bytes> seed_packets() {
    return {
        make_batch({str("hello"), {}, str("world!")}),
        make_batch({{}}),
        make_batch({str("abc")}, kFlagRepair, 5, 5, 5, 5),
        make_fragment(100, 10, str("abcdefgh")),
        make_fragment(8, 0, str("abcdefgh"), kFlagFragment | kFlagRepair, 3, 1, 0, 0),
        make_heartbeat({.trail = 5, .next_dseq = 9, .next_mseq = 20, .age_ms = 1000}),
        make_nak({{3, 2}, {10, 1}, {kU64Max - 10, 10}}),
        make_unavailable(100, {{10, 5}, {90, 10}}),
        make_status({.receiver_node = 3, .receiver_session = 4, .position = 10, .limit = 20}),
    };
}

// Offsets of the integer fields whose edits are most likely to matter.
struct Field {
    std::size_t offset, width;
};

std::vector<Field> fields_of(const Bytes& b) {
    std::vector<Field> f = {{4, 1}, {5, 1}, {6, 1}};
    if (b.size() < kHeaderSize) return f;
    switch (b[5]) {
        case 1:
            f.insert(f.end(), {{28, 8}, {36, 8}, {44, 4}, {48, 4}});
            if ((b[6] & kFlagFragment) != 0) {
                f.insert(f.end(), {{52, 4}, {56, 4}});
            } else {
                f.insert(f.end(), {{52, 2}, {54, 2}, {56, 2}, {61, 2}});
            }
            break;
        case 2:
            f.insert(f.end(), {{28, 8}, {36, 8}, {44, 8}});
            break;
        case 3:
            f.insert(f.end(), {{28, 2}, {32, 8}, {40, 4}, {44, 8}, {52, 4}});
            break;
        case 4:
            f.insert(f.end(), {{28, 8}, {36, 2}, {40, 8}, {48, 4}, {52, 8}});
            break;
        case 5:
            f.insert(f.end(), {{28, 8}, {36, 8}, {44, 8}, {52, 8}});
            break;
        default:
            break;
    }
    return f;
}

void mutate(Bytes& b, std::mt19937_64& rng) {
    switch (rng() % 5) {
        case 0:  // flip one bit
            if (!b.empty()) b[rng() % b.size()] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            break;
        case 1:  // truncate
            b.resize(rng() % (b.size() + 1));
            break;
        case 2: {  // append
            Bytes more = random_bytes(rng, 1 + rng() % 16);
            b.insert(b.end(), more.begin(), more.end());
            break;
        }
        case 3:  // overwrite one byte
            if (!b.empty()) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
            break;
        default: {  // edit a length or sequence field towards a boundary
            std::vector<Field> f = fields_of(b);
            Field fd = f[rng() % f.size()];
            if (fd.offset + fd.width > b.size()) break;
            const std::uint64_t top =
                fd.width == 8 ? kU64Max : (std::uint64_t{1} << (8 * fd.width)) - 1;
            std::uint64_t v = get_be(b, fd.offset, fd.width);
            switch (rng() % 6) {
                case 0:
                    v = 0;
                    break;
                case 1:
                    v = top;
                    break;
                case 2:
                    v += 1;
                    break;
                case 3:
                    v -= 1;
                    break;
                case 4:
                    v = rng();
                    break;
                default:
                    v += rng() % 16;
                    break;
            }
            put_be(b, fd.offset, v & top, fd.width);
            break;
        }
    }
}

TEST(WireRandom, RandomBytesDecodeTotallyAndCanonically) {
    std::mt19937_64 rng(0x424C4950);
    TotalityStats stats;
    for (int i = 0; i < 100000; ++i) check_total(random_datagram(rng), stats);
    RecordProperty("accepted", stats.ok);
    EXPECT_EQ(stats.mismatches, 0);
    EXPECT_GT(stats.ok, 1000);  // the success path was exercised, not only rejections
}

TEST(WireRandom, MutatedPacketsDecodeTotallyAndCanonically) {
    std::mt19937_64 rng(20240601);
    const std::vector<Bytes> seeds = seed_packets();
    TotalityStats stats;
    for (const Bytes& s : seeds) check_total(s, stats);
    ASSERT_EQ(stats.ok, static_cast<int>(seeds.size()));
    for (int i = 0; i < 100000; ++i) {
        Bytes b = seeds[rng() % seeds.size()];
        for (std::uint64_t k = 1 + rng() % 3; k > 0; --k) mutate(b, rng);
        check_total(b, stats);
    }
    RecordProperty("accepted", stats.ok);
    EXPECT_EQ(stats.mismatches, 0);
    EXPECT_GT(stats.ok, 10000);
}

}  // namespace
}  // namespace blip::wire
