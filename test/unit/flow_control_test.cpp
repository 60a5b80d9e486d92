// Unit tests of receiver-driven flow control (STATUS), sender side: holding new data below
// the lowest limit reported, probes while held, flow_timeout and the receiver table
// (src/proto/sender.h), and the routing of STATUS in the Endpoint. The receiver's side and a
// closed loop of both are in flow_receiver_test.cpp. Virtual time; no I/O.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <limits>
#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "flow_test_util.h"
#include "proto/config.h"
#include "proto/endpoint.h"
#include "proto/receiver.h"
#include "proto/rng.h"
#include "proto/sender.h"
#include "recording_output.h"
#include "test_data.h"
#include "wire/codec.h"
#include "wire/packet.h"

using blip::proto::Duration;
using blip::proto::Endpoint;
using blip::proto::EndpointConfig;
using blip::proto::kMaxSequence;
using blip::proto::kNever;
using blip::proto::Receiver;
using blip::proto::ReceiverConfig;
using blip::proto::ReporterId;
using blip::proto::Rng;
using blip::proto::Sender;
using blip::proto::SenderConfig;
using blip::proto::Status;
using blip::proto::StreamKey;
using blip::proto::Time;
using namespace std::chrono_literals;  // NOLINT(google-build-using-namespace)
namespace wire = blip::wire;

namespace {

using namespace flow_test;  // NOLINT(google-build-using-namespace)

/// A report by receiver `node` (its session derived from it).
wire::StatusReport report(std::uint64_t node, std::uint64_t position, std::uint64_t limit) {
    wire::StatusReport st;
    st.receiver_node = node;
    st.receiver_session = node + 0x1000;
    st.position = position;
    st.limit = limit;
    return st;
}

void queue(Sender& s, Time now, std::size_t n, std::size_t size = kMsg) {
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(s.submit(now, pattern(size, static_cast<std::uint32_t>(i)), nullptr),
                  Status::kOk);
    }
}

struct SentData {
    std::uint64_t dseq;
    bool repair;
    Bytes body;  // everything after the DATA prefix
};

/// The DATA datagrams of `out` from index `from` on; fails on any other packet type.
std::vector<SentData> data_of(const RecordingOutput& out, std::size_t from = 0) {
    std::vector<SentData> v;
    for (std::size_t i = from; i < out.datagrams.size(); ++i) {
        const wire::Packet p = out.packet(i);
        const auto* d = std::get_if<wire::Data>(&p.body);
        if (d == nullptr) {
            ADD_FAILURE() << "datagram " << i << " is not DATA";
            continue;
        }
        v.push_back(
            {d->dseq, d->repair,
             Bytes(out.datagrams[i].begin() + wire::kDataPrefixSize, out.datagrams[i].end())});
    }
    return v;
}

/// The dseqs of the original (not repair) DATA in `v`.
std::vector<std::uint64_t> originals(const std::vector<SentData>& v) {
    std::vector<std::uint64_t> out;
    for (const SentData& d : v) {
        if (!d.repair) out.push_back(d.dseq);
    }
    return out;
}

// ---- the sender ------------------------------------------------------------------------

TEST(FlowSender, WithNoReportsSendsEverythingQueued) {
    Sender s(SenderConfig{}, kKey, kT0);
    queue(s, kT0, 50);
    RecordingOutput out;
    s.flush(kT0, out);
    EXPECT_EQ(originals(data_of(out)), iota(0, 50));
    EXPECT_EQ(s.stats().flow_stalls, 0u);
    EXPECT_EQ(s.flow_limit(), Sender::kNoFlowLimit);
    EXPECT_EQ(s.flow_receivers(), 0u);
    EXPECT_EQ(s.queued_messages(), 0u);
}

