// The sender's message queue (see message_queue.h).
#include "proto/message_queue.h"

#include <algorithm>
#include <utility>

namespace blip::proto {

namespace {

bool smaller_capacity(const std::vector<std::uint8_t>& x, const std::vector<std::uint8_t>& y) {
    return x.capacity() < y.capacity();
}

}  // namespace

MessageQueue::MessageQueue() { spares_.reserve(kMaxSpares); }

void MessageQueue::keep_spare(std::vector<std::uint8_t>&& b) noexcept {
    b.clear();
    if (b.capacity() == 0 || b.capacity() > kKeptBytes) {
        std::vector<std::uint8_t>().swap(b);
        return;
    }
    auto no_room = [&] {
        return spares_.size() >= kMaxSpares || spare_bytes_ + b.capacity() > kKeptBytes;
    };
    // Make room by dropping smaller spares; keep `b` only if it is not the smallest.
    while (!spares_.empty() && no_room()) {
        auto smallest = std::min_element(spares_.begin(), spares_.end(), smaller_capacity);
        if (smallest->capacity() >= b.capacity()) break;
        spare_bytes_ -= smallest->capacity();
        spares_.erase(smallest);
    }
    if (no_room()) {
        std::vector<std::uint8_t>().swap(b);
        return;
    }
    spare_bytes_ += b.capacity();
    spares_.push_back(std::move(b));  // within the capacity reserved at construction
}

void MessageQueue::drop_empty_back() noexcept {
    if (!segments_.empty() && segments_.back().live == 0) {
        keep_spare(std::move(segments_.back().bytes));
        segments_.pop_back();
    }
}

void MessageQueue::open_own(std::size_t need) {
    drop_empty_back();
    Segment s;
    s.own = true;
    auto fit = std::find_if(spares_.begin(), spares_.end(),
                            [need](const auto& b) { return b.capacity() >= need; });
    if (fit != spares_.end()) {
        spare_bytes_ -= fit->capacity();
        s.bytes = std::move(*fit);
        spares_.erase(fit);
    } else {
        s.bytes.reserve(std::max(kChunkBytes, need));
    }
    segments_.push_back(std::move(s));
}

void MessageQueue::push(std::span<const std::uint8_t> data) {
    if (segments_.empty() || !segments_.back().own ||
        segments_.back().bytes.capacity() - segments_.back().bytes.size() < data.size()) {
        open_own(data.size());
    }
    Segment& s = segments_.back();
    index_.push_back(Entry{s.bytes.data() + s.bytes.size(), data.size()});
    // insert(), not resize() and a copy: resize would zero the bytes first (a memset as long
    // as the copy). Within the capacity: never reallocates, so entries stay valid.
    s.bytes.insert(s.bytes.end(), data.begin(), data.end());
    ++s.live;
    bytes_ += data.size();
}

void MessageQueue::adopt(std::vector<std::uint8_t>&& bytes, std::span<const Extent> extents) {
    if (extents.empty()) {
        keep_spare(std::move(bytes));
        return;
    }
    index_.reserve(index_.size() + extents.size());
    drop_empty_back();
    segments_.emplace_back();  // may throw: `bytes` is still the caller's then
    Segment& s = segments_.back();
    s.bytes = std::move(bytes);
    s.live = extents.size();
    const std::uint8_t* base = segments_.back().bytes.data();
    for (const Extent& x : extents) {
        index_.push_back(Entry{base + x.offset, x.length});  // reserved: cannot throw
        bytes_ += x.length;
    }
}

std::vector<std::uint8_t> MessageQueue::take_spare() {
    if (spares_.empty()) return {};
    // The largest: the caller fills it with however much arrives before the next hand-over.
    auto largest = std::max_element(spares_.begin(), spares_.end(), smaller_capacity);
    std::vector<std::uint8_t> b = std::move(*largest);
    spares_.erase(largest);
    spare_bytes_ -= b.capacity();
    return b;
}

void MessageQueue::retire_front() noexcept {
    Segment& s = segments_.front();
    if (segments_.size() == 1 && s.own && s.bytes.capacity() <= kChunkBytes) {
        s.bytes.clear();  // push() goes on appending here
        return;
    }
    keep_spare(std::move(s.bytes));
    segments_.pop_front();
}

void MessageQueue::pop_front() noexcept {
    const Entry& e = index_[first_];
    bytes_ -= e.length;
    ++first_;
    front_sent_ = 0;
    if (--segments_.front().live == 0) retire_front();
    if (first_ == index_.size()) {  // empty: start over at the beginning, nothing to move
        index_.clear();
        first_ = 0;
    } else if (first_ >= index_.size() - first_) {
        // Drop the popped entries when they are at least half of the index, so each entry
        // moves at most about once while it is queued (amortised O(1)).
        index_.erase(index_.begin(), index_.begin() + static_cast<std::ptrdiff_t>(first_));
        first_ = 0;
    }
}

}  // namespace blip::proto
