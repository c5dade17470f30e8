// Fuzz target: the JSON-lines envelope parser (parse_json_line), and that what it accepts
// serialises and parses back to the same line.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "txoutbox/envelope.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/validation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace txoutbox;
  outbox_record rec;
  try {
    rec = parse_json_line(fuzz::as_text(data, size));
  } catch (const usage_error&) {
    return 0;  // documented: a malformed line names its field
  }
  if (!is_valid_json(rec.msg.payload))
    fuzz::property_failed("an accepted envelope's payload is not valid JSON");
  // to_json_line's precondition (a valid JSON payload) holds, so it must not throw.
  const std::string line = to_json_line(rec);
  const outbox_record again = parse_json_line(line);
  if (again.msg.id != rec.msg.id || again.msg.aggregate_type != rec.msg.aggregate_type ||
      again.msg.aggregate_id != rec.msg.aggregate_id || again.msg.type != rec.msg.type ||
      again.msg.headers != rec.msg.headers) {
    fuzz::property_failed("a serialised envelope parses back to other fields");
  }
  if (to_json_line(again) != line)
    fuzz::property_failed("serialise, parse, serialise is not stable");
  return 0;
}
