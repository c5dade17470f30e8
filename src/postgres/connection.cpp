// Connection plumbing for the PostgreSQL store: conninfo, redaction, error mapping, a pool.
#include "connection.hpp"

#include <pqxx/except>

#include <algorithm>
#include <cctype>
#include <exception>
#include <string>
#include <utility>

#include "postgres/sqlstate.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::postgres::detail {
namespace {

bool is_uri(std::string_view url) {
  return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

bool icontains(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                        [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

/// A key=value conninfo value in single quotes, with \ and ' escaped.
std::string quote_value(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\\' || c == '\'')
      out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

/// The first line of a driver message, trimmed and capped (libpq's connect errors carry
/// host and port, never the password).
std::string first_line(std::string_view text) {
  auto end = text.find('\n');
  std::string line(text.substr(0, end));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back())))
    line.pop_back();
  if (line.size() > 200)
    line.resize(200);
  return line;
}

}  // namespace

std::string build_conninfo(const std::string& url, const conninfo_options& options) {
  const long connect_s =
      std::max<long>(2, static_cast<long>((options.connect_timeout.count() + 999) / 1000));
  std::vector<std::pair<std::string, std::string>> params;
  params.emplace_back("connect_timeout", std::to_string(connect_s));
  if (options.keepalives) {
    params.emplace_back("keepalives", "1");
    params.emplace_back("keepalives_idle", "30");
    params.emplace_back("keepalives_interval", "10");
    params.emplace_back("keepalives_count", "3");
  } else {
    params.emplace_back("keepalives", "0");
  }
  if (!options.application_name.empty() && !icontains(url, "application_name")) {
    params.emplace_back("application_name", options.application_name);
  }
  // A URL with its own options= would be overridden by ours; the store then sets the
  // timeout with SET in its connection setup instead (see store.cpp).
  if (options.statement_timeout.count() > 0 && !icontains(url, "options")) {
    params.emplace_back(
        "options", "-c statement_timeout=" + std::to_string(options.statement_timeout.count()));
  }

  std::string out = url;
  if (is_uri(url)) {
    char sep = url.find('?') == std::string::npos ? '?' : '&';
    for (const auto& [key, value] : params) {
      out.push_back(sep);
      out += key;
      out.push_back('=');
      out += percent_encode(value);
      sep = '&';
    }
  } else {
    for (const auto& [key, value] : params) {
      if (!out.empty())
        out.push_back(' ');
      out += key;
      out.push_back('=');
      out += quote_value(value);
    }
  }
  return out;
}

