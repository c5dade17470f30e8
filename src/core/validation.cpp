// Message validation: every rule a message must pass before a writer touches the database.
#include "txoutbox/validation.hpp"

#include <algorithm>
#include <map>
#include <string>

#include "json_util.hpp"
#include "text_util.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox {

namespace {

[[noreturn]] void fail(errc code, std::string field, const std::string& problem) {
  std::string what = field + ": " + problem;
  throw usage_error(code, std::move(field), what);
}

/// A text field must be valid UTF-8 without NUL; says where it is not.
void check_text(std::string_view value, const std::string& field) {
  if (const auto nul = value.find('\0'); nul != std::string_view::npos) {
    fail(errc::invalid_message, field, "contains a NUL byte at offset " + std::to_string(nul));
  }
  if (const auto bad = detail::utf8_error_offset(value); bad != std::string_view::npos) {
    fail(errc::invalid_message, field, "not valid UTF-8 at offset " + std::to_string(bad));
  }
}

void check_routing_field(std::string_view value, const char* field,
                         const validation_options& options) {
  if (value.empty())
    fail(errc::invalid_message, field, "must not be empty");
  if (value.size() > options.max_field_bytes) {
    fail(errc::invalid_message, field,
         std::to_string(value.size()) + " bytes exceeds the limit of " +
             std::to_string(options.max_field_bytes));
  }
  check_text(value, field);
  // Routing fields travel in headers (ce-subject, ce-type, NATS subjects, Kafka keys):
  // a CR/LF there would start a header or a request of its own.
  if (const auto control = detail::find_control_char(value))
    fail(errc::invalid_message, field, detail::control_char_text(*control));
}

/// RFC 9110 section 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" /
/// "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
constexpr bool is_tchar(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
    return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view name) noexcept {
  return !name.empty() && std::all_of(name.begin(), name.end(), is_tchar);
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

/// Names the transports set themselves (HTTP framing, CloudEvents attributes in the
/// HTTP and Kafka bindings, Standard Webhooks signing): a user header must not clash.
bool is_reserved(const std::string& lower) noexcept {
  return lower == "content-type" || lower == "content-length" || lower.starts_with("ce-") ||
         lower.starts_with("ce_") || lower.starts_with("webhook-");
}

void check_headers(const header_map& headers) {
  std::map<std::string, std::string_view> seen;  // lower-case name -> name as given
  for (const auto& [name, value] : headers) {
    const std::string field = "headers[" + detail::printable(name) + "]";
    if (!is_token(name))
      fail(errc::invalid_message, field, "not an HTTP token");
    std::string lower = ascii_lower(name);
    if (is_reserved(lower)) {
      fail(errc::invalid_message, field,
           "reserved name (content-type, content-length, ce-*, ce_* and webhook-* are set "
           "by the transport)");
    }
    if (const auto [it, fresh] = seen.emplace(std::move(lower), name); !fresh) {
      fail(errc::invalid_message, field,
           "duplicate of header \"" + detail::printable(it->second) +
               "\" (names are case-insensitive)");
    }
    if (const auto pos = value.find_first_of(std::string_view("\r\n\0", 3));
        pos != std::string::npos) {
      const char* what = value[pos] == '\r' ? "CR" : value[pos] == '\n' ? "LF" : "NUL";
      fail(errc::invalid_message, field,
           std::string("value contains ") + what + " at offset " + std::to_string(pos));
    }
    if (const auto bad = detail::utf8_error_offset(value); bad != std::string::npos) {
      fail(errc::invalid_message, field,
           "value is not valid UTF-8 at offset " + std::to_string(bad));
    }
  }
}

}  // namespace

void validate(const message& msg, const validation_options& options) {
  check_routing_field(msg.aggregate_type, "aggregate_type", options);
  check_routing_field(msg.aggregate_id, "aggregate_id", options);
  check_routing_field(msg.type, "type", options);

  if (msg.payload.size() > options.max_payload_bytes) {
    fail(errc::payload_too_large, "payload",
         std::to_string(msg.payload.size()) + " bytes exceeds the limit of " +
             std::to_string(options.max_payload_bytes));
  }
  if (auto problem = detail::check_json(msg.payload)) {
    fail(errc::invalid_message, "payload", problem->reason);
  }

  check_headers(msg.headers);

  if (msg.deliver_after && msg.deliver_after->count() < 0) {
    fail(errc::invalid_message, "deliver_after",
         "must not be negative (got " + std::to_string(msg.deliver_after->count()) + " ms)");
  }
}

bool is_valid_json(std::string_view text) noexcept {
  try {
    return !detail::check_json(text).has_value();
  } catch (...) {  // std::bad_alloc from the parse stack or the message text
    return false;
  }
}

bool is_clean_utf8(std::string_view text) noexcept {
  return text.find('\0') == std::string_view::npos &&
         detail::utf8_error_offset(text) == std::string_view::npos;
}

}  // namespace txoutbox
