// make_message: the valid message the backend tests write, one definition for all of them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "txoutbox/message.hpp"

namespace txoutbox::testing {

/// A valid message for `key`: type "OrderPlaced", payload {"key": key, "n": n}.
inline message make_message(std::string_view key, int n = 0) {
  return message{
      .id = {},
      .aggregate_type = "order",
      .aggregate_id = std::string(key),
      .type = "OrderPlaced",
      .payload = R"({"key":")" + std::string(key) + R"(","n":)" + std::to_string(n) + "}",
      .headers = {},
      .deliver_after = std::nullopt};
}

}  // namespace txoutbox::testing
