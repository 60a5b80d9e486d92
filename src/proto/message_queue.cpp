// The sender's message queue (see message_queue.h).
#include "proto/message_queue.h"

namespace blip::proto {

void MessageQueue::push(std::span<const std::uint8_t> data) {
    compact();
    const std::size_t offset = buffer_.size();
    // insert(), not resize() and a copy: resize would zero the bytes first (a memset as long
    // as the copy, a tenth of a flat-out sender's loop thread).
    buffer_.insert(buffer_.end(), data.begin(), data.end());
    index_.push_back(Entry{offset, data.size()});
    bytes_ += data.size();
}

void MessageQueue::pop_front() noexcept {
    const Entry& e = index_[first_];
    head_ = e.offset + e.length;
    bytes_ -= e.length;
    ++first_;
    front_sent_ = 0;
    if (first_ == index_.size()) {  // empty: start over at the beginning, nothing to move
        buffer_.clear();
        index_.clear();
        head_ = first_ = 0;
        if (buffer_.capacity() > kKeptCapacity) std::vector<std::uint8_t>().swap(buffer_);
    }
}

void MessageQueue::compact() {
    const bool bytes_dead = head_ > 0 && head_ >= buffer_.size() - head_;
    const bool entries_dead = first_ > 0 && first_ >= index_.size() - first_;
    if (!bytes_dead && !entries_dead) return;
    if (bytes_dead) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(head_));
        for (std::size_t i = first_; i < index_.size(); ++i) index_[i].offset -= head_;
        head_ = 0;
    }
    if (entries_dead) {
        index_.erase(index_.begin(), index_.begin() + static_cast<std::ptrdiff_t>(first_));
        first_ = 0;
    }
}

}  // namespace blip::proto
