// NAK timing for one sender stream (see nak_scheduler.h).
#include "proto/nak_scheduler.h"

#include <algorithm>

namespace blip::proto {

bool NakScheduler::suppression(Time now) const noexcept {
    if (!cfg_.send_status) return true;  // blind to peers that do not report either
    if (last_peer_ != kNever && now - last_peer_ < cfg_.sender_forget) return true;
    // Too early to tell: the other receivers' first reports are still on their way.
    return first_heard_ == kNever || now - first_heard_ < cfg_.repair_timeout;
}

Duration NakScheduler::backoff(Time now) {
    // Alone, the wait is only for reordering: a quarter of the smallest round trip (as TCP's
    // RACK allows; the smoothed one includes queueing), at least nak_delay_min.
    if (!suppression(now)) return std::max(cfg_.nak_delay_min, timer_.min_rtt() / 4);
    double x = rng_.truncated_exponential(cfg_.nak_backoff_lambda);
    return cfg_.nak_delay_min +
           Duration(static_cast<std::int64_t>(x * static_cast<double>(cfg_.nak_backoff.count())));
}

Duration NakScheduler::repair_wait(Gap& g, std::uint32_t naks) {
    // A gap keeps the timeout it started with; the doubling per retry is its own.
    if (g.first_wait == Duration::zero()) g.first_wait = timer_.timeout();
    Duration w = g.first_wait;
    for (std::uint32_t i = 1; i < naks && w < cfg_.nak_retry_max; ++i) w *= 2;
    return std::min(w, cfg_.nak_retry_max);
}

void NakScheduler::set_deadline(GapMap::iterator it, Time t) {
    by_deadline_.erase({it->second.deadline, it->first});
    it->second.deadline = t;
    by_deadline_.insert({t, it->first});
}

void NakScheduler::erase(GapMap::iterator it) {
    by_deadline_.erase({it->second.deadline, it->first});
    missing_ -= it->second.end - it->first;
    gaps_.erase(it);
}

void NakScheduler::insert(std::uint64_t first, const Gap& g) {
    gaps_.emplace(first, g);
    by_deadline_.insert({g.deadline, first});
    missing_ += g.end - first;
}

bool NakScheduler::contains(std::uint64_t seq) const noexcept {
    auto it = gaps_.upper_bound(seq);
    if (it == gaps_.begin()) return false;
    --it;
    return seq < it->second.end;
}

NakScheduler::GapMap::iterator NakScheduler::split_at(std::uint64_t seq) {
    auto it = gaps_.upper_bound(seq);
    if (it != gaps_.begin()) {
        auto prev = std::prev(it);
        if (prev->first < seq && seq < prev->second.end) {
            Gap right = prev->second;
            prev->second.end = seq;
            gaps_.emplace_hint(it, seq, right);
            by_deadline_.insert({right.deadline, seq});
            return gaps_.find(seq);
        }
        if (prev->first == seq) return prev;
    }
    return it;
}

void NakScheduler::add(Time now, std::uint64_t first, std::uint64_t end) {
    if (first >= end) return;
    Gap g;
    g.end = end;
    g.deadline = now + backoff(now);
    insert(first, g);
}

void NakScheduler::remove(std::uint64_t seq) {
    auto it = gaps_.upper_bound(seq);
    if (it == gaps_.begin()) return;
    --it;
    if (seq >= it->second.end) return;
    const std::uint64_t first = it->first;
    Gap g = it->second;
    erase(it);
    if (first < seq) {
        Gap left = g;
        left.end = seq;
        insert(first, left);
    }
    if (seq + 1 < g.end) insert(seq + 1, g);
}

std::vector<wire::SeqRange> NakScheduler::take(std::uint64_t first, std::uint64_t end) {
    std::vector<wire::SeqRange> out;
    if (first >= end) return out;
    split_at(first);
    split_at(end);
    auto it = gaps_.lower_bound(first);
    while (it != gaps_.end() && it->first < end) {
        out.push_back({it->first, it->second.end - it->first});
        auto next = std::next(it);
        erase(it);
        it = next;
    }
    return out;
}

std::vector<wire::SeqRange> NakScheduler::take_below(std::uint64_t end) { return take(0, end); }

void NakScheduler::on_nak_seen(Time now, std::uint64_t first, std::uint64_t end) {
    if (first >= end || gaps_.empty()) return;
    // Cheap reject before splitting: nothing tracked in [first, end).
    auto probe = gaps_.lower_bound(first);
    bool overlaps = probe != gaps_.end() && probe->first < end;
    if (!overlaps && probe != gaps_.begin()) overlaps = std::prev(probe)->second.end > first;
    if (!overlaps) return;
    split_at(first);
    split_at(end);
    for (auto it = gaps_.lower_bound(first); it != gaps_.end() && it->first < end; ++it) {
        Gap& g = it->second;
        if (g.phase != Phase::kBackoff) continue;
        g.phase = Phase::kAwaitRepair;
        ++g.naks;
        g.nak_time = now;
        ++stats_.naks_suppressed;
        set_deadline(it, now + repair_wait(g, g.naks));
    }
}

void NakScheduler::on_repair_seen(Time now, std::uint64_t seq) {
    auto suppress = [&](GapMap::iterator it) {
        Gap& g = it->second;
        if (g.phase != Phase::kBackoff) return;
        g.phase = Phase::kAwaitRepair;
        ++stats_.naks_suppressed;
        set_deadline(it, now + repair_wait(g, std::max<std::uint32_t>(g.naks, 1)));
    };
    auto it = gaps_.upper_bound(seq);  // first gap starting after seq
    if (it != gaps_.end() && it->first == seq + 1) suppress(it);
    if (it != gaps_.begin()) {
        auto prev = std::prev(it);
        const bool inside = prev->first <= seq && seq < prev->second.end;
        if (inside) measure(now, prev->second);
        if (prev->second.end == seq || inside) suppress(prev);
    }
}

void NakScheduler::poll(Time now, std::vector<wire::SeqRange>& nak,
                        std::vector<wire::SeqRange>& gave_up) {
    const std::size_t naks_before = nak.size();
    while (!by_deadline_.empty() && by_deadline_.begin()->first <= now) {
        const std::uint64_t first = by_deadline_.begin()->second;
        auto it = gaps_.find(first);
        Gap& g = it->second;
        if (g.phase == Phase::kBackoff) {
            send_now(now, it, nak);
        } else if (g.naks >= cfg_.nak_max_retries) {
            gave_up.push_back({first, g.end - first});
            erase(it);
        } else {
            if (g.naks == 1) timer_.on_timeout(g.first_wait);  // its first wait was short
            g.phase = Phase::kBackoff;
            ++stats_.retries;
            set_deadline(it, now + backoff(now));
        }
    }
    if (nak.size() == naks_before) return;
    // A NAK packet is going out anyway: take along the gaps whose back-off would end very
    // soon. This costs them little suppression and saves a packet each (which every
    // receiver in the group would otherwise have to process).
    const Time horizon = now + cfg_.nak_backoff / 8;
    std::vector<std::uint64_t> early;
    for (auto d = by_deadline_.begin(); d != by_deadline_.end() && d->first <= horizon; ++d) {
        early.push_back(d->second);
    }
    for (std::uint64_t first : early) {
        auto it = gaps_.find(first);
        if (it != gaps_.end() && it->second.phase == Phase::kBackoff) send_now(now, it, nak);
    }
}

void NakScheduler::measure(Time now, Gap& g) {
    // Karn's rule: after a second NAK the repair may answer either, so only a gap NAKed once
    // gives a sample, and only its first repair (the rest of a long gap follows it in a burst).
    // A repair later than the timeout still counts while the second NAK waits its back-off:
    // that is how the wait grows to a slow round trip.
    if (g.naks != 1 || g.sampled) return;
    g.sampled = true;
    timer_.sample(now - g.nak_time);
    ++stats_.rtt_samples;
}

void NakScheduler::send_now(Time now, GapMap::iterator it, std::vector<wire::SeqRange>& nak) {
    Gap& g = it->second;
    nak.push_back({it->first, g.end - it->first});
    ++g.naks;
    g.nak_time = now;
    g.phase = Phase::kAwaitRepair;
    set_deadline(it, now + repair_wait(g, g.naks));
}

}  // namespace blip::proto
