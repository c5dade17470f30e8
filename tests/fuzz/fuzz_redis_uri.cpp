// Fuzz target: the redis publisher's URI and --publisher-opt parser (redis::parse_publisher_uri).
// Input: the URI on the first line, one key=value option per further line.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/redis/publisher.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto in = txoutbox::fuzz::split_uri_input(txoutbox::fuzz::as_text(data, size));
  try {
    (void)txoutbox::redis::parse_publisher_uri(in.uri, in.opts);
  } catch (const txoutbox::usage_error&) {
    // documented: a malformed URI or a bad option
  }
  return 0;
}
