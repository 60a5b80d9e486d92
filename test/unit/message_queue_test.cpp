// Unit tests of the sender's message queue (src/proto/message_queue.h): order, contents and
// byte counts against a simple model over long random runs (which cross many compactions and
// chunk changes, with copied and adopted messages mixed), empty messages, the fragment
// offset of the front message, and adopted buffers coming back as spares.
#include "proto/message_queue.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "proto/rng.h"

using blip::proto::MessageQueue;
using blip::proto::Rng;

namespace {

std::vector<std::uint8_t> message(Rng& rng, std::uint64_t id) {
    // Mostly small, some empty, a few large, so compaction meets every shape.
    const std::size_t size = rng.below(20) == 0 ? rng.below(5000) : rng.below(100);
    std::vector<std::uint8_t> m(size);
    for (std::size_t i = 0; i < size; ++i) m[i] = static_cast<std::uint8_t>(id * 31 + i);
    return m;
}

bool same(std::span<const std::uint8_t> a, const std::vector<std::uint8_t>& b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// The queue's expected contents, and the checks both random runs make against it.
struct Model {
    std::deque<std::vector<std::uint8_t>> messages;
    std::size_t bytes = 0;

    void push(std::vector<std::uint8_t> m) {
        bytes += m.size();
        messages.push_back(std::move(m));
    }
    // Pops the front of both after checking it.
    ::testing::AssertionResult pop(MessageQueue& q) {
        if (!same(q.front(), messages.front())) return ::testing::AssertionFailure() << "front";
        bytes -= messages.front().size();
        messages.pop_front();
        q.pop_front();
        return ::testing::AssertionSuccess();
    }
    // Counts, and one message deeper than the front one time in `one_in`.
    ::testing::AssertionResult check(const MessageQueue& q, Rng& rng, unsigned one_in) const {
        if (q.size() != messages.size() || q.bytes() != bytes || q.empty() != messages.empty()) {
            return ::testing::AssertionFailure()
                   << "size " << q.size() << " bytes " << q.bytes() << ", want " << messages.size()
                   << " and " << bytes;
        }
        if (!messages.empty() && rng.below(one_in) == 0) {
            const std::size_t i = rng.below(messages.size());
            if (!same(q.at(i), messages[i])) return ::testing::AssertionFailure() << "at " << i;
        }
        return ::testing::AssertionSuccess();
    }
};

// 20 seeds of 20,000 random steps, in phases that grow and phases that drain so the queue both
// fills and empties: `add(rng, q, model, id)` queues one or more messages, or the front is
// popped and checked; the counts, and one message deeper one time in `one_in`, are checked
// after every step, and `seed_done(seed)` runs after each seed.
template <typename Add, typename SeedDone>
void random_runs(unsigned one_in, Add add, SeedDone seed_done) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Rng rng(seed);
        MessageQueue q;
        Model model;
        std::uint64_t id = 0;
        for (int step = 0; step < 20000; ++step) {
            const bool grow = (step / 1000) % 2 == 0;
            if (model.messages.empty() || rng.below(100) < (grow ? 70u : 30u)) {
                add(rng, q, model, id);
                if (::testing::Test::HasFatalFailure()) return;  // an ASSERT inside add()
            } else {
                ASSERT_TRUE(model.pop(q)) << "seed " << seed << " step " << step;
            }
            ASSERT_TRUE(model.check(q, rng, one_in)) << "seed " << seed << " step " << step;
        }
        seed_done(seed);
    }
}

}  // namespace

TEST(MessageQueue, StartsEmpty) {
    MessageQueue q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(q.bytes(), 0u);
}

TEST(MessageQueue, KeepsOrderContentsAndCountsOverRandomRuns) {
    random_runs(
        50,
        [](Rng& rng, MessageQueue& q, Model& model, std::uint64_t& id) {
            auto m = message(rng, id++);
            q.push(m);
            model.push(std::move(m));
        },
        [](std::uint64_t) {});
}

// Copied messages, and buffers of messages adopted whole (with gaps between them, as the
// transport's record headers leave), mixed at random; adopted buffers are refilled from the
// spares the queue hands back. Every message keeps its bytes until it leaves.
TEST(MessageQueue, AdoptedAndCopiedMessagesKeepOrderAndContents) {
    std::size_t spares_reused = 0;
    auto add = [&](Rng& rng, MessageQueue& q, Model& model, std::uint64_t& id) {
        if (rng.below(4) == 0) {  // a buffer of several messages, adopted
            std::vector<std::uint8_t> buf = q.take_spare();
            if (buf.capacity() > 0) ++spares_reused;
            ASSERT_TRUE(buf.empty());
            std::vector<MessageQueue::Extent> extents;
            const std::size_t n = rng.below(6);
            for (std::size_t k = 0; k < n; ++k) {
                buf.insert(buf.end(), rng.below(9), 0xEE);  // a gap (a record header)
                auto m = message(rng, id++);
                extents.push_back({buf.size(), m.size()});
                buf.insert(buf.end(), m.begin(), m.end());
                model.push(std::move(m));
            }
            q.adopt(std::move(buf), extents);
        } else {
            auto m = message(rng, id++);
            q.push(m);
            model.push(std::move(m));
        }
    };
    random_runs(20, add, [&](std::uint64_t seed) {
        EXPECT_GT(spares_reused, 0u) << "seed " << seed;  // buffers do come back
        spares_reused = 0;
    });
}

