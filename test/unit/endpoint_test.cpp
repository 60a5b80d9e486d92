// Unit tests of the protocol engine of a channel (src/proto/endpoint.h): decoding and
// rejecting foreign or malformed datagrams, routing, membership events (new, restarted,
// inactive, active, removed), the join rule, max_senders, configuration validation and
// deadlines. Endpoints are wired by hand through a zero-latency in-memory "network" whose
// losses the test chooses. Virtual time.
#include "proto/endpoint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "proto/config.h"
#include "recording_output.h"
#include "test_data.h"
#include "wire/codec.h"
#include "wire/packet.h"

using blip::proto::Endpoint;
using blip::proto::EndpointConfig;
using blip::proto::EventType;
using blip::proto::JoinPolicy;
using blip::proto::kNever;
using blip::proto::LossReason;
using blip::proto::Receiver;
using blip::proto::Status;
using blip::proto::StreamKey;
using blip::proto::Time;
using blip::proto::validate;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
namespace wire = blip::wire;

namespace {

constexpr Time kT0 = 100s;

EndpointConfig config(std::uint64_t node, std::uint64_t session = 0) {
    EndpointConfig c;
    c.node_id = node;
    c.session_id = session;
    c.seed = node * 1000 + session + 1;  // distinct per endpoint: distinct NAK back-offs
    return c;
}

// Endpoints on a zero-latency multicast "network": every datagram one sends reaches every
// other endpoint present at the time, unless `drop` says otherwise.
class Net {
public:
    struct Node {
        RecordingOutput out;
        std::unique_ptr<Endpoint> ep;
        std::size_t sent = 0;  // datagrams of `out` already carried
        bool gone = false;
    };

    Time now = kT0;
    /// Returns true to drop the datagram from node `from` to node `to`.
    std::function<bool(std::size_t from, std::size_t to, const wire::Packet&)> drop;
    std::vector<std::unique_ptr<Node>> nodes;

    std::size_t add(const EndpointConfig& cfg) {
        auto n = std::make_unique<Node>();
        n->ep = std::make_unique<Endpoint>(cfg, n->out, now);
        nodes.push_back(std::move(n));
        return nodes.size() - 1;
    }
    Endpoint& ep(std::size_t i) { return *nodes.at(i)->ep; }
    RecordingOutput& out(std::size_t i) { return nodes.at(i)->out; }
    /// The node stops: it sends and hears nothing more.
    void stop(std::size_t i) {
        settle();
        nodes.at(i)->gone = true;
    }

    void send(std::size_t i, std::uint32_t stream, const Bytes& m) {
        ASSERT_EQ(ep(i).send(now, stream, m, nullptr), Status::kOk);
        ep(i).flush(now);
        settle();
    }

    /// Carries every datagram sent so far, and those they cause, at the current time.
    void settle() {
        for (int round = 0; round < 10'000; ++round) {
            bool moved = false;
            for (std::size_t from = 0; from < nodes.size(); ++from) {
                Node& n = *nodes[from];
                while (n.sent < n.out.datagrams.size()) {
                    const Bytes d = n.out.datagrams[n.sent++];
                    if (n.gone) continue;
                    moved = true;
                    wire::Packet p;
                    EXPECT_EQ(wire::decode(d, p), wire::DecodeError::kOk);
                    for (std::size_t to = 0; to < nodes.size(); ++to) {
                        if (to == from || nodes[to]->gone) continue;
                        if (drop && drop(from, to, p)) continue;
                        nodes[to]->ep->on_datagram(now, d);
                    }
                }
            }
            if (!moved) return;
        }
        ADD_FAILURE() << "datagrams keep causing datagrams";
    }

    /// Runs every endpoint's timers up to `until`. After each on_timer the endpoint's next
    /// deadline must lie in the future (else a caller sleeping until it would spin).
    void run_until(Time until) {
        settle();
        for (int guard = 0; guard < 1'000'000; ++guard) {
            Time due = kNever;
            for (auto& n : nodes) {
                if (!n->gone) due = std::min(due, n->ep->next_deadline(now));
            }
            if (due == kNever || due > until) break;
            now = std::max(now, due);
            for (auto& n : nodes) {
                if (n->gone || n->ep->next_deadline(now) > now) continue;
                n->ep->on_timer(now);
                const Time next = n->ep->next_deadline(now);
                if (next <= now) {
                    ADD_FAILURE() << "next_deadline " << next.count() << " not after on_timer at "
                                  << now.count();
                    return;
                }
                settle();
            }
        }
        now = until;
        settle();
    }
    void run_for(std::chrono::nanoseconds d) { run_until(now + d); }
};

// A heartbeat as some sender `key` would send it.
Bytes heartbeat_from(const StreamKey& key, std::uint64_t next_dseq = 0) {
    wire::Header h;
    h.type = wire::PacketType::kHeartbeat;
    h.node = key.node;
    h.session = key.session;
    h.stream = key.stream;
    wire::Heartbeat hb;
    hb.trail = 0;
    hb.next_dseq = next_dseq;
    hb.next_mseq = next_dseq;
    Bytes b(wire::kHeaderSize + wire::kHeartbeatBodySize);
    EXPECT_EQ(wire::encode_heartbeat(b, h, hb), b.size());
    return b;
}

std::size_t receivers(const Endpoint& ep) {
    std::size_t n = 0;
    ep.for_each_receiver([&](const Receiver&, bool) { ++n; });
    return n;
}

}  // namespace

