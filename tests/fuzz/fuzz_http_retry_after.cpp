// Fuzz target: the HTTP Retry-After parser (delay-seconds and the three HTTP-date forms):
// never throws or reads past its input, an accepted delay is within [0, max_retry_after],
// and the answer does not depend on text around the value but spaces and tabs.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_input.hpp"
#include "http/retry_after.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using txoutbox::http::detail::max_retry_after;
  using txoutbox::http::detail::parse_retry_after;
  const std::string_view text = txoutbox::fuzz::as_text(data, size);
  // A fixed "now" keeps runs reproducible: 2026-01-01T00:00:00Z.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'767'225'600));
  const auto delay = parse_retry_after(text, now);
  if (!delay)
    return 0;
  if (delay->count() < 0 || *delay > max_retry_after)
    txoutbox::fuzz::property_failed("a Retry-After delay outside [0, max_retry_after]");
  const std::string padded = " \t" + std::string(text) + "\t ";
  if (parse_retry_after(padded, now) != delay)
    txoutbox::fuzz::property_failed("surrounding spaces changed a Retry-After's meaning");
  return 0;
}
