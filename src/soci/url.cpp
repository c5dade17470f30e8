// URL parsing for the server dialects and small helpers for SOCI connect strings.
#include "url.hpp"

#include <cctype>

#include "txoutbox/error.hpp"

namespace txoutbox::soci::detail {
namespace {

[[noreturn]] void bad(std::string_view why, std::string_view example) {
  throw usage_error(errc::malformed_input, "url",
                    "url: " + std::string(why) + " (expected " + std::string(example) + ")");
}

int hex(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

std::string decode(std::string_view text, std::string_view example) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size())
      bad("a % escape is cut short", example);
    const int hi = hex(text[i + 1]);
    const int lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0)
      bad("a % escape is not two hex digits", example);
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '\0')
      bad("%00 is not allowed", example);
    out.push_back(c);
    i += 2;
  }
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
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    auto userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (const auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      url.password = decode(userinfo.substr(colon + 1), example);
      userinfo = userinfo.substr(0, colon);
    }
    url.user = decode(userinfo, example);
  }
  if (rest.starts_with("[")) {
    const auto close = rest.find(']');
    if (close == std::string_view::npos)
      bad("an IPv6 host is missing ]", example);
    url.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest[0] != ':')
      bad("unexpected text after the host", example);
    if (!rest.empty())
      url.port = std::string(rest.substr(1));
  } else if (const auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    url.host = decode(rest.substr(0, colon), example);
    url.port = std::string(rest.substr(colon + 1));
  } else {
    url.host = decode(rest, example);
  }
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
  std::size_t pos = 0;
  while (pos < connect.size()) {
    while (pos < connect.size() && std::isspace(static_cast<unsigned char>(connect[pos])))
      ++pos;
    const auto eq = connect.find('=', pos);
    if (eq == std::string::npos)
      break;
    const auto name = connect.substr(pos, eq - pos);
    pos = eq + 1;
    auto value = read_value(connect, pos);
    if (name == key)
      return value;
  }
  return {};
}

std::string connect_redact(const std::string& connect) {
  std::string out;
  std::size_t pos = 0;
  while (pos < connect.size()) {
    while (pos < connect.size() && std::isspace(static_cast<unsigned char>(connect[pos])))
      ++pos;
    const auto eq = connect.find('=', pos);
    if (eq == std::string::npos)
      break;
    const auto name = connect.substr(pos, eq - pos);
    pos = eq + 1;
    const auto value = read_value(connect, pos);
    if (!out.empty())
      out += ' ';
    out += name + "=" + (name == "password" || name == "pass" ? "***" : value);
  }
  return out;
}

}  // namespace txoutbox::soci::detail
