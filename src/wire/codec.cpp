// Encoder and total decoder for Blip protocol v1 packets (layout: docs/protocol.md).
#include "wire/codec.h"

#include <algorithm>
#include <limits>

#include "wire/bytes.h"

namespace blip::wire {
namespace {

bool valid_range(std::uint64_t first, std::uint64_t count) noexcept {
    return count >= 1 && count <= kMaxWireRangeCount &&
           first <= std::numeric_limits<std::uint64_t>::max() - count;
}

// Reads `n` ranges that must exactly fill the rest of the datagram.
DecodeError read_ranges(ByteReader& r, std::size_t n, RangeList& out) noexcept {
    if (n == 0) return DecodeError::kBadField;
    if (r.remaining() != n * kRangeSize) {
        return r.remaining() < n * kRangeSize ? DecodeError::kTruncated : DecodeError::kBadLength;
    }
    auto raw = r.bytes(n * kRangeSize);
    RangeList list(raw, n);
    for (std::size_t i = 0; i < n; ++i) {
        ByteReader e(raw.subspan(i * kRangeSize, kRangeSize));
        std::uint64_t first = e.u64();
        std::uint64_t count = e.u32();
        if (!valid_range(first, count)) return DecodeError::kBadField;
    }
    out = list;
    return DecodeError::kOk;
}

DecodeError decode_data(ByteReader& r, std::uint8_t flags, Data& d) noexcept {
    if ((flags & ~kDataFlagsMask) != 0) return DecodeError::kBadFlags;
    d.dseq = r.u64();
    d.mseq = r.u64();
    d.trail_back = r.u32();
    d.age_ms = r.u32();
    d.repair = (flags & kFlagRepair) != 0;
    d.fragment = (flags & kFlagFragment) != 0;
    if (!r.ok()) return DecodeError::kTruncated;
    if (d.trail_back > d.dseq) return DecodeError::kBadField;  // trail below sequence 0
    if (d.fragment) {
        d.total_len = r.u32();
        d.offset = r.u32();
        if (!r.ok()) return DecodeError::kTruncated;
        d.chunk = r.rest();
        if (d.chunk.empty()) return DecodeError::kBadLength;
        // A fragment lies inside its message: offset + chunk <= total (64-bit sum: no wrap).
        if (std::uint64_t{d.offset} + d.chunk.size() > d.total_len) return DecodeError::kBadLength;
        return DecodeError::kOk;
    }
    std::size_t n = r.u16();
    if (!r.ok()) return DecodeError::kTruncated;
    if (n == 0) return DecodeError::kBadField;
    auto entries = r.rest();
    // Walk once so later iteration needs no checks; each entry is u16 length + bytes and
    // the entries must fill the datagram exactly.
    ByteReader w(entries);
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t len = w.u16();
        w.bytes(len);
        if (!w.ok()) return DecodeError::kTruncated;
    }
    if (w.remaining() != 0) return DecodeError::kBadLength;
    d.messages = BatchView(entries, n);
    return DecodeError::kOk;
}

}  // namespace

std::string_view to_string(DecodeError e) noexcept {
    switch (e) {
        case DecodeError::kOk:
            return "ok";
        case DecodeError::kTruncated:
            return "truncated packet";
        case DecodeError::kBadMagic:
            return "not a Blip packet (bad magic)";
        case DecodeError::kBadVersion:
            return "unsupported protocol version";
        case DecodeError::kBadType:
            return "unknown packet type";
        case DecodeError::kBadFlags:
            return "undefined flag bits set";
        case DecodeError::kBadLength:
            return "length field disagrees with datagram size";
        case DecodeError::kBadField:
            return "field out of range";
        case DecodeError::kTooLarge:
            return "datagram larger than any UDP payload";
    }
    return "unknown decode error";
}

SeqRange RangeList::operator[](std::size_t i) const noexcept {
    if (i >= n_) return {};
    ByteReader r(raw_.subspan(i * kRangeSize, kRangeSize));
    SeqRange out;
    out.first = r.u64();
    out.count = r.u32();
    return out;
}

std::span<const std::uint8_t> BatchView::Iterator::operator*() const noexcept {
    ByteReader r(rest_);
    std::size_t len = r.u16();
    return r.bytes(len);
}

BatchView::Iterator& BatchView::Iterator::operator++() noexcept {
    ByteReader r(rest_);
    std::size_t len = r.u16();
    r.bytes(len);
    rest_ = rest_.subspan(r.position());
    --left_;
    return *this;
}

