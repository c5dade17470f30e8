// Fuzz target: the headers column's JSON (headers_from_json, headers_to_json): any text
// reads without throwing, and what it reads writes and reads back the same.
#include <cstddef>
#include <cstdint>

#include "core/wire_format.hpp"
#include "fuzz_input.hpp"
#include "txoutbox/validation.hpp"

namespace {

/// A header map read from `text` as NUL-separated name, value pairs (the writers' side:
/// any clean UTF-8 text, including what validate() would refuse).
txoutbox::header_map pairs_from(std::string_view text) {
  txoutbox::header_map out;
  while (!text.empty()) {
    const auto a = text.find('\0');
    const std::string_view name = text.substr(0, a);
    text = a == std::string_view::npos ? std::string_view() : text.substr(a + 1);
    const auto b = text.find('\0');
    const std::string_view value = text.substr(0, b);
    text = b == std::string_view::npos ? std::string_view() : text.substr(b + 1);
    out.insert_or_assign(std::string(name), std::string(value));
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace txoutbox;
  const std::string_view text = fuzz::as_text(data, size);
  // A headers column written by anyone: documented never to throw on bad input.
  const header_map read = detail::headers_from_json(text);
  if (detail::headers_from_json(detail::headers_to_json(read)) != read)
    fuzz::property_failed("headers read from a column do not round-trip");
  // A header map of clean UTF-8 written by the stores must read back unchanged.
  if (is_clean_utf8(text)) {
    const header_map written = pairs_from(text);
    if (detail::headers_from_json(detail::headers_to_json(written)) != written)
      fuzz::property_failed("written headers do not read back unchanged");
  }
  return 0;
}
