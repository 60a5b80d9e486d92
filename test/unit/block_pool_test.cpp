// Unit tests of the reorder buffer's block pool (src/proto/block_pool.h): block size and
// alignment, reuse, the cap on what the chunks hold, release, and a seeded model check that
// blocks in use never overlap.
#include "proto/block_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <map>
#include <random>
#include <vector>

using blip::proto::BlockPool;

namespace {

TEST(BlockPool, BlocksAreRoundedUpToCacheLinesAndAligned) {
    EXPECT_EQ(BlockPool::block_size_for(1400), 1408u);
    EXPECT_EQ(BlockPool::block_size_for(1408), 1408u);
    EXPECT_EQ(BlockPool::block_size_for(1), 64u);
    BlockPool pool(1400, 100);
    EXPECT_EQ(pool.block_size(), 1408u);
    EXPECT_EQ(pool.held_bytes(), 0u);
    std::vector<std::uint8_t*> blocks;
    for (int i = 0; i < 10; ++i) blocks.push_back(pool.take());
    for (std::uint8_t* b : blocks) {
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b) % BlockPool::kAlign, 0u);
        std::memset(b, 0xAB, pool.block_size());  // the whole block is ours (ASan checks)
    }
    EXPECT_EQ(pool.in_use(), 10u);
    for (std::uint8_t* b : blocks) pool.give_back(b);
    EXPECT_EQ(pool.in_use(), 0u);
}

TEST(BlockPool, GivenBackBlocksAreReusedBeforeMemoryGrows) {
    BlockPool pool(1000, 1000, 64 * 1024);  // 64 blocks of 1024 per chunk
    std::vector<std::uint8_t*> blocks;
    for (int i = 0; i < 64; ++i) blocks.push_back(pool.take());
    const std::size_t held = pool.held_bytes();
    EXPECT_EQ(held, 64u * 1024u);
    for (int round = 0; round < 100; ++round) {
        for (std::uint8_t* b : blocks) pool.give_back(b);
        for (std::uint8_t*& b : blocks) b = pool.take();
    }
    EXPECT_EQ(pool.held_bytes(), held);
    blocks.push_back(pool.take());  // a 65th needs a second chunk
    EXPECT_EQ(pool.held_bytes(), 2 * held);
    for (std::uint8_t* b : blocks) pool.give_back(b);
}

TEST(BlockPool, ChunksStopAtMaxBlocks) {
    BlockPool pool(1000, 100, 64 * 1024);  // chunks of 64, but 100 blocks at most
    std::vector<std::uint8_t*> blocks;
    for (int i = 0; i < 100; ++i) blocks.push_back(pool.take());
    EXPECT_EQ(pool.held_bytes(), 100u * 1024u);  // 64 + a chunk cut short at 36
    blocks.push_back(pool.take());               // past the cap: still served
    EXPECT_EQ(pool.held_bytes(), (100u + 64u) * 1024u);
    for (std::uint8_t* b : blocks) pool.give_back(b);
}

TEST(BlockPool, ReleaseFreesEverythingOnlyWhenNothingIsInUse) {
    BlockPool pool(512, 1000);
    std::uint8_t* a = pool.take();
    std::uint8_t* b = pool.take();
    pool.give_back(a);
    EXPECT_FALSE(pool.release());
    EXPECT_GT(pool.held_bytes(), 0u);
    pool.give_back(b);
    EXPECT_TRUE(pool.release());
    EXPECT_EQ(pool.held_bytes(), 0u);
    std::uint8_t* c = pool.take();  // usable again
    std::memset(c, 1, pool.block_size());
    pool.give_back(c);
    EXPECT_EQ(pool.in_use(), 0u);
}

// Random takes and give-backs: every block in use keeps the bytes written into it (no two
// overlap), and the pool holds no more than its peak use rounded up to a chunk.
TEST(BlockPool, ModelCheckBlocksNeverOverlap) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        std::mt19937 rng(seed);
        const std::size_t max_blocks = 50 + rng() % 400;
        BlockPool pool(100 + rng() % 2000, max_blocks, 16 * 1024);
        std::map<std::uint8_t*, std::uint8_t> live;  // block -> the byte it is filled with
        std::size_t peak = 0;
        for (int step = 0; step < 5000; ++step) {
            const bool take = live.empty() || (live.size() < max_blocks && rng() % 100 < 55);
            if (take) {
                std::uint8_t* b = pool.take();
                ASSERT_EQ(live.count(b), 0u) << "seed " << seed;
                const auto fill = static_cast<std::uint8_t>(rng());
                std::memset(b, fill, pool.block_size());
                live[b] = fill;
            } else {
                auto it = live.begin();
                std::advance(it, static_cast<long>(rng() % live.size()));
                for (std::size_t i = 0; i < pool.block_size(); ++i) {
                    ASSERT_EQ(it->first[i], it->second) << "seed " << seed << " byte " << i;
                }
                pool.give_back(it->first);
                live.erase(it);
            }
            peak = std::max(peak, live.size());
            ASSERT_EQ(pool.in_use(), live.size());
            ASSERT_LE(pool.held_bytes(), max_blocks * pool.block_size()) << "seed " << seed;
        }
        const std::size_t per_chunk = 16 * 1024 / pool.block_size();
        EXPECT_LE(pool.held_bytes(), (peak + per_chunk) * pool.block_size()) << "seed " << seed;
        for (const auto& [b, fill] : live) pool.give_back(b);
        EXPECT_TRUE(pool.release());
    }
}

}  // namespace
