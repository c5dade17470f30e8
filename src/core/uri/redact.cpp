// Private URI toolkit: password redaction (see redact.hpp).
#include "core/uri/redact.hpp"

#include "core/uri/authority.hpp"

namespace txoutbox::detail::uri {
namespace {

/// The authority of "scheme://authority/...": from after "://" up to the first of "/?#".
std::optional<std::string_view> authority_of(std::string_view url) noexcept {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos)
    return std::nullopt;
  const auto rest = url.substr(scheme_end + 3);
  return rest.substr(0, rest.find_first_of("/?#"));
}

/// Replaces the value of every `password=` parameter after the first '?' with "***".
void redact_password_params(std::string& out) {
  static constexpr std::string_view key = "password=";
  for (std::size_t pos = out.find('?'); pos != std::string::npos;) {
    const auto at = out.find(key, pos);
    if (at == std::string::npos)
      break;
    const bool at_param_start = at > 0 && (out[at - 1] == '?' || out[at - 1] == '&');
    const auto value_start = at + key.size();
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
}

}  // namespace

std::optional<std::string_view> userinfo_password(std::string_view url) noexcept {
  const auto authority = authority_of(url);
  if (!authority)
    return std::nullopt;
  const auto userinfo = split_userinfo(*authority).userinfo;
  if (!userinfo)
    return std::nullopt;
  return split_credentials(*userinfo).password;
}

std::string redact_url(std::string_view url) {
  std::string out(url);
  if (const auto password = userinfo_password(url)) {
    const auto start = static_cast<std::size_t>(password->data() - url.data());
    out.replace(start, password->size(), "***");
  }
  redact_password_params(out);
  return out;
}

}  // namespace txoutbox::detail::uri
