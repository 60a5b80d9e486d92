// Real-socket tests of io::ChannelDriver over lo; they skip unless BLIP_NETNS is set (private
// netns).
#include "io/channel_driver.h"

#include <arpa/inet.h>
#include <blip/blip.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/net_test_util.h"
#include "proto/rng.h"

using blip::io::ChannelDriver;
using blip::io::DriverOptions;
using namespace std::chrono_literals;

namespace {

constexpr const char* kGroup = "239.255.0.2";
constexpr std::uint32_t kStream = 7;

// Eight ports per process (offsets 0-7): ctest runs the tests of this file as parallel processes
// with consecutive pids, which must not share a port on the one group.
std::uint16_t test_port(int offset) {
    return static_cast<std::uint16_t>(20000 + (getpid() % 1000) * 8 + offset);
}

// Distinct node ids and seeds: with the same seed two endpoints would draw the same random
// identity and each would take the other's packets for its own.
DriverOptions options(std::uint16_t port, std::uint64_t node, double loss = 0.0) {
    DriverOptions o;
    auto* g = reinterpret_cast<sockaddr_in*>(&o.udp.group);
    EXPECT_EQ(uv_ip4_addr(kGroup, port, g), 0);
    EXPECT_EQ(inet_pton(AF_INET, "127.0.0.1", &o.udp.interface), 1);
    // Bursts of 100 KB messages overflow a default socket buffer; such kernel drops are repaired
    // too, but a bigger buffer keeps most of the loss the injected kind. A clamp only warns.
    o.udp.recv_buffer = 4 << 20;
    o.endpoint.node_id = node;
    o.endpoint.seed = node * 7919;
    o.inject_loss = loss;
    o.inject_seed = node;
    return o;
}

// The message with sequence number i: its size (mixed; every 10th one fragmented, up to 100 KB)
// and content follow from i alone, so a receiver can check it without a copy.
std::vector<std::uint8_t> message(std::uint64_t i) {
    blip::proto::Rng rng(i + 1);
    const std::size_t size = i % 10 == 3 ? 1 + rng.below(100'000) : rng.below(2'000);
    std::vector<std::uint8_t> m(size);
    for (auto& b : m) b = static_cast<std::uint8_t>(rng.next());
    return m;
}

std::uint64_t fnv1a(std::uint64_t h, std::span<const std::uint8_t> data) {
    for (std::uint8_t b : data) h = (h ^ b) * 0x100000001B3ULL;
    return h;
}
constexpr std::uint64_t kFnvBasis = 0xCBF29CE484222325ULL;

// What one receiving driver heard: checked as it arrives, in order and byte-exact.
struct Sink {
    std::uint64_t next = 0;
    std::uint64_t hash = kFnvBasis;
    std::uint64_t bad = 0;  // out of order, duplicated or different bytes
    std::uint64_t loss_events = 0;

    void attach(ChannelDriver& d) {
        d.on_message = [this](const blip::proto::MessageInfo& info,
                              std::span<const std::uint8_t> data) {
            const auto expected = message(info.mseq);
            if (info.mseq != next ||
                !std::equal(data.begin(), data.end(), expected.begin(), expected.end())) {
                ++bad;
            }
            next = info.mseq + 1;
            hash = fnv1a(hash, data);
        };
        d.on_event = [this](const blip::proto::Event& ev) {
            if (ev.type == blip::proto::EventType::kLoss) ++loss_events;
        };
    }
};

extern "C" void stop_loop(uv_timer_t* t) { uv_stop(t->loop); }

// Runs `loop` with a sender pacing `total` messages from a 1 ms timer in batches of 50, never
// more than `window` ahead of the slowest receiver, until every sink has them all. A 20 s
// wall-clock guard stops the loop; returns false if it fired.
bool pump(uv_loop_t* loop, ChannelDriver& tx, std::vector<Sink*> sinks, std::uint64_t total,
          std::uint64_t* sent_hash) {
    struct Pacer {
        uv_timer_t timer{};
        ChannelDriver* tx;
        std::vector<Sink*> sinks;
        std::uint64_t total;
        std::uint64_t sent = 0;
        std::uint64_t hash = kFnvBasis;
        int errors = 0;
    } p{{}, &tx, std::move(sinks), total};
    constexpr std::uint64_t kBatch = 50;
    constexpr std::uint64_t kWindow = 200;

    uv_timer_t guard{};
    bool timed_out = false;
    uv_timer_init(loop, &guard);
    guard.data = &timed_out;
    uv_timer_start(
        &guard,
        [](uv_timer_t* t) {
            *static_cast<bool*>(t->data) = true;
            uv_stop(t->loop);
        },
        20'000, 0);

    uv_timer_init(loop, &p.timer);
    p.timer.data = &p;
    uv_timer_start(
        &p.timer,
        [](uv_timer_t* t) {
            auto* p = static_cast<Pacer*>(t->data);
            std::uint64_t slowest = p->total;
            for (Sink* s : p->sinks) slowest = std::min(slowest, s->next);
            if (slowest == p->total) {
                uv_stop(t->loop);
                return;
            }
            for (std::uint64_t n = 0;
                 n < kBatch && p->sent < p->total && p->sent < slowest + kWindow; ++n) {
                const auto m = message(p->sent);
                std::uint64_t mseq = 0;
                if (p->tx->send(kStream, m, &mseq) != BLIP_OK || mseq != p->sent) {
                    ++p->errors;
                    break;
                }
                p->hash = fnv1a(p->hash, m);
                ++p->sent;
            }
        },
        1, 1);

    uv_run(loop, UV_RUN_DEFAULT);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&p.timer), nullptr);
    uv_run(loop, UV_RUN_NOWAIT);  // runs the close callbacks: both handles live on this stack
    EXPECT_EQ(p.errors, 0);
    *sent_hash = p.hash;
    return !timed_out;
}

