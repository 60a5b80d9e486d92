// Unit tests of receiver-driven flow control (STATUS), receiver side: what a receiver reports
// and when (src/proto/receiver.h), and a closed loop of one Sender and one Receiver through an
// in-test link (lossless, and with STATUS reports dropped). The sender's side is in
// flow_control_test.cpp. Virtual time; no I/O.
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

std::vector<Bytes> make_stream(std::size_t n) {
    SenderConfig sc;
    sc.flow_control = false;
    Sender s(sc, kKey, kT0);
    for (std::size_t i = 0; i < n; ++i) {
        EXPECT_EQ(s.submit(kT0, pattern(1300, static_cast<std::uint32_t>(i)), nullptr),
                  Status::kOk);
    }
    RecordingOutput out;
    s.flush(kT0, out);
    std::vector<Bytes> v;
    for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
        if (out.packet(i).header.type == wire::PacketType::kData) v.push_back(out.datagrams[i]);
    }
    EXPECT_EQ(v.size(), n);
    return v;
}

// The same datagram as a repair (what a probe or a NAK answer looks like).
Bytes as_repair(Bytes b) {
    b[6] |= wire::kFlagRepair;  // the flags byte of the common header
    return b;
}

struct Report {
    Time at;
    wire::Header header;
    wire::StatusReport st;
};

// One Receiver of stream kKey, reporting as kMe, listening from the session start.
class Rx {
public:
    explicit Rx(ReceiverConfig c = {})
        : cfg(std::move(c)), rx(cfg, kKey, rng, 1400, 0, true, kMe) {}

    ReceiverConfig cfg;
    Rng rng{3};
    Receiver rx;
    RecordingOutput out;
    std::vector<Report> reports;  // every STATUS sent, decoded
    std::size_t naks = 0;

    void feed(Time now, const Bytes& datagram) {
        wire::Packet p;
        ASSERT_EQ(wire::decode(datagram, p), wire::DecodeError::kOk);
        ASSERT_EQ(p.header.type, wire::PacketType::kData);
        rx.on_data(now, std::get<wire::Data>(p.body), datagram, out);
        collect(now);
    }
    void poll(Time now) {
        rx.poll(now, out);
        collect(now);
    }

private:
    void collect(Time now) {
        for (std::size_t i = 0; i < out.datagrams.size(); ++i) {
            const wire::Packet p = out.packet(i);
            if (p.header.type == wire::PacketType::kNak) ++naks;
            if (p.header.type != wire::PacketType::kStatus) continue;
            reports.push_back({now, p.header, std::get<wire::StatusReport>(p.body)});
        }
        out.datagrams.clear();
    }
};

TEST(FlowReceiver, TheFirstDatagramIsReportedAtOnce) {
    const auto data = make_stream(1);
    Rx r;
    r.feed(kT0, data[0]);
    ASSERT_EQ(r.reports.size(), 1u);
    const Report& rep = r.reports[0];
    EXPECT_EQ(rep.header.type, wire::PacketType::kStatus);
    EXPECT_EQ(rep.header.node, kKey.node);  // the sender reported on
    EXPECT_EQ(rep.header.session, kKey.session);
    EXPECT_EQ(rep.header.stream, kKey.stream);
    EXPECT_EQ(rep.st.receiver_node, kMe.node);  // who reports
    EXPECT_EQ(rep.st.receiver_session, kMe.session);
    EXPECT_EQ(rep.st.position, 1u);
    EXPECT_EQ(rep.st.limit, 1u + 1024u);  // status_credit beyond the newest read
    EXPECT_EQ(r.rx.flow_limit(), 1025u);
    EXPECT_EQ(r.rx.stats().statuses_sent, 1u);
    EXPECT_EQ(r.out.deliveries.size(), 1u);
    EXPECT_EQ(r.rx.next_deadline(), kNever) << "nothing missing: no keepalive";
}

