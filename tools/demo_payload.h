// demo_payload.h - blip-demo's deterministic messages: the size and content of message i are a
// pure function of i, so each receiver verifies every byte without any other channel.
// Layout: [0, 8) index, [8, 16) CLOCK_MONOTONIC send time in ns (both little-endian), then a
// pattern that depends on index and position (a misplaced fragment does not verify).
#pragma once

#include <cstddef>
#include <cstdint>

namespace demo {

constexpr std::size_t kHeaderBytes = 16;
constexpr std::size_t kMinSize = kHeaderBytes;

inline std::uint64_t mix(std::uint64_t x) {  // splitmix64 finaliser: a cheap, fixed hash
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/// Mixed sizes in [kMinSize, max]: 90% up to 1 KiB, 9% up to 8 KiB, 1% up to `max`, and
/// every 1000th message exactly `max` (so the largest size is always exercised).
inline std::size_t message_size(std::uint64_t index, std::size_t max) {
    if (index % 1000 == 999) return max;
    const std::uint64_t h = mix(index);
    const std::uint64_t tier = h % 100;
    std::size_t hi = tier == 0 ? max : tier < 10 ? 8192 : 1024;
    if (hi > max) hi = max;
    return kMinSize + static_cast<std::size_t>((h >> 8) % (hi - kMinSize + 1));
}

inline std::uint8_t pattern_byte(std::uint64_t index, std::size_t pos) {
    return static_cast<std::uint8_t>(index * 131 + pos * 7 + (pos >> 8));
}

inline void put_u64(std::uint8_t* p, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

inline std::uint64_t get_u64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

/// Writes message `index` (message_size(index, max) bytes) into buf, with send time 0.
inline void fill(std::uint8_t* buf, std::size_t len, std::uint64_t index) {
    put_u64(buf, index);
    put_u64(buf + 8, 0);
    for (std::size_t i = kHeaderBytes; i < len; ++i) buf[i] = pattern_byte(index, i);
}

/// Sets the send time just before the message is handed to Blip.
inline void stamp(std::uint8_t* buf, std::uint64_t now_ns) { put_u64(buf + 8, now_ns); }

inline std::uint64_t sent_at(const std::uint8_t* buf) { return get_u64(buf + 8); }

/// nullptr if `data` is exactly message `index`, else what is wrong with it.
inline const char* verify(const std::uint8_t* data, std::size_t len, std::uint64_t index,
                          std::size_t max) {
    if (len != message_size(index, max)) return "wrong length";
    if (get_u64(data) != index) return "payload holds another message's index";
    for (std::size_t i = kHeaderBytes; i < len; ++i) {
        if (data[i] != pattern_byte(index, i)) return "payload bytes differ";
    }
    return nullptr;
}

}  // namespace demo
