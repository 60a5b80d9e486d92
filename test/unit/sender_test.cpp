// Unit tests of the sending half of a stream (src/proto/sender.h): packing (batches and
// fragments), queue limits, the data rate limit, heartbeats, and NAK answers (repairs,
// coalescing, UNAVAILABLE, the repair rate limit). Virtual time; no I/O.
#include "proto/sender.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <variant>
#include <vector>

#include "recording_output.h"
#include "test_data.h"
#include "wire/codec.h"
#include "wire/packet.h"

using blip::proto::Duration;
using blip::proto::kNever;
using blip::proto::MessageQueue;
using blip::proto::Sender;
using blip::proto::SenderConfig;
using blip::proto::Status;
using blip::proto::StreamKey;
using blip::proto::Time;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
namespace wire = blip::wire;

namespace {

constexpr StreamKey kKey{0x1111, 0x2222, 7};
constexpr Time kStart = 1s;  // an arbitrary epoch offset: nothing may assume time 0

Status submit(Sender& s, Time now, const Bytes& m, std::uint64_t* mseq = nullptr) {
    return s.submit(now, m, mseq);
}

struct Message {
    std::uint64_t mseq;
    Bytes data;
};

// Reassembles the messages carried by the DATA datagrams of `out` (originals, in order,
// none missing) and checks the stream's framing on the way: consecutive dseq and mseq,
// fragments contiguous, no datagram above `datagram_size`.
std::vector<Message> reassemble(const RecordingOutput& out, std::size_t datagram_size) {
    std::vector<Message> msgs;
    std::uint64_t next_dseq = 0;
    std::uint64_t next_mseq = 0;
    Bytes assembly;
    std::uint32_t total = 0;
    bool partial = false;
    for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
        EXPECT_LE(out.datagrams[i].size(), datagram_size) << "datagram " << i;
        const wire::Packet p = out.packet(i);
        const auto* d = std::get_if<wire::Data>(&p.body);
        if (d == nullptr) continue;
        EXPECT_FALSE(d->repair) << "datagram " << i;
        EXPECT_EQ(p.header.node, kKey.node);
        EXPECT_EQ(p.header.session, kKey.session);
        EXPECT_EQ(p.header.stream, kKey.stream);
        EXPECT_EQ(d->dseq, next_dseq) << "datagram " << i;
        next_dseq = d->dseq + 1;
        if (!d->fragment) {
            EXPECT_FALSE(partial) << "batch inside a fragmented message, datagram " << i;
            EXPECT_EQ(d->mseq, next_mseq) << "datagram " << i;
            std::uint64_t m = d->mseq;
            for (auto msg : d->messages) msgs.push_back({m++, Bytes(msg.begin(), msg.end())});
            next_mseq = m;
            continue;
        }
        if (d->offset == 0) {
            EXPECT_FALSE(partial) << "datagram " << i;
            EXPECT_EQ(d->mseq, next_mseq) << "datagram " << i;
            assembly.clear();
            total = d->total_len;
            partial = true;
        } else {
            EXPECT_TRUE(partial) << "datagram " << i;
            EXPECT_EQ(d->mseq, next_mseq) << "datagram " << i;
            EXPECT_EQ(d->offset, assembly.size()) << "datagram " << i;
            EXPECT_EQ(d->total_len, total) << "datagram " << i;
        }
        assembly.insert(assembly.end(), d->chunk.begin(), d->chunk.end());
        if (assembly.size() == total) {
            msgs.push_back({d->mseq, assembly});
            next_mseq = d->mseq + 1;
            partial = false;
        }
    }
    EXPECT_FALSE(partial) << "stream ends inside a message";
    return msgs;
}

// Encodes a NAK for `ranges` and decodes it, as the sender would receive it.
class NakPacket {
public:
    explicit NakPacket(std::vector<wire::SeqRange> ranges) {
        wire::Header h;
        h.node = kKey.node;
        h.session = kKey.session;
        h.stream = kKey.stream;
        bytes_.resize(wire::kMaxDatagramSize);
        const std::size_t n = wire::encode_nak(bytes_, h, ranges);
        EXPECT_GT(n, 0u) << "NAK does not encode";
        bytes_.resize(n);
        EXPECT_EQ(wire::decode(bytes_, packet_), wire::DecodeError::kOk);
    }
    [[nodiscard]] const wire::Nak& nak() const { return std::get<wire::Nak>(packet_.body); }

private:
    Bytes bytes_;
    wire::Packet packet_;
};

void nak(Sender& s, Time now, std::vector<wire::SeqRange> ranges) {
    NakPacket p(std::move(ranges));
    s.on_nak(now, p.nak());
}

// A sender that transmitted `n` messages of `size` bytes, one datagram each, at kStart.
SenderConfig one_per_datagram_config() {
    SenderConfig c;
    c.datagram_size = 1400;
    return c;
}
constexpr std::size_t kFullBatchEntry = 1400 - wire::kDataPrefixSize - 2 - 2;  // 1344

void send_n(Sender& s, RecordingOutput& out, std::size_t n, std::size_t size, Time now) {
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(submit(s, now, pattern(size, static_cast<std::uint32_t>(i))), Status::kOk);
    }
    s.flush(now, out);
}

}  // namespace

// ---- packing -------------------------------------------------------------------------------