TEST(FlowSender, StopsBelowTheLimitAndAHigherOneResumesAtOnce) {
    Sender s(SenderConfig{}, kKey, kT0);
    s.on_status(kT0, report(1, 0, 10));
    EXPECT_EQ(s.flow_receivers(), 1u);
    EXPECT_EQ(s.flow_limit(), 10u);
    queue(s, kT0, 50);
    RecordingOutput out;
    s.flush(kT0, out);
    EXPECT_EQ(originals(data_of(out)), iota(0, 10));
    EXPECT_EQ(s.next_dseq(), 10u);
    EXPECT_EQ(s.queued_messages(), 40u);
    EXPECT_EQ(s.stats().flow_stalls, 1u);

    // Held: flushing again (later, but before any probe is due) sends nothing, and the same
    // wait is not counted twice.
    out.clear();
    s.flush(kT0 + 100us, out);
    EXPECT_TRUE(out.datagrams.empty());
    EXPECT_EQ(s.stats().flow_stalls, 1u);

    // A report with a higher limit makes the sender due at once.
    const Time t1 = kT0 + 150us;
    s.on_status(t1, report(1, 10, 25));
    EXPECT_EQ(s.flow_limit(), 25u);
    EXPECT_EQ(s.next_deadline(t1), t1);
    s.flush(t1, out);
    EXPECT_EQ(originals(data_of(out)), iota(10, 25));
    EXPECT_EQ(s.stats().flow_stalls, 2u);
    EXPECT_EQ(s.queued_messages(), 25u);
    EXPECT_EQ(s.stats().statuses_received, 2u);
    EXPECT_EQ(s.stats().statuses_ignored, 0u);
}

TEST(FlowSender, AnInitialCreditHoldsTheFirstBurstUntilAReport) {
    SenderConfig cfg;
    cfg.initial_credit = 8;
    cfg.initial_wait = 5ms;
    Sender s(cfg, kKey, kT0);
    queue(s, kT0, 50);
    RecordingOutput out;
    s.flush(kT0, out);
    EXPECT_EQ(originals(data_of(out)), iota(0, 8)) << "the initial credit only";
    EXPECT_EQ(s.stats().flow_stalls, 1u);
    // Waiting for a first report (no probe: nobody is known to ask), at most initial_wait.
    EXPECT_EQ(s.next_deadline(kT0), kT0 + 5ms);
    out.clear();
    s.flush(kT0 + 1ms, out);
    EXPECT_TRUE(out.datagrams.empty());
    // The first report ends the initial phase: from now on its limit governs.
    const Time t1 = kT0 + 2ms;
    s.on_status(t1, report(1, 8, 20));
    EXPECT_EQ(s.next_deadline(t1), t1);
    s.flush(t1, out);
    EXPECT_EQ(originals(data_of(out)), iota(8, 20));
    EXPECT_EQ(s.stats().flow_probes, 0u);
}

TEST(FlowSender, TheLowestOfTwoReceiversGoverns) {
    Sender s(SenderConfig{}, kKey, kT0);
    s.on_status(kT0, report(1, 0, 30));
    s.on_status(kT0, report(2, 0, 12));
    EXPECT_EQ(s.flow_receivers(), 2u);
    EXPECT_EQ(s.flow_limit(), 12u);
    queue(s, kT0, 50);
    RecordingOutput out;
    s.flush(kT0, out);
    EXPECT_EQ(originals(data_of(out)), iota(0, 12));

    // The slow one moves beyond the other: now the other governs.
    out.clear();
    s.on_status(kT0 + 10us, report(2, 12, 40));
    EXPECT_EQ(s.flow_limit(), 30u);
    s.flush(kT0 + 10us, out);
    EXPECT_EQ(originals(data_of(out)), iota(12, 30));
    EXPECT_EQ(s.next_dseq(), 30u);
}

TEST(FlowSender, AnOlderLowerReportDoesNotLowerTheLimit) {
    Sender s(SenderConfig{}, kKey, kT0);
    s.on_status(kT0, report(1, 0, 20));
    s.on_status(kT0 + 1us, report(1, 0, 5));  // overtaken in flight by the one above
    EXPECT_EQ(s.flow_receivers(), 1u);
    EXPECT_EQ(s.flow_limit(), 20u);
    queue(s, kT0, 50);
    RecordingOutput out;
    s.flush(kT0 + 1us, out);
    EXPECT_EQ(originals(data_of(out)), iota(0, 20));
    EXPECT_EQ(s.stats().statuses_received, 2u);
    EXPECT_EQ(s.stats().statuses_ignored, 0u);
}

