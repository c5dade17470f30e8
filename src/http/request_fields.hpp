// The header fields of one webhook POST: options, message headers, CloudEvents, signing.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "txoutbox/message.hpp"
#include "txoutbox/outbox_record.hpp"
#include "txoutbox/publisher.hpp"

namespace txoutbox::http::detail {

/// A CloudEvents attribute value as an HTTP header value (CloudEvents HTTP binding
/// §3.1.3.2): every byte of its UTF-8 form that is a space, `"`, `%` or outside printable
/// ASCII (0x21..0x7E) becomes `%XY` (upper-case hex); the rest is copied. "Zürich" is sent
/// as "Z%C3%BCrich". Never throws but for allocation.
std::string percent_encode_attribute(std::string_view value);

/// Why `value` cannot be an option that travels in a header (the source, an extra
/// header's value): not valid UTF-8, or a control character (CR, LF, NUL, tab, DEL, C1),
/// with its offset. nullopt when it is fine.
std::optional<std::string> header_text_problem(std::string_view value);

/// What every request of one publisher shares. Views into the publisher's config.
struct request_settings {
  const header_map* extra_headers = nullptr;
  std::string_view source{};       ///< ce-source as configured (encoded here)
  std::string_view signing_key{};  ///< decoded HMAC key; empty = unsigned
  std::string_view host_header{};
};

/// Header fields in the order they are to be set; setting one replaces an earlier field
/// of the same name (case-insensitive), which gives the precedence.
using field_list = std::vector<std::pair<std::string, std::string>>;

/// The fields of the POST that carries `rec`: the extra headers, then the message's
/// headers (framing headers dropped), then the publisher's own (host, user-agent,
/// content-type, ce-*, and with a key webhook-id/-timestamp/-signature, signed at `now`).
/// ce-* values are percent-encoded. Returns a reject, and leaves `out` unspecified, for a
/// record that cannot be sent: a routing field with a control character (validate()
/// refuses them at enqueue, but a row written by plain SQL may carry one), a message
/// header whose name is no token or whose value holds CR, LF or NUL.
std::optional<publish_result> build_request_fields(const outbox_record& rec,
                                                   const request_settings& settings,
                                                   std::chrono::system_clock::time_point now,
                                                   field_list& out);

}  // namespace txoutbox::http::detail
