// Which librdkafka properties hold secrets, so errors and options never print their values.
#pragma once

#include <array>
#include <string_view>

namespace txoutbox::detail {

/// True for properties whose value must never appear in an error or log line
/// (sasl.password, ssl.key.password, ssl.key.pem, sasl.oauthbearer.client.secret,
/// sasl.oauthbearer.config, ...). Errs on the side of hiding.
inline bool is_secret_property(std::string_view key) noexcept {
  static constexpr std::array<std::string_view, 8> markers{
      "password", "secret", "pem", "ssl.key", "ssl_key", "token", "credential", "oauthbearer"};
  for (auto marker : markers) {
    if (key.find(marker) != std::string_view::npos)
      return true;
  }
  return key == "sasl.jaas.config";
}

}  // namespace txoutbox::detail
