// The receiving half for one remote sender stream (node, session, stream): puts datagrams
// in order, suppresses duplicates, reassembles fragments, delivers each message exactly
// once, detects gaps and drives NAKs through a NakScheduler, and turns data that can no
// longer arrive into exact loss events (message ranges), after which delivery continues.
// Sans-I/O: time is an argument; deliveries, events and NAKs leave through Output.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <utility>
#include <vector>

#include "proto/block_pool.h"
#include "proto/config.h"
#include "proto/events.h"
#include "proto/nak_scheduler.h"
#include "proto/output.h"
#include "proto/rng.h"
#include "proto/time.h"
#include "wire/packet.h"

namespace blip::proto {

struct ReceiverStats {
    std::uint64_t datagrams = 0;         ///< DATA datagrams received (incl. repairs, duplicates)
    std::uint64_t repairs = 0;           ///< DATA datagrams flagged as repair
    std::uint64_t duplicates = 0;        ///< DATA for a sequence already had, or already lost
    std::uint64_t out_of_order = 0;      ///< buffered because a gap precedes them
    std::uint64_t buffer_evictions = 0;  ///< dropped for the reorder buffer byte limit
    std::uint64_t implausible = 0;       ///< sequence jumps beyond max_sequence_jump
    std::uint64_t naks_sent = 0;         ///< NAK packets sent
    std::uint64_t nak_datagrams = 0;     ///< datagrams named in NAKs sent
    std::uint64_t messages = 0;          ///< messages delivered
    std::uint64_t bytes = 0;             ///< payload bytes delivered
    std::uint64_t loss_events = 0;
    std::uint64_t messages_lost = 0;    ///< sum of counts of closed loss events
    std::uint64_t datagrams_lost = 0;   ///< datagrams declared lost
    std::uint64_t protocol_errors = 0;  ///< inconsistent streams from the sender
    std::uint64_t statuses_sent = 0;    ///< flow-control reports (STATUS) sent
};

/// Who a receiver is, for its flow-control reports: the local endpoint's (node, session).
struct ReporterId {
    std::uint64_t node = 0;
    std::uint64_t session = 0;
};

class Receiver {
public:
    /// Starts tracking at datagram `start`. When `from_session_start` is true the receiver
    /// was listening before the session began, so `start` is 0 and message 0 begins there:
    /// anything missing from the very beginning is reported, not skipped.
    /// `self` names this receiver in its STATUS reports.
    Receiver(const ReceiverConfig& cfg, const StreamKey& key, Rng& rng, std::size_t datagram_size,
             std::uint64_t start, bool from_session_start, ReporterId self = {});
    ~Receiver();
    Receiver(const Receiver&) = delete;  // the reorder buffer's blocks belong to this object
    Receiver& operator=(const Receiver&) = delete;

    /// `datagram` is the raw packet `d` was decoded from (copied if buffered).
    void on_data(Time now, const wire::Data& d, std::span<const std::uint8_t> datagram,
                 Output& out);
    void on_heartbeat(Time now, const wire::Heartbeat& hb, Output& out);
    void on_unavailable(Time now, const wire::Unavailable& u, Output& out);
    /// Another receiver's NAK to this sender stream (suppresses ours).
    void on_nak_seen(Time now, const wire::Nak& nak);
    /// A receiver's flow-control report to this sender stream was seen (ours included: it is
    /// recognised and ignored): this stream has other receivers, so NAKs wait the back-off.
    void on_status_seen(Time now, const wire::StatusReport& st);
    /// Sends due NAKs and STATUS reports and gives up exhausted gaps.
    void poll(Time now, Output& out);
    /// The sender stopped (silent or replaced): everything missing is lost (kSenderGone).
    /// With `final`, a loss still open at the tail is reported open-ended: no more data
    /// will come to bound it.
    void sender_gone(Time now, Output& out, bool final);

