// Encoder and total decoder for Blip protocol v1 packets.
// Pure functions over byte spans; depends on nothing but the standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "wire/packet.h"

namespace blip::wire {

/// Why a byte string is not a valid packet. Every input maps to exactly one of these or
/// to a decoded packet; decoding never reads out of bounds, allocates or asserts.
enum class DecodeError : std::uint8_t {
    kOk = 0,
    kTruncated,   ///< shorter than its fixed parts or than a length it declares
    kBadMagic,    ///< not Blip traffic (foreign packet on the port)
    kBadVersion,  ///< Blip, but a protocol version this build does not speak
    kBadType,     ///< unknown packet type
    kBadFlags,    ///< flag bits that are not defined for the type
    kBadLength,   ///< a length field disagrees with the datagram (lying or trailing)
    kBadField,    ///< a field out of range (zero count, range overflow, ...)
    kTooLarge,    ///< larger than any UDP datagram
};

[[nodiscard]] std::string_view to_string(DecodeError e) noexcept;

/// Decodes one datagram. On success fills `out` (views into `datagram`) and returns kOk.
[[nodiscard]] DecodeError decode(std::span<const std::uint8_t> datagram, Packet& out) noexcept;

/// Writes the 28-byte common header. Returns false if `out` is too small.
bool encode_header(std::span<std::uint8_t> out, const Header& h) noexcept;

/// Writes the 52-byte DATA prefix (header + fixed DATA fields); the caller appends the
/// batch or fragment body. `h.flags` carries kFlagRepair / kFlagFragment.
bool encode_data_prefix(std::span<std::uint8_t> out, const Header& h, std::uint64_t dseq,
                        std::uint64_t mseq, std::uint32_t trail_back,
                        std::uint32_t age_ms) noexcept;

/// Encodes a HEARTBEAT; returns the number of bytes written, 0 if `out` is too small.
std::size_t encode_heartbeat(std::span<std::uint8_t> out, const Header& h,
                             const Heartbeat& hb) noexcept;

/// Encodes a STATUS (h.type must be kStatus); returns bytes written, 0 if `out` is too small.
std::size_t encode_status(std::span<std::uint8_t> out, const Header& h,
                          const StatusReport& st) noexcept;

/// How many ranges fit in a NAK or UNAVAILABLE of at most `datagram_size` bytes.
[[nodiscard]] std::size_t max_nak_ranges(std::size_t datagram_size) noexcept;
[[nodiscard]] std::size_t max_unavailable_ranges(std::size_t datagram_size) noexcept;

/// Encodes a NAK naming `ranges` (each count in 1..2^32-1, first + count no overflow).
/// Returns bytes written, 0 if the ranges do not fit or one is invalid.
std::size_t encode_nak(std::span<std::uint8_t> out, const Header& h,
                       std::span<const SeqRange> ranges) noexcept;

/// Encodes an UNAVAILABLE answer; same contract as encode_nak.
std::size_t encode_unavailable(std::span<std::uint8_t> out, const Header& h, std::uint64_t trail,
                               std::span<const SeqRange> ranges) noexcept;

/// Most datagrams one wire range can name (its count field is 32 bits).
inline constexpr std::uint64_t kMaxWireRangeCount = 0xFFFFFFFFu;

/// How many wire ranges it takes to name `r`.
[[nodiscard]] constexpr std::uint64_t wire_range_count(const SeqRange& r) noexcept {
    return (r.count + kMaxWireRangeCount - 1) / kMaxWireRangeCount;
}

/// Appends `r` to `out` cut into pieces of at most kMaxWireRangeCount datagrams, the form
/// encode_nak and encode_unavailable accept.
void append_wire_ranges(const SeqRange& r, std::vector<SeqRange>& out);

/// Saturating conversion for the 32-bit fields (trail_back, age_ms).
[[nodiscard]] constexpr std::uint32_t saturate_u32(std::uint64_t v) noexcept {
    return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(v);
}

}  // namespace blip::wire
