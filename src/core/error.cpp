// Names of the txoutbox error codes, for logs and test messages.
#include "txoutbox/error.hpp"

namespace txoutbox {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_message:
      return "invalid_message";
    case errc::payload_too_large:
      return "payload_too_large";
    case errc::invalid_identifier:
      return "invalid_identifier";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::no_transaction:
      return "no_transaction";
    case errc::malformed_input:
      return "malformed_input";
    case errc::connection_failed:
      return "connection_failed";
    case errc::not_migrated:
      return "not_migrated";
    case errc::config_mismatch:
      return "config_mismatch";
    case errc::lease_lost:
      return "lease_lost";
    case errc::timeout:
      return "timeout";
    case errc::io_failure:
      return "io_failure";
    case errc::internal:
      return "internal";
    case errc::owner_in_use:
      return "owner_in_use";
  }
  return "unknown";
}

}  // namespace txoutbox
