// HTTP publisher helpers without Beast: URL parsing, status mapping, dates, addresses.
#include <cctype>
#include <cstdio>
#include <ctime>

#include "http/detail.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::http::detail {
namespace {

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

int month_index(std::string_view m) noexcept {
  static constexpr std::string_view names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (names[i] == m)
      return i;
  }
  return -1;
}

/// Parses the three HTTP date forms of RFC 9110 §5.6.7 into a UTC time.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view v) {
  std::string s(v);
  char wday[16] = {}, mon[4] = {};
  int day = 0, year = 0, hh = 0, mm = 0, ss = 0;
  int consumed = 0;
  std::tm tm{};
  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
  if (std::sscanf(s.c_str(), "%15[A-Za-z], %d %3s %d %d:%d:%d GMT%n", wday, &day, mon, &year, &hh,
                  &mm, &ss, &consumed) == 7 &&
      static_cast<std::size_t>(consumed) == s.size()) {
  } else if (std::sscanf(s.c_str(), "%15[A-Za-z], %d-%3s-%d %d:%d:%d GMT%n", wday, &day, mon, &year,
                         &hh, &mm, &ss, &consumed) == 7 &&
             static_cast<std::size_t>(consumed) == s.size()) {
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT (two-digit year: RFC 9110 says pick the
    // century that is not more than 50 years in the future; 19xx/20xx is close enough).
    year += year < 70 ? 2000 : (year < 100 ? 1900 : 0);
  } else if (std::sscanf(s.c_str(), "%15[A-Za-z] %3s %d %d:%d:%d %d%n", wday, mon, &day, &hh, &mm,
                         &ss, &year, &consumed) == 7 &&
             static_cast<std::size_t>(consumed) == s.size()) {
    // asctime: Sun Nov  6 08:49:37 1994
  } else {
    return std::nullopt;
  }
  const int month = month_index(mon);
  if (month < 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || year < 1970)
    return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hh;
  tm.tm_min = mm;
  tm.tm_sec = ss;
  const std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1))
    return std::nullopt;
  return std::chrono::system_clock::from_time_t(t);
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
  std::string_view port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos)
      bad_url("unterminated IPv6 literal");
    out.host = std::string(authority.substr(1, close - 1));
    out.host_is_ip = true;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':'))
        bad_url("unexpected text after the IPv6 literal");
      port = after.substr(1);
    }
    if (out.host.empty() ||
        out.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      bad_url("invalid IPv6 literal");
  } else {
    const std::size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos)
      port = authority.substr(colon + 1);
    for (char& c : out.host)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (out.host.empty())
      bad_url("missing host");
    for (char c : out.host) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
        bad_url("invalid character in host name");
    }
    out.host_is_ip = is_ipv4_literal(out.host);
  }
  const std::string default_port = out.tls ? "443" : "80";
  if (port.empty()) {
    if (authority.ends_with(':'))
      bad_url("empty port");
    out.port = default_port;
  } else {
    if (!all_digits(port) || port.size() > 5 || std::stoi(std::string(port)) == 0 ||
        std::stoi(std::string(port)) > 65535)
      bad_url("invalid port '" + std::string(port) + "'");
    out.port = std::string(port);
  }
  out.target = target.empty() ? "/" : std::string(target);
  if (out.target.front() == '?')
    out.target.insert(out.target.begin(), '/');
  out.host_header = out.host.find(':') != std::string::npos ? "[" + out.host + "]" : out.host;
  if (out.port != default_port)
    out.host_header += ":" + out.port;
  return out;
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  if (all_digits(value)) {
    if (value.size() > 9)  // over ~31 years: cap rather than overflow
      return std::chrono::hours(24 * 365);
    return std::chrono::seconds(std::stol(std::string(value)));
  }
  const auto when = parse_http_date(value);
  if (!when)
    return std::nullopt;
  if (*when <= now)
    return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(*when - now);
}

publish_result classify_status(unsigned status, const std::string& status_line,
                               std::string_view retry_after,
                               std::chrono::system_clock::time_point now) {
  if (status >= 200 && status < 300)
    return publish_result::ok();
  if (status == 408 || status == 429 || (status >= 500 && status < 600)) {
    return publish_result::retry(
        status_line, retry_after.empty() ? std::nullopt : parse_retry_after(retry_after, now));
  }
  if (status < 200)  // an interim response where a final one was due: a server fault
    return publish_result::retry(status_line);
  return publish_result::reject(status_line);
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
