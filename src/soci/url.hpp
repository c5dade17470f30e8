// URL parsing for the server dialects: mysql://… and postgresql://… into their parts.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace txoutbox::soci::detail {

/// The parts of `//user:password@host:port/database?key=value&...` (percent-decoded).
struct server_url {
  std::string user, password, host, port, database;
  std::vector<std::pair<std::string, std::string>> params;
};

/// Parses the text after "<scheme>:"; usage_error naming "url" when malformed. `example`
/// is shown in the message ("mysql://user:pass@host:port/db").
server_url parse_server_url(std::string_view rest, std::string_view example);

/// `value` as one connect-string value: as is when it has no blank or quote, else quoted
/// (usage_error naming `field` when it holds both quote kinds).
std::string connect_value(const std::string& value, std::string_view field);

/// The value of `key` in a "k=v k='v v'" connect string ("" when absent).
std::string connect_get(const std::string& connect, std::string_view key);

/// `connect` with the password's value replaced by "***" (for messages).
std::string connect_redact(const std::string& connect);

}  // namespace txoutbox::soci::detail
