// Unit tests of the receiving half of a stream (src/proto/receiver.h): in-order delivery,
// duplicates, reordering, NAK and repair, reassembly, tail loss, exact loss events, giving
// up, the reorder buffer limit and the message size limit. A real Sender produces the
// datagrams; the test decides which reach the Receiver and answers its NAKs itself from
// copies (a perfect sender), so these tests depend on the Sender's packing and window
// only, not on its NAK handling. Virtual time.
#include "proto/receiver.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <numeric>
#include <set>
#include <span>
#include <utility>
#include <variant>
#include <vector>

#include "proto/rng.h"
#include "proto/sender.h"
#include "recording_output.h"
#include "test_data.h"
#include "wire/codec.h"
#include "wire/packet.h"

using blip::proto::Duration;
using blip::proto::Event;
using blip::proto::EventType;
using blip::proto::kNever;
using blip::proto::LossReason;
using blip::proto::Receiver;
using blip::proto::ReceiverConfig;
using blip::proto::Rng;
using blip::proto::Sender;
using blip::proto::SenderConfig;
using blip::proto::Status;
using blip::proto::StreamKey;
using blip::proto::Time;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
namespace wire = blip::wire;

namespace {

constexpr StreamKey kKey{0xAAAA, 0xBBBB, 3};
constexpr Time kT0 = 10s;

std::vector<std::uint64_t> concat(std::vector<std::uint64_t> a,
                                  const std::vector<std::uint64_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

ReceiverConfig without_reports(ReceiverConfig rc) {
    rc.send_status = false;
    return rc;
}

// A Sender and a Receiver with the test in between (see the file comment).
class Feed {
public:
    // Flow-control reports are off: these tests read the receiver's NAKs from its output
    // (test/unit/flow_control_test.cpp covers the reports).
    // The receiver's datagram_size is the sender's unless `rx_datagram_size` is given.
    explicit Feed(ReceiverConfig rc = {}, SenderConfig sc = {}, std::uint64_t start = 0,
                  bool from_session_start = true, std::size_t rx_datagram_size = 0)
        : rcfg(without_reports(std::move(rc))),
          scfg(sc),
          sender(scfg, kKey, kT0),
          rx(rcfg, kKey, rng, rx_datagram_size != 0 ? rx_datagram_size : scfg.datagram_size, start,
             from_session_start) {}

    ReceiverConfig rcfg;
    SenderConfig scfg;
    Rng rng{1};
    Sender sender;
    Receiver rx;
    RecordingOutput tx_out;  // what the sender sent (originals), never cleared
    RecordingOutput rx_out;  // deliveries, events and NAKs of the receiver
    Time now = kT0;

    std::map<std::uint64_t, Bytes> originals;  // every DATA the sender sent, by dseq
    std::set<std::uint64_t> unanswered;        // NAKs for these get no answer
    std::vector<wire::SeqRange> naked;         // every range the receiver NAKed
    std::size_t max_buffered = 0;              // highest rx.buffered_bytes() seen
    std::size_t max_held = 0;                  // highest rx.reorder_held_bytes() seen

    /// Queues `msgs` and flushes; returns the dseqs of the new DATA (not fed to rx).
    std::vector<std::uint64_t> send(const std::vector<Bytes>& msgs) {
        for (const Bytes& m : msgs) EXPECT_EQ(sender.submit(now, m, nullptr), Status::kOk);
        return flush();
    }
    /// Sends each message in a datagram of its own.
    std::vector<std::uint64_t> send_each(const std::vector<Bytes>& msgs) {
        std::vector<std::uint64_t> out;
        for (const Bytes& m : msgs) {
            auto d = send({m});
            out.insert(out.end(), d.begin(), d.end());
        }
        return out;
    }
    std::vector<std::uint64_t> flush() {
        const std::size_t before = tx_out.datagrams.size();
        sender.flush(now, tx_out);
        std::vector<std::uint64_t> dseqs;
        for (std::size_t i = before; i < tx_out.datagrams.size(); ++i) {
            const wire::Packet p = tx_out.packet(i);
            if (const auto* d = std::get_if<wire::Data>(&p.body)) {
                originals[d->dseq] = tx_out.datagrams[i];
                dseqs.push_back(d->dseq);
            }
        }
        return dseqs;
    }

    /// Feeds one datagram to the receiver as the endpoint would.
    void feed(const Bytes& datagram) {
        wire::Packet p;
        ASSERT_EQ(wire::decode(datagram, p), wire::DecodeError::kOk);
        switch (p.header.type) {
            case wire::PacketType::kData:
                rx.on_data(now, std::get<wire::Data>(p.body), datagram, rx_out);
                break;
            case wire::PacketType::kHeartbeat:
                rx.on_heartbeat(now, std::get<wire::Heartbeat>(p.body), rx_out);
                break;
            case wire::PacketType::kUnavailable:
                rx.on_unavailable(now, std::get<wire::Unavailable>(p.body), rx_out);
                break;
            case wire::PacketType::kNak:
                rx.on_nak_seen(now, std::get<wire::Nak>(p.body));
                break;
            case wire::PacketType::kStatus:  // another receiver's report: for the sender only
                break;
        }
        max_buffered = std::max(max_buffered, rx.buffered_bytes());
        max_held = std::max(max_held, rx.reorder_held_bytes());
    }
    void deliver(std::uint64_t dseq) { feed(originals.at(dseq)); }
    void deliver(const std::vector<std::uint64_t>& dseqs) {
        for (std::uint64_t s : dseqs) deliver(s);
    }
    void deliver_except(const std::vector<std::uint64_t>& dseqs, std::set<std::uint64_t> drop) {
        for (std::uint64_t s : dseqs) {
            if (drop.count(s) == 0) deliver(s);
        }
    }

    /// The HEARTBEAT the sender would send now.
    [[nodiscard]] Bytes heartbeat() const {
        wire::Header h;
        h.type = wire::PacketType::kHeartbeat;
        h.node = kKey.node;
        h.session = kKey.session;
        h.stream = kKey.stream;
        wire::Heartbeat hb;
        hb.trail = sender.trail();
        hb.next_dseq = sender.next_dseq();
        hb.next_mseq = sender.next_mseq();
        Bytes b(wire::kHeaderSize + wire::kHeartbeatBodySize);
        EXPECT_EQ(wire::encode_heartbeat(b, h, hb), b.size());
        return b;
    }

    /// A repair of `dseq` as the sender would send it now (repair flag, current trail).
    [[nodiscard]] Bytes repair(std::uint64_t dseq) const {
        Bytes b = originals.at(dseq);
        wire::Packet p;
        EXPECT_EQ(wire::decode(b, p), wire::DecodeError::kOk);
        const auto d = std::get<wire::Data>(p.body);
        wire::Header h = p.header;
        h.flags |= wire::kFlagRepair;
        EXPECT_TRUE(wire::encode_data_prefix(b, h, dseq, d.mseq,
                                             wire::saturate_u32(dseq - sender.trail()), d.age_ms));
        return b;
    }

    /// An UNAVAILABLE for `ranges` with the sender's current trail.
    [[nodiscard]] Bytes unavailable(const std::vector<wire::SeqRange>& ranges) const {
        wire::Header h;
        h.node = kKey.node;
        h.session = kKey.session;
        h.stream = kKey.stream;
        Bytes b(wire::kMaxDatagramSize);
        const std::size_t n = wire::encode_unavailable(b, h, sender.trail(), ranges);
        EXPECT_GT(n, 0u);
        b.resize(n);
        return b;
    }

    /// Runs the receiver's timers for `d` of virtual time, answering its NAKs at once:
    /// repairs for what the sender's window holds, UNAVAILABLE for what left it.
    void run_for(Duration d) {
        const Time end = now + d;
        answer();
        for (int guard = 0; guard < 1'000'000; ++guard) {
            Time due = rx.next_deadline();
            if (due == kNever || due > end) break;
            if (due == Time{}) due = now;  // a delivery backlog: at once
            ASSERT_GE(due, now) << "deadline in the past";
            now = due;
            rx.poll(now, rx_out);
            answer();
        }
        now = end;
    }

    void answer() {
        while (answered_ < rx_out.datagrams.size()) {
            const wire::Packet p = rx_out.packet(answered_++);
            ASSERT_EQ(p.header.type, wire::PacketType::kNak);
            EXPECT_EQ(p.header.node, kKey.node);
            EXPECT_EQ(p.header.session, kKey.session);
            EXPECT_EQ(p.header.stream, kKey.stream);
            const auto& nak = std::get<wire::Nak>(p.body);
            std::vector<wire::SeqRange> gone;
            for (std::size_t i = 0; i < nak.ranges.size(); ++i) {
                const wire::SeqRange r = nak.ranges[i];
                naked.push_back(r);
                for (std::uint64_t s = r.first; s < r.end(); ++s) {
                    if (unanswered.count(s) != 0) continue;
                    if (sender.window().contains(s)) {
                        feed(repair(s));
                    } else if (s < sender.trail()) {
                        if (!gone.empty() && gone.back().end() == s) {
                            ++gone.back().count;
                        } else {
                            gone.push_back({s, 1});
                        }
                    }
                }
            }
            if (!gone.empty()) feed(unavailable(gone));
        }
    }

    [[nodiscard]] std::vector<Event> losses() const { return rx_out.events_of(EventType::kLoss); }

private:
    std::size_t answered_ = 0;
};

std::vector<Bytes> messages(std::size_t n, std::size_t size, std::uint32_t seed = 0) {
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < n; ++i)
        out.push_back(pattern(size, seed + static_cast<std::uint32_t>(i)));
    return out;
}

// Expects exactly `mseqs` delivered, in that order, each with the bytes it was sent with.
void expect_delivered(const RecordingOutput& out, const std::vector<Bytes>& sent,
                      const std::vector<std::uint64_t>& mseqs) {
    ASSERT_EQ(out.delivered_mseqs().size(), mseqs.size());
    ASSERT_EQ(out.delivered_mseqs(), mseqs);
    for (const Delivery& d : out.deliveries) {
        EXPECT_EQ(d.info.from, kKey);
        EXPECT_EQ(d.data, sent.at(d.info.mseq)) << "message " << d.info.mseq;
    }
}

void expect_loss(const Event& ev, std::uint64_t first, std::uint64_t count, LossReason reason) {
    EXPECT_EQ(ev.type, EventType::kLoss);
    EXPECT_EQ(ev.from, kKey);
    EXPECT_EQ(ev.first_mseq, first);
    EXPECT_EQ(ev.count, count);
    EXPECT_EQ(ev.reason, reason);
    EXPECT_FALSE(ev.open_ended);
}

SenderConfig window_of(std::size_t max_messages) {
    SenderConfig c;
    c.window_max_messages = max_messages;
    return c;
}

}  // namespace

