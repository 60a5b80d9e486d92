// Unit tests of the sender's message queue (src/proto/message_queue.h): order, contents and
// byte counts against a simple model over long random runs (which cross many compactions),
// empty messages, and the fragment offset of the front message.
#include "proto/message_queue.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
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

}  // namespace

TEST(MessageQueue, StartsEmpty) {
    MessageQueue q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(q.bytes(), 0u);
}

TEST(MessageQueue, KeepsOrderContentsAndCountsOverRandomRuns) {
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
        Rng rng(seed);
        MessageQueue q;
        std::deque<std::vector<std::uint8_t>> model;
        std::size_t model_bytes = 0;
        std::uint64_t id = 0;
        for (int step = 0; step < 20000; ++step) {
            // Phases that grow and phases that drain, so the queue both fills and empties.
            const bool grow = (step / 1000) % 2 == 0;
            if (model.empty() || rng.below(100) < (grow ? 70u : 30u)) {
                auto m = message(rng, id++);
                q.push(m);
                model_bytes += m.size();
                model.push_back(std::move(m));
            } else {
                ASSERT_TRUE(same(q.front(), model.front())) << "seed " << seed << " step " << step;
                model_bytes -= model.front().size();
                model.pop_front();
                q.pop_front();
            }
            ASSERT_EQ(q.size(), model.size());
            ASSERT_EQ(q.bytes(), model_bytes);
            ASSERT_EQ(q.empty(), model.empty());
            if (!model.empty() && rng.below(50) == 0) {  // look deeper than the front
                const std::size_t i = rng.below(model.size());
                ASSERT_TRUE(same(q.at(i), model[i])) << "seed " << seed << " step " << step;
            }
        }
    }
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
