// StagedEvents: messages and events come back in the order staged, byte-exact, with their
// senders; an early stop; clear() keeps a small arena and frees a large one; swap().
#include "io/staged_events.h"

#include <blip/blip.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace blip::io {
namespace {

const proto::StreamKey kA{1, 10, 0};
const proto::StreamKey kB{2, 20, 3};

std::vector<std::uint8_t> bytes(std::size_t n, std::uint8_t seed) {
    std::vector<std::uint8_t> v(n);
    std::uint8_t b = seed;
    std::generate(v.begin(), v.end(), [&b] { return b += 7; });
    return v;
}

std::unique_ptr<ChannelEvent> loss(const proto::StreamKey& from, std::uint64_t first) {
    auto ev = std::make_unique<ChannelEvent>();
    ev->type = BLIP_EVENT_LOSS;
    ev->from = from;
    ev->sequence = first;
    ev->count = 4;
    return ev;
}

// What for_each() handed over, copied out.
struct Seen {
    int type;
    proto::StreamKey from;
    std::uint64_t sequence;
    std::uint64_t count;
    std::vector<std::uint8_t> payload;
    bool event_data_empty;
};

std::vector<Seen> drain(StagedEvents& s, std::size_t stop_after = SIZE_MAX) {
    std::vector<Seen> out;
    s.for_each([&](const ChannelEvent& ev, std::span<const std::uint8_t> payload) {
        out.push_back(Seen{ev.type, ev.from, ev.sequence, ev.count,
                           std::vector<std::uint8_t>(payload.begin(), payload.end()),
                           ev.data.empty()});
        return out.size() < stop_after;
    });
    return out;
}

TEST(StagedEvents, MessagesAndEventsComeBackInOrderAndByteExact) {
    StagedEvents s;
    EXPECT_TRUE(s.empty());
    const auto m0 = bytes(64, 1);
    const auto m1 = bytes(1, 2);
    const auto m2 = bytes(3000, 3);
    s.add_message({kA, 7}, m0);
    s.add_event(loss(kA, 8));
    s.add_message({kB, 100}, m1);
    s.add_message({kA, 12}, m2);
    s.add_message({kB, 101}, {});  // an empty message
    EXPECT_FALSE(s.empty());

    const std::vector<Seen> seen = drain(s);
    ASSERT_EQ(seen.size(), 5u);
    EXPECT_EQ(seen[0].type, BLIP_EVENT_MESSAGE);
    EXPECT_EQ(seen[0].from, kA);
    EXPECT_EQ(seen[0].sequence, 7u);
    EXPECT_EQ(seen[0].payload, m0);
    EXPECT_TRUE(seen[0].event_data_empty);  // the payload comes beside the event
    EXPECT_EQ(seen[1].type, BLIP_EVENT_LOSS);
    EXPECT_EQ(seen[1].from, kA);
    EXPECT_EQ(seen[1].sequence, 8u);
    EXPECT_EQ(seen[1].count, 4u);
    EXPECT_TRUE(seen[1].payload.empty());
    EXPECT_EQ(seen[2].from, kB);
    EXPECT_EQ(seen[2].sequence, 100u);
    EXPECT_EQ(seen[2].payload, m1);
    EXPECT_EQ(seen[3].from, kA);
    EXPECT_EQ(seen[3].sequence, 12u);
    EXPECT_EQ(seen[3].payload, m2);
    EXPECT_EQ(seen[4].type, BLIP_EVENT_MESSAGE);
    EXPECT_EQ(seen[4].from, kB);
    EXPECT_EQ(seen[4].sequence, 101u);
    EXPECT_TRUE(seen[4].payload.empty());
}

TEST(StagedEvents, AnEventsOwnDataIsItsPayload) {
    StagedEvents s;
    auto ev = std::make_unique<ChannelEvent>();
    ev->type = BLIP_EVENT_WARNING;
    ev->text = "careful";
    ev->data = {1, 2, 3};
    s.add_event(std::move(ev));
    const std::vector<Seen> seen = drain(s);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].type, BLIP_EVENT_WARNING);
    EXPECT_EQ(seen[0].payload, (std::vector<std::uint8_t>{1, 2, 3}));
}