// ---- delivery ------------------------------------------------------------------------------

TEST(Receiver, DeliversInOrder) {
    Feed f;
    std::vector<Bytes> sent;
    for (std::uint32_t i = 0; i < 60; ++i) sent.push_back(pattern((i * 53) % 700, i));
    auto d1 = f.send(std::vector<Bytes>(sent.begin(), sent.begin() + 30));
    auto d2 = f.send(std::vector<Bytes>(sent.begin() + 30, sent.end()));
    f.deliver(d1);
    f.deliver(d2);
    expect_delivered(f.rx_out, sent, iota(0, 60));
    EXPECT_TRUE(f.rx_out.events.empty());
    EXPECT_EQ(f.rx.missing(), 0u);
    EXPECT_EQ(f.rx.next_deadline(), kNever);
    f.run_for(1s);
    EXPECT_TRUE(f.naked.empty()) << "nothing missing, nothing NAKed";
    EXPECT_EQ(f.rx.stats().messages, 60u);
    EXPECT_EQ(f.rx.stats().datagrams, d1.size() + d2.size());
}

TEST(Receiver, DropsDuplicates) {
    Feed f;
    const auto sent = messages(10, 1000);
    const auto dseqs = f.send(sent);
    ASSERT_EQ(dseqs.size(), 10u);
    for (std::uint64_t s : dseqs) {
        f.deliver(s);
        f.deliver(s);
    }
    f.deliver(dseqs);  // replay everything
    f.feed(f.repair(3));
    expect_delivered(f.rx_out, sent, iota(0, 10));
    EXPECT_EQ(f.rx.stats().duplicates, 21u);
    EXPECT_TRUE(f.rx_out.events.empty());
}

