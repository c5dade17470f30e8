// URL parsing for the server dialects and small helpers for SOCI connect strings.
#include "url.hpp"

#include <cctype>
#include <optional>

#include "core/uri/authority.hpp"
#include "core/uri/percent.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::soci::detail {
namespace {

namespace uri_kit = txoutbox::detail::uri;

[[noreturn]] void bad(std::string_view why, std::string_view example) {
  throw usage_error(errc::malformed_input, "url",
                    "url: " + std::string(why) + " (expected " + std::string(example) + ")");
}

std::string decode(std::string_view text, std::string_view example) {
  std::string out;
  if (const auto problem = uri_kit::percent_decode(text, out);
      problem != uri_kit::percent_problem::none)
    bad(uri_kit::percent_problem_text(problem), example);
  return out;
}

/// Reads one value at `pos` of a connect string (quoted or up to the next blank).
std::string read_value(const std::string& s, std::size_t& pos) {
  std::string value;
  if (pos < s.size() && (s[pos] == '\'' || s[pos] == '"')) {
    const char q = s[pos++];
    while (pos < s.size() && s[pos] != q)
      value.push_back(s[pos++]);
    if (pos < s.size())
      ++pos;
    return value;
  }
  while (pos < s.size() && !std::isspace(static_cast<unsigned char>(s[pos])))
    value.push_back(s[pos++]);
  return value;
}

/// Calls `f(name, value)` for each "name=value" of a connect string, in order.
template <class F>
void for_each_pair(const std::string& connect, F&& f) {
  std::size_t pos = 0;
  while (pos < connect.size()) {
    while (pos < connect.size() && std::isspace(static_cast<unsigned char>(connect[pos])))
      ++pos;
    const auto eq = connect.find('=', pos);
    if (eq == std::string::npos)
      break;
    const auto name = connect.substr(pos, eq - pos);
    pos = eq + 1;
    f(name, read_value(connect, pos));
  }
}

}  // namespace

server_url parse_server_url(std::string_view rest, std::string_view example) {
  if (!rest.starts_with("//"))
    bad("missing //", example);
  // The connect string goes to the driver as a C string: a NUL would cut it there, silently
  // dropping what follows (the password, sslmode=...), as %00 would.
  if (rest.find('\0') != std::string_view::npos)
    bad("a NUL byte is not allowed", example);
  rest.remove_prefix(2);
  server_url url;
  std::string_view query;
  if (const auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view path;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    path = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (const auto [userinfo, host_port] = uri_kit::split_userinfo(rest); userinfo) {
    const auto credentials = uri_kit::split_credentials(*userinfo);
    if (credentials.password)
      url.password = decode(*credentials.password, example);
    url.user = decode(credentials.user, example);
    rest = host_port;
  }
  // The last ':' splits an unbracketed host, so that mysql://u@::1:3306/db keeps working.
  uri_kit::host_port hp;
  if (const auto problem = uri_kit::split_host_port(rest, hp, uri_kit::colon_split::last);
      problem != uri_kit::authority_problem::none)
    bad(uri_kit::authority_problem_text(problem, hp), example);
  // An IPv6 literal is taken as written; a host name is percent-decoded.
  url.host = hp.bracketed ? std::string(hp.host) : decode(hp.host, example);
  url.port = std::string(hp.port);
  // Looser than uri::parse_port on purpose (an empty port or 0 means the driver's default).
  for (const char c : url.port) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      bad("the port is not a number", example);
  }
  if (url.port.size() > 5)
    bad("the port is out of range", example);
  url.database = decode(path, example);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto item = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (item.empty())
      continue;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos)
      bad("a query parameter has no '='", example);
    url.params.emplace_back(decode(item.substr(0, eq), example),
                            decode(item.substr(eq + 1), example));
  }
  return url;
}

std::string connect_value(const std::string& value, std::string_view field) {
  // SOCI ends an unquoted value at any isspace() character, \v and \f included.
  const bool blank = value.empty() || value.find_first_of(" \t\n\v\f\r") != std::string::npos;
  const bool single = value.find('\'') != std::string::npos;
  const bool dbl = value.find('"') != std::string::npos;
  if (single && dbl) {
    throw usage_error(errc::malformed_input, "url",
                      "url: the " + std::string(field) + " contains both quote characters");
  }
  if (!blank && !single && !dbl)
    return value;
  return single ? "\"" + value + "\"" : "'" + value + "'";
}

std::string connect_get(const std::string& connect, std::string_view key) {
  std::optional<std::string> found;  // the first one, as the driver reads it
  for_each_pair(connect, [&](const std::string& name, std::string value) {
    if (name == key && !found)
      found = std::move(value);
  });
  return found.value_or("");
}

std::string connect_redact(const std::string& connect) {
  std::string out;
  for_each_pair(connect, [&](const std::string& name, const std::string& value) {
    if (!out.empty())
      out += ' ';
    out += name + "=" + (name == "password" || name == "pass" ? "***" : value);
  });
  return out;
}

}  // namespace txoutbox::soci::detail
