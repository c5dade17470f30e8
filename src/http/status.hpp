// What an HTTP response status means for a message: the HTTP publisher's result table.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "txoutbox/publisher.hpp"

namespace txoutbox::http::detail {

/// Maps the status of a final response to a result (docs/publishers/http.md, "Results"):
/// - 2xx: ok.
/// - unavailable, the destination's fault or its operator's to fix, no attempt burned:
///   5xx, 408, 429; 401, 402, 403, 407 (credentials, account); 404, 405, 410, 414, 421,
///   426, 451 and every 3xx (the URL or the endpoint is wrong: redirects are never
///   followed); 101 and anything outside 100..599 (not an HTTP/1.1 answer to a POST).
/// - retry, this message now, again later: 409, 423, 425.
/// - reject, the message's fault: 400, 413, 422 and every other 4xx.
/// `status_line` ("HTTP/1.1 404 Not Found") is the reason of a failure. `retry_after` is the
/// raw header value (may be empty): parsed against `now`, it becomes the hint of an
/// unavailable or retry result; a value that does not parse is ignored.
publish_result classify_status(unsigned status, const std::string& status_line,
                               std::string_view retry_after,
                               std::chrono::system_clock::time_point now);

}  // namespace txoutbox::http::detail
