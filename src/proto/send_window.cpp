// The sender's bounded retransmit window.
#include "proto/send_window.h"

#include <utility>

namespace blip::proto {

void SendWindow::push(StoredDatagram d) {
    bytes_ += d.datagram.size();
    messages_ += d.messages_started;
    items_.push_back(std::move(d));
    // Evict oldest first. The newest datagram may itself go if the limits are smaller
    // than one datagram; config validation prevents that for the byte limit.
    while (!items_.empty() && (bytes_ > max_bytes_ || messages_ > max_messages_)) {
        bytes_ -= items_.front().datagram.size();
        messages_ -= items_.front().messages_started;
        if (spare_.size() < kSpareBuffers) spare_.push_back(std::move(items_.front().datagram));
        items_.pop_front();
        ++trail_;
    }
}

}  // namespace blip::proto
