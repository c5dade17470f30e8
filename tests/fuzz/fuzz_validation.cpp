// Fuzz target: message validation (validate, is_valid_json, is_clean_utf8), and that a
// message validate() accepts survives the JSON-lines envelope.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "txoutbox/envelope.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/validation.hpp"

namespace {

/// The message the input describes: three routing fields, up to four headers, an optional
/// delay, and the rest of the input as the payload.
txoutbox::message make_message(FuzzedDataProvider& in) {
  txoutbox::message msg;
  msg.aggregate_type = in.ConsumeRandomLengthString(300);
  msg.aggregate_id = in.ConsumeRandomLengthString(300);
  msg.type = in.ConsumeRandomLengthString(300);
  const int headers = in.ConsumeIntegralInRange(0, 4);
  for (int i = 0; i < headers; ++i) {
    std::string name = in.ConsumeRandomLengthString(40);
    msg.headers.insert_or_assign(std::move(name), in.ConsumeRandomLengthString(200));
  }
  if (in.ConsumeBool())
    msg.deliver_after = std::chrono::milliseconds(in.ConsumeIntegral<std::int64_t>());
  msg.payload = in.ConsumeRemainingBytesAsString();
  return msg;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace txoutbox;
  FuzzedDataProvider in(data, size);
  const auto small = in.ConsumeBool();
  message msg = make_message(in);
  const bool json_ok = is_valid_json(msg.payload);
  (void)is_clean_utf8(msg.payload);
  try {
    validate(msg, small ? validation_options{.max_payload_bytes = 64, .max_field_bytes = 8}
                        : validation_options{});
  } catch (const usage_error&) {
    return 0;  // documented: the message is unfit, the error names the field
  }
  if (!json_ok)
    fuzz::property_failed("validate() accepted a payload is_valid_json() refuses");
  if (!is_clean_utf8(msg.aggregate_type) || !is_clean_utf8(msg.aggregate_id) ||
      !is_clean_utf8(msg.type)) {
    fuzz::property_failed("validate() accepted a routing field that is not clean UTF-8");
  }
  // A valid message must go through the envelope (the file and stdout publishers).
  msg.id = message_id::generate();
  outbox_record rec{.msg = msg};
  const outbox_record back = parse_json_line(to_json_line(rec));
  if (back.msg.aggregate_type != msg.aggregate_type || back.msg.aggregate_id != msg.aggregate_id ||
      back.msg.type != msg.type || back.msg.headers != msg.headers || back.msg.id != msg.id) {
    fuzz::property_failed("a valid message does not survive the envelope");
  }
  if (!is_valid_json(back.msg.payload))
    fuzz::property_failed("a valid message's payload comes back invalid from the envelope");
  return 0;
}
