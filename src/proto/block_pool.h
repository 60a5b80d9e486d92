// Equal-sized byte blocks for the reorder buffer, handed out and taken back in O(1). The
// memory is held in chunks that stay until release(), so what the pool holds is the peak
// number of blocks in use times the block size, rounded up to one chunk: a byte limit
// counted in blocks is a limit on memory. (A general pool rounds each request up to its own
// size classes and keeps every class's peak separately; for 1 KiB messages that held ~46 %
// more than the data.) Pure data structure: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

namespace blip::proto {

class BlockPool {
public:
    /// Blocks of at least `block_size` bytes (rounded up to a cache line, so a block's
    /// prefetch touches no neighbour), carved from chunks of about `chunk_bytes`. The chunks
    /// hold `max_blocks` blocks at most: the last one is cut short there, so a user that
    /// never has more than max_blocks in use never holds more. (Past it, take() still
    /// succeeds, with whole chunks.)
    BlockPool(std::size_t block_size, std::size_t max_blocks,
              std::size_t chunk_bytes = kDefaultChunkBytes);
    BlockPool(const BlockPool&) = delete;
    BlockPool& operator=(const BlockPool&) = delete;

    /// A block of block_size() bytes, uninitialized. Allocates a chunk when none is free
    /// (throws std::bad_alloc like new).
    [[nodiscard]] std::uint8_t* take();
    /// Returns a block from take(). Its memory stays in the pool.
    void give_back(std::uint8_t* block) noexcept;
    /// Frees every chunk. Only when no block is in use (checked: otherwise does nothing and
    /// returns false).
    bool release() noexcept;

    [[nodiscard]] std::size_t block_size() const noexcept { return block_size_; }
    [[nodiscard]] std::size_t in_use() const noexcept { return in_use_; }
    /// Bytes held in chunks, in use or not.
    [[nodiscard]] std::size_t held_bytes() const noexcept { return held_blocks_ * block_size_; }

    static constexpr std::size_t kDefaultChunkBytes = 256 * 1024;
    static constexpr std::size_t kAlign = 64;
    /// The block size a pool asked for `requested` bytes has.
    static constexpr std::size_t block_size_for(std::size_t requested) noexcept {
        const std::size_t n = requested < sizeof(void*) ? sizeof(void*) : requested;
        return (n + kAlign - 1) / kAlign * kAlign;
    }

private:
    void add_chunk();

    std::size_t block_size_;
    std::size_t max_blocks_;
    std::size_t blocks_per_chunk_;
    std::size_t held_blocks_ = 0;  // in all chunks
    struct FreeChunk {
        void operator()(std::uint8_t* chunk) const noexcept {
            ::operator delete[](chunk, std::align_val_t{kAlign});
        }
    };
    std::vector<std::unique_ptr<std::uint8_t[], FreeChunk>> chunks_;
    // Given-back blocks (last given back, first taken: likeliest still in cache). A vector,
    // not a list through the blocks themselves: taking from such a list reads the block, and
    // that read missed the cache often enough to be ~8 % of a lossy receiver's thread. Its
    // capacity is kept at held_blocks_, so give_back() never allocates.
    std::vector<std::uint8_t*> free_;
    // The newest chunk's blocks not yet handed out: taken in address order, so a chunk's
    // pages are touched only as the buffer grows into them.
    std::uint8_t* fresh_ = nullptr;
    std::size_t fresh_left_ = 0;
    std::size_t in_use_ = 0;
};

}  // namespace blip::proto
