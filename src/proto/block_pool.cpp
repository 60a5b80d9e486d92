// Equal-sized byte blocks from chunks (see block_pool.h).
#include "proto/block_pool.h"

#include <algorithm>
#include <utility>

namespace blip::proto {

BlockPool::BlockPool(std::size_t block_size, std::size_t max_blocks, std::size_t chunk_bytes)
    : block_size_(block_size_for(block_size)),
      max_blocks_(max_blocks),
      blocks_per_chunk_(std::max<std::size_t>(1, chunk_bytes / block_size_)) {}

std::uint8_t* BlockPool::take() {
    std::uint8_t* block;
    if (!free_.empty()) {
        block = free_.back();
        free_.pop_back();
    } else {
        if (fresh_left_ == 0) add_chunk();
        block = fresh_;
        fresh_ += block_size_;
        --fresh_left_;
    }
    ++in_use_;
    return block;
}

void BlockPool::add_chunk() {
    const std::size_t n = held_blocks_ < max_blocks_
                              ? std::min(blocks_per_chunk_, max_blocks_ - held_blocks_)
                              : blocks_per_chunk_;
    const std::size_t bytes = n * block_size_;
    // Over-aligned new: the blocks of a chunk start on cache-line boundaries.
    std::unique_ptr<std::uint8_t[], FreeChunk> chunk(
        static_cast<std::uint8_t*>(::operator new[](bytes, std::align_val_t{kAlign})));
    free_.reserve(held_blocks_ + n);  // room to give back every block, so give_back() cannot throw
    chunks_.push_back(std::move(chunk));
    fresh_ = chunks_.back().get();
    fresh_left_ = n;
    held_blocks_ += n;
}

void BlockPool::give_back(std::uint8_t* block) noexcept {
    free_.push_back(block);  // within the capacity add_chunk() reserved
    --in_use_;
}

bool BlockPool::release() noexcept {
    if (in_use_ != 0) return false;
    chunks_.clear();
    held_blocks_ = 0;
    free_ = {};
    fresh_ = nullptr;
    fresh_left_ = 0;
    return true;
}

}  // namespace blip::proto
