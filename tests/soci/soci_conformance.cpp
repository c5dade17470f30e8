// The writer and inbox conformance harnesses for SOCI: what differs per dialect is the SQL
// that inspects the tables (clock arithmetic, jsonb, lock waits), nothing else.
#include "soci_conformance.hpp"

#include <thread>

#include "txoutbox/soci/inbox.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"

namespace txoutbox::testing::soci_conformance {
namespace {

using conformance::stored_row;

/// SQL for "now" on the database clock, in the type of the time columns.
std::string now_sql(dialect d) {
  switch (d) {
    case dialect::sqlite:
      return "CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)";
    case dialect::mysql:
      return "UTC_TIMESTAMP(6)";
    case dialect::postgresql:
      break;
  }
  return "now()";
}

/// SQL for `column` minus `hours` hours, in the column's type.
std::string minus_hours_sql(dialect d, const std::string& column, long long hours) {
  const auto h = std::to_string(hours);
  switch (d) {
    case dialect::sqlite:
      return column + " - " + h + " * 3600000";
    case dialect::mysql:
      return column + " - INTERVAL " + h + " HOUR";
    case dialect::postgresql:
      break;
  }
  return column + " - " + h + " * interval '1 hour'";
}

/// `text` as an SQL string literal (test data only: no backslashes).
std::string literal(const std::string& text) {
  std::string out = "'";
  for (const char c : text)
    out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// -- writer ------------------------------------------------------------------------------

class write_tx final : public conformance::write_tx {
 public:
  write_tx(::soci::session& s, const soci::writer& w) : session_(s), tx_(s), w_(w) {}
  message_id enqueue(const message& msg) override { return w_.enqueue(session_, msg); }
  std::vector<message_id> enqueue(std::span<const message> msgs) override {
    return w_.enqueue(session_, msgs);
  }
  void commit() override { tx_.commit(); }
  void rollback() override { tx_.rollback(); }

 private:
  ::soci::session& session_;
  soci::write_transaction tx_;
  const soci::writer& w_;
};

class write_session final : public conformance::write_session {
 public:
  write_session(std::unique_ptr<::soci::session> s, const soci::writer& w)
      : session_(std::move(s)), w_(w) {}
  std::unique_ptr<conformance::write_tx> begin() override {
    return std::make_unique<write_tx>(*session_, w_);
  }

 private:
  std::unique_ptr<::soci::session> session_;
  const soci::writer& w_;
};

class writer_harness final : public conformance::writer_harness {
 public:
  writer_harness(dialect d, std::string name, database_factory make_db)
      : d_(d), name_(std::move(name)), make_db_(std::move(make_db)) {}

  void make_database(std::uint32_t partitions) override {
    db_ = make_db_(partitions);
    session_ = db_->open();
    writer_ = std::make_unique<soci::writer>(soci::writer_options{.schema = db_->schema()});
  }

  std::unique_ptr<conformance::write_tx> begin() override {
    return std::make_unique<write_tx>(*session_, *writer_);
  }

  std::unique_ptr<conformance::write_session> open_session() override {
    return std::make_unique<write_session>(db_->open(), *writer_);
  }

  std::shared_ptr<store> make_store() override {
    return soci::make_store(soci::store_options{.url = db_->url(), .schema = db_->schema()});
  }

  std::vector<stored_row> rows() override;

  bool same_json(const std::string& stored, const std::string& written) override {
    if (d_ != dialect::postgresql)
      return stored == written;  // the column keeps the bytes
    int same = 0;
    *session_ << "SELECT CASE WHEN CAST(:a AS jsonb) = CAST(:b AS jsonb) THEN 1 ELSE 0 END",
        ::soci::use(stored), ::soci::use(written), ::soci::into(same);
    return same == 1;
  }

  void insert_plain(const std::optional<std::string>& id, const std::string& aggregate_id,
                    const std::string& payload) override {
    const auto table = db_->table("outbox");
    if (id) {
      *session_ << "INSERT INTO " + table +
                       " (id, aggregatetype, aggregateid, type, payload) "
                       "VALUES (:i, 'order', :k, 'Created', :p)",
          ::soci::use(*id), ::soci::use(aggregate_id), ::soci::use(payload);
    } else {
      *session_ << "INSERT INTO " + table +
                       " (aggregatetype, aggregateid, type, payload) "
                       "VALUES ('order', :k, 'Created', :p)",
          ::soci::use(aggregate_id), ::soci::use(payload);
    }
  }

  std::uint32_t plain_insert_partitions() const override { return d_ == dialect::sqlite ? 1 : 5; }

  void drop_outbox() override {
    *session_ << "DROP TABLE " + db_->table("outbox") +
                     (d_ == dialect::postgresql ? " CASCADE" : "");
  }

  bool is_missing_table_error(std::exception_ptr e) override {
    try {
      std::rethrow_exception(e);
    } catch (const ::soci::soci_error&) {
      return true;
    } catch (...) {
      return false;
    }
  }

  message_id enqueue_without_transaction(const message& msg) override {
    return writer_->enqueue(*session_, msg);
  }
  std::vector<message_id> enqueue_without_transaction(std::span<const message> msgs) override {
    return writer_->enqueue(*session_, msgs);
  }

  std::string name() const override { return name_; }

 private:
  std::string rows_sql() const;

  dialect d_;
  std::string name_;
  database_factory make_db_;
  std::unique_ptr<database> db_;
  std::unique_ptr<::soci::session> session_;
  std::unique_ptr<soci::writer> writer_;
};

std::string writer_harness::rows_sql() const {
  const bool pg = d_ == dialect::postgresql;
  std::string delay = "available_at - created_at";
  if (d_ == dialect::mysql)
    delay = "TIMESTAMPDIFF(MICROSECOND, created_at, available_at) DIV 1000";
  if (pg)
    delay = "CAST(extract(epoch FROM available_at - created_at) * 1000 AS bigint)";
  const std::string text = pg ? "::text" : "";
  return "SELECT id" + text + ", aggregatetype, aggregateid, type, payload" + text + ", headers" +
         text + ", partition_no, seq, " + delay + ", CASE WHEN available_at <= " + now_sql(d_) +
         " THEN 1 ELSE 0 END, attempts, CASE WHEN last_error IS NULL THEN 1 ELSE 0 END FROM " +
         db_->table("outbox") + " ORDER BY seq";
}

std::vector<stored_row> writer_harness::rows() {
  stored_row r;
  long long partition = 0;
  long long seq = 0;
  long long delay = 0;
  long long available = 0;
  long long attempts = 0;
  long long no_error = 0;
  ::soci::statement st =
      (session_->prepare << rows_sql(), ::soci::into(r.id), ::soci::into(r.aggregate_type),
       ::soci::into(r.aggregate_id), ::soci::into(r.type), ::soci::into(r.payload),
       ::soci::into(r.headers), ::soci::into(partition), ::soci::into(seq), ::soci::into(delay),
       ::soci::into(available), ::soci::into(attempts), ::soci::into(no_error));
  st.execute();
  std::vector<stored_row> out;
  while (st.fetch()) {
    r.partition = static_cast<std::uint32_t>(partition);
    r.seq = seq;
    r.delay_ms = delay;
    r.available = available == 1;
    r.attempts = attempts;
    r.last_error_null = no_error == 1;
    out.push_back(r);
  }
  return out;
}

// -- inbox -------------------------------------------------------------------------------

class inbox_tx final : public conformance::inbox_tx {
 public:
  inbox_tx(::soci::session& s, const soci::inbox& box) : session_(s), tx_(s), box_(box) {}
  bool first_time(std::string_view consumer, std::string_view message_id) override {
    return box_.first_time(session_, consumer, message_id);
  }
  std::size_t purge_older_than(std::chrono::seconds age,
                               std::optional<std::size_t> limit) override {
    return limit ? box_.purge_older_than(session_, age, *limit)
                 : box_.purge_older_than(session_, age);
  }
  void commit() override { tx_.commit(); }
  void rollback() override { tx_.rollback(); }

 private:
  ::soci::session& session_;
  soci::write_transaction tx_;
  const soci::inbox& box_;
};

class inbox_session final : public conformance::inbox_session {
 public:
  inbox_session(dialect d, std::unique_ptr<::soci::session> s, const soci::inbox& box)
      : session_(std::move(s)), box_(box) {
    // The server's id for this connection, read now so another thread may ask for it.
    if (d == dialect::mysql)
      *session_ << "SELECT CONNECTION_ID()", ::soci::into(backend_id_);
    if (d == dialect::postgresql)
      *session_ << "SELECT pg_backend_pid()", ::soci::into(backend_id_);
  }
  std::unique_ptr<conformance::inbox_tx> begin() override {
    return std::make_unique<inbox_tx>(*session_, box_);
  }
  long long backend_id() const noexcept { return backend_id_; }

 private:
  std::unique_ptr<::soci::session> session_;
  const soci::inbox& box_;
  long long backend_id_ = 0;
};

class inbox_harness final : public conformance::inbox_harness {
 public:
  inbox_harness(dialect d, std::string name, database_factory make_db)
      : d_(d), name_(std::move(name)), make_db_(std::move(make_db)) {}

  void make_database() override {
    db_ = make_db_(4);
    session_ = db_->open();
    observer_ = db_->open();
    box_ = std::make_unique<soci::inbox>(soci::inbox_options{.schema = db_->schema()});
  }

  std::unique_ptr<conformance::inbox_tx> begin() override {
    return std::make_unique<inbox_tx>(*session_, *box_);
  }

  std::unique_ptr<conformance::inbox_session> open_session() override {
    return std::make_unique<inbox_session>(d_, db_->open(), *box_);
  }

  bool waits_on_a_lock(conformance::inbox_session& s) override;

  void age_entries(const std::vector<std::string>& message_ids, std::chrono::hours by) override {
    std::string where;
    for (const auto& id : message_ids)
      where += (where.empty() ? " WHERE message_id IN (" : ", ") + literal(id);
    if (!where.empty())
      where += ")";
    *session_ << "UPDATE " + db_->table("outbox_inbox") +
                     " SET processed_at = " + minus_hours_sql(d_, "processed_at", by.count()) +
                     where;
  }

  long long count_entries() override {
    long long n = 0;
    *session_ << "SELECT count(*) FROM " + db_->table("outbox_inbox"), ::soci::into(n);
    return n;
  }

  std::vector<std::string> message_ids() override {
    std::string id;
    ::soci::statement st =
        (session_->prepare << "SELECT message_id FROM " + db_->table("outbox_inbox") +
                                  " ORDER BY message_id",
         ::soci::into(id));
    st.execute();
    std::vector<std::string> out;
    while (st.fetch())
      out.push_back(id);
    return out;
  }

  void make_inbox_with_schema(const std::string& schema) override {
    soci::inbox(soci::inbox_options{.schema = schema});
  }

  std::string name() const override { return name_; }

 private:
  dialect d_;
  std::string name_;
  database_factory make_db_;
  std::unique_ptr<database> db_;
  std::unique_ptr<::soci::session> session_;
  std::unique_ptr<::soci::session> observer_;
  std::unique_ptr<soci::inbox> box_;
};

bool inbox_harness::waits_on_a_lock(conformance::inbox_session& s) {
  const auto id = dynamic_cast<inbox_session&>(s).backend_id();
  long long n = 0;
  switch (d_) {
    case dialect::sqlite:
      // A waiter sits in the busy handler, which nothing shows: give it the time to get
      // there; the caller then checks it has not finished.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      return true;
    case dialect::mysql:
      // Its INSERT still executing in the processlist: blocked on the first one's row lock.
      *observer_ << "SELECT count(*) FROM information_schema.processlist WHERE id = :id AND "
                    "info LIKE 'INSERT INTO%outbox_inbox%'",
          ::soci::use(id), ::soci::into(n);
      return n > 0;
    case dialect::postgresql:
      *observer_ << "SELECT count(*) FROM pg_stat_activity WHERE pid = :id AND "
                    "wait_event_type = 'Lock'",
          ::soci::use(id), ::soci::into(n);
      return n > 0;
  }
  return false;
}

}  // namespace

std::unique_ptr<conformance::writer_harness> make_writer_harness(dialect d, std::string name,
                                                                 database_factory make_db) {
  return std::make_unique<writer_harness>(d, std::move(name), std::move(make_db));
}

std::unique_ptr<conformance::inbox_harness> make_inbox_harness(dialect d, std::string name,
                                                               database_factory make_db) {
  return std::make_unique<inbox_harness>(d, std::move(name), std::move(make_db));
}

}  // namespace txoutbox::testing::soci_conformance