// ---- decoding and routing ------------------------------------------------------------------

TEST(Endpoint, ForeignPacketsAreCounted) {
    RecordingOutput out;
    Endpoint ep(config(1), out, kT0);
    const std::string http = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
    const Bytes ssdp(40, 0x4D);  // 40 x 'M'
    ep.on_datagram(kT0, Bytes(http.begin(), http.end()));
    ep.on_datagram(kT0, ssdp);
    ep.on_datagram(kT0, Bytes{'B', 'L', 'I', 'X'});
    EXPECT_EQ(ep.stats().datagrams_received, 3u);
    EXPECT_EQ(ep.stats().foreign, 3u);
    EXPECT_EQ(ep.stats().malformed, 0u);
    EXPECT_TRUE(out.events.empty());
    EXPECT_TRUE(out.datagrams.empty());
    EXPECT_EQ(receivers(ep), 0u);
}

TEST(Endpoint, MalformedPacketsAreCountedByReason) {
    RecordingOutput out;
    Endpoint ep(config(1), out, kT0);
    const Bytes good = heartbeat_from({9, 9, 0});
    auto reason_index = [](wire::DecodeError e) { return static_cast<std::size_t>(e); };

    Bytes truncated(good.begin(), good.begin() + 20);
    Bytes version = good;
    version[4] = 2;
    Bytes type = good;
    type[5] = 9;
    Bytes flags = good;
    flags[6] = 1;
    Bytes trailing = good;
    trailing.push_back(0);
    Bytes field = heartbeat_from({9, 9, 0}, 0);
    field[28 + 7] = 5;  // trail 5 > next_dseq 0
    Bytes huge(wire::kMaxDatagramSize + 1, 0);
    std::copy(good.begin(), good.end(), huge.begin());

    for (const Bytes* b : {&truncated, &version, &type, &flags, &trailing, &field, &huge}) {
        ep.on_datagram(kT0, *b);
    }
    const auto& s = ep.stats();
    EXPECT_EQ(s.malformed, 7u);
    EXPECT_EQ(s.foreign, 0u);
    EXPECT_EQ(s.malformed_by_reason[reason_index(wire::DecodeError::kTruncated)], 1u);
    EXPECT_EQ(s.malformed_by_reason[reason_index(wire::DecodeError::kBadVersion)], 1u);
    EXPECT_EQ(s.malformed_by_reason[reason_index(wire::DecodeError::kBadType)], 1u);
    EXPECT_EQ(s.malformed_by_reason[reason_index(wire::DecodeError::kBadFlags)], 1u);
    EXPECT_EQ(s.malformed_by_reason[reason_index(wire::DecodeError::kBadLength)], 1u);
    EXPECT_EQ(s.malformed_by_reason[reason_index(wire::DecodeError::kBadField)], 1u);
    EXPECT_EQ(s.malformed_by_reason[reason_index(wire::DecodeError::kTooLarge)], 1u);
    EXPECT_EQ(s.malformed_by_reason[reason_index(wire::DecodeError::kOk)], 0u);
    EXPECT_TRUE(out.events.empty()) << "no sender introduced by a malformed packet";
    EXPECT_EQ(receivers(ep), 0u);
    // The good one still works.
    ep.on_datagram(kT0, good);
    EXPECT_EQ(out.count(EventType::kSenderNew), 1u);
}

