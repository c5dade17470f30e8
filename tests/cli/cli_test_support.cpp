// Shared helpers for the command-line tests (see cli_test_support.hpp).
#include "cli_test_support.hpp"

#include <catch2/catch.hpp>
#include <pqxx/pqxx>
#include <sstream>

#include "txoutbox/envelope.hpp"
#include "txoutbox/message.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/testing/servers.hpp"
#include "txoutbox/testing/wait.hpp"

namespace txoutbox::testing::cli {

std::string pg_url() {
  auto url = server_url("pg", "TXOUTBOX_TEST_PG_URL");
  if (url)
    return *url;
  if (running_under_ci())
    FAIL("no PostgreSQL server: set TXOUTBOX_TEST_PG_URL");
  WARN("no PostgreSQL server configured (TXOUTBOX_TEST_PG_URL): test skipped");
  return {};
}

cli_schema::cli_schema(std::uint32_t partitions) : url(pg_url()), schema(unique_name("cli")) {
  migrate_result = run_cli(args({"migrate", "--partitions", std::to_string(partitions)}));
  // args() puts the subcommand after the db flags; the CLI wants it first.
  INFO(migrate_result.err);
  REQUIRE(migrate_result.exit_code == 0);
}

cli_schema::~cli_schema() {
  try {
    pqxx::connection conn(url);
    pqxx::nontransaction tx(conn);
    tx.exec("DROP SCHEMA IF EXISTS \"" + schema + "\" CASCADE");
  } catch (...) {
    // Best effort: a leftover schema has a unique name and harms no other test.
  }
}

std::vector<std::string> cli_schema::args(std::vector<std::string> more) const {
  std::vector<std::string> out;
  // The subcommand (first of `more`) must come first on the command line.
  if (!more.empty()) {
    out.push_back(more.front());
    more.erase(more.begin());
  }
  out.insert(out.end(), {"--db", url, "--schema", schema});
  out.insert(out.end(), more.begin(), more.end());
  return out;
}

std::shared_ptr<store> cli_schema::open_store() const {
  return postgres::make_store(
      postgres::store_options{.url = url, .schema = schema, .listen = false});
}

struct workload::impl {
  impl(const cli_schema& s, int keys_, int rollback_every_)
      : conn(s.url),
        writer(postgres::writer_options{.schema = s.schema}),
        keys(keys_),
        rollback_every(rollback_every_) {}
  pqxx::connection conn;
  postgres::writer writer;
  int keys;
  int rollback_every;
  int transactions = 0;
};

workload::workload(const cli_schema& schema, int keys, int rollback_every)
    : impl_(std::make_unique<impl>(schema, keys, rollback_every)) {}

workload::~workload() = default;

void workload::round(int round, int per_tx) {
  for (int first = 0; first < impl_->keys; first += per_tx) {
    const bool rollback =
        impl_->rollback_every > 0 && ++impl_->transactions % impl_->rollback_every == 0;
    std::vector<std::pair<message_id, sent_message>> ids;
    pqxx::work tx(impl_->conn);
    for (int k = first; k < std::min(first + per_tx, impl_->keys); ++k) {
      message m;
      m.aggregate_type = "order";
      m.aggregate_id = "key-" + std::to_string(k);
      m.type = "OrderPlaced";
      m.payload = "{\"k\":" + std::to_string(k) + ",\"n\":" + std::to_string(round) + "}";
      ids.emplace_back(impl_->writer.enqueue(tx, m), sent_message{m.aggregate_id, round});
    }
    if (rollback) {
      tx.abort();
      for (auto& [id, sent] : ids)
        rolled_back.insert(id);
    } else {
      tx.commit();
      for (auto& [id, sent] : ids)
        committed.emplace(id, sent);
    }
  }
}

void workload::rounds_at_once(int first, int last) {
  std::vector<message> batch;
  std::vector<sent_message> sent;
  for (int r = first; r < last; ++r) {
    for (int k = 0; k < impl_->keys; ++k) {
      message m;
      m.aggregate_type = "order";
      m.aggregate_id = "key-" + std::to_string(k);
      m.type = "OrderPlaced";
      m.payload = "{\"k\":" + std::to_string(k) + ",\"n\":" + std::to_string(r) + "}";
      batch.push_back(std::move(m));
      sent.push_back({batch.back().aggregate_id, r});
    }
  }
  pqxx::work tx(impl_->conn);
  const auto ids = impl_->writer.enqueue(tx, std::span<const message>(batch));
  tx.commit();
  for (std::size_t i = 0; i < ids.size(); ++i)
    committed.emplace(ids[i], sent[i]);
}

std::vector<published> read_published(const std::filesystem::path& path) {
  const std::string text = read_text(path);
  std::vector<published> out;
  std::size_t start = 0;
  while (true) {
    const auto end = text.find('\n', start);
    if (end == std::string::npos)
      break;  // unfinished last line
    const auto rec = parse_json_line(std::string_view(text).substr(start, end - start));
    out.push_back({rec.msg.id, rec.msg.aggregate_id});
    start = end + 1;
  }
  return out;
}

delivery_report check_delivery(const std::vector<std::filesystem::path>& files, const workload& w) {
  delivery_report r;
  std::set<message_id> seen;
  for (const auto& file : files) {
    std::set<message_id> seen_here;
    std::map<std::string, int> last_n;  // per key: n of the last first appearance
    for (const auto& p : read_published(file)) {
      ++r.lines;
      seen.insert(p.id);
      if (w.rolled_back.contains(p.id)) {
        ++r.rolled_back;
        if (r.first_problem.empty())
          r.first_problem = "rolled-back id published: " + p.id.to_string();
        continue;
      }
      const auto it = w.committed.find(p.id);
      if (it == w.committed.end()) {
        ++r.unknown;
        if (r.first_problem.empty())
          r.first_problem = "unknown id published: " + p.id.to_string();
        continue;
      }
      if (!seen_here.insert(p.id).second)
        continue;  // a duplicate: not a first appearance
      const auto [pos, fresh] = last_n.emplace(p.key, it->second.n);
      if (!fresh) {
        if (it->second.n <= pos->second) {
          ++r.order_breaks;
          if (r.first_problem.empty()) {
            r.first_problem = file.filename().string() + ": " + p.key +
                              " n=" + std::to_string(it->second.n) +
                              " after n=" + std::to_string(pos->second);
          }
        }
        pos->second = it->second.n;
      }
    }
  }
  r.distinct = seen.size();
  for (const auto& [id, sent] : w.committed) {
    if (!seen.contains(id)) {
      ++r.missing;
      if (r.first_problem.empty())
        r.first_problem = "missing " + sent.key + " n=" + std::to_string(sent.n);
    }
  }
  return r;
}

std::vector<std::string> relay_args(const cli_schema& schema, const std::filesystem::path& file,
                                    const std::string& owner, std::vector<std::string> more) {
  std::vector<std::string> base{"relay", "--publisher", "file:" + file.string(), "--owner", owner};
  base.insert(base.end(), more.begin(), more.end());
  return schema.args(base);
}

bool wait_started(child_process& relay, std::chrono::milliseconds timeout) {
  wait_until(
      [&] { return relay.err().find("started as") != std::string::npos || !relay.running(); },
      timeout);
  return relay.err().find("started as") != std::string::npos;
}

std::set<std::uint32_t> partitions_of(store& s, const std::string& owner) {
  std::set<std::uint32_t> out;
  for (const auto& l : s.leases()) {
    if (l.owner == owner && l.expires_in.count() > 0)
      out.insert(l.partition);
  }
  return out;
}

bool is_one_error_line(const std::string& text) {
  return text.starts_with("txoutbox: ") && !text.empty() && text.back() == '\n' &&
         text.find('\n') == text.size() - 1;
}

}  // namespace txoutbox::testing::cli
