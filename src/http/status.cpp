// The HTTP publisher's status table: which responses are ok, unavailable, retry or reject.
#include "http/status.hpp"

#include "http/retry_after.hpp"

namespace txoutbox::http::detail {
namespace {

/// Statuses an operator fixes, not the message: wrong or missing credentials, a wrong or
/// retired URL, an endpoint that takes no POST or wants another protocol. The URL is the
/// same for every message, so whatever concerns the resource concerns them all. Rejecting would
/// dead-letter every message until someone noticed; unavailable holds them in the table.
bool is_operator_error(unsigned status) noexcept {
  switch (status) {
    case 401:  // Unauthorized
    case 402:  // Payment Required: the receiver's account, not the message
    case 403:  // Forbidden
    case 404:  // Not Found
    case 405:  // Method Not Allowed
    case 407:  // Proxy Authentication Required
    case 410:  // Gone: the endpoint was retired; a new URL is an operator's job
    case 414:  // URI Too Long: the URL is the configured one
    case 421:  // Misdirected Request
    case 426:  // Upgrade Required
    case 451:  // Unavailable For Legal Reasons: the resource, i.e. the URL
      return true;
    default:
      return false;
  }
}

/// The destination is overloaded or broken as a whole.
bool is_destination_busy(unsigned status) noexcept {
  return status == 408 || status == 429 || (status >= 500 && status < 600);
}

/// 4xx that concern this message at this moment and may pass later.
bool is_message_transient(unsigned status) noexcept {
  return status == 409      // Conflict: with the resource's current state
         || status == 423   // Locked
         || status == 425;  // Too Early
}

}  // namespace

publish_result classify_status(unsigned status, const std::string& status_line,
                               std::string_view retry_after,
                               std::chrono::system_clock::time_point now) {
  if (status >= 200 && status < 300)
    return publish_result::ok();
  if (status >= 400 && status < 500 && !is_operator_error(status) && !is_destination_busy(status)) {
    if (is_message_transient(status))
      return publish_result::retry(status_line, parse_retry_after(retry_after, now));
    return publish_result::reject(status_line);
  }
  // 3xx, 5xx, the operator's 4xx, 408, 429, and 1xx or out-of-range codes.
  return publish_result::unavailable(status_line, parse_retry_after(retry_after, now));
}

}  // namespace txoutbox::http::detail
