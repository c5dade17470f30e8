// The PostgreSQL writer: one INSERT (plus a folded-in NOTIFY) per call on the caller's transaction.
#include "txoutbox/postgres/writer.hpp"

#include <pqxx/pqxx>
#include <string>

#include "core/wire_format.hpp"
#include "names.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"

namespace txoutbox::postgres {
namespace {

/// Appends one element to a PostgreSQL array literal under construction: always
/// double-quoted, with `"` and `\` backslash-escaped (the array input syntax).
void append_array_element(std::string& array, std::string_view text) {
  if (array.size() > 1)
    array.push_back(',');
  array.push_back('"');
  for (const char c : text) {
    if (c == '"' || c == '\\')
      array.push_back('\\');
    array.push_back(c);
  }
  array.push_back('"');
}

long long delay_ms(const message& msg) {
  return msg.deliver_after ? msg.deliver_after->count() : 0;
}

std::string insert_head(const std::string& table) {
  return "INSERT INTO " + table +
         " (id, aggregatetype, aggregateid, type, payload, headers, available_at) ";
}

/// Wraps an INSERT so that the same statement also queues the NOTIFY (parameter $n).
std::string with_notify(const std::string& insert, int channel_param) {
  return "WITH ins AS (" + insert + ") SELECT pg_notify($" + std::to_string(channel_param) +
         ", '')";
}

}  // namespace

writer::writer(writer_options options) : options_(std::move(options)) {
  check_identifier(options_.schema, "schema");
  channel_ = detail::notify_channel(options_.schema);
  const auto table = quote_identifier(options_.schema) + ".outbox";
  const auto single = insert_head(table) +
                      "VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6::jsonb, "
                      "now() + $7::bigint * interval '1 millisecond')";
  // WITH ORDINALITY + ORDER BY: the identity sequence follows the input order.
  const auto batch = insert_head(table) +
                     "SELECT u.id, u.aggregatetype, u.aggregateid, u.type, u.payload::jsonb, "
                     "u.headers::jsonb, now() + u.delay_ms * interval '1 millisecond' "
                     "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], "
                     "$6::text[], $7::bigint[]) WITH ORDINALITY "
                     "AS u(id, aggregatetype, aggregateid, type, payload, headers, delay_ms, ord) "
                     "ORDER BY u.ord";
  single_sql_ = options_.notify ? with_notify(single, 8) : single;
  batch_sql_ = options_.notify ? with_notify(batch, 8) : batch;
}

message_id writer::enqueue(pqxx::dbtransaction& tx, const message& msg) const {
  validate(msg, options_.validation);
  const auto id = msg.id.is_nil() ? message_id::generate() : msg.id;
  if (options_.notify) {
    tx.exec_params(single_sql_, id.to_string(), msg.aggregate_type, msg.aggregate_id, msg.type,
                   msg.payload, txoutbox::detail::headers_to_json(msg.headers), delay_ms(msg),
                   channel_);
  } else {
    tx.exec_params(single_sql_, id.to_string(), msg.aggregate_type, msg.aggregate_id, msg.type,
                   msg.payload, txoutbox::detail::headers_to_json(msg.headers), delay_ms(msg));
  }
  return id;
}

std::vector<message_id> writer::enqueue(pqxx::dbtransaction& tx,
                                        std::span<const message> messages) const {
  // Everything is checked before the first byte goes to the server.
  for (std::size_t i = 0; i < messages.size(); ++i) {
    try {
      validate(messages[i], options_.validation);
    } catch (const usage_error& e) {
      const auto prefix = "messages[" + std::to_string(i) + "].";
      throw usage_error(e.code(), prefix + e.field(), prefix + e.what());
    }
  }
  std::vector<message_id> ids;
  if (messages.empty())
    return ids;
  ids.reserve(messages.size());

  std::string id_array = "{", type_array = "{", key_array = "{", event_array = "{",
              payload_array = "{", header_array = "{", delay_array = "{";
  for (const auto& msg : messages) {
    ids.push_back(msg.id.is_nil() ? message_id::generate() : msg.id);
    append_array_element(id_array, ids.back().to_string());
    append_array_element(type_array, msg.aggregate_type);
    append_array_element(key_array, msg.aggregate_id);
    append_array_element(event_array, msg.type);
    append_array_element(payload_array, msg.payload);
    append_array_element(header_array, txoutbox::detail::headers_to_json(msg.headers));
    append_array_element(delay_array, std::to_string(delay_ms(msg)));
  }
  for (auto* array : {&id_array, &type_array, &key_array, &event_array, &payload_array,
                      &header_array, &delay_array}) {
    array->push_back('}');
  }
  if (options_.notify) {
    tx.exec_params(batch_sql_, id_array, type_array, key_array, event_array, payload_array,
                   header_array, delay_array, channel_);
  } else {
    tx.exec_params(batch_sql_, id_array, type_array, key_array, event_array, payload_array,
                   header_array, delay_array);
  }
  return ids;
}

}  // namespace txoutbox::postgres
