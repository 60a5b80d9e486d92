// Unit tests of the protocol v1 wire codec (src/wire): round trips of every packet type,
// byte-exact layouts (the same bytes as docs/protocol.md) and the encoders' contracts.
// Rejections: wire_decode_reject_test.cpp; randomized totality: wire_decode_random_test.cpp.
#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <variant>
#include <vector>

#include "../common/wire_test_util.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace blip::wire {
namespace {

using namespace blip::testutil;  // NOLINT(google-build-using-namespace)

// ---------------------------------------------------------------------------------------
// Round trips

TEST(WireRoundTrip, DataBatchWithSeveralMessagesIncludingEmpty) {
    Bytes big(300);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7);
    std::vector<Bytes> msgs = {str("hello"), {}, str("world!"), big, {}};
    Bytes wire = make_batch(msgs, 0, 1000, 5000, 100, 42);
    EXPECT_EQ(wire.size(), kDataPrefixSize + kBatchCountSize + 5 * kBatchEntryHeaderSize + 311);

    Decoded d = decode_copy(wire);
    ASSERT_EQ(d.error, DecodeError::kOk);
    expect_header(d.packet.header, PacketType::kData, 0);
    const Data& data = std::get<Data>(d.packet.body);
    EXPECT_EQ(data.dseq, 1000u);
    EXPECT_EQ(data.mseq, 5000u);
    EXPECT_EQ(data.trail_back, 100u);
    EXPECT_EQ(data.trail(), 900u);
    EXPECT_EQ(data.age_ms, 42u);
    EXPECT_FALSE(data.repair);
    EXPECT_FALSE(data.fragment);
    EXPECT_FALSE(data.continues_message());
    EXPECT_EQ(data.messages.size(), 5u);
    EXPECT_EQ(batch_messages(data), msgs);
    expect_reencodes(d);
}

TEST(WireRoundTrip, DataBatchOfOneEmptyMessage) {
    Decoded d = decode_copy(make_batch({{}}));
    ASSERT_EQ(d.error, DecodeError::kOk);
    const Data& data = std::get<Data>(d.packet.body);
    ASSERT_EQ(data.messages.size(), 1u);
    EXPECT_TRUE((*data.messages.begin()).empty());
    expect_reencodes(d);
}

TEST(WireRoundTrip, DataFragment) {
    Bytes chunk(1000);
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<std::uint8_t>(i);
    const std::uint32_t total = 16u << 20;  // a 16 MiB message
    Decoded d = decode_copy(make_fragment(total, 3 * 1348, chunk, kFlagFragment, 2000, 7, 5, 9));
    ASSERT_EQ(d.error, DecodeError::kOk);
    expect_header(d.packet.header, PacketType::kData, kFlagFragment);
    const Data& data = std::get<Data>(d.packet.body);
    EXPECT_TRUE(data.fragment);
    EXPECT_FALSE(data.repair);
    EXPECT_EQ(data.dseq, 2000u);
    EXPECT_EQ(data.mseq, 7u);
    EXPECT_EQ(data.trail(), 1995u);
    EXPECT_EQ(data.total_len, total);
    EXPECT_EQ(data.offset, 3u * 1348);
    EXPECT_TRUE(data.continues_message());
    EXPECT_EQ(Bytes(data.chunk.begin(), data.chunk.end()), chunk);
    expect_reencodes(d);
}

TEST(WireRoundTrip, FirstAndWholeFragments) {
    // offset 0: the datagram starts a message; offset + chunk == total_len is the last piece.
    Decoded first = decode_copy(make_fragment(10, 0, str("abcd")));
    ASSERT_EQ(first.error, DecodeError::kOk);
    EXPECT_FALSE(std::get<Data>(first.packet.body).continues_message());
    expect_reencodes(first);
    Decoded last = decode_copy(make_fragment(10, 6, str("ghij")));
    ASSERT_EQ(last.error, DecodeError::kOk);
    expect_reencodes(last);
    Decoded whole = decode_copy(make_fragment(4, 0, str("wxyz")));
    ASSERT_EQ(whole.error, DecodeError::kOk);
    expect_reencodes(whole);
}