TEST(Receiver, ReorderedDatagramsAreDeliveredInOrder) {
    Feed f;
    const auto sent = messages(40, 1000);
    auto dseqs = f.send(sent);
    ASSERT_EQ(dseqs.size(), 40u);
    // A deterministic shuffle with 0 late, then duplicates of some buffered ones.
    Rng shuffle(99);
    for (std::size_t i = dseqs.size() - 1; i > 0; --i) {
        std::swap(dseqs[i], dseqs[shuffle.below(i + 1)]);
    }
    std::erase(dseqs, 0u);
    f.deliver(dseqs);
    EXPECT_TRUE(f.rx_out.deliveries.empty());
    EXPECT_GT(f.rx.buffered_bytes(), 0u);
    f.deliver(dseqs[5]);
    f.deliver(0);
    expect_delivered(f.rx_out, sent, iota(0, 40));
    EXPECT_EQ(f.rx.buffered_bytes(), 0u);
    EXPECT_EQ(f.rx.missing(), 0u);
    EXPECT_EQ(f.rx.stats().out_of_order, 39u);
    EXPECT_EQ(f.rx.stats().duplicates, 1u);
    f.run_for(1s);
    EXPECT_TRUE(f.naked.empty()) << "all arrived before any NAK was due";
    EXPECT_TRUE(f.rx_out.events.empty());
}

TEST(Receiver, DroppedDatagramIsNakedRepairedAndDeliveredOnce) {
    Feed f;
    const auto sent = messages(10, 1000);
    const auto dseqs = f.send(sent);
    f.deliver_except(dseqs, {4});
    expect_delivered(f.rx_out, sent, iota(0, 4));
    EXPECT_EQ(f.rx.missing(), 1u);
    const Time due = f.rx.next_deadline();
    EXPECT_GE(due, kT0 + f.rcfg.nak_delay_min);
    EXPECT_LE(due, kT0 + f.rcfg.nak_delay_min + f.rcfg.nak_backoff);
    f.run_for(10ms);
    EXPECT_EQ(f.naked, (std::vector<wire::SeqRange>{{4, 1}})) << "exactly the missing one";
    expect_delivered(f.rx_out, sent, iota(0, 10));
    EXPECT_EQ(f.rx.stats().repairs, 1u);
    EXPECT_EQ(f.rx.stats().naks_sent, 1u);
    EXPECT_EQ(f.rx.missing(), 0u);
    EXPECT_TRUE(f.rx_out.events.empty());
    EXPECT_EQ(f.rx.next_deadline(), kNever);
}

TEST(Receiver, SeveralGapsAreNakedExactly) {
    Feed f;
    const auto sent = messages(20, 1000);
    const auto dseqs = f.send(sent);
    f.deliver_except(dseqs, {2, 3, 4, 9, 15, 16});
    f.run_for(10ms);
    auto naked = f.naked;
    std::sort(naked.begin(), naked.end(),
              [](const wire::SeqRange& a, const wire::SeqRange& b) { return a.first < b.first; });
    EXPECT_EQ(naked, (std::vector<wire::SeqRange>{{2, 3}, {9, 1}, {15, 2}}));
    expect_delivered(f.rx_out, sent, iota(0, 20));
}

TEST(Receiver, FragmentsAreReassembledByteExact) {
    Feed f;
    const std::vector<Bytes> sent = {pattern(10, 1), pattern(1u << 20, 2), pattern(1341, 3),
                                     pattern(0, 4),  pattern(70000, 5),    pattern(5, 6)};
    f.deliver(f.send(sent));
    expect_delivered(f.rx_out, sent, iota(0, 6));
    EXPECT_TRUE(f.rx_out.events.empty());
    EXPECT_EQ(f.rx.stats().bytes, 10u + (1u << 20) + 1341 + 0 + 70000 + 5);
}