TEST(FlowReceiver, ReportsAgainEachTimeTheLimitMovedAQuarterOfTheCredit) {
    const auto data = make_stream(600);
    Rx r;  // status_credit 1024: a report per 256 datagrams
    Time now = kT0;
    for (std::size_t i = 0; i < data.size(); ++i) {
        now += 1us;
        r.feed(now, data[i]);
        r.poll(now);  // polling between datagrams sends nothing more
        EXPECT_EQ(r.rx.next_deadline(), kNever);
    }
    ASSERT_EQ(r.reports.size(), 3u);
    EXPECT_EQ(r.reports[0].st.position, 1u);
    EXPECT_EQ(r.reports[0].st.limit, 1025u);
    EXPECT_EQ(ns(r.reports[0].at), ns(kT0 + 1us));
    EXPECT_EQ(r.reports[1].st.position, 257u);  // after dseq 256
    EXPECT_EQ(r.reports[1].st.limit, 1281u);
    EXPECT_EQ(ns(r.reports[1].at), ns(kT0 + 257us));
    EXPECT_EQ(r.reports[2].st.position, 513u);
    EXPECT_EQ(r.reports[2].st.limit, 1537u);
    EXPECT_EQ(r.rx.stats().statuses_sent, 3u);
    EXPECT_EQ(r.rx.flow_limit(), 600u + 1024u);
}

// reorder_buffer_bytes 65507 with 1400-byte datagrams holds 46: while dseq 1 is missing the
// sender may not go beyond 1 + 46, however far the newest datagram is.
TEST(FlowReceiver, TheLimitIsBoundedByTheReorderBufferWhileAGapIsOpen) {
    const auto data = make_stream(40);
    ReceiverConfig cfg;
    cfg.reorder_buffer_bytes = 65507;
    cfg.status_credit = 64;  // a report per 16
    Rx r(cfg);
    r.feed(kT0, data[0]);
    ASSERT_EQ(r.reports.size(), 1u);
    EXPECT_EQ(r.reports[0].st.position, 1u);
    EXPECT_EQ(r.reports[0].st.limit, 1u + 46u);  // min(1 + 64, 1 + 46)

    for (std::size_t i = 2; i < 31; ++i) r.feed(kT0, data[i]);
    EXPECT_EQ(r.rx.next_dseq(), 1u);
    EXPECT_EQ(r.rx.flow_limit(), 47u) << "min(31 + 64, 1 + 46)";
    EXPECT_EQ(r.reports.size(), 1u) << "the limit did not move";
    EXPECT_EQ(r.rx.stats().buffer_evictions, 0u);

    r.feed(kT0 + 1ms, as_repair(data[1]));  // the gap is repaired
    EXPECT_EQ(r.rx.next_dseq(), 31u);
    EXPECT_EQ(r.rx.flow_limit(), 77u) << "min(31 + 64, 31 + 46)";
    ASSERT_EQ(r.reports.size(), 2u);
    EXPECT_EQ(r.reports[1].st.position, 31u);
    EXPECT_EQ(r.reports[1].st.limit, 77u);
    EXPECT_EQ(r.out.deliveries.size(), 31u);
}

TEST(FlowReceiver, ARepairOfTheNewestDatagramIsAnsweredAtOnce) {
    const auto data = make_stream(12);
    Rx r;
    for (std::size_t i = 0; i < 10; ++i) r.feed(kT0, data[i]);
    ASSERT_EQ(r.reports.size(), 1u);

    r.feed(kT0 + 1ms, as_repair(data[5]));  // not the newest: a NAK answer for someone else
    r.feed(kT0 + 1ms, data[9]);             // the newest, but not a repair: a duplicate
    EXPECT_EQ(r.reports.size(), 1u);

    r.feed(kT0 + 2ms, as_repair(data[9]));  // a flow probe
    ASSERT_EQ(r.reports.size(), 2u);
    EXPECT_EQ(ns(r.reports[1].at), ns(kT0 + 2ms));
    EXPECT_EQ(r.reports[1].st.position, 10u);
    EXPECT_EQ(r.reports[1].st.limit, 1034u);
    EXPECT_EQ(r.reports[1].header.node, kKey.node);
    EXPECT_EQ(r.reports[1].st.receiver_node, kMe.node);

    // With a gap open: a probe of the newest (dseq 11) is answered too.
    r.feed(kT0 + 3ms, data[11]);
    EXPECT_EQ(r.reports.size(), 2u);
    r.feed(kT0 + 4ms, as_repair(data[11]));
    ASSERT_EQ(r.reports.size(), 3u);
    EXPECT_EQ(r.reports[2].st.position, 10u);
    EXPECT_EQ(r.reports[2].st.limit, 12u + 1024u);
    EXPECT_EQ(r.rx.stats().statuses_sent, 3u);
}

