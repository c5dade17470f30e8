// database_url: scheme detection, libpq-backed validation and password redaction.
#include "database_url.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <charconv>
#include <memory>

#include "failure.hpp"
#include "output.hpp"
#include "txoutbox/error.hpp"
#ifdef TXOUTBOX_CLI_HAVE_SOCI
#include "txoutbox/soci/store.hpp"
#endif

namespace txoutbox::cli {
namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

/// libpq's port option may list one port per host ("5432,5433"); each must be a number.
bool valid_port_list(std::string_view ports) {
  if (ports.empty())
    return true;
  std::size_t start = 0;
  while (true) {
    const auto comma = ports.find(',', start);
    const auto item =
        ports.substr(start, comma == std::string_view::npos ? ports.npos : comma - start);
    if (!item.empty()) {
      unsigned value = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), value);
      if (ec != std::errc{} || end != item.data() + item.size() || value == 0 || value > 65535) {
        return false;
      }
    }
    if (comma == std::string_view::npos)
      return true;
    start = comma + 1;
  }
}

/// Percent-decoding of a URL component, for registering a password in both its forms.
std::string percent_decoded(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() &&
        std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

/// Registers the user-info password of `url` (raw and decoded) as secrets.
void register_url_password(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return;
  const auto rest = url.substr(scheme_end + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos)
    return;
  const auto userinfo = authority.substr(0, at);
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos)
    return;
  const auto password = userinfo.substr(colon + 1);
  add_secret(std::string(password));
  add_secret(percent_decoded(password));
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
    out.url_database =
        percent_decoded(url.substr(slash + 1, end == std::string::npos ? end : end - slash - 1));
  }
  if (out.url_database.empty()) {
    throw failure(exit_usage, "malformed --db URL " + out.redacted +
                                  ": expected mysql://user@host:port/database");
  }
  check_soci_url(out, "mysql://");
  return out;
}

/// `text` percent-encoded for the user-info part of a URL.
std::string percent_encoded(std::string_view text) {
  static constexpr char hexdigits[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += hexdigits[u >> 4];
      out += hexdigits[u & 0xf];
    }
  }
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
      const std::string encoded = percent_encoded(password);
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
  std::string out(url);
  const auto scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    const auto auth_start = scheme_end + 3;
    auto auth_end = out.find_first_of("/?#", auth_start);
    if (auth_end == std::string::npos)
      auth_end = out.size();
    const auto at = out.rfind('@', auth_end == 0 ? 0 : auth_end - 1);
    if (at != std::string::npos && at >= auth_start) {
      const auto colon = out.find(':', auth_start);
      if (colon != std::string::npos && colon < at) {
        out.replace(colon + 1, at - colon - 1, "***");
      }
    }
  }
  // password=... in the query string (libpq accepts it there too).
  for (std::size_t pos = out.find('?'); pos != std::string::npos;) {
    const auto key = out.find("password=", pos);
    if (key == std::string::npos)
      break;
    const bool at_param_start = key > 0 && (out[key - 1] == '?' || out[key - 1] == '&');
    const auto value_start = key + 9;
    if (!at_param_start) {
      pos = value_start;
      continue;
    }
    auto value_end = out.find_first_of("&#", value_start);
    if (value_end == std::string::npos)
      value_end = out.size();
    out.replace(value_start, value_end - value_start, "***");
    pos = value_start + 3;
  }
  return out;
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