TEST(SenderPacking, SmallMessagesAreBatchedIntoFullDatagrams) {
    SenderConfig cfg;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    std::vector<Bytes> sent;
    for (std::uint32_t i = 0; i < 100; ++i) {
        sent.push_back(pattern(64, i));
        std::uint64_t mseq = 99999;
        ASSERT_EQ(submit(s, kStart, sent.back(), &mseq), Status::kOk);
        EXPECT_EQ(mseq, i);
    }
    EXPECT_EQ(s.queued_messages(), 100u);
    EXPECT_EQ(s.queued_bytes(), 6400u);
    EXPECT_TRUE(out.datagrams.empty()) << "submit() must not transmit";
    s.flush(kStart, out);

    const std::size_t per = (cfg.datagram_size - wire::kDataPrefixSize - wire::kBatchCountSize) /
                            (wire::kBatchEntryHeaderSize + 64);  // 20
    const std::size_t expected = (100 + per - 1) / per;
    ASSERT_EQ(out.datagrams.size(), expected);
    std::uint64_t mseq = 0;
    for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
        const wire::Packet p = out.packet(i);
        ASSERT_EQ(p.header.type, wire::PacketType::kData);
        const auto& d = std::get<wire::Data>(p.body);
        EXPECT_FALSE(d.fragment);
        EXPECT_EQ(d.dseq, i);
        EXPECT_EQ(d.mseq, mseq);
        EXPECT_EQ(d.messages.size(), i + 1 < expected ? per : 100 - per * (expected - 1));
        mseq += d.messages.size();
    }
    const auto msgs = reassemble(out, cfg.datagram_size);
    ASSERT_EQ(msgs.size(), 100u);
    for (std::size_t i = 0; i < 100; ++i) {
        EXPECT_EQ(msgs[i].mseq, i);
        EXPECT_EQ(msgs[i].data, sent[i]) << "message " << i;
    }
    EXPECT_EQ(s.queued_messages(), 0u);
    EXPECT_EQ(s.queued_bytes(), 0u);
    EXPECT_EQ(s.next_dseq(), expected);
    EXPECT_EQ(s.next_mseq(), 100u);
    EXPECT_EQ(s.stats().messages_sent, 100u);
    EXPECT_EQ(s.stats().bytes_sent, 6400u);
    EXPECT_EQ(s.stats().datagrams_sent, expected);
}

TEST(SenderPacking, LoneMessageIsSentAtOnceOnFlush) {
    Sender s(SenderConfig{}, kKey, kStart);
    RecordingOutput out;
    s.flush(kStart, out);  // the announcing heartbeat
    out.clear();
    const Time t = kStart + 5ms;
    const Bytes m = pattern(10, 1);
    ASSERT_EQ(submit(s, t, m), Status::kOk);
    EXPECT_EQ(s.next_deadline(t), t) << "queued data is due now, not later";
    s.flush(t, out);
    ASSERT_EQ(out.datagrams.size(), 1u);
    const wire::Packet p = out.packet(0);
    const auto& d = std::get<wire::Data>(p.body);
    EXPECT_EQ(d.dseq, 0u);
    EXPECT_EQ(d.mseq, 0u);
    EXPECT_EQ(d.age_ms, 5u);
    ASSERT_EQ(d.messages.size(), 1u);
    EXPECT_EQ(Bytes((*d.messages.begin()).begin(), (*d.messages.begin()).end()), m);
    EXPECT_EQ(out.datagrams[0].size(), wire::kDataPrefixSize + 2 + 2 + 10);
}

TEST(SenderPacking, OneMebibyteMessageIsFragmented) {
    SenderConfig cfg;
    cfg.datagram_size = 1400;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    const Bytes big = pattern(1u << 20, 42);
    std::uint64_t mseq = 7;
    ASSERT_EQ(submit(s, kStart, big, &mseq), Status::kOk);
    EXPECT_EQ(mseq, 0u);
    s.flush(kStart, out);

    const std::size_t chunk = 1400 - wire::kDataPrefixSize - wire::kFragmentHeaderSize;  // 1340
    const std::size_t expected = (big.size() + chunk - 1) / chunk;                       // 783
    ASSERT_EQ(out.datagrams.size(), expected);
    // Reassemble by hand from offsets, not from arrival order assumptions.
    Bytes assembled(big.size(), 0);
    std::vector<bool> covered(big.size(), false);
    for (std::size_t i = 0; i < expected; ++i) {
        ASSERT_LE(out.datagrams[i].size(), 1400u);
        const wire::Packet p = out.packet(i);
        const auto& d = std::get<wire::Data>(p.body);
        ASSERT_TRUE(d.fragment);
        EXPECT_EQ(d.dseq, i);
        EXPECT_EQ(d.mseq, 0u);
        EXPECT_EQ(d.total_len, big.size());
        EXPECT_EQ(d.offset, i * chunk);
        EXPECT_EQ(d.chunk.size(), i + 1 < expected ? chunk : big.size() - chunk * (expected - 1));
        for (std::size_t k = 0; k < d.chunk.size(); ++k) {
            ASSERT_FALSE(covered[d.offset + k]);
            covered[d.offset + k] = true;
            assembled[d.offset + k] = d.chunk[k];
        }
    }
    EXPECT_EQ(assembled, big);
    EXPECT_EQ(s.next_mseq(), 1u);
    EXPECT_EQ(s.window().messages(), 1u) << "one message began, however many fragments";
}

TEST(SenderPacking, ZeroLengthMessages) {
    Sender s(SenderConfig{}, kKey, kStart);
    RecordingOutput out;
    ASSERT_EQ(submit(s, kStart, Bytes{}), Status::kOk);
    ASSERT_EQ(submit(s, kStart, pattern(5, 1)), Status::kOk);
    ASSERT_EQ(submit(s, kStart, Bytes{}), Status::kOk);
    s.flush(kStart, out);
    ASSERT_EQ(out.datagrams.size(), 1u);
    const auto msgs = reassemble(out, 1400);
    ASSERT_EQ(msgs.size(), 3u);
    EXPECT_TRUE(msgs[0].data.empty());
    EXPECT_EQ(msgs[1].data, pattern(5, 1));
    EXPECT_TRUE(msgs[2].data.empty());

    // A lone empty message still makes a datagram.
    out.clear();
    ASSERT_EQ(submit(s, kStart + 1ms, Bytes{}), Status::kOk);
    s.flush(kStart + 1ms, out);
    ASSERT_EQ(out.datagrams.size(), 1u);
    EXPECT_EQ(out.datagrams[0].size(), wire::kDataPrefixSize + 2 + 2);
    EXPECT_EQ(std::get<wire::Data>(out.packet(0).body).mseq, 3u);
}