    /// When poll() must next run; kNever if nothing is scheduled. Time{} (the past) means at
    /// once: in-order data is waiting to be delivered (see kReleasePerPass).
    [[nodiscard]] Time next_deadline() const noexcept;
    [[nodiscard]] const ReceiverStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const NakSchedulerStats& nak_stats() const noexcept { return nak_.stats(); }
    [[nodiscard]] const RepairTimer& repair_timer() const noexcept { return nak_.repair_timer(); }
    [[nodiscard]] const StreamKey& key() const noexcept { return key_; }
    [[nodiscard]] std::uint64_t next_dseq() const noexcept { return next_; }
    [[nodiscard]] std::uint64_t missing() const noexcept { return nak_.missing(); }
    /// Memory the reorder buffer's datagrams take (whole blocks; see ring_), at most
    /// reorder_buffer_bytes.
    [[nodiscard]] std::size_t buffered_bytes() const noexcept { return buffered_bytes_; }
    /// Memory the reorder buffer's blocks hold, in use or kept for the next gap.
    [[nodiscard]] std::size_t reorder_held_bytes() const noexcept { return blocks_.held_bytes(); }
    /// True while the reorder buffer's pools hold memory (see release_idle_pool()).
    [[nodiscard]] bool reorder_pool_in_use() const noexcept { return pool_used_; }
    /// The limit this receiver reports now: the sender may send dseqs below it. Bounded by
    /// what the socket can hold unread (status_credit beyond the newest datagram read) and
    /// by what the reorder buffer can hold beyond the first one missing.
    [[nodiscard]] std::uint64_t flow_limit() const noexcept;

private:
    struct LostRange {
        std::uint64_t end;
        LossReason reason;
    };

    void learn_high(Time now, std::uint64_t end);
    void declare_lost(std::uint64_t first, std::uint64_t end, LossReason reason);
    void declare_below(std::uint64_t trail, LossReason reason);
    [[nodiscard]] bool is_lost(std::uint64_t seq) const noexcept;
    /// True if `seq` lies further beyond everything known than max_sequence_jump allows.
    [[nodiscard]] bool implausible(std::uint64_t seq) const noexcept {
        return seq > high_ && seq - high_ > cfg_.max_sequence_jump;
    }
    void buffer(Time now, std::uint64_t dseq, std::span<const std::uint8_t> datagram);
    /// Delivers what is in order at next_: lost runs, and at most `budget` buffered
    /// datagrams (the rest stays a backlog that the next call, or poll() at once, continues).
    void advance(Output& out, std::size_t budget = kReleasePerPass);
    void process(const wire::Data& d, Output& out);
    void process_batch(const wire::Data& d, Output& out);
    void process_fragment(const wire::Data& d, Output& out);
    void open_loss(LossReason reason);
    void close_loss(std::uint64_t boundary_mseq, bool continues, Output& out);
    void emit_loss(std::uint64_t first, std::uint64_t count, LossReason reason, bool open_ended,
                   Output& out);
    void reject_through(std::uint64_t last_mseq, Output& out);
    void deliver(std::uint64_t mseq, std::span<const std::uint8_t> data, Output& out);
    void send_naks(std::vector<wire::SeqRange>& ranges, Output& out);
    /// Sends a STATUS if one is due (see status_deadline()).
    void maybe_report(Time now, Output& out);
    /// When a STATUS is due without the limit having moved (first report, probe, keepalive).
    [[nodiscard]] Time status_deadline() const noexcept;

    const ReceiverConfig& cfg_;
    StreamKey key_;
    std::size_t datagram_size_;
    NakScheduler nak_;

