// Unit tests of the Retry-After parser: both forms of RFC 9110 §10.2.3, and what it ignores.
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "http/retry_after.hpp"

using namespace std::chrono_literals;
namespace d = txoutbox::http::detail;

namespace {

/// Sun, 06 Nov 1994 08:49:30 GMT: seven seconds before RFC 9110's example date.
const auto example_now = std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 30s;

}  // namespace

TEST_CASE("Retry-After delay-seconds become a delay", "[http][retry-after]") {
  CHECK(d::parse_retry_after("7", example_now) == 7000ms);
  CHECK(d::parse_retry_after("0", example_now) == 0ms);
  CHECK(d::parse_retry_after("120", example_now) == 120'000ms);
  CHECK(d::parse_retry_after("007", example_now) == 7000ms);
  CHECK(d::parse_retry_after(" \t7 ", example_now) == 7000ms);  // OWS around the value
  CHECK(d::parse_retry_after("2147483647", example_now) == 2'147'483'647'000ms);
  CHECK(d::parse_retry_after("00000000000000000000000000042", example_now) == 42'000ms);
}

TEST_CASE("Retry-After ignores huge, negative and malformed delays", "[http][retry-after]") {
  for (const char* value : {"", "   ", "2147483648", "99999999999999999999999999999",
                            "18446744073709551617", "-5", "+5", "5.0", "5s", "1e3", "0x10", "5, 6",
                            "5 6", "soon", "\xEF\xBC\x95" /* fullwidth 5 */, "5\r\n"}) {
    INFO("value: '" << value << "'");
    CHECK_FALSE(d::parse_retry_after(value, example_now).has_value());
  }
  CHECK_FALSE(d::parse_retry_after(std::string("5\0", 2), example_now).has_value());
}

TEST_CASE("Retry-After HTTP-dates in all three forms become the distance to them",
          "[http][retry-after]") {
  CHECK(d::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", example_now) == 7000ms);
  CHECK(d::parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", example_now) == 7000ms);
  CHECK(d::parse_retry_after("Sun Nov  6 08:49:37 1994", example_now) == 7000ms);
  CHECK(d::parse_retry_after("Sun Nov 06 08:49:37 1994", example_now) == 7000ms);
  // Across a month, a year and a leap day.
  CHECK(d::parse_retry_after("Thu, 01 Dec 1994 00:00:00 GMT", example_now) ==
        std::chrono::milliseconds((24 * 24 * 3600 + 15 * 3600 + 10 * 60 + 30) * 1000LL));
  const auto leap_now = std::chrono::sys_days{std::chrono::year{2024} / 2 / 28} + 23h;
  CHECK(d::parse_retry_after("Thu, 29 Feb 2024 00:00:00 GMT", leap_now) == 3'600'000ms);
  // A fraction of a second in `now` is kept: the date is 6.5 s away.
  CHECK(d::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", example_now + 500ms) == 6500ms);
}

TEST_CASE("Retry-After dates in the past mean now", "[http][retry-after]") {
  CHECK(d::parse_retry_after("Sun, 06 Nov 1994 08:49:30 GMT", example_now) == 0ms);
  CHECK(d::parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", example_now) == 0ms);
  CHECK(d::parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", example_now) == 0ms);
  CHECK(d::parse_retry_after("Mon, 01 Jan 0001 00:00:00 GMT", example_now) == 0ms);
}

TEST_CASE("Retry-After reads an RFC 850 two-digit year as at most 50 years ahead",
          "[http][retry-after]") {
  const auto now_2026 = std::chrono::sys_days{std::chrono::year{2026} / 1 / 1};
  // 2070 is 44 years ahead: kept. 2080 would be 54: read as 1980, in the past.
  const auto in_2070 = d::parse_retry_after("Wednesday, 01-Jan-70 00:00:00 GMT", now_2026);
  REQUIRE(in_2070.has_value());
  CHECK(*in_2070 == std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::sys_days{std::chrono::year{2070} / 1 / 1} - now_2026));
  CHECK(d::parse_retry_after("Tuesday, 01-Jan-80 00:00:00 GMT", now_2026) == 0ms);
  CHECK(d::parse_retry_after("Friday, 02-Jan-26 00:00:00 GMT", now_2026) == 86'400'000ms);
}

TEST_CASE("Retry-After ignores malformed, impossible and far-future dates", "[http][retry-after]") {
  for (const char* value : {
           "Sun, 06 Foo 1994 08:49:37 GMT",    // no such month
           "Sun, 31 Nov 1994 08:49:37 GMT",    // no such day
           "Tue, 29 Feb 2023 08:49:37 GMT",    // not a leap year
           "Sun, 06 Nov 1994 24:00:00 GMT",    // hour
           "Sun, 06 Nov 1994 08:60:00 GMT",    // minute
           "Sun, 06 Nov 1994 08:49:61 GMT",    // second
           "Sun, 06 Nov 1994 08:49:37 UTC",    // only GMT
           "Sun, 06 Nov 1994 08:49:37",        // no zone
           "Sun, 06 Nov 1994 08:49:37 GMT x",  // trailing text
           "Sun,06 Nov 1994 08:49:37 GMT",     // missing space
           "Sun, 6 Nov 1994 08:49:37 GMT",     // one-digit day
           "Sun, 06 Nov 94 08:49:37 GMT",      // two-digit year in IMF-fixdate
           "Sun, 06 Nov +994 08:49:37 GMT",    // a sign inside
           "Sun, 06 Nov 1994 8:49:37 GMT",     // one-digit hour
           "sun, 06 nov 1994 08:49:37 gmt",    // case-sensitive, as RFC 9110 says
           "Xyz, 06 Nov 1994 08:49:37 GMT",    // no such day name
           "Sun, 06 Nov 9999 08:49:37 GMT",    // beyond max_retry_after
           "Sun Nov 6 08:49:37 1994",          // asctime needs two columns for the day
           "Sunday, 06-Nov-1994 08:49:37 GMT"  // RFC 850 has a two-digit year
       }) {
    INFO(value);
    CHECK_FALSE(d::parse_retry_after(value, example_now).has_value());
  }
}