TEST(FlowSender, AReportOnDataNeverSentIsIgnoredAndCounted) {
    Sender s(SenderConfig{}, kKey, kT0);
    s.on_status(kT0, report(1, 1, 5));  // position 1, but nothing was sent
    EXPECT_EQ(s.stats().statuses_received, 1u);
    EXPECT_EQ(s.stats().statuses_ignored, 1u);
    EXPECT_EQ(s.flow_receivers(), 0u);
    EXPECT_EQ(s.flow_limit(), Sender::kNoFlowLimit);

    queue(s, kT0, 3);
    RecordingOutput out;
    s.flush(kT0, out);
    ASSERT_EQ(s.next_dseq(), 3u);
    s.on_status(kT0, report(2, 4, 9));  // one beyond next_dseq: ignored
    EXPECT_EQ(s.stats().statuses_ignored, 2u);
    EXPECT_EQ(s.flow_receivers(), 0u);
    s.on_status(kT0, report(3, 3, 9));  // position == next_dseq: everything sent was read
    EXPECT_EQ(s.stats().statuses_ignored, 2u);
    EXPECT_EQ(s.flow_receivers(), 1u);
    EXPECT_EQ(s.flow_limit(), 9u);
    EXPECT_EQ(s.stats().statuses_received, 3u);
}

TEST(FlowSender, FlowControlOffIgnoresLimits) {
    SenderConfig cfg;
    cfg.flow_control = false;
    Sender s(cfg, kKey, kT0);
    s.on_status(kT0, report(1, 0, 5));
    queue(s, kT0, 50);
    RecordingOutput out;
    s.flush(kT0, out);
    EXPECT_EQ(originals(data_of(out)), iota(0, 50));
    EXPECT_EQ(s.stats().flow_stalls, 0u);
    EXPECT_EQ(s.stats().flow_probes, 0u);
    // Idle now: the next thing due is the heartbeat, no probe or timeout.
    EXPECT_EQ(s.next_deadline(kT0), kT0 + cfg.heartbeat_min);
}

// While held, the newest datagram goes out again as a repair, identical in body, at
// heartbeat_min after the wait began and then at doubling intervals.
TEST(FlowSender, WhileHeldTheNewestDatagramIsResentAtDoublingIntervals) {
    const SenderConfig cfg;  // heartbeat_min 200 us, flow_timeout 500 ms
    Sender s(cfg, kKey, kT0);
    s.on_status(kT0, report(1, 0, 10));
    queue(s, kT0, 20);
    RecordingOutput out;
    s.flush(kT0, out);
    const std::vector<SentData> sent = data_of(out);
    ASSERT_EQ(originals(sent), iota(0, 10));
    const Bytes newest_body = sent.back().body;
    out.clear();

    const Time until = kT0 + 100ms;
    std::vector<Time> expected;
    Duration gap = cfg.heartbeat_min;
    for (Time t = kT0 + gap; t < until; gap *= 2, t += gap) expected.push_back(t);
    ASSERT_EQ(expected.size(), 8u);  // 0.2, 0.6, 1.4, 3.0, 6.2, 12.6, 25.4, 51.0 ms

    std::vector<Time> probes;
    Time now = kT0;
    for (int guard = 0; guard < 1000; ++guard) {
        const Time due = s.next_deadline(now);
        ASSERT_GT(due, now) << "deadline not in the future at +" << ns(now) << " ns";
        if (due >= until) break;
        now = due;
        const std::size_t before = out.datagrams.size();
        s.flush(now, out);
        for (const SentData& d : data_of(out, before)) {
            EXPECT_TRUE(d.repair);
            EXPECT_EQ(d.dseq, 9u);
            EXPECT_EQ(d.body, newest_body);
            probes.push_back(now);
        }
    }
    EXPECT_EQ(ns(probes), ns(expected));
    EXPECT_EQ(s.stats().flow_probes, expected.size());
    EXPECT_EQ(s.stats().repairs_sent, 0u) << "probes are not NAK answers";
    EXPECT_EQ(s.stats().heartbeats_sent, 0u) << "no heartbeat while data is queued";
    EXPECT_EQ(s.queued_messages(), 10u);
    EXPECT_EQ(s.stats().flow_timeouts, 0u);
}

