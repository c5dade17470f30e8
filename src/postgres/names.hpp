// Names shared by the PostgreSQL writer and store: the NOTIFY channel of a schema.
#pragma once

#include <string>
#include <string_view>

namespace txoutbox::postgres::detail {

/// The LISTEN/NOTIFY channel for an outbox schema: "txoutbox_" + schema, cut to 63 bytes
/// (PostgreSQL's identifier limit). `schema` is already a validated identifier (ASCII).
inline std::string notify_channel(std::string_view schema) {
  std::string channel = "txoutbox_";
  channel.append(schema);
  if (channel.size() > 63)
    channel.resize(63);
  return channel;
}

}  // namespace txoutbox::postgres::detail
