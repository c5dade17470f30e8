// HTTP publisher helpers without Beast: URL parsing, header names, private addresses.
#include <cctype>

#include "core/uri/authority.hpp"
#include "http/detail.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::http::detail {
namespace {

namespace uri_kit = txoutbox::detail::uri;

[[noreturn]] void bad_url(const std::string& why) {
  throw usage_error(errc::malformed_input, "url", "invalid http publisher url: " + why);
}

bool all_digits(std::string_view s) noexcept {
  if (s.empty())
    return false;
  for (char c : s) {
    if (c < '0' || c > '9')
      return false;
  }
  return true;
}

bool is_ipv4_literal(std::string_view s) {
  int parts = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = s.find('.', start);
    const std::string_view part =
        s.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!all_digits(part) || part.size() > 3 || std::stoi(std::string(part)) > 255)
      return false;
    ++parts;
    if (dot == std::string_view::npos)
      break;
    start = dot + 1;
  }
  return parts == 4;
}

}  // namespace

url_parts parse_url(std::string_view url) {
  url_parts out;
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      bad_url("contains whitespace or a control character");
  }
  std::string_view rest;
  std::string scheme;
  const std::size_t sep = url.find("://");
  if (sep == std::string_view::npos)
    bad_url("expected http://host[:port]/path or https://...");
  for (char c : url.substr(0, sep))
    scheme.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (scheme == "https")
    out.tls = true;
  else if (scheme != "http")
    bad_url("scheme must be http or https, not '" + scheme + "'");
  rest = url.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos)
    bad_url("a fragment (#...) is not sent in HTTP requests");
  const std::size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view target = path_start == std::string_view::npos ? "" : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos)
    bad_url("user info is not supported (use an Authorization header)");
  uri_kit::host_port hp;
  auto problem = uri_kit::check_host_port(authority, hp);
  if (problem == uri_kit::authority_problem::none && hp.bracketed &&
      !uri_kit::is_ipv6_literal(hp.host))
    problem = uri_kit::authority_problem::bad_host;
  if (problem != uri_kit::authority_problem::none)
    bad_url(uri_kit::authority_problem_text(problem, hp));
  out.host = std::string(hp.host);
  out.host_is_ip = hp.bracketed;
  if (!hp.bracketed) {
    for (char& c : out.host)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.host_is_ip = is_ipv4_literal(out.host);
  }
  const std::string default_port = out.tls ? "443" : "80";
  out.port = hp.has_port ? std::string(hp.port) : default_port;
  out.target = target.empty() ? "/" : std::string(target);
  if (out.target.front() == '?')
    out.target.insert(out.target.begin(), '/');
  out.host_header = out.host.find(':') != std::string::npos ? "[" + out.host + "]" : out.host;
  if (out.port != default_port)
    out.host_header += ":" + out.port;
  return out;
}

bool is_private_v4(const std::array<std::uint8_t, 4>& a) noexcept {
  return a[0] == 0                                 // 0.0.0.0/8 "this network"
         || a[0] == 10                             // 10/8
         || a[0] == 127                            // loopback
         || (a[0] == 172 && (a[1] & 0xf0) == 16)   // 172.16/12
         || (a[0] == 192 && a[1] == 168)           // 192.168/16
         || (a[0] == 169 && a[1] == 254)           // link-local
         || (a[0] == 100 && (a[1] & 0xc0) == 64);  // 100.64/10 carrier-grade NAT
}

bool is_private_v6(const std::array<std::uint8_t, 16>& a) noexcept {
  bool zero_prefix = true;  // first 10 bytes zero
  for (int i = 0; i < 10; ++i)
    zero_prefix = zero_prefix && a[i] == 0;
  if (zero_prefix && a[10] == 0xff && a[11] == 0xff)  // IPv4-mapped
    return is_private_v4({a[12], a[13], a[14], a[15]});
  if (zero_prefix && a[10] == 0 && a[11] == 0 && a[12] == 0 && a[13] == 0 && a[14] == 0 &&
      (a[15] == 0 || a[15] == 1))  // :: and ::1
    return true;
  return (a[0] & 0xfe) == 0xfc                        // fc00::/7 unique local
         || (a[0] == 0xfe && (a[1] & 0xc0) == 0x80);  // fe80::/10 link-local
}

bool is_token(std::string_view s) noexcept {
  if (s.empty())
    return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u))
      continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos)
      return false;
  }
  return true;
}

bool is_framing_header(std::string_view name) noexcept {
  std::string lower;
  for (char c : name)
    lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  static constexpr std::string_view reserved[] = {
      "host", "content-length", "transfer-encoding", "connection", "keep-alive",
      "te",   "trailer",        "upgrade",           "expect"};
  for (auto r : reserved) {
    if (lower == r)
      return true;
  }
  return lower.starts_with("proxy-");
}

std::string body_excerpt(std::string_view body, std::size_t max) {
  std::string out;
  for (std::size_t i = 0; i < body.size() && out.size() < max; ++i) {
    const auto c = static_cast<unsigned char>(body[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : ' ');
  }
  if (body.size() > max)
    out += "...";
  return out;
}

}  // namespace txoutbox::http::detail