// A receiver that holds the sender back and stays silent is dropped flow_timeout after the
// wait began; until then each deadline is the earlier of the next probe and that expiry.
// A receiver that does not hold the sender back is kept.
TEST(FlowSender, ASilentReceiverHoldingItBackIsDroppedAfterFlowTimeout) {
    const SenderConfig cfg;
    Sender s(cfg, kKey, kT0);
    s.on_status(kT0, report(1, 0, 10));    // holds the sender back at 10
    s.on_status(kT0, report(2, 0, 1000));  // does not
    queue(s, kT0, 20);
    RecordingOutput out;
    s.flush(kT0, out);
    ASSERT_EQ(originals(data_of(out)), iota(0, 10));
    out.clear();

    const Time expiry = kT0 + cfg.flow_timeout;
    Time next_probe = kT0 + cfg.heartbeat_min;
    Duration gap = cfg.heartbeat_min;
    Time now = kT0;
    std::size_t probes = 0;
    for (int guard = 0; guard < 1000; ++guard) {
        const Time due = s.next_deadline(now);
        ASSERT_EQ(ns(due), ns(std::min(next_probe, expiry))) << "at +" << ns(now) << " ns";
        if (due == expiry) break;
        now = due;
        s.flush(now, out);
        ++probes;
        gap *= 2;
        next_probe += gap;
    }
    EXPECT_EQ(probes, 11u);  // the last at 409.4 ms; the next would be at 819.0 ms
    EXPECT_EQ(s.stats().flow_probes, probes);
    EXPECT_EQ(originals(data_of(out)), std::vector<std::uint64_t>{}) << "nothing new held";

    out.clear();
    s.flush(expiry - 1ns, out);
    EXPECT_TRUE(out.datagrams.empty());
    EXPECT_EQ(s.stats().flow_timeouts, 0u);
    EXPECT_EQ(s.flow_receivers(), 2u);

    s.flush(expiry, out);
    EXPECT_EQ(s.stats().flow_timeouts, 1u);
    EXPECT_EQ(s.flow_receivers(), 1u);
    EXPECT_EQ(s.flow_limit(), 1000u);
    EXPECT_EQ(originals(data_of(out)), iota(10, 20));
    EXPECT_EQ(s.queued_messages(), 0u);
}

// Silence before the wait proves nothing (nothing was sent to report on): a receiver heard
// long before gets the whole flow_timeout counted from the start of the wait.
TEST(FlowSender, AReceiverHeardLongBeforeTheWaitGetsTheFullTimeout) {
    const SenderConfig cfg;
    Sender s(cfg, kKey, kT0);
    s.on_status(kT0, report(1, 0, 10));
    queue(s, kT0, 5);
    RecordingOutput out;
    s.flush(kT0, out);
    ASSERT_EQ(originals(data_of(out)), iota(0, 5));
    EXPECT_EQ(s.stats().flow_stalls, 0u);

    const Time t1 = kT0 + 10s;
    out.clear();
    queue(s, t1, 10);
    s.flush(t1, out);
    EXPECT_EQ(originals(data_of(out)), iota(5, 10));
    EXPECT_EQ(s.stats().flow_stalls, 1u);
    EXPECT_EQ(s.stats().flow_timeouts, 0u);
    EXPECT_EQ(s.flow_receivers(), 1u);
    EXPECT_EQ(ns(s.next_deadline(t1)), ns(t1 + cfg.heartbeat_min));

    out.clear();
    s.flush(t1 + cfg.flow_timeout - 1ns, out);
    EXPECT_EQ(s.stats().flow_timeouts, 0u);
    EXPECT_EQ(originals(data_of(out)), std::vector<std::uint64_t>{});

    out.clear();
    s.flush(t1 + cfg.flow_timeout, out);
    EXPECT_EQ(s.stats().flow_timeouts, 1u);
    EXPECT_EQ(s.flow_receivers(), 0u);
    EXPECT_EQ(originals(data_of(out)), iota(10, 15));
}

