// The sending half of one stream (see sender.h).
#include "proto/sender.h"

#include <algorithm>
#include <cstring>
#include <span>

#include "proto/stream_header.h"
#include "wire/bytes.h"
#include "wire/codec.h"

namespace blip::proto {
namespace {

// Bounds the work one NAK can cause: a hostile or confused receiver naming the whole window
// over and over must not cost more than this per packet. Anything not examined stays
// missing at the receiver and is asked for again.
constexpr std::size_t kMaxDatagramsPerNak = 4096;
// UNAVAILABLE ranges waiting to be sent; beyond this, the oldest requests are dropped
// (the receivers will ask again).
constexpr std::size_t kMaxGoneRanges = 1024;
// When the table of reporting receivers is full, those not heard for this long make room,
// so that it cannot stay full of departed ones.
constexpr Duration kFlowForget = 60s;
// The first probe of a wait never comes later than this after the wait began.
constexpr Duration kMaxFirstProbeWait = 50ms;

}  // namespace

// The data bucket's depth: 16 datagrams, or what the rate earns in kRateBurstTime if more. A
// real driver wakes up late (libuv timers have 1 ms resolution, loops are busy), and a bucket
// shallower than the rate times that lateness caps the rate below what was configured.
std::uint64_t Sender::data_burst(const SenderConfig& cfg) noexcept {
    constexpr std::uint64_t kRateBurstTimeUs = 5000;  // 5 ms
    const std::uint64_t datagrams = std::uint64_t{cfg.datagram_size} * 16;
    return std::max(datagrams, cfg.rate_limit / 1'000'000 * kRateBurstTimeUs);
}

Sender::Sender(const SenderConfig& cfg, const StreamKey& key, Time start)
    : cfg_(cfg),
      key_(key),
      start_(start),
      window_(cfg.window_max_bytes, cfg.window_max_messages),
      data_rate_(cfg.rate_limit, data_burst(cfg), start),
      repair_rate_(cfg.repair_rate, cfg.repair_burst, start),
      next_heartbeat_(start),  // announce the session at once
      heartbeat_interval_(cfg.heartbeat_min) {
    scratch_.resize(cfg_.datagram_size);
}

bool Sender::queue_has_room(std::size_t messages, std::size_t bytes) const noexcept {
    return queue_.size() + messages <= cfg_.queue_max_messages &&
           queue_.bytes() + bytes <= cfg_.queue_max_bytes;
}

Status Sender::submit(Time /*now*/, std::span<const std::uint8_t> data, std::uint64_t* mseq) {
    if (data.size() > cfg_.max_message_size) return Status::kMessageTooLarge;
    if (!queue_has_room(1, data.size())) return Status::kWouldBlock;
    queue_.push(data);
    if (mseq != nullptr) *mseq = next_mseq_;
    ++next_mseq_;
    ++stats_.messages_sent;
    stats_.bytes_sent += data.size();
    return Status::kOk;
}

Status Sender::submit_adopted(Time /*now*/, std::vector<std::uint8_t>& bytes,
                              std::span<const MessageQueue::Extent> extents) {
    std::size_t total = 0;
    for (const MessageQueue::Extent& x : extents) {
        if (x.length > cfg_.max_message_size) return Status::kMessageTooLarge;
        total += x.length;
    }
    if (!queue_has_room(extents.size(), total)) return Status::kWouldBlock;
    queue_.adopt(std::move(bytes), extents);
    next_mseq_ += extents.size();
    stats_.messages_sent += extents.size();
    stats_.bytes_sent += total;
    return Status::kOk;
}

std::size_t Sender::batch_entry_limit() const noexcept {
    // A message travels whole in a batch if it fits with the count and its length field.
    return cfg_.datagram_size - wire::kDataPrefixSize - wire::kBatchCountSize -
           wire::kBatchEntryHeaderSize;
}

void Sender::flush(Time now, Output& out) {
    send_repairs(now, out);
    if (flow_waiting_) expire_flow_receivers(now);
    bool sent_data = false;
    while (!queue_.empty() && send_one_data(now, out)) sent_data = true;
    // (A wait that began in this flush has set the probe schedule already.)
    if (sent_data && !flow_waiting_) {
        heartbeat_interval_ = cfg_.heartbeat_min;
        next_heartbeat_ = now + cfg_.heartbeat_min;
    }
    if (flow_waiting_ && !initial_phase() && !queue_.empty() && now >= next_heartbeat_) {
        send_flow_probe(now, out);
    }
    send_unavailable(now, out);
    // Heartbeats only while idle: while data flows, data itself shows liveness and the
    // newest sequence, and a heartbeat then always falls on a message boundary.
    if (queue_.empty() && now >= next_heartbeat_) send_heartbeat(now, out);
}

std::uint64_t Sender::applicable_flow_limit() const noexcept {
    if (!cfg_.flow_control) return kNoFlowLimit;
    return initial_phase() ? cfg_.initial_credit : flow_limit_;
}

bool Sender::flow_blocked(Time now) {
    if (window_.next() < applicable_flow_limit()) {
        flow_waiting_ = false;
        return false;
    }
    if (initial_phase() && flow_waiting_ && now >= flow_wait_start_ + cfg_.initial_wait) {
        // Nobody reported within the wait: no receiver to protect (or none that reports).
        initial_over_ = true;
        flow_waiting_ = false;
        return false;  // no report was heard, so no limit applies
    }
    if (!flow_waiting_) {
        flow_waiting_ = true;
        flow_wait_start_ = now;
        ++stats_.flow_stalls;
        // The first probe waits for twice the usual interval between reports (a slow receiver
        // that reports as it reads needs no probe), at least heartbeat_min, even after a long
        // idle spell; then the interval doubles.
        heartbeat_interval_ =
            std::max(cfg_.heartbeat_min, std::min<Duration>(2 * report_gap_, kMaxFirstProbeWait));
        next_heartbeat_ = now + heartbeat_interval_;
    }
    return true;
}

wire::ByteWriter Sender::start_body(StoredDatagram& d, std::size_t body_size) {
    // In a buffer the window gave back, sized for the prefix (encoded last) and the body.
    d.datagram = window_.take_buffer();
    d.datagram.resize(wire::kDataPrefixSize + body_size);
    return wire::ByteWriter(std::span(d.datagram).subspan(wire::kDataPrefixSize));
}

bool Sender::send_one_data(Time now, Output& out) {
    if (flow_blocked(now)) return false;
    const std::size_t capacity = cfg_.datagram_size - wire::kDataPrefixSize;
    const std::span<const std::uint8_t> front = queue_.front();
    const std::size_t sent = queue_.front_sent();
    StoredDatagram d;
    d.mseq = next_mseq_ - queue_.size();  // mseq of the front message
    d.age_ms = age_ms(now);
    std::size_t consumed = 0;  // whole messages taken from the queue
    if (sent > 0 || front.size() > batch_entry_limit()) {
        const std::size_t remaining = front.size() - sent;
        const std::size_t chunk = std::min(remaining, capacity - wire::kFragmentHeaderSize);
        if (!data_rate_.try_take(now, wire::kDataPrefixSize + wire::kFragmentHeaderSize + chunk)) {
            return false;
        }
        d.fragment = true;
        d.messages_started = sent == 0 ? 1 : 0;
        wire::ByteWriter w = start_body(d, wire::kFragmentHeaderSize + chunk);
        w.u32(static_cast<std::uint32_t>(front.size()));
        w.u32(static_cast<std::uint32_t>(sent));
        w.bytes(front.subspan(sent, chunk));
        queue_.set_front_sent(sent + chunk);
        if (sent + chunk == front.size()) consumed = 1;
    } else {
        std::size_t bytes = wire::kBatchCountSize;
        std::size_t n = 0;
        // (A message partly sent as fragments is never batched; only the front can be one.)
        for (std::size_t i = 0; i < queue_.size(); ++i) {
            const std::size_t size = queue_.at(i).size();
            if (size > batch_entry_limit() || n == 0xFFFF) break;
            if (bytes + wire::kBatchEntryHeaderSize + size > capacity) break;
            bytes += wire::kBatchEntryHeaderSize + size;
            ++n;
        }
        if (!data_rate_.try_take(now, wire::kDataPrefixSize + bytes)) return false;
        d.messages_started = static_cast<std::uint32_t>(n);
        wire::ByteWriter w = start_body(d, bytes);
        w.u16(static_cast<std::uint16_t>(n));
        for (std::size_t i = 0; i < n; ++i) {
            const auto m = queue_.at(i);
            w.u16(static_cast<std::uint16_t>(m.size()));
            w.bytes(m);
        }
        consumed = n;
    }
    for (std::size_t i = 0; i < consumed; ++i) queue_.pop_front();
    // Encoded once, in the buffer the window keeps: the original goes out from there.
    const std::uint64_t dseq = window_.next();
    wire::encode_data_prefix(d.datagram, data_header(d.fragment, false), dseq, d.mseq,
                             wire::saturate_u32(dseq - window_.trail()), d.age_ms);
    out.send_datagram(d.datagram);
    ++stats_.datagrams_sent;
    window_.push(std::move(d));
    return true;
}

wire::Header Sender::data_header(bool fragment, bool repair) const noexcept {
    return stream_header(key_, wire::PacketType::kData,
                         static_cast<std::uint8_t>((fragment ? wire::kFlagFragment : 0) |
                                                   (repair ? wire::kFlagRepair : 0)));
}

void Sender::transmit_repair(Output& out, const StoredDatagram& d, std::uint64_t dseq) {
    // The stored copy keeps its first prefix; a repair carries the repair flag and today's trail.
    const std::size_t size = d.datagram.size();
    if (scratch_.size() < size) scratch_.resize(size);
    std::memcpy(scratch_.data(), d.datagram.data(), size);
    wire::encode_data_prefix(scratch_, data_header(d.fragment, true), dseq, d.mseq,
                             wire::saturate_u32(dseq - window_.trail()), d.age_ms);
    out.send_datagram(std::span(scratch_).first(size));
}

void Sender::send_repairs(Time now, Output& out) {
    while (!repair_queue_.empty()) {
        const std::uint64_t dseq = repair_queue_.front();
        StoredDatagram* d = window_.find(dseq);
        if (d == nullptr) {  // left the window while queued
            note_gone(dseq, dseq + 1);
            repair_queue_.pop_front();
            continue;
        }
        if (!repair_rate_.try_take(now, d->datagram.size())) return;
        transmit_repair(out, *d, dseq);
        d->last_repair = now;
        d->repaired = true;
        d->repair_queued = false;
        repair_queue_.pop_front();
        ++stats_.repairs_sent;
    }
}

void Sender::on_nak(Time now, const wire::Nak& nak) {
    ++stats_.naks_received;
    std::size_t budget = kMaxDatagramsPerNak;
    bool useful = false;
    for (std::size_t i = 0; i < nak.ranges.size(); ++i) {
        const wire::SeqRange r = nak.ranges[i];
        stats_.nak_datagrams_requested += r.count;
        const std::uint64_t end = std::min(r.end(), window_.next());  // never sent: ignore
        if (r.first >= end) continue;
        useful = true;
        if (r.first < window_.trail()) note_gone(r.first, std::min(end, window_.trail()));
        for (std::uint64_t s = std::max(r.first, window_.trail()); s < end && budget > 0;
             ++s, --budget) {
            StoredDatagram* d = window_.find(s);
            if (d->repair_queued || (d->repaired && now - d->last_repair < cfg_.repair_holdoff)) {
                ++stats_.repairs_coalesced;
                continue;
            }
            d->repair_queued = true;
            repair_queue_.push_back(s);
        }
    }
    if (!useful) ++stats_.naks_ignored;
}

void Sender::on_status(Time now, const wire::StatusReport& st) {
    ++stats_.statuses_received;
    // A receiver cannot have handled what was never sent: a confused or hostile report.
    if (st.position > window_.next()) {
        ++stats_.statuses_ignored;
        return;
    }
    auto it = std::find_if(flow_.begin(), flow_.end(), [&](const FlowReceiver& r) {
        return r.node == st.receiver_node && r.session == st.receiver_session;
    });
    if (it == flow_.end()) {
        if (flow_.size() >= kMaxFlowReceivers) {
            // Make room by forgetting receivers long silent (gone, most likely; a live one
            // reports again as soon as its limit moves).
            std::erase_if(flow_,
                          [&](const FlowReceiver& r) { return now - r.last_heard >= kFlowForget; });
        }
        if (flow_.size() >= kMaxFlowReceivers) {
            ++stats_.statuses_ignored;
            return;
        }
        flow_.push_back(FlowReceiver{st.receiver_node, st.receiver_session, st.limit, now});
        heard_report_ = true;
    } else {
        // A receiver's limit never goes down; a lower one is an older report overtaken.
        it->limit = std::max(it->limit, st.limit);
        // How often receivers report while data flows (a moving average of 1/8 weight; longer
        // gaps are idle spells, not pacing).
        const Duration gap = now - it->last_heard;
        if (gap < kMaxFirstProbeWait) report_gap_ += (gap - report_gap_) / 8;
        it->last_heard = now;
    }
    recompute_flow_limit();
}

void Sender::send_flow_probe(Time now, Output& out) {
    // On the heartbeat schedule, which no heartbeat uses while data waits (see flow_blocked()
    // for the first one), doubling: a receiver that is gone costs little before it times out.
    const std::uint64_t newest = window_.next() - 1;  // held: blocked implies one was sent
    // Normally held; a window of one message can have evicted it (then only the timeout helps).
    if (const StoredDatagram* d = window_.find(newest)) {
        const std::size_t size = d->datagram.size();
        if (!repair_rate_.try_take(now, size)) {
            next_heartbeat_ = repair_rate_.ready_at(now, size);
            return;
        }
        transmit_repair(out, *d, newest);
        ++stats_.flow_probes;
    }
    heartbeat_interval_ = std::min(heartbeat_interval_ * 2, cfg_.heartbeat_max);
    next_heartbeat_ = now + heartbeat_interval_;
}

void Sender::recompute_flow_limit() {
    flow_limit_ = kNoFlowLimit;
    for (const FlowReceiver& r : flow_) flow_limit_ = std::min(flow_limit_, r.limit);
}

Time Sender::holds_until(const FlowReceiver& r) const noexcept {
    if (r.limit > window_.next()) return kNever;  // not holding us back
    // Silence counts from the later of its last report and the start of the wait: a receiver
    // has nothing to report while nothing is sent, so idle silence proves nothing.
    return std::max(r.last_heard, flow_wait_start_) + cfg_.flow_timeout;
}

Time Sender::flow_expiry() const {
    Time t = kNever;
    for (const FlowReceiver& r : flow_) t = std::min(t, holds_until(r));
    return t;
}

void Sender::expire_flow_receivers(Time now) {
    const std::size_t before = flow_.size();
    std::erase_if(flow_, [&](const FlowReceiver& r) { return now >= holds_until(r); });
    if (flow_.size() == before) return;
    stats_.flow_timeouts += before - flow_.size();
    recompute_flow_limit();
}

void Sender::note_gone(std::uint64_t first, std::uint64_t end) {
    if (first >= end) return;
    for (wire::SeqRange& g : gone_) {  // extend an overlapping or touching range
        if (first <= g.end() && end >= g.first) {
            std::uint64_t lo = std::min(first, g.first);
            std::uint64_t hi = std::max(end, g.end());
            g = {lo, hi - lo};
            return;
        }
    }
    if (gone_.size() >= kMaxGoneRanges) gone_.erase(gone_.begin());
    gone_.push_back({first, end - first});
}

void Sender::send_unavailable(Time now, Output& out) {
    if (gone_.empty()) return;
    std::sort(gone_.begin(), gone_.end(),
              [](const wire::SeqRange& a, const wire::SeqRange& b) { return a.first < b.first; });
    const std::size_t per_packet = wire::max_unavailable_ranges(cfg_.datagram_size);
    const wire::Header h = stream_header(key_, wire::PacketType::kUnavailable);
    // Split ranges longer than the 32-bit wire count.
    std::vector<wire::SeqRange> ranges;
    for (const wire::SeqRange& g : gone_) wire::append_wire_ranges(g, ranges);
    std::size_t done = 0;
    while (done < ranges.size()) {
        const std::size_t n = std::min(per_packet, ranges.size() - done);
        const std::size_t size =
            wire::kHeaderSize + wire::kUnavailableFixedSize + n * wire::kRangeSize;
        if (!repair_rate_.try_take(now, size)) break;
        std::size_t len = wire::encode_unavailable(scratch_, h, window_.trail(),
                                                   std::span(ranges).subspan(done, n));
        if (len > 0) {
            out.send_datagram(std::span(scratch_).first(len));
            ++stats_.unavailable_sent;
        }
        done += n;
    }
    // Keep what the rate limit held back (as merged ranges).
    gone_.assign(ranges.begin() + static_cast<std::ptrdiff_t>(done), ranges.end());
}

void Sender::send_heartbeat(Time now, Output& out) {
    const wire::Header h = stream_header(key_, wire::PacketType::kHeartbeat);
    wire::Heartbeat hb;
    hb.trail = window_.trail();
    hb.next_dseq = window_.next();
    hb.next_mseq = next_mseq_;  // queue is empty: the next datagram starts this message
    hb.age_ms = age_ms(now);
    std::size_t len = wire::encode_heartbeat(scratch_, h, hb);
    if (len > 0) out.send_datagram(std::span(scratch_).first(len));
    ++stats_.heartbeats_sent;
    heartbeat_interval_ = std::min(heartbeat_interval_ * 2, cfg_.heartbeat_max);
    next_heartbeat_ = now + heartbeat_interval_;
}

Time Sender::next_deadline(Time now) {
    Time t = kNever;
    if (!repair_queue_.empty()) {
        const StoredDatagram* d = window_.find(repair_queue_.front());
        std::size_t size = d ? d->datagram.size() : 0;
        t = std::min(t, repair_rate_.ready_at(now, size));
    }
    if (!gone_.empty()) {
        // The first UNAVAILABLE packet as send_unavailable will build it: asking for less
        // would report a deadline at which flush() can still send nothing.
        std::size_t ranges = 0;
        for (const wire::SeqRange& g : gone_) ranges += wire::wire_range_count(g);
        ranges = std::min(ranges, wire::max_unavailable_ranges(cfg_.datagram_size));
        t = std::min(t, repair_rate_.ready_at(now, wire::kHeaderSize + wire::kUnavailableFixedSize +
                                                       ranges * wire::kRangeSize));
    }
    if (!queue_.empty()) {
        if (window_.next() >= applicable_flow_limit()) {
            // Waiting for a report (after one, this deadline is now), and meanwhile for the end
            // of the initial wait, or for a probe or a timeout.
            const Time waited = initial_phase() ? flow_wait_start_ + cfg_.initial_wait
                                                : std::min(flow_expiry(), next_heartbeat_);
            t = std::min(t, flow_waiting_ ? waited : now);
        } else {
            t = std::min(t, data_rate_.ready_at(now, cfg_.datagram_size));
        }
    } else {
        t = std::min(t, next_heartbeat_);
    }
    return t;
}

}  // namespace blip::proto