DecodeError decode(std::span<const std::uint8_t> datagram, Packet& out) noexcept {
    if (datagram.size() > kMaxDatagramSize) return DecodeError::kTooLarge;
    ByteReader r(datagram);
    // Magic first: foreign traffic shorter than a header still counts as foreign. Under 4
    // bytes, only a prefix of the magic is a (truncated) Blip packet.
    if (datagram.size() < 4) {
        for (std::size_t i = 0; i < datagram.size(); ++i) {
            if (datagram[i] != static_cast<std::uint8_t>(kMagic >> (24 - 8 * i))) {
                return DecodeError::kBadMagic;
            }
        }
        return DecodeError::kTruncated;
    }
    if (r.u32() != kMagic) return DecodeError::kBadMagic;
    if (datagram.size() < kHeaderSize) return DecodeError::kTruncated;
    if (r.u8() != kVersion) return DecodeError::kBadVersion;
    std::uint8_t type = r.u8();
    std::uint8_t flags = r.u8();
    r.u8();  // reserved: sent as 0, ignored so that v1 receivers tolerate later use
    Header& h = out.header;
    h.flags = flags;
    h.node = r.u64();
    h.session = r.u64();
    h.stream = r.u32();
    switch (type) {
        case static_cast<std::uint8_t>(PacketType::kData): {
            h.type = PacketType::kData;
            Data d;
            DecodeError e = decode_data(r, flags, d);
            if (e != DecodeError::kOk) return e;
            out.body = d;
            return DecodeError::kOk;
        }
        case static_cast<std::uint8_t>(PacketType::kHeartbeat): {
            h.type = PacketType::kHeartbeat;
            if (flags != 0) return DecodeError::kBadFlags;
            Heartbeat hb;
            hb.trail = r.u64();
            hb.next_dseq = r.u64();
            hb.next_mseq = r.u64();
            hb.age_ms = r.u32();
            if (!r.ok()) return DecodeError::kTruncated;
            if (r.remaining() != 0) return DecodeError::kBadLength;
            if (hb.trail > hb.next_dseq) return DecodeError::kBadField;
            out.body = hb;
            return DecodeError::kOk;
        }
        case static_cast<std::uint8_t>(PacketType::kNak): {
            h.type = PacketType::kNak;
            if (flags != 0) return DecodeError::kBadFlags;
            std::size_t n = r.u16();
            r.u16();  // reserved
            if (!r.ok()) return DecodeError::kTruncated;
            Nak nak;
            DecodeError e = read_ranges(r, n, nak.ranges);
            if (e != DecodeError::kOk) return e;
            out.body = nak;
            return DecodeError::kOk;
        }
        case static_cast<std::uint8_t>(PacketType::kUnavailable): {
            h.type = PacketType::kUnavailable;
            if (flags != 0) return DecodeError::kBadFlags;
            Unavailable u;
            u.trail = r.u64();
            std::size_t n = r.u16();
            r.u16();  // reserved
            if (!r.ok()) return DecodeError::kTruncated;
            DecodeError e = read_ranges(r, n, u.ranges);
            if (e != DecodeError::kOk) return e;
            for (std::size_t i = 0; i < u.ranges.size(); ++i) {
                if (u.ranges[i].end() > u.trail) return DecodeError::kBadField;
            }
            out.body = u;
            return DecodeError::kOk;
        }
        case static_cast<std::uint8_t>(PacketType::kStatus): {
            h.type = PacketType::kStatus;
            if (flags != 0) return DecodeError::kBadFlags;
            StatusReport st;
            st.receiver_node = r.u64();
            st.receiver_session = r.u64();
            st.position = r.u64();
            st.limit = r.u64();
            if (!r.ok()) return DecodeError::kTruncated;
            if (r.remaining() != 0) return DecodeError::kBadLength;
            if (st.position > st.limit) return DecodeError::kBadField;
            out.body = st;
            return DecodeError::kOk;
        }
        default:
            return DecodeError::kBadType;
    }
}

bool encode_header(std::span<std::uint8_t> out, const Header& h) noexcept {
    ByteWriter w(out);
    w.u32(kMagic);
    w.u8(kVersion);
    w.u8(static_cast<std::uint8_t>(h.type));
    w.u8(h.flags);
    w.u8(0);
    w.u64(h.node);
    w.u64(h.session);
    w.u32(h.stream);
    return w.ok();
}