// A buffer of messages handed over whole: they are sent as if submitted one by one, with
// consecutive sequence numbers after those already given out. All or nothing: a buffer whose
// messages would not all fit is refused, left as it was, and nothing is queued.
TEST(SenderPacking, AdoptedMessagesAreSentLikeSubmittedOnesAllOrNothing) {
    SenderConfig cfg;
    cfg.queue_max_messages = 6;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    std::vector<Bytes> sent = {pattern(10, 0)};
    ASSERT_EQ(submit(s, kStart, sent[0]), Status::kOk);
    std::vector<std::uint8_t> buf;
    std::vector<MessageQueue::Extent> extents;
    for (std::uint32_t i = 1; i <= 4; ++i) {
        sent.push_back(pattern(i == 3 ? 3000 : 100 * i, i));
        buf.insert(buf.end(), 8, 0xEE);  // a record header the transport leaves
        extents.push_back({buf.size(), sent.back().size()});
        buf.insert(buf.end(), sent.back().begin(), sent.back().end());
    }
    // One message too many for the queue (1 + 4 + 2 > 6): refused whole, buffer intact.
    std::vector<std::uint8_t> two = buf;
    std::vector<MessageQueue::Extent> two_extents = extents;
    two_extents.push_back({0, 8});
    two_extents.push_back({0, 8});
    EXPECT_EQ(s.submit_adopted(kStart, two, two_extents), Status::kWouldBlock);
    EXPECT_EQ(two, buf);
    EXPECT_EQ(s.queued_messages(), 1u);
    SenderConfig small = cfg;
    small.max_message_size = 2000;
    Sender t(small, kKey, kStart);
    EXPECT_EQ(t.submit_adopted(kStart, two, extents), Status::kMessageTooLarge);
    EXPECT_EQ(t.queued_messages(), 0u);

    ASSERT_EQ(s.submit_adopted(kStart, buf, extents), Status::kOk);
    EXPECT_EQ(s.queued_messages(), 5u);
    sent.push_back(pattern(7, 5));
    std::uint64_t mseq = 0;
    ASSERT_EQ(submit(s, kStart, sent.back(), &mseq), Status::kOk);
    EXPECT_EQ(mseq, 5u);
    s.flush(kStart, out);
    const auto msgs = reassemble(out, cfg.datagram_size);
    ASSERT_EQ(msgs.size(), sent.size());
    for (std::size_t i = 0; i < sent.size(); ++i) {
        EXPECT_EQ(msgs[i].mseq, i);
        EXPECT_EQ(msgs[i].data, sent[i]) << "message " << i;
    }
    EXPECT_EQ(s.stats().messages_sent, 6u);
    // The adopted buffer's messages are gone: it comes back emptied.
    EXPECT_GE(s.take_spare_buffer().capacity(), 3000u);
}

TEST(SenderPacking, MixedSizesKeepOrderAndFraming) {
    SenderConfig cfg;
    cfg.datagram_size = 1400;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    // Around the batch limit (1344 fits whole, 1345 is fragmented) and around the fragment
    // chunk (1340), plus small ones that must batch around the large ones.
    const std::vector<std::size_t> sizes = {
        0,   1, kFullBatchEntry, kFullBatchEntry + 1, 3, 1340, 64, 1341, 5000, 2, 2, 70000, 600,
        700, 10};
    std::vector<Bytes> sent;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        sent.push_back(pattern(sizes[i], static_cast<std::uint32_t>(i)));
        ASSERT_EQ(submit(s, kStart, sent.back()), Status::kOk);
    }
    s.flush(kStart, out);
    const auto msgs = reassemble(out, cfg.datagram_size);
    ASSERT_EQ(msgs.size(), sizes.size());
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        EXPECT_EQ(msgs[i].mseq, i);
        EXPECT_EQ(msgs[i].data, sent[i]) << "message " << i << " of " << sizes[i] << " bytes";
    }
    // The 1344-byte message fills a batch datagram exactly; 1345 takes two fragments.
    bool saw_exact_full = false;
    for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
        const wire::Packet p = out.packet(i);
        const auto& d = std::get<wire::Data>(p.body);
        if (!d.fragment && d.mseq == 2) {
            EXPECT_EQ(d.messages.size(), 1u);
            EXPECT_EQ(out.datagrams[i].size(), 1400u);
            saw_exact_full = true;
        }
        if (d.fragment) {
            EXPECT_GT(d.total_len, kFullBatchEntry);
        }
    }
    EXPECT_TRUE(saw_exact_full);
}

// ---- limits --------------------------------------------------------------------------------

TEST(SenderLimits, MessageTooLarge) {
    SenderConfig cfg;
    cfg.max_message_size = 1000;
    Sender s(cfg, kKey, kStart);
    std::uint64_t mseq = 12345;
    EXPECT_EQ(submit(s, kStart, pattern(1001, 0), &mseq), Status::kMessageTooLarge);
    EXPECT_EQ(mseq, 12345u) << "a refused message gets no number";
    EXPECT_EQ(s.queued_messages(), 0u);
    EXPECT_EQ(s.next_mseq(), 0u);
    EXPECT_EQ(submit(s, kStart, pattern(1000, 0), &mseq), Status::kOk);
    EXPECT_EQ(mseq, 0u);
    EXPECT_EQ(s.stats().messages_sent, 1u);
}

