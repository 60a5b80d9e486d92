// Seeded pseudo-random generator for the protocol core (NAK back-off, session ids).
// Deterministic for a given seed so that the simulator replays a run exactly.
#pragma once

#include <cmath>
#include <cstdint>

namespace blip::proto {

/// xoshiro256** seeded through splitmix64. Small, fast and good enough for timers; it is
/// not a cryptographic generator (session ids need uniqueness, not secrecy).
class Rng {
public:
    explicit Rng(std::uint64_t seed) noexcept {
        for (auto& s : s_) s = splitmix(seed);
    }

    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform in [0, 1).
    double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

    /// Uniform integer in [0, n); n > 0.
    std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }

    /// A sample from the exponential distribution truncated to [0, 1) with shape `lambda`:
    /// density proportional to e^(lambda x). Most samples fall late, few early, so in a
    /// large group only a few receivers fire before the first NAK suppresses the rest
    /// (Nonnenmacher & Biersack, "Scalable feedback for large groups", 1999). lambda <= 0
    /// gives the uniform distribution.
    double truncated_exponential(double lambda) noexcept {
        double u = uniform();
        if (lambda <= 0.0) return u;
        return std::log1p(std::expm1(lambda) * u) / lambda;
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }
    static std::uint64_t splitmix(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    std::uint64_t s_[4];
};

}  // namespace blip::proto
