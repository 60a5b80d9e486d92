// Decoded views of Blip wire packets (protocol v1) and the constants of the layout.
// Views point into the datagram they were decoded from; they own nothing.
// The byte-exact layout is documented in docs/protocol.md; keep the two in step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>

namespace blip::wire {

/// "BLIP" in ASCII: lets a receiver reject foreign traffic on the same port and lets a
/// dissector recognise the protocol.
inline constexpr std::uint32_t kMagic = 0x424C4950;
inline constexpr std::uint8_t kVersion = 1;

/// Sizes in bytes of the fixed parts (see docs/protocol.md).
inline constexpr std::size_t kHeaderSize = 28;
inline constexpr std::size_t kDataFixedSize = 24;  // dseq, mseq, trail_back, age_ms
inline constexpr std::size_t kDataPrefixSize = kHeaderSize + kDataFixedSize;  // 52
inline constexpr std::size_t kBatchCountSize = 2;
inline constexpr std::size_t kBatchEntryHeaderSize = 2;
inline constexpr std::size_t kFragmentHeaderSize = 8;  // total_len, offset
inline constexpr std::size_t kHeartbeatBodySize = 28;
inline constexpr std::size_t kRangeSize = 12;  // first u64, count u32
inline constexpr std::size_t kNakFixedSize = 4;
inline constexpr std::size_t kUnavailableFixedSize = 12;
inline constexpr std::size_t kStatusBodySize = 32;  // receiver node, session, position, limit
/// Largest UDP payload over IPv4; no Blip datagram is ever larger.
inline constexpr std::size_t kMaxDatagramSize = 65507;
/// Smallest datagram size a channel may be configured with: room for the DATA prefix,
/// a fragment header and a useful payload.
inline constexpr std::size_t kMinDatagramSize = 128;

enum class PacketType : std::uint8_t {
    kData = 1,
    kHeartbeat = 2,
    kNak = 3,
    kUnavailable = 4,
    kStatus = 5,
};

/// DATA flags.
inline constexpr std::uint8_t kFlagRepair = 0x01;
inline constexpr std::uint8_t kFlagFragment = 0x02;
inline constexpr std::uint8_t kDataFlagsMask = kFlagRepair | kFlagFragment;

/// Common header of every packet.
struct Header {
    PacketType type = PacketType::kData;
    std::uint8_t flags = 0;
    /// The sender the packet is from (DATA, HEARTBEAT, UNAVAILABLE) or about (NAK).
    std::uint64_t node = 0;
    std::uint64_t session = 0;
    std::uint32_t stream = 0;
};

/// A half-open range [first, first + count) of datagram sequence numbers; count >= 1 on
/// the wire and first + count never overflows.
struct SeqRange {
    std::uint64_t first = 0;
    std::uint64_t count = 0;
    [[nodiscard]] std::uint64_t end() const noexcept { return first + count; }
    friend bool operator==(const SeqRange&, const SeqRange&) = default;
};

/// A validated list of ranges still in wire form; indexing decodes one entry.
class RangeList {
public:
    RangeList() = default;
    RangeList(std::span<const std::uint8_t> raw, std::size_t n) noexcept : raw_(raw), n_(n) {}
    [[nodiscard]] std::size_t size() const noexcept { return n_; }
    [[nodiscard]] bool empty() const noexcept { return n_ == 0; }
    [[nodiscard]] SeqRange operator[](std::size_t i) const noexcept;

private:
    std::span<const std::uint8_t> raw_;
    std::size_t n_ = 0;
};

/// The whole-message entries of a batch DATA, still in wire form. Validated at decode, so
/// iteration cannot overrun.
class BatchView {
public:
    BatchView() = default;
    BatchView(std::span<const std::uint8_t> entries, std::size_t n) noexcept
        : entries_(entries), n_(n) {}
    [[nodiscard]] std::size_t size() const noexcept { return n_; }

    class Iterator {
    public:
        Iterator(std::span<const std::uint8_t> rest, std::size_t left) noexcept
            : rest_(rest), left_(left) {}
        std::span<const std::uint8_t> operator*() const noexcept;
        Iterator& operator++() noexcept;
        bool operator==(const Iterator& o) const noexcept { return left_ == o.left_; }

    private:
        std::span<const std::uint8_t> rest_;
        std::size_t left_;
    };
    [[nodiscard]] Iterator begin() const noexcept { return {entries_, n_}; }
    [[nodiscard]] Iterator end() const noexcept { return {{}, 0}; }

private:
    std::span<const std::uint8_t> entries_;
    std::size_t n_ = 0;
};

struct Data {
    std::uint64_t dseq = 0;        ///< datagram sequence number (what NAKs name)
    std::uint64_t mseq = 0;        ///< message sequence of the first message in this datagram
    std::uint32_t trail_back = 0;  ///< dseq - oldest retained dseq, saturated
    std::uint32_t age_ms = 0;      ///< sender session age at first transmission, saturated
    bool repair = false;
    bool fragment = false;
    // Batch form (fragment == false): one or more whole messages.
    BatchView messages;
    // Fragment form (fragment == true): one piece of message mseq.
    std::uint32_t total_len = 0;
    std::uint32_t offset = 0;
    std::span<const std::uint8_t> chunk;

    /// Oldest dseq the sender still held when it sent this packet.
    [[nodiscard]] std::uint64_t trail() const noexcept { return dseq - trail_back; }
    /// True when the datagram starts inside a message begun by an earlier datagram.
    [[nodiscard]] bool continues_message() const noexcept { return fragment && offset != 0; }
};

struct Heartbeat {
    std::uint64_t trail = 0;      ///< oldest dseq still held (== next_dseq if none)
    std::uint64_t next_dseq = 0;  ///< one past the newest dseq sent
    std::uint64_t next_mseq = 0;  ///< mseq of the message that will start at next_dseq
    std::uint32_t age_ms = 0;     ///< session age, saturated
};

struct Nak {
    RangeList ranges;  ///< missing ranges, 1..N
};

struct Unavailable {
    std::uint64_t trail = 0;  ///< the sender's oldest retained dseq now
    RangeList ranges;         ///< ranges that are gone; each ends at or before trail
};

/// A receiver's flow-control report about one sender stream (the header names the sender,
/// as in a NAK): what it has handled and how far the sender may go without overrunning it.
struct StatusReport {
    std::uint64_t receiver_node = 0;     ///< the reporting receiver (node, session)
    std::uint64_t receiver_session = 0;  ///< ... so that two receivers never merge
    std::uint64_t position = 0;          ///< every dseq below this is delivered or reported lost
    std::uint64_t limit = 0;  ///< send only dseqs below this; position <= limit on the wire
};

struct Packet {
    Header header;
    std::variant<Data, Heartbeat, Nak, Unavailable, StatusReport> body;
};

}  // namespace blip::wire
