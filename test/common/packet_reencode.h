// Test helper shared by the unit tests and the fuzzer: re-encodes a decoded wire::Packet
// with the production encoders and compares it with the datagram it came from, so that
// "decode is canonical" (every accepted datagram has exactly one meaning) can be checked.
// Header-only; depends only on src/wire and the standard library.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "wire/bytes.h"
#include "wire/codec.h"
#include "wire/packet.h"

namespace blip::testutil {

/// Byte offsets a v1 receiver ignores: header byte 7, and the u16 after the range count of
/// NAK (offsets 30-31) and UNAVAILABLE (offsets 38-39). The encoders write them as 0.
/// HEARTBEAT and STATUS have no reserved bytes beyond the header's.
inline constexpr std::size_t kHeaderReservedOffset = 7;
inline constexpr std::size_t kNakReservedOffset = wire::kHeaderSize + 2;              // 30
inline constexpr std::size_t kUnavailableReservedOffset = wire::kHeaderSize + 8 + 2;  // 38

/// Re-encodes `p` into `out` and returns the number of bytes written, or 0 if it cannot
/// be encoded (out too small, or a packet no encoder would produce). DATA flags are
/// rebuilt from Data::repair / Data::fragment, not copied from the header, so a decoder
/// that mis-reports a flag is caught; a header type that disagrees with the body is 0.
inline std::size_t reencode(const wire::Packet& p, std::span<std::uint8_t> out) {
    using wire::PacketType;
    wire::Header h = p.header;
    if (const auto* d = std::get_if<wire::Data>(&p.body)) {
        if (h.type != PacketType::kData) return 0;
        h.flags = static_cast<std::uint8_t>((d->repair ? wire::kFlagRepair : 0) |
                                            (d->fragment ? wire::kFlagFragment : 0));
        if (!wire::encode_data_prefix(out, h, d->dseq, d->mseq, d->trail_back, d->age_ms)) {
            return 0;
        }
        wire::ByteWriter w(out.subspan(wire::kDataPrefixSize));
        if (d->fragment) {
            w.u32(d->total_len);
            w.u32(d->offset);
            w.bytes(d->chunk);
        } else {
            if (d->messages.size() > 0xFFFF) return 0;
            w.u16(static_cast<std::uint16_t>(d->messages.size()));
            std::size_t seen = 0;
            for (std::span<const std::uint8_t> m : d->messages) {
                if (m.size() > 0xFFFF) return 0;
                w.u16(static_cast<std::uint16_t>(m.size()));
                w.bytes(m);
                ++seen;
            }
            if (seen != d->messages.size()) return 0;  // iteration must agree with size()
        }
        return w.ok() ? wire::kDataPrefixSize + w.size() : 0;
    }
    if (const auto* hb = std::get_if<wire::Heartbeat>(&p.body)) {
        if (h.type != PacketType::kHeartbeat) return 0;
        return wire::encode_heartbeat(out, h, *hb);
    }
    if (const auto* nak = std::get_if<wire::Nak>(&p.body)) {
        if (h.type != PacketType::kNak || h.flags != 0) return 0;
        std::vector<wire::SeqRange> ranges;
        for (std::size_t i = 0; i < nak->ranges.size(); ++i) ranges.push_back(nak->ranges[i]);
        return wire::encode_nak(out, h, ranges);
    }
    if (const auto* u = std::get_if<wire::Unavailable>(&p.body)) {
        if (h.type != PacketType::kUnavailable || h.flags != 0) return 0;
        std::vector<wire::SeqRange> ranges;
        for (std::size_t i = 0; i < u->ranges.size(); ++i) ranges.push_back(u->ranges[i]);
        return wire::encode_unavailable(out, h, u->trail, ranges);
    }
    if (const auto* st = std::get_if<wire::StatusReport>(&p.body)) {
        if (h.type != PacketType::kStatus || h.flags != 0) return 0;
        return wire::encode_status(out, h, *st);
    }
    return 0;
}

/// True when `a` and `b` are equal except at the reserved offsets of packet type `t`.
inline bool equal_except_reserved(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b,
                                  wire::PacketType t) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (i == kHeaderReservedOffset) continue;
        if (t == wire::PacketType::kNak &&
            (i == kNakReservedOffset || i == kNakReservedOffset + 1)) {
            continue;
        }
        if (t == wire::PacketType::kUnavailable &&
            (i == kUnavailableReservedOffset || i == kUnavailableReservedOffset + 1)) {
            continue;
        }
        if (a[i] != b[i]) return false;
    }
    return true;
}

/// Re-encodes `p` (decoded from `datagram`) and reports whether that reproduces
/// `datagram` byte for byte, reserved bytes excepted.
inline bool reencodes_to(const wire::Packet& p, std::span<const std::uint8_t> datagram) {
    std::vector<std::uint8_t> buf(wire::kMaxDatagramSize);
    std::size_t n = reencode(p, buf);
    if (n == 0) return false;
    return equal_except_reserved(std::span<const std::uint8_t>(buf).first(n), datagram,
                                 p.header.type);
}

/// Reads every byte every view of `p` points at and every range it names, and returns a
/// checksum, so that a sanitizer sees any view that reaches outside the datagram.
inline std::uint64_t touch_all_views(const wire::Packet& p) {
    std::uint64_t sum = 0;
    auto add_bytes = [&sum](std::span<const std::uint8_t> s) {
        for (std::uint8_t b : s) sum = sum * 31 + b;
    };
    auto add_ranges = [&sum](const wire::RangeList& list) {
        for (std::size_t i = 0; i < list.size(); ++i) {
            wire::SeqRange r = list[i];
            sum = sum * 31 + r.first + r.count + r.end();
        }
    };
    if (const auto* d = std::get_if<wire::Data>(&p.body)) {
        sum += d->trail() + (d->continues_message() ? 1 : 0);
        if (d->fragment) {
            add_bytes(d->chunk);
        } else {
            for (std::span<const std::uint8_t> m : d->messages) add_bytes(m);
        }
    } else if (const auto* nak = std::get_if<wire::Nak>(&p.body)) {
        add_ranges(nak->ranges);
    } else if (const auto* u = std::get_if<wire::Unavailable>(&p.body)) {
        add_ranges(u->ranges);
    }
    return sum;
}

}  // namespace blip::testutil
