// Private argument check shared by the inbox backends (libpqxx and SOCI), so both refuse the
// same keys with the same errors.
#pragma once

#include <string_view>

namespace txoutbox::detail {

/// Throws usage_error (errc::invalid_argument, field "consumer" or "message_id") when either
/// part of an inbox key is empty or is not valid UTF-8 / contains NUL. O(n), no allocation
/// unless it throws.
void check_inbox_key(std::string_view consumer, std::string_view message_id);

}  // namespace txoutbox::detail
