// Deterministic test data shared by the unit tests: byte patterns and number ranges.
#pragma once

#include <cstddef>
#include <cstdint>
#include <numeric>
#include <vector>

#include "recording_output.h"

/// `n` pseudo-random bytes, the same for the same seed (a small LCG: fast, no state).
inline Bytes pattern(std::size_t n, std::uint32_t seed) {
    Bytes b(n);
    std::uint32_t x = seed * 2654435761u + 7;
    for (auto& v : b) {
        x = x * 1103515245u + 12345u;
        v = static_cast<std::uint8_t>(x >> 24);
    }
    return b;
}

/// The numbers [first, end), e.g. the message numbers a test expects delivered.
inline std::vector<std::uint64_t> iota(std::uint64_t first, std::uint64_t end) {
    std::vector<std::uint64_t> v(end - first);
    std::iota(v.begin(), v.end(), first);
    return v;
}
