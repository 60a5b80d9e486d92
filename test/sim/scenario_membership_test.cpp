// Scenarios where senders and receivers come and go: late joiners under both policies,
// a sender restart, and a sender that goes silent (with and without data missing).
#include <gtest/gtest.h>

#include <algorithm>

#include "sim/scenario.h"

namespace blip::sim {
namespace {

using proto::EventType;

// Messages at the end of a dead session that `s` never heard of: what it neither delivered
// nor was able to report. The checker has verified everything before them.
std::uint64_t tail_unknown(const Checker::StreamLog& s, std::uint64_t sent) {
    return s.ended ? 0 : sent - (s.first + s.delivered + s.lost);
}

const proto::Event* find_membership(Checker& check, int node, EventType type, Time* when) {
    for (const auto& [t, ev] : check.node(node).membership) {
        if (ev.type == type) {
            if (when) *when = t;
            return &ev;
        }
    }
    return nullptr;
}

// Receivers that join a sender 1 s into its session: kNext starts at the next message it
// hears and reports nothing before it; kRecover also gets what the window (300 messages)
// still holds. A receiver present from the start gets everything from message 0.
TEST(SimScenario, LateJoinersUnderBothPolicies) {
    run_seeds("late-join", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.10;
        link.jitter = 20us;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        cfg.sender.window_max_messages = 300;
        const int sender = net.add_node(cfg);
        const int early = net.add_node(cfg);
        int next_joiner = -1, recover_joiner = -1;
        net.at(Time(1s), [&] {
            proto::EndpointConfig c = cfg;
            c.receiver.join = proto::JoinPolicy::kNext;
            next_joiner = net.add_node(c);
            c.receiver.join = proto::JoinPolicy::kRecover;
            recover_joiner = net.add_node(c);
        });
        const int messages = 3000;
        for (int i = 0; i < messages; ++i) {
            net.at(Time(i * 1ms + 500us), [&] { check.send(net, sender, 0, 800); });
        }
        net.run_until(Time(3100ms));
        const StreamId id = stream_of(net, sender, 0);
        EXPECT_TRUE(
            run_until_complete(net, check, {early, next_joiner, recover_joiner}, {id}, Time(30s)));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        const auto* e = check.stream(early, id);
        const auto* n = check.stream(next_joiner, id);
        const auto* r = check.stream(recover_joiner, id);
        ASSERT_TRUE(e && n && r);
        EXPECT_EQ(e->first, 0u);
        EXPECT_EQ(e->delivered, std::uint64_t(messages));
        // 1000 messages were sent before the joiners started listening.
        EXPECT_GE(n->first, 1000u);
        EXPECT_LE(n->first, 1010u);
        EXPECT_TRUE(n->losses.empty());
        EXPECT_EQ(n->delivered, messages - n->first);
        EXPECT_LT(r->first, 1000u - 250u) << "recovered less than the window held";
        EXPECT_GE(r->first, 1000u - 300u) << "recovered more than the window held";
        EXPECT_EQ(r->delivered + r->lost, messages - r->first);
    });
}

// A sender restarts (same node id, new session) after a quiet period: the old session's
// stream is complete, kSenderRestarted names the old session, and the new session is
// received from its message 0.
TEST(SimScenario, SenderRestartStartsNewStream) {
    run_seeds("sender-restart", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.10;
        link.jitter = 20us;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        const int sender = net.add_node(cfg);
        const std::vector<int> receivers = add_nodes(net, 5, cfg);
        for (int i = 0; i < 1000; ++i) {
            net.at(Time(i * 1ms), [&] { check.send(net, sender, 0, 500); });
        }
        net.run_until(Time(1200ms));
        const StreamId old_id = stream_of(net, sender, 0);
        net.restart_node(sender, cfg);
        const StreamId new_id = stream_of(net, sender, 0);
        ASSERT_NE(std::get<1>(old_id), std::get<1>(new_id));
        for (int i = 0; i < 1000; ++i) {
            net.at(Time(1300ms + i * 1ms), [&] { check.send(net, sender, 0, 500); });
        }
        net.run_until(Time(2300ms));
        EXPECT_TRUE(run_until_complete(net, check, receivers, {old_id, new_id}, Time(30s)));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : receivers) {
            const auto* o = check.stream(r, old_id);
            const auto* n = check.stream(r, new_id);
            ASSERT_TRUE(o && n);
            EXPECT_EQ(o->delivered, 1000u);
            EXPECT_EQ(n->first, 0u);
            EXPECT_EQ(n->delivered, 1000u);
            Time when{};
            const proto::Event* ev = find_membership(check, r, EventType::kSenderRestarted, &when);
            ASSERT_NE(ev, nullptr) << "receiver " << r;
            EXPECT_EQ(ev->old_session, std::get<1>(old_id));
            EXPECT_EQ(ev->from.session, std::get<1>(new_id));
            EXPECT_LE(when, n->last_delivery);
        }
    });
}

