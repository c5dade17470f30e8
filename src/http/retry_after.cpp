// Retry-After parsing for the HTTP publisher: a strict hand-written reader of RFC 9110 dates.
#include "http/retry_after.hpp"

#include <array>
#include <cstdint>

namespace txoutbox::http::detail {
namespace {

using std::string_view;

constexpr std::array<string_view, 7> day_names{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<string_view, 7> long_day_names{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                    "Friday", "Saturday", "Sunday"};
constexpr std::array<string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/// A broken-down UTC time as read, before any range check.
struct civil_time {
  int year = 0;
  int month = 0;  ///< 1..12
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
};

/// Reads the value left to right; each step consumes only what it matched.
struct cursor {
  string_view rest;

  bool literal(string_view text) noexcept {
    if (!rest.starts_with(text))
      return false;
    rest.remove_prefix(text.size());
    return true;
  }

  /// Exactly `n` decimal digits.
  bool digits(std::size_t n, int& out) noexcept {
    if (rest.size() < n)
      return false;
    int value = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (rest[i] < '0' || rest[i] > '9')
        return false;
      value = value * 10 + (rest[i] - '0');
    }
    rest.remove_prefix(n);
    out = value;
    return true;
  }

  /// One of `names`; `index` is its position.
  template <std::size_t N>
  bool one_of(const std::array<string_view, N>& names, int& index) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }

  bool month(int& out) noexcept {
    int index = 0;
    if (!one_of(month_names, index))
      return false;
    out = index + 1;
    return true;
  }

  /// time-of-day = hour ":" minute ":" second, two digits each.
  bool time_of_day(civil_time& t) noexcept {
    return digits(2, t.hour) && literal(":") && digits(2, t.minute) && literal(":") &&
           digits(2, t.second);
  }

  bool done() const noexcept { return rest.empty(); }
};

/// IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
bool read_imf_fixdate(string_view text, civil_time& t) noexcept {
  cursor c{text};
  int ignored = 0;
  return c.one_of(day_names, ignored) && c.literal(", ") && c.digits(2, t.day) && c.literal(" ") &&
         c.month(t.month) && c.literal(" ") && c.digits(4, t.year) && c.literal(" ") &&
         c.time_of_day(t) && c.literal(" GMT") && c.done();
}

/// RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`. The year is left as two digits.
bool read_rfc850_date(string_view text, civil_time& t) noexcept {
  cursor c{text};
  int ignored = 0;
  return c.one_of(long_day_names, ignored) && c.literal(", ") && c.digits(2, t.day) &&
         c.literal("-") && c.month(t.month) && c.literal("-") && c.digits(2, t.year) &&
         c.literal(" ") && c.time_of_day(t) && c.literal(" GMT") && c.done();
}

/// asctime: `Sun Nov  6 08:49:37 1994` (the day is two digits or a space and one digit).
bool read_asctime_date(string_view text, civil_time& t) noexcept {
  cursor c{text};
  int ignored = 0;
  if (!(c.one_of(day_names, ignored) && c.literal(" ") && c.month(t.month) && c.literal(" ")))
    return false;
  if (!(c.literal(" ") ? c.digits(1, t.day) : c.digits(2, t.day)))
    return false;
  return c.literal(" ") && c.time_of_day(t) && c.literal(" ") && c.digits(4, t.year) && c.done();
}

/// Seconds since the Unix epoch of a valid time; nullopt for an impossible one. A leap
/// second (:60) is accepted and counts as the next second, which is close enough here.
std::optional<std::int64_t> to_unix_seconds(const civil_time& t) noexcept {
  using namespace std::chrono;
  const year_month_day date{year{t.year}, month{static_cast<unsigned>(t.month)},
                            day{static_cast<unsigned>(t.day)}};
  if (!date.ok() || t.hour > 23 || t.minute > 59 || t.second > 60)
    return std::nullopt;
  const std::int64_t days_since_epoch = sys_days(date).time_since_epoch().count();
  return days_since_epoch * 86'400 + t.hour * 3'600 + t.minute * 60 + t.second;
}

/// The full year of an RFC 850 two-digit year: RFC 9110 §5.6.7 reads a year that looks more
/// than 50 years in the future as the most recent past year with the same last two digits.
int rfc850_full_year(int two_digits, std::chrono::system_clock::time_point now) noexcept {
  using namespace std::chrono;
  const int this_year = static_cast<int>(year_month_day(floor<days>(now)).year());
  int full = this_year - this_year % 100 + two_digits;
  if (full > this_year + 50)
    full -= 100;
  return full;
}

/// The date's seconds since the epoch, or nullopt when `text` is no HTTP-date.
std::optional<std::int64_t> parse_http_date(string_view text,
                                            std::chrono::system_clock::time_point now) noexcept {
  civil_time t;
  if (read_imf_fixdate(text, t) || read_asctime_date(text, t))
    return to_unix_seconds(t);
  t = civil_time{};
  if (read_rfc850_date(text, t)) {
    t.year = rfc850_full_year(t.year, now);
    return to_unix_seconds(t);
  }
  return std::nullopt;
}

/// delay-seconds = 1*DIGIT, at most max_retry_after.
std::optional<std::int64_t> parse_delay_seconds(string_view text) noexcept {
  if (text.empty())
    return std::nullopt;
  std::int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + (c - '0');
    if (value > max_retry_after.count())
      return std::nullopt;  // checked per digit, so it never overflows
  }
  return value;
}

constexpr bool is_ows(char c) noexcept {
  return c == ' ' || c == '\t';
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept {
  using std::chrono::milliseconds;
  while (!value.empty() && is_ows(value.front()))
    value.remove_prefix(1);
  while (!value.empty() && is_ows(value.back()))
    value.remove_suffix(1);
  if (value.empty())
    return std::nullopt;
  if (value.front() >= '0' && value.front() <= '9') {
    const auto seconds = parse_delay_seconds(value);
    if (!seconds)
      return std::nullopt;
    return milliseconds(*seconds * 1000);
  }
  const auto when = parse_http_date(value, now);
  if (!when)
    return std::nullopt;
  const std::int64_t now_ms =
      std::chrono::duration_cast<milliseconds>(now.time_since_epoch()).count();
  const std::int64_t delay_ms = *when * 1000 - now_ms;
  if (delay_ms <= 0)
    return milliseconds(0);
  if (delay_ms > std::chrono::duration_cast<milliseconds>(max_retry_after).count())
    return std::nullopt;
  return milliseconds(delay_ms);
}

}  // namespace txoutbox::http::detail
