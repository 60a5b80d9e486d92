// perf_payload.h - blip-perf's message layout and content check. The bytes of message i are a
// pure function of i and the size, so a receiver verifies every message (sequence and content)
// with nothing but the message itself; a fast but wrong delivery cannot pass.
// Depends on the standard library only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace perf {

/// Layout, little-endian (24 bytes of header, then the body):
///   [0, 8)   sequence number i (the sender's count, equal to Blip's message sequence)
///   [8, 16)  intended send time, CLOCK_MONOTONIC ns (0 when the sender is not paced)
///   [16, 20) send lag: actual send time - intended, ns, saturated (0 when not paced)
///   [20, 24) flags (kFlagLast)
///   [24, n)  body: a window into a fixed pseudo-random pattern at an offset that depends on i,
///            so a message holding another message's bytes, or stale bytes, does not verify.
inline constexpr std::size_t kHeaderBytes = 24;
inline constexpr std::size_t kMinSize = kHeaderBytes;
/// Set on the last message of a run: the receiver knows the total without another channel.
inline constexpr std::uint32_t kFlagLast = 1;

inline void put_u64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline void put_u32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint64_t get_u64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}
inline std::uint32_t get_u32(const std::uint8_t* p) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

/// splitmix64's finaliser: a cheap fixed hash.
inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/// The pattern every process derives identically (fixed seed). Checking a body is one memcmp
/// against it, so verification costs about as much as copying the message once: cheap enough
/// not to be what a throughput run measures, and stronger than a checksum.
class Pattern {
public:
    static constexpr std::size_t kOffsets = 4096;

    explicit Pattern(std::size_t max_size) : bytes_(max_size + kOffsets + 8) {
        std::uint64_t s = 0x426C6970506572ULL;  // "BlipPer"
        for (std::size_t i = 0; i < bytes_.size(); i += 8) {
            const std::uint64_t v = mix64(s++);
            for (std::size_t k = 0; k < 8 && i + k < bytes_.size(); ++k) {
                bytes_[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
            }
        }
    }

    [[nodiscard]] static std::size_t offset(std::uint64_t i) { return mix64(i) % kOffsets; }

    /// Writes message i of `len` bytes (len >= kHeaderBytes): sequence, zero times, `flags`.
    void fill(std::uint8_t* buf, std::size_t len, std::uint64_t i, std::uint32_t flags) const {
        put_u64(buf, i);
        put_u64(buf + 8, 0);
        put_u32(buf + 16, 0);
        put_u32(buf + 20, flags);
        std::memcpy(buf + kHeaderBytes, bytes_.data() + offset(i) + kHeaderBytes,
                    len - kHeaderBytes);
    }

    /// True if `data` is message i of `len` bytes (the header's times and flags are not
    /// checked: they are measurements and markers, not content).
    [[nodiscard]] bool check(const std::uint8_t* data, std::size_t len, std::uint64_t i) const {
        if (len < kHeaderBytes || get_u64(data) != i) return false;
        return std::memcmp(data + kHeaderBytes, bytes_.data() + offset(i) + kHeaderBytes,
                           len - kHeaderBytes) == 0;
    }

private:
    std::vector<std::uint8_t> bytes_;
};

/// Sets the send times just before the message is handed over.
inline void stamp(std::uint8_t* buf, std::uint64_t intended_ns, std::uint64_t actual_ns) {
    put_u64(buf + 8, intended_ns);
    const std::uint64_t lag = actual_ns > intended_ns ? actual_ns - intended_ns : 0;
    put_u32(buf + 16, lag > 0xFFFFFFFFu ? 0xFFFFFFFFu : static_cast<std::uint32_t>(lag));
}

inline std::uint64_t intended_at(const std::uint8_t* p) { return get_u64(p + 8); }
inline std::uint64_t actual_at(const std::uint8_t* p) { return get_u64(p + 8) + get_u32(p + 16); }
inline std::uint32_t flags_of(const std::uint8_t* p) { return get_u32(p + 20); }

}  // namespace perf