// While data is missing the receiver may hold the sender back with a limit that does not
// move; it reports every 100 ms anyway, so that the sender does not time it out.
TEST(FlowReceiver, WhileAGapIsOpenAReportGoesOutEvery100ms) {
    const auto data = make_stream(3);
    Rx r;
    r.feed(kT0, data[0]);
    r.feed(kT0, data[2]);  // dseq 1 missing
    ASSERT_EQ(r.reports.size(), 1u);

    const Time until = kT0 + 1s;
    for (int guard = 0; guard < 10'000; ++guard) {
        const Time due = r.rx.next_deadline();
        ASSERT_NE(due, kNever);
        if (due > until) break;
        r.poll(due);
    }
    EXPECT_GT(r.naks, 0u);
    EXPECT_EQ(r.rx.missing(), 1u) << "still repairing (not given up)";
    std::vector<Time> expected{kT0};
    for (int k = 1; k <= 10; ++k) expected.push_back(kT0 + k * 100ms);
    std::vector<Time> got;
    for (const Report& rep : r.reports) got.push_back(rep.at);
    EXPECT_EQ(r.reports[0].st.limit, 1u + 1024u);  // before dseq 2 arrived
    for (std::size_t i = 1; i < r.reports.size(); ++i) {
        EXPECT_EQ(r.reports[i].st.position, 1u);
        EXPECT_EQ(r.reports[i].st.limit, 3u + 1024u);
    }
    EXPECT_EQ(ns(got), ns(expected));
    EXPECT_EQ(r.rx.stats().statuses_sent, expected.size());

    // Repaired: nothing missing, the limit unchanged: no report, no keepalive deadline.
    r.feed(until + 10ms, as_repair(data[1]));
    EXPECT_EQ(r.reports.size(), expected.size());
    EXPECT_EQ(r.rx.next_dseq(), 3u);
    EXPECT_EQ(r.rx.next_deadline(), kNever);
}

TEST(FlowReceiver, SendStatusOffSendsNone) {
    const auto data = make_stream(400);
    ReceiverConfig cfg;
    cfg.send_status = false;
    Rx r(cfg);
    r.feed(kT0, data[0]);
    for (std::size_t i = 2; i < data.size(); ++i) r.feed(kT0, data[i]);
    r.feed(kT0, as_repair(data.back()));
    for (int guard = 0; guard < 10'000; ++guard) {
        const Time due = r.rx.next_deadline();
        if (due > kT0 + 1s) break;
        r.poll(due);
    }
    EXPECT_GT(r.naks, 0u);
    EXPECT_TRUE(r.reports.empty());
    EXPECT_EQ(r.rx.stats().statuses_sent, 0u);
}

// ---- closed loop -----------------------------------------------------------------------

// A Sender and a Receiver joined by a point-to-point link that delivers, in order, each
// datagram `delay` after it was sent, both ways; STATUS reports can be dropped (seeded).
// On every step it checks that the sender is never further ahead of what the receiver has
// read than status_credit, and it times each stall of the sender: one released by a report
// of the data sent before it lasts at most a round trip; one released by the answer to the
// j-th probe at most heartbeat_min * (2^j - 1) (when that probe went out) + a round trip.
class Loop {
public:
    // The whole run is submitted at once, so the queue holds all of it (20 MB).
    Loop(SenderConfig sc, ReceiverConfig rc, Duration delay)
        : scfg(whole_run_queued(sc)),
          rcfg(std::move(rc)),
          delay_(delay),
          tx(scfg, kKey, kT0),
          rx(rcfg, kKey, rx_rng_, scfg.datagram_size, 0, true, kMe) {}

