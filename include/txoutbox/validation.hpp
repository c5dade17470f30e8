// Validation of messages before anything touches the database.
#pragma once

#include <cstddef>
#include <string_view>

#include "txoutbox/message.hpp"

namespace txoutbox {

/// Limits applied by validate() and by every writer.
struct validation_options {
  /// Largest accepted payload in bytes. The default stays below Kafka's default
  /// 1,000,000-byte message limit with room for the headers.
  std::size_t max_payload_bytes = 900'000;
  /// Largest accepted routing field (aggregate type, aggregate id, type) in bytes.
  /// 255 fits every backend's key columns (MariaDB indexes aggregateid as VARCHAR(255)),
  /// so an over-long key is refused here, naming the field, not by the database.
  std::size_t max_field_bytes = 255;
};

/// Throws usage_error naming the field when the message is unfit for the outbox:
/// - aggregate_type, aggregate_id, type empty or over max_field_bytes;
/// - any text field not valid UTF-8 or containing NUL;
/// - a control character (U+0000..U+001F, U+007F, U+0080..U+009F) in aggregate_type,
///   aggregate_id or type, which travel in transport headers; other non-ASCII text is fine;
/// - payload not valid JSON (iterative parse, so nesting depth cannot overflow the
///   stack), containing \u0000 or a lone surrogate escape, or over max_payload_bytes;
/// - a header name that is not an HTTP token, is a duplicate ignoring case, or is
///   reserved (content-type, content-length, ce-*, ce_*, webhook-*); a header value with
///   CR, LF or NUL or invalid UTF-8;
/// - deliver_after negative.
/// A non-nil id is accepted as given (it is a UUID by construction).
void validate(const message& msg, const validation_options& options = {});

/// True when `text` is one complete JSON value that validate() would accept as a payload.
bool is_valid_json(std::string_view text) noexcept;

/// True when `text` is valid UTF-8 with no NUL byte.
bool is_clean_utf8(std::string_view text) noexcept;

}  // namespace txoutbox