// A wait that begins while the sender was idle (its heartbeat interval grown towards
// heartbeat_max) must still probe quickly at first: heartbeat_min after the wait began.
// The receiver here is alive and fully caught up; only its last report was lost. If the
// first probe waits for the idle heartbeat schedule (up to heartbeat_max = 1 s), the
// receiver is dropped at flow_timeout (500 ms) without ever having been asked.
TEST(FlowSender, AWaitThatBeginsAfterIdleProbesAtHeartbeatMin) {
    const SenderConfig cfg;
    Sender s(cfg, kKey, kT0);
    s.on_status(kT0, report(1, 0, 10));
    queue(s, kT0, 10);
    RecordingOutput out;
    s.flush(kT0, out);
    ASSERT_EQ(originals(data_of(out)), iota(0, 10));
    EXPECT_EQ(s.stats().flow_stalls, 0u) << "the queue emptied exactly at the limit";

    // Idle for 9 s: heartbeats at their deadlines, the interval grows to heartbeat_max.
    Time now = kT0;
    Time last_beat = kT0;
    while (true) {
        const Time due = s.next_deadline(now);
        if (due > kT0 + 9s) break;
        now = due;
        s.flush(now, out);
        last_beat = now;
    }
    ASSERT_GT(s.stats().heartbeats_sent, 10u);
    out.clear();

    // The application sends again just after a heartbeat: held at once (limit 10).
    const Time t1 = last_beat + 1ms;
    queue(s, t1, 1);
    s.flush(t1, out);
    EXPECT_TRUE(out.datagrams.empty());
    EXPECT_EQ(s.stats().flow_stalls, 1u);
    EXPECT_EQ(ns(s.next_deadline(t1)), ns(t1 + cfg.heartbeat_min))
        << "first probe should be due heartbeat_min after the wait began";

    // Follow the deadlines: a probe must go out before the receiver is dropped.
    now = t1;
    std::optional<Time> first_probe;
    for (int guard = 0; guard < 1000 && s.stats().flow_timeouts == 0; ++guard) {
        const Time due = s.next_deadline(now);
        ASSERT_GT(due, now);
        ASSERT_LE(due, t1 + 10s);
        now = due;
        const std::size_t before = out.datagrams.size();
        s.flush(now, out);
        for (const SentData& d : data_of(out, before)) {
            if (d.repair && !first_probe) first_probe = now;
        }
    }
    ASSERT_TRUE(first_probe.has_value()) << "the receiver was dropped at +" << ns(now) - ns(t1)
                                         << " ns after the wait began without a single probe";
    EXPECT_EQ(ns(*first_probe), ns(t1 + cfg.heartbeat_min));
}

// The newest datagram can leave the window at once (window_max_messages below the messages
// a batch starts). Held then, the sender has nothing to probe with; its deadline must still
// move on, or a driver sleeping until it spins.
TEST(FlowSender, HeldWithTheNewestDatagramOutOfTheWindowTheDeadlineStillMovesOn) {
    SenderConfig cfg;
    cfg.window_max_messages = 1;
    Sender s(cfg, kKey, kT0);
    s.on_status(kT0, report(1, 0, 1));
    queue(s, kT0, 4, 10);  // one batch datagram starting 4 messages: evicted at once
    RecordingOutput out;
    s.flush(kT0, out);
    ASSERT_EQ(originals(data_of(out)), iota(0, 1));
    ASSERT_EQ(s.window().datagrams(), 0u);
    ASSERT_EQ(s.next_dseq(), 1u);
    queue(s, kT0, 1, 10);
    s.flush(kT0, out);
    ASSERT_EQ(s.stats().flow_stalls, 1u);

    Time now = kT0;
    for (int guard = 0; guard < 100; ++guard) {
        const Time due = s.next_deadline(now);
        ASSERT_GT(due, now) << "deadline not in the future at +" << ns(now)
                            << " ns: a driver would spin (flow_probes " << s.stats().flow_probes
                            << ")";
        if (due >= kT0 + cfg.flow_timeout) break;
        now = due;
        s.flush(now, out);
    }
}

