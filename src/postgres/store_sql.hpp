// The PostgreSQL store's SQL text, built once per schema (header-only so tests can EXPLAIN it).
#pragma once

#include <string>

namespace txoutbox::postgres::detail {

/// The claim (see store::claim): per held partition, up to $3 rows in seq order, each
/// key's share a prefix of its queue ending before its first row not yet available. One
/// statement in three tiers; one-time gates pick the first tier that is exact for the
/// partition, and the later tiers are never executed. Every tier carries whole rows.
///  1. the partition's first $3 rows by seq: exact when none is held back (a backlog of
///     distinct keys or of unblocked runs) or the partition is smaller; costs $3 rows.
///  2. the first 4 * $3 rows: exact when $3 of them qualify or it is the whole partition;
///     a few keys in backoff among many cost a window, not a key walk.
///  3. key hop, when rows held back (behind a head in backoff, or delayed) fill the
///     window: a recursive walk of (partition_no, aggregateid, seq) reads each key's head
///     once (one index descent per key), keeps the $3 oldest available heads and reads
///     those keys' runs up to the $3-th head's seq. Its cost grows with the partition's
///     keys, never with the rows queued behind blocked heads.
/// In a window a row qualifies when no row of its key at or before it is unavailable; all
/// those rows are in the window too, since they have lower seqs.
/// The claim-wide budgets apply outside the tiers, to their final result (at most
/// partitions x $3 rows, read by the tiers anyway): a running count and a running sum of
/// payload + headers bytes in the order the partitions were given ($2, WITH ORDINALITY),
/// then seq, keep whole rows while within $5 rows and $4 bytes, and always the first row.
/// Each row carries its running number and the uncut count, so the store can tell a cut.
inline std::string claim_sql(const std::string& s) {
  const std::string outbox = s + ".outbox";
  const std::string cols =
      "id, aggregatetype, aggregateid, type, payload, headers, seq, created_at, attempts";
  const std::string c_cols =
      "c.id, c.aggregatetype, c.aggregateid, c.type, c.payload, c.headers, c.seq, "
      "c.created_at, c.attempts, c.available_at <= now() AS ok";
  const auto window = [&](const std::string& n, const std::string& size) {
    return "w" + n + " AS (SELECT " + c_cols + " FROM " + outbox +
           " c WHERE c.partition_no = l.partition_no ORDER BY c.seq LIMIT " + size + "), held" + n +
           " AS (SELECT aggregateid, min(seq) AS seq FROM w" + n +
           " WHERE NOT ok GROUP BY aggregateid), q" + n + " AS (SELECT w" + n + ".* FROM w" + n +
           " WHERE NOT EXISTS (SELECT 1 FROM held" + n + " h WHERE h.aggregateid = w" + n +
           ".aggregateid AND h.seq <= w" + n + ".seq)), gate" + n +
           " AS (SELECT (SELECT count(*) FROM q" + n + ") >= $3 OR (SELECT count(*) FROM w" + n +
           ") < " + size + " AS exact), ";
  };
  return "SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, rn, uncut "
         "FROM (SELECT l.partition_no AS c0, l.epoch AS c1, l.batch_head_seq AS c2, "
         "l.batch_last_seq AS c3, l.batch_starts AS c4, l.suspect_through AS c5, "
         "o.id::text AS c6, o.aggregatetype AS c7, o.aggregateid AS c8, o.type AS c9, "
         "o.payload::text AS c10, o.headers::text AS c11, o.seq AS c12, "
         "floor(extract(epoch FROM o.created_at) * 1000000)::bigint AS c13, o.attempts AS c14, "
         "p.ord, row_number() OVER w AS rn, count(*) OVER () AS uncut, "
         "sum(octet_length(o.payload::text) + octet_length(o.headers::text)) OVER w AS bytes "
         "FROM unnest($2::int[]) WITH ORDINALITY AS p(partition_no, ord) JOIN " +
         s +
         ".outbox_lease l ON l.partition_no = p.partition_no "
         "AND l.owner = $1 AND l.expires_at > now() "
         "CROSS JOIN LATERAL (WITH RECURSIVE " +
         window("1", "$3") + window("2", "4 * $3") +
         "heads(aggregateid, seq, ok) AS ((SELECT h.aggregateid, h.seq, h.available_at <= now() "
         "FROM " +
         outbox +
         " h WHERE h.partition_no = l.partition_no ORDER BY h.aggregateid, h.seq LIMIT 1) "
         "UNION ALL SELECT n.aggregateid, n.seq, n.ok FROM heads CROSS JOIN LATERAL ("
         "SELECT h.aggregateid, h.seq, h.available_at <= now() AS ok FROM " +
         outbox +
         " h WHERE h.partition_no = l.partition_no AND h.aggregateid > heads.aggregateid "
         "ORDER BY h.aggregateid, h.seq LIMIT 1) n), "
         "first_heads AS (SELECT aggregateid, seq FROM heads WHERE ok ORDER BY seq LIMIT $3), "
         "bound AS (SELECT CASE WHEN count(*) >= $3 THEN max(seq) "
         "ELSE 9223372036854775807 END AS last_seq FROM first_heads), "
         "runs AS (SELECT r.* FROM first_heads f CROSS JOIN bound b CROSS JOIN LATERAL ("
         "SELECT x.*, bool_and(x.ok) OVER (ORDER BY x.seq) AS run FROM (SELECT " +
         c_cols + " FROM " + outbox +
         " c WHERE c.partition_no = l.partition_no AND c.aggregateid = f.aggregateid "
         "AND c.seq <= b.last_seq ORDER BY c.seq LIMIT $3) x) r WHERE r.run) "
         "(SELECT " +
         cols +
         " FROM q1 WHERE (SELECT exact FROM gate1) ORDER BY seq LIMIT $3) UNION ALL (SELECT " +
         cols +
         " FROM q2 WHERE NOT (SELECT exact FROM gate1) AND (SELECT exact FROM gate2) "
         "ORDER BY seq LIMIT $3) UNION ALL (SELECT " +
         cols +
         " FROM runs WHERE NOT (SELECT exact FROM gate1) AND NOT (SELECT exact FROM gate2) "
         "ORDER BY seq LIMIT $3)) o WINDOW w AS (ORDER BY p.ord, o.seq ROWS UNBOUNDED PRECEDING)) "
         "r "
         "WHERE r.rn <= $5 AND (r.rn = 1 OR r.bytes <= $4) ORDER BY r.ord, r.c12";
}

/// Every statement of the store for one schema. `s` is the quoted schema ("\"name\"").
/// Durations travel as float8 milliseconds and are applied to the database clock with
/// `now() + $n * interval '1 millisecond'`. Arrays travel as one text parameter each
/// (an array literal), so no statement ever nears the 65,535-parameter limit.
struct store_sql {
  explicit store_sql(const std::string& s)
      : heartbeat("INSERT INTO " + s +
                  ".outbox_member (owner, expires_at) "
                  "VALUES ($1, now() + $2::float8 * interval '1 millisecond') "
                  "ON CONFLICT (owner) DO UPDATE SET expires_at = EXCLUDED.expires_at"),
        live_owners("SELECT owner FROM " + s +
                    ".outbox_member WHERE expires_at > now() ORDER BY owner COLLATE \"C\""),
        leave_member("DELETE FROM " + s + ".outbox_member WHERE owner = $1"),
        leave_leases("UPDATE " + s +
                     ".outbox_lease SET owner = NULL, expires_at = now() WHERE owner = $1"),
        // SKIP LOCKED: a lease row locked by another session (a holder mid-renew, or a
        // frozen one) is "not free now"; waiting on it would stall this relay's upkeep.
        acquire("UPDATE " + s +
                ".outbox_lease SET owner = $1, epoch = epoch + 1, "
                "expires_at = now() + $3::float8 * interval '1 millisecond' "
                "WHERE partition_no = (SELECT partition_no FROM " +
                s +
                ".outbox_lease WHERE partition_no = $2 "
                "AND (owner IS NULL OR owner = $1 OR expires_at <= now()) "
                "FOR UPDATE SKIP LOCKED) "
                "RETURNING epoch"),
        renew("UPDATE " + s +
              ".outbox_lease SET expires_at = now() + $4::float8 * interval '1 millisecond' "
              "WHERE partition_no = $1 AND owner = $2 AND epoch = $3"),
        // Every lease of one owner in one statement: $1 partitions, $3 epochs, pairwise.
        renew_all("UPDATE " + s +
                  ".outbox_lease l SET expires_at = now() + $4::float8 * interval '1 millisecond' "
                  "FROM unnest($1::int[], $3::bigint[]) AS f(p, e) "
                  "WHERE l.partition_no = f.p AND l.owner = $2 AND l.epoch = f.e "
                  "RETURNING l.partition_no"),
        release("UPDATE " + s +
                ".outbox_lease SET owner = NULL, expires_at = now() "
                "WHERE partition_no = $1 AND owner = $2 AND epoch = $3"),
        leases(
            "SELECT partition_no, coalesce(owner, ''), epoch, "
            "floor(extract(epoch FROM greatest(expires_at, now() - interval '1 day') - now()) "
            "* 1000)::bigint FROM " +
            s + ".outbox_lease ORDER BY partition_no"),
        claim(claim_sql(s)),
        begin_batch("UPDATE " + s +
                    ".outbox_lease SET batch_head_seq = $4, batch_last_seq = $5, "
                    "batch_starts = $6, suspect_through = $7 "
                    "WHERE partition_no = $1 AND owner = $2 AND epoch = $3 "
                    "AND expires_at > now()"),
        // One statement: the fenced lease UPDATE locks the row (and re-checks the fence
        // after waiting on a concurrent acquire); every outbox change joins its result, so a
        // stale fence changes nothing. Rows of other partitions are never touched.
        settle(
            "WITH l AS ("
            "UPDATE " +
            s +
            ".outbox_lease SET batch_starts = 0 "
            "WHERE partition_no = $1 AND owner = $2 AND epoch = $3 RETURNING partition_no), "
            "pub AS (DELETE FROM " +
            s +
            ".outbox o USING l "
            "WHERE o.partition_no = l.partition_no AND o.id = ANY($4::uuid[])), "
            "rt AS (UPDATE " +
            s +
            ".outbox o SET attempts = o.attempts + 1, "
            "last_error = r.reason, "
            "available_at = now() + r.delay_ms * interval '1 millisecond' "
            "FROM l, unnest($5::uuid[], $6::float8[], $7::text[]) AS r(id, delay_ms, reason) "
            "WHERE o.partition_no = l.partition_no AND o.id = r.id), "
            "moved AS (DELETE FROM " +
            s +
            ".outbox o "
            "USING l, unnest($8::uuid[], $9::text[]) AS r(id, reason) "
            "WHERE o.partition_no = l.partition_no AND o.id = r.id "
            "RETURNING o.id, o.aggregatetype, o.aggregateid, o.type, o.payload, o.headers, "
            "o.seq, o.partition_no, o.created_at, o.attempts + 1 AS attempts, r.reason, "
            "o.last_error), "
            "dl AS (INSERT INTO " +
            s +
            ".outbox_dead_letter (id, aggregatetype, aggregateid, "
            "type, payload, headers, seq, partition_no, created_at, attempts, reason, "
            "last_error) SELECT id, aggregatetype, aggregateid, type, payload, headers, seq, "
            "partition_no, created_at, attempts, reason, last_error FROM moved "
            "ON CONFLICT (id) DO UPDATE SET aggregatetype = EXCLUDED.aggregatetype, "
            "aggregateid = EXCLUDED.aggregateid, type = EXCLUDED.type, "
            "payload = EXCLUDED.payload, headers = EXCLUDED.headers, seq = EXCLUDED.seq, "
            "partition_no = EXCLUDED.partition_no, created_at = EXCLUDED.created_at, "
            "attempts = EXCLUDED.attempts, reason = EXCLUDED.reason, "
            "last_error = EXCLUDED.last_error, failed_at = now()) "
            "SELECT count(*) FROM l"),
        // count(*) and min(created_at) read the whole outbox once: O(backlog), fine for
        // status and metrics at a modest rate, not for a hot loop.
        stats("SELECT (SELECT count(*) FROM " + s +
              ".outbox), "
              "(SELECT floor(extract(epoch FROM now() - min(created_at)) * 1000)::bigint FROM " +
              s + ".outbox), (SELECT count(*) FROM " + s +
              ".outbox_dead_letter), (SELECT count(*) FROM " + s +
              ".outbox_member WHERE expires_at > now())"),
        dead_letters(
            "SELECT id::text, aggregatetype, aggregateid, type, payload::text, "
            "headers::text, seq, partition_no, "
            "floor(extract(epoch FROM created_at) * 1000000)::bigint, attempts, reason, "
            "floor(extract(epoch FROM failed_at) * 1000000)::bigint FROM " +
            s + ".outbox_dead_letter ORDER BY failed_at, seq LIMIT $1"),
        // A dead letter whose id is back in the outbox already stays where it is.
        requeue("WITH moved AS (DELETE FROM " + s +
                ".outbox_dead_letter d "
                "WHERE (cardinality($1::uuid[]) = 0 OR d.id = ANY($1::uuid[])) "
                "AND NOT EXISTS (SELECT 1 FROM " +
                s +
                ".outbox o WHERE o.id = d.id) "
                "RETURNING d.*), "
                "ins AS (INSERT INTO " +
                s +
                ".outbox (id, aggregatetype, aggregateid, type, "
                "payload, headers, created_at, attempts) "
                "SELECT id, aggregatetype, aggregateid, type, payload, headers, created_at, 0 "
                "FROM moved ORDER BY seq RETURNING 1) "
                "SELECT count(*) FROM ins"),
        purge("DELETE FROM " + s +
              ".outbox_dead_letter WHERE cardinality($1::uuid[]) = 0 OR id = ANY($1::uuid[])"),
        partitions("SELECT partitions FROM " + s + ".outbox_config"),
        probe("SELECT (SELECT count(*) FROM " + s +
              ".outbox_lease), "
              "(SELECT partitions FROM " +
              s +
              ".outbox_config), "
              "EXISTS (SELECT 1 FROM " +
              s +
              ".outbox), "
              "EXISTS (SELECT 1 FROM " +
              s +
              ".outbox_dead_letter), "
              "EXISTS (SELECT 1 FROM " +
              s + ".outbox_member)") {}

  std::string heartbeat, live_owners, leave_member, leave_leases;
  std::string acquire, renew, renew_all, release, leases;
  std::string claim, begin_batch, settle;
  std::string stats, dead_letters, requeue, purge;
  std::string partitions, probe;
};

}  // namespace txoutbox::postgres::detail
