// The SOCI store's SQL for one schema, built once from the dialect's pieces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/claim_budget.hpp"
#include "dialect.hpp"

namespace txoutbox::soci::detail {

/// The store's SQL for one schema, built once from the dialect's pieces.
struct store_sql {
  store_sql(const detail::dialect& d, const std::string& schema)
      : outbox(d.table(schema, "outbox")),
        lease(d.table(schema, "outbox_lease")),
        member(d.table(schema, "outbox_member")),
        dead(d.table(schema, "outbox_dead_letter")),
        config(d.table(schema, "outbox_config")),
        now(d.now_ms()) {
    const auto expires = d.as_ms("expires_at");
    heartbeat_update =
        "UPDATE " + member + " SET expires_at = " + d.now_plus_ms(":ttl") + " WHERE owner = :o";
    heartbeat_insert =
        "INSERT INTO " + member + " (owner, expires_at) VALUES (:o, " + d.now_plus_ms(":ttl") + ")";
    live_owners = "SELECT owner FROM " + member + " WHERE " + expires + " > " + now;
    leave_leases = "UPDATE " + lease + " SET owner = NULL, expires_at = " + d.now_plus_ms("0") +
                   " WHERE owner = :o";
    leave_member = "DELETE FROM " + member + " WHERE owner = :o";
    acquire = "UPDATE " + lease +
              " SET owner = :o, epoch = epoch + 1, expires_at = " + d.now_plus_ms(":ttl") +
              " WHERE partition_no = :p AND (owner IS NULL OR owner = :o2 OR " + expires +
              " <= " + now + ")";
    epoch = "SELECT epoch FROM " + lease + " WHERE partition_no = :p";
    const auto fenced = " WHERE partition_no = :p AND owner = :o AND epoch = :e";
    renew = "UPDATE " + lease + " SET expires_at = " + d.now_plus_ms(":ttl") + fenced;
    release = "UPDATE " + lease + " SET owner = NULL, expires_at = " + d.now_plus_ms("0") + fenced;
    leases = "SELECT partition_no, coalesce(owner, ''), epoch, CASE WHEN " + expires + " < " + now +
             " - 86400000 THEN -86400000 ELSE " + expires + " - " + now + " END FROM " + lease +
             " ORDER BY partition_no";
    begin_batch = "UPDATE " + lease +
                  " SET batch_head_seq = :h, batch_last_seq = :l, batch_starts = :s, "
                  "suspect_through = :t" +
                  fenced + " AND " + expires + " > " + now;
    settle_fence = "UPDATE " + lease + " SET batch_starts = 0" + fenced;
    publish = "DELETE FROM " + outbox + " WHERE id = :id AND partition_no = :p";
    retry = "UPDATE " + outbox +
            " SET attempts = attempts + 1, last_error = :r, available_at = " + d.now_plus_ms(":d") +
            " WHERE id = :id AND partition_no = :p";
    in_partition = "SELECT count(*) FROM " + outbox + " WHERE id = :id AND partition_no = :p";
    drop_dead = "DELETE FROM " + dead + " WHERE id = :id";
    to_dead = "INSERT INTO " + dead +
              " (id, aggregatetype, aggregateid, type, payload, headers, seq, partition_no, "
              "created_at, attempts, reason, last_error) SELECT id, aggregatetype, aggregateid, "
              "type, payload, headers, seq, partition_no, created_at, attempts + 1, :r, "
              "last_error FROM " +
              outbox + " WHERE id = :id";
    drop_outbox = "DELETE FROM " + outbox + " WHERE id = :id";
    // A dead letter of an upper-case UUID row keeps the canonical id, so requeue and purge
    // by message_id find it.
    rename_dead = "UPDATE " + dead + " SET id = :c WHERE id = :id";
    // Rows whose id is not a UUID are set aside by (partition_no, seq), under the fence: the
    // no-op lease UPDATE takes the lease row's lock and counts only when the fence matches.
    fence_only = "UPDATE " + lease + " SET epoch = epoch" + fenced;
    set_aside = "INSERT INTO " + dead +
                " (id, aggregatetype, aggregateid, type, payload, headers, seq, partition_no, "
                "created_at, attempts, reason, last_error) SELECT id, aggregatetype, "
                "aggregateid, type, payload, headers, seq, partition_no, created_at, attempts, "
                ":r, last_error FROM " +
                outbox + " WHERE partition_no = :p AND seq = :s";
    drop_by_seq = "DELETE FROM " + outbox + " WHERE partition_no = :p AND seq = :s";
    // count(*) and min(created_at) read the whole outbox once: O(backlog), fine for
    // status and metrics at a modest rate, not for a hot loop.
    stats = "SELECT (SELECT count(*) FROM " + outbox + "), (SELECT " + now + " - min(" +
            d.as_ms("created_at") + ") FROM " + outbox + "), (SELECT count(*) FROM " + dead +
            "), (SELECT count(*) FROM " + member + " WHERE " + expires + " > " + now + ")";
    dead_letters =
        "SELECT id, aggregatetype, aggregateid, type, payload, headers, seq, "
        "partition_no, " +
        d.as_ms("created_at") + ", attempts, reason, " + d.as_ms("failed_at") + " FROM " + dead +
        " ORDER BY failed_at, seq LIMIT :n";
    dead_ids = "SELECT d.id FROM " + dead + " d WHERE NOT EXISTS (SELECT 1 FROM " + outbox +
               " o WHERE o.id = d.id) ORDER BY d.seq";
    const auto part = d.writer_sets_partition() ? std::string("partition_no, ") : std::string();
    requeue = "INSERT INTO " + outbox +
              " (id, aggregatetype, aggregateid, type, payload, headers, " + part +
              "created_at, attempts) SELECT id, aggregatetype, aggregateid, type, payload, "
              "headers, " +
              part + "created_at, 0 FROM " + dead + " WHERE id = :id";
    purge_all = "DELETE FROM " + dead;
    partitions = "SELECT partitions FROM " + config;
    claim_lease_cte =
        "WITH l AS (SELECT partition_no, epoch, batch_head_seq, batch_last_seq, "
        "batch_starts, suspect_through FROM " +
        lease + " WHERE owner = :o AND " + expires + " > " + now + " AND partition_no IN (";
    claim_columns =
        " AS ord, l.partition_no, l.epoch, l.batch_head_seq, l.batch_last_seq, "
        "l.batch_starts, l.suspect_through, q.id, q.aggregatetype, q.aggregateid, "
        "q.type, q.payload, q.headers, q.seq, q.created_ms, q.attempts, q.nbytes FROM l JOIN ("
        "SELECT c.partition_no, c.id, c.aggregatetype, c.aggregateid, c.type, "
        "c.payload, c.headers, c.seq, " +
        d.as_ms("c.created_at") + " AS created_ms, c.attempts, " + d.byte_length("c.payload") +
        " + " + d.byte_length("c.headers") + " AS nbytes FROM " + outbox +
        " c WHERE c.partition_no = ";
    // A row is claimable when no row of its key up to it (itself included) is unavailable:
    // the key's run, head first, ending before its first row in backoff or delayed. The
    // probe walks (partition_no, aggregateid, seq) and stops at the first such row.
    claim_filter = " AND " + d.as_ms("c.available_at") + " <= " + now +
                   " AND NOT EXISTS (SELECT 1 FROM " + outbox +
                   " e WHERE e.partition_no = c.partition_no AND e.aggregateid = c.aggregateid "
                   "AND e.seq < c.seq AND " +
                   d.as_ms("e.available_at") + " > " + now + ") ORDER BY c.seq LIMIT ";
  }

