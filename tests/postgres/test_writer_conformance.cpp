// The writer conformance suite on libpqxx: a fresh schema per case, pqxx::work transactions.
#include <pqxx/pqxx>

#include "pg_test_support.hpp"
#include "txoutbox/postgres/store.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "writer_conformance.hpp"

namespace {

namespace pg = txoutbox::testing::pg;
using txoutbox::message;
using txoutbox::message_id;
using txoutbox::conformance::stored_row;

class pg_write_tx final : public txoutbox::conformance::write_tx {
 public:
  pg_write_tx(pqxx::connection& conn, const txoutbox::postgres::writer& w) : tx_(conn), w_(w) {}
  message_id enqueue(const message& msg) override { return w_.enqueue(tx_, msg); }
  std::vector<message_id> enqueue(std::span<const message> msgs) override {
    return w_.enqueue(tx_, msgs);
  }
  void commit() override { tx_.commit(); }
  void rollback() override { tx_.abort(); }

 private:
  pqxx::work tx_;
  const txoutbox::postgres::writer& w_;
};

class pg_write_session final : public txoutbox::conformance::write_session {
 public:
  pg_write_session(const std::string& url, const txoutbox::postgres::writer& w)
      : conn_(url), w_(w) {}
  std::unique_ptr<txoutbox::conformance::write_tx> begin() override {
    return std::make_unique<pg_write_tx>(conn_, w_);
  }

 private:
  pqxx::connection conn_;
  const txoutbox::postgres::writer& w_;
};

class pg_writer_harness final : public txoutbox::conformance::writer_harness {
 public:
  void make_database(std::uint32_t partitions) override {
    fx_ = std::make_unique<pg::schema_fixture>(partitions);
    writer_ = std::make_unique<txoutbox::postgres::writer>(fx_->writer_options(true));
  }

  std::unique_ptr<txoutbox::conformance::write_tx> begin() override {
    return std::make_unique<pg_write_tx>(*fx_->conn, *writer_);
  }

  std::unique_ptr<txoutbox::conformance::write_session> open_session() override {
    return std::make_unique<pg_write_session>(fx_->url, *writer_);
  }

  std::shared_ptr<txoutbox::store> make_store() override {
    return txoutbox::postgres::make_store(
        {.url = fx_->url, .schema = fx_->schema, .listen = false});
  }

  std::vector<stored_row> rows() override {
    const auto result = fx_->exec(
        "SELECT id::text, aggregatetype, aggregateid, type, payload::text, headers::text, "
        "partition_no, seq, (extract(epoch FROM available_at - created_at) * 1000)::bigint, "
        "available_at <= now(), attempts, last_error IS NULL FROM " +
        fx_->table("outbox") + " ORDER BY seq");
    std::vector<stored_row> out;
    for (const auto& r : result) {
      out.push_back({.id = r[0].as<std::string>(),
                     .aggregate_type = r[1].as<std::string>(),
                     .aggregate_id = r[2].as<std::string>(),
                     .type = r[3].as<std::string>(),
                     .payload = r[4].as<std::string>(),
                     .headers = r[5].as<std::string>(),
                     .partition = r[6].as<std::uint32_t>(),
                     .seq = r[7].as<std::int64_t>(),
                     .delay_ms = r[8].as<std::int64_t>(),
                     .available = r[9].as<bool>(),
                     .attempts = r[10].as<std::int64_t>(),
                     .last_error_null = r[11].as<bool>()});
    }
    return out;
  }

  // jsonb equality: the same JSON value.
  bool same_json(const std::string& stored, const std::string& written) override {
    pqxx::nontransaction tx(*fx_->conn);
    return tx.exec_params1("SELECT $1::jsonb = $2::jsonb", stored, written)[0].as<bool>();
  }

  void insert_plain(const std::optional<std::string>& id, const std::string& aggregate_id,
                    const std::string& payload) override {
    pqxx::work tx(*fx_->conn);
    if (id) {
      tx.exec_params0("INSERT INTO " + fx_->table("outbox") +
                          " (id, aggregatetype, aggregateid, type, payload) "
                          "VALUES ($1::uuid, 'order', $2, 'Created', $3::jsonb)",
                      *id, aggregate_id, payload);
    } else {
      tx.exec_params0("INSERT INTO " + fx_->table("outbox") +
                          " (aggregatetype, aggregateid, type, payload) "
                          "VALUES ('order', $1, 'Created', $2::jsonb)",
                      aggregate_id, payload);
    }
    tx.commit();
  }

  std::uint32_t plain_insert_partitions() const override { return 5; }

  void drop_outbox() override { fx_->exec("DROP TABLE " + fx_->table("outbox") + " CASCADE"); }

  bool is_missing_table_error(std::exception_ptr e) override {
    try {
      std::rethrow_exception(e);
    } catch (const pqxx::undefined_table&) {
      return true;
    } catch (...) {
      return false;
    }
  }

  std::string name() const override { return "pg"; }

 private:
  std::unique_ptr<pg::schema_fixture> fx_;
  std::unique_ptr<txoutbox::postgres::writer> writer_;
};

std::unique_ptr<txoutbox::conformance::writer_harness> make_pg_writer_harness() {
  REQUIRE_FALSE(pg::server_url().empty());
  return std::make_unique<pg_writer_harness>();
}

}  // namespace

TXOUTBOX_WRITER_CONFORMANCE_TESTS("pg", make_pg_writer_harness)
