// Shared by the fuzz targets: the input as text, the URI-plus-options layout, and a failed
// property check that crashes (so libFuzzer saves the input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

namespace txoutbox::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// A publisher URI and its --publisher-opt pairs, as the command line hands them over.
struct uri_input {
  std::string uri;
  std::map<std::string, std::string> opts;
};

/// The first line is the URI; each further line is one key=value option (a line without
/// '=' is a key with an empty value; of a repeated key the first wins). Options whose key
/// ends in "-file" are dropped: they read the file the input names (/dev/zero never
/// ends), which is I/O, not parsing. "-env" options stay (they read the environment).
inline uri_input split_uri_input(std::string_view text) {
  uri_input in;
  const auto eol = text.find('\n');
  in.uri = std::string(text.substr(0, eol));
  if (eol == std::string_view::npos)
    return in;
  text.remove_prefix(eol + 1);
  while (!text.empty()) {
    const auto end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const auto eq = line.find('=');
    std::string key(line.substr(0, eq));
    if (key.ends_with("-file"))
      continue;
    in.opts.emplace(std::move(key), eq == std::string_view::npos
                                        ? std::string()
                                        : std::string(line.substr(eq + 1)));
  }
  return in;
}

/// A property the target checks does not hold: print it and abort, so libFuzzer reports
/// a crash and saves the input.
[[noreturn]] inline void property_failed(const char* what) {
  std::fprintf(stderr, "fuzz property failed: %s\n", what);
  std::abort();
}

}  // namespace txoutbox::fuzz
