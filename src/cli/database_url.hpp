// database_url: recognises the --db URL's backend and hides its password for printing.
#pragma once

#include <string>
#include <string_view>

namespace txoutbox::cli {

enum class db_scheme { postgresql, sqlite, mysql };

/// A --db value that passed the checks of its backend's own parser.
struct database_url {
  db_scheme scheme = db_scheme::postgresql;
  std::string text;      ///< as given: what the driver connects with (may hold a password)
  std::string redacted;  ///< safe to print: the password replaced by "***"
};

/// Detects the scheme and validates the URL. `postgresql://` and `postgres://` are parsed
/// with libpq's own parser (so what passes here is what libpq will accept) plus a port
/// check; the password, if any, is registered with add_secret(). Throws
/// failure(exit_usage) for an empty or malformed URL, and for `sqlite:` and `mysql://`,
/// whose backend (SOCI) is not built into this command.
database_url parse_database_url(const std::string& url);

/// `url` with the password of its user-info part and any `password=` query parameter
/// replaced by "***". Works on any text shaped like scheme://user:pass@host/...; other
/// text comes back unchanged.
std::string redact(std::string_view url);

}  // namespace txoutbox::cli
