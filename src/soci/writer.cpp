// The SOCI writer: multi-row INSERTs on the caller's session, inside their transaction.
#include "txoutbox/soci/writer.hpp"

#include <soci/soci.h>

#include <deque>
#include <string>

#include "core/wire_format.hpp"
#include "dialect.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::soci {
namespace {

/// The first 8 hex digits of md5(key) as an unsigned 32-bit integer: partition_of() before
/// the modulo, which the INSERT applies with the count stored in the database.
long long partition_hash(std::string_view key) {
  return static_cast<long long>(std::stoul(md5_hex(key).substr(0, 8), nullptr, 16));
}

/// The values of one row, kept alive (and at a fixed address) while SOCI binds them.
struct row_values {
  std::string id, aggregate_type, aggregate_id, type, payload, headers;
  long long delay_ms = 0;
  long long hash = 0;
};

std::string insert_sql(const detail::dialect& d, const std::string& schema, std::size_t rows) {
  const bool with_partition = d.writer_sets_partition();
  std::string sql = "INSERT INTO " + d.table(schema, "outbox") +
                    " (id, aggregatetype, aggregateid, type, payload, headers, available_at" +
                    (with_partition ? ", partition_no" : "") + ") VALUES ";
  const auto config = d.table(schema, "outbox_config");
  int p = 0;
  auto param = [&p] { return ":p" + std::to_string(p++); };
  for (std::size_t r = 0; r < rows; ++r) {
    if (r)
      sql += ", ";
    sql += "(";
    for (int c = 0; c < 6; ++c)
      sql += param() + ", ";
    sql += d.now_plus_ms(param());
    if (with_partition)
      sql += ", " + param() + " % (SELECT partitions FROM " + config + ")";
    sql += ")";
  }
  return sql;
}

void require_transaction(const detail::dialect& d, ::soci::session& session) {
  if (!d.in_transaction(session)) {
    throw usage_error(errc::no_transaction, "session",
                      "session: no transaction is open; enqueue must run inside the caller's "
                      "transaction (begin one, e.g. txoutbox::soci::write_transaction)");
  }
}

/// Bytes one row adds to a statement's bound values.
std::size_t row_bytes(const row_values& r) {
  return r.id.size() + r.aggregate_type.size() + r.aggregate_id.size() + r.type.size() +
         r.payload.size() + r.headers.size() + 64;
}

/// Inserts `rows` with one statement per chunk of the dialect's row (and byte) cap, then
/// queues the dialect's notification once when `notify` (PostgreSQL: pg_notify).
void insert_rows(const detail::dialect& d, ::soci::session& session, const std::string& schema,
                 const std::deque<row_values>& rows, bool notify) {
  const auto cap = d.max_rows_per_insert();
  const auto byte_cap = d.max_bytes_per_insert();
  const bool with_partition = d.writer_sets_partition();
  std::size_t count = 0;
  for (std::size_t begin = 0; begin < rows.size(); begin += count) {
    count = 0;
    std::size_t bytes = 0;
    while (begin + count < rows.size() && count < cap) {
      const auto more = row_bytes(rows[begin + count]);
      if (count > 0 && byte_cap != 0 && bytes + more > byte_cap)
        break;
      bytes += more;
      ++count;
    }
    ::soci::statement st(session);
    for (std::size_t i = begin; i < begin + count; ++i) {
      const auto& r = rows[i];
      st.exchange(::soci::use(r.id));
      st.exchange(::soci::use(r.aggregate_type));
      st.exchange(::soci::use(r.aggregate_id));
      st.exchange(::soci::use(r.type));
      st.exchange(::soci::use(r.payload));
      st.exchange(::soci::use(r.headers));
      st.exchange(::soci::use(r.delay_ms));
      if (with_partition)
        st.exchange(::soci::use(r.hash));
    }
    st.alloc();
    st.prepare(insert_sql(d, schema, count));
    st.define_and_bind();
    st.execute(true);
  }
  if (const auto sql = d.notify_sql(); notify && !sql.empty()) {
    const auto channel = d.notify_channel(schema);
    ::soci::statement st = (session.prepare << sql, ::soci::use(channel));
    st.execute(true);
  }
}

row_values values_of(const message& msg, const message_id& id) {
  return row_values{.id = id.to_string(),
                    .aggregate_type = msg.aggregate_type,
                    .aggregate_id = msg.aggregate_id,
                    .type = msg.type,
                    .payload = msg.payload,
                    .headers = txoutbox::detail::headers_to_json(msg.headers),
                    .delay_ms = msg.deliver_after ? msg.deliver_after->count() : 0,
                    .hash = partition_hash(msg.aggregate_id)};
}

}  // namespace

writer::writer(writer_options options) : options_(std::move(options)) {
  // An empty schema is resolved per session: the default depends on the backend.
  if (!options_.schema.empty())
    check_identifier(options_.schema, "schema");
}

message_id writer::enqueue(::soci::session& session, const message& msg) const {
  validate(msg, options_.validation);
  const auto& d = detail::dialect_for(session);
  require_transaction(d, session);
  const auto id = msg.id.is_nil() ? message_id::generate() : msg.id;
  std::deque<row_values> rows;
  rows.push_back(values_of(msg, id));
  insert_rows(d, session, detail::resolve_schema(d, options_.schema, &session), rows,
              options_.notify);
  return id;
}

std::vector<message_id> writer::enqueue(::soci::session& session,
                                        std::span<const message> messages) const {
  // Everything is checked before the first statement is sent.
  for (std::size_t i = 0; i < messages.size(); ++i) {
    try {
      validate(messages[i], options_.validation);
    } catch (const usage_error& e) {
      const auto prefix = "messages[" + std::to_string(i) + "].";
      throw usage_error(e.code(), prefix + e.field(), prefix + e.what());
    }
  }
  const auto& d = detail::dialect_for(session);
  require_transaction(d, session);
  std::vector<message_id> ids;
  if (messages.empty())
    return ids;
  ids.reserve(messages.size());
  std::deque<row_values> rows;
  for (const auto& msg : messages) {
    ids.push_back(msg.id.is_nil() ? message_id::generate() : msg.id);
    rows.push_back(values_of(msg, ids.back()));
  }
  insert_rows(d, session, detail::resolve_schema(d, options_.schema, &session), rows,
              options_.notify);
  return ids;
}

}  // namespace txoutbox::soci