    const SenderConfig scfg;
    const ReceiverConfig rcfg;

private:
    static SenderConfig whole_run_queued(SenderConfig sc) {
        sc.queue_max_bytes = std::max<std::size_t>(sc.queue_max_bytes, 64u << 20);
        return sc;
    }
    Duration delay_;
    Rng rx_rng_{11};

public:
    Sender tx;
    Receiver rx;
    Time now = kT0;
    std::uint64_t delivered = 0;   // messages delivered, checked in order
    std::uint64_t max_ahead = 0;   // most tx.next_dseq() was ahead of rx.next_dseq()
    std::uint64_t violations = 0;  // steps where the sender was beyond the credit
    std::uint64_t statuses_dropped = 0;
    std::uint64_t stalls_ended = 0;
    std::uint64_t stalls_ended_by_probe = 0;  // ... after at least one probe
    std::uint64_t max_probes_per_stall = 0;

    /// Runs until the sender knows the receiver (its first report arrived).
    void warm_up() {
        run_while([&] { return tx.flow_receivers() == 0; }, kT0 + 1s);
        ASSERT_EQ(tx.flow_receivers(), 1u);
    }
    /// From now on each STATUS is dropped with probability `p`, drawn from a generator
    /// seeded with `seed`.
    void drop_statuses(double p, std::uint64_t seed) {
        status_drop_ = p;
        drop_rng_ = Rng(seed);
    }
    void submit(std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            ASSERT_EQ(
                tx.submit(now, pattern(kMsg, static_cast<std::uint32_t>(submitted_)), nullptr),
                Status::kOk);
            ++submitted_;
        }
    }
    /// Runs until everything submitted is delivered, failing past `until`.
    void run_until_delivered(Time until) {
        run_while([&] { return delivered < submitted_; }, until);
    }

