// Fuzz target: the message id (UUID) parser: parse and try_parse agree, and an accepted id
// prints as the input in lower case and parses back to itself.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "fuzz_input.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/message_id.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using txoutbox::message_id;
  const std::string_view text = txoutbox::fuzz::as_text(data, size);
  const std::optional<message_id> tried = message_id::try_parse(text);
  std::optional<message_id> parsed;
  try {
    parsed = message_id::parse(text);
  } catch (const txoutbox::usage_error&) {
    // documented: anything but the 8-4-4-4-12 form
  }
  if (tried != parsed)
    txoutbox::fuzz::property_failed("parse and try_parse disagree");
  if (!parsed)
    return 0;
  const std::string printed = parsed->to_string();
  std::string lower(text);
  for (char& c : lower) {
    if (c >= 'A' && c <= 'F')
      c = static_cast<char>(c - 'A' + 'a');
  }
  if (printed != lower)
    txoutbox::fuzz::property_failed("an id does not print as its input in lower case");
  if (message_id::parse(printed) != *parsed)
    txoutbox::fuzz::property_failed("a printed id does not parse back to itself");
  (void)std::hash<message_id>{}(*parsed);
  return 0;
}
