// ReceiveQueue: limits, explicit overrun ranges and their order, the level-triggered eventfd,
// timeouts and close.
#include "io/receive_queue.h"

#include <blip/blip.h>
#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <thread>

namespace blip::io {
namespace {

const proto::StreamKey kA{1, 10, 0};
const proto::StreamKey kB{2, 20, 0};

std::unique_ptr<ChannelEvent> message(const proto::StreamKey& from, std::uint64_t seq,
                                      std::size_t len = 1) {
    auto ev = std::make_unique<ChannelEvent>();
    ev->type = BLIP_EVENT_MESSAGE;
    ev->from = from;
    ev->sequence = seq;
    ev->data.assign(len, 0x5a);
    return ev;
}

std::unique_ptr<ChannelEvent> loss(const proto::StreamKey& from, std::uint64_t first,
                                   std::uint64_t count) {
    auto ev = std::make_unique<ChannelEvent>();
    ev->type = BLIP_EVENT_LOSS;
    ev->from = from;
    ev->sequence = first;
    ev->count = count;
    return ev;
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

std::unique_ptr<ChannelEvent> pop(ReceiveQueue& q) {
    std::unique_ptr<ChannelEvent> ev;
    EXPECT_EQ(q.pop(0, &ev), BLIP_OK);
    return ev;
}

TEST(ReceiveQueue, FdIsReadableExactlyWhileSomethingIsQueued) {
    ReceiveQueue q(10, 1000);
    ASSERT_EQ(q.init(nullptr), BLIP_OK);
    EXPECT_FALSE(readable(q.fd()));
    q.push(message(kA, 0));
    q.push(message(kA, 1));
    EXPECT_TRUE(readable(q.fd()));
    pop(q);
    EXPECT_TRUE(readable(q.fd())) << "one left";
    pop(q);
    EXPECT_FALSE(readable(q.fd()));
    std::unique_ptr<ChannelEvent> ev;
    EXPECT_EQ(q.pop(0, &ev), BLIP_EAGAIN);
    q.push(message(kA, 2));
    EXPECT_TRUE(readable(q.fd()));
}

TEST(ReceiveQueue, MessagesBeyondTheLimitBecomeOneOverrunRangeBeforeTheStreamsNextEvent) {
    ReceiveQueue q(3, 1 << 20);
    ASSERT_EQ(q.init(nullptr), BLIP_OK);
    for (std::uint64_t s = 0; s < 10; ++s) q.push(message(kA, s));
    EXPECT_EQ(q.messages(), 3u);
    EXPECT_EQ(q.overrun_messages(), 7u);
    EXPECT_EQ(pop(q)->sequence, 0u);
    q.push(message(kA, 10));  // fits again: the overrun goes first
    EXPECT_EQ(pop(q)->sequence, 1u);
    EXPECT_EQ(pop(q)->sequence, 2u);
    auto ov = pop(q);
    EXPECT_EQ(ov->type, BLIP_EVENT_OVERRUN);
    EXPECT_EQ(ov->from, kA);
    EXPECT_EQ(ov->sequence, 3u);
    EXPECT_EQ(ov->count, 7u);
    EXPECT_EQ(pop(q)->sequence, 10u);
}

TEST(ReceiveQueue, AReaderThatEmptiesTheQueueLearnsOfTheOverrunWithoutWaitingForMoreData) {
    ReceiveQueue q(1, 1 << 20);
    ASSERT_EQ(q.init(nullptr), BLIP_OK);
    q.push(message(kA, 0));
    q.push(message(kA, 1));
    q.push(message(kB, 5));
    EXPECT_EQ(pop(q)->sequence, 0u);
    EXPECT_TRUE(readable(q.fd()));
    auto a = pop(q);
    auto b = pop(q);
    EXPECT_EQ(a->type, BLIP_EVENT_OVERRUN);
    EXPECT_EQ(a->from, kA);
    EXPECT_EQ(a->sequence, 1u);
    EXPECT_EQ(b->type, BLIP_EVENT_OVERRUN);
    EXPECT_EQ(b->from, kB);
    EXPECT_EQ(b->sequence, 5u);
    EXPECT_EQ(b->count, 1u);
    EXPECT_FALSE(readable(q.fd()));
}

TEST(ReceiveQueue, ALossBetweenOverrunsKeepsTheRangesSeparateAndInOrder) {
    ReceiveQueue q(1, 1 << 20);
    ASSERT_EQ(q.init(nullptr), BLIP_OK);
    q.push(message(kA, 0));
    q.push(message(kA, 1));  // overrun [1, 2)
    q.push(loss(kA, 2, 3));  // events are always queued, after the stream's overrun
    q.push(message(kA, 5));  // overrun [5, 6)
    EXPECT_EQ(pop(q)->sequence, 0u);
    auto first = pop(q);
    EXPECT_EQ(first->type, BLIP_EVENT_OVERRUN);
    EXPECT_EQ(first->sequence, 1u);
    EXPECT_EQ(first->count, 1u);
    EXPECT_EQ(pop(q)->type, BLIP_EVENT_LOSS);
    auto second = pop(q);
    EXPECT_EQ(second->type, BLIP_EVENT_OVERRUN);
    EXPECT_EQ(second->sequence, 5u);
}

TEST(ReceiveQueue, TheByteLimitCountsPayloadButNeverBlocksAMessageOnItsOwn) {
    ReceiveQueue q(100, 10);
    ASSERT_EQ(q.init(nullptr), BLIP_OK);
    q.push(message(kA, 0, 50));  // larger than the limit, but the queue is empty
    q.push(message(kA, 1, 1));   // does not fit
    EXPECT_EQ(q.messages(), 1u);
    EXPECT_EQ(q.bytes(), 50u);
    EXPECT_EQ(q.overrun_messages(), 1u);
}

TEST(ReceiveQueue, TimeoutAndCloseWakeAWaitingReader) {
    ReceiveQueue q(10, 1000);
    ASSERT_EQ(q.init(nullptr), BLIP_OK);
    std::unique_ptr<ChannelEvent> ev;
    EXPECT_EQ(q.pop(20, &ev), BLIP_ETIMEDOUT);
    int rc = 0;
    std::thread reader([&] { rc = q.pop(-1, &ev); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    q.close();
    reader.join();
    EXPECT_EQ(rc, BLIP_ECLOSED);
    EXPECT_TRUE(readable(q.fd())) << "a poller must wake up to learn of the close";
    q.push(message(kA, 0));
    EXPECT_EQ(q.messages(), 0u) << "nothing is queued after close";
}

}  // namespace
}  // namespace blip::io