TEST(Endpoint, OwnPacketsLoopedBackAreIgnored) {
    RecordingOutput out;
    Endpoint ep(config(1, 11), out, kT0);
    ASSERT_EQ(ep.send(kT0, 0, pattern(100, 0), nullptr), Status::kOk);
    ASSERT_EQ(ep.send(kT0, 0, pattern(5000, 1), nullptr), Status::kOk);
    ep.flush(kT0);
    ep.on_timer(kT0 + 1ms);  // a heartbeat too
    const auto mine = out.take_datagrams();
    ASSERT_GE(mine.size(), 3u);
    for (const Bytes& d : mine) ep.on_datagram(kT0 + 1ms, d);
    EXPECT_EQ(ep.stats().own_looped, mine.size());
    EXPECT_TRUE(out.deliveries.empty());
    EXPECT_TRUE(out.events.empty());
    EXPECT_EQ(receivers(ep), 0u);
    // Same node id, other session: that is another incarnation, not us.
    ep.on_datagram(kT0 + 1ms, heartbeat_from({1, 12, 0}));
    EXPECT_EQ(out.count(EventType::kSenderNew), 1u);
}

TEST(Endpoint, StreamsNotAcceptedAreIgnoredAndCounted) {
    Net net;
    const auto tx = net.add(config(1));
    EndpointConfig rc = config(2);
    rc.receiver.accept_streams = {5};
    const auto rx = net.add(rc);
    net.send(tx, 5, pattern(10, 0));
    net.send(tx, 6, pattern(10, 1));
    net.send(tx, 6, pattern(10, 2));
    net.send(tx, 5, pattern(10, 3));
    ASSERT_EQ(net.out(rx).deliveries.size(), 2u);
    for (const auto& d : net.out(rx).deliveries) EXPECT_EQ(d.info.from.stream, 5u);
    EXPECT_EQ(net.out(rx).deliveries[1].data, pattern(10, 3));
    EXPECT_EQ(net.ep(rx).stats().ignored_streams, 2u);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderNew), 1u);
    net.run_for(10ms);  // stream 6's heartbeats are ignored too
    EXPECT_GT(net.ep(rx).stats().ignored_streams, 2u);
    EXPECT_EQ(receivers(net.ep(rx)), 1u);
}

TEST(Endpoint, SenderNewIsEmittedOnceBeforeTheFirstDelivery) {
    Net net;
    const auto tx = net.add(config(1, 77));
    const auto rx = net.add(config(2));
    for (std::uint32_t i = 0; i < 5; ++i) net.send(tx, 3, pattern(100 + i, i));
    net.run_for(3s);
    const auto& out = net.out(rx);
    ASSERT_EQ(out.count(EventType::kSenderNew), 1u);
    EXPECT_EQ(out.events[0].type, EventType::kSenderNew);
    EXPECT_EQ(out.event_after[0], 0u) << "before the first delivery";
    EXPECT_EQ(out.events[0].from, (StreamKey{1, 77, 3}));
    ASSERT_EQ(out.delivered_mseqs(), iota(0, 5));
    for (const auto& d : out.deliveries) {
        EXPECT_EQ(d.info.from, (StreamKey{1, 77, 3}));
        EXPECT_EQ(d.data, pattern(100 + d.info.mseq, static_cast<std::uint32_t>(d.info.mseq)));
    }
    EXPECT_EQ(out.events.size(), 1u);
    // Each stream of a node is a sender stream of its own.
    net.send(tx, 4, pattern(1, 9));
    EXPECT_EQ(net.out(rx).count(EventType::kSenderNew), 2u);
}

TEST(Endpoint, NakFromOneReceiverSuppressesTheOthersAndOneRepairServesBoth) {
    Net net;
    const auto tx = net.add(config(1));
    const auto rx1 = net.add(config(2));
    const auto rx2 = net.add(config(3));
    // dseq 4 reaches neither receiver.
    net.drop = [&](std::size_t from, std::size_t, const wire::Packet& p) {
        const auto* d = std::get_if<wire::Data>(&p.body);
        return from == tx && d != nullptr && d->dseq == 4 && !d->repair;
    };
    for (std::uint32_t i = 0; i < 10; ++i) net.send(tx, 0, pattern(1000, i));
    net.run_for(100ms);
    for (const auto rx : {rx1, rx2}) {
        EXPECT_EQ(net.out(rx).delivered_mseqs(), iota(0, 10)) << "receiver " << rx;
        EXPECT_EQ(net.out(rx).count(EventType::kLoss), 0u);
    }
    const std::size_t naks =
        net.out(rx1).count(wire::PacketType::kNak) + net.out(rx2).count(wire::PacketType::kNak);
    EXPECT_EQ(naks, 1u) << "the first NAK, heard by the other receiver, suppresses its own";
    EXPECT_EQ(net.ep(tx).sender(0)->stats().repairs_sent, 1u);
    EXPECT_EQ(net.ep(rx1).stats().naks_for_others + net.ep(rx2).stats().naks_for_others, 1u);
    std::uint64_t suppressed = 0;
    for (const auto rx : {rx1, rx2}) {
        net.ep(rx).for_each_receiver(
            [&](const Receiver& r, bool) { suppressed += r.nak_stats().naks_suppressed; });
    }
    EXPECT_EQ(suppressed, 1u);
}