TEST(Receiver, LostMiddleFragmentIsRepaired) {
    Feed f;
    const std::vector<Bytes> sent = {pattern(100, 0), pattern(100'000, 1), pattern(100, 2)};
    const auto dseqs = f.send_each(sent);
    ASSERT_GT(dseqs.size(), 40u);
    f.deliver_except(dseqs, {31});
    expect_delivered(f.rx_out, sent, {0});
    f.run_for(10ms);
    EXPECT_EQ(f.naked, (std::vector<wire::SeqRange>{{31, 1}}));
    expect_delivered(f.rx_out, sent, {0, 1, 2});
}

TEST(Receiver, TailLossIsDetectedByHeartbeatAndRepaired) {
    Feed f;
    const auto sent = messages(10, 1000);
    const auto dseqs = f.send(sent);
    f.deliver_except(dseqs, {8, 9});
    f.run_for(100ms);
    EXPECT_TRUE(f.naked.empty()) << "nothing is known missing before the heartbeat";
    expect_delivered(f.rx_out, sent, iota(0, 8));
    f.feed(f.heartbeat());
    EXPECT_EQ(f.rx.missing(), 2u);
    f.run_for(10ms);
    EXPECT_EQ(f.naked, (std::vector<wire::SeqRange>{{8, 2}}));
    expect_delivered(f.rx_out, sent, iota(0, 10));
    EXPECT_TRUE(f.rx_out.events.empty());
}

// ---- losses --------------------------------------------------------------------------------

TEST(Receiver, DataThatLeftTheWindowIsOneExactLossThenDeliveryContinues) {
    Feed f({}, window_of(4));
    const auto sent = messages(20, 1000);
    const auto dseqs = f.send(sent);  // one message per datagram: dseq == mseq
    ASSERT_EQ(dseqs, iota(0, 20));
    // The trail carried by the later datagrams passes 5..7 before any NAK is due.
    f.deliver_except(dseqs, {5, 6, 7});
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 5, 3, LossReason::kLeftWindow);
    EXPECT_EQ(f.rx_out.event_after[0], 5u) << "reported between messages 4 and 8";
    expect_delivered(f.rx_out, sent, concat(iota(0, 5), iota(8, 20)));
    f.run_for(1s);
    EXPECT_TRUE(f.naked.empty());
    EXPECT_EQ(f.rx.stats().messages_lost, 3u);
    EXPECT_EQ(f.rx.stats().loss_events, 1u);
}

TEST(Receiver, UnavailableAnswerIsOneExactLoss) {
    Feed f({}, window_of(4));
    const auto sent = messages(20, 1000);
    const auto dseqs = f.send(sent);
    // 15 is gone from the window (trail 16) but no datagram received says so.
    ASSERT_EQ(f.sender.trail(), 16u);
    f.deliver_except(dseqs, {15});
    EXPECT_TRUE(f.losses().empty());
    f.run_for(10ms);
    EXPECT_EQ(f.naked, (std::vector<wire::SeqRange>{{15, 1}}));
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 15, 1, LossReason::kLeftWindow);
    expect_delivered(f.rx_out, sent, concat(iota(0, 15), iota(16, 20)));
    // Later messages are still delivered.
    const auto more = messages(3, 1000, 20);
    f.deliver(f.send(more));
    auto all = sent;
    all.insert(all.end(), more.begin(), more.end());
    expect_delivered(f.rx_out, all, concat(iota(0, 15), iota(16, 23)));
    EXPECT_EQ(f.losses().size(), 1u);
}

TEST(Receiver, TailThatLeftTheWindowIsClosedByTheHeartbeatSyncPoint) {
    Feed f({}, window_of(2));
    const auto sent = messages(10, 1000);
    const auto dseqs = f.send(sent);
    f.deliver_except(dseqs, {8, 9});
    // More messages pass unseen, then a heartbeat: 8 and 9 are below its trail.
    f.send(messages(5, 1000, 10));
    f.feed(f.heartbeat());
    EXPECT_TRUE(f.losses().empty()) << "13 and 14 may still come: the loss is not closed";
    // 8..12 left the window; 13 and 14 are still held and get NAKed and repaired.
    f.run_for(10ms);
    EXPECT_EQ(f.naked, (std::vector<wire::SeqRange>{{13, 2}}));
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 8, 5, LossReason::kLeftWindow);
    EXPECT_EQ(f.rx_out.delivered_mseqs(), concat(iota(0, 8), {13, 14}));
    // Had 13 been lost too, the heartbeat's sync point (15 begins message 15) bounds it.
    Feed g({}, window_of(2));
    g.send(messages(10, 1000));
    g.deliver(iota(0, 8));
    g.send(messages(6, 1000, 10));  // dseq 10..15, trail 14
    g.feed(g.heartbeat());          // trail 14 > 13: 8..13 are gone, 14 and 15 missing
    g.unanswered = {14, 15};
    g.run_for(1ms);  // not long enough to give up
    EXPECT_TRUE(g.losses().empty());
    g.rx.sender_gone(g.now, g.rx_out, false);  // 14, 15 lost too: closed by the sync point
    const auto l2 = g.losses();
    ASSERT_EQ(l2.size(), 1u);
    expect_loss(l2[0], 8, 8, LossReason::kLeftWindow);
}

