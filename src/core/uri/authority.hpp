// Private URI toolkit: the host and port of a URL's authority, IPv6 literals and user info,
// with one set of error texts for every parser (publishers, SOCI, the command line).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace txoutbox::detail::uri {

/// What is wrong with an authority; `none` when it split cleanly.
enum class authority_problem {
  none,
  unclosed_bracket,    ///< "[::1" without its ']'
  text_after_bracket,  ///< "[::1]x": after ']' only ":port" may follow
  missing_host,        ///< "", ":80", "[]"
  bad_host,            ///< a character outside the host rule (see host_is_valid)
  missing_port,        ///< no ":port" where the parser requires one
  empty_port,          ///< "host:" (a ':' with no port after it)
  bad_port,            ///< not a decimal in 1..65535
};

/// Where an unbracketed "host:port" is split: at its first ':' (a host name holds none, so
/// "a:b:1" is a bad port) or its last (an unbracketed IPv6 address keeps its colons).
enum class colon_split { first, last };

/// The parts of "host[:port]" or "[v6 literal][:port]"; views into the parsed text.
struct host_port {
  std::string_view host;   ///< without the brackets of an IPv6 literal
  std::string_view port;   ///< empty when absent (see has_port)
  bool bracketed = false;  ///< the host was written "[...]"
  bool has_port = false;   ///< a ':' introduced a port, even an empty one
};

/// Splits `authority` (no user info, no path) into host and port. Checks only the shape:
/// brackets and what follows them; the host and port themselves are checked below.
/// Returns unclosed_bracket, text_after_bracket or none. Never throws.
authority_problem split_host_port(std::string_view authority, host_port& out,
                                  colon_split split = colon_split::first);

/// The port as a number when it is one to five decimal digits with a value in 1..65535.
std::optional<std::uint16_t> parse_port(std::string_view port) noexcept;

/// A host name or address of letters, digits, '.', '-' and '_' (and ':' inside brackets,
/// for an IPv6 literal); false when empty.
bool host_is_valid(const host_port& hp) noexcept;

/// Non-empty and only hex digits, ':' and '.' (what an IPv6 literal may hold).
bool is_ipv6_literal(std::string_view host) noexcept;

/// The whole check of a publisher's "host[:port]": split, host non-empty and valid, and the
/// port (when `port_required`, or when a ':' was written) in 1..65535.
authority_problem check_host_port(std::string_view authority, host_port& out,
                                  bool port_required = false);

/// The one text of each problem, for the parser's own message prefix. Names the host or the
/// port (never user info, which callers have split off before): `hp` is what was parsed.
std::string authority_problem_text(authority_problem problem, const host_port& hp);

/// "user[:password]" before the last '@' of an authority.
struct userinfo_split {
  std::optional<std::string_view> userinfo;  ///< absent when there is no '@'
  std::string_view host_port;                ///< what follows the last '@'
};

/// Splits user info from the rest of an authority at its last '@' (a password may hold '@'
/// only percent-encoded by the standard, but the last '@' also accepts it raw).
userinfo_split split_userinfo(std::string_view authority) noexcept;

/// "user" and "password" of user info, split at the first ':'; password absent without one.
struct credentials {
  std::string_view user;
  std::optional<std::string_view> password;
};
credentials split_credentials(std::string_view userinfo) noexcept;

}  // namespace txoutbox::detail::uri
