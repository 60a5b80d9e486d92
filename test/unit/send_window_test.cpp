// Unit tests of the sender's retransmit window (src/proto/send_window.h): push, eviction by
// bytes and by messages begun, and lookup by dseq.
#include "proto/send_window.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

using blip::proto::SendWindow;
using blip::proto::StoredDatagram;

namespace {

StoredDatagram make_datagram(std::uint64_t mseq, std::size_t body_bytes,
                             std::uint32_t messages_started = 1, bool fragment = false) {
    StoredDatagram d;
    d.mseq = mseq;
    d.fragment = fragment;
    d.messages_started = messages_started;
    d.datagram.assign(body_bytes, static_cast<std::uint8_t>(mseq));
    return d;
}

}  // namespace

TEST(SendWindow, StartsEmpty) {
    SendWindow w(1000, 10);
    EXPECT_EQ(w.trail(), 0u);
    EXPECT_EQ(w.next(), 0u);
    EXPECT_EQ(w.bytes(), 0u);
    EXPECT_EQ(w.messages(), 0u);
    EXPECT_EQ(w.datagrams(), 0u);
    EXPECT_FALSE(w.contains(0));
    EXPECT_EQ(w.find(0), nullptr);
}

TEST(SendWindow, PushAssignsConsecutiveDseqsAndFindReturnsThem) {
    SendWindow w(1000, 10);
    for (std::uint64_t i = 0; i < 3; ++i) w.push(make_datagram(100 + i, 10));
    EXPECT_EQ(w.trail(), 0u);
    EXPECT_EQ(w.next(), 3u);
    EXPECT_EQ(w.datagrams(), 3u);
    EXPECT_EQ(w.bytes(), 30u);
    EXPECT_EQ(w.messages(), 3u);
    for (std::uint64_t i = 0; i < 3; ++i) {
        ASSERT_TRUE(w.contains(i));
        StoredDatagram* d = w.find(i);
        ASSERT_NE(d, nullptr);
        EXPECT_EQ(d->mseq, 100 + i);
        EXPECT_EQ(d->datagram, std::vector<std::uint8_t>(10, static_cast<std::uint8_t>(100 + i)));
    }
    EXPECT_FALSE(w.contains(3));
    EXPECT_EQ(w.find(3), nullptr);
    EXPECT_EQ(w.find(~std::uint64_t{0}), nullptr);
}

TEST(SendWindow, FindGivesMutableAccess) {
    SendWindow w(1000, 10);
    w.push(make_datagram(0, 10));
    w.find(0)->repair_queued = true;
    EXPECT_TRUE(w.find(0)->repair_queued);
}

TEST(SendWindow, EvictsOldestByBytes) {
    SendWindow w(100, 1000);
    w.push(make_datagram(0, 40));
    w.push(make_datagram(1, 40));
    EXPECT_EQ(w.trail(), 0u);
    EXPECT_EQ(w.bytes(), 80u);
    w.push(make_datagram(2, 40));  // 120 > 100: dseq 0 leaves
    EXPECT_EQ(w.trail(), 1u);
    EXPECT_EQ(w.next(), 3u);
    EXPECT_EQ(w.bytes(), 80u);
    EXPECT_EQ(w.messages(), 2u);
    EXPECT_FALSE(w.contains(0));
    EXPECT_EQ(w.find(0), nullptr);
    ASSERT_NE(w.find(1), nullptr);
    EXPECT_EQ(w.find(1)->mseq, 1u);
    // Exactly at the limit stays.
    w.push(make_datagram(3, 20));
    EXPECT_EQ(w.bytes(), 100u);
    EXPECT_EQ(w.trail(), 1u);
    // A large datagram pushes out as many as needed.
    w.push(make_datagram(4, 90));
    EXPECT_EQ(w.trail(), 4u);
    EXPECT_EQ(w.bytes(), 90u);
    EXPECT_EQ(w.datagrams(), 1u);
}