TEST(Receiver, LostFragmentOfALargeMessageThatLeftTheWindowLosesExactlyThatMessage) {
    Feed f({}, window_of(2));
    std::vector<Bytes> sent = {pattern(1000, 0), pattern(20'000, 1)};
    for (std::uint32_t i = 2; i < 8; ++i) sent.push_back(pattern(1000, i));
    const auto dseqs = f.send_each(sent);
    ASSERT_EQ(dseqs.size(), 1 + 15 + 6u);  // 20,000 bytes = 15 fragments of <= 1340
    f.deliver_except(dseqs, {6});          // a middle fragment of message 1
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 1, 1, LossReason::kLeftWindow);
    expect_delivered(f.rx_out, sent, concat({0}, iota(2, 8)));
    f.run_for(1s);
    EXPECT_TRUE(f.naked.empty());
}

TEST(Receiver, LostFirstFragmentThatLeftTheWindowLosesExactlyThatMessage) {
    Feed f({}, window_of(2));
    std::vector<Bytes> sent = {pattern(1000, 0), pattern(20'000, 1)};
    for (std::uint32_t i = 2; i < 8; ++i) sent.push_back(pattern(1000, i));
    const auto dseqs = f.send_each(sent);
    f.deliver_except(dseqs, {1});  // the first fragment of message 1
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 1, 1, LossReason::kLeftWindow);
    expect_delivered(f.rx_out, sent, concat({0}, iota(2, 8)));
}

TEST(Receiver, TwoLostFragmentsOfOneMessageAreOneLoss) {
    Feed f({}, window_of(2));
    std::vector<Bytes> sent = {pattern(1000, 0), pattern(20'000, 1)};
    for (std::uint32_t i = 2; i < 8; ++i) sent.push_back(pattern(1000, i));
    const auto dseqs = f.send_each(sent);
    f.deliver_except(dseqs, {4, 9});  // two separate fragments of message 1
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u) << "message 1 must be reported lost once";
    expect_loss(losses[0], 1, 1, LossReason::kLeftWindow);
    expect_delivered(f.rx_out, sent, concat({0}, iota(2, 8)));
    EXPECT_EQ(f.rx.stats().messages_lost, 1u);
}

TEST(Receiver, LossSpanningMessagesAndFragments) {
    Feed f({}, window_of(2));
    std::vector<Bytes> sent = {pattern(1000, 0), pattern(1000, 1), pattern(5000, 2),
                               pattern(1000, 3), pattern(5000, 4), pattern(1000, 5)};
    sent.push_back(pattern(1000, 6));
    sent.push_back(pattern(1000, 7));
    const auto dseqs = f.send_each(sent);
    // dseq: 0 m0 | 1 m1 | 2..5 m2 | 6 m3 | 7..10 m4 | 11 m5 | 12 m6 | 13 m7.
    // Lose from m1 into the middle of m4.
    ASSERT_EQ(dseqs, iota(0, 14));
    ASSERT_GT(f.sender.trail(), 8u);
    f.deliver_except(dseqs, {1, 2, 3, 4, 5, 6, 7, 8});
    f.run_for(10ms);  // whatever the trail in the data did not cover is UNAVAILABLE
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 1, 4, LossReason::kLeftWindow);  // m1..m4
    expect_delivered(f.rx_out, sent, {0, 5, 6, 7});
}

TEST(Receiver, ReceiverThereFromTheStartReportsLossFromMessageZero) {
    Feed f({}, window_of(2));
    const auto sent = messages(10, 1000);
    f.send(sent);
    // Datagrams 0..4 never arrive; 5, 6 and 7 carry trails 3, 4 and 5: all of 0..4 are
    // gone, and the receiver, there from the start, reports them from message 0.
    f.deliver(iota(5, 10));
    f.run_for(10ms);
    EXPECT_TRUE(f.naked.empty());
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 0, 5, LossReason::kLeftWindow);
    expect_delivered(f.rx_out, sent, iota(5, 10));
}

TEST(Receiver, GivesUpWhenNaksAreNeverAnswered) {
    ReceiverConfig rc;
    rc.nak_max_retries = 3;
    Feed f(rc);
    const auto sent = messages(10, 1000);
    const auto dseqs = f.send(sent);
    f.unanswered = {4, 5};
    f.deliver_except(dseqs, {4, 5});
    f.run_for(10s);
    EXPECT_EQ(f.naked, (std::vector<wire::SeqRange>(3, wire::SeqRange{4, 2})))
        << "exactly nak_max_retries NAKs";
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 4, 2, LossReason::kGaveUp);
    EXPECT_EQ(f.rx_out.event_after[0], 4u);
    expect_delivered(f.rx_out, sent, concat(iota(0, 4), iota(6, 10)));
    EXPECT_EQ(f.rx.next_deadline(), kNever);
    EXPECT_EQ(f.rx.stats().datagrams_lost, 2u);
}

TEST(Receiver, SenderGoneDeclaresMissingDataLost) {
    Feed f;
    auto sent = messages(10, 1000);
    sent.push_back(pattern(5000, 10));  // 4 fragments
    const auto dseqs = f.send_each(sent);
    ASSERT_EQ(dseqs, iota(0, 14));
    f.unanswered = {5};
    f.deliver_except(dseqs, {5, 12, 13});  // the last two fragments are not even known missing
    f.rx.sender_gone(f.now, f.rx_out, false);
    auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 5, 1, LossReason::kSenderGone);
    EXPECT_EQ(f.rx.missing(), 0u);
    EXPECT_EQ(f.rx.next_deadline(), kNever);
    // Final: the message in progress can never complete, and how many followed is unknown.
    f.rx.sender_gone(f.now, f.rx_out, true);
    losses = f.losses();
    ASSERT_EQ(losses.size(), 2u);
    EXPECT_EQ(losses[1].first_mseq, 10u);
    EXPECT_EQ(losses[1].count, 0u);
    EXPECT_TRUE(losses[1].open_ended);
    EXPECT_EQ(losses[1].reason, LossReason::kSenderGone);
    expect_delivered(f.rx_out, sent, concat(iota(0, 5), iota(6, 10)));
}

