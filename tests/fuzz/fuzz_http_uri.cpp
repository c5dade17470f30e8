// Fuzz target: the HTTP publisher's URL parser (parse_url) and its --publisher-opt parser.
// Input: the URL on the first line, one key=value option per further line.
#include <cstddef>
#include <cstdint>

#include "fuzz_input.hpp"
#include "http/detail.hpp"
#include "http/options.hpp"
#include "txoutbox/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace txoutbox;
  const auto in = fuzz::split_uri_input(fuzz::as_text(data, size));
  try {
    (void)http::detail::parse_publisher_options(in.uri, in.opts);
  } catch (const usage_error&) {
    // documented: a bad option
  }
  http::detail::url_parts url;
  try {
    url = http::detail::parse_url(in.uri);
  } catch (const usage_error&) {
    return 0;  // documented: a malformed URL
  }
  if (url.port.empty() || !url.target.starts_with("/") || url.host.empty())
    fuzz::property_failed("parse_url accepted a URL without host, port or target");
  // What goes on the wire must not be able to split a request line or a header.
  for (const std::string* part : {&url.host, &url.target, &url.host_header}) {
    if (part->find_first_of(std::string_view("\r\n\0 ", 4)) != std::string::npos)
      fuzz::property_failed("parse_url accepted CR, LF, NUL or a space in a request part");
  }
  return 0;
}