TEST(WireRoundTrip, RepairFlagOnBatchAndFragment) {
    Decoded batch = decode_copy(make_batch({str("x")}, kFlagRepair));
    ASSERT_EQ(batch.error, DecodeError::kOk);
    EXPECT_EQ(batch.packet.header.flags, kFlagRepair);
    EXPECT_TRUE(std::get<Data>(batch.packet.body).repair);
    EXPECT_FALSE(std::get<Data>(batch.packet.body).fragment);
    expect_reencodes(batch);

    Decoded frag = decode_copy(make_fragment(100, 50, str("y"), kFlagRepair | kFlagFragment));
    ASSERT_EQ(frag.error, DecodeError::kOk);
    EXPECT_TRUE(std::get<Data>(frag.packet.body).repair);
    EXPECT_TRUE(std::get<Data>(frag.packet.body).fragment);
    expect_reencodes(frag);
}

TEST(WireRoundTrip, DataExtremeValues) {
    // trail_back == dseq is the lowest legal trail (dseq 0 still held).
    Decoded d = decode_copy(make_batch({str("z")}, 0, kU32Max, kU64Max, kU32Max, kU32Max));
    ASSERT_EQ(d.error, DecodeError::kOk);
    const Data& data = std::get<Data>(d.packet.body);
    EXPECT_EQ(data.trail(), 0u);
    EXPECT_EQ(data.mseq, kU64Max);
    expect_reencodes(d);
    Decoded zero = decode_copy(make_batch({str("z")}, 0, 0, 0, 0, 0));
    ASSERT_EQ(zero.error, DecodeError::kOk);
    expect_reencodes(zero);
}

TEST(WireRoundTrip, Heartbeat) {
    Heartbeat hb{.trail = 5, .next_dseq = 9, .next_mseq = 20, .age_ms = 1000};
    Decoded d = decode_copy(make_heartbeat(hb));
    ASSERT_EQ(d.error, DecodeError::kOk);
    expect_header(d.packet.header, PacketType::kHeartbeat, 0);
    const Heartbeat& got = std::get<Heartbeat>(d.packet.body);
    EXPECT_EQ(got.trail, 5u);
    EXPECT_EQ(got.next_dseq, 9u);
    EXPECT_EQ(got.next_mseq, 20u);
    EXPECT_EQ(got.age_ms, 1000u);
    expect_reencodes(d);

    // Nothing held (trail == next_dseq), including at the top of the sequence space.
    for (std::uint64_t s : {std::uint64_t{0}, std::uint64_t{77}, kU64Max}) {
        Decoded e = decode_copy(make_heartbeat({.trail = s, .next_dseq = s, .next_mseq = s}));
        ASSERT_EQ(e.error, DecodeError::kOk);
        expect_reencodes(e);
    }
}

TEST(WireRoundTrip, NakWithSeveralRanges) {
    std::vector<SeqRange> ranges = {{3, 2},
                                    {10, 1},
                                    {0x0102030405060708, 0xA0B0C0D0},
                                    {kU64Max - kU32Max, kU32Max}};  // ends exactly at 2^64-1
    Bytes wire = make_nak(ranges);
    EXPECT_EQ(wire.size(), kHeaderSize + kNakFixedSize + ranges.size() * kRangeSize);
    Decoded d = decode_copy(wire);
    ASSERT_EQ(d.error, DecodeError::kOk);
    expect_header(d.packet.header, PacketType::kNak, 0);
    const Nak& nak = std::get<Nak>(d.packet.body);
    EXPECT_EQ(range_vector(nak.ranges), ranges);
    EXPECT_EQ(nak.ranges[3].end(), kU64Max);
    EXPECT_EQ(nak.ranges[4], SeqRange{});  // out of bounds index: empty, no read
    expect_reencodes(d);
}