// More than a megabyte buffered behind a gap, twice. The repair releases the buffered
// datagrams at most kReleasePerPass (128) per call, the rest on poll() at once. The reorder
// buffer's pool keeps its memory between gaps, and is emptied once the buffer has stayed
// empty for a second (release_idle_pool); the second gap is served from fresh.
TEST(Receiver, ALargeGapIsReleasedInBoundedStepsAndThePoolIsEmptiedWhenIdle) {
    Feed f;
    const auto sent = messages(2400, 1000);  // one message per datagram
    const auto dseqs = f.send(sent);
    ASSERT_EQ(dseqs.size(), 2400u);
    const std::vector<std::uint64_t> first(dseqs.begin(), dseqs.begin() + 1200);
    const std::vector<std::uint64_t> second(dseqs.begin() + 1200, dseqs.end());
    f.deliver_except(first, {first[0]});
    EXPECT_GT(f.rx.buffered_bytes(), std::size_t{1} << 20);
    EXPECT_NE(f.rx.next_deadline(), Time{});
    f.deliver(first[0]);
    // The repaired datagram and 128 buffered ones; the rest waits for poll(), due at once.
    expect_delivered(f.rx_out, sent, iota(0, 129));
    EXPECT_EQ(f.rx.next_deadline(), Time{});
    f.rx.poll(f.now, f.rx_out);
    expect_delivered(f.rx_out, sent, iota(0, 257));
    f.run_for(1ms);
    EXPECT_EQ(f.rx.buffered_bytes(), 0u);
    EXPECT_NE(f.rx.next_deadline(), Time{});
    expect_delivered(f.rx_out, sent, iota(0, 1200));
    EXPECT_TRUE(f.rx.reorder_pool_in_use());  // kept for the next gap...
    f.rx.poll(f.now, f.rx_out);
    f.now += 900ms;
    f.rx.poll(f.now, f.rx_out);
    EXPECT_TRUE(f.rx.reorder_pool_in_use());
    f.now += 200ms;
    f.rx.poll(f.now, f.rx_out);
    EXPECT_FALSE(f.rx.reorder_pool_in_use());  // ... until the buffer was empty for a second
    f.deliver_except(second, {second[0], second[1]});
    EXPECT_GT(f.rx.buffered_bytes(), std::size_t{1} << 20);
    f.deliver(second[1]);
    f.deliver(second[0]);
    // A datagram arriving during a backlog continues it (and is buffered behind it).
    f.deliver(second[5]);  // a duplicate
    expect_delivered(f.rx_out, sent, iota(0, 1200 + 1 + 128 + 128));
    f.run_for(1ms);
    expect_delivered(f.rx_out, sent, iota(0, 2400));
    EXPECT_EQ(f.rx.buffered_bytes(), 0u);
    EXPECT_EQ(f.rx.stats().out_of_order, 1199u + 1198u + 1u);
    EXPECT_TRUE(f.rx_out.events.empty());
}

// ---- limits --------------------------------------------------------------------------------

TEST(Receiver, ReorderBufferStaysWithinItsByteLimitAndAllIsDelivered) {
    ReceiverConfig rc;
    rc.reorder_buffer_bytes = 10'000;  // about 9 datagrams of 1056 bytes
    Feed f(rc);
    const auto sent = messages(100, 1000);
    const auto dseqs = f.send(sent);
    ASSERT_EQ(dseqs.size(), 100u);
    f.deliver_except(dseqs, {0});
    EXPECT_LE(f.max_buffered, rc.reorder_buffer_bytes);
    EXPECT_GT(f.rx.stats().buffer_evictions, 0u);
    EXPECT_TRUE(f.rx_out.deliveries.empty());
    f.deliver(0);   // late
    f.run_for(1s);  // the evicted ones are NAKed and repaired
    EXPECT_LE(f.max_buffered, rc.reorder_buffer_bytes);
    expect_delivered(f.rx_out, sent, iota(0, 100));
    EXPECT_TRUE(f.losses().empty());
    EXPECT_EQ(f.rx.buffered_bytes(), 0u);
    EXPECT_EQ(f.rx.missing(), 0u);
}

// The limit counts the memory a buffered datagram takes: a whole block (datagram_size
// rounded up to 64 bytes), not its length. So the blocks the buffer holds, in use or kept,
// never exceed reorder_buffer_bytes.
TEST(Receiver, ReorderMemoryIsCountedInWholeBlocksAndStaysWithinTheLimit) {
    ReceiverConfig rc;
    rc.reorder_buffer_bytes = 200'000;  // 142 blocks of 1408 bytes
    Feed f(rc);
    const auto sent = messages(400, 1000);  // one message per datagram of ~1050 bytes
    const auto dseqs = f.send(sent);
    ASSERT_EQ(dseqs.size(), 400u);
    f.deliver_except(dseqs, {dseqs[0]});
    EXPECT_EQ(f.max_buffered, 142u * 1408u);
    EXPECT_EQ(f.rx.stats().out_of_order, 142u);
    EXPECT_EQ(f.rx.stats().buffer_evictions, 399u - 142u);
    EXPECT_LE(f.max_held, rc.reorder_buffer_bytes);
    f.deliver(dseqs[0]);
    f.run_for(1s);  // the evicted ones are NAKed and repaired
    expect_delivered(f.rx_out, sent, iota(0, 400));
    EXPECT_LE(f.max_buffered, rc.reorder_buffer_bytes);
    EXPECT_LE(f.max_held, rc.reorder_buffer_bytes);
    EXPECT_EQ(f.rx.buffered_bytes(), 0u);
}

