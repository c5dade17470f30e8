// JSON text helpers of the SOCI backend: the headers column written and read.
#pragma once

#include <string>
#include <string_view>

#include "txoutbox/message.hpp"

namespace txoutbox::soci::detail {

/// The headers as a JSON object text ("{}" when none). Names and values are validated
/// UTF-8 without NUL.
std::string headers_json(const header_map& headers);

/// The headers column -> header_map. The writer stores an object of strings; any other
/// value (a foreign writer) is kept as its JSON text; unparsable text gives no headers.
header_map parse_headers(std::string_view text);

/// Text fit for a reason column: valid UTF-8 (bad bytes become '?'), no NUL, at most
/// `cap` bytes. Publisher reasons are arbitrary bytes.
std::string clean_text(std::string_view in, std::size_t cap = 2000);

}  // namespace txoutbox::soci::detail
