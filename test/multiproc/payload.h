// payload.h - the deterministic message model of the multi-process test: the size and the bytes
// of message i are pure functions of (seed, i), so the sender builds them and every receiver
// rebuilds them to check what it got, with no data passed between the processes. Public API
// free: depends on nothing but the C++ standard library.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace blip_mp {

/// splitmix64: a strong 64-bit mixer, used to derive every random choice from (seed, index).
inline std::uint64_t mix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/// A uniform double in [0, 1) from 53 bits of `r`.
inline double unit(std::uint64_t r) { return static_cast<double>(r >> 11) * 0x1.0p-53; }

/// Sizes placed on purpose every kSpecialEvery messages: the empty message, the edges of the
/// 16-byte payload header, and the batch/fragment boundaries of the default 1400-byte datagram
/// (a whole message fits in 1400 - 56 = 1344 bytes; fragments carry 1400 - 60 = 1340). A value
/// above the run's largest size is clamped to it (so the largest size itself occurs too).
inline constexpr std::size_t kSpecialSizes[] = {
    0,    1,    15,   16,   17,    1339,  1340,  1341,  1343,     1344,
    1345, 1346, 2680, 2681, 65535, 65536, 65537, 65538, SIZE_MAX,
};
inline constexpr std::uint64_t kSpecialEvery = 1009;  // a prime, so specials drift over batches

/// Payload header, present when a message is at least kHeaderSize bytes long (little-endian):
/// [0, 8) the message index, [8, 12) its length, [12, 16) FNV-1a of bytes [16, length).
inline constexpr std::size_t kHeaderSize = 16;

/// The size of message `index` of a run of `count` messages whose largest is `max_size`:
/// about 90% 1..1024 bytes, 9% 1 KiB..64 KiB and 1% 64 KiB..max_size (both log-scaled and
/// skewed towards their small end, so a 100,000-message run moves ~300 MB), plus the special
/// sizes above and a largest-size message last (so the tail of the run is a long fragmented
/// message whose lost pieces only heartbeats can reveal).
inline std::size_t message_size(std::uint64_t seed, std::uint64_t index, std::uint64_t count,
                                std::size_t max_size) {
    if (index + 1 == count) return max_size;
    if (index % kSpecialEvery == 7) {
        const std::size_t n = sizeof kSpecialSizes / sizeof kSpecialSizes[0];
        return std::min(kSpecialSizes[(index / kSpecialEvery) % n], max_size);
    }
    const std::uint64_t r = mix64(seed * 0xD1B54A32D192ED03ull ^ mix64(index));
    const std::uint64_t pick = r % 1000;
    const double u = unit(mix64(r));
    std::size_t size = 0;
    if (pick < 900) {
        size = 1 + static_cast<std::size_t>(mix64(r ^ 0x5555) % 1024);
    } else if (pick < 990) {
        size = static_cast<std::size_t>(1025.0 * std::pow(64.0, u * u));  // 1025..65536
    } else {
        const double hi = std::max(65537.0, static_cast<double>(max_size));
        size = static_cast<std::size_t>(65537.0 * std::pow(hi / 65537.0, u * u * u));
    }
    return std::min(size, max_size);
}

inline std::uint32_t fnv1a32(const std::uint8_t* p, std::size_t n) {
    std::uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < n; ++i) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h;
}

inline void store_le(std::uint8_t* p, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
inline std::uint64_t load_le(const std::uint8_t* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
}

/// Writes the `len` bytes of message `index` to `out`: a pseudo-random body keyed by
/// (seed, index), so a message delivered under the wrong number or with another's bytes never
/// matches, then the header over its first 16 bytes.
inline void fill_payload(std::uint64_t seed, std::uint64_t index, std::size_t len,
                         std::uint8_t* out) {
    std::uint64_t s = mix64(seed ^ mix64(index ^ 0xB11Bull)) | 1;
    std::size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        s ^= s << 13;  // xorshift64
        s ^= s >> 7;
        s ^= s << 17;
        std::memcpy(out + i, &s, 8);
    }
    for (; i < len; ++i) {
        s = mix64(s);
        out[i] = static_cast<std::uint8_t>(s);
    }
    if (len >= kHeaderSize) {
        store_le(out, index, 8);
        store_le(out + 8, len, 4);
        store_le(out + 12, fnv1a32(out + kHeaderSize, len - kHeaderSize), 4);
    }
}

}  // namespace blip_mp