TEST(WireRoundTrip, Unavailable) {
    std::vector<SeqRange> ranges = {{10, 5}, {90, 10}, {0, 1}};  // the second ends at trail
    Decoded d = decode_copy(make_unavailable(100, ranges));
    ASSERT_EQ(d.error, DecodeError::kOk);
    expect_header(d.packet.header, PacketType::kUnavailable, 0);
    const Unavailable& u = std::get<Unavailable>(d.packet.body);
    EXPECT_EQ(u.trail, 100u);
    EXPECT_EQ(range_vector(u.ranges), ranges);
    expect_reencodes(d);
}

TEST(WireRoundTrip, Status) {
    StatusReport st{.receiver_node = 0x3132333435363738,
                    .receiver_session = 0x4142434445464748,
                    .position = 256,
                    .limit = 1280};
    Bytes wire = make_status(st);
    EXPECT_EQ(wire.size(), kHeaderSize + kStatusBodySize);
    Decoded d = decode_copy(wire);
    ASSERT_EQ(d.error, DecodeError::kOk);
    // The header names the sender reported on; the body names the reporting receiver.
    expect_header(d.packet.header, PacketType::kStatus, 0);
    const StatusReport& got = std::get<StatusReport>(d.packet.body);
    EXPECT_EQ(got.receiver_node, st.receiver_node);
    EXPECT_EQ(got.receiver_session, st.receiver_session);
    EXPECT_EQ(got.position, 256u);
    EXPECT_EQ(got.limit, 1280u);
    expect_reencodes(d);

    // No room to send (position == limit), including at the ends of the sequence space,
    // and the widest possible window.
    for (std::uint64_t s : {std::uint64_t{0}, std::uint64_t{77}, kU64Max}) {
        Decoded e = decode_copy(make_status({.position = s, .limit = s}));
        ASSERT_EQ(e.error, DecodeError::kOk) << s;
        expect_reencodes(e);
    }
    Decoded wide = decode_copy(make_status(
        {.receiver_node = kU64Max, .receiver_session = kU64Max, .position = 0, .limit = kU64Max}));
    ASSERT_EQ(wide.error, DecodeError::kOk);
    EXPECT_EQ(std::get<StatusReport>(wide.packet.body).receiver_node, kU64Max);
    EXPECT_EQ(std::get<StatusReport>(wide.packet.body).limit, kU64Max);
    expect_reencodes(wide);
}

TEST(WireRoundTrip, HeaderExtremes) {
    Bytes out(kHeaderSize + kHeartbeatBodySize);
    Header h{.type = PacketType::kHeartbeat,
             .flags = 0,
             .node = kU64Max,
             .session = 0,
             .stream = kU32Max};
    ASSERT_EQ(encode_heartbeat(out, h, {}), out.size());
    Decoded d = decode_copy(out);
    ASSERT_EQ(d.error, DecodeError::kOk);
    EXPECT_EQ(d.packet.header.node, kU64Max);
    EXPECT_EQ(d.packet.header.session, 0u);
    EXPECT_EQ(d.packet.header.stream, kU32Max);
}

TEST(WireRoundTrip, ReservedBytesAreIgnored) {
    Bytes hb = make_heartbeat({.trail = 1, .next_dseq = 2});
    hb[7] = 0xFF;
    EXPECT_EQ(decode_error(hb), DecodeError::kOk);
    Bytes nak = make_nak({{1, 1}});
    nak[30] = 0xAB;
    nak[31] = 0xCD;
    EXPECT_EQ(decode_error(nak), DecodeError::kOk);
    Bytes un = make_unavailable(5, {{1, 1}});
    un[38] = 0xAB;
    un[39] = 0xCD;
    EXPECT_EQ(decode_error(un), DecodeError::kOk);
    // ...and the re-encoder writes them as zero, which the comparison forgives.
    Decoded d = decode_copy(un);
    expect_reencodes(d);
}

