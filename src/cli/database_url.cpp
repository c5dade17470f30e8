// database_url: scheme detection, libpq-backed validation and password redaction.
#include "database_url.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <memory>

#include "core/uri/authority.hpp"
#include "core/uri/percent.hpp"
#include "core/uri/redact.hpp"
#include "failure.hpp"
#include "output.hpp"
#include "txoutbox/error.hpp"
#ifdef TXOUTBOX_CLI_HAVE_SOCI
#include "txoutbox/soci/store.hpp"
#endif

namespace txoutbox::cli {
namespace {

namespace uri_kit = txoutbox::detail::uri;

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

/// libpq's port option may list one port per host ("5432,5433"); each must be a number.
bool valid_port_list(std::string_view ports) {
  std::size_t start = 0;
  while (start <= ports.size()) {
    const auto comma = std::min(ports.find(',', start), ports.size());
    const auto item = ports.substr(start, comma - start);
    if (!item.empty() && !uri_kit::parse_port(item))
      return false;
    start = comma + 1;
  }
  return true;
}

/// Registers the user-info password of `url` (raw and decoded) as secrets.
void register_url_password(std::string_view url) {
  const auto password = uri_kit::userinfo_password(url);
  if (!password)
    return;
  add_secret(std::string(*password));
  add_secret(uri_kit::percent_decode_lenient(*password));
}

database_url parse_postgresql(const std::string& url) {
  register_url_password(url);
  database_url out{db_scheme::postgresql, url, redact(url), {}, {}};
  char* err = nullptr;
  std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
      PQconninfoParse(url.c_str(), &err), &PQconninfoFree);
  if (!options) {
    std::string reason = err != nullptr ? err : "cannot parse";
    if (err != nullptr)
      PQfreemem(err);
    throw failure(exit_usage, "malformed --db URL " + out.redacted + ": " + sanitize(reason));
  }
  for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr)
      continue;
    const std::string_view key = o->keyword;
    if (key == "password")
      add_secret(o->val);
    if (key == "port" && !valid_port_list(o->val)) {
      throw failure(exit_usage, "malformed --db URL " + out.redacted + ": invalid port '" +
                                    std::string(o->val) + "'");
    }
  }
  return out;
}

/// The SOCI backend's verdict on a sqlite:/mysql:// URL (its parser is the one that will
/// connect); failure(exit_usage) when it refuses the URL or is not built in.
void check_soci_url(const database_url& db, std::string_view kind) {
#ifdef TXOUTBOX_CLI_HAVE_SOCI
  (void)kind;
  try {
    (void)txoutbox::soci::parse_url(db.text);
  } catch (const usage_error& e) {
    throw failure(exit_usage, "malformed --db URL " + db.redacted + ": " + sanitize(e.what()));
  }
#else
  (void)db;
  throw failure(
      exit_usage,
      std::string(kind) + " URLs need the SOCI backend, which is not built into this txoutbox");
#endif
}

database_url parse_sqlite(const std::string& url) {
  database_url out{db_scheme::sqlite, url, url, {}, {}};
  std::string path = url.substr(7);
  if (path.starts_with("//"))
    path = path.substr(2);
  if (path.empty() || path == ":memory:") {
    throw failure(exit_usage,
                  "malformed --db URL " + url + ": expected sqlite:PATH to a file (not :memory:)");
  }
  out.sqlite_path = path;
  check_soci_url(out, "sqlite:");
  return out;
}

database_url parse_mysql(const std::string& url) {
  register_url_password(url);
  database_url out{db_scheme::mysql, url, redact(url), {}, {}};
  // The database is the path after the authority, up to the query.
  const auto authority = url.find("://") + 3;
  const auto slash = url.find('/', authority);
  if (slash != std::string::npos) {
    const auto end = url.find('?', slash);
    out.url_database = uri_kit::percent_decode_lenient(
        url.substr(slash + 1, end == std::string::npos ? end : end - slash - 1));
  }
  if (out.url_database.empty()) {
    throw failure(exit_usage, "malformed --db URL " + out.redacted +
                                  ": expected mysql://user@host:port/database");
  }
  check_soci_url(out, "mysql://");
  return out;
}

}  // namespace

void apply_password(database_url& db, const std::string& password, bool explicit_flag) {
  if (password.empty())
    return;
  add_secret(password);
  switch (db.scheme) {
    case db_scheme::postgresql:
      // libpq reads PGPASSWORD when the URL carries no password: it never reaches argv.
      ::setenv("PGPASSWORD", password.c_str(), 1);
      return;
    case db_scheme::sqlite:
      if (explicit_flag)
        throw failure(exit_usage, "--db-password-file: sqlite: databases have no password");
      return;
    case db_scheme::mysql: {
      const auto authority = db.text.find("://") + 3;
      auto end = db.text.find_first_of("/?#", authority);
      if (end == std::string::npos)
        end = db.text.size();
      const auto at = db.text.rfind('@', end);
      const bool has_at = at != std::string::npos && at >= authority;
      const auto userinfo_end = has_at ? at : authority;
      if (db.text.substr(authority, userinfo_end - authority).find(':') != std::string::npos) {
        return;  // the URL's own password wins, as with libpq
      }
      const std::string encoded = uri_kit::percent_encode(password);
      add_secret(encoded);
      if (has_at) {
        db.text.insert(at, ":" + encoded);
      } else {
        // No user: MariaDB's default user with this password.
        db.text.insert(authority, ":" + encoded + "@");
      }
      return;
    }
  }
}

std::string redact(std::string_view url) {
  return uri_kit::redact_url(url);
}

database_url parse_database_url(const std::string& url) {
  if (url.empty()) {
    throw failure(exit_usage, "--db is required (or set TXOUTBOX_DB_URL)");
  }
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://")) {
    return parse_postgresql(url);
  }
  if (starts_with(url, "sqlite:"))
    return parse_sqlite(url);
  if (starts_with(url, "mysql://") || starts_with(url, "mariadb://"))
    return parse_mysql(url);
  register_url_password(url);
  throw failure(exit_usage, "malformed --db URL " + redact(url) +
                                ": expected postgresql://, sqlite:PATH or mysql://");
}

}  // namespace txoutbox::cli