TEST(StagedEvents, StopsWhenTheCallbackSaysSo) {
    StagedEvents s;
    for (std::uint64_t i = 0; i < 10; ++i) s.add_message({kA, i}, bytes(10, 0));
    EXPECT_EQ(drain(s, 3).size(), 3u);
    // Nothing is consumed by iterating: the owner clears.
    EXPECT_EQ(drain(s).size(), 10u);
    s.clear();
    EXPECT_TRUE(s.empty());
    EXPECT_TRUE(drain(s).empty());
}

TEST(StagedEvents, ManyMessagesGrowTheArenaAndSurviveIt) {
    StagedEvents s;
    constexpr std::uint64_t kCount = 50'000;  // ~4 MB of headers and payloads
    for (std::uint64_t i = 0; i < kCount; ++i) {
        s.add_message({i % 3 == 0 ? kA : kB, i}, bytes(64 + i % 5, static_cast<std::uint8_t>(i)));
    }
    std::uint64_t i = 0;
    bool exact = true;
    s.for_each([&](const ChannelEvent& ev, std::span<const std::uint8_t> payload) {
        const auto want = bytes(64 + i % 5, static_cast<std::uint8_t>(i));
        exact = exact && ev.sequence == i && ev.from == (i % 3 == 0 ? kA : kB) &&
                std::equal(payload.begin(), payload.end(), want.begin(), want.end());
        ++i;
        return true;
    });
    EXPECT_EQ(i, kCount);
    EXPECT_TRUE(exact);
}

TEST(StagedEvents, ClearKeepsASmallArenaAndFreesALargeOne) {
    StagedEvents s;
    s.add_message({kA, 0}, bytes(1000, 0));
    const std::size_t small = s.arena_capacity();
    EXPECT_GE(small, s.arena_bytes());
    s.clear();
    EXPECT_EQ(s.arena_bytes(), 0u);
    EXPECT_EQ(s.arena_capacity(), small);  // reused by the next pass

    const auto big = bytes(StagedEvents::kKeepBytes, 9);
    s.add_message({kA, 1}, big);
    EXPECT_GT(s.arena_capacity(), StagedEvents::kKeepBytes);
    const std::vector<Seen> seen = drain(s);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].payload, big);
    s.clear();
    EXPECT_EQ(s.arena_capacity(), 0u);  // a burst does not pin its arena

    s.add_message({kA, 2}, bytes(10, 0));
    s.release();
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.arena_capacity(), 0u);
}

TEST(StagedEvents, SwapExchangesContents) {
    StagedEvents a;
    StagedEvents b;
    a.add_message({kA, 1}, bytes(5, 1));
    a.add_event(loss(kA, 2));
    b.add_message({kB, 9}, bytes(7, 2));
    a.swap(b);
    const std::vector<Seen> from_a = drain(a);
    ASSERT_EQ(from_a.size(), 1u);
    EXPECT_EQ(from_a[0].from, kB);
    EXPECT_EQ(from_a[0].payload, bytes(7, 2));
    const std::vector<Seen> from_b = drain(b);
    ASSERT_EQ(from_b.size(), 2u);
    EXPECT_EQ(from_b[0].sequence, 1u);
    EXPECT_EQ(from_b[0].payload, bytes(5, 1));
    EXPECT_EQ(from_b[1].type, BLIP_EVENT_LOSS);
    // After a clear, staging into the swapped-in area starts fresh.
    b.clear();
    b.add_message({kA, 3}, bytes(2, 3));
    ASSERT_EQ(drain(b).size(), 1u);
    EXPECT_EQ(drain(b)[0].sequence, 3u);
}

}  // namespace
}  // namespace blip::io