TEST(WireRoundTrip, ReencodeHelperSeesEveryOtherByte) {
    // The canonicity checks below are only as good as this comparison: any byte outside
    // the reserved ones must count.
    for (const Bytes& wire :
         {make_batch({str("ab"), {}}), make_fragment(9, 1, str("xyz")),
          make_heartbeat({.trail = 1, .next_dseq = 2}), make_nak({{1, 2}}),
          make_unavailable(9, {{1, 2}}),
          make_status({.receiver_node = 3, .receiver_session = 4, .position = 1, .limit = 2})}) {
        Decoded d = decode_copy(wire);
        ASSERT_EQ(d.error, DecodeError::kOk);
        const PacketType t = d.packet.header.type;
        for (std::size_t i = 0; i < wire.size(); ++i) {
            Bytes other = wire;
            other[i] ^= 0x01;
            const bool reserved = i == 7 || (t == PacketType::kNak && (i == 30 || i == 31)) ||
                                  (t == PacketType::kUnavailable && (i == 38 || i == 39));
            EXPECT_EQ(testutil::reencodes_to(d.packet, other), reserved)
                << "type " << int{wire[5]} << " byte " << i;
        }
        Bytes longer = wire;
        longer.push_back(0);
        EXPECT_FALSE(testutil::reencodes_to(d.packet, longer));
        EXPECT_FALSE(testutil::reencodes_to(d.packet, std::span(wire).first(wire.size() - 1)));
    }
}

// ---------------------------------------------------------------------------------------
// Byte-exact layouts (docs/protocol.md shows the same bytes)

constexpr std::uint8_t kHeaderBytes[] = {
    0x42, 0x4C, 0x49, 0x50,                          // magic "BLIP"
    0x01, 0x01, 0x00, 0x00,                          // version 1, type DATA, flags, reserved
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // node
    0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,  // session
    0x21, 0x22, 0x23, 0x24,                          // stream
};

Bytes with_header(PacketType type, std::uint8_t flags, std::initializer_list<std::uint8_t> body) {
    Bytes out(std::begin(kHeaderBytes), std::end(kHeaderBytes));
    out[5] = static_cast<std::uint8_t>(type);
    out[6] = flags;
    out.insert(out.end(), body);
    return out;
}

TEST(WireBytes, Header) {
    std::uint8_t out[kHeaderSize] = {};
    ASSERT_TRUE(encode_header(out, make_header(PacketType::kData)));
    EXPECT_EQ(Bytes(std::begin(out), std::end(out)),
              Bytes(std::begin(kHeaderBytes), std::end(kHeaderBytes)));
    EXPECT_FALSE(
        encode_header(std::span(out).first(kHeaderSize - 1), make_header(PacketType::kData)));
}

TEST(WireBytes, DataBatch) {
    Bytes want = with_header(PacketType::kData, 0x00,
                             {
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,  // dseq 256
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x34,  // mseq 0x1234
                                 0x00, 0x00, 0x00, 0x10,                          // trail_back 16
                                 0x00, 0x01, 0xE2, 0x40,                          // age_ms 123456
                                 0x00, 0x03,                                      // count 3
                                 0x00, 0x02, 'h',  'i',                           // "hi"
                                 0x00, 0x00,                                      // ""
                                 0x00, 0x03, 'a',  'b',  'c',                     // "abc"
                             });
    EXPECT_EQ(make_batch({str("hi"), {}, str("abc")}, 0, 256, 0x1234, 16, 123456), want);
    EXPECT_EQ(want.size(), 65u);
    Decoded d = decode_copy(want);
    ASSERT_EQ(d.error, DecodeError::kOk);
    EXPECT_EQ(batch_messages(std::get<Data>(d.packet.body)),
              (std::vector<Bytes>{str("hi"), {}, str("abc")}));
}