// ---- membership ----------------------------------------------------------------------------

TEST(Endpoint, RestartEndsTheOldSessionAndStartsTheNewOneFromItsFirstMessage) {
    Net net;
    const auto old_tx = net.add(config(7, 100));
    const auto rx = net.add(config(2));
    // The old session's message 5 never arrives and is never repaired.
    net.drop = [&](std::size_t from, std::size_t to, const wire::Packet& p) {
        const auto* d = std::get_if<wire::Data>(&p.body);
        if (from == old_tx && d != nullptr && d->dseq == 5) return true;
        return to == old_tx;  // NAKs to the old sender are lost
    };
    for (std::uint32_t i = 0; i < 8; ++i) net.send(old_tx, 0, pattern(1000, i));
    EXPECT_EQ(net.out(rx).delivered_mseqs(), iota(0, 5));
    net.stop(old_tx);
    net.now += 10ms;
    const auto new_tx = net.add(config(7, 200));
    for (std::uint32_t i = 0; i < 3; ++i) net.send(new_tx, 0, pattern(10, 50 + i));

    const auto& out = net.out(rx);
    ASSERT_EQ(out.events.size(), 3u);
    EXPECT_EQ(out.events[0].type, EventType::kSenderNew);
    EXPECT_EQ(out.events[1].type, EventType::kLoss);
    EXPECT_EQ(out.events[1].from, (StreamKey{7, 100, 0}));
    EXPECT_EQ(out.events[1].first_mseq, 5u);
    EXPECT_EQ(out.events[1].count, 1u);
    EXPECT_EQ(out.events[1].reason, LossReason::kSenderGone);
    EXPECT_EQ(out.events[2].type, EventType::kSenderRestarted);
    EXPECT_EQ(out.events[2].from, (StreamKey{7, 200, 0}));
    EXPECT_EQ(out.events[2].old_session, 100u);
    // Old session: 0..4, then 6 and 7 (they were buffered behind the loss); new: 0..2.
    ASSERT_EQ(out.deliveries.size(), 10u);
    for (std::size_t i = 0; i < 7; ++i) EXPECT_EQ(out.deliveries[i].info.from.session, 100u);
    EXPECT_EQ(out.deliveries[5].info.mseq, 6u);
    EXPECT_EQ(out.deliveries[6].info.mseq, 7u);
    for (std::size_t i = 7; i < 10; ++i) {
        EXPECT_EQ(out.deliveries[i].info.from, (StreamKey{7, 200, 0}));
        EXPECT_EQ(out.deliveries[i].info.mseq, i - 7);
        EXPECT_EQ(out.deliveries[i].data, pattern(10, static_cast<std::uint32_t>(50 + i - 7)));
    }
    EXPECT_EQ(out.event_after[2], 7u) << "restart reported before the new session's messages";
    EXPECT_EQ(receivers(net.ep(rx)), 1u);
    // A late packet of the old session is stale: no new restart.
    net.ep(rx).on_datagram(net.now, heartbeat_from({7, 100, 0}, 8));
    EXPECT_EQ(net.ep(rx).stats().stale_sessions, 1u);
    EXPECT_EQ(out.events.size(), 3u);
}

TEST(Endpoint, SilentSenderBecomesInactiveThenActiveThenRemoved) {
    Net net;
    const auto tx = net.add(config(1, 5));
    EndpointConfig rc = config(2);
    rc.receiver.sender_timeout = 5s;
    rc.receiver.sender_forget = 60s;
    const auto rx = net.add(rc);
    bool silent = false;
    net.drop = [&](std::size_t from, std::size_t, const wire::Packet&) {
        return silent && from == tx;
    };
    net.send(tx, 0, pattern(10, 0));
    const Time last = net.now;
    silent = true;  // heartbeats keep coming from tx but are lost
    net.run_until(last + 5s - 1us);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderInactive), 0u);
    net.run_until(last + 5s);
    ASSERT_EQ(net.out(rx).count(EventType::kSenderInactive), 1u);
    EXPECT_EQ(net.out(rx).events.back().from, (StreamKey{1, 5, 0}));
    net.run_for(10s);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderInactive), 1u) << "reported once";

    silent = false;  // the next heartbeat gets through (one at least every heartbeat_max)
    net.run_for(1s + 1ms);
    ASSERT_EQ(net.out(rx).count(EventType::kSenderActive), 1u);
    EXPECT_EQ(net.out(rx).events.back().type, EventType::kSenderActive);
    net.send(tx, 0, pattern(10, 1));
    EXPECT_EQ(net.out(rx).delivered_mseqs(), (std::vector<std::uint64_t>{0, 1}));

    silent = true;
    const Time last2 = net.now;
    net.run_until(last2 + 60s - 1ms);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderInactive), 2u);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderRemoved), 0u);
    net.run_until(last2 + 60s);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderRemoved), 1u);
    EXPECT_EQ(net.out(rx).events.back().type, EventType::kSenderRemoved);
    EXPECT_EQ(receivers(net.ep(rx)), 0u);
    EXPECT_EQ(net.out(rx).count(EventType::kLoss), 0u);
}

