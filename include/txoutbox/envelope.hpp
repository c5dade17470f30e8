// The JSON-lines envelope: one outbox record as one JSON object on one line.
#pragma once

#include <string>
#include <string_view>

#include "txoutbox/outbox_record.hpp"

namespace txoutbox {

/// Serialises `rec` as
/// {"id","aggregatetype","aggregateid","type","payload","headers","created_at"}
/// with `payload` embedded as JSON (not a string), `headers` as an object of strings
/// and `created_at` as RFC 3339 UTC with microseconds. No trailing newline.
/// Precondition: rec.msg.payload is valid JSON (the writers guarantee it).
std::string to_json_line(const outbox_record& rec);

/// Parses a line produced by to_json_line (a trailing "\n" or "\r\n" is allowed).
/// Throws usage_error(errc::malformed_input, field, ...) naming what was wrong.
/// `seq`, `partition` and `attempts` are not part of the envelope and come back 0.
outbox_record parse_json_line(std::string_view line);

}  // namespace txoutbox
