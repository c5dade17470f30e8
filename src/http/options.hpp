// The HTTP publisher's key=value options, parsed without building the publisher.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "txoutbox/http/publisher.hpp"

namespace txoutbox::http::detail {

/// The options make_publisher_from_uri(uri, opts) builds its publisher from: `uri` copied
/// into `url` unchecked (make_publisher parses it), every option checked.
/// Throws usage_error naming the bad option; reads a secret-env / secret-file secret.
publisher_options parse_publisher_options(std::string_view uri,
                                          const std::map<std::string, std::string>& opts);

}  // namespace txoutbox::http::detail