TEST(Endpoint, SenderHeardAgainAfterRemovalIsNotDeliveredTwice) {
    Net net;
    const auto tx = net.add(config(1, 5));
    const auto rx = net.add(config(2));
    bool silent = false;
    net.drop = [&](std::size_t from, std::size_t, const wire::Packet&) {
        return silent && from == tx;
    };
    net.send(tx, 0, pattern(10, 0));
    net.send(tx, 0, pattern(10, 1));
    silent = true;  // a partition longer than sender_forget
    net.run_for(61s);
    ASSERT_EQ(net.out(rx).count(EventType::kSenderRemoved), 1u);
    silent = false;
    net.send(tx, 0, pattern(10, 2));
    net.run_for(1s);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderNew), 2u);
    // Messages 0 and 1 were delivered before the removal; the sender, heard again with the
    // same session, must not make the application receive them a second time.
    EXPECT_EQ(net.out(rx).delivered_mseqs(), (std::vector<std::uint64_t>{0, 1, 2}));
}

TEST(Endpoint, InactiveSenderLosesItsGaps) {
    Net net;
    const auto tx = net.add(config(1, 5));
    const auto rx = net.add(config(2));
    bool silent = false;
    net.drop = [&](std::size_t from, std::size_t, const wire::Packet& p) {
        const auto* d = std::get_if<wire::Data>(&p.body);
        if (from == tx && d != nullptr && d->dseq == 2) return true;  // never repaired
        return silent || from != tx;
    };
    for (std::uint32_t i = 0; i < 4; ++i) net.send(tx, 0, pattern(1000, i));
    silent = true;
    net.run_for(6s);
    const auto losses = net.out(rx).events_of(EventType::kLoss);
    ASSERT_EQ(losses.size(), 1u);
    EXPECT_EQ(losses[0].first_mseq, 2u);
    EXPECT_EQ(losses[0].count, 1u);
    EXPECT_TRUE(losses[0].reason == LossReason::kSenderGone ||
                losses[0].reason == LossReason::kGaveUp)
        << "whichever comes first";
    EXPECT_EQ(net.out(rx).delivered_mseqs(), (std::vector<std::uint64_t>{0, 1, 3}));
}

// ---- joining -------------------------------------------------------------------------------

namespace {

// A sender that has sent messages 0..9 (one per datagram) over 9 s before a receiver
// endpoint is created.
struct LateJoin {
    explicit LateJoin(JoinPolicy join, std::size_t window_messages = 1u << 20) {
        EndpointConfig tc = config(1, 9);
        tc.sender.window_max_messages = window_messages;
        tx = net.add(tc);
        for (std::uint32_t i = 0; i < 10; ++i) {
            net.send(tx, 0, pattern(1000, i));
            net.run_for(1s);
        }
        EndpointConfig rc = config(2);
        rc.receiver.join = join;
        rx = net.add(rc);
    }
    Net net;
    std::size_t tx = 0;
    std::size_t rx = 0;
};

}  // namespace

TEST(Endpoint, LateJoinerWithJoinNextStartsAtTheFirstMessageItHears) {
    LateJoin j(JoinPolicy::kNext);
    for (std::uint32_t i = 10; i < 15; ++i) j.net.send(j.tx, 0, pattern(1000, i));
    j.net.run_for(2s);
    const auto& out = j.net.out(j.rx);
    EXPECT_EQ(out.delivered_mseqs(), iota(10, 15));
    EXPECT_EQ(out.count(EventType::kLoss), 0u) << "nothing before the join is lost";
    EXPECT_EQ(out.count(EventType::kSenderNew), 1u);
    EXPECT_EQ(out.count(wire::PacketType::kNak), 0u);
}

TEST(Endpoint, LateJoinerWithJoinNextHearingAHeartbeatFirst) {
    LateJoin j(JoinPolicy::kNext);
    j.net.run_for(2s);  // idle: only heartbeats
    EXPECT_EQ(j.net.out(j.rx).count(EventType::kSenderNew), 1u);
    for (std::uint32_t i = 10; i < 13; ++i) j.net.send(j.tx, 0, pattern(1000, i));
    EXPECT_EQ(j.net.out(j.rx).delivered_mseqs(), iota(10, 13));
    EXPECT_EQ(j.net.out(j.rx).count(EventType::kLoss), 0u);
}

