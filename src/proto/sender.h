// The sending half of one stream: queues messages, packs them into DATA datagrams
// (batching small ones, fragmenting large ones), keeps the retransmit window, answers
// NAKs with rate-limited repairs or UNAVAILABLE, and sends heartbeats while idle.
// Sans-I/O: time comes in as an argument and datagrams leave through Output.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "proto/config.h"
#include "proto/message_queue.h"
#include "proto/output.h"
#include "proto/send_window.h"
#include "proto/status.h"
#include "proto/time.h"
#include "proto/token_bucket.h"
#include "wire/bytes.h"
#include "wire/packet.h"

namespace blip::proto {

struct SenderStats {
    std::uint64_t messages_sent = 0;   ///< messages accepted by submit()
    std::uint64_t bytes_sent = 0;      ///< payload bytes accepted by submit()
    std::uint64_t datagrams_sent = 0;  ///< original DATA datagrams
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t naks_received = 0;
    std::uint64_t nak_datagrams_requested = 0;  ///< sum of datagrams named by NAKs
    std::uint64_t repairs_sent = 0;
    std::uint64_t repairs_coalesced = 0;  ///< requests ignored: queued or just repaired
    std::uint64_t unavailable_sent = 0;
    std::uint64_t naks_ignored = 0;       ///< NAKs naming only data never sent
    std::uint64_t statuses_received = 0;  ///< flow-control reports (STATUS) about this stream
    std::uint64_t statuses_ignored = 0;   ///< ... claiming data never sent, or beyond max
    std::uint64_t flow_stalls = 0;        ///< times new data had to wait for a receiver
    std::uint64_t flow_timeouts = 0;      ///< receivers that stopped holding us by silence
    std::uint64_t flow_probes = 0;        ///< newest datagram resent while held back
};

class Sender {
public:
    /// `key` names this stream on the wire; `start` is the session start (for age_ms).
    Sender(const SenderConfig& cfg, const StreamKey& key, Time start);

    /// Queues a copy of `data`; its message sequence number goes to *mseq.
    /// kMessageTooLarge above max_message_size; kWouldBlock when the queue is full.
    Status submit(Time now, std::span<const std::uint8_t> data, std::uint64_t* mseq);
    /// Queues the messages at `extents` of `bytes`, in order, without copying them: on kOk
    /// `bytes` is moved into the queue (see MessageQueue::adopt) and they take the next
    /// message sequence numbers. All or nothing: if any of them would be refused by submit()
    /// (too large, or the queue would overflow), none is queued, `bytes` is left as it was,
    /// and the result is what submit() would say.
    Status submit_adopted(Time now, std::vector<std::uint8_t>& bytes,
                          std::span<const MessageQueue::Extent> extents);
    /// A buffer the queue has emptied, to fill and hand to submit_adopted() again (see
    /// MessageQueue::take_spare).
    [[nodiscard]] std::vector<std::uint8_t> take_spare_buffer() { return queue_.take_spare(); }

    /// Sends what is due: repairs first (rate-limited), then queued data (rate-limited,
    /// batched), then UNAVAILABLE answers and a heartbeat if one is due.
    void flush(Time now, Output& out);

    /// A NAK addressed to this stream.
    void on_nak(Time now, const wire::Nak& nak);
    /// A receiver's flow-control report about this stream.
    void on_status(Time now, const wire::StatusReport& st);

    /// Earliest time flush() has something to do; kNever if nothing.
    [[nodiscard]] Time next_deadline(Time now);

    [[nodiscard]] const SenderStats& stats() const noexcept { return stats_; }
    [[nodiscard]] const StreamKey& key() const noexcept { return key_; }
    [[nodiscard]] std::uint64_t next_mseq() const noexcept { return next_mseq_; }
    [[nodiscard]] std::uint64_t next_dseq() const noexcept { return window_.next(); }
    [[nodiscard]] std::uint64_t trail() const noexcept { return window_.trail(); }
    [[nodiscard]] std::size_t queued_bytes() const noexcept { return queue_.bytes(); }
    [[nodiscard]] std::size_t queued_messages() const noexcept { return queue_.size(); }
    [[nodiscard]] const SendWindow& window() const noexcept { return window_; }
    /// Receivers whose reports hold this stream back (see on_status).
    [[nodiscard]] std::size_t flow_receivers() const noexcept { return flow_.size(); }
    /// The lowest limit reported: new data stops below it (kNoFlowLimit: nobody reports).
    [[nodiscard]] std::uint64_t flow_limit() const noexcept { return flow_limit_; }
    static constexpr std::uint64_t kNoFlowLimit = ~std::uint64_t{0};
    /// Most receivers tracked per stream; reports of more are ignored (counted).
    static constexpr std::size_t kMaxFlowReceivers = 1024;