TEST(FlowSender, ReceiversBeyondTheMaximumAreIgnored) {
    Sender s(SenderConfig{}, kKey, kT0);
    for (std::uint64_t i = 0; i < Sender::kMaxFlowReceivers; ++i) {
        s.on_status(kT0, report(100 + i, 0, 100 + i));
    }
    EXPECT_EQ(s.flow_receivers(), Sender::kMaxFlowReceivers);
    EXPECT_EQ(s.flow_limit(), 100u);
    EXPECT_EQ(s.stats().statuses_ignored, 0u);

    s.on_status(kT0, report(1, 0, 3));  // one more, and the slowest: ignored
    EXPECT_EQ(s.flow_receivers(), Sender::kMaxFlowReceivers);
    EXPECT_EQ(s.flow_limit(), 100u);
    EXPECT_EQ(s.stats().statuses_ignored, 1u);

    s.on_status(kT0, report(100, 0, 500));  // a known one still updates
    EXPECT_EQ(s.flow_limit(), 101u);
    EXPECT_EQ(s.stats().statuses_ignored, 1u);
    EXPECT_EQ(s.stats().statuses_received, Sender::kMaxFlowReceivers + 2);

    queue(s, kT0, 200);
    RecordingOutput out;
    s.flush(kT0, out);
    EXPECT_EQ(originals(data_of(out)), iota(0, 101));
}

// ---- the receiver ----------------------------------------------------------------------

// Original DATA datagrams [0, n) of stream kKey, one 1300-byte message each.

EndpointConfig endpoint_config(std::uint64_t node) {
    EndpointConfig c;
    c.node_id = node;
    c.session_id = node * 100;
    c.seed = node;
    return c;
}

/// Carries every datagram `from` recorded to each endpoint of `to`, and forgets them.
void carry(RecordingOutput& from, std::initializer_list<Endpoint*> to, Time now) {
    for (const Bytes& d : from.take_datagrams()) {
        for (Endpoint* e : to) e->on_datagram(now, d);
    }
}

Bytes status_datagram(const wire::Header& h, const wire::StatusReport& st) {
    Bytes b(wire::kHeaderSize + wire::kStatusBodySize);
    EXPECT_EQ(wire::encode_status(b, h, st), b.size());
    return b;
}

TEST(FlowEndpoint, AStatusAboutOurStreamReachesItsSender) {
    RecordingOutput out_a;
    RecordingOutput out_b;
    Endpoint a(endpoint_config(1), out_a, kT0);
    Endpoint b(endpoint_config(2), out_b, kT0);
    ASSERT_EQ(a.send(kT0, 7, pattern(100, 1), nullptr), Status::kOk);
    a.flush(kT0);
    carry(out_a, {&b}, kT0);
    ASSERT_EQ(out_b.deliveries.size(), 1u);

    // B's report names A's stream in the header and B in the body.
    ASSERT_EQ(out_b.count(wire::PacketType::kStatus), 1u);
    ASSERT_EQ(out_b.datagrams.size(), 1u);
    const wire::Packet p = out_b.packet(0);
    EXPECT_EQ(p.header.node, a.node_id());
    EXPECT_EQ(p.header.session, a.session_id());
    EXPECT_EQ(p.header.stream, 7u);
    const auto& st = std::get<wire::StatusReport>(p.body);
    EXPECT_EQ(st.receiver_node, b.node_id());
    EXPECT_EQ(st.receiver_session, b.session_id());
    EXPECT_EQ(st.position, 1u);
    EXPECT_EQ(st.limit, 1u + 1024u);

    carry(out_b, {&a}, kT0);
    ASSERT_NE(a.sender(7), nullptr);
    EXPECT_EQ(a.sender(7)->flow_receivers(), 1u);
    EXPECT_EQ(a.sender(7)->flow_limit(), 1025u);
    EXPECT_EQ(a.sender(7)->stats().statuses_received, 1u);
    EXPECT_EQ(a.stats().statuses_for_others, 0u);
    EXPECT_EQ(a.stats().own_looped, 0u);
}