  /// The claim for `parts` (unique, in the order given), one statement: per partition a
  /// sub-select with its own LIMIT walking (partition_no, seq), joined to the held lease
  /// rows (l) outside the LIMIT so the planner keeps the index walk (a join inside made
  /// SQLite sort the whole partition), glued with UNION ALL. The EXISTS guard is constant
  /// per partition, so a partition not held is not walked. Outside, the claim-wide budgets
  /// (claim_limits): a running count and byte sum in (order given, seq) keep whole rows
  /// within `max_rows` and `max_bytes`, and the first row always; each row carries its
  /// number and the uncut count so the store can tell a cut. Partition numbers and limits
  /// are integers we produce, so they are spliced; the owner is bound.
  std::string claim(const std::vector<std::uint32_t>& parts, const claim_limits& limits) const {
    std::string sql = claim_lease_cte;
    for (std::size_t i = 0; i < parts.size(); ++i)
      sql += (i ? ", " : "") + std::to_string(parts[i]);
    sql +=
        ")) SELECT partition_no, epoch, batch_head_seq, batch_last_seq, batch_starts, "
        "suspect_through, id, aggregatetype, aggregateid, type, payload, headers, seq, "
        "created_ms, attempts, rn, uncut FROM (SELECT u.*, "
        "row_number() OVER (ORDER BY u.ord, u.seq) AS rn, count(*) OVER () AS uncut, "
        "sum(u.nbytes) OVER (ORDER BY u.ord, u.seq ROWS BETWEEN UNBOUNDED PRECEDING AND "
        "CURRENT ROW) AS total FROM (";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto p = std::to_string(parts[i]);
      if (i)
        sql += " UNION ALL ";
      sql += "SELECT * FROM (SELECT " + std::to_string(i) + claim_columns + p +
             " AND EXISTS (SELECT 1 FROM l WHERE " + "l.partition_no = " + p + ")" + claim_filter +
             std::to_string(limits.rows) + ") q ON q.partition_no = l.partition_no) q" +
             std::to_string(i);
    }
    sql += ") u) r WHERE r.rn <= " + std::to_string(txoutbox::detail::sql_int(limits.max_rows)) +
           " AND (r.rn = 1 OR r.total <= " +
           std::to_string(txoutbox::detail::sql_int(limits.max_bytes)) + ") ORDER BY r.ord, r.seq";
    return sql;
  }

  std::string outbox, lease, member, dead, config, now;
  std::string heartbeat_update, heartbeat_insert, live_owners, leave_leases, leave_member;
  std::string acquire, epoch, renew, release, leases, begin_batch;
  std::string settle_fence, publish, retry, in_partition, drop_dead, to_dead, drop_outbox;
  std::string rename_dead, fence_only, set_aside, drop_by_seq;
  std::string stats, dead_letters, dead_ids, requeue, purge_all, partitions;
  std::string claim_lease_cte, claim_columns, claim_filter;
};

}  // namespace txoutbox::soci::detail