    /// Burst of the data rate limit (bytes): see sender.cpp.
    [[nodiscard]] static std::uint64_t data_burst(const SenderConfig& cfg) noexcept;

private:
    /// The queue's limits (submit()'s test): room for `messages` more of `bytes` in all.
    [[nodiscard]] bool queue_has_room(std::size_t messages, std::size_t bytes) const noexcept;
    struct FlowReceiver {
        std::uint64_t node = 0;
        std::uint64_t session = 0;
        std::uint64_t limit = 0;
        Time last_heard{};
    };

    bool send_one_data(Time now, Output& out);
    /// Gives `d` a buffer for a DATA datagram whose body is `body_size` bytes; returns a
    /// writer positioned at the body.
    wire::ByteWriter start_body(StoredDatagram& d, std::size_t body_size);
    /// True (and notes when the wait began) if flow control holds new data back now.
    bool flow_blocked(Time now);
    /// Drops receivers that held us back and stayed silent for flow_timeout.
    void expire_flow_receivers(Time now);
    void recompute_flow_limit();
    /// The dseq new data stops at now: the initial credit, the lowest limit reported, or none.
    [[nodiscard]] std::uint64_t applicable_flow_limit() const noexcept;
    /// True while the initial credit applies: configured, no report yet, not waited out.
    [[nodiscard]] bool initial_phase() const noexcept {
        return cfg_.initial_credit > 0 && !heard_report_ && !initial_over_;
    }
    /// While held back: resends the newest datagram so that a receiver whose report was
    /// lost (or which lost the data it would report on) reports again.
    void send_flow_probe(Time now, Output& out);
    /// When the earliest receiver holding us back times out.
    [[nodiscard]] Time flow_expiry() const;
    /// When `r` stops holding us back by its silence; kNever if it does not hold us back.
    [[nodiscard]] Time holds_until(const FlowReceiver& r) const noexcept;
    void send_repairs(Time now, Output& out);
    void send_unavailable(Time now, Output& out);
    void send_heartbeat(Time now, Output& out);
    void note_gone(std::uint64_t first, std::uint64_t end);
    /// Sends a stored datagram again, flagged as a repair and with the current trail.
    void transmit_repair(Output& out, const StoredDatagram& d, std::uint64_t dseq);
    [[nodiscard]] wire::Header data_header(bool fragment, bool repair) const noexcept;
    [[nodiscard]] std::uint32_t age_ms(Time now) const noexcept { return to_ms_u32(now - start_); }
    [[nodiscard]] std::size_t batch_entry_limit() const noexcept;

    SenderConfig cfg_;
    StreamKey key_;
    Time start_;
    SendWindow window_;
    TokenBucket data_rate_;
    TokenBucket repair_rate_;
    MessageQueue queue_;
    std::uint64_t next_mseq_ = 0;
    std::vector<FlowReceiver> flow_;  // few, scanned linearly; changes only on reports
    std::uint64_t flow_limit_ = kNoFlowLimit;
    bool flow_waiting_ = false;  // new data is held back since flow_wait_start_
    bool heard_report_ = false;  // a report was accepted: the initial credit no longer applies
    bool initial_over_ = false;  // initial_wait passed without a report
    Time flow_wait_start_{};
    Duration report_gap_{};  // usual time between two reports of one receiver (see on_status)
    std::deque<std::uint64_t> repair_queue_;  // dseqs; each at most once (repair_queued)
    std::vector<wire::SeqRange> gone_;        // pending UNAVAILABLE ranges, merged
    Time next_heartbeat_;
    Duration heartbeat_interval_;
    std::vector<std::uint8_t> scratch_;
    SenderStats stats_;
};

}  // namespace blip::proto
