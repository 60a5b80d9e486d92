// Bounds-checked big-endian byte reader and writer over spans.
// Pure functions over memory: no I/O, no allocation. Never casts structs onto buffers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace blip::wire {

/// Reads big-endian integers from a span. Every read checks the remaining length first;
/// a failed read leaves the reader in a failed state (ok() == false) and returns 0, so a
/// decoder can chain reads and test once.
class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> data) noexcept : data_(data) {}

    [[nodiscard]] bool ok() const noexcept { return ok_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return data_.size() - pos_; }
    [[nodiscard]] std::size_t position() const noexcept { return pos_; }

    std::uint8_t u8() noexcept { return static_cast<std::uint8_t>(read(1)); }
    std::uint16_t u16() noexcept { return static_cast<std::uint16_t>(read(2)); }
    std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(read(4)); }
    std::uint64_t u64() noexcept { return read(8); }

    /// Returns the next n bytes as a view, or an empty view and the failed state.
    std::span<const std::uint8_t> bytes(std::size_t n) noexcept {
        if (!ok_ || n > remaining()) {
            ok_ = false;
            return {};
        }
        auto out = data_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

    /// Returns everything not yet read.
    std::span<const std::uint8_t> rest() noexcept { return bytes(remaining()); }

private:
    std::uint64_t read(std::size_t n) noexcept {
        if (!ok_ || n > remaining()) {
            ok_ = false;
            return 0;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i) v = (v << 8) | data_[pos_ + i];
        pos_ += n;
        return v;
    }

    std::span<const std::uint8_t> data_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

/// Writes big-endian integers into a span. Like ByteReader, an overflowing write sets a
/// failed state instead of writing past the end.
class ByteWriter {
public:
    explicit ByteWriter(std::span<std::uint8_t> out) noexcept : out_(out) {}

    [[nodiscard]] bool ok() const noexcept { return ok_; }
    [[nodiscard]] std::size_t size() const noexcept { return pos_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return out_.size() - pos_; }

    void u8(std::uint8_t v) noexcept { write(v, 1); }
    void u16(std::uint16_t v) noexcept { write(v, 2); }
    void u32(std::uint32_t v) noexcept { write(v, 4); }
    void u64(std::uint64_t v) noexcept { write(v, 8); }

    void bytes(std::span<const std::uint8_t> b) noexcept {
        if (!ok_ || b.size() > remaining()) {
            ok_ = false;
            return;
        }
        if (!b.empty()) std::memcpy(out_.data() + pos_, b.data(), b.size());
        pos_ += b.size();
    }

private:
    void write(std::uint64_t v, std::size_t n) noexcept {
        if (!ok_ || n > remaining()) {
            ok_ = false;
            return;
        }
        for (std::size_t i = 0; i < n; ++i) {
            out_[pos_ + i] = static_cast<std::uint8_t>(v >> (8 * (n - 1 - i)));
        }
        pos_ += n;
    }

    std::span<std::uint8_t> out_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace blip::wire