TEST(FlowEndpoint, AStatusAboutAnotherSenderIsCountedNotApplied) {
    RecordingOutput out_a;
    RecordingOutput out_b;
    RecordingOutput out_c;
    Endpoint a(endpoint_config(1), out_a, kT0);
    Endpoint b(endpoint_config(2), out_b, kT0);
    Endpoint c(endpoint_config(3), out_c, kT0);
    ASSERT_EQ(c.send(kT0, 7, pattern(100, 3), nullptr), Status::kOk);  // C sends on 7 too
    c.flush(kT0);
    out_c.clear();
    ASSERT_EQ(a.send(kT0, 7, pattern(100, 1), nullptr), Status::kOk);
    a.flush(kT0);
    carry(out_a, {&b}, kT0);  // only B hears A
    ASSERT_EQ(out_b.count(wire::PacketType::kStatus), 1u);
    carry(out_b, {&a, &c}, kT0);  // B's report about A reaches A and C

    EXPECT_EQ(c.stats().statuses_for_others, 1u);
    ASSERT_NE(c.sender(7), nullptr);
    EXPECT_EQ(c.sender(7)->flow_receivers(), 0u);
    EXPECT_EQ(c.sender(7)->stats().statuses_received, 0u);
    EXPECT_EQ(a.sender(7)->flow_receivers(), 1u);

    // Our node, but a session that is not ours (an earlier start): not ours either.
    wire::Header h;
    h.type = wire::PacketType::kStatus;
    h.node = a.node_id();
    h.session = a.session_id() + 1;
    h.stream = 7;
    a.on_datagram(kT0, status_datagram(h, report(9, 0, 1)));
    EXPECT_EQ(a.stats().statuses_for_others, 1u);
    EXPECT_EQ(a.sender(7)->flow_receivers(), 1u);
    EXPECT_EQ(a.sender(7)->flow_limit(), 1025u);
}

TEST(FlowEndpoint, AStatusWithALimitAtOrBeyond2To63IsOutOfRange) {
    RecordingOutput out_a;
    Endpoint a(endpoint_config(1), out_a, kT0);
    ASSERT_EQ(a.send(kT0, 7, pattern(100, 1), nullptr), Status::kOk);
    a.flush(kT0);
    wire::Header h;
    h.type = wire::PacketType::kStatus;
    h.node = a.node_id();
    h.session = a.session_id();
    h.stream = 7;

    a.on_datagram(kT0, status_datagram(h, report(2, 0, kMaxSequence)));
    EXPECT_EQ(a.stats().out_of_range, 1u);
    EXPECT_EQ(a.stats().malformed, 0u);
    EXPECT_EQ(a.sender(7)->flow_receivers(), 0u);
    EXPECT_EQ(a.sender(7)->stats().statuses_received, 0u);

    a.on_datagram(kT0, status_datagram(h, report(2, 0, std::numeric_limits<std::uint64_t>::max())));
    EXPECT_EQ(a.stats().out_of_range, 2u);
    EXPECT_EQ(a.sender(7)->flow_receivers(), 0u);

    a.on_datagram(kT0, status_datagram(h, report(2, 1, kMaxSequence - 1)));  // the largest
    EXPECT_EQ(a.stats().out_of_range, 2u);
    EXPECT_EQ(a.sender(7)->flow_receivers(), 1u);
    EXPECT_EQ(a.sender(7)->flow_limit(), kMaxSequence - 1);

    // A stream we never sent on: dropped without effect.
    h.stream = 8;
    a.on_datagram(kT0, status_datagram(h, report(3, 0, 5)));
    EXPECT_EQ(a.sender(8), nullptr);
    EXPECT_EQ(a.sender(7)->flow_receivers(), 1u);
    EXPECT_EQ(a.stats().out_of_range, 2u);
    EXPECT_EQ(a.stats().statuses_for_others, 0u);
}

}  // namespace