TEST(MessageQueue, AnAdoptedBufferComesBackAsASpareOnceItsMessagesLeave) {
    MessageQueue q;
    EXPECT_EQ(q.take_spare().capacity(), 0u);  // none yet
    std::vector<std::uint8_t> buf(100, 1);
    buf.reserve(4096);
    const std::uint8_t* const storage = buf.data();
    const std::vector<MessageQueue::Extent> extents = {{8, 20}, {36, 64}};
    q.adopt(std::move(buf), extents);
    EXPECT_EQ(q.size(), 2u);
    EXPECT_EQ(q.bytes(), 84u);
    EXPECT_EQ(q.front().data(), storage + 8);  // not a copy
    EXPECT_EQ(q.take_spare().capacity(), 0u);  // still in use
    q.pop_front();
    EXPECT_EQ(q.take_spare().capacity(), 0u);
    q.pop_front();
    std::vector<std::uint8_t> spare = q.take_spare();
    EXPECT_TRUE(spare.empty());
    EXPECT_EQ(spare.data(), storage);  // the same memory, emptied
    EXPECT_GE(spare.capacity(), 4096u);
    // A buffer with no messages only becomes a spare.
    q.adopt(std::move(spare), {});
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.take_spare().data(), storage);
}

// What the queue keeps of emptied buffers is bounded (kMaxSpares, kKeptBytes), the larger
// ones first; a buffer larger than kKeptBytes is never kept.
TEST(MessageQueue, SparesAreBoundedAndTheLargerAreKept) {
    MessageQueue q;
    const std::vector<MessageQueue::Extent> one = {{0, 1}};
    auto adopt_and_drain = [&](std::size_t capacity) {
        std::vector<std::uint8_t> b(1, 9);
        b.reserve(capacity);
        q.adopt(std::move(b), one);
        q.pop_front();
    };
    adopt_and_drain(MessageQueue::kKeptBytes + 1);
    EXPECT_EQ(q.take_spare().capacity(), 0u);
    for (std::size_t i = 0; i < 2 * MessageQueue::kMaxSpares; ++i) adopt_and_drain(1000 + i);
    adopt_and_drain(MessageQueue::kKeptBytes / 2);
    adopt_and_drain(MessageQueue::kKeptBytes / 2 - 1);
    std::size_t n = 0;
    std::size_t total = 0;
    std::size_t previous = SIZE_MAX;
    for (auto b = q.take_spare(); b.capacity() > 0; b = q.take_spare()) {
        EXPECT_LE(b.capacity(), previous) << "largest first";
        previous = b.capacity();
        total += b.capacity();
        ++n;
    }
    EXPECT_LE(n, MessageQueue::kMaxSpares);
    EXPECT_LE(total, MessageQueue::kKeptBytes);
    EXPECT_GE(total, MessageQueue::kKeptBytes / 2);  // the large ones were kept
}

TEST(MessageQueue, EmptyMessagesAreMessages) {
    MessageQueue q;
    q.push({});
    q.push({});
    const std::vector<std::uint8_t> one = {7};
    q.push(one);
    EXPECT_EQ(q.size(), 3u);
    EXPECT_EQ(q.bytes(), 1u);
    EXPECT_TRUE(q.front().empty());
    q.pop_front();
    q.pop_front();
    ASSERT_EQ(q.front().size(), 1u);
    EXPECT_EQ(q.front()[0], 7);
}

TEST(MessageQueue, TheFrontsSentBytesResetWhenItLeaves) {
    MessageQueue q;
    const std::vector<std::uint8_t> big(3000, 1);
    const std::vector<std::uint8_t> small(10, 2);
    q.push(big);
    q.push(small);
    EXPECT_EQ(q.front_sent(), 0u);
    q.set_front_sent(1400);
    EXPECT_EQ(q.front_sent(), 1400u);
    EXPECT_EQ(q.bytes(), 3010u) << "a partly sent message counts whole until it leaves";
    q.pop_front();
    EXPECT_EQ(q.front_sent(), 0u);
    EXPECT_TRUE(same(q.front(), small));
}

TEST(MessageQueue, ReusableAfterDrainingABurst) {
    MessageQueue q;
    const std::vector<std::uint8_t> m(64 * 1024, 5);
    for (int i = 0; i < 64; ++i) q.push(m);  // 4 MiB, above the capacity kept
    while (!q.empty()) q.pop_front();
    EXPECT_EQ(q.bytes(), 0u);
    const std::vector<std::uint8_t> next = {1, 2, 3};
    q.push(next);
    EXPECT_TRUE(same(q.front(), next));
}
