// Private text helpers for core: strict UTF-8 checking and safe rendering of bad input.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace txoutbox::detail {

/// Offset of the first byte that breaks strict UTF-8 (RFC 3629: no overlong forms, no
/// surrogates U+D800..DFFF, nothing above U+10FFFF, no truncated sequence), or npos when
/// `text` is valid. NUL is valid UTF-8 here; callers that forbid it check separately.
/// O(n), no allocation.
inline std::size_t utf8_error_offset(std::string_view text) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0)
        lo = 0xa0;  // overlong below U+0800
      if (c == 0xed)
        hi = 0x9f;  // UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0)
        lo = 0x90;  // overlong below U+10000
      if (c == 0xf4)
        hi = 0x8f;  // above U+10FFFF
    } else {
      return i;  // continuation byte without a lead, C0/C1 overlong lead, or F5..FF
    }
    if (i + 1 >= n || p[i + 1] < lo || p[i + 1] > hi)
      return i;
    for (std::size_t k = 2; k < len; ++k) {
      if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
        return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

/// A control character found in text: its code point and byte offset.
struct control_char {
  char32_t code = 0;
  std::size_t offset = 0;
};

/// The first control character of `text` (U+0000..U+001F, U+007F and the C1 range
/// U+0080..U+009F, which UTF-8 writes as 0xC2 0x80..0x9F), or nullopt. `text` must be valid
/// UTF-8 (check utf8_error_offset first): other non-ASCII text is never a control
/// character. These are what break a line-based protocol (HTTP and NATS headers, logs) when
/// a routing field travels in one. O(n), no allocation.
inline std::optional<control_char> find_control_char(std::string_view text) noexcept {
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F)
      return control_char{c, i};
    if (c == 0xC2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9F)
        return control_char{next, i};
    }
  }
  return std::nullopt;
}

/// "contains the control character U+000D at offset 2": how errors name what was found.
inline std::string control_char_text(const control_char& c) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string code = "U+00";
  code.push_back(hex[(c.code >> 4) & 0xF]);
  code.push_back(hex[c.code & 0xF]);
  return "contains the control character " + code + " at offset " + std::to_string(c.offset);
}

/// Renders a value for an error message: printable ASCII as is, anything else as \xNN,
/// cut at `max_shown` bytes so a huge or hostile value cannot flood a log line.
inline std::string printable(std::string_view value, std::size_t max_shown = 80) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < value.size() && i < max_shown; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c < 0x7f) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 0xf]);
    }
  }
  if (value.size() > max_shown)
    out += "...";
  return out;
}

/// The value of one hex digit (either case), or -1.
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

}  // namespace txoutbox::detail
