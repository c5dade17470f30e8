// Shared helpers for the command-line tests: server URL, per-test schema, relay processes,
// published-file analysis.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "process.hpp"
#include "txoutbox/message_id.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::testing::cli {

/// The PostgreSQL test server URL; "" (after a WARN) when none is configured, and a FAIL
/// under CI.
std::string pg_url();

/// Returns early from a test when there is no server (FAILs under CI).
#define TXOUTBOX_CLI_REQUIRE_PG()                   \
  do {                                              \
    if (::txoutbox::testing::cli::pg_url().empty()) \
      return;                                       \
  } while (false)

/// A unique schema migrated through `txoutbox migrate`; dropped on destruction.
struct cli_schema {
  explicit cli_schema(std::uint32_t partitions = 4);
  ~cli_schema();
  cli_schema(const cli_schema&) = delete;
  cli_schema& operator=(const cli_schema&) = delete;

  /// {"--db", url, "--schema", schema} followed by `more`.
  std::vector<std::string> args(std::vector<std::string> more = {}) const;
  /// An in-process store on the schema (for lease and backlog observation).
  std::shared_ptr<store> open_store() const;

  std::string url;
  std::string schema;
  run_result migrate_result;  ///< what the migrate run printed
};

/// A message the test committed (or rolled back): which key, which position in the key.
struct sent_message {
  std::string key;
  int n = 0;
};

/// Writes messages with libpqxx and the writer from the test thread, serialised per key
/// (one writer thread), `keys` messages per transaction round; every `rollback_every`-th
/// transaction is rolled back and its ids remembered as never-to-be-published.
class workload {
 public:
  workload(const cli_schema& schema, int keys, int rollback_every = 5);
  ~workload();
  /// Enqueues one message for every key (position `round`) in transactions of
  /// `per_tx` messages.
  void round(int round, int per_tx = 10);
  /// Enqueues rounds [first, last) for every key in ONE committed transaction (one batch
  /// statement), so a large backlog appears at once.
  void rounds_at_once(int first, int last);

  std::map<message_id, sent_message> committed;
  std::set<message_id> rolled_back;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One published JSON line.
struct published {
  message_id id;
  std::string key;
};

/// The complete lines of a JSON-lines file (an unfinished last line is ignored).
std::vector<published> read_published(const std::filesystem::path& path);

/// What a delivery check found across several relays' files.
struct delivery_report {
  std::size_t lines = 0;         ///< lines in all files
  std::size_t distinct = 0;      ///< distinct ids in all files
  std::size_t missing = 0;       ///< committed ids in no file
  std::size_t rolled_back = 0;   ///< rolled-back ids that appeared (must be 0)
  std::size_t unknown = 0;       ///< ids never written by the test (must be 0)
  std::size_t order_breaks = 0;  ///< per file and key, a first appearance below an earlier one
  std::string first_problem;     ///< human-readable, for INFO
};

delivery_report check_delivery(const std::vector<std::filesystem::path>& files, const workload& w);

/// Arguments of a relay process publishing to `file` as `owner`.
std::vector<std::string> relay_args(const cli_schema& schema, const std::filesystem::path& file,
                                    const std::string& owner, std::vector<std::string> more = {});

/// Waits until the relay printed its start line (true) or ended (false).
bool wait_started(child_process& relay,
                  std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// Partitions whose live lease `owner` holds, per store::leases().
std::set<std::uint32_t> partitions_of(store& s, const std::string& owner);

/// True when `text` is exactly one line, prefixed "txoutbox: ".
bool is_one_error_line(const std::string& text);

}  // namespace txoutbox::testing::cli
