// Private URI toolkit: percent-decoding and -encoding of URL components.
#pragma once

#include <string>
#include <string_view>

namespace txoutbox::detail::uri {

/// Why a strict decode refused its text.
enum class percent_problem { none, cut_short, not_hex, nul };

/// Decodes every %XX of `text` into `out`; stops at the first malformed escape or at %00
/// (a NUL would cut a C-string connect string short) and says which. Never throws.
percent_problem percent_decode(std::string_view text, std::string& out);

/// The one text of each problem ("a % escape is cut short", ...).
std::string percent_problem_text(percent_problem problem);

/// Decodes the well-formed %XX escapes and keeps any other '%' as written (for finding a
/// password in both its forms, never for connecting).
std::string percent_decode_lenient(std::string_view text);

/// `text` with everything but letters, digits and -_.~ percent-encoded (for user info).
std::string percent_encode(std::string_view text);

}  // namespace txoutbox::detail::uri