TEST(WireBytes, DataFragment) {
    Bytes want = with_header(PacketType::kData, 0x03,
                             {
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07,  // dseq 7
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,  // mseq 3
                                 0x00, 0x00, 0x00, 0x07,                          // trail_back 7
                                 0xFF, 0xFF, 0xFF, 0xFF,                          // age_ms (sat.)
                                 0x01, 0x00, 0x00, 0x00,                          // total 16 MiB
                                 0x00, 0x00, 0x05, 0x78,                          // offset 1400
                                 0xDE, 0xAD, 0xBE, 0xEF,                          // chunk
                             });
    EXPECT_EQ(make_fragment(16u << 20, 1400, {0xDE, 0xAD, 0xBE, 0xEF}, kFlagRepair | kFlagFragment,
                            7, 3, 7, kU32Max),
              want);
    EXPECT_EQ(decode_error(want), DecodeError::kOk);
}

TEST(WireBytes, Heartbeat) {
    Bytes want = with_header(PacketType::kHeartbeat, 0x00,
                             {
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05,  // trail
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09,  // next_dseq
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,  // next_mseq
                                 0x00, 0x00, 0x03, 0xE8,                          // age_ms 1000
                             });
    EXPECT_EQ(make_heartbeat({.trail = 5, .next_dseq = 9, .next_mseq = 20, .age_ms = 1000}), want);
    EXPECT_EQ(want.size(), 56u);
}

TEST(WireBytes, Nak) {
    Bytes want = with_header(PacketType::kNak, 0x00,
                             {
                                 0x00, 0x02, 0x00, 0x00,                          // count, rsvd
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,  // first 3
                                 0x00, 0x00, 0x00, 0x02,                          // count 2
                                 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,  // first
                                 0xA0, 0xB0, 0xC0, 0xD0,                          // count
                             });
    EXPECT_EQ(make_nak({{3, 2}, {0x0102030405060708, 0xA0B0C0D0}}), want);
    EXPECT_EQ(want.size(), 56u);
}

TEST(WireBytes, Unavailable) {
    Bytes want = with_header(PacketType::kUnavailable, 0x00,
                             {
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x64,  // trail 100
                                 0x00, 0x01, 0x00, 0x00,                          // count, rsvd
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0A,  // first 10
                                 0x00, 0x00, 0x00, 0x05,                          // count 5
                             });
    EXPECT_EQ(make_unavailable(100, {{10, 5}}), want);
    EXPECT_EQ(want.size(), 52u);
}

TEST(WireBytes, Status) {
    Bytes want = with_header(PacketType::kStatus, 0x00,
                             {
                                 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38,  // rx node
                                 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48,  // rx session
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,  // position 256
                                 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00,  // limit 1280
                             });
    EXPECT_EQ(make_status({.receiver_node = 0x3132333435363738,
                           .receiver_session = 0x4142434445464748,
                           .position = 256,
                           .limit = 1280}),
              want);
    EXPECT_EQ(want.size(), 60u);
    EXPECT_EQ(want[5], 5);  // type STATUS
    EXPECT_EQ(decode_error(want), DecodeError::kOk);
}

// ---------------------------------------------------------------------------------------
// Encoder contracts

TEST(WireEncode, NakRejectsInvalidRanges) {
    Bytes out(kMaxDatagramSize);
    const Header h = make_header(PacketType::kNak);
    auto nak = [&](std::vector<SeqRange> r) { return encode_nak(out, h, r); };
    EXPECT_EQ(nak({}), 0u);
    EXPECT_EQ(nak({{5, 0}}), 0u);
    EXPECT_EQ(nak({{5, std::uint64_t{kU32Max} + 1}}), 0u);
    EXPECT_EQ(nak({{kU64Max, 1}}), 0u);
    EXPECT_EQ(nak({{kU64Max - 9, 10}}), 0u);
    EXPECT_EQ(nak({{1, 1}, {2, 0}}), 0u);  // one bad range spoils the packet
    EXPECT_NE(nak({{5, kU32Max}}), 0u);
    EXPECT_NE(nak({{kU64Max - 10, 10}}), 0u);
}

