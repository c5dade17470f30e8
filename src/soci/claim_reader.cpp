// claim_reader: the SOCI claim statement's rows read into claimed partitions.
#include "claim_reader.hpp"

#include <soci/soci.h>

#include <chrono>
#include <utility>

#include "core/wire_format.hpp"

namespace txoutbox::soci::detail {

namespace {

std::chrono::system_clock::time_point from_ms(long long value) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::milliseconds(value)));
}

/// The columns of one claim row, bound once per statement.
struct claim_row {
  long long partition = 0, epoch = 0, head = 0, last = 0, starts = 0, suspect = 0;
  long long seq = 0, created = 0, attempts = 0, rn = 0, uncut = 0;
  std::string id, aggregate_type, aggregate_id, type, payload, headers;
};

claimed_partition partition_of_row(const claim_row& r) {
  claimed_partition cp;
  cp.partition = static_cast<std::uint32_t>(r.partition);
  cp.epoch = static_cast<std::uint64_t>(r.epoch);
  cp.marker = batch_marker{.head_seq = r.head,
                           .last_seq = r.last,
                           .starts = static_cast<std::int32_t>(r.starts),
                           .suspect_through = r.suspect};
  return cp;
}

outbox_record record_of_row(const claim_row& row, const message_id& id) {
  outbox_record r;
  r.msg.id = id;
  r.msg.aggregate_type = row.aggregate_type;
  r.msg.aggregate_id = row.aggregate_id;
  r.msg.type = row.type;
  r.msg.payload = row.payload;
  r.msg.headers = txoutbox::detail::headers_from_json(row.headers);
  r.seq = row.seq;
  r.partition = static_cast<std::uint32_t>(row.partition);
  r.created_at = from_ms(row.created);
  r.attempts = static_cast<std::int32_t>(row.attempts);
  return r;
}

}  // namespace

claim_read read_claim(::soci::session& s, const std::string& sql, const std::string& owner,
                      stored_ids& ids) {
  claim_read out;
  claim_row row;
  ::soci::statement st =
      (s.prepare << sql, ::soci::use(owner), ::soci::into(row.partition), ::soci::into(row.epoch),
       ::soci::into(row.head), ::soci::into(row.last), ::soci::into(row.starts),
       ::soci::into(row.suspect), ::soci::into(row.id), ::soci::into(row.aggregate_type),
       ::soci::into(row.aggregate_id), ::soci::into(row.type), ::soci::into(row.payload),
       ::soci::into(row.headers), ::soci::into(row.seq), ::soci::into(row.created),
       ::soci::into(row.attempts), ::soci::into(row.rn), ::soci::into(row.uncut));
  st.execute();
  bool cut = false;
  while (st.fetch()) {
    const auto p = static_cast<std::uint32_t>(row.partition);
    if (out.claimed.empty() || out.claimed.back().partition != p)
      out.claimed.push_back(partition_of_row(row));
    cut = row.rn < row.uncut;
    const auto parsed = message_id::try_parse(row.id);
    if (!parsed) {
      out.foreign.push_back(foreign_row{.partition = p,
                                        .epoch = static_cast<std::uint64_t>(row.epoch),
                                        .seq = row.seq,
                                        .stored_id = row.id});
      continue;
    }
    ids.remember(*parsed, row.id);
    out.claimed.back().records.push_back(record_of_row(row, *parsed));
  }
  if (!out.claimed.empty())
    out.claimed.back().cut = cut;
  return out;
}

}  // namespace txoutbox::soci::detail