// A sender with larger datagrams than this receiver's datagram_size: those do not fit a
// block and get heap bytes of their own, counted at their length. Some are still buffered
// when the receiver goes (its destructor frees them; ASan would report a leak).
TEST(Receiver, DatagramsLargerThanABlockAreBufferedAndDelivered) {
    SenderConfig sc;
    sc.datagram_size = 8000;
    Feed f({}, sc, 0, true, 1400);
    std::vector<Bytes> sent;
    for (std::uint8_t i = 0; i < 40; ++i) sent.push_back(pattern(i % 2 == 0 ? 5000 : 300, i));
    const auto dseqs = f.send_each(sent);
    ASSERT_EQ(dseqs.size(), 40u);
    const std::vector<std::uint64_t> first(dseqs.begin(), dseqs.begin() + 20);
    f.deliver_except(first, {first[0]});
    // 9 datagrams of ~5 KB on the heap, 10 small ones in blocks of 1408.
    EXPECT_GT(f.rx.buffered_bytes(), 10u * 1408u + 9u * 5000u);
    EXPECT_LT(f.rx.buffered_bytes(), 10u * 1408u + 9u * 5100u);
    f.deliver(first[0]);
    expect_delivered(f.rx_out, sent, iota(0, 20));
    EXPECT_EQ(f.rx.buffered_bytes(), 0u);
    const std::vector<std::uint64_t> second(dseqs.begin() + 20, dseqs.end());
    f.deliver_except(second, {second[0]});  // left buffered
    EXPECT_GT(f.rx.buffered_bytes(), 9u * 5000u);
    EXPECT_TRUE(f.losses().empty());
}

// Large datagrams (heap bytes, each counted at its length) under a small limit: a nearer one
// arriving when the buffer is full evicts the furthest, again and again, and the evicted ones
// are asked for and repaired later.
TEST(Receiver, NearerDatagramsEvictTheFurthestWhenLargeOnesFillTheLimit) {
    ReceiverConfig rc;
    rc.reorder_buffer_bytes = 30'000;  // five datagrams of ~5 KB
    SenderConfig sc;
    sc.datagram_size = 8000;
    Feed f(rc, sc, 0, true, 1400);
    std::vector<Bytes> sent;
    for (std::uint8_t i = 0; i < 20; ++i) sent.push_back(pattern(5000, i));
    const auto dseqs = f.send_each(sent);
    ASSERT_EQ(dseqs.size(), 20u);
    f.deliver({dseqs[10], dseqs[11], dseqs[12], dseqs[13], dseqs[14], dseqs[15]});
    EXPECT_EQ(f.rx.stats().buffer_evictions, 1u);  // the sixth did not fit: it is furthest
    for (std::size_t i = 9; i >= 2; --i) f.deliver(dseqs[i]);  // each evicts the furthest
    EXPECT_LE(f.max_buffered, rc.reorder_buffer_bytes);
    EXPECT_EQ(f.rx.stats().buffer_evictions, 1u + 8u);
    EXPECT_TRUE(f.rx_out.deliveries.empty());
    f.deliver({dseqs[1], dseqs[0]});
    f.run_for(1s);  // the evicted and the never-sent-yet ones are NAKed and repaired
    f.deliver({dseqs.begin() + 16, dseqs.end()});
    f.run_for(1s);
    expect_delivered(f.rx_out, sent, iota(0, 20));
    EXPECT_TRUE(f.losses().empty());
    EXPECT_LE(f.max_buffered, rc.reorder_buffer_bytes);
    EXPECT_EQ(f.rx.buffered_bytes(), 0u);
}

TEST(Receiver, MessageAboveMaxMessageSizeIsRejectedAndLaterOnesDelivered) {
    ReceiverConfig rc;
    rc.max_message_size = 4000;
    Feed f(rc);
    const std::vector<Bytes> sent = {pattern(100, 0),  pattern(10'000, 1), pattern(100, 2),
                                     pattern(4000, 3), pattern(4001, 4),   pattern(7, 5)};
    f.deliver(f.send(sent));
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 2u);
    expect_loss(losses[0], 1, 1, LossReason::kRejected);
    expect_loss(losses[1], 4, 1, LossReason::kRejected);
    EXPECT_EQ(f.rx_out.event_after, (std::vector<std::size_t>{1, 3}));
    expect_delivered(f.rx_out, sent, {0, 2, 3, 5});
    EXPECT_TRUE(f.naked.empty());
}

TEST(Receiver, RejectedMessageWithALostFragmentIsReportedOnce) {
    ReceiverConfig rc;
    rc.max_message_size = 4000;
    Feed f(rc, window_of(2));
    std::vector<Bytes> sent = {pattern(100, 0), pattern(10'000, 1)};
    for (std::uint32_t i = 2; i < 6; ++i) sent.push_back(pattern(1000, i));
    const auto dseqs = f.send_each(sent);
    f.deliver_except(dseqs, {4});  // a fragment of the rejected message, gone from the window
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 1, 1, LossReason::kRejected);
    expect_delivered(f.rx_out, sent, concat({0}, iota(2, 6)));
}

TEST(Receiver, BatchedMessageAboveMaxMessageSizeIsRejected) {
    ReceiverConfig rc;
    rc.max_message_size = 100;
    Feed f(rc);
    const std::vector<Bytes> sent = {pattern(100, 0), pattern(500, 1), pattern(3, 2)};
    const auto dseqs = f.send(sent);
    ASSERT_EQ(dseqs.size(), 1u) << "all three travel whole in one batch";
    f.deliver(dseqs);
    const auto losses = f.losses();
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 1, 1, LossReason::kRejected);
    expect_delivered(f.rx_out, sent, {0, 2});
}

