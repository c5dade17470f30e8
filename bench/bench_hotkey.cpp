// Hot keys: the claim's plan behind blocked heads, and a one-key drain against a distinct-key one.
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "store_sql.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/testing/memory_publisher.hpp"

namespace txoutbox::bench {
namespace {

const std::string schema = "bench_hotkey";
const std::string owner = "bench-hotkey";
constexpr std::uint32_t partitions = 16;
constexpr long limit = 100;                  // the relay's default batch_size, per partition
constexpr long long max_bytes = 64LL << 20;  // claim_limits defaults: 64 MiB, no row cap
constexpr long long max_rows = 9223372036854775807LL;
constexpr long blocked_keys = 1000;
const std::string all_parts = "{0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15}";

/// Empties the outbox and inserts `rows` rows whose aggregate id is the SQL expression
/// `key` of the series variable i (ids ascending from `first_id`), indexes kept as
/// shipped; then VACUUM ANALYZE and CHECKPOINT. Never timed.
void load(pqxx::connection& conn, const std::string& key, long rows, bool truncate = true,
          long first_id = 1) {
  const auto table = outbox(schema);
  if (truncate)
    pg_exec(conn, "TRUNCATE " + table);
  pg_exec(conn, "INSERT INTO " + table +
                    " (id, aggregatetype, aggregateid, type, payload) "
                    "SELECT lpad(to_hex(i), 32, '0')::uuid, 'order', " +
                    key +
                    ", 'OrderPlaced', ('{\"order_id\":' || i || ',\"currency\":\"EUR\"}')::jsonb "
                    "FROM generate_series(" +
                    std::to_string(first_id) + "::bigint, " + std::to_string(first_id + rows - 1) +
                    "::bigint) i");
  pg_exec(conn, "VACUUM ANALYZE " + table);
  pg_exec(conn, "CHECKPOINT");
}

/// Puts the head of every key in backoff (available in an hour, one attempt), as a broker
/// outage of that long leaves them.
void block_heads(pqxx::connection& conn) {
  const auto table = outbox(schema);
  pg_exec(conn, "UPDATE " + table +
                    " o SET available_at = now() + interval '1 hour', attempts = 1, "
                    "last_error = 'broker down' FROM (SELECT DISTINCT ON (aggregateid) seq FROM " +
                    table + " ORDER BY aggregateid, seq) h WHERE o.seq = h.seq");
  pg_exec(conn, "VACUUM ANALYZE " + table);
}

struct plan_figures {
  std::vector<double> ms;
  std::vector<double> buffers;
  long rows = 0;
};

/// EXPLAIN (ANALYZE, BUFFERS) of `claim_sql` for every partition, `reps` times: the
/// execution time and the shared buffers (hit + read) of the top node.
plan_figures explain_claim(pqxx::connection& conn, const std::string& claim_sql, int reps,
                           std::string* text = nullptr) {
  plan_figures f;
  for (int i = 0; i < reps; ++i) {
    pqxx::work tx(conn);
    const auto res = tx.exec_params("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + claim_sql, owner,
                                    all_parts, limit, max_bytes, max_rows);
    const std::string json = res[0][0].c_str();
    auto number_after = [&](const std::string& key) {
      const auto at = json.find("\"" + key + "\": ");
      if (at == std::string::npos)
        throw std::runtime_error("EXPLAIN output without " + key);
      return std::stod(json.substr(at + key.size() + 4));
    };
    f.ms.push_back(number_after("Execution Time"));
    f.buffers.push_back(number_after("Shared Hit Blocks") + number_after("Shared Read Blocks"));
    f.rows = static_cast<long>(number_after("Actual Rows"));
    if (text && i + 1 == reps) {
      *text = "";
      for (const auto& row : tx.exec_params("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + claim_sql,
                                            owner, all_parts, limit, max_bytes, max_rows))
        *text += "    " + std::string(row[0].c_str()) + "\n";
    }
    tx.commit();
  }
  return f;
}

/// main's claim (the head of each key only), kept here as the figure to beat: it walks the
/// partition in seq order and probes every row for an earlier row of its key.
std::string heads_only_claim() {
  const auto s = "\"" + schema + "\"";
  return "SELECT l.partition_no, o.id::text, o.seq FROM unnest($2::int[]) AS p(partition_no) "
         "JOIN " +
         s +
         ".outbox_lease l ON l.partition_no = p.partition_no AND l.owner = $1 "
         "AND l.expires_at > now() CROSS JOIN LATERAL (SELECT c.id, c.seq FROM " +
         s +
         ".outbox c WHERE c.partition_no = l.partition_no AND c.available_at <= now() "
         "AND NOT EXISTS (SELECT 1 FROM " +
         s +
         ".outbox e WHERE e.partition_no = c.partition_no AND e.aggregateid = c.aggregateid "
         "AND e.seq < c.seq) ORDER BY c.seq LIMIT $3) o WHERE $4::bigint > 0 AND $5::bigint > 0 "
         "ORDER BY l.partition_no, o.seq";
}

/// Takes every partition for `owner`, as one relay would; the caller leave()s at the end
/// so the drains' relays can take them.
std::shared_ptr<store> acquire_all(const settings& s) {
  auto st = postgres::make_store({.url = s.pg_url, .schema = schema, .listen = false});
  st->heartbeat(owner, std::chrono::minutes(30));
  for (std::uint32_t p = 0; p < partitions; ++p) {
    if (!st->acquire(owner, p, std::chrono::minutes(30)))
      throw std::runtime_error("could not acquire partition " + std::to_string(p));
  }
  return st;
}

void report_plan(results& r, const std::string& name, const plan_figures& f,
                 const std::string& base_name, const plan_figures& base,
                 const std::string& target = {}, std::optional<bool> met = std::nullopt) {
  r.compare("6 hotkey", name + ": time", median(f.ms), "ms", base_name, median(base.ms), target,
            met, "(" + std::to_string(f.rows) + " rows claimed)");
  r.compare("6 hotkey", name + ": buffers", median(f.buffers), "pages", base_name,
            median(base.buffers));
}

/// The claim's EXPLAIN figures: rows behind 1,000 blocked heads at two depths, against
/// the same backlog unblocked and against main's heads-only claim.
void run_plans(const settings& s, results& r) {
  pqxx::connection conn(s.pg_url);
  const long deep = s.quick ? 100'000 : 1'000'000;
  const long shallow = deep / 10;
  const long fresh = 1600;  // about 100 fresh keys a partition: one batch's worth
  const postgres::detail::store_sql sql("\"" + schema + "\"");
  const auto key = "'hot-' || (i % " + std::to_string(blocked_keys) + ")";
  const auto fresh_key = std::string("'fresh-' || i");
  const std::string label = std::to_string(deep / 1000) + "k rows";

  load(conn, key, deep);
  const auto holder = acquire_all(s);
  const auto unblocked = explain_claim(conn, sql.claim, s.reps);
  progress("hotkey: unblocked " + label + ": " + fmt(median(unblocked.ms)) + " ms");
  block_heads(conn);
  load(conn, fresh_key, fresh, false, 10'000'000);
  std::string plan_text;
  const auto blocked = explain_claim(conn, sql.claim, s.reps, &plan_text);
  const auto heads_only = explain_claim(conn, heads_only_claim(), s.reps);
  progress("hotkey: blocked " + label + ": " + fmt(median(blocked.ms)) + " ms, heads-only " +
           fmt(median(heads_only.ms)) + " ms");

  load(conn, key, shallow);
  block_heads(conn);
  load(conn, fresh_key, fresh, false, 10'000'000);
  const auto blocked_shallow = explain_claim(conn, sql.claim, s.reps);

  const auto behind = [&](long rows) {
    return "claim, " + std::to_string((rows - blocked_keys) / 1000) + "k rows behind " +
           std::to_string(blocked_keys) + " blocked heads + " + std::to_string(fresh) +
           " fresh keys";
  };
  const auto unblocked_name =
      "claim, " + label + " of " + std::to_string(blocked_keys) + " keys, none blocked";
  r.add(result_row{.section = "6 hotkey",
                   .name = unblocked_name + ": time",
                   .value = median(unblocked.ms),
                   .unit = "ms",
                   .note = "(" + std::to_string(unblocked.rows) + " rows claimed, " +
                           fmt(median(unblocked.buffers)) + " buffers)"});
  report_plan(r, behind(deep), blocked, behind(shallow), blocked_shallow, "flat (<= 1.25)",
              median(blocked.ms) / median(blocked_shallow.ms) <= 1.25);
  report_plan(r, behind(deep) + " vs unblocked", blocked, unblocked_name, unblocked);
  report_plan(r, "main's heads-only claim, " + behind(deep), heads_only, behind(deep) + " (runs)",
              blocked);
  r.note("EXPLAIN (ANALYZE, BUFFERS) of the claim, " + behind(deep) + ":\n" + plan_text);
  holder->leave(owner);
}

/// Drains `rows` rows of `key` with one relay into a counting publisher; rows per second.
double drain_rate(const settings& s, const std::string& key, long rows) {
  {
    pqxx::connection conn(s.pg_url);
    load(conn, key, rows);
  }
  auto pub = std::make_shared<testing::memory_publisher>(testing::memory_publisher_options{
      .record = false, .delay_per_batch = std::chrono::microseconds(0)});
  const double secs = relay_drain(s, schema, 1, rows, limit, pub, [&] { return pub->count(); });
  return static_cast<double>(rows) / secs;
}

/// One key against one key per row: the same rows, the same relay (batch_size 100).
void run_drains(const settings& s, results& r) {
  const long rows = s.quick ? 20'000 : 100'000;
  std::vector<double> hot, distinct;
  for (int i = 0; i < s.reps; ++i) {
    distinct.push_back(drain_rate(s, "'order-' || i", rows));
    hot.push_back(drain_rate(s, "'hot'", rows));
    progress("hotkey drain rep " + std::to_string(i + 1) + ": one key " + fmt(hot.back()) +
             " rows/s, distinct keys " + fmt(distinct.back()) + " rows/s");
  }
  const double ratio = median(hot) / median(distinct);
  r.add(result_row{.section = "6 hotkey",
                   .name = "drain, " + std::to_string(rows / 1000) + "k rows of ONE key",
                   .value = median(hot),
                   .unit = "rows/s",
                   .baseline_name = "same rows, one key each",
                   .baseline_value = median(distinct),
                   .ratio = ratio,
                   .target = ">= 0.5",
                   .met = ratio >= 0.5,
                   .note = "(1 relay, batch_size 100, counting publisher)"});
}

}  // namespace

void run_hotkey(const settings& s, results& r) {
  {
    pqxx::connection conn(s.pg_url);
    fresh_schema(conn, schema, partitions);
  }
  run_plans(s, r);
  run_drains(s, r);
  pqxx::connection conn(s.pg_url);
  pg_exec(conn, "DROP SCHEMA \"" + schema + "\" CASCADE");
}

}  // namespace txoutbox::bench