// Closes every driver, runs the loop until no handle is left and checks the loop closes.
void close_all(uv_loop_t* loop, std::vector<ChannelDriver*> drivers) {
    int done = 0;
    for (ChannelDriver* d : drivers) d->close([&] { ++done; });
    uv_run(loop, UV_RUN_DEFAULT);
    EXPECT_EQ(done, static_cast<int>(drivers.size()));
    EXPECT_EQ(uv_loop_close(loop), 0) << "a handle was left open";
}

TEST(ChannelDriver, EveryMessageArrivesOnceInOrderDespiteInjectedLoss) {
    REQUIRE_NETNS();
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    const std::uint16_t port = test_port(0);
    ChannelDriver tx;
    ChannelDriver rx;
    Sink sink;
    sink.attach(rx);
    std::string err;
    // The receiver first (see ThreeLossyReceiversAllComplete).
    ASSERT_EQ(rx.open(&loop, options(port, 202, 0.10), &err), 0) << err;
    ASSERT_EQ(tx.open(&loop, options(port, 101), &err), 0) << err;

    constexpr std::uint64_t kTotal = 2000;
    std::uint64_t sent_hash = 0;
    const bool finished = pump(&loop, tx, {&sink}, kTotal, &sent_hash);
    EXPECT_TRUE(finished) << "timed out after 20 s with " << sink.next << " of " << kTotal;
    EXPECT_EQ(sink.next, kTotal);
    EXPECT_EQ(sink.bad, 0U);
    EXPECT_EQ(sink.hash, sent_hash);
    EXPECT_EQ(sink.loss_events, 0U);

    const auto rs = rx.stats();
    const auto ts = tx.stats();
    EXPECT_GT(rs.injected_drops, 0U);
    EXPECT_GT(rs.receivers.repairs, 0U);
    EXPECT_GT(ts.senders.repairs_sent, 0U);
    EXPECT_EQ(rs.receivers.messages, kTotal);
    EXPECT_EQ(rs.receivers.loss_events, 0U);
    EXPECT_EQ(ts.senders.messages_sent, kTotal);
    std::printf("[driver] injected_drops=%llu repairs=%llu naks=%llu kernel-queue-drops=%llu\n",
                static_cast<unsigned long long>(rs.injected_drops),
                static_cast<unsigned long long>(rs.receivers.repairs),
                static_cast<unsigned long long>(rs.receivers.naks_sent),
                static_cast<unsigned long long>(ts.send_dropped));
    close_all(&loop, {&tx, &rx});
}

TEST(ChannelDriver, ThreeLossyReceiversAllComplete) {
    REQUIRE_NETNS();
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    const std::uint16_t port = test_port(1);
    ChannelDriver tx;
    ChannelDriver rx[3];
    Sink sinks[3];
    std::string err;
    // Receivers first: one that opens after the sender may count as a late joiner (the
    // session's age, in whole ms, against its own listening time) and, joining at the next
    // message, rightly skip a lost first datagram.
    for (int i = 0; i < 3; ++i) {
        sinks[i].attach(rx[i]);
        ASSERT_EQ(rx[i].open(&loop, options(port, 21 + i, 0.20), &err), 0) << err;
    }
    ASSERT_EQ(tx.open(&loop, options(port, 11), &err), 0) << err;
    constexpr std::uint64_t kTotal = 500;
    std::uint64_t sent_hash = 0;
    EXPECT_TRUE(pump(&loop, tx, {&sinks[0], &sinks[1], &sinks[2]}, kTotal, &sent_hash));
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(sinks[i].next, kTotal);
        EXPECT_EQ(sinks[i].bad, 0U);
        EXPECT_EQ(sinks[i].hash, sent_hash);
        EXPECT_EQ(sinks[i].loss_events, 0U);
        EXPECT_GT(rx[i].stats().injected_drops, 0U);
    }
    close_all(&loop, {&tx, &rx[0], &rx[1], &rx[2]});
}