TEST(Endpoint, LateJoinerWithJoinRecoverGetsAllTheSenderStillHolds) {
    LateJoin j(JoinPolicy::kRecover);
    j.net.send(j.tx, 0, pattern(1000, 10));
    j.net.run_for(100ms);
    for (std::uint32_t i = 11; i < 13; ++i) j.net.send(j.tx, 0, pattern(1000, i));
    const auto& out = j.net.out(j.rx);
    ASSERT_EQ(out.delivered_mseqs(), iota(0, 13));
    for (const auto& d : out.deliveries) {
        EXPECT_EQ(d.data, pattern(1000, static_cast<std::uint32_t>(d.info.mseq)));
    }
    EXPECT_EQ(out.count(EventType::kLoss), 0u);
}

TEST(Endpoint, LateJoinerWithJoinRecoverAndASmallWindowStartsAtTheTrail) {
    LateJoin j(JoinPolicy::kRecover, 4);  // holds messages 6..9 at the join
    // Message 10 carries trail 6 (the window before it was added); sending it pushed 6 out,
    // so the sender holds 7..10 when the NAK comes: 6 is UNAVAILABLE, the rest recovered.
    j.net.send(j.tx, 0, pattern(1000, 10));
    j.net.run_for(100ms);
    for (std::uint32_t i = 11; i < 13; ++i) j.net.send(j.tx, 0, pattern(1000, i));
    EXPECT_EQ(j.net.out(j.rx).delivered_mseqs(), iota(7, 13));
    EXPECT_EQ(j.net.out(j.rx).count(EventType::kLoss), 0u)
        << "what left before the join is not a loss of this receiver";
}

TEST(Endpoint, ReceiverStartedBeforeTheSenderGetsMessageZeroEvenIfItsDatagramIsDropped) {
    Net net;
    const auto rx = net.add(config(2));
    net.now += 3s;  // the sender starts later: its session is younger than our listening
    const auto tx = net.add(config(1, 4));
    net.drop = [&](std::size_t from, std::size_t, const wire::Packet& p) {
        const auto* d = std::get_if<wire::Data>(&p.body);
        return from == tx && d != nullptr && d->dseq == 0 && !d->repair;
    };
    for (std::uint32_t i = 0; i < 3; ++i) net.send(tx, 0, pattern(1000, i));
    net.run_for(100ms);
    EXPECT_EQ(net.out(rx).delivered_mseqs(), iota(0, 3));
    EXPECT_EQ(net.out(rx).count(EventType::kLoss), 0u);
    EXPECT_EQ(net.out(rx).count(wire::PacketType::kNak), 1u);
}

TEST(Endpoint, ReceiverStartedBeforeTheSenderReportsMessageZeroIfItCannotBeRepaired) {
    Net net;
    const auto rx = net.add(config(2));
    net.now += 3s;
    EndpointConfig tc = config(1, 4);
    tc.sender.window_max_messages = 1;
    const auto tx = net.add(tc);
    net.drop = [&](std::size_t from, std::size_t, const wire::Packet& p) {
        const auto* d = std::get_if<wire::Data>(&p.body);
        return from == tx && d != nullptr && d->dseq == 0;
    };
    for (std::uint32_t i = 0; i < 3; ++i) net.send(tx, 0, pattern(1000, i));
    net.run_for(100ms);
    const auto losses = net.out(rx).events_of(EventType::kLoss);
    ASSERT_EQ(losses.size(), 1u);
    EXPECT_EQ(losses[0].first_mseq, 0u);
    EXPECT_EQ(losses[0].count, 1u);
    EXPECT_EQ(losses[0].reason, LossReason::kLeftWindow);
    EXPECT_EQ(net.out(rx).delivered_mseqs(), iota(1, 3));
}

