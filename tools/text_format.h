// text_format.h - payload and string rendering for the tools: printable-text test, hex, and JSON
// string escaping that stays valid JSON for any bytes. No Blip dependency.
#pragma once

#include <cstddef>
#include <string>

namespace tools {

/// True if `data` is valid UTF-8 (no overlongs, surrogates or code points above U+10FFFF) with
/// no control characters other than tab: safe to show as a line of text.
bool is_printable_text(const void* data, std::size_t len);

/// Appends lowercase hex of the first `len` bytes.
void append_hex(std::string& out, const void* data, std::size_t len);

/// Appends `data` as a quoted JSON string. Valid UTF-8 is copied; '"', '\\' and control bytes
/// are escaped; a byte that is not part of valid UTF-8 becomes \u00XX (its Latin-1 reading),
/// so the output is valid JSON for any input.
void append_json_string(std::string& out, const void* data, std::size_t len);
void append_json_string(std::string& out, const char* text);

}  // namespace tools
