// The receiving half for one remote sender stream (see receiver.h).
#include "proto/receiver.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <memory>

#include "proto/stream_header.h"
#include "wire/codec.h"

namespace blip::proto {

namespace {

// reorder_buffer_bytes, but room for one datagram at least.
std::size_t reorder_limit(const ReceiverConfig& cfg, std::size_t datagram_size) {
    return std::max(cfg.reorder_buffer_bytes, BlockPool::block_size_for(datagram_size));
}

// The blocks (datagrams) the reorder buffer holds within reorder_limit().
std::size_t reorder_blocks(const ReceiverConfig& cfg, std::size_t datagram_size) {
    return reorder_limit(cfg, datagram_size) / BlockPool::block_size_for(datagram_size);
}

}  // namespace

Receiver::Receiver(const ReceiverConfig& cfg, const StreamKey& key, Rng& rng,
                   std::size_t datagram_size, std::uint64_t start, bool from_session_start,
                   ReporterId self)
    : cfg_(cfg),
      key_(key),
      datagram_size_(datagram_size),
      nak_(cfg, rng),
      next_(start),
      high_(start),
      blocks_(datagram_size, reorder_blocks(cfg, datagram_size)),
      ring_slots_(std::bit_ceil(reorder_blocks(cfg, datagram_size))),
      buffer_limit_(reorder_limit(cfg, datagram_size)),
      cursor_known_(from_session_start),
      self_(self),
      reorder_credit_(reorder_blocks(cfg, datagram_size)) {
    scratch_.resize(datagram_size_);
}

Receiver::~Receiver() {
    // Blocks go with blocks_; datagrams larger than a block have their own heap bytes.
    for (const Buffered& b : ring_) {
        if (b.data != nullptr && b.size > blocks_.block_size()) delete[] b.data;
    }
}

// ---- datagram bookkeeping --------------------------------------------------------------

bool Receiver::is_lost(std::uint64_t seq) const noexcept {
    auto it = lost_.upper_bound(seq);
    if (it == lost_.begin()) return false;
    --it;
    return seq < it->second.end;
}

void Receiver::declare_lost(std::uint64_t first, std::uint64_t end, LossReason reason) {
    if (first >= end) return;
    stats_.datagrams_lost += end - first;
    lost_.emplace(first, LostRange{end, reason});
}

void Receiver::learn_high(Time now, std::uint64_t end) {
    if (end <= high_) return;
    nak_.add(now, high_, end);
    high_ = end;
}

void Receiver::declare_below(std::uint64_t trail, LossReason reason) {
    if (trail <= next_) return;
    if (trail > high_) {  // never seen and already gone: lost without asking
        declare_lost(high_, trail, reason);
        high_ = trail;
    }
    for (const wire::SeqRange& r : nak_.take(next_, trail)) declare_lost(r.first, r.end(), reason);
}

void Receiver::buffer(Time now, std::uint64_t dseq, std::span<const std::uint8_t> datagram) {
    // Beyond the ring's window (a sender not held by flow control): asked for again later.
    if (dseq - next_ >= ring_slots_) {
        nak_.add(now, dseq, dseq + 1);
        ++stats_.buffer_evictions;
        return;
    }
    // Over the byte limit, keep what is nearest to delivery: evict the furthest datagrams
    // (they become missing again and are NAKed later), or drop this one if it is furthest.
    // The datagram at next_ never needs the buffer, so progress is always possible. (Only
    // datagrams larger than a block can bring this about: the ring holds no more blocks than
    // the limit allows.)
    const std::size_t cost = charge(datagram.size());
    while (buffered_bytes_ + cost > buffer_limit_ && buffered_count_ != 0 && buffered_max_ > dseq) {
        const std::uint64_t last = buffered_max_;
        free_buffered(unslot(last));
        nak_.add(now, last, last + 1);
        ++stats_.buffer_evictions;
    }
    if (buffered_bytes_ + cost > buffer_limit_) {
        nak_.add(now, dseq, dseq + 1);
        ++stats_.buffer_evictions;
        return;
    }
    if (ring_.empty()) ring_.resize(ring_slots_);
    std::uint8_t* bytes =
        datagram.size() <= blocks_.block_size()
            ? blocks_.take()
            : std::make_unique_for_overwrite<std::uint8_t[]>(datagram.size()).release();
    std::memcpy(bytes, datagram.data(), datagram.size());
    slot(dseq) = Buffered{bytes, datagram.size()};
    buffered_max_ = buffered_count_ == 0 ? dseq : std::max(buffered_max_, dseq);
    ++buffered_count_;
    buffered_bytes_ += cost;
    pool_used_ = true;
    empty_seen_ = false;
    ++stats_.out_of_order;
}

Receiver::Buffered Receiver::unslot(std::uint64_t dseq) noexcept {
    Buffered& s = slot(dseq);
    const Buffered b = s;
    s = Buffered{};
    if (--buffered_count_ != 0 && dseq == buffered_max_) {
        // The next highest: there is one, at or above next_.
        do {
            --buffered_max_;
        } while (slot(buffered_max_).data == nullptr);
    }
    return b;
}

void Receiver::free_buffered(const Buffered& b) noexcept {
    buffered_bytes_ -= charge(b.size);
    if (b.size <= blocks_.block_size()) {
        blocks_.give_back(b.data);
    } else {
        delete[] b.data;
    }
}

// ---- inputs ----------------------------------------------------------------------------

void Receiver::on_data(Time now, const wire::Data& d, std::span<const std::uint8_t> datagram,
                       Output& out) {
    ++stats_.datagrams;
    nak_.on_sender_heard(now);
    if (d.repair) {
        ++stats_.repairs;
        nak_.on_repair_seen(now, d.dseq);
    }
    const bool have = d.dseq < next_ || buffered(d.dseq) || is_lost(d.dseq);
    if (!have && implausible(d.dseq)) {
        ++stats_.implausible;
        return;
    }
    declare_below(d.trail(), LossReason::kLeftWindow);
    if (have) {
        ++stats_.duplicates;
        advance(out);
        // A repair of the newest datagram that nobody asked for is a sender held back by flow
        // control asking where we are: our last report may have been lost.
        if (d.repair && d.dseq + 1 == high_) {
            report_now_ = true;
            maybe_report(now, out);
        }
        return;
    }
    if (d.dseq >= high_) {
        learn_high(now, d.dseq);
        high_ = d.dseq + 1;
    } else {
        nak_.remove(d.dseq);
    }
    advance(out);  // the trail may have released lost runs before this datagram
    if (d.dseq == next_) {
        process(d, out);  // fast path: in order, no copy
        ++next_;
        advance(out);
    } else {
        buffer(now, d.dseq, datagram);
    }
    maybe_report(now, out);
}

void Receiver::on_heartbeat(Time now, const wire::Heartbeat& hb, Output& out) {
    nak_.on_sender_heard(now);
    release_idle_pool(now);
    if (hb.next_dseq >= next_ && (!sync_valid_ || hb.next_dseq >= sync_dseq_)) {
        sync_valid_ = true;
        sync_dseq_ = hb.next_dseq;
        sync_mseq_ = hb.next_mseq;
    }
    if (implausible(hb.next_dseq)) {
        ++stats_.implausible;
        return;
    }
    learn_high(now, hb.next_dseq);  // tail loss: the newest datagrams never arrived
    declare_below(hb.trail, LossReason::kLeftWindow);
    advance(out);
    maybe_report(now, out);
}

void Receiver::on_unavailable(Time now, const wire::Unavailable& u, Output& out) {
    // Everything below the sender's trail is gone, which covers the ranges named.
    if (implausible(u.trail)) {
        ++stats_.implausible;
        return;
    }
    declare_below(u.trail, LossReason::kLeftWindow);
    advance(out);
    maybe_report(now, out);
}

void Receiver::on_nak_seen(Time now, const wire::Nak& nak) {
    for (std::size_t i = 0; i < nak.ranges.size(); ++i) {
        const wire::SeqRange r = nak.ranges[i];
        nak_.on_nak_seen(now, r.first, r.end());
    }
}

void Receiver::on_status_seen(Time now, const wire::StatusReport& st) {
    if (st.receiver_node == self_.node && st.receiver_session == self_.session) return;
    nak_.on_peer_heard(now);
}

void Receiver::poll(Time now, Output& out) {
    release_idle_pool(now);
    nak_ranges_.clear();
    gave_up_.clear();
    nak_.poll(now, nak_ranges_, gave_up_);
    for (const wire::SeqRange& r : gave_up_) declare_lost(r.first, r.end(), LossReason::kGaveUp);
    if (!nak_ranges_.empty()) send_naks(nak_ranges_, out);
    if (!gave_up_.empty() || backlog_) advance(out);
    maybe_report(now, out);
}

// ---- flow-control reports --------------------------------------------------------------

namespace {
// While data this receiver waits for is outstanding and its limit does not move (a gap
// under repair with the reorder buffer full), it still reports this often, so that the
// sender, which it holds back, knows it is alive (the sender's flow_timeout is longer).
constexpr Duration kStatusKeepalive = 100ms;
}  // namespace

std::uint64_t Receiver::flow_limit() const noexcept {
    const auto add = [](std::uint64_t a, std::uint64_t b) {
        constexpr std::uint64_t kTop = std::numeric_limits<std::uint64_t>::max() >> 1;
        return b > kTop - std::min(a, kTop) ? kTop : a + b;
    };
    return std::min(add(high_, cfg_.status_credit), add(next_, reorder_credit_));
}

Time Receiver::status_deadline() const noexcept {
    if (!cfg_.send_status) return kNever;
    if (!reported_ || report_now_) return Time{};
    if (next_ < high_) return reported_at_ + kStatusKeepalive;
    return kNever;
}

void Receiver::maybe_report(Time now, Output& out) {
    if (!cfg_.send_status) return;
    const std::uint64_t limit = flow_limit();
    // Each time the limit has moved by a quarter of the credit, so that a sender that is
    // not held back by anyone else hears while it still has three quarters to go. Nothing
    // else is sent while data flows: with many receivers, reports are multicast traffic too.
    // (A quarter of the smaller credit: bounded by the reorder buffer, the limit may never move
    // by a quarter of the socket credit in one go.)
    const std::uint64_t step =
        std::max<std::uint64_t>(1, std::min(cfg_.status_credit, reorder_credit_) / 4);
    const bool moved = reported_ && limit >= reported_limit_ && limit - reported_limit_ >= step;
    if (!moved && now < status_deadline()) return;
    const wire::Header h = stream_header(key_, wire::PacketType::kStatus);
    wire::StatusReport st;
    st.receiver_node = self_.node;
    st.receiver_session = self_.session;
    st.position = next_;
    st.limit = limit;
    const std::size_t len = wire::encode_status(scratch_, h, st);
    if (len == 0) return;
    out.send_datagram(std::span(scratch_).first(len));
    ++stats_.statuses_sent;
    reported_ = true;
    report_now_ = false;
    reported_limit_ = limit;
    reported_at_ = now;
}

Time Receiver::next_deadline() const noexcept {
    if (backlog_) return Time{};
    return std::min(nak_.next_deadline(), status_deadline());
}

void Receiver::sender_gone(Time /*now*/, Output& out, bool final) {
    for (const wire::SeqRange& r : nak_.take_below(std::numeric_limits<std::uint64_t>::max())) {
        declare_lost(r.first, r.end(), LossReason::kSenderGone);
    }
    advance(out, std::numeric_limits<std::size_t>::max());  // all of it: nothing comes after
    if (!final) return;
    if (loss_open_) {
        if (loss_first_known_) emit_loss(loss_first_, 0, loss_reason_, true, out);
        loss_open_ = false;
    } else if (partial_ && !skipping_) {
        emit_loss(cursor_, 0, LossReason::kSenderGone, true, out);
        partial_ = false;
    }
}

void Receiver::send_naks(std::vector<wire::SeqRange>& ranges, Output& out) {
    std::sort(ranges.begin(), ranges.end(),
              [](const wire::SeqRange& a, const wire::SeqRange& b) { return a.first < b.first; });
    // Merge touching ranges and split those too long for the 32-bit wire count.
    std::vector<wire::SeqRange> merged;
    for (const wire::SeqRange& r : ranges) {
        if (!merged.empty() && merged.back().end() == r.first) {
            merged.back().count += r.count;
        } else {
            merged.push_back(r);
        }
    }
    std::vector<wire::SeqRange> wire_ranges;
    for (const wire::SeqRange& r : merged) {
        wire::append_wire_ranges(r, wire_ranges);
        stats_.nak_datagrams += r.count;
    }
    const wire::Header h = stream_header(key_, wire::PacketType::kNak);
    const std::size_t per_packet = wire::max_nak_ranges(datagram_size_);
    for (std::size_t i = 0; i < wire_ranges.size(); i += per_packet) {
        const std::size_t n = std::min(per_packet, wire_ranges.size() - i);
        std::size_t len = wire::encode_nak(scratch_, h, std::span(wire_ranges).subspan(i, n));
        if (len == 0) continue;
        out.send_datagram(std::span(scratch_).first(len));
        ++stats_.naks_sent;
    }
}

// ---- in-order processing ---------------------------------------------------------------

void Receiver::advance(Output& out, std::size_t budget) {
    backlog_ = false;
    for (;;) {
        if (!lost_.empty() && lost_.begin()->first == next_) {
            auto it = lost_.begin();
            open_loss(it->second.reason);
            next_ = it->second.end;
            lost_.erase(it);
            continue;
        }
        if (buffered(next_)) {
            if (budget == 0) {
                backlog_ = true;
                return;
            }
            --budget;
            const Buffered b = unslot(next_);
            // The buffered bytes were written a repair's round trip ago and have left the
            // core's caches; fetching the next datagram while this one is delivered hides
            // that latency (its copy out is otherwise the costliest step of a release).
            if (budget > 0 && buffered_count_ != 0) {
                const Buffered& ahead = slot(next_ + 1);
                for (std::size_t off = 0; off < ahead.size; off += 64) {
                    __builtin_prefetch(ahead.data + off);
                }
            }
            wire::Packet p;
            // Decoded once already; decoding again from our own copy cannot fail.
            if (wire::decode(b.bytes(), p) == wire::DecodeError::kOk) {
                process(std::get<wire::Data>(p.body), out);
            }
            free_buffered(b);
            ++next_;
            continue;
        }
        if (sync_valid_ && sync_dseq_ == next_) {
            // A heartbeat told which message begins here: it bounds an open loss, and it
            // gives a late joiner its first message even if that datagram is lost.
            if (loss_open_) {
                close_loss(sync_mseq_, false, out);
            } else if (!cursor_known_) {
                cursor_known_ = true;
                cursor_ = sync_mseq_;
            }
        }
        return;
    }
}

void Receiver::release_idle_pool(Time now) noexcept {
    if (!pool_used_) return;
    if (buffered_count_ != 0) {
        empty_seen_ = false;
        return;
    }
    if (!empty_seen_) {
        empty_seen_ = true;
        empty_seen_at_ = now;
        return;
    }
    if (now - empty_seen_at_ < kPoolIdle) return;
    blocks_.release();  // nothing is allocated from them any more
    ring_ = {};
    pool_used_ = false;
    empty_seen_ = false;
}

void Receiver::open_loss(LossReason reason) {
    if (loss_open_) return;
    loss_open_ = true;
    loss_reason_ = reason;
    loss_first_known_ = cursor_known_;
    // A partly assembled message is lost too; one being skipped was already reported (or
    // began before we joined), so the loss starts after it.
    loss_first_ = partial_ && skipping_ ? cursor_ + 1 : cursor_;
    partial_ = false;
    skipping_ = false;
    assembly_.clear();
}

void Receiver::close_loss(std::uint64_t boundary_mseq, bool continues, Output& out) {
    const std::uint64_t end = continues ? boundary_mseq + 1 : boundary_mseq;
    if (loss_first_known_ && end > loss_first_) {
        emit_loss(loss_first_, end - loss_first_, loss_reason_, false, out);
    }
    // Without a known first message (a late joiner that lost its start) there is nothing
    // to report: the stream of this receiver simply begins after the loss.
    loss_open_ = false;
    cursor_known_ = true;
    cursor_ = boundary_mseq;
    partial_ = continues;
    skipping_ = continues;  // the rest of that message is part of the loss
}

void Receiver::emit_loss(std::uint64_t first, std::uint64_t count, LossReason reason,
                         bool open_ended, Output& out) {
    Event ev;
    ev.type = EventType::kLoss;
    ev.from = key_;
    ev.first_mseq = first;
    ev.count = count;
    ev.open_ended = open_ended;
    ev.reason = reason;
    ++stats_.loss_events;
    stats_.messages_lost += count;
    out.event(ev);
}

void Receiver::reject_through(std::uint64_t last_mseq, Output& out) {
    // The sender's stream contradicts itself (never produced by a correct sender): report
    // the messages concerned instead of delivering something inconsistent.
    ++stats_.protocol_errors;
    if (last_mseq >= cursor_) {
        emit_loss(cursor_, last_mseq - cursor_ + 1, LossReason::kRejected, false, out);
        cursor_ = last_mseq + 1;
    }
    partial_ = false;
    skipping_ = false;
    assembly_.clear();
}

void Receiver::deliver(std::uint64_t mseq, std::span<const std::uint8_t> data, Output& out) {
    ++stats_.messages;
    stats_.bytes += data.size();
    out.deliver(MessageInfo{key_, mseq}, data);
}

void Receiver::process(const wire::Data& d, Output& out) {
    if (loss_open_) close_loss(d.mseq, d.continues_message(), out);
    if (!cursor_known_) {
        // First datagram of a late joiner: start at the first message that begins here.
        cursor_known_ = true;
        cursor_ = d.mseq;
        partial_ = skipping_ = d.continues_message();
    }
    if (d.fragment) {
        process_fragment(d, out);
    } else {
        process_batch(d, out);
    }
}

void Receiver::process_batch(const wire::Data& d, Output& out) {
    if (partial_) {
        if (skipping_) {
            partial_ = skipping_ = false;
            ++cursor_;
        } else {
            reject_through(cursor_, out);  // a message ended without its last fragment
        }
    }
    if (d.mseq > cursor_) reject_through(d.mseq - 1, out);  // numbers skipped silently
    std::uint64_t m = d.mseq;
    for (std::span<const std::uint8_t> msg : d.messages) {
        if (m >= cursor_) {
            if (msg.size() > cfg_.max_message_size) {
                ++stats_.protocol_errors;
                emit_loss(m, 1, LossReason::kRejected, false, out);
            } else {
                deliver(m, msg, out);
            }
            cursor_ = m + 1;
        }
        ++m;
    }
}

void Receiver::process_fragment(const wire::Data& d, Output& out) {
    const std::uint64_t m = d.mseq;
    const bool last = std::uint64_t{d.offset} + d.chunk.size() == d.total_len;
    if (d.offset == 0) {
        if (partial_) {
            if (skipping_) {
                partial_ = skipping_ = false;
                ++cursor_;
            } else {
                reject_through(cursor_, out);
            }
        }
        if (m < cursor_) return;  // already handled
        if (m > cursor_) reject_through(m - 1, out);
        if (d.total_len > cfg_.max_message_size) {
            ++stats_.protocol_errors;
            emit_loss(m, 1, LossReason::kRejected, false, out);
            partial_ = skipping_ = !last;
            cursor_ = last ? m + 1 : m;
            return;
        }
        assembly_.clear();
        assembly_.reserve(d.total_len);
        assembly_total_ = d.total_len;
        partial_ = true;
        skipping_ = false;
    } else {
        if (!partial_ || m != cursor_) {
            if (m >= cursor_) {
                reject_through(m, out);
                partial_ = skipping_ = !last;
                cursor_ = last ? m + 1 : m;
            }
            return;
        }
        if (skipping_) {
            if (last) {
                partial_ = skipping_ = false;
                ++cursor_;
            }
            return;
        }
        if (d.offset != assembly_.size() || d.total_len != assembly_total_) {
            reject_through(m, out);
            partial_ = skipping_ = !last;
            cursor_ = last ? m + 1 : m;
            return;
        }
    }
    assembly_.insert(assembly_.end(), d.chunk.begin(), d.chunk.end());
    if (last) {
        deliver(m, assembly_, out);
        assembly_.clear();
        partial_ = false;
        cursor_ = m + 1;
    }
}

}  // namespace blip::proto
