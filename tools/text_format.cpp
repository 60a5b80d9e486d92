// text_format.cpp - UTF-8 validation, hex and JSON string escaping for the tools' output.
#include "text_format.h"

#include <cstdint>
#include <cstring>

namespace tools {

namespace {

// Length of the valid UTF-8 sequence starting at p[0] (at most n bytes available), or 0 if
// p[0] does not start one. Follows RFC 3629: shortest form only, no surrogates, <= U+10FFFF.
std::size_t utf8_sequence(const std::uint8_t* p, std::size_t n) {
    const std::uint8_t c = p[0];
    if (c < 0x80) return 1;
    std::size_t len = 0;
    std::uint8_t lo = 0x80;  // bounds of the second byte, which rule out overlongs etc.
    std::uint8_t hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;  // overlong
        if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;  // overlong
        if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (std::size_t i = 2; i < len; ++i) {
        if ((p[i] & 0xC0) != 0x80) return 0;
    }
    return len;
}

constexpr char kHexDigits[] = "0123456789abcdef";

void append_u00(std::string& out, std::uint8_t b) {
    out += "\\u00";
    out += kHexDigits[b >> 4];
    out += kHexDigits[b & 0xF];
}

}  // namespace

bool is_printable_text(const void* data, std::size_t len) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    for (std::size_t i = 0; i < len;) {
        if ((p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7F) return false;
        const std::size_t n = utf8_sequence(p + i, len - i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

void append_hex(std::string& out, const void* data, std::size_t len) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    out.reserve(out.size() + 2 * len);
    for (std::size_t i = 0; i < len; ++i) {
        out += kHexDigits[p[i] >> 4];
        out += kHexDigits[p[i] & 0xF];
    }
}

void append_json_string(std::string& out, const void* data, std::size_t len) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    out += '"';
    for (std::size_t i = 0; i < len;) {
        const std::uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            append_u00(out, c);
        } else {
            const std::size_t n = utf8_sequence(p + i, len - i);
            if (n == 0) {
                append_u00(out, c);  // not UTF-8: keep the byte visible, keep the JSON valid
            } else {
                out.append(reinterpret_cast<const char*>(p + i), n);
                i += n;
                continue;
            }
        }
        ++i;
    }
    out += '"';
}

void append_json_string(std::string& out, const char* text) {
    append_json_string(out, text, text != nullptr ? std::strlen(text) : 0);
}

}  // namespace tools
