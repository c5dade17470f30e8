// Unit tests of the HTTP status table: which statuses are ok, unavailable, retry or reject.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "http/status.hpp"

using namespace std::chrono_literals;
using txoutbox::publish_status;
namespace d = txoutbox::http::detail;

namespace {

publish_status status_of(unsigned code) {
  return d::classify_status(code, "HTTP/1.1 " + std::to_string(code), "",
                            std::chrono::system_clock::now())
      .status;
}

}  // namespace

TEST_CASE("http status table: 2xx ok, destination and operator errors unavailable",
          "[http][status]") {
  for (unsigned code : {200u, 201u, 202u, 204u, 299u})
    CHECK(status_of(code) == publish_status::ok);
  for (unsigned code : {500u, 501u, 502u, 503u, 504u, 505u, 599u, 408u, 429u})
    CHECK(status_of(code) == publish_status::unavailable);
  for (unsigned code : {401u, 402u, 403u, 404u, 405u, 407u, 410u, 414u, 421u, 426u, 451u})
    CHECK(status_of(code) == publish_status::unavailable);
  for (unsigned code : {300u, 301u, 302u, 303u, 307u, 308u})  // redirects are not followed
    CHECK(status_of(code) == publish_status::unavailable);
  for (unsigned code : {101u, 600u, 999u, 0u})  // not an HTTP/1.1 answer to a POST
    CHECK(status_of(code) == publish_status::unavailable);
}

TEST_CASE("http status table: the message's 4xx reject, its transient 4xx retry",
          "[http][status]") {
  for (unsigned code : {400u, 406u, 411u, 412u, 413u, 415u, 416u, 417u, 418u, 422u, 428u, 431u})
    CHECK(status_of(code) == publish_status::reject);
  for (unsigned code : {409u, 423u, 425u})
    CHECK(status_of(code) == publish_status::retry);
}

TEST_CASE("http status table keeps the status line as reason and Retry-After as hint",
          "[http][status]") {
  const auto now = std::chrono::system_clock::now();
  const auto busy = d::classify_status(503, "HTTP/1.1 503 Service Unavailable", "7", now);
  CHECK(busy.status == publish_status::unavailable);
  CHECK(busy.reason == "HTTP/1.1 503 Service Unavailable");
  CHECK(busy.retry_after == 7000ms);
  CHECK(d::classify_status(429, "x", "120", now).retry_after == 120'000ms);
  CHECK(d::classify_status(409, "x", "2", now).retry_after == 2000ms);  // message-level retry
  CHECK_FALSE(d::classify_status(503, "x", "", now).retry_after.has_value());
  CHECK_FALSE(d::classify_status(503, "x", "-1", now).retry_after.has_value());
  const auto bad = d::classify_status(422, "HTTP/1.1 422 Unprocessable Entity", "5", now);
  CHECK(bad.status == publish_status::reject);
  CHECK(bad.reason == "HTTP/1.1 422 Unprocessable Entity");
  CHECK_FALSE(bad.retry_after.has_value());  // a reject is not retried: no hint
}