TEST(SenderLimits, WouldBlockWhenQueueBytesFullThenRecoversAfterFlush) {
    SenderConfig cfg;
    cfg.max_message_size = 1000;
    cfg.queue_max_bytes = 1000;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    EXPECT_EQ(submit(s, kStart, pattern(600, 0)), Status::kOk);
    std::uint64_t mseq = 777;
    EXPECT_EQ(submit(s, kStart, pattern(401, 1), &mseq), Status::kWouldBlock);
    EXPECT_EQ(mseq, 777u);
    EXPECT_EQ(submit(s, kStart, pattern(400, 2), &mseq), Status::kOk);  // exactly full
    EXPECT_EQ(mseq, 1u);
    EXPECT_EQ(s.queued_bytes(), 1000u);
    EXPECT_EQ(submit(s, kStart, Bytes{}), Status::kOk) << "an empty message needs no room";
    EXPECT_EQ(submit(s, kStart, pattern(1, 3)), Status::kWouldBlock);
    s.flush(kStart, out);
    EXPECT_EQ(s.queued_bytes(), 0u);
    EXPECT_EQ(submit(s, kStart, pattern(1000, 4), &mseq), Status::kOk);
    EXPECT_EQ(mseq, 3u);
}

TEST(SenderLimits, WouldBlockWhenQueueCountFullThenRecoversAfterFlush) {
    SenderConfig cfg;
    cfg.queue_max_messages = 3;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    for (int i = 0; i < 3; ++i) EXPECT_EQ(submit(s, kStart, pattern(1, 0)), Status::kOk);
    EXPECT_EQ(submit(s, kStart, pattern(1, 0)), Status::kWouldBlock);
    EXPECT_EQ(submit(s, kStart, Bytes{}), Status::kWouldBlock);
    EXPECT_EQ(s.queued_messages(), 3u);
    EXPECT_EQ(s.stats().messages_sent, 3u);
    s.flush(kStart, out);
    EXPECT_EQ(s.queued_messages(), 0u);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(submit(s, kStart, pattern(1, 0)), Status::kOk);
    EXPECT_EQ(submit(s, kStart, pattern(1, 0)), Status::kWouldBlock);
    EXPECT_EQ(s.next_mseq(), 6u);
}

// ---- data rate limit -----------------------------------------------------------------------

// A real loop wakes up late (libuv timers round up to 1 ms, and more under load). The bucket
// must be deep enough that waking every few milliseconds still reaches the configured rate.
TEST(SenderRateLimit, LateWakeUpsStillReachTheConfiguredRate) {
    SenderConfig cfg;
    cfg.datagram_size = 1400;
    cfg.rate_limit = 40'000'000;  // 40 MB/s: 56 KB per 1.4 ms wake-up, far above 16 datagrams
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    std::size_t bytes = 0;
    const Duration wake = 1400us;
    for (Time t = kStart; t < kStart + 1s; t += wake) {
        while (s.queued_bytes() < 4u << 20) {
            ASSERT_EQ(submit(s, t, pattern(kFullBatchEntry, 1)), Status::kOk);
        }
        s.flush(t, out);
        for (const auto& d : out.datagrams) bytes += d.size();
        out.datagrams.clear();
    }
    EXPECT_GE(bytes, 40'000'000u * 95 / 100) << "late wake-ups cap the rate";
    EXPECT_LE(bytes, 40'000'000u + Sender::data_burst(cfg)) << "never above rate + burst";
}

