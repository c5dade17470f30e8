// Private: the publishers' defence in depth, a reject for a record whose routing field or
// header could break a line-based protocol.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/routing_field.hpp"
#include "core/text_util.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/publisher.hpp"

namespace txoutbox::detail {

/// The reason a message header must not be put into a header line, or nullopt: its name
/// holds a control character, or its value CR, LF or NUL (a TAB stays legal in a value, as
/// in HTTP): "unsafe routing field: headers[x-note] value contains the control character
/// U+000A at offset 3". validate() refuses the same at enqueue; this guards rows it never
/// saw. O(total header size).
inline std::optional<std::string> unsafe_header(const message& msg) {
  for (const auto& [name, value] : msg.headers) {
    const std::string field = "unsafe routing field: headers[" + printable(name, 64) + "]";
    if (const auto control = find_control_char(name))
      return field + " name " + control_char_text(*control);
    if (const auto pos = value.find_first_of(std::string_view("\r\n\0", 3));
        pos != std::string::npos) {
      const control_char c{static_cast<unsigned char>(value[pos]), pos};
      return field + " value " + control_char_text(c);
    }
  }
  return std::nullopt;
}

/// The `reject` of a record that must not be routed (unsafe_routing_field(), then
/// unsafe_header() when `with_headers`), or nullopt. The relay screens routing fields
/// before a batch reaches a publisher; a publisher called directly checks again before it
/// builds a header, a subject or a key.
inline std::optional<publish_result> routing_reject(const message& msg, bool with_headers) {
  if (auto reason = unsafe_routing_field(msg))
    return publish_result::reject(std::move(*reason));
  if (with_headers) {
    if (auto reason = unsafe_header(msg))
      return publish_result::reject(std::move(*reason));
  }
  return std::nullopt;
}

}  // namespace txoutbox::detail