TEST(Receiver, ImplausibleSequenceJumpIsDropped) {
    ReceiverConfig rc;
    rc.max_sequence_jump = 1000;
    Feed f(rc);
    const auto sent = messages(3, 1000);
    f.deliver(f.send(sent));
    // A datagram claiming dseq 1,000,000 (a corrupt or hostile packet).
    Bytes b = f.originals.at(2);
    wire::Packet p;
    ASSERT_EQ(wire::decode(b, p), wire::DecodeError::kOk);
    ASSERT_TRUE(wire::encode_data_prefix(b, p.header, 1'000'000, 2, 0, 0));
    f.feed(b);
    EXPECT_EQ(f.rx.stats().implausible, 1u);
    EXPECT_EQ(f.rx.missing(), 0u) << "no gap opened toward the implausible sequence";
    f.run_for(1s);
    EXPECT_TRUE(f.naked.empty());
    expect_delivered(f.rx_out, sent, {0, 1, 2});
}

// ---- late join -----------------------------------------------------------------------------

TEST(Receiver, LateJoinerStartingInsideAMessageSkipsItSilently) {
    const std::vector<Bytes> sent = {pattern(1000, 0), pattern(5000, 1), pattern(1000, 2),
                                     pattern(1000, 3)};
    // dseq: 0 m0 | 1..4 m1 | 5 m2 | 6 m3. The receiver starts at dseq 3 (kNext-style).
    Feed f({}, {}, 3, false);
    const auto dseqs = f.send_each(sent);
    ASSERT_EQ(dseqs, iota(0, 7));
    f.deliver(iota(3, 7));
    expect_delivered(f.rx_out, sent, {2, 3});
    EXPECT_TRUE(f.rx_out.events.empty()) << "nothing before the join is reported";
    f.run_for(1s);
    EXPECT_TRUE(f.naked.empty()) << "nothing before the join is NAKed";
}

TEST(Receiver, LateJoinerThatMissesItsFirstDatagramStartsAfterTheGap) {
    // Starting at dseq 2 without knowing which message begins there: if that datagram is
    // lost for good there is nothing to report (the receiver's stream starts after it).
    Feed f({}, window_of(2), 2, false);
    const auto sent = messages(10, 1000);
    const auto dseqs = f.send(sent);
    f.deliver_except(iota(2, 10), {2});
    f.run_for(10ms);  // 2 is gone: UNAVAILABLE
    EXPECT_TRUE(f.losses().empty());
    expect_delivered(f.rx_out, sent, iota(3, 10));
    (void)dseqs;
}

TEST(Receiver, LateJoinerSyncedByHeartbeatReportsLossFromTheSyncPoint) {
    Feed f({}, window_of(2));
    f.send(messages(5, 1000));  // before the join
    // A receiver that joins on this heartbeat knows message 5 begins at dseq 5.
    Receiver late(f.rcfg, kKey, f.rng, 1400, f.sender.next_dseq(), false);
    RecordingOutput out;
    wire::Packet hb;
    const Bytes hb_bytes = f.heartbeat();
    ASSERT_EQ(wire::decode(hb_bytes, hb), wire::DecodeError::kOk);
    late.on_heartbeat(f.now, std::get<wire::Heartbeat>(hb.body), out);
    f.send(messages(10, 1000, 5));  // dseq 5..14; window keeps 13, 14
    // 5 and 6 lost, then 7 arrives carrying trail 5, later ones move the trail past 6.
    for (std::uint64_t s = 7; s < 15; ++s) {
        wire::Packet p;
        ASSERT_EQ(wire::decode(f.originals.at(s), p), wire::DecodeError::kOk);
        late.on_data(f.now, std::get<wire::Data>(p.body), f.originals.at(s), out);
    }
    const auto losses = out.events_of(EventType::kLoss);
    ASSERT_EQ(losses.size(), 1u);
    expect_loss(losses[0], 5, 2, LossReason::kLeftWindow);
    EXPECT_EQ(out.delivered_mseqs(), iota(7, 15));
}

// A gap longer than the 32-bit count a wire range can carry is NAKed as several ranges that
// together name it exactly.
TEST(Receiver, GapLongerThanAWireRangeIsNakedInPieces) {
    ReceiverConfig cfg = without_reports({});
    cfg.max_sequence_jump = std::uint64_t{1} << 40;
    Rng rng(5);
    Receiver rx(cfg, kKey, rng, 1400, 0, true);
    RecordingOutput out;
    const std::uint64_t end = (std::uint64_t{1} << 32) + 10;
    wire::Heartbeat hb;
    hb.trail = 0;
    hb.next_dseq = end;
    hb.next_mseq = end;
    rx.on_heartbeat(kT0, hb, out);
    rx.poll(kT0 + 10ms, out);
    ASSERT_EQ(out.count(wire::PacketType::kNak), 1u);
    const wire::Packet p = out.packet(0);
    const auto& nak = std::get<wire::Nak>(p.body);
    ASSERT_EQ(nak.ranges.size(), 2u);
    EXPECT_EQ(nak.ranges[0], (wire::SeqRange{0, 0xFFFFFFFFu}));
    EXPECT_EQ(nak.ranges[1], (wire::SeqRange{0xFFFFFFFFu, end - 0xFFFFFFFFu}));
}