private:
    struct InFlight {
        Time at;
        Bytes bytes;
    };

    template <typename Pred>
    void run_while(Pred more, Time until) {
        int stuck = 0;
        while (more()) {
            const std::size_t moved = step();
            if (::testing::Test::HasFatalFailure()) return;
            Time t = std::min({tx.next_deadline(now), rx.next_deadline(),
                               to_rx_.empty() ? kNever : to_rx_.front().at,
                               to_tx_.empty() ? kNever : to_tx_.front().at});
            if (t <= now) {
                // Due again at once: fine while datagrams move, a spin if nothing does.
                if (moved == 0 && ++stuck > 100) {
                    ADD_FAILURE() << "no progress at +" << ns(now) << " ns";
                    return;
                }
                t = now;
            } else {
                stuck = 0;
            }
            if (t == kNever || t > until) {
                ADD_FAILURE() << "stopped at +" << ns(now) << " ns: delivered " << delivered
                              << " of " << submitted_ << ", sender next_dseq " << tx.next_dseq()
                              << ", receiver next_dseq " << rx.next_dseq();
                return;
            }
            now = t;
        }
    }

    // One step at `now`: the link delivers what is due, both sides act, their output goes
    // onto the link. Returns the datagrams delivered.
    std::size_t step() {
        std::size_t moved = 0;
        while (!to_rx_.empty() && to_rx_.front().at <= now) {
            const Bytes d = std::move(to_rx_.front().bytes);
            to_rx_.pop_front();
            ++moved;
            wire::Packet p;
            EXPECT_EQ(wire::decode(d, p), wire::DecodeError::kOk);
            if (const auto* data = std::get_if<wire::Data>(&p.body)) {
                rx.on_data(now, *data, d, rx_out_);
            } else if (const auto* hb = std::get_if<wire::Heartbeat>(&p.body)) {
                rx.on_heartbeat(now, *hb, rx_out_);
            } else if (const auto* u = std::get_if<wire::Unavailable>(&p.body)) {
                rx.on_unavailable(now, *u, rx_out_);
            }
        }
        while (!to_tx_.empty() && to_tx_.front().at <= now) {
            const Bytes d = std::move(to_tx_.front().bytes);
            to_tx_.pop_front();
            ++moved;
            wire::Packet p;
            EXPECT_EQ(wire::decode(d, p), wire::DecodeError::kOk);
            if (const auto* st = std::get_if<wire::StatusReport>(&p.body)) {
                tx.on_status(now, *st);
            } else if (const auto* nak = std::get_if<wire::Nak>(&p.body)) {
                tx.on_nak(now, *nak);
            }
        }
        rx.poll(now, rx_out_);
        const std::uint64_t next_before = tx.next_dseq();
        const std::uint64_t stalls_before = tx.stats().flow_stalls;
        tx.flush(now, tx_out_);
        time_stalls(next_before, stalls_before);
        carry();
        if (tx.next_dseq() > rx.next_dseq()) {
            max_ahead = std::max(max_ahead, tx.next_dseq() - rx.next_dseq());
        }
        // No data is lost on this link, so the receiver's next is also its newest + 1.
        if (tx.next_dseq() > rx.next_dseq() + rcfg.status_credit && violations++ == 0) {
            ADD_FAILURE() << "sender at " << tx.next_dseq() << ", receiver at " << rx.next_dseq()
                          << ", credit " << rcfg.status_credit << " (+" << ns(now) << " ns)";
        }
        return moved;
    }

    void time_stalls(std::uint64_t next_before, std::uint64_t stalls_before) {
        if (in_stall_ && tx.next_dseq() > next_before) {  // released: data went out
            in_stall_ = false;
            ++stalls_ended;
            const std::uint64_t j = tx.stats().flow_probes - stall_probes_;
            max_probes_per_stall = std::max(max_probes_per_stall, j);
            if (j > 0) ++stalls_ended_by_probe;
            const Duration probe_at = scfg.heartbeat_min * ((std::int64_t{1} << j) - 1);
            EXPECT_LE(ns(now), ns(stall_start_ + probe_at + 2 * delay_))
                << "stall " << stalls_ended << " (" << j << " probes) began at +"
                << ns(stall_start_) << " ns";
        }
        if (tx.stats().flow_stalls > stalls_before) {
            EXPECT_GT(tx.next_dseq(), next_before) << "a stall begins right after data";
            in_stall_ = true;
            stall_start_ = now;
            stall_probes_ = tx.stats().flow_probes;
        }
    }

    void carry() {
        for (Bytes& d : tx_out_.take_datagrams()) to_rx_.push_back({now + delay_, std::move(d)});
        for (Bytes& d : rx_out_.take_datagrams()) {
            wire::Packet p;
            EXPECT_EQ(wire::decode(d, p), wire::DecodeError::kOk);
            if (p.header.type == wire::PacketType::kStatus && status_drop_ > 0.0 &&
                drop_rng_.uniform() < status_drop_) {
                ++statuses_dropped;
                continue;
            }
            to_tx_.push_back({now + delay_, std::move(d)});
        }
        for (const Delivery& dl : rx_out_.deliveries) {
            EXPECT_EQ(dl.info.mseq, delivered);
            EXPECT_TRUE(dl.data == pattern(kMsg, static_cast<std::uint32_t>(dl.info.mseq)))
                << "mseq " << dl.info.mseq;
            ++delivered;
        }
        rx_out_.deliveries.clear();
        EXPECT_TRUE(rx_out_.events.empty()) << "no loss on this link";
        rx_out_.events.clear();
    }

    double status_drop_ = 0.0;
    Rng drop_rng_{1};
    RecordingOutput tx_out_;
    RecordingOutput rx_out_;
    std::deque<InFlight> to_rx_;
    std::deque<InFlight> to_tx_;
    std::uint64_t submitted_ = 0;
    bool in_stall_ = false;
    Time stall_start_{};
    std::uint64_t stall_probes_ = 0;
};

