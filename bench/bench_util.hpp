// Shared benchmark plumbing: run settings, medians and percentiles, the results table, PostgreSQL
// helpers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace txoutbox {
class publisher;
}

namespace txoutbox::bench {

using steady = std::chrono::steady_clock;

/// What the command line asked for. Sizes shrink with --quick so a loaded machine can
/// try every path in a minute; the full sizes are the issue's.
struct settings {
  std::string pg_url;             ///< the benchmark server (fsync on)
  std::string work_dir = "/tmp";  ///< SQLite files go here
  bool quick = false;             ///< small sizes, for development
  int reps = 3;                   ///< repetitions per figure (median reported)
  std::vector<std::string> only;  ///< sections to run; empty = all
  double writer_seconds = 2.0;    ///< per writer variant per repetition
  std::vector<long> drain_sizes{100'000, 1'000'000};
  std::size_t drain_batch = 1000;  ///< relay batch_size per partition and ideal LIMIT
  double latency_seconds = 20.0;   ///< steady-rate phase of the latency test
  int latency_rate = 1000;         ///< messages per second
  std::vector<long> backlog_sizes{10'000, 100'000, 1'000'000, 5'000'000};
  long kafka_rows = 100'000;
  long sqlite_rows = 100'000;
  std::string markdown_out;  ///< also write the table as Markdown here
  bool wants(const std::string& section) const;
};

/// Middle value (mean of the two middle ones for an even count); 0 for none.
double median(std::vector<double> values);
/// Nearest-rank percentile, q in [0, 1]; 0 for none.
double percentile(std::vector<double> values, double q);
double seconds_since(steady::time_point start);

/// One line of the final table. `ratio` is value / baseline_value unless given.
struct result_row {
  std::string section;
  std::string name;
  double value = 0;
  std::string unit;
  std::string baseline_name{};  ///< empty: no baseline (a reference row)
  double baseline_value = 0;
  std::optional<double> ratio{};
  std::string target{};  ///< e.g. "<= 1.05"
  std::optional<bool> met{};
  std::string note{};
};

/// The results of the run, printed at the end. Not thread-safe (the sections run in turn).
class results {
 public:
  void add(result_row row);
  /// value / baseline with a target check; `lower_is_better` decides how the ratio reads.
  void compare(const std::string& section, const std::string& name, double value,
               const std::string& unit, const std::string& baseline_name, double baseline,
               const std::string& target = {}, std::optional<bool> met = std::nullopt,
               const std::string& note = {});
  void note(const std::string& line) { notes_.push_back(line); }
  void print_text() const;
  std::string markdown() const;

 private:
  std::vector<result_row> rows_;
  std::vector<std::string> notes_;
};

/// Formats like "12.3" / "1234" / "0.0123" (three significant-ish digits).
std::string fmt(double v);

/// Prints progress to stderr with a timestamp since program start.
void progress(const std::string& line);

// -- PostgreSQL --------------------------------------------------------------------------

/// Runs statements outside a transaction (DDL, VACUUM).
void pg_exec(pqxx::connection& conn, const std::string& sql);
/// First column of the first row as text.
std::string pg_value(pqxx::connection& conn, const std::string& sql);

/// Drops and re-creates `schema` and migrates it (16 partitions unless told).
void fresh_schema(pqxx::connection& conn, const std::string& schema, std::uint32_t partitions = 16);

/// Generates bench_stage.rows (1M rows) in the connection's database unless present.
void ensure_stage(pqxx::connection& conn);

/// Empties <schema>.outbox and fills it with `rows` rows copied by one INSERT … SELECT
/// from the staging rows (shifted copies of them above 1M): the columns the writer would
/// write, with the database computing partition_no. Every index is dropped for the load
/// and rebuilt as shipped (the drain runs with them), then the table is VACUUM ANALYZEd,
/// as autovacuum would after a bulk insert, and a CHECKPOINT keeps the load's dirty pages
/// out of the measurement. Returns the seconds the load took.
double preload(pqxx::connection& conn, const std::string& schema, long rows);

/// `url` (a postgresql:// URI) with its database name replaced by `db`.
std::string url_for_db(const std::string& url, const std::string& db);

/// The quoted "schema".outbox.
std::string outbox(const std::string& schema);

/// A payload of about 90 bytes for order `n`.
std::string order_payload(long n);

/// Polls `done` every millisecond until it holds or `limit` passes; false on timeout.
bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit);

/// Drains <sch>.outbox with `relays` relays (own store each) into `pub`; seconds until
/// `count()` reaches `rows`.
double relay_drain(const settings& s, const std::string& sch, int relays, long rows,
                   std::size_t batch, std::shared_ptr<publisher> pub,
                   const std::function<std::uint64_t()>& count);

// -- the sections --------------------------------------------------------------------------
void run_writer(const settings& s, results& r);
void run_drain(const settings& s, results& r);
void run_latency(const settings& s, results& r);
void run_backlog(const settings& s, results& r);
void run_kafka(const settings& s, results& r);
void run_sqlite(const settings& s, results& r);
void run_recovery(const settings& s, results& r);
void run_hotkey(const settings& s, results& r);

}  // namespace txoutbox::bench
