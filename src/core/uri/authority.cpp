// Private URI toolkit: host, port, IPv6 literal and user info (see authority.hpp).
#include "core/uri/authority.hpp"

#include <cctype>
#include <charconv>
#include <iterator>

namespace txoutbox::detail::uri {
namespace {

bool is_name_char(char c) noexcept {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-' || c == '_';
}

}  // namespace

authority_problem split_host_port(std::string_view authority, host_port& out, colon_split split) {
  out = host_port{};
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos)
      return authority_problem::unclosed_bracket;
    out.bracketed = true;
    out.host = authority.substr(1, close - 1);
    const auto after = authority.substr(close + 1);
    if (after.empty())
      return authority_problem::none;
    if (!after.starts_with(':'))
      return authority_problem::text_after_bracket;
    out.has_port = true;
    out.port = after.substr(1);
    return authority_problem::none;
  }
  const auto colon = split == colon_split::first ? authority.find(':') : authority.rfind(':');
  out.host = authority.substr(0, colon);
  if (colon != std::string_view::npos) {
    out.has_port = true;
    out.port = authority.substr(colon + 1);
  }
  return authority_problem::none;
}

std::optional<std::uint16_t> parse_port(std::string_view port) noexcept {
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

bool host_is_valid(const host_port& hp) noexcept {
  if (hp.host.empty())
    return false;
  for (const char c : hp.host) {
    if (!is_name_char(c) && !(hp.bracketed && c == ':'))
      return false;
  }
  return true;
}

bool is_ipv6_literal(std::string_view host) noexcept {
  return !host.empty() && host.find_first_not_of("0123456789abcdefABCDEF:.") == host.npos;
}

authority_problem check_host_port(std::string_view authority, host_port& out, bool port_required) {
  if (const auto shape = split_host_port(authority, out); shape != authority_problem::none)
    return shape;
  if (out.host.empty())
    return authority_problem::missing_host;
  if (!host_is_valid(out))
    return authority_problem::bad_host;
  if (!out.has_port)
    return port_required ? authority_problem::missing_port : authority_problem::none;
  if (out.port.empty())
    return authority_problem::empty_port;
  return parse_port(out.port) ? authority_problem::none : authority_problem::bad_port;
}

std::string authority_problem_text(authority_problem problem, const host_port& hp) {
  if (problem == authority_problem::bad_host)
    return "the host '" + std::string(hp.host) + "' has a character that is not allowed";
  if (problem == authority_problem::bad_port)
    return "the port '" + std::string(hp.port) + "' is not in 1..65535";
  // Indexed by authority_problem; bad_host and bad_port name what was parsed, above.
  static constexpr std::string_view texts[] = {
      "no problem", "unclosed '[' in the host", "expected ':port' after ']'", "the host is missing",
      "",           "the port is missing",      "the port is empty",          ""};
  static_assert(std::size(texts) == static_cast<std::size_t>(authority_problem::bad_port) + 1);
  return std::string(texts[static_cast<std::size_t>(problem)]);
}

userinfo_split split_userinfo(std::string_view authority) noexcept {
  const auto at = authority.rfind('@');
  if (at == std::string_view::npos)
    return {std::nullopt, authority};
  return {authority.substr(0, at), authority.substr(at + 1)};
}

credentials split_credentials(std::string_view userinfo) noexcept {
  const auto colon = userinfo.find(':');
  if (colon == std::string_view::npos)
    return {userinfo, std::nullopt};
  return {userinfo.substr(0, colon), userinfo.substr(colon + 1)};
}

}  // namespace txoutbox::detail::uri