TEST(ChannelDriver, SendAfterCloseIsClosedAndTheLoopEndsClean) {
    REQUIRE_NETNS();
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    ChannelDriver d;
    int messages = 0;
    d.on_message = [&](auto&, auto) { ++messages; };
    std::string err;
    ASSERT_EQ(d.open(&loop, options(test_port(2), 5), &err), 0) << err;
    const std::vector<std::uint8_t> m(10, 1);
    EXPECT_EQ(d.send(kStream, m, nullptr), BLIP_OK);
    int done = 0;
    d.close([&] { ++done; });
    EXPECT_EQ(done, 0);  // asynchronous, like uv_close
    EXPECT_FALSE(d.is_open());
    EXPECT_EQ(d.send(kStream, m, nullptr), BLIP_ECLOSED);
    uv_run(&loop, UV_RUN_DEFAULT);  // returns once no handle is active or closing
    EXPECT_EQ(done, 1);
    EXPECT_EQ(uv_loop_close(&loop), 0) << "a handle was left open";
    EXPECT_EQ(d.stats().senders.messages_sent, 1U);  // stats outlive close()
    EXPECT_EQ(messages, 0);
}

TEST(ChannelDriver, InvalidEndpointConfigIsEinvalWithTheMessage) {
    REQUIRE_NETNS();
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    ChannelDriver d;
    DriverOptions o = options(test_port(3), 6);
    o.endpoint.sender.datagram_size = 10;  // below kMinDatagramSize
    const std::string why = blip::proto::validate(o.endpoint);
    ASSERT_FALSE(why.empty());
    std::string err;
    EXPECT_EQ(d.open(&loop, o, &err), BLIP_EINVAL);
    EXPECT_NE(err.find(why), std::string::npos) << err;
    EXPECT_FALSE(d.is_open());
    EXPECT_EQ(d.send(kStream, std::vector<std::uint8_t>(1), nullptr), BLIP_ESTATE);

    o = options(test_port(3), 6, 1.5);
    EXPECT_EQ(d.open(&loop, o, &err), BLIP_EINVAL);
    EXPECT_NE(err.find("inject_loss"), std::string::npos) << err;
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop), 0) << "a failed open left a handle";
}

TEST(ChannelDriver, SendFromInsideACallbackIsRefused) {
    REQUIRE_NETNS();
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    const std::uint16_t port = test_port(4);
    ChannelDriver tx;
    ChannelDriver rx;
    std::vector<int> inner;
    std::vector<std::uint64_t> got;
    rx.on_message = [&](const blip::proto::MessageInfo& info, std::span<const std::uint8_t>) {
        got.push_back(info.mseq);
        inner.push_back(rx.send(kStream, std::vector<std::uint8_t>(3, 9), nullptr));
        if (got.size() == 3) uv_stop(&loop);
    };
    std::string err;
    ASSERT_EQ(tx.open(&loop, options(port, 31), &err), 0) << err;
    ASSERT_EQ(rx.open(&loop, options(port, 32), &err), 0) << err;
    for (int i = 0; i < 3; ++i) {
        ASSERT_EQ(
            tx.send(kStream, std::vector<std::uint8_t>(5, static_cast<std::uint8_t>(i)), nullptr),
            BLIP_OK);
    }
    uv_timer_t guard{};
    uv_timer_init(&loop, &guard);
    uv_timer_start(&guard, stop_loop, 20'000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_close(reinterpret_cast<uv_handle_t*>(&guard), nullptr);

    EXPECT_EQ(got, (std::vector<std::uint64_t>{0, 1, 2}));  // delivery went on unharmed
    EXPECT_EQ(inner, (std::vector<int>{BLIP_ESTATE, BLIP_ESTATE, BLIP_ESTATE}));
    EXPECT_EQ(rx.stats().senders.messages_sent, 0U);  // nothing slipped into the endpoint
    // Outside a callback the same call works.
    EXPECT_EQ(rx.send(kStream, std::vector<std::uint8_t>(3, 9), nullptr), BLIP_OK);
    close_all(&loop, {&tx, &rx});
}

}  // namespace

// A real channel must not inherit the core's deterministic defaults: two drivers opened with
// no node id, session id or seed get distinct identities (else each would take the other's
// packets for its own, and a restart would reuse its session id).
TEST(ChannelDriver, DefaultIdentitiesComeFromTheSystemNotTheSeed) {
    REQUIRE_NETNS();
    uv_loop_t loop;
    ASSERT_EQ(uv_loop_init(&loop), 0);
    ChannelDriver a, b;
    DriverOptions oa = options(test_port(5), 0);
    DriverOptions ob = options(test_port(5), 0);
    oa.endpoint.seed = ob.endpoint.seed = blip::proto::EndpointConfig{}.seed;
    std::string err;
    ASSERT_EQ(a.open(&loop, oa, &err), 0) << err;
    ASSERT_EQ(b.open(&loop, ob, &err), 0) << err;
    EXPECT_NE(a.node_id(), 0u);
    EXPECT_NE(a.node_id(), b.node_id());
    a.close(nullptr);
    b.close(nullptr);
    uv_run(&loop, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop), 0);
}