constexpr std::size_t kLoopMessages = 20'000;  // 1000 bytes each: one datagram each

// Immediate, in-order delivery: the receiver reports four times per credit it reads, the
// sender is held at each credit boundary and released by those reports at the same
// instant. Everything completes without virtual time passing and without a probe.
TEST(FlowLoop, ImmediateLinkDeliversEverythingWithinTheCredit) {
    Loop loop(SenderConfig{}, ReceiverConfig{}, 0us);
    loop.warm_up();
    const Time start = loop.now;
    loop.submit(kLoopMessages);
    loop.run_until_delivered(start + 1s);
    EXPECT_EQ(loop.delivered, kLoopMessages);
    EXPECT_EQ(loop.tx.next_dseq(), kLoopMessages);
    const std::uint64_t credit = loop.rcfg.status_credit;
    EXPECT_EQ(loop.violations, 0u);
    EXPECT_EQ(loop.max_ahead, credit) << "the sender uses the whole credit, never more";
    // Held at each multiple of the credit while messages remain.
    EXPECT_EQ(loop.tx.stats().flow_stalls, (kLoopMessages - 1) / credit);
    EXPECT_EQ(loop.stalls_ended, loop.tx.stats().flow_stalls);
    EXPECT_EQ(loop.tx.stats().flow_probes, 0u);
    EXPECT_EQ(loop.tx.stats().flow_timeouts, 0u);
    EXPECT_EQ(loop.rx.stats().statuses_sent, 1 + kLoopMessages / (credit / 4));
    EXPECT_EQ(ns(loop.now), ns(start));
}

// A 50 us link each way: the sender is at most one credit ahead per round trip, so the
// transfer takes at most ceil(N / credit) + 1 round trips, and no probe is needed.
TEST(FlowLoop, DelayedLinkDeliversEverythingWithinTheCreditInBoundedTime) {
    const Duration delay = 50us;
    Loop loop(SenderConfig{}, ReceiverConfig{}, delay);
    loop.warm_up();
    const Time start = loop.now;
    loop.submit(kLoopMessages);
    const std::uint64_t credit = loop.rcfg.status_credit;
    const auto rounds = static_cast<std::int64_t>((kLoopMessages + credit - 1) / credit + 1);
    loop.run_until_delivered(start + 1s);
    EXPECT_EQ(loop.delivered, kLoopMessages);
    EXPECT_EQ(loop.violations, 0u);
    EXPECT_LE(loop.max_ahead, credit);
    EXPECT_GT(loop.tx.stats().flow_stalls, 0u)
        << "the limit was reached: the invariant was exercised";
    EXPECT_EQ(loop.tx.stats().flow_probes, 0u);
    EXPECT_EQ(loop.tx.stats().flow_timeouts, 0u);
    EXPECT_LE(ns(loop.now), ns(start + rounds * 2 * delay));
}

// Every STATUS dropped with probability 30% (after the first, which tells the sender about
// the receiver). Each stall ends after one round trip if one of the reports on the data
// before it gets through, else after the answer to a probe (checked per stall by Loop).
// A priori bound: every stall advances the limit by at least a quarter of the credit (the
// spacing of the reports), so there are at most ceil(N / (credit / 4)) + 1 of them; allowing
// each up to 4 probes (0.2, 0.6, 1.4, 3.0 ms after it began), one lasts at most
// 15 * heartbeat_min + a round trip, and none comes near flow_timeout.
void run_lossy_loop(std::uint64_t status_credit, std::uint64_t seed, bool probes_expected) {
    const Duration delay = 50us;
    const SenderConfig scfg;
    ReceiverConfig rcfg;
    rcfg.status_credit = status_credit;
    Loop loop(scfg, rcfg, delay);
    loop.warm_up();
    loop.drop_statuses(0.3, seed);
    const Time start = loop.now;
    loop.submit(kLoopMessages);
    const auto stalls = static_cast<std::int64_t>(
        (kLoopMessages + status_credit / 4 - 1) / (status_credit / 4) + 1);
    const Duration per_stall = scfg.heartbeat_min * 15 + 2 * delay;
    ASSERT_LT(per_stall, scfg.flow_timeout);
    const Time bound = start + stalls * per_stall;
    loop.run_until_delivered(bound);
    EXPECT_EQ(loop.delivered, kLoopMessages);
    EXPECT_EQ(loop.violations, 0u);
    EXPECT_LE(loop.max_ahead, status_credit);
    EXPECT_GT(loop.statuses_dropped, loop.rx.stats().statuses_sent / 5);
    EXPECT_LE(loop.tx.stats().flow_stalls, static_cast<std::uint64_t>(stalls));
    EXPECT_LE(loop.max_probes_per_stall, 4u);
    if (probes_expected) {
        EXPECT_GT(loop.stalls_ended_by_probe, 0u) << "this seed needs probes: the path tested";
    }
    EXPECT_EQ(loop.tx.stats().flow_timeouts, 0u);
    EXPECT_LE(ns(loop.now), ns(bound));
}