    // Datagram positions: everything below next_ is handled; [next_, high_) is buffered,
    // missing (in nak_) or lost (in lost_); nothing at or above high_ is known.
    std::uint64_t next_;
    std::uint64_t high_;
    // Out-of-order datagrams. At high loss nearly every datagram passes through here, so
    // their memory is kept between gaps (heap memory freed after each repaired gap went back
    // to the kernel only to be faulted in again for the next), and counted honestly: each
    // datagram up to datagram_size takes one block of blocks_ (memcpy into it), and the byte
    // limit counts blocks, so the blocks held never exceed reorder_buffer_bytes. A larger
    // datagram (a sender configured for bigger ones) gets its own heap bytes, counted at their
    // size. They are indexed by position in ring_: datagram dseq, for dseq in
    // [next_, next_ + ring_.size()), is in slot dseq % ring_.size() (a power of two at least
    // reorder_credit_, the window flow control promises). A slot is 16 bytes; a map's node,
    // its allocation and its rebalancing cost ~8 % of a lossy receiver's thread. The ring and
    // the blocks are freed once the buffer has stayed empty for kPoolIdle, so a loss episode
    // does not pin its memory for the life of the stream, while steady loss (gaps that keep
    // opening) keeps it.
    struct Buffered {
        std::uint8_t* data = nullptr;  // null: the slot is empty
        std::size_t size = 0;
        [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept { return {data, size}; }
    };
    BlockPool blocks_;
    std::vector<Buffered> ring_;  // empty until something is buffered
    std::size_t ring_slots_;      // ring_.size() once allocated
    std::size_t buffered_count_ = 0;
    std::uint64_t buffered_max_ = 0;  // the highest dseq buffered, while buffered_count_ > 0
    [[nodiscard]] Buffered& slot(std::uint64_t dseq) noexcept {
        return ring_[dseq & (ring_slots_ - 1)];
    }
    [[nodiscard]] const Buffered& slot(std::uint64_t dseq) const noexcept {
        return ring_[dseq & (ring_slots_ - 1)];
    }
    /// True if datagram `dseq` is in the reorder buffer.
    [[nodiscard]] bool buffered(std::uint64_t dseq) const noexcept {
        return buffered_count_ != 0 && dseq >= next_ && dseq - next_ < ring_slots_ &&
               slot(dseq).data != nullptr;
    }
    /// Takes datagram `dseq` (buffered) out of its slot and frees its bytes' accounting.
    Buffered unslot(std::uint64_t dseq) noexcept;
    /// Bytes a buffered datagram of `size` holds: a whole block, or its own size above that.
    [[nodiscard]] std::size_t charge(std::size_t size) const noexcept {
        return size <= blocks_.block_size() ? blocks_.block_size() : size;
    }
    void free_buffered(const Buffered& b) noexcept;
    std::size_t buffer_limit_;  // reorder_buffer_bytes, but at least one block
    std::size_t buffered_bytes_ = 0;
    bool pool_used_ = false;  // something was allocated since the pool was last emptied
    Time empty_seen_at_{};    // when poll() or a heartbeat first saw the buffer empty
    bool empty_seen_ = false;
    static constexpr Duration kPoolIdle = std::chrono::seconds(1);
    /// Empties the pools if the buffer has been empty for kPoolIdle (checked from poll() and
    /// heartbeats, off the data path).
    void release_idle_pool(Time now) noexcept;
    // A repair can complete tens of thousands of buffered datagrams at once. Released in one
    // go, their messages pass through the transport's staging in one batch of tens of MB
    // (cold memory, page faults) and hold the loop thread for milliseconds. So at most this
    // many leave per call; backlog_ says more are ready, and next_deadline() is then "now".
    static constexpr std::size_t kReleasePerPass = 128;
    bool backlog_ = false;
    std::map<std::uint64_t, LostRange> lost_;  // keyed by first dseq

    // Message positions: cursor_ is the first message not yet delivered or reported.
    bool cursor_known_;
    std::uint64_t cursor_ = 0;
    bool partial_ = false;   // some fragments of message cursor_ consumed
    bool skipping_ = false;  // ... and the rest are to be discarded (already reported)
    std::vector<std::uint8_t> assembly_;
    std::uint32_t assembly_total_ = 0;

    // An open loss run: datagrams declared lost were passed, and the first message after
    // them is not known yet (the next datagram or a heartbeat's sync point tells).
    bool loss_open_ = false;
    bool loss_first_known_ = false;
    std::uint64_t loss_first_ = 0;
    LossReason loss_reason_ = LossReason::kLeftWindow;

    // Latest heartbeat sync point: datagram sync_dseq_ begins message sync_mseq_.
    bool sync_valid_ = false;
    std::uint64_t sync_dseq_ = 0;
    std::uint64_t sync_mseq_ = 0;

    // Flow-control reports: the limit last reported and when.
    ReporterId self_;
    std::uint64_t reorder_credit_;  // datagrams the reorder buffer holds
    bool reported_ = false;
    bool report_now_ = false;  // a flow probe asked
    std::uint64_t reported_limit_ = 0;
    Time reported_at_{};

    std::vector<wire::SeqRange> nak_ranges_;  // scratch
    std::vector<wire::SeqRange> gave_up_;     // scratch
    std::vector<std::uint8_t> scratch_;
    ReceiverStats stats_;
};

}  // namespace blip::proto