// A sender restarts in the middle of a lossy burst, before its repairs are done: whatever
// the old session still owed is reported lost (the checker verifies exactness), never
// delivered late or silently dropped; the new session is received whole.
//
// One thing no receiver can report: messages at the very end of the old session of which
// it heard nothing at all (every datagram lost and no heartbeat since). Those can only be
// the last few; tail_unknown() bounds them.
TEST(SimScenario, SenderRestartMidBurstReportsWhatTheOldSessionOwed) {
    run_seeds("sender-restart-midburst",
              [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
                  LinkModel link;
                  link.loss = 0.30;
                  link.jitter = 20us;
                  net.set_default_link(link);
                  proto::EndpointConfig cfg;
                  const int sender = net.add_node(cfg);
                  const std::vector<int> receivers = add_nodes(net, 5, cfg);
                  for (int i = 0; i < 200; ++i) check.send(net, sender, 0, 3000);
                  const StreamId old_id = stream_of(net, sender, 0);
                  net.run_until(Time(100us));
                  net.restart_node(sender, cfg);
                  const StreamId new_id = stream_of(net, sender, 0);
                  for (int i = 0; i < 200; ++i) {
                      net.at(Time(10ms + i * 100us), [&] { check.send(net, sender, 0, 300); });
                  }
                  net.run_until(Time(50ms));
                  EXPECT_TRUE(run_until_complete(net, check, receivers, {new_id}, Time(30s)));
                  ASSERT_TRUE(check.errors().empty()) << check.errors().front();
                  std::uint64_t lost = 0;
                  for (int r : receivers) {
                      const auto* o = check.stream(r, old_id);
                      const auto* n = check.stream(r, new_id);
                      ASSERT_TRUE(o && n);
                      EXPECT_EQ(o->first, 0u);
                      EXPECT_LE(tail_unknown(*o, 200), 5u) << "receiver " << r;
                      for (const auto& ev : o->losses)
                          EXPECT_EQ(ev.reason, proto::LossReason::kSenderGone);
                      lost += o->lost;
                      EXPECT_EQ(n->first, 0u);
                      EXPECT_EQ(n->delivered, 200u);
                  }
                  EXPECT_GT(lost, 0u) << "the scenario should leave the old session owing data";
              });
}

// A sender goes silent after everything was repaired: receivers report it inactive one
// sender_timeout after they last heard it, and free it after sender_forget.
TEST(SimScenario, SilentSenderReportedInactiveThenRemoved) {
    run_seeds("silent-sender", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.10;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        cfg.receiver.sender_timeout = 2s;
        cfg.receiver.sender_forget = 10s;
        cfg.sender.heartbeat_max = 500ms;
        const int sender = net.add_node(cfg);
        const std::vector<int> receivers = add_nodes(net, 5, cfg);
        for (int i = 0; i < 500; ++i) {
            net.at(Time(i * 1ms), [&] { check.send(net, sender, 0, 200); });
        }
        net.run_until(Time(3s));
        const StreamId id = stream_of(net, sender, 0);
        net.stop_node(sender);
        const Time stopped = net.now();
        net.run_until(Time(20s));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : receivers) {
            const auto* s = check.stream(r, id);
            ASSERT_NE(s, nullptr);
            EXPECT_EQ(s->delivered, 500u);
            EXPECT_TRUE(s->losses.empty());
            Time inactive{}, removed{};
            ASSERT_NE(find_membership(check, r, EventType::kSenderInactive, &inactive), nullptr);
            ASSERT_NE(find_membership(check, r, EventType::kSenderRemoved, &removed), nullptr);
            // Last heard at most one (lost) heartbeat interval or two before the stop.
            EXPECT_GT(inactive, stopped + 2s - 1500ms);
            EXPECT_LE(inactive, stopped + 2s);
            EXPECT_GE(removed, inactive + 8s);
        }
    });
}

// A sender dies in the middle of a lossy burst and never comes back: what receivers still
// miss is reported lost (kSenderGone) once it is inactive, the unknown tail open-ended once
// it is removed, and nothing is ever delivered out of order or twice.
TEST(SimScenario, SenderDyingWithDataMissingIsReportedExactly) {
    run_seeds("sender-dies", [&]([[maybe_unused]] int seed, Checker& check, Network& net) {
        LinkModel link;
        link.loss = 0.25;
        link.jitter = 20us;
        net.set_default_link(link);
        proto::EndpointConfig cfg;
        cfg.receiver.sender_timeout = 1s;
        cfg.receiver.sender_forget = 3s;
        cfg.sender.heartbeat_max = 200ms;
        const int sender = net.add_node(cfg);
        const std::vector<int> receivers = add_nodes(net, 5, cfg);
        for (int i = 0; i < 300; ++i) check.send(net, sender, 0, 2000);
        const StreamId id = stream_of(net, sender, 0);
        net.run_until(Time(200us));
        net.stop_node(sender);
        net.run_until(Time(10s));
        ASSERT_TRUE(check.errors().empty()) << check.errors().front();
        for (int r : receivers) {
            const auto* s = check.stream(r, id);
            ASSERT_NE(s, nullptr);
            EXPECT_EQ(s->first, 0u);
            EXPECT_LE(tail_unknown(*s, 300), 5u) << "receiver " << r;
            for (const auto& ev : s->losses) {
                EXPECT_EQ(ev.reason, proto::LossReason::kSenderGone);
            }
        }
    });
}

}  // namespace
}  // namespace blip::sim
