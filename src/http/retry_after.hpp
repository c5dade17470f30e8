// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, read as a delay from now.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace txoutbox::http::detail {

/// The longest delay taken from a `Retry-After`: 2^31 - 1 seconds (about 68 years), the
/// bound RFC 9111 §1.2.2 sets for delta-seconds. A longer one is treated as garbage and
/// ignored; the relay caps any hint at its own backoff_max anyway.
inline constexpr std::chrono::seconds max_retry_after{2'147'483'647};

/// The delay a `Retry-After` value asks for, measured from `now`:
/// - delay-seconds, `1*DIGIT` (leading zeros allowed);
/// - an HTTP-date in any of the three forms of RFC 9110 §5.6.7: IMF-fixdate
///   (`Sun, 06 Nov 1994 08:49:37 GMT`) and the obsolete forms a recipient must accept,
///   RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`, two-digit year read as at most 50 years
///   ahead of `now`) and asctime (`Sun Nov  6 08:49:37 1994`). Case-sensitive, as the RFC
///   says; the day name is not checked against the date. A date at or before `now` gives 0.
///
/// Spaces and tabs around the value are ignored. Anything else gives nullopt: an empty
/// value, a sign, a fraction, a unit, a list, trailing text, an impossible date
/// (`31 Feb`), a delay over max_retry_after. Pure, no allocation, never throws.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept;

}  // namespace txoutbox::http::detail