TEST(Endpoint, MaxSendersIsEnforced) {
    Net net;
    EndpointConfig rc = config(100);
    rc.receiver.max_senders = 2;
    const auto rx = net.add(rc);
    const auto a = net.add(config(1));
    const auto b = net.add(config(2));
    const auto c = net.add(config(3));
    for (const auto tx : {a, b, c}) net.send(tx, 0, pattern(10, static_cast<std::uint32_t>(tx)));
    EXPECT_EQ(net.out(rx).count(EventType::kSenderNew), 2u);
    EXPECT_EQ(receivers(net.ep(rx)), 2u);
    EXPECT_GT(net.ep(rx).stats().too_many_senders, 0u);
    ASSERT_EQ(net.out(rx).deliveries.size(), 2u);
    for (const auto& d : net.out(rx).deliveries) EXPECT_NE(d.info.from.node, 3u);
    // Once a tracked sender is forgotten there is room again: c's next heartbeat gets in.
    net.stop(a);
    net.run_for(61s);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderRemoved), 1u);
    EXPECT_EQ(net.out(rx).count(EventType::kSenderNew), 3u);
    EXPECT_EQ(receivers(net.ep(rx)), 2u);
    net.send(c, 0, pattern(10, 9));
    net.run_for(10ms);
    EXPECT_EQ(net.out(rx).deliveries.back().info.from.node, 3u);
    EXPECT_EQ(net.out(rx).deliveries.back().data, pattern(10, 9));
}

// ---- configuration -------------------------------------------------------------------------

TEST(EndpointConfig, DefaultsAreValid) { EXPECT_EQ(validate(EndpointConfig{}), ""); }

TEST(EndpointConfig, ValidateNamesTheOffendingField) {
    struct Case {
        const char* field;
        std::function<void(EndpointConfig&)> breakit;
    };
    const std::vector<Case> cases = {
        {"datagram_size", [](EndpointConfig& c) { c.sender.datagram_size = 127; }},
        {"datagram_size", [](EndpointConfig& c) { c.sender.datagram_size = 65508; }},
        {"max_message_size", [](EndpointConfig& c) { c.sender.max_message_size = 0; }},
        {"window_max_bytes", [](EndpointConfig& c) { c.sender.window_max_bytes = 1000; }},
        {"window_max_messages", [](EndpointConfig& c) { c.sender.window_max_messages = 0; }},
        {"queue_max_bytes", [](EndpointConfig& c) { c.sender.queue_max_bytes = 1000; }},
        {"queue_max_messages", [](EndpointConfig& c) { c.sender.queue_max_messages = 0; }},
        {"repair_rate", [](EndpointConfig& c) { c.sender.repair_rate = 0; }},
        {"repair_burst", [](EndpointConfig& c) { c.sender.repair_burst = 1399; }},
        {"heartbeat_min", [](EndpointConfig& c) { c.sender.heartbeat_min = 0s; }},
        {"heartbeat_min", [](EndpointConfig& c) { c.sender.heartbeat_max = 100us; }},
        {"repair_holdoff", [](EndpointConfig& c) { c.sender.repair_holdoff = -1us; }},
        {"max_message_size", [](EndpointConfig& c) { c.receiver.max_message_size = 0; }},
        {"reorder_buffer_bytes",
         [](EndpointConfig& c) { c.receiver.reorder_buffer_bytes = 65506; }},
        {"NAK delays", [](EndpointConfig& c) { c.receiver.nak_backoff = -1us; }},
        {"nak_backoff_lambda", [](EndpointConfig& c) { c.receiver.nak_backoff_lambda = 31; }},
        {"nak_backoff_lambda", [](EndpointConfig& c) { c.receiver.nak_backoff_lambda = -0.5; }},
        {"repair_timeout", [](EndpointConfig& c) { c.receiver.nak_retry_max = 100us; }},
        {"sender_timeout", [](EndpointConfig& c) { c.receiver.sender_forget = 1s; }},
        {"heartbeat_max", [](EndpointConfig& c) { c.receiver.sender_timeout = 1s; }},
        {"max_senders", [](EndpointConfig& c) { c.receiver.max_senders = 0; }},
        {"max_sequence_jump", [](EndpointConfig& c) { c.receiver.max_sequence_jump = 0; }},
    };
    for (const Case& k : cases) {
        EndpointConfig c;
        k.breakit(c);
        const std::string err = validate(c);
        EXPECT_NE(err.find(k.field), std::string::npos)
            << "expected '" << k.field << "' in '" << err << "'";
        RecordingOutput out;
        try {
            Endpoint ep(c, out, kT0);
            ADD_FAILURE() << "Endpoint accepted a config with a bad " << k.field;
        } catch (const std::invalid_argument& e) {
            EXPECT_EQ(std::string(e.what()), err);
        }
    }
    // NaN is not a valid lambda either.
    EndpointConfig c;
    c.receiver.nak_backoff_lambda = std::numeric_limits<double>::quiet_NaN();
    EXPECT_NE(validate(c).find("nak_backoff_lambda"), std::string::npos);
}

// ---- deadlines -----------------------------------------------------------------------------

