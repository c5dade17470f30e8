// Private argument check shared by the inbox backends (see inbox_check.hpp).
#include "core/inbox_check.hpp"

#include <string>

#include "txoutbox/error.hpp"
#include "txoutbox/validation.hpp"

namespace txoutbox::detail {
namespace {

void check_text(std::string_view value, const char* field) {
  if (value.empty()) {
    throw usage_error(errc::invalid_argument, field, std::string(field) + ": must not be empty");
  }
  if (!is_clean_utf8(value)) {
    throw usage_error(errc::invalid_argument, field,
                      std::string(field) + ": not valid UTF-8 or contains NUL");
  }
}

}  // namespace

void check_inbox_key(std::string_view consumer, std::string_view message_id) {
  check_text(consumer, "consumer");
  check_text(message_id, "message_id");
}

}  // namespace txoutbox::detail
