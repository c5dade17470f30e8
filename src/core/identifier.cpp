// SQL identifier validation for schema and table names (safe to quote in every dialect).
#include "txoutbox/identifier.hpp"

#include <string>

#include "text_util.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox {

namespace {

constexpr bool is_ascii_alpha(char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
constexpr bool is_ascii_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

}  // namespace

bool is_valid_identifier(std::string_view name) noexcept {
  if (name.empty() || name.size() > 63)
    return false;
  if (!is_ascii_alpha(name[0]) && name[0] != '_')
    return false;
  for (char c : name.substr(1)) {
    if (!is_ascii_alpha(c) && !is_ascii_digit(c) && c != '_')
      return false;
  }
  return true;
}

void check_identifier(std::string_view name, std::string_view field) {
  if (is_valid_identifier(name))
    return;
  std::string what(field);
  what += ": \"";
  what += detail::printable(name);
  what += "\" is not a valid SQL identifier (expected [A-Za-z_][A-Za-z0-9_]{0,62})";
  throw usage_error(errc::invalid_identifier, std::string(field), what);
}

std::string quote_identifier(std::string_view name, char quote) {
  // Built with reserve/append: g++ 12 at -O2 reports a false -Wrestrict on
  // "\"" + std::string(name) + "\"".
  std::string quoted;
  quoted.reserve(name.size() + 2);
  quoted += quote;
  quoted.append(name);
  quoted += quote;
  return quoted;
}

}  // namespace txoutbox
