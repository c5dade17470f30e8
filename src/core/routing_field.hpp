// Private: whether a message's routing fields are safe to put into headers and subjects.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "core/text_util.hpp"
#include "txoutbox/message.hpp"

namespace txoutbox::detail {

/// The reason `msg` must not be routed, or nullopt when it may: "unsafe routing field:
/// aggregate_id contains the control character U+000D at offset 2". validate() refuses such
/// fields at enqueue; a row written by plain SQL may still carry one, and in a header
/// (ce-subject, ce-type, NATS headers) a CR/LF would add a header or smuggle a request. The
/// relay dead-letters such a row alone; publishers check again as defence in depth.
inline std::optional<std::string> unsafe_routing_field(const message& msg) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"aggregate_type", &msg.aggregate_type},
      {"aggregate_id", &msg.aggregate_id},
      {"type", &msg.type}};
  for (const auto& [name, value] : fields) {
    if (const auto control = find_control_char(*value))
      return std::string("unsafe routing field: ") + name + " " + control_char_text(*control);
  }
  return std::nullopt;
}

}  // namespace txoutbox::detail
