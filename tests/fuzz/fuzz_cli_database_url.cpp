// Fuzz target: the command line's --db URL parser (parse_database_url), its redaction and
// the password splice for MariaDB (apply_password).
// Input: the URL on the first line; the rest, if any, is a password from a file.
#include <cstddef>
#include <cstdint>

#include "cli_output_stub.hpp"
#include "database_url.hpp"
#include "failure.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace txoutbox::cli;
  const std::string_view text = txoutbox::fuzz::as_text(data, size);
  const auto eol = text.find('\n');
  const std::string url(text.substr(0, eol));
  const std::string password(eol == std::string_view::npos ? "" : text.substr(eol + 1));
  forget_secrets();
  (void)redact(text);
  try {
    database_url db = parse_database_url(url);
    // PostgreSQL gets the password through PGPASSWORD (setenv): not parsing, skipped.
    if (db.scheme != db_scheme::postgresql)
      apply_password(db, password, true);
  } catch (const failure&) {
    // documented: exit_usage for an empty, malformed or unsupported URL
  }
  return 0;
}