std::string redact(std::string_view url) {
  std::string out(url);
  // URI userinfo: scheme://user:password@host
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    const auto start = scheme + 3;
    auto end = out.find_first_of("/?#", start);
    if (end == std::string::npos)
      end = out.size();
    const auto at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= start) {
      const auto colon = out.find(':', start);
      if (colon != std::string::npos && colon < at)
        out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // password=value in a query string or key=value conninfo (quoted or bare).
  std::size_t pos = 0;
  while (true) {
    static constexpr std::string_view key = "password";
    auto it = std::search(
        out.begin() + static_cast<std::ptrdiff_t>(pos), out.end(), key.begin(), key.end(),
        [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    if (it == out.end())
      break;
    std::size_t i = static_cast<std::size_t>(it - out.begin()) + 8;
    while (i < out.size() && out[i] == ' ')
      ++i;
    if (i >= out.size() || out[i] != '=') {
      pos = i;
      continue;
    }
    ++i;
    while (i < out.size() && out[i] == ' ')
      ++i;
    std::size_t end = i;
    if (end < out.size() && out[end] == '\'') {
      ++end;
      while (end < out.size() && out[end] != '\'')
        end += (out[end] == '\\') ? 2 : 1;
      end = std::min(end + 1, out.size());
    } else {
      while (end < out.size() && out[end] != '&' && out[end] != ' ' && out[end] != '#')
        ++end;
    }
    out.replace(i, end - i, "***");
    pos = i + 3;
  }
  return out;
}

void rethrow_mapped(std::string_view what) {
  const std::string prefix = "postgres store: " + std::string(what);
  try {
    throw;
  } catch (const txoutbox::error&) {
    throw;
  } catch (const txoutbox::usage_error&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    throw transient_error(prefix + " failed: connection lost (" + first_line(e.what()) + ")");
  } catch (const pqxx::in_doubt_error&) {
    throw transient_error(prefix + " failed: connection lost during commit (outcome unknown)");
  } catch (const pqxx::transaction_rollback&) {
    throw transient_error(prefix + " failed: transaction rolled back (serialization or deadlock)",
                          errc::timeout);
  } catch (const pqxx::sql_error& e) {
    const std::string& state = e.sqlstate();
    const auto cls = classify_sqlstate(state);
    const std::string text = prefix + " failed (SQLSTATE " + (state.empty() ? "?" : state) +
                             "): " + std::string(cls.meaning);
    if (cls.transient)
      throw transient_error(text, cls.code);
    throw error(cls.code, text);
  } catch (const pqxx::failure& e) {
    throw error(errc::internal, prefix + " failed: " + first_line(e.what()));
  } catch (const std::exception& e) {
    throw error(errc::internal, prefix + " failed: " + first_line(e.what()));
  }
}

// -- pool ------------------------------------------------------------------------------

connection_pool::connection_pool(std::string conninfo, std::string redacted_url, std::size_t size,
                                 connection_setup setup, std::chrono::milliseconds checkout_timeout)
    : conninfo_(std::move(conninfo)),
      redacted_(std::move(redacted_url)),
      size_(std::max<std::size_t>(1, size)),
      setup_(std::move(setup)),
      checkout_timeout_(checkout_timeout) {}

connection_pool::~connection_pool() = default;

std::unique_ptr<pqxx::connection> connection_pool::open() {
  std::unique_ptr<pqxx::connection> conn;
  try {
    conn = std::make_unique<pqxx::connection>(conninfo_);
  } catch (const pqxx::broken_connection& e) {
    throw transient_error("postgres store: cannot connect to " + redacted_ + " (" +
                          first_line(e.what()) + ")");
  } catch (...) {
    rethrow_mapped("connecting to " + redacted_);
  }
  try {
    if (setup_)
      setup_(*conn);
  } catch (...) {
    rethrow_mapped("setting up a connection to " + redacted_);
  }
  return conn;
}

connection_pool::handle connection_pool::checkout() {
  std::unique_lock lock(mutex_);
  const auto deadline = std::chrono::steady_clock::now() + checkout_timeout_;
  while (true) {
    while (!idle_.empty()) {
      idle_conn c = std::move(idle_.back());
      idle_.pop_back();
      if (c.conn->is_open())
        return handle(*this, std::move(c.conn), c.pid, true);
      --open_;  // closed while idle: drop it and look again
    }
    if (open_ < size_) {
      ++open_;
      lock.unlock();
      try {
        auto conn = open();
        const int pid = conn->backendpid();
        return handle(*this, std::move(conn), pid, false);
      } catch (...) {
        forget();
        throw;
      }
    }
    if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= size_) {
      throw transient_error("postgres store: no free connection in the pool", errc::timeout);
    }
  }
}

void connection_pool::give_back(std::unique_ptr<pqxx::connection> conn, int pid) noexcept {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(idle_conn{std::move(conn), pid});
  }
  cv_.notify_one();
}

void connection_pool::forget() noexcept {
  {
    std::lock_guard lock(mutex_);
    --open_;
  }
  cv_.notify_one();
}

connection_pool::handle::~handle() {
  if (!conn_)
    return;
  // A connection that libpqxx silently re-opened (new backend pid) lost its session:
  // never hand it out again.
  if (!conn_->is_open() || conn_->backendpid() != pid_) {
    discard();
    return;
  }
  pool_->give_back(std::move(conn_), pid_);
}

void connection_pool::handle::discard() noexcept {
  if (!conn_)
    return;
  conn_.reset();
  pool_->forget();
}

}  // namespace txoutbox::postgres::detail