TEST(Endpoint, NextDeadline) {
    RecordingOutput out;
    Endpoint ep(config(1), out, kT0);
    EXPECT_EQ(ep.next_deadline(kT0), kNever) << "nothing to do without senders or remotes";
    ep.on_timer(kT0 + 1s);
    EXPECT_TRUE(out.datagrams.empty());
    ASSERT_EQ(ep.send(kT0 + 1s, 0, pattern(10, 0), nullptr), Status::kOk);
    EXPECT_LE(ep.next_deadline(kT0 + 1s), kT0 + 1s) << "queued data is due now";
    ep.flush(kT0 + 1s);
    Time now = kT0 + 1s;
    for (int i = 0; i < 50; ++i) {
        const Time due = ep.next_deadline(now);
        ASSERT_NE(due, kNever) << "a sender always has its next heartbeat scheduled";
        ASSERT_GT(due, now);
        ASSERT_LE(due, now + ep.config().sender.heartbeat_max);
        now = due;
        ep.on_timer(now);
        ASSERT_GT(ep.next_deadline(now), now) << "in the past after on_timer";
    }
    EXPECT_GT(out.count(wire::PacketType::kHeartbeat), 10u);
}

TEST(Endpoint, DeadlinesStayAheadUnderLoss) {
    // Many messages, a lossy network in both directions, two receivers: every on_timer leaves
    // a deadline in the future (checked by Net::run_until) and all is delivered in the end.
    Net net;
    const auto tx = net.add(config(1));
    const auto rx1 = net.add(config(2));
    const auto rx2 = net.add(config(3));
    std::uint64_t counter = 0;
    net.drop = [&](std::size_t, std::size_t, const wire::Packet&) {
        counter = counter * 6364136223846793005ull + 1442695040888963407ull;
        return (counter >> 33) % 10 == 0;  // 10 % loss, deterministic
    };
    for (std::uint32_t i = 0; i < 300; ++i) {
        ASSERT_EQ(net.ep(tx).send(net.now, 0, pattern(50 + (i * 97) % 3000, i), nullptr),
                  Status::kOk);
        if (i % 10 == 9) {
            net.ep(tx).flush(net.now);
            net.run_for(1ms);
        }
    }
    net.ep(tx).flush(net.now);
    net.run_for(5s);
    for (const auto rx : {rx1, rx2}) {
        const auto& out = net.out(rx);
        EXPECT_EQ(out.delivered_mseqs(), iota(0, 300)) << "receiver " << rx;
        EXPECT_EQ(out.count(EventType::kLoss), 0u) << "receiver " << rx;
        for (const auto& d : out.deliveries) {
            ASSERT_EQ(d.data, pattern(50 + (d.info.mseq * 97) % 3000,
                                      static_cast<std::uint32_t>(d.info.mseq)));
        }
    }
}

namespace {

// A one-message batch DATA with chosen sequence numbers, as a hostile peer could send it.
Bytes data_from(const StreamKey& key, std::uint64_t dseq, std::uint64_t mseq) {
    wire::Header h;
    h.type = wire::PacketType::kData;
    h.node = key.node;
    h.session = key.session;
    h.stream = key.stream;
    Bytes b(wire::kDataPrefixSize + 2 + 2 + 1);
    EXPECT_TRUE(wire::encode_data_prefix(b, h, dseq, mseq, 0, 0xFFFFFFFFu));
    const std::uint8_t body[] = {0, 1, 0, 1, 'x'};  // count 1, length 1, "x"
    std::copy(std::begin(body), std::end(body), b.begin() + wire::kDataPrefixSize);
    return b;
}

}  // namespace

// Sequence numbers near 2^64 decode (the wire allows them) but no correct sender reaches
// 2^63: the endpoint drops such packets and counts them, so nothing in the core can
// overflow on dseq + 1 or mseq + count.
TEST(Endpoint, SequencesBeyondTheValidRangeAreDroppedAndCounted) {
    RecordingOutput out;
    Endpoint ep(config(1), out, kT0);
    const StreamKey key{9, 9, 0};
    const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
    ep.on_datagram(kT0, data_from(key, max, 0));
    ep.on_datagram(kT0, data_from(key, 0, max));
    ep.on_datagram(kT0, data_from(key, blip::proto::kMaxSequence, 0));
    ep.on_datagram(kT0, heartbeat_from(key, max));
    EXPECT_EQ(ep.stats().out_of_range, 4u);
    EXPECT_EQ(receivers(ep), 0u);
    EXPECT_TRUE(out.events.empty());
    EXPECT_TRUE(out.deliveries.empty());
    // Just inside the range is accepted as usual.
    ep.on_datagram(kT0, data_from(key, blip::proto::kMaxSequence - 1, 0));
    EXPECT_EQ(ep.stats().out_of_range, 4u);
    EXPECT_EQ(receivers(ep), 1u);
}
