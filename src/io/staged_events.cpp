// Callback mode's staging area (see staged_events.h).
#include "io/staged_events.h"

#include <blip/blip.h>

#include <algorithm>
#include <utility>

namespace blip::io {

static_assert(BLIP_EVENT_MESSAGE == 1, "StagedEvents::kMessageType must be BLIP_EVENT_MESSAGE");

void StagedEvents::add_message(const proto::MessageInfo& info, std::span<const std::uint8_t> data) {
    // Messages of one pass nearly always come from the sender of the one before.
    std::size_t k = keys_.size();
    if (k == 0 || !(keys_.back() == info.from)) {
        for (k = 0; k < keys_.size() && !(keys_[k] == info.from); ++k) {
        }
        if (k == keys_.size()) keys_.push_back(info.from);
    } else {
        k = keys_.size() - 1;
    }
    // Payloads are bounded by max_message_size (at most 4 GiB - 1 by the option's range).
    const Header h{static_cast<std::uint32_t>(k), static_cast<std::uint32_t>(data.size()),
                   info.mseq};
    std::uint8_t* at = append(sizeof h + data.size());
    std::memcpy(at, &h, sizeof h);
    if (!data.empty()) std::memcpy(at + sizeof h, data.data(), data.size());
}

void StagedEvents::add_event(std::unique_ptr<ChannelEvent> ev) {
    const Header h{kEventKey, 0, events_.size()};
    events_.push_back(std::move(ev));
    std::memcpy(append(sizeof h), &h, sizeof h);
}

std::uint8_t* StagedEvents::append(std::size_t n) {
    if (capacity_ - size_ < n) {
        std::size_t cap = std::max<std::size_t>(capacity_ * 2, 64 * 1024);
        while (cap - size_ < n) cap *= 2;
        // Uninitialised on purpose (make_unique would zero it): every byte is written before
        // it is read.
        std::unique_ptr<std::uint8_t[]> grown(new std::uint8_t[cap]);
        if (size_ != 0) std::memcpy(grown.get(), bytes_.get(), size_);
        bytes_ = std::move(grown);
        capacity_ = cap;
    }
    std::uint8_t* at = bytes_.get() + size_;
    size_ += n;
    return at;
}

void StagedEvents::clear() noexcept {
    keys_.clear();
    events_.clear();
    size_ = 0;
    if (capacity_ > kKeepBytes) {
        bytes_.reset();
        capacity_ = 0;
    }
}

void StagedEvents::release() noexcept {
    bytes_.reset();
    size_ = capacity_ = 0;
    std::vector<proto::StreamKey>().swap(keys_);
    std::vector<std::unique_ptr<ChannelEvent>>().swap(events_);
}

void StagedEvents::swap(StagedEvents& other) noexcept {
    bytes_.swap(other.bytes_);
    std::swap(size_, other.size_);
    std::swap(capacity_, other.capacity_);
    keys_.swap(other.keys_);
    events_.swap(other.events_);
}

}  // namespace blip::io