TEST(WireEncode, NakRejectsRangesThatDoNotFit) {
    std::vector<SeqRange> r = {{1, 1}, {3, 1}, {5, 1}};
    const std::size_t need = kHeaderSize + kNakFixedSize + 3 * kRangeSize;
    Bytes out(need);
    const Header h = make_header(PacketType::kNak);
    EXPECT_EQ(encode_nak(out, h, r), need);
    EXPECT_EQ(encode_nak(std::span(out).first(need - 1), h, r), 0u);
    EXPECT_EQ(encode_nak(std::span(out).first(10), h, r), 0u);
    EXPECT_EQ(encode_nak({}, h, r), 0u);
}

TEST(WireEncode, NakForcesTypeAndFlags) {
    Bytes out(kMaxDatagramSize);
    std::vector<SeqRange> r = {{1, 1}};
    std::size_t n = encode_nak(out, make_header(PacketType::kData, 0xFF), r);
    ASSERT_NE(n, 0u);
    out.resize(n);
    EXPECT_EQ(out[5], static_cast<std::uint8_t>(PacketType::kNak));
    EXPECT_EQ(out[6], 0);
    EXPECT_EQ(decode_error(out), DecodeError::kOk);
}

TEST(WireEncode, UnavailableRejectsInvalidRanges) {
    Bytes out(kMaxDatagramSize);
    const Header h = make_header(PacketType::kUnavailable);
    auto un = [&](std::uint64_t trail, std::vector<SeqRange> r) {
        return encode_unavailable(out, h, trail, r);
    };
    EXPECT_EQ(un(100, {}), 0u);
    EXPECT_EQ(un(100, {{5, 0}}), 0u);
    EXPECT_EQ(un(kU64Max, {{5, std::uint64_t{kU32Max} + 1}}), 0u);
    EXPECT_EQ(un(kU64Max, {{kU64Max, 1}}), 0u);
    EXPECT_EQ(un(100, {{95, 6}}), 0u);  // ends after the trail
    EXPECT_NE(un(100, {{95, 5}}), 0u);
    EXPECT_EQ(encode_unavailable(
                  std::span(out).first(kHeaderSize + kUnavailableFixedSize + kRangeSize - 1), h,
                  100, std::vector<SeqRange>{{1, 1}}),
              0u);
}

TEST(WireEncode, FixedPartsNeedRoom) {
    Bytes out(kDataPrefixSize);
    const Header h = make_header(PacketType::kData);
    EXPECT_TRUE(encode_data_prefix(out, h, 1, 2, 1, 4));
    EXPECT_FALSE(encode_data_prefix(std::span(out).first(kDataPrefixSize - 1), h, 1, 2, 1, 4));
    Bytes hb(kHeaderSize + kHeartbeatBodySize);
    EXPECT_EQ(encode_heartbeat(hb, make_header(PacketType::kHeartbeat), {}), 56u);
    EXPECT_EQ(encode_heartbeat(std::span(hb).first(55), make_header(PacketType::kHeartbeat), {}),
              0u);
}

TEST(WireEncode, StatusNeedsRoom) {
    const StatusReport st{.receiver_node = 1, .receiver_session = 2, .position = 3, .limit = 4};
    const Header h = make_header(PacketType::kStatus);
    Bytes out(kHeaderSize + kStatusBodySize);
    EXPECT_EQ(encode_status(out, h, st), 60u);
    EXPECT_EQ(decode_error(out), DecodeError::kOk);
    EXPECT_EQ(encode_status(std::span(out).first(59), h, st), 0u);
    EXPECT_EQ(encode_status(std::span(out).first(kHeaderSize), h, st), 0u);
    EXPECT_EQ(encode_status(std::span(out).first(10), h, st), 0u);
    EXPECT_EQ(encode_status({}, h, st), 0u);
    // A larger buffer is fine: the encoder writes exactly 60 bytes.
    Bytes big(kMaxDatagramSize, 0xEE);
    EXPECT_EQ(encode_status(big, h, st), 60u);
    EXPECT_EQ(big[60], 0xEE);
}

