// SQL identifier checks shared by every backend (schema and table names).
#pragma once

#include <string>
#include <string_view>

namespace txoutbox {

/// True when `name` matches [A-Za-z_][A-Za-z0-9_]{0,62}: safe to quote in every dialect.
bool is_valid_identifier(std::string_view name) noexcept;

/// Throws usage_error(errc::invalid_identifier, field, ...) naming `field` and the value
/// when `name` is not a valid identifier.
void check_identifier(std::string_view name, std::string_view field);

/// Wraps an identifier that passed check_identifier() in the dialect's quote character
/// ('"' for PostgreSQL and SQLite, '`' for MariaDB). A valid identifier holds no quote
/// character, so nothing needs doubling.
std::string quote_identifier(std::string_view name, char quote = '"');

}  // namespace txoutbox
