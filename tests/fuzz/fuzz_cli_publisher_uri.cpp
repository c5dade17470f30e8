// Fuzz target: the command line's --publisher URI parser (parse_publisher_uri): scheme
// dispatch, file:PATH and stdout and their options. Built without the transports, whose
// parsers are fuzz targets of their own. Input: the URI on the first line, one key=value
// --publisher-opt per further line.
#include <cstddef>
#include <cstdint>

#include "cli_output_stub.hpp"
#include "failure.hpp"
#include "fuzz_input.hpp"
#include "publisher_uri.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace txoutbox::cli;
  const auto in = txoutbox::fuzz::split_uri_input(txoutbox::fuzz::as_text(data, size));
  forget_secrets();
  try {
    (void)parse_publisher_uri(in.uri, in.opts);
  } catch (const failure&) {
    // documented: exit_usage for an unknown scheme, a missing path or a bad option
  }
  return 0;
}
