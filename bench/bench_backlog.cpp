// Backlog scaling: the store's claim/begin/settle cost per batch at 10k .. 5M rows, during a drain.
#include <algorithm>
#include <memory>
#include <pqxx/pqxx>
#include <stdexcept>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "store_sql.hpp"
#include "txoutbox/postgres/store.hpp"

namespace txoutbox::bench {
namespace {

const std::string schema = "bench_backlog";
const std::string owner = "bench-backlog";
constexpr std::uint32_t partitions = 16;
constexpr std::size_t limit = 100;  // the relay's default batch_size, per partition

double ms_since(steady::time_point t) {
  return seconds_since(t) * 1000;
}

struct round_costs {
  std::vector<double> claim_ms, batch_ms, round_ms;
  long rows = 0;
};

/// Claims and settles `rounds` rounds over every partition, as a relay owning all of them
/// does: one claim statement for all partitions, then per partition begin_batch and
/// settle (publishing is free here). The first rounds are timed like the others: they
/// are the ones that meet the freshly vacuumed head.
round_costs drain_rounds(store& st, const std::vector<std::uint32_t>& parts,
                         const std::vector<std::uint64_t>& epochs, int rounds) {
  round_costs c;
  for (int i = 0; i < rounds; ++i) {
    const auto t0 = steady::now();
    auto claimed = st.claim(owner, parts, {.rows = limit});
    c.claim_ms.push_back(ms_since(t0));
    for (auto& cp : claimed) {
      if (cp.records.empty())
        continue;
      const auto t1 = steady::now();
      const fence f{.owner = owner, .partition = cp.partition, .epoch = epochs[cp.partition]};
      const batch_marker m{.head_seq = cp.records.front().seq,
                           .last_seq = cp.records.back().seq,
                           .starts = 1,
                           .suspect_through = cp.marker.suspect_through};
      if (!st.begin_batch(f, m))
        throw std::runtime_error("begin_batch refused");
      std::vector<outcome> outcomes;
      outcomes.reserve(cp.records.size());
      for (const auto& rec : cp.records)
        outcomes.push_back(outcome{.id = rec.msg.id});
      if (!st.settle(f, outcomes))
        throw std::runtime_error("settle refused");
      c.batch_ms.push_back(ms_since(t1));
      c.rows += static_cast<long>(cp.records.size());
    }
    c.round_ms.push_back(ms_since(t0));
  }
  return c;
}

}  // namespace

void run_backlog(const settings& s, results& r) {
  pqxx::connection conn(s.pg_url);
  fresh_schema(conn, schema, partitions);
  double base_claim = 0, base_batch = 0;
  std::string explain;
  for (const long rows : s.backlog_sizes) {
    const double load = preload(conn, schema, rows);
    progress("backlog " + std::to_string(rows) + ": loaded in " + fmt(load) + " s");
    auto st = postgres::make_store({.url = s.pg_url, .schema = schema, .listen = false});
    st->heartbeat(owner, std::chrono::minutes(10));
    std::vector<std::uint32_t> parts;
    std::vector<std::uint64_t> epochs(partitions);
    for (std::uint32_t p = 0; p < partitions; ++p) {
      auto e = st->acquire(owner, p, std::chrono::minutes(10));
      if (!e)
        throw std::runtime_error("could not acquire partition " + std::to_string(p));
      epochs[p] = *e;
      parts.push_back(p);
    }
    // Up to 60 rounds (96,000 rows), at most half the backlog, at least 3.
    const long per_round = static_cast<long>(partitions * limit);
    const int rounds = static_cast<int>(std::clamp<long>(rows / 2 / per_round, 3, 60));
    const auto c = drain_rounds(*st, parts, epochs, rounds);
    const double claim = median(c.claim_ms), batch = median(c.batch_ms);
    if (base_claim == 0) {
      base_claim = claim;
      base_batch = batch;
    }
    const std::string b = std::to_string(rows / 1000) + "k";
    const std::string base = std::to_string(s.backlog_sizes.front() / 1000) + "k backlog";
    const auto note =
        "(" + std::to_string(rounds) + " rounds, " + std::to_string(c.rows) + " rows drained)";
    r.compare("4 backlog", "claim, 16 partitions x " + std::to_string(limit) + ", backlog " + b,
              claim, "ms", base, base_claim, "flat (<= 1.25)", claim / base_claim <= 1.25, note);
    r.compare("4 backlog", "begin+settle per partition batch, backlog " + b, batch, "ms", base,
              base_batch, "flat (<= 1.25)", batch / base_batch <= 1.25);
    if (rows == s.backlog_sizes.back()) {
      // The plan of the store's own claim statement, mid-drain, with the dead tuples.
      const postgres::detail::store_sql sql("\"" + schema + "\"");
      pqxx::work tx(conn);
      std::string array = "{";
      for (auto p : parts)
        array += (p ? "," : "") + std::to_string(p);
      array += "}";
      const auto res = tx.exec_params("EXPLAIN (ANALYZE, BUFFERS) " + sql.claim, owner, array,
                                      static_cast<long>(limit));
      explain = "EXPLAIN (ANALYZE, BUFFERS) of the claim at backlog " + b + " after " +
                std::to_string(c.rows) + " rows were drained:\n";
      for (const auto& row : res)
        explain += "    " + std::string(row[0].c_str()) + "\n";
      tx.commit();
    }
    st->leave(owner);
  }
  if (!explain.empty()) {
    r.note(explain);
    progress(explain);
  }
}

}  // namespace txoutbox::bench