TEST(SenderRateLimit, SendsTheBurstThenMoreAsTimeAdvances) {
    SenderConfig cfg;
    cfg.datagram_size = 1400;
    cfg.rate_limit = 140'000;  // 100 full datagrams a second: one per 10 ms
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    for (int i = 0; i < 100; ++i) {
        ASSERT_EQ(submit(s, kStart, pattern(kFullBatchEntry, i)), Status::kOk);
    }
    s.flush(kStart, out);
    // The burst is 16 datagrams (sender.cpp): exactly that many go now.
    EXPECT_EQ(out.datagrams.size(), 16u);
    EXPECT_EQ(s.queued_messages(), 84u);
    // The next full datagram is affordable 10 ms later.
    const Time due = s.next_deadline(kStart);
    EXPECT_GE(due, kStart + 10ms);
    EXPECT_LE(due, kStart + 10ms + 1us);
    s.flush(due - 1us, out);
    EXPECT_EQ(out.datagrams.size(), 16u) << "nothing before the deadline";
    s.flush(due, out);
    EXPECT_EQ(out.datagrams.size(), 17u);
    // 100 ms later: 10 more; never more than burst + rate * elapsed.
    s.flush(kStart + 110ms, out);
    EXPECT_EQ(out.datagrams.size(), 27u);
    std::size_t bytes = 0;
    for (const auto& d : out.datagrams) bytes += d.size();
    EXPECT_LE(bytes, 16u * 1400 + 140'000u * 110 / 1000);
    EXPECT_EQ(out.count(wire::PacketType::kHeartbeat), 0u)
        << "no heartbeat while data is queued, although one was due";
    // Eventually everything goes, in order and intact (at most a burst per flush).
    for (Time t = kStart + 200ms; s.queued_messages() > 0 && t < kStart + 5s; t += 200ms) {
        s.flush(t, out);
    }
    EXPECT_EQ(s.queued_messages(), 0u);
    const auto msgs = reassemble(out, 1400);
    ASSERT_EQ(msgs.size(), 100u);
    EXPECT_EQ(msgs[99].data, pattern(kFullBatchEntry, 99));
}

// ---- heartbeats ----------------------------------------------------------------------------

TEST(SenderHeartbeat, AnnouncesTheSessionAtStart) {
    Sender s(SenderConfig{}, kKey, kStart);
    RecordingOutput out;
    EXPECT_EQ(s.next_deadline(kStart), kStart);
    s.flush(kStart, out);
    ASSERT_EQ(out.datagrams.size(), 1u);
    const wire::Packet p = out.packet(0);
    ASSERT_EQ(p.header.type, wire::PacketType::kHeartbeat);
    EXPECT_EQ(p.header.node, kKey.node);
    EXPECT_EQ(p.header.session, kKey.session);
    EXPECT_EQ(p.header.stream, kKey.stream);
    const auto& hb = std::get<wire::Heartbeat>(p.body);
    EXPECT_EQ(hb.trail, 0u);
    EXPECT_EQ(hb.next_dseq, 0u);
    EXPECT_EQ(hb.next_mseq, 0u);
    EXPECT_EQ(hb.age_ms, 0u);
    EXPECT_GT(s.next_deadline(kStart), kStart);
    EXPECT_EQ(s.stats().heartbeats_sent, 1u);
}

TEST(SenderHeartbeat, AfterDataBackOffDoublesFromMinToMax) {
    SenderConfig cfg;
    cfg.heartbeat_min = 200us;
    cfg.heartbeat_max = 100ms;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    const Time t0 = kStart + 3ms;
    ASSERT_EQ(submit(s, t0, pattern(10, 0)), Status::kOk);
    s.flush(t0, out);
    ASSERT_EQ(out.datagrams.size(), 1u);  // data only: the start heartbeat is not due
    out.clear();
    EXPECT_EQ(s.next_deadline(t0), t0 + cfg.heartbeat_min);

    // Follow the deadlines: each heartbeat comes when announced, gaps double up to the max.
    std::vector<Time> beats;
    Time now = t0;
    while (beats.size() < 14) {
        const Time due = s.next_deadline(now);
        ASSERT_NE(due, kNever);
        ASSERT_GT(due, now);
        s.flush(due - 1ns, out);
        ASSERT_TRUE(out.datagrams.empty()) << "heartbeat before its deadline";
        now = due;
        s.flush(now, out);
        ASSERT_EQ(out.datagrams.size(), 1u) << "no heartbeat at its deadline";
        ASSERT_EQ(out.packet(0).header.type, wire::PacketType::kHeartbeat);
        out.clear();
        beats.push_back(now);
    }
    Duration expected_gap = cfg.heartbeat_min;
    Time prev = t0;
    for (Time b : beats) {
        EXPECT_EQ(b - prev, expected_gap);
        prev = b;
        expected_gap = std::min<Duration>(expected_gap * 2, cfg.heartbeat_max);
    }
    EXPECT_EQ(beats.back() - beats[beats.size() - 2], cfg.heartbeat_max);

    // New data resets the back-off to heartbeat_min.
    ASSERT_EQ(submit(s, now + 1ms, pattern(10, 1)), Status::kOk);
    s.flush(now + 1ms, out);
    EXPECT_EQ(s.next_deadline(now + 1ms), now + 1ms + cfg.heartbeat_min);
}

TEST(SenderHeartbeat, FieldsDescribeWindowAndNextMessage) {
    SenderConfig cfg;
    cfg.window_max_messages = 2;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    // Five datagrams of one 1000-byte message each; the window keeps the last two.
    send_n(s, out, 5, 1000, kStart + 7ms);
    ASSERT_EQ(out.datagrams.size(), 5u);
    EXPECT_EQ(s.trail(), 3u);
    EXPECT_EQ(s.next_dseq(), 5u);
    // Each original carries the trail held when it was sent.
    for (std::size_t i = 0; i < 5; ++i) {
        const wire::Packet p = out.packet(i);
        const auto& d = std::get<wire::Data>(p.body);
        EXPECT_EQ(d.trail(), i < 2 ? 0u : i - 2) << "dseq " << i;
        EXPECT_EQ(d.age_ms, 7u);
    }
    out.clear();
    s.flush(kStart + 7ms + cfg.heartbeat_min, out);
    ASSERT_EQ(out.datagrams.size(), 1u);
    const wire::Packet p = out.packet(0);
    ASSERT_EQ(p.header.type, wire::PacketType::kHeartbeat);
    const auto& hb = std::get<wire::Heartbeat>(p.body);
    EXPECT_EQ(hb.trail, 3u);
    EXPECT_EQ(hb.next_dseq, 5u);
    EXPECT_EQ(hb.next_mseq, 5u);
    EXPECT_EQ(hb.age_ms, 7u);

    // After a fragmented message the next message starts at the next datagram.
    out.clear();
    ASSERT_EQ(submit(s, kStart + 1s, pattern(5000, 9)), Status::kOk);
    s.flush(kStart + 1s, out);
    const std::size_t frags = out.datagrams.size();
    ASSERT_GT(frags, 1u);
    out.clear();
    s.flush(kStart + 1s + cfg.heartbeat_min, out);
    ASSERT_EQ(out.datagrams.size(), 1u);
    const auto hb2 = std::get<wire::Heartbeat>(out.packet(0).body);
    EXPECT_EQ(hb2.next_dseq, 5 + frags);
    EXPECT_EQ(hb2.next_mseq, 6u);
    EXPECT_EQ(hb2.trail, s.trail());
    EXPECT_EQ(hb2.age_ms, 1000u);
}

TEST(SenderHeartbeat, NoneWhileDataIsQueued) {
    SenderConfig cfg;
    cfg.rate_limit = 1400;  // one datagram a second
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    for (int i = 0; i < 40; ++i)
        ASSERT_EQ(submit(s, kStart, pattern(kFullBatchEntry, i)), Status::kOk);
    for (Time t = kStart; t < kStart + 10s; t += cfg.heartbeat_min * 7) s.flush(t, out);
    EXPECT_GT(s.queued_messages(), 0u);
    EXPECT_EQ(out.count(wire::PacketType::kHeartbeat), 0u);
    EXPECT_EQ(s.stats().heartbeats_sent, 0u);
}

// ---- NAK answers ---------------------------------------------------------------------------

TEST(SenderNak, NakForDataInWindowIsRepairedWithIdenticalBody) {
    Sender s(one_per_datagram_config(), kKey, kStart);
    RecordingOutput out;
    send_n(s, out, 3, 1000, kStart);
    const Bytes original = out.datagrams[1];
    out.clear();
    const Time t = kStart + 100us;  // before the first heartbeat is due
    nak(s, t, {{1, 1}});
    EXPECT_EQ(s.next_deadline(t), t) << "a queued repair is due now";
    s.flush(t, out);
    ASSERT_EQ(out.datagrams.size(), 1u);
    const Bytes& repair = out.datagrams[0];
    const wire::Packet p = out.packet(0);
    const auto& d = std::get<wire::Data>(p.body);
    EXPECT_TRUE(d.repair);
    EXPECT_FALSE(d.fragment);
    EXPECT_EQ(d.dseq, 1u);
    EXPECT_EQ(d.mseq, 1u);
    EXPECT_EQ(d.age_ms, 0u) << "age at first transmission, not now";
    // Identical except the repair flag: same header fields, same body.
    ASSERT_EQ(repair.size(), original.size());
    for (std::size_t i = 0; i < repair.size(); ++i) {
        if (i == 6) {
            EXPECT_EQ(repair[i], original[i] | wire::kFlagRepair);
        } else {
            EXPECT_EQ(repair[i], original[i]) << "byte " << i;
        }
    }
    EXPECT_EQ(s.stats().repairs_sent, 1u);
    EXPECT_EQ(s.stats().naks_received, 1u);
    EXPECT_EQ(s.stats().nak_datagrams_requested, 1u);
}

TEST(SenderNak, RepeatedNakWithinHoldoffIsCoalesced) {
    SenderConfig cfg = one_per_datagram_config();
    cfg.repair_holdoff = 250us;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    send_n(s, out, 3, 1000, kStart);
    out.clear();
    const Time t = kStart + 1ms;
    // Two NAKs before the flush: one repair (the second finds it queued).
    nak(s, t, {{2, 1}});
    nak(s, t, {{2, 1}});
    EXPECT_EQ(s.stats().repairs_coalesced, 1u);
    s.flush(t, out);
    EXPECT_EQ(out.count_repairs(), 1u);
    // NAKs of other receivers that crossed the repair: coalesced, nothing sent.
    nak(s, t + 100us, {{2, 1}});
    nak(s, t + 249us, {{2, 1}});
    EXPECT_EQ(s.stats().repairs_coalesced, 3u);
    s.flush(t + 249us, out);
    EXPECT_EQ(out.count_repairs(), 1u);
    // After the holdoff a NAK means the repair was lost: repaired again.
    nak(s, t + 250us, {{2, 1}});
    s.flush(t + 250us, out);
    EXPECT_EQ(out.count_repairs(), 2u);
    EXPECT_EQ(s.stats().repairs_sent, 2u);
    EXPECT_EQ(s.stats().repairs_coalesced, 3u);
}

TEST(SenderNak, NakForDataThatLeftTheWindowIsAnsweredUnavailable) {
    SenderConfig cfg = one_per_datagram_config();
    cfg.window_max_messages = 2;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    send_n(s, out, 6, 1000, kStart);
    ASSERT_EQ(s.trail(), 4u);
    out.clear();
    const Time t = kStart + 1ms;
    // Two separate gone ranges in one NAK, plus one gone range in another.
    nak(s, t, {{0, 1}, {2, 1}});
    nak(s, t, {{3, 1}});
    s.flush(t, out);
    ASSERT_EQ(out.count(wire::PacketType::kData), 0u);
    ASSERT_EQ(out.count(wire::PacketType::kUnavailable), 1u);
    const wire::Packet p = out.packet(0);
    ASSERT_EQ(p.header.type, wire::PacketType::kUnavailable);
    EXPECT_EQ(p.header.node, kKey.node);
    EXPECT_EQ(p.header.session, kKey.session);
    EXPECT_EQ(p.header.stream, kKey.stream);
    const auto& u = std::get<wire::Unavailable>(p.body);
    EXPECT_EQ(u.trail, 4u);
    ASSERT_EQ(u.ranges.size(), 2u);
    EXPECT_EQ(u.ranges[0], (wire::SeqRange{0, 1}));
    EXPECT_EQ(u.ranges[1], (wire::SeqRange{2, 2})) << "touching ranges are merged";
    EXPECT_EQ(s.stats().unavailable_sent, 1u);
    EXPECT_EQ(s.stats().repairs_sent, 0u);
    // Answered once: nothing left to send.
    out.clear();
    s.flush(t + 1ms, out);
    EXPECT_EQ(out.count(wire::PacketType::kUnavailable), 0u);
}

TEST(SenderNak, NakStraddlingTheTrailGetsUnavailableAndRepairs) {
    SenderConfig cfg = one_per_datagram_config();
    cfg.window_max_messages = 2;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    send_n(s, out, 6, 1000, kStart);
    out.clear();
    nak(s, kStart + 100us, {{1, 4}});  // 1..3 gone, 4 held
    s.flush(kStart + 100us, out);
    ASSERT_EQ(out.datagrams.size(), 2u);
    EXPECT_EQ(out.count_repairs(), 1u);
    EXPECT_EQ(std::get<wire::Data>(out.packet(0).body).dseq, 4u) << "repairs go first";
    const wire::Packet p = out.packet(1);
    const auto& u = std::get<wire::Unavailable>(p.body);
    EXPECT_EQ(u.trail, 4u);
    ASSERT_EQ(u.ranges.size(), 1u);
    EXPECT_EQ(u.ranges[0], (wire::SeqRange{1, 3}));
}

TEST(SenderNak, NakForNeverSentDataIsIgnored) {
    Sender s(one_per_datagram_config(), kKey, kStart);
    RecordingOutput out;
    nak(s, kStart, {{0, 1}});  // nothing sent yet
    send_n(s, out, 5, 1000, kStart);
    out.clear();
    nak(s, kStart + 1ms, {{5, 1}});
    nak(s, kStart + 1ms, {{100, 1000}, {6, 2}});
    nak(s, kStart + 1ms, {{std::numeric_limits<std::uint64_t>::max() - 10, 10}});
    EXPECT_EQ(s.stats().naks_received, 4u);
    EXPECT_EQ(s.stats().naks_ignored, 4u);
    EXPECT_EQ(s.stats().repairs_sent, 0u);
    EXPECT_EQ(s.next_deadline(kStart + 1ms), kStart + SenderConfig{}.heartbeat_min)
        << "only the heartbeat is due";
    s.flush(kStart + 1ms, out);
    EXPECT_EQ(out.count(wire::PacketType::kData), 0u);
    EXPECT_EQ(out.count(wire::PacketType::kUnavailable), 0u);
}

TEST(SenderNak, RepairRateLimitBoundsANakFlood) {
    SenderConfig cfg = one_per_datagram_config();
    cfg.repair_rate = 10'000'000;  // 10 MB/s
    cfg.repair_burst = 64u << 10;
    cfg.repair_holdoff = 250us;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    send_n(s, out, 1000, kFullBatchEntry, kStart);  // 1000 full datagrams in the window
    ASSERT_EQ(s.trail(), 0u);
    ASSERT_EQ(s.next_dseq(), 1000u);
    out.clear();
    // 10,000 NAKs for the whole window in 1 ms, the sender flushing after each.
    const Time t0 = kStart + 10ms;
    const Duration span = 1ms;
    for (int i = 0; i < 10'000; ++i) {
        const Time t = t0 + span * i / 10'000;
        nak(s, t, {{0, 1000}});
        s.flush(t, out);
    }
    std::size_t repair_bytes = 0;
    for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
        const wire::Packet p = out.packet(i);
        if (p.header.type == wire::PacketType::kData) {
            EXPECT_TRUE(std::get<wire::Data>(p.body).repair);
            repair_bytes += out.datagrams[i].size();
        } else if (p.header.type == wire::PacketType::kUnavailable) {
            repair_bytes += out.datagrams[i].size();
        }
    }
    const std::size_t bound = cfg.repair_burst + cfg.repair_rate * 1 / 1000;  // burst + 1 ms
    EXPECT_LE(repair_bytes, bound);
    EXPECT_GT(out.count_repairs(), 0u) << "the flood must not starve repairs entirely";
    EXPECT_EQ(s.stats().naks_received, 10'000u);
    EXPECT_EQ(s.stats().nak_datagrams_requested, 10'000'000u);
    // Once the flood stops the queued repairs drain at the repair rate.
    Time now = t0 + span;
    for (int i = 0; i < 100000 && s.next_deadline(now) != kNever; ++i) {
        const Time due = s.next_deadline(now);
        if (due > t0 + 2s) break;
        now = std::max(now, due);
        s.flush(now, out);
    }
    std::vector<bool> repaired(1000, false);
    for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
        const wire::Packet p = out.packet(i);
        if (const auto* d = std::get_if<wire::Data>(&p.body)) repaired.at(d->dseq) = true;
    }
    EXPECT_EQ(std::count(repaired.begin(), repaired.end(), true), 1000)
        << "every requested datagram is repaired in the end";
}

