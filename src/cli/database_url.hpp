// database_url: recognises the --db URL's backend and hides its password for printing.
#pragma once

#include <string>
#include <string_view>

namespace txoutbox::cli {

enum class db_scheme { postgresql, sqlite, mysql };

/// A --db value that passed the checks of its backend's own parser.
struct database_url {
  db_scheme scheme = db_scheme::postgresql;
  std::string text;          ///< what the driver connects with (may hold a password)
  std::string redacted;      ///< safe to print: the password replaced by "***"
  std::string sqlite_path;   ///< sqlite: the file, relative to the working directory
  std::string url_database;  ///< mysql: the database named by the URL (the default schema)
};

/// Detects the scheme and validates the URL. `postgresql://` and `postgres://` are parsed
/// with libpq's own parser (so what passes here is what libpq will accept) plus a port
/// check; `sqlite:PATH` and `mysql://` with the SOCI backend's own parser. The password,
/// if any, is registered with add_secret(). Throws failure(exit_usage) for an empty or
/// malformed URL, and for `sqlite:` / `mysql://` when the SOCI backend (or its MariaDB
/// part) is not built into this command.
database_url parse_database_url(const std::string& url);

/// Hands a password read from a file or $TXOUTBOX_DB_PASSWORD to the driver without it
/// ever being in argv: PostgreSQL through PGPASSWORD (libpq reads it when the URL has no
/// password), MariaDB spliced, percent-encoded, into `db.text` unless the URL has one.
/// Registers it with add_secret(). failure(exit_usage) for sqlite: (no passwords there)
/// when `explicit_flag` says the password came from --db-password-file.
void apply_password(database_url& db, const std::string& password, bool explicit_flag);

/// `url` with the password of its user-info part and any `password=` query parameter
/// replaced by "***". Works on any text shaped like scheme://user:pass@host/...; other
/// text comes back unchanged.
std::string redact(std::string_view url);

}  // namespace txoutbox::cli
