// Private URI toolkit: hiding the password of a URL before it is printed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace txoutbox::detail::uri {

/// The password of the user info of `url` ("scheme://user:PASSWORD@host/..."), as written
/// (still percent-encoded); absent when the URL has none.
std::optional<std::string_view> userinfo_password(std::string_view url) noexcept;

/// `url` with the password of its user info and the value of every `password=` query
/// parameter replaced by "***". Text not shaped like scheme://... comes back unchanged but
/// for a `password=` parameter after a '?'.
std::string redact_url(std::string_view url);

}  // namespace txoutbox::detail::uri
