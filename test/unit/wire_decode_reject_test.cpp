// Unit tests of the protocol v1 decoder's rejections (src/wire/codec.cpp): one test per
// DecodeError reason, asserting the exact reason, including every truncation point.
#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "../common/wire_test_util.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace blip::wire {
namespace {

using namespace blip::testutil;  // NOLINT(google-build-using-namespace)

// ---------------------------------------------------------------------------------------
// Rejections: one reason each

TEST(WireReject, EmptyAndShorterThanMagic) {
    EXPECT_EQ(decode_error({}), DecodeError::kTruncated);
    EXPECT_EQ(decode_error({0x42}), DecodeError::kTruncated);
    EXPECT_EQ(decode_error({0x42, 0x4C}), DecodeError::kTruncated);
    EXPECT_EQ(decode_error({0x42, 0x4C, 0x49}), DecodeError::kTruncated);
    // Shorter than the magic and not a prefix of it: foreign, not a truncated Blip packet.
    EXPECT_EQ(decode_error({0x00, 0x00, 0x00}), DecodeError::kBadMagic);
    EXPECT_EQ(decode_error({0x42, 0x4C, 0x00}), DecodeError::kBadMagic);
    EXPECT_EQ(decode_error({0x7a}), DecodeError::kBadMagic);
}

TEST(WireReject, BadMagic) {
    Bytes hb = make_heartbeat({});
    for (std::size_t i = 0; i < 4; ++i) {
        Bytes b = hb;
        b[i] ^= 0x20;  // e.g. "bLIP"
        EXPECT_EQ(decode_error(b), DecodeError::kBadMagic) << "byte " << i;
    }
    // Foreign packets shorter than a Blip header are still foreign, not truncated.
    EXPECT_EQ(decode_error(str("GET ")), DecodeError::kBadMagic);
    EXPECT_EQ(decode_error(str("M-SEARCH * HTTP/1.1")), DecodeError::kBadMagic);
    EXPECT_EQ(decode_error(Bytes(27, 0)), DecodeError::kBadMagic);
    EXPECT_EQ(decode_error(Bytes(1000, 0xFF)), DecodeError::kBadMagic);
    // Blip magic but shorter than the header: truncated.
    EXPECT_EQ(decode_error(str("BLIP")), DecodeError::kTruncated);
    EXPECT_EQ(decode_error(Bytes(hb.begin(), hb.begin() + 27)), DecodeError::kTruncated);
}

TEST(WireReject, BadVersion) {
    for (std::uint8_t v : {0, 2, 3, 0x81, 0xFF}) {
        Bytes b = make_heartbeat({});
        b[4] = v;
        EXPECT_EQ(decode_error(b), DecodeError::kBadVersion) << int{v};
    }
}

TEST(WireReject, BadType) {
    // 1-5 are DATA, HEARTBEAT, NAK, UNAVAILABLE and STATUS.
    for (std::uint8_t t : {0, 6, 7, 0x80, 0xFF}) {
        Bytes b = make_heartbeat({});
        b[5] = t;
        EXPECT_EQ(decode_error(b), DecodeError::kBadType) << int{t};
    }
}

TEST(WireReject, UndefinedFlags) {
    for (int bit = 0; bit < 8; ++bit) {
        const auto f = static_cast<std::uint8_t>(1u << bit);
        if ((f & kDataFlagsMask) == 0) {
            Bytes batch = make_batch({str("a")});
            batch[6] = f;
            EXPECT_EQ(decode_error(batch), DecodeError::kBadFlags) << "DATA flag " << int{f};
            Bytes frag = make_fragment(1, 0, str("a"));
            frag[6] |= f;
            EXPECT_EQ(decode_error(frag), DecodeError::kBadFlags) << "DATA flag " << int{f};
        }
        Bytes hb = make_heartbeat({});
        hb[6] = f;
        EXPECT_EQ(decode_error(hb), DecodeError::kBadFlags) << "HEARTBEAT flag " << int{f};
        Bytes nak = make_nak({{1, 1}});
        nak[6] = f;
        EXPECT_EQ(decode_error(nak), DecodeError::kBadFlags) << "NAK flag " << int{f};
        Bytes un = make_unavailable(5, {{1, 1}});
        un[6] = f;
        EXPECT_EQ(decode_error(un), DecodeError::kBadFlags) << "UNAVAILABLE flag " << int{f};
        Bytes st = make_status({.position = 1, .limit = 2});
        st[6] = f;
        EXPECT_EQ(decode_error(st), DecodeError::kBadFlags) << "STATUS flag " << int{f};
    }
}

// Every strict prefix of a packet whose length is implied by its own fields must fail as
// truncated. A batch prefix can never be valid: the count and entry lengths are the same
// bytes as in the whole packet, so they demand exactly the whole packet's length.
void expect_prefixes_truncated(const Bytes& full, const char* what) {
    for (std::size_t len = 0; len < full.size(); ++len) {
        EXPECT_EQ(decode_copy(std::span(full).first(len)).error, DecodeError::kTruncated)
            << what << " cut to " << len << " of " << full.size() << " bytes";
    }
    EXPECT_EQ(decode_error(full), DecodeError::kOk) << what;
}

TEST(WireReject, EveryPrefixIsTruncated) {
    expect_prefixes_truncated(make_batch({str("hello"), {}, str("abc")}), "batch");
    expect_prefixes_truncated(make_batch({str("hello"), {}}), "batch ending in empty message");
    expect_prefixes_truncated(make_batch({{}, {}, {}}), "batch of empty messages");
    expect_prefixes_truncated(make_batch({str("x")}, kFlagRepair), "repair batch");
    expect_prefixes_truncated(make_heartbeat({.trail = 1, .next_dseq = 2}), "heartbeat");
    expect_prefixes_truncated(make_nak({{1, 2}, {5, 1}, {9, 3}}), "nak");
    expect_prefixes_truncated(make_unavailable(50, {{1, 2}, {5, 1}}), "unavailable");
    expect_prefixes_truncated(
        make_status({.receiver_node = 3, .receiver_session = 4, .position = 10, .limit = 20}),
        "status");
}

TEST(WireReject, FragmentPrefixes) {
    // The fragment form carries no chunk length: the chunk is the rest of the datagram.
    // A prefix that keeps at least one chunk byte is therefore itself a valid, shorter
    // fragment; UDP delivers whole datagrams, and the receive path must drop datagrams
    // the kernel truncated (MSG_TRUNC) before decoding.
    Bytes full = make_fragment(100, 10, str("abcdefgh"));
    const std::size_t chunk_at = kDataPrefixSize + kFragmentHeaderSize;  // 60
    for (std::size_t len = 0; len < full.size(); ++len) {
        Decoded d = decode_copy(std::span(full).first(len));
        if (len < chunk_at) {
            EXPECT_EQ(d.error, DecodeError::kTruncated) << len;
        } else if (len == chunk_at) {
            EXPECT_EQ(d.error, DecodeError::kBadLength) << len;  // empty chunk
        } else {
            ASSERT_EQ(d.error, DecodeError::kOk) << len;
            EXPECT_EQ(std::get<Data>(d.packet.body).chunk.size(), len - chunk_at);
            expect_reencodes(d);
        }
    }
}

TEST(WireReject, TrailingGarbage) {
    for (Bytes b :
         {make_batch({str("abc")}), make_batch({{}}), make_heartbeat({}), make_nak({{1, 1}}),
          make_unavailable(5, {{1, 1}}), make_status({.position = 1, .limit = 2})}) {
        b.push_back(0);
        EXPECT_EQ(decode_error(b), DecodeError::kBadLength) << "type " << int{b[5]};
    }
    // Twelve extra bytes look like one more range but the count says otherwise.
    Bytes nak = make_nak({{1, 1}});
    nak.insert(nak.end(), 12, 0x01);
    EXPECT_EQ(decode_error(nak), DecodeError::kBadLength);
    // A fragment's trailing bytes extend its chunk; past total_len they are rejected.
    Bytes frag = make_fragment(4, 0, str("abcd"));
    frag.push_back('e');
    EXPECT_EQ(decode_error(frag), DecodeError::kBadLength);
}

TEST(WireReject, LyingBatchLengths) {
    Bytes b = make_batch({str("abc"), str("de")});
    const std::size_t count_at = kDataPrefixSize, first_len_at = count_at + 2;
    const std::size_t last_len_at = first_len_at + 2 + 3;

    Bytes longer = b;  // last entry claims a byte beyond the datagram
    put_be(longer, last_len_at, 3, 2);
    EXPECT_EQ(decode_error(longer), DecodeError::kTruncated);
    Bytes huge = b;
    put_be(huge, first_len_at, 0xFFFF, 2);
    EXPECT_EQ(decode_error(huge), DecodeError::kTruncated);
    Bytes shorter = b;  // last entry leaves one byte over
    put_be(shorter, last_len_at, 1, 2);
    EXPECT_EQ(decode_error(shorter), DecodeError::kBadLength);

    Bytes more = b;  // count larger than the entries present
    put_be(more, count_at, 3, 2);
    EXPECT_EQ(decode_error(more), DecodeError::kTruncated);
    put_be(more, count_at, 0xFFFF, 2);
    EXPECT_EQ(decode_error(more), DecodeError::kTruncated);
    Bytes fewer = b;  // count smaller: the last entry is trailing garbage
    put_be(fewer, count_at, 1, 2);
    EXPECT_EQ(decode_error(fewer), DecodeError::kBadLength);
}

TEST(WireReject, LyingRangeCounts) {
    Bytes nak = make_nak({{1, 1}, {5, 2}, {9, 3}});
    const std::size_t nak_count_at = kHeaderSize;
    for (std::uint64_t n : {4, 5, 0xFFFF}) {
        Bytes b = nak;
        put_be(b, nak_count_at, n, 2);
        EXPECT_EQ(decode_error(b), DecodeError::kTruncated) << n;
    }
    for (std::uint64_t n : {1, 2}) {
        Bytes b = nak;
        put_be(b, nak_count_at, n, 2);
        EXPECT_EQ(decode_error(b), DecodeError::kBadLength) << n;
    }
    Bytes un = make_unavailable(50, {{1, 1}, {5, 2}});
    const std::size_t un_count_at = kHeaderSize + 8;
    Bytes more = un;
    put_be(more, un_count_at, 3, 2);
    EXPECT_EQ(decode_error(more), DecodeError::kTruncated);
    Bytes fewer = un;
    put_be(fewer, un_count_at, 1, 2);
    EXPECT_EQ(decode_error(fewer), DecodeError::kBadLength);
}

TEST(WireReject, ZeroCounts) {
    Bytes batch = make_batch({str("a")});
    put_be(batch, kDataPrefixSize, 0, 2);
    EXPECT_EQ(decode_error(batch), DecodeError::kBadField);  // entries still present
    batch.resize(kDataPrefixSize + kBatchCountSize);
    EXPECT_EQ(decode_error(batch), DecodeError::kBadField);  // and without them

    Bytes nak = make_nak({{1, 1}});
    put_be(nak, kHeaderSize, 0, 2);
    EXPECT_EQ(decode_error(nak), DecodeError::kBadField);
    nak.resize(kHeaderSize + kNakFixedSize);
    EXPECT_EQ(decode_error(nak), DecodeError::kBadField);

    Bytes un = make_unavailable(5, {{1, 1}});
    put_be(un, kHeaderSize + 8, 0, 2);
    EXPECT_EQ(decode_error(un), DecodeError::kBadField);
    un.resize(kHeaderSize + kUnavailableFixedSize);
    EXPECT_EQ(decode_error(un), DecodeError::kBadField);

    // A range naming no datagrams, first or later in the list.
    for (std::size_t i = 0; i < 2; ++i) {
        Bytes n2 = make_nak({{1, 1}, {5, 1}});
        put_be(n2, kHeaderSize + kNakFixedSize + i * kRangeSize + 8, 0, 4);
        EXPECT_EQ(decode_error(n2), DecodeError::kBadField) << i;
        Bytes u2 = make_unavailable(50, {{1, 1}, {5, 1}});
        put_be(u2, kHeaderSize + kUnavailableFixedSize + i * kRangeSize + 8, 0, 4);
        EXPECT_EQ(decode_error(u2), DecodeError::kBadField) << i;
    }
}

TEST(WireReject, RangeOverflow) {
    // first + count must not exceed 2^64 - 1; ending exactly there is fine.
    const std::size_t first_at = kHeaderSize + kNakFixedSize, count_at = first_at + 8;
    Bytes b = make_nak({{1, 1}});
    put_be(b, first_at, kU64Max - 5, 8);
    put_be(b, count_at, 5, 4);
    EXPECT_EQ(decode_error(b), DecodeError::kOk);
    put_be(b, count_at, 6, 4);
    EXPECT_EQ(decode_error(b), DecodeError::kBadField);
    put_be(b, first_at, kU64Max, 8);
    put_be(b, count_at, 1, 4);
    EXPECT_EQ(decode_error(b), DecodeError::kBadField);
    put_be(b, count_at, kU32Max, 4);
    EXPECT_EQ(decode_error(b), DecodeError::kBadField);

    Bytes later = make_nak({{1, 1}, {2, 1}});  // only the second range overflows
    put_be(later, first_at + kRangeSize, kU64Max, 8);
    EXPECT_EQ(decode_error(later), DecodeError::kBadField);
}

TEST(WireReject, FragmentOutsideItsMessage) {
    EXPECT_EQ(decode_error(make_fragment(10, 7, str("abcd"))), DecodeError::kBadLength);
    EXPECT_EQ(decode_error(make_fragment(10, 6, str("abcd"))), DecodeError::kOk);
    EXPECT_EQ(decode_error(make_fragment(0, 0, str("a"))), DecodeError::kBadLength);
    EXPECT_EQ(decode_error(make_fragment(3, 0, str("abcd"))), DecodeError::kBadLength);
    // offset + chunk is summed without 32-bit wrap-around.
    EXPECT_EQ(decode_error(make_fragment(kU32Max, kU32Max, str("a"))), DecodeError::kBadLength);
    EXPECT_EQ(decode_error(make_fragment(kU32Max, kU32Max - 1, str("a"))), DecodeError::kOk);
    EXPECT_EQ(decode_error(make_fragment(0, kU32Max, Bytes(2))), DecodeError::kBadLength);
}

TEST(WireReject, EmptyFragmentChunk) {
    EXPECT_EQ(decode_error(make_fragment(10, 0, {})), DecodeError::kBadLength);
    EXPECT_EQ(decode_error(make_fragment(0, 0, {})), DecodeError::kBadLength);
}

TEST(WireReject, TrailBackBeyondDseq) {
    EXPECT_EQ(decode_error(make_batch({str("a")}, 0, 10, 0, 11)), DecodeError::kBadField);
    EXPECT_EQ(decode_error(make_batch({str("a")}, 0, 0, 0, 1)), DecodeError::kBadField);
    EXPECT_EQ(decode_error(make_fragment(1, 0, str("a"), kFlagFragment, 10, 0, 11)),
              DecodeError::kBadField);
    EXPECT_EQ(decode_error(make_batch({str("a")}, 0, 10, 0, 10)), DecodeError::kOk);
}

TEST(WireReject, HeartbeatTrailBeyondNext) {
    EXPECT_EQ(decode_error(make_heartbeat({.trail = 10, .next_dseq = 9})), DecodeError::kBadField);
    EXPECT_EQ(decode_error(make_heartbeat({.trail = kU64Max, .next_dseq = 0})),
              DecodeError::kBadField);
    EXPECT_EQ(decode_error(make_heartbeat({.trail = 9, .next_dseq = 9})), DecodeError::kOk);
}

TEST(WireReject, StatusPositionBeyondLimit) {
    EXPECT_EQ(decode_error(make_status({.position = 11, .limit = 10})), DecodeError::kBadField);
    EXPECT_EQ(decode_error(make_status({.position = kU64Max, .limit = 0})), DecodeError::kBadField);
    EXPECT_EQ(decode_error(make_status({.position = kU64Max, .limit = kU64Max - 1})),
              DecodeError::kBadField);
    EXPECT_EQ(decode_error(make_status({.position = 10, .limit = 10})), DecodeError::kOk);
    EXPECT_EQ(decode_error(make_status({.position = 0, .limit = 0})), DecodeError::kOk);
    EXPECT_EQ(decode_error(make_status({.position = kU64Max, .limit = kU64Max})), DecodeError::kOk);
    // The check is on the decoded values, whatever the receiver ids are.
    Bytes b = make_status({.receiver_node = kU64Max, .position = 5, .limit = 5});
    put_be(b, kHeaderSize + 16, 6, 8);  // position
    EXPECT_EQ(decode_error(b), DecodeError::kBadField);
    put_be(b, kHeaderSize + 24, 6, 8);  // limit
    EXPECT_EQ(decode_error(b), DecodeError::kOk);
}

TEST(WireReject, StatusTruncatedBeatsBadField) {
    // Rules apply in order: a short STATUS is kTruncated even if what is there would fail
    // position <= limit, and a long one is kBadLength.
    Bytes b = make_status({.position = 5, .limit = 5});
    put_be(b, kHeaderSize + 16, 9, 8);
    ASSERT_EQ(decode_error(b), DecodeError::kBadField);
    EXPECT_EQ(decode_copy(std::span(b).first(b.size() - 1)).error, DecodeError::kTruncated);
    Bytes longer = b;
    longer.push_back(0);
    EXPECT_EQ(decode_error(longer), DecodeError::kBadLength);
    Bytes flagged = b;
    flagged[6] = 0x01;
    EXPECT_EQ(decode_error(flagged), DecodeError::kBadFlags);
}

TEST(WireReject, UnavailableRangeAfterTrail) {
    // The encoder refuses such ranges, so patch a valid packet's trail instead.
    Bytes b = make_unavailable(100, {{10, 5}, {90, 10}});
    put_be(b, kHeaderSize, 99, 8);  // second range now ends one past the trail
    EXPECT_EQ(decode_error(b), DecodeError::kBadField);
    put_be(b, kHeaderSize, 100, 8);
    EXPECT_EQ(decode_error(b), DecodeError::kOk);
    put_be(b, kHeaderSize, 0, 8);
    EXPECT_EQ(decode_error(b), DecodeError::kBadField);
}

TEST(WireReject, TooLarge) {
    // The largest UDP payload is accepted; one byte more is rejected before anything else.
    const std::size_t fill =
        kMaxDatagramSize - kDataPrefixSize - kBatchCountSize - kBatchEntryHeaderSize;
    Bytes max = make_batch({Bytes(fill, 0xAB)});
    ASSERT_EQ(max.size(), kMaxDatagramSize);
    Decoded d = decode_copy(max);
    ASSERT_EQ(d.error, DecodeError::kOk);
    expect_reencodes(d);
    EXPECT_EQ(decode_error(make_batch({Bytes(fill + 1, 0xAB)})), DecodeError::kTooLarge);
    EXPECT_EQ(decode_error(Bytes(kMaxDatagramSize + 1, 0)), DecodeError::kTooLarge);
    EXPECT_EQ(decode_error(Bytes(1 << 20, 0)), DecodeError::kTooLarge);

    // Most empty messages a datagram can batch: (65507 - 54) / 2 = 32726.
    Bytes many = make_batch(std::vector<Bytes>(32726));
    EXPECT_EQ(many.size(), kMaxDatagramSize - 1);
    EXPECT_EQ(decode_error(many), DecodeError::kOk);
    EXPECT_EQ(decode_error(make_batch(std::vector<Bytes>(32727))), DecodeError::kTooLarge);
}

TEST(WireCodec, ErrorNamesAreDistinct) {
    std::vector<std::string> names;
    for (int e = 0; e <= static_cast<int>(DecodeError::kTooLarge); ++e) {
        std::string s(to_string(static_cast<DecodeError>(e)));
        EXPECT_FALSE(s.empty());
        for (const std::string& other : names) EXPECT_NE(s, other);
        names.push_back(s);
    }
}

}  // namespace
}  // namespace blip::wire
