// Equal-sized byte blocks from chunks (see block_pool.h).
#include "proto/block_pool.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace blip::proto {

BlockPool::BlockPool(std::size_t block_size, std::size_t max_blocks, std::size_t chunk_bytes)
    : block_size_(block_size_for(block_size)),
      max_blocks_(max_blocks),
      blocks_per_chunk_(std::max<std::size_t>(1, chunk_bytes / block_size_)) {}

std::uint8_t* BlockPool::take() {
    std::uint8_t* block;
    if (free_ != nullptr) {
        block = free_;
        std::memcpy(&free_, block, sizeof free_);
    } else {
        if (fresh_left_ == 0) {
            // Over-aligned new: the blocks of a chunk start on cache-line boundaries.
            const std::size_t n = held_blocks_ < max_blocks_
                                      ? std::min(blocks_per_chunk_, max_blocks_ - held_blocks_)
                                      : blocks_per_chunk_;
            std::unique_ptr<std::uint8_t[], FreeChunk> chunk(static_cast<std::uint8_t*>(
                ::operator new[](n* block_size_, std::align_val_t{kAlign})));
            chunks_.push_back(std::move(chunk));
            fresh_ = chunks_.back().get();
            fresh_left_ = n;
            held_blocks_ += n;
        }
        block = fresh_;
        fresh_ += block_size_;
        --fresh_left_;
    }
    ++in_use_;
    return block;
}

void BlockPool::give_back(std::uint8_t* block) noexcept {
    std::memcpy(block, &free_, sizeof free_);
    free_ = block;
    --in_use_;
}

bool BlockPool::release() noexcept {
    if (in_use_ != 0) return false;
    chunks_.clear();
    held_blocks_ = 0;
    free_ = nullptr;
    fresh_ = nullptr;
    fresh_left_ = 0;
    return true;
}

}  // namespace blip::proto