TEST(FlowLoop, LossyReportsStillComplete) {
    // Four reports per credit: all four of a round are lost only 0.8% of the time.
    run_lossy_loop(ReceiverConfig{}.status_credit, 42, false);
}

TEST(FlowLoop, LossyReportsWithASmallCreditCompleteThanksToProbes) {
    // Credit 16: some 1250 rounds, so several lose all their reports and need probes.
    run_lossy_loop(16, 42, true);
}

// With a reorder buffer smaller than a quarter of the credit (46 datagrams against 1024 /
// 4 = 256), the receiver's limit is next + 46 while the data flows: it moves by 46 per
// round, never by 256, so no report goes out as the data is read. Lossless and immediate,
// the sender should still never need to probe (as with the default buffer, above) and no
// virtual time should pass.
TEST(FlowLoop, SmallReorderBufferStillReportsAsTheDataIsRead) {
    ReceiverConfig rc;
    rc.reorder_buffer_bytes = 65507;  // 46 datagrams of 1400 bytes
    Loop loop(SenderConfig{}, rc, 0us);
    loop.warm_up();
    const Time start = loop.now;
    loop.submit(2000);
    loop.run_until_delivered(start + 10s);
    EXPECT_EQ(loop.delivered, 2000u);
    EXPECT_LE(loop.max_ahead, 46u);
    EXPECT_EQ(loop.tx.stats().flow_probes, 0u)
        << "stalls: " << loop.tx.stats().flow_stalls
        << ", released by a probe: " << loop.stalls_ended_by_probe;
    EXPECT_EQ(ns(loop.now), ns(start));
}

// ---- the endpoint ----------------------------------------------------------------------
}  // namespace

// The reports of other receivers are how a receiver knows it is not alone: alone, a gap is
// NAKed after nak_delay_min; its own report (looped back) changes nothing; another receiver's
// report brings back the random suppression back-off.
TEST(FlowReceiver, PeersAreKnownByTheirReportsNotByOurOwn) {
    const auto data = make_stream(8);
    auto status_from = [](ReporterId who) {
        wire::StatusReport st;
        st.receiver_node = who.node;
        st.receiver_session = who.session;
        st.position = 1;
        st.limit = 100;
        return st;
    };
    for (const bool peer : {false, true}) {
        Rx r;
        Time now = kT0;
        r.feed(now, data[0]);
        now += 10ms;  // past repair_timeout: the peers' first reports would be in
        r.rx.on_status_seen(now, status_from(kMe));
        if (peer) r.rx.on_status_seen(now, status_from(ReporterId{0xFEED, 1}));
        r.feed(now, data[2]);  // datagram 1 is missing
        r.poll(now + r.cfg.nak_delay_min);
        EXPECT_EQ(r.naks, peer ? 0u : 1u) << (peer ? "with a peer" : "alone");
        r.poll(now + r.cfg.nak_delay_min + r.cfg.nak_backoff);
        EXPECT_EQ(r.naks, 1u) << "the back-off ends by nak_delay_min + nak_backoff";
    }
}