bool encode_data_prefix(std::span<std::uint8_t> out, const Header& h, std::uint64_t dseq,
                        std::uint64_t mseq, std::uint32_t trail_back,
                        std::uint32_t age_ms) noexcept {
    if (out.size() < kDataPrefixSize || !encode_header(out, h)) return false;
    ByteWriter w(out.subspan(kHeaderSize));
    w.u64(dseq);
    w.u64(mseq);
    w.u32(trail_back);
    w.u32(age_ms);
    return w.ok();
}

std::size_t encode_heartbeat(std::span<std::uint8_t> out, const Header& h,
                             const Heartbeat& hb) noexcept {
    if (out.size() < kHeaderSize + kHeartbeatBodySize || !encode_header(out, h)) return 0;
    ByteWriter w(out.subspan(kHeaderSize));
    w.u64(hb.trail);
    w.u64(hb.next_dseq);
    w.u64(hb.next_mseq);
    w.u32(hb.age_ms);
    return w.ok() ? kHeaderSize + w.size() : 0;
}

std::size_t encode_status(std::span<std::uint8_t> out, const Header& h,
                          const StatusReport& st) noexcept {
    if (out.size() < kHeaderSize + kStatusBodySize || !encode_header(out, h)) return 0;
    ByteWriter w(out.subspan(kHeaderSize));
    w.u64(st.receiver_node);
    w.u64(st.receiver_session);
    w.u64(st.position);
    w.u64(st.limit);
    return w.ok() ? kHeaderSize + w.size() : 0;
}

void append_wire_ranges(const SeqRange& r, std::vector<SeqRange>& out) {
    for (std::uint64_t f = r.first; f < r.end();) {
        const std::uint64_t n = std::min(r.end() - f, kMaxWireRangeCount);
        out.push_back({f, n});
        f += n;
    }
}

std::size_t max_nak_ranges(std::size_t datagram_size) noexcept {
    std::size_t fixed = kHeaderSize + kNakFixedSize;
    // No datagram is larger than kMaxDatagramSize (decode rejects it), so neither is the
    // room for ranges; this also keeps the count within its u16 field (at most 5456).
    if (datagram_size > kMaxDatagramSize) datagram_size = kMaxDatagramSize;
    if (datagram_size <= fixed) return 0;
    return (datagram_size - fixed) / kRangeSize;
}

std::size_t max_unavailable_ranges(std::size_t datagram_size) noexcept {
    std::size_t fixed = kHeaderSize + kUnavailableFixedSize;
    if (datagram_size > kMaxDatagramSize) datagram_size = kMaxDatagramSize;
    if (datagram_size <= fixed) return 0;
    return (datagram_size - fixed) / kRangeSize;
}

namespace {
std::size_t write_ranges(ByteWriter& w, std::span<const SeqRange> ranges) noexcept {
    for (const SeqRange& s : ranges) {
        if (!valid_range(s.first, s.count)) return 0;
        w.u64(s.first);
        w.u32(static_cast<std::uint32_t>(s.count));
    }
    return w.ok() ? w.size() : 0;
}
}  // namespace

std::size_t encode_nak(std::span<std::uint8_t> out, const Header& h,
                       std::span<const SeqRange> ranges) noexcept {
    if (ranges.empty() || ranges.size() > max_nak_ranges(kMaxDatagramSize)) return 0;
    Header hh = h;
    hh.type = PacketType::kNak;
    hh.flags = 0;
    if (!encode_header(out, hh)) return 0;
    ByteWriter w(out.subspan(kHeaderSize));
    w.u16(static_cast<std::uint16_t>(ranges.size()));
    w.u16(0);
    std::size_t n = write_ranges(w, ranges);
    return n == 0 ? 0 : kHeaderSize + n;
}

std::size_t encode_unavailable(std::span<std::uint8_t> out, const Header& h, std::uint64_t trail,
                               std::span<const SeqRange> ranges) noexcept {
    if (ranges.empty() || ranges.size() > max_unavailable_ranges(kMaxDatagramSize)) return 0;
    for (const SeqRange& s : ranges) {
        if (!valid_range(s.first, s.count) || s.end() > trail) return 0;
    }
    Header hh = h;
    hh.type = PacketType::kUnavailable;
    hh.flags = 0;
    if (!encode_header(out, hh)) return 0;
    ByteWriter w(out.subspan(kHeaderSize));
    w.u64(trail);
    w.u16(static_cast<std::uint16_t>(ranges.size()));
    w.u16(0);
    std::size_t n = write_ranges(w, ranges);
    return n == 0 ? 0 : kHeaderSize + n;
}

}  // namespace blip::wire
