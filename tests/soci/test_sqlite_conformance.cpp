// The store, writer and inbox conformance suites on SOCI-SQLite: a fresh temporary database
// file per case.
#include <thread>

#include "soci_conformance.hpp"
#include "sqlite_support.hpp"
#include "store_conformance.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"

namespace {

using txoutbox::message;
using txoutbox::message_id;

class sqlite_harness final : public txoutbox::conformance::harness {
 public:
  std::shared_ptr<txoutbox::store> make_store(std::uint32_t partitions) override {
    db_ = std::make_unique<txoutbox::testing::sqlite::temp_db>(partitions);
    session_ = db_->open();
    return make_peer_store();
  }

  std::shared_ptr<txoutbox::store> make_peer_store() override {
    return txoutbox::soci::make_store(txoutbox::soci::store_options{.url = db_->url()});
  }

  message_id enqueue_committed(const message& msg) override {
    txoutbox::soci::write_transaction tx(*session_);
    const auto id = writer_.enqueue(*session_, msg);
    tx.commit();
    return id;
  }

  std::vector<message_id> enqueue_committed_batch(std::span<const message> msgs) override {
    txoutbox::soci::write_transaction tx(*session_);
    auto ids = writer_.enqueue(*session_, msgs);
    tx.commit();
    return ids;
  }

  void enqueue_rolled_back(const message& msg) override {
    txoutbox::soci::write_transaction tx(*session_);
    writer_.enqueue(*session_, msg);
    tx.rollback();
  }

  // SQLite serialises writers (one write transaction at a time per file), so commits can
  // never land out of seq order: both are written in order and between() runs after.
  std::pair<message_id, message_id> enqueue_out_of_order(
      const message& a, const message& b, const std::function<void()>& between) override {
    const auto first = enqueue_committed(a);
    const auto second = enqueue_committed(b);
    between();
    return {first, second};
  }

  void advance(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }

  std::optional<std::string> last_error(const message_id& id) override {
    std::string text;
    soci::indicator ind = soci::i_ok;
    const auto key = id.to_string();
    *session_ << "SELECT last_error FROM outbox WHERE id = :id", soci::use(key),
        soci::into(text, ind);
    if (!session_->got_data())
      return std::nullopt;
    return ind == soci::i_null ? std::string() : text;
  }

  std::string name() const override { return "sqlite"; }

 private:
  std::unique_ptr<txoutbox::testing::sqlite::temp_db> db_;
  std::unique_ptr<soci::session> session_;
  txoutbox::soci::writer writer_;
};

std::unique_ptr<txoutbox::conformance::harness> make_sqlite_harness() {
  return std::make_unique<sqlite_harness>();
}

namespace sc = txoutbox::testing::soci_conformance;

/// A temporary database file for the writer and inbox harnesses.
class sqlite_database final : public sc::database {
 public:
  explicit sqlite_database(std::uint32_t partitions) : db_(partitions) {}
  std::unique_ptr<soci::session> open() const override { return db_.open(); }
  std::string url() const override { return db_.url(); }
  std::string schema() const override { return {}; }
  std::string table(std::string_view t) const override { return std::string(t); }

 private:
  txoutbox::testing::sqlite::temp_db db_;
};

std::unique_ptr<sc::database> make_sqlite_database(std::uint32_t partitions) {
  return std::make_unique<sqlite_database>(partitions);
}

std::unique_ptr<txoutbox::conformance::writer_harness> make_sqlite_writer_harness() {
  return sc::make_writer_harness(sc::dialect::sqlite, "sqlite", make_sqlite_database);
}

std::unique_ptr<txoutbox::conformance::inbox_harness> make_sqlite_inbox_harness() {
  return sc::make_inbox_harness(sc::dialect::sqlite, "sqlite", make_sqlite_database);
}

}  // namespace

TXOUTBOX_STORE_CONFORMANCE_TESTS("sqlite", make_sqlite_harness)
TXOUTBOX_WRITER_CONFORMANCE_TESTS("sqlite", make_sqlite_writer_harness)
TXOUTBOX_WRITER_SESSION_CHECK_TESTS("sqlite", make_sqlite_writer_harness)
TXOUTBOX_INBOX_CONFORMANCE_TESTS("sqlite", make_sqlite_inbox_harness)