TEST(SendWindow, EvictsOldestByMessagesStarted) {
    SendWindow w(1u << 20, 5);
    w.push(make_datagram(0, 10, 2));
    w.push(make_datagram(2, 10, 2));
    EXPECT_EQ(w.messages(), 4u);
    EXPECT_EQ(w.trail(), 0u);
    w.push(make_datagram(4, 10, 2));  // 6 > 5: the first datagram (2 messages) leaves
    EXPECT_EQ(w.trail(), 1u);
    EXPECT_EQ(w.messages(), 4u);
    EXPECT_EQ(w.bytes(), 20u);
    w.push(make_datagram(6, 10, 1));  // 5: at the limit, stays
    EXPECT_EQ(w.trail(), 1u);
    EXPECT_EQ(w.messages(), 5u);
}

TEST(SendWindow, ContinuationFragmentsCountNoMessages) {
    // A 4-fragment message begins once: it counts as one message however many datagrams.
    SendWindow w(1u << 20, 2);
    w.push(make_datagram(0, 10, 1, true));
    for (int i = 0; i < 3; ++i) w.push(make_datagram(0, 10, 0, true));
    EXPECT_EQ(w.messages(), 1u);
    EXPECT_EQ(w.datagrams(), 4u);
    w.push(make_datagram(1, 10, 1));
    EXPECT_EQ(w.messages(), 2u);
    EXPECT_EQ(w.trail(), 0u);
    w.push(make_datagram(2, 10, 1));  // 3 > 2: the first fragment (1 message) leaves
    EXPECT_EQ(w.trail(), 1u);
    EXPECT_EQ(w.messages(), 2u);
    // The continuation fragments left in front count nothing; evicting them changes no count
    // until the next datagram that began a message goes.
    w.push(make_datagram(3, 10, 1));
    EXPECT_EQ(w.trail(), 5u);  // fragments 1..3 (0 messages) and message 1 left
    EXPECT_EQ(w.messages(), 2u);
    EXPECT_EQ(w.datagrams(), 2u);
}

TEST(SendWindow, NewestLeavesWhenLargerThanTheLimit) {
    SendWindow w(10, 10);
    w.push(make_datagram(0, 20));
    EXPECT_EQ(w.datagrams(), 0u);
    EXPECT_EQ(w.bytes(), 0u);
    EXPECT_EQ(w.trail(), 1u);
    EXPECT_EQ(w.next(), 1u);
    EXPECT_FALSE(w.contains(0));
}

TEST(SendWindow, InvariantsOverManyPushes) {
    SendWindow w(1000, 37);
    std::size_t pushed_bytes = 0;
    for (std::uint64_t i = 0; i < 10000; ++i) {
        const std::size_t size = 1 + (i * 7919) % 200;
        const std::uint32_t started = static_cast<std::uint32_t>(i % 3);  // 0, 1 or 2
        w.push(make_datagram(i, size, started));
        pushed_bytes += size;
        ASSERT_EQ(w.next(), i + 1);
        ASSERT_EQ(w.trail() + w.datagrams(), w.next());
        ASSERT_LE(w.bytes(), 1000u);
        ASSERT_LE(w.messages(), 37u);
        // Recount what is held.
        std::size_t bytes = 0;
        std::size_t messages = 0;
        for (std::uint64_t s = w.trail(); s < w.next(); ++s) {
            const StoredDatagram* d = w.find(s);
            ASSERT_NE(d, nullptr);
            ASSERT_EQ(d->mseq, s);
            bytes += d->datagram.size();
            messages += d->messages_started;
        }
        ASSERT_EQ(bytes, w.bytes());
        ASSERT_EQ(messages, w.messages());
        // Eviction is minimal: with the datagram just below the trail added back, one
        // limit would be exceeded.
        if (w.trail() > 0 && w.datagrams() > 0) {
            const std::size_t prev = 1 + ((w.trail() - 1) * 7919) % 200;
            const std::size_t prev_started = (w.trail() - 1) % 3;
            ASSERT_TRUE(w.bytes() + prev > 1000 || w.messages() + prev_started > 37)
                << "dseq " << w.trail() - 1 << " left the window needlessly";
        }
    }
    EXPECT_GT(pushed_bytes, w.bytes());
}
