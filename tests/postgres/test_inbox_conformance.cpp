// The inbox conformance suite on libpqxx: a fresh schema per case, pqxx::work transactions.
#include <pqxx/pqxx>

#include "inbox_conformance.hpp"
#include "pg_test_support.hpp"
#include "txoutbox/postgres/inbox.hpp"

namespace {

namespace pg = txoutbox::testing::pg;

class pg_inbox_tx final : public txoutbox::conformance::inbox_tx {
 public:
  pg_inbox_tx(pqxx::connection& conn, const txoutbox::postgres::inbox& box)
      : tx_(conn), box_(box) {}
  bool first_time(std::string_view consumer, std::string_view message_id) override {
    return box_.first_time(tx_, consumer, message_id);
  }
  std::size_t purge_older_than(std::chrono::seconds age,
                               std::optional<std::size_t> limit) override {
    return limit ? box_.purge_older_than(tx_, age, *limit) : box_.purge_older_than(tx_, age);
  }
  void commit() override { tx_.commit(); }
  void rollback() override { tx_.abort(); }

 private:
  pqxx::work tx_;
  const txoutbox::postgres::inbox& box_;
};

class pg_inbox_session final : public txoutbox::conformance::inbox_session {
 public:
  pg_inbox_session(const std::string& url, const txoutbox::postgres::inbox& box)
      : conn_(url), pid_(conn_.backendpid()), box_(box) {}
  std::unique_ptr<txoutbox::conformance::inbox_tx> begin() override {
    return std::make_unique<pg_inbox_tx>(conn_, box_);
  }
  /// The server process id, read at connect time (safe from another thread).
  int pid() const noexcept { return pid_; }

 private:
  pqxx::connection conn_;
  int pid_;
  const txoutbox::postgres::inbox& box_;
};

class pg_inbox_harness final : public txoutbox::conformance::inbox_harness {
 public:
  void make_database() override {
    fx_ = std::make_unique<pg::schema_fixture>();
    box_ = std::make_unique<txoutbox::postgres::inbox>(
        txoutbox::postgres::inbox_options{.schema = fx_->schema});
    observer_ = pg::connect();
  }

  std::unique_ptr<txoutbox::conformance::inbox_tx> begin() override {
    return std::make_unique<pg_inbox_tx>(*fx_->conn, *box_);
  }

  std::unique_ptr<txoutbox::conformance::inbox_session> open_session() override {
    return std::make_unique<pg_inbox_session>(fx_->url, *box_);
  }

  // A heavyweight lock (a row or transaction lock), seen in pg_stat_activity.
  bool waits_on_a_lock(txoutbox::conformance::inbox_session& s) override {
    const int pid = dynamic_cast<pg_inbox_session&>(s).pid();
    pqxx::nontransaction tx(*observer_);
    return tx.exec_params1(
                 "SELECT count(*) FROM pg_stat_activity WHERE pid = $1 AND "
                 "wait_event_type = 'Lock'",
                 pid)[0]
               .as<int>() == 1;
  }

  void age_entries(const std::vector<std::string>& message_ids, std::chrono::hours by) override {
    std::string where;
    for (const auto& id : message_ids)
      where += (where.empty() ? " WHERE message_id IN (" : ", ") + fx_->conn->quote(id);
    if (!where.empty())
      where += ")";
    fx_->exec("UPDATE " + fx_->table("outbox_inbox") + " SET processed_at = processed_at - " +
              std::to_string(by.count()) + " * interval '1 hour'" + where);
  }

  long long count_entries() override { return fx_->count("outbox_inbox"); }

  std::vector<std::string> message_ids() override {
    std::vector<std::string> out;
    for (const auto& row :
         fx_->exec("SELECT message_id FROM " + fx_->table("outbox_inbox") + " ORDER BY message_id"))
      out.push_back(row[0].as<std::string>());
    return out;
  }

  void make_inbox_with_schema(const std::string& schema) override {
    txoutbox::postgres::inbox({.schema = schema});
  }

  std::string name() const override { return "pg"; }

 private:
  std::unique_ptr<pg::schema_fixture> fx_;
  std::unique_ptr<txoutbox::postgres::inbox> box_;
  std::unique_ptr<pqxx::connection> observer_;
};

std::unique_ptr<txoutbox::conformance::inbox_harness> make_pg_inbox_harness() {
  REQUIRE_FALSE(pg::server_url().empty());
  return std::make_unique<pg_inbox_harness>();
}

}  // namespace

TXOUTBOX_INBOX_CONFORMANCE_TESTS("pg", make_pg_inbox_harness)
