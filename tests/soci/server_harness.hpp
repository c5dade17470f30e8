// The conformance harnesses for the SOCI server dialects (MariaDB, PostgreSQL).
#pragma once

#include <thread>

#include "server_support.hpp"
#include "soci_conformance.hpp"
#include "store_conformance.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"

namespace txoutbox::testing::soci_server {

/// A fresh database (MariaDB) or schema (PostgreSQL) per case; the writer's session is
/// the harness's own, a second session writes the other half of out-of-order commits.
class server_harness final : public txoutbox::conformance::harness {
 public:
  explicit server_harness(kind k) : kind_(k) {}

  std::shared_ptr<txoutbox::store> make_store(std::uint32_t partitions) override {
    db_ = std::make_unique<server_db>(kind_, partitions);
    session_ = db_->open();
    writer_ = std::make_unique<txoutbox::soci::writer>(
        txoutbox::soci::writer_options{.schema = db_->schema});
    return make_peer_store();
  }

  std::shared_ptr<txoutbox::store> make_peer_store() override {
    return txoutbox::soci::make_store(
        txoutbox::soci::store_options{.url = db_->url, .schema = db_->schema});
  }

  message_id enqueue_committed(const message& msg) override {
    txoutbox::soci::write_transaction tx(*session_);
    const auto id = writer_->enqueue(*session_, msg);
    tx.commit();
    return id;
  }

  std::vector<message_id> enqueue_committed_batch(std::span<const message> msgs) override {
    txoutbox::soci::write_transaction tx(*session_);
    auto ids = writer_->enqueue(*session_, msgs);
    tx.commit();
    return ids;
  }

  void enqueue_rolled_back(const message& msg) override {
    txoutbox::soci::write_transaction tx(*session_);
    writer_->enqueue(*session_, msg);
    tx.rollback();
  }

  // Two sessions: A takes the lower seq and stays open while B commits.
  std::pair<message_id, message_id> enqueue_out_of_order(
      const message& a, const message& b, const std::function<void()>& between) override {
    auto other = db_->open();
    txoutbox::soci::write_transaction first(*session_);
    const auto id_a = writer_->enqueue(*session_, a);
    txoutbox::soci::write_transaction second(*other);
    const auto id_b = writer_->enqueue(*other, b);
    second.commit();
    between();
    first.commit();
    return {id_a, id_b};
  }

  void advance(std::chrono::milliseconds d) override { std::this_thread::sleep_for(d); }

  std::optional<std::string> last_error(const message_id& id) override {
    std::string text;
    ::soci::indicator ind = ::soci::i_ok;
    const auto key = id.to_string();
    *session_ << "SELECT last_error FROM " + db_->table("outbox") + " WHERE id = :id",
        ::soci::use(key), ::soci::into(text, ind);
    if (!session_->got_data())
      return std::nullopt;
    return ind == ::soci::i_null ? std::string() : text;
  }

  std::string name() const override {
    return kind_ == kind::mysql ? "soci-mariadb" : "soci-postgresql";
  }

 private:
  kind kind_;
  std::unique_ptr<server_db> db_;
  std::unique_ptr<::soci::session> session_;
  std::unique_ptr<txoutbox::soci::writer> writer_;
};

/// A fresh database (MariaDB) or schema (PostgreSQL) for the writer and inbox harnesses.
class server_database final : public soci_conformance::database {
 public:
  server_database(kind k, std::uint32_t partitions) : db_(k, partitions) {}
  std::unique_ptr<::soci::session> open() const override { return db_.open(); }
  std::string url() const override { return db_.url; }
  std::string schema() const override { return db_.schema; }
  std::string table(std::string_view t) const override { return db_.table(t); }

 private:
  server_db db_;
};

inline soci_conformance::dialect dialect_of(kind k) {
  return k == kind::mysql ? soci_conformance::dialect::mysql
                          : soci_conformance::dialect::postgresql;
}

inline soci_conformance::database_factory database_factory_for(kind k) {
  return [k](std::uint32_t partitions) { return std::make_unique<server_database>(k, partitions); };
}

}  // namespace txoutbox::testing::soci_server