TEST(SenderNak, NakNamingAHugeRangeCostsBoundedWork) {
    SenderConfig cfg;
    cfg.datagram_size = 128;
    cfg.repair_burst = 1u << 30;
    cfg.repair_rate = 1u << 30;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    // 10,000 one-message datagrams (128 - 52 - 4 = 72 bytes fill one).
    send_n(s, out, 10'000, 72, kStart);
    ASSERT_EQ(s.next_dseq(), 10'000u);
    out.clear();
    nak(s, kStart + 1ms, {{0, 0xFFFFFFFFu}});
    // At most 4096 datagrams examined per NAK (sender.cpp kMaxDatagramsPerNak); the rest
    // stays missing at the receiver and is asked for again.
    s.flush(kStart + 1ms, out);
    EXPECT_EQ(out.count_repairs(), 4096u);
    EXPECT_EQ(s.stats().nak_datagrams_requested, 0xFFFFFFFFu);
    // Many huge ranges in one NAK: still bounded.
    out.clear();
    std::vector<wire::SeqRange> ranges;
    for (std::uint64_t i = 0; i < 1000; ++i) ranges.push_back({i * 0xFFFFFFFFull, 0xFFFFFFFFu});
    nak(s, kStart + 2ms, ranges);
    s.flush(kStart + 2ms, out);
    EXPECT_LE(out.count_repairs(), 4096u);
}

TEST(SenderNak, GoneRangesBeyondOnePacketAreSplitAcrossUnavailables) {
    SenderConfig cfg = one_per_datagram_config();
    cfg.window_max_messages = 1;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    send_n(s, out, 400, 1000, kStart);
    ASSERT_EQ(s.trail(), 399u);
    out.clear();
    // 150 disjoint gone datagrams (even dseqs): more than one UNAVAILABLE holds.
    std::vector<wire::SeqRange> ranges;
    for (std::uint64_t i = 0; i < 150; ++i) ranges.push_back({2 * i, 1});
    nak(s, kStart + 1ms, ranges);
    s.flush(kStart + 1ms, out);
    const std::size_t per_packet = wire::max_unavailable_ranges(1400);  // 113
    ASSERT_EQ(out.count(wire::PacketType::kUnavailable), 2u);
    std::vector<wire::SeqRange> named;
    for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
        const wire::Packet p = out.packet(i);
        if (p.header.type != wire::PacketType::kUnavailable) continue;
        EXPECT_LE(out.datagrams[i].size(), 1400u);
        const auto& u = std::get<wire::Unavailable>(p.body);
        EXPECT_EQ(u.trail, 399u);
        EXPECT_LE(u.ranges.size(), per_packet);
        for (std::size_t k = 0; k < u.ranges.size(); ++k) named.push_back(u.ranges[k]);
    }
    EXPECT_EQ(named, ranges);
}

TEST(SenderNak, UnavailableHeldBackByTheRateLimitMakesADeadlineInTheFuture) {
    SenderConfig cfg = one_per_datagram_config();
    cfg.window_max_messages = 1;
    cfg.repair_burst = 1400;
    cfg.repair_rate = 1'000'000;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    send_n(s, out, 300, 1000, kStart);
    out.clear();
    const Time t = kStart + 1s;  // the repair bucket is full (1400)
    std::vector<wire::SeqRange> even;
    for (std::uint64_t i = 0; i < 100; ++i) even.push_back({2 * i, 1});
    nak(s, t, even);
    s.flush(t, out);  // one UNAVAILABLE of 40 + 100 * 12 = 1240 bytes: 160 left
    ASSERT_EQ(out.count(wire::PacketType::kUnavailable), 1u);
    std::vector<wire::SeqRange> odd;
    for (std::uint64_t i = 0; i < 50; ++i) odd.push_back({2 * i + 1, 1});
    nak(s, t, odd);  // needs 40 + 50 * 12 = 640 bytes
    s.flush(t, out);
    ASSERT_EQ(out.count(wire::PacketType::kUnavailable), 1u) << "held back by the rate limit";
    // Nothing can be sent now, so the deadline must lie ahead, or a caller spins. Following
    // the deadlines (heartbeats come in between), the UNAVAILABLE goes once the bucket
    // holds 640 bytes: 480 us later at 1 MB/s.
    Time now = t;
    for (int i = 0; i < 10 && out.count(wire::PacketType::kUnavailable) < 2; ++i) {
        const Time due = s.next_deadline(now);
        ASSERT_GT(due, now) << "flush(now) has nothing to do, yet the deadline is now";
        now = due;
        s.flush(now, out);
    }
    EXPECT_EQ(out.count(wire::PacketType::kUnavailable), 2u);
    EXPECT_LE(now, t + 480us + 1us);
}

TEST(SenderDeadline, NeverInThePastAfterFlush) {
    SenderConfig cfg = one_per_datagram_config();
    cfg.rate_limit = 50'000;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    Time now = kStart;
    std::uint32_t i = 0;
    for (int step = 0; step < 2000; ++step) {
        if (step % 3 == 0) {
            (void)submit(s, now, pattern(100 + (i * 37) % 3000, i));
            ++i;
        }
        s.flush(now, out);
        const Time due = s.next_deadline(now);
        ASSERT_NE(due, kNever) << "a sender always has a heartbeat or data ahead";
        ASSERT_GT(due, now) << "step " << step;
        now = due;
    }
    EXPECT_GT(out.count(wire::PacketType::kData), 0u);
    EXPECT_GT(out.count(wire::PacketType::kHeartbeat), 0u);
}

// Pending UNAVAILABLE answers are bounded (sender.cpp kMaxGoneRanges = 1024): a flood of
// NAKs naming many disjoint gone ranges cannot grow the sender's memory; the oldest requests
// are dropped (their receivers will ask again) and the newest are answered.
TEST(SenderNak, PendingUnavailableRangesAreBounded) {
    SenderConfig cfg = one_per_datagram_config();
    cfg.window_max_messages = 1;
    Sender s(cfg, kKey, kStart);
    RecordingOutput out;
    send_n(s, out, 5000, 1000, kStart);
    ASSERT_EQ(s.trail(), 4999u);
    out.clear();
    // 2000 disjoint gone datagrams (even dseqs), 100 per NAK, before any flush.
    for (std::uint64_t n = 0; n < 20; ++n) {
        std::vector<wire::SeqRange> ranges;
        for (std::uint64_t i = 0; i < 100; ++i) ranges.push_back({2 * (n * 100 + i), 1});
        nak(s, kStart + 1ms, ranges);
    }
    s.flush(kStart + 1s, out);
    std::vector<std::uint64_t> named;
    for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
        const wire::Packet p = out.packet(i);
        if (p.header.type != wire::PacketType::kUnavailable) continue;  // e.g. a heartbeat
        const auto& u = std::get<wire::Unavailable>(p.body);
        for (std::size_t k = 0; k < u.ranges.size(); ++k) named.push_back(u.ranges[k].first);
    }
    ASSERT_EQ(named.size(), 1024u);
    // The newest 1024 requests: dseqs 2 * 976 .. 2 * 1999.
    EXPECT_EQ(named.front(), 2u * (2000 - 1024));
    EXPECT_EQ(named.back(), 2u * 1999);
}
