// The header fields of a webhook POST without Beast: CloudEvents binary mode and signing.
#include "http/request_fields.hpp"

#include "core/routing_field.hpp"
#include "core/text_util.hpp"
#include "http/detail.hpp"
#include "txoutbox/version.hpp"

namespace txoutbox::http::detail {

std::string percent_encode_attribute(std::string_view value) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u > 0x20 && u < 0x7F && u != '"' && u != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 0xF]);
    }
  }
  return out;
}

std::optional<std::string> header_text_problem(std::string_view value) {
  if (const auto bad = txoutbox::detail::utf8_error_offset(value); bad != std::string_view::npos)
    return "is not valid UTF-8 at offset " + std::to_string(bad);
  if (const auto control = txoutbox::detail::find_control_char(value))
    return txoutbox::detail::control_char_text(*control);
  return std::nullopt;
}

std::optional<publish_result> build_request_fields(const outbox_record& rec,
                                                   const request_settings& settings,
                                                   std::chrono::system_clock::time_point now,
                                                   field_list& out) {
  const message& msg = rec.msg;
  // validate() refuses these at enqueue and the relay sets such a row aside; this is
  // defence in depth: in ce-subject or ce-type a CR/LF would add a header.
  if (auto unsafe = txoutbox::detail::unsafe_routing_field(msg))
    return publish_result::reject(std::move(*unsafe));
  out.clear();
  if (settings.extra_headers != nullptr) {
    for (const auto& [name, value] : *settings.extra_headers)
      out.emplace_back(name, value);
  }
  for (const auto& [name, value] : msg.headers) {
    if (is_framing_header(name))
      continue;  // ours to set: the message cannot change how the request is framed
    if (!is_token(name) || value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
      return publish_result::reject("header '" + body_excerpt(name, 64) +
                                    "' cannot be sent as an HTTP header");
    out.emplace_back(name, value);
  }
  const std::string id = msg.id.to_string();
  out.emplace_back("host", settings.host_header);
  out.emplace_back("user-agent", std::string("txoutbox/") + txoutbox::version);
  out.emplace_back("content-type", "application/json");
  out.emplace_back("ce-specversion", "1.0");
  out.emplace_back("ce-id", percent_encode_attribute(id));
  out.emplace_back("ce-source", percent_encode_attribute(settings.source));
  out.emplace_back("ce-type", percent_encode_attribute(msg.type));
  out.emplace_back("ce-subject", percent_encode_attribute(msg.aggregate_id));
  out.emplace_back("ce-time", format_rfc3339(rec.created_at));
  out.emplace_back("ce-aggregatetype", percent_encode_attribute(msg.aggregate_type));
  if (!settings.signing_key.empty()) {
    const std::string timestamp = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count());
    out.emplace_back("webhook-id", id);
    out.emplace_back("webhook-timestamp", timestamp);
    out.emplace_back("webhook-signature",
                     webhook_signature(settings.signing_key, id, timestamp, msg.payload));
  }
  return std::nullopt;
}

}  // namespace txoutbox::http::detail