TEST(WireEncode, MaxRangesMatchWhatFits) {
    struct Case {
        std::size_t datagram, nak, unavailable;
    };
    // (size - 32) / 12 and (size - 40) / 12.
    for (Case c :
         {Case{128, 8, 7}, Case{1400, 114, 113}, Case{9000, 747, 746}, Case{65507, 5456, 5455}}) {
        EXPECT_EQ(max_nak_ranges(c.datagram), c.nak) << c.datagram;
        EXPECT_EQ(max_unavailable_ranges(c.datagram), c.unavailable) << c.datagram;

        Bytes out(c.datagram);
        const Header h = make_header(PacketType::kNak);
        std::vector<SeqRange> r;
        for (std::size_t i = 0; i <= c.nak; ++i) r.push_back({i * 2, 1});
        std::span<const SeqRange> fit = std::span(r).first(c.nak);
        std::size_t n = encode_nak(out, h, fit);
        ASSERT_NE(n, 0u) << c.datagram;
        EXPECT_LE(n, c.datagram);
        EXPECT_GT(n + kRangeSize, c.datagram);  // no room for one more
        EXPECT_EQ(decode_copy(std::span(out).first(n)).error, DecodeError::kOk);
        EXPECT_EQ(encode_nak(out, h, r), 0u) << "one range more must not fit";

        std::vector<SeqRange> u(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(c.unavailable));
        n = encode_unavailable(out, h, kU64Max, u);
        ASSERT_NE(n, 0u) << c.datagram;
        EXPECT_LE(n, c.datagram);
        EXPECT_EQ(decode_copy(std::span(out).first(n)).error, DecodeError::kOk);
        u.push_back({1000000, 1});
        EXPECT_EQ(encode_unavailable(out, h, kU64Max, u), 0u) << "one range more must not fit";
    }
    EXPECT_EQ(max_nak_ranges(kHeaderSize + kNakFixedSize + kRangeSize - 1), 0u);
    EXPECT_EQ(max_nak_ranges(kHeaderSize + kNakFixedSize + kRangeSize), 1u);
    EXPECT_EQ(max_unavailable_ranges(kHeaderSize + kUnavailableFixedSize + kRangeSize - 1), 0u);
    EXPECT_EQ(max_unavailable_ranges(0), 0u);
}

TEST(WireEncode, NakOfMaxRangesFitsDefaultDatagram) {
    std::vector<SeqRange> r;
    for (std::size_t i = 0; i < max_nak_ranges(1400); ++i) r.push_back({i * 10, 3});
    Bytes out(kMaxDatagramSize);
    std::size_t n = encode_nak(out, make_header(PacketType::kNak), r);
    ASSERT_NE(n, 0u);
    EXPECT_LE(n, 1400u);
}

TEST(WireEncode, NeverLargerThanAnyUdpDatagram) {
    // Given a buffer larger than any datagram, the encoders must still not produce a
    // packet decode() would reject as kTooLarge.
    EXPECT_LE(max_nak_ranges(1 << 20), max_nak_ranges(kMaxDatagramSize));
    EXPECT_LE(max_unavailable_ranges(1 << 20), max_unavailable_ranges(kMaxDatagramSize));
    std::vector<SeqRange> r;
    for (std::size_t i = 0; i <= max_nak_ranges(kMaxDatagramSize); ++i) r.push_back({i * 2, 1});
    Bytes out(1 << 20);
    EXPECT_EQ(encode_nak(out, make_header(PacketType::kNak), r), 0u);
    EXPECT_EQ(encode_unavailable(out, make_header(PacketType::kUnavailable), kU64Max, r), 0u);
}

TEST(WireEncode, SaturateU32) {
    EXPECT_EQ(saturate_u32(0), 0u);
    EXPECT_EQ(saturate_u32(kU32Max), kU32Max);
    EXPECT_EQ(saturate_u32(std::uint64_t{kU32Max} + 1), kU32Max);
    EXPECT_EQ(saturate_u32(kU64Max), kU32Max);
}

}  // namespace
}  // namespace blip::wire
