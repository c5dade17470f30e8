// The PostgreSQL relay store: every SPI call is one short transaction on a pooled connection.
#include "txoutbox/postgres/store.hpp"

#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/row>
#include <pqxx/transaction>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connection.hpp"
#include "core/claim_budget.hpp"
#include "core/wire_format.hpp"
#include "listener.hpp"
#include "names.hpp"
#include "owner_lock.hpp"
#include "postgres/sqlstate.hpp"
#include "store_sql.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/identifier.hpp"

namespace txoutbox::postgres {
namespace {

using detail::rethrow_mapped;

// Prepared statement names (one set per connection, prepared lazily by libpqxx and again
// on every rebuilt connection).
constexpr const char* st_heartbeat = "txo_heartbeat";
constexpr const char* st_live_owners = "txo_live_owners";
constexpr const char* st_leave_member = "txo_leave_member";
constexpr const char* st_leave_leases = "txo_leave_leases";
constexpr const char* st_acquire = "txo_acquire";
constexpr const char* st_renew = "txo_renew";
constexpr const char* st_renew_all = "txo_renew_all";
constexpr const char* st_release = "txo_release";
constexpr const char* st_leases = "txo_leases";
constexpr const char* st_claim = "txo_claim";
constexpr const char* st_begin_batch = "txo_begin_batch";
constexpr const char* st_settle = "txo_settle";
constexpr const char* st_stats = "txo_stats";
constexpr const char* st_dead_letters = "txo_dead_letters";
constexpr const char* st_requeue = "txo_requeue";
constexpr const char* st_purge = "txo_purge";
constexpr const char* st_partitions = "txo_partitions";

double ms(std::chrono::milliseconds d) {
  return static_cast<double>(std::max<std::int64_t>(0, d.count()));
}

/// An array literal of already-safe tokens (ints, uuids): {a,b,c}.
template <class Range, class Fn>
std::string plain_array(const Range& items, Fn&& token) {
  std::string out = "{";
  bool first = true;
  for (const auto& item : items) {
    if (!first)
      out.push_back(',');
    first = false;
    out += token(item);
  }
  out.push_back('}');
  return out;
}

/// A text[] literal: every element double-quoted with \ and " escaped.
std::string text_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i)
      out.push_back(',');
    out.push_back('"');
    for (char c : items[i]) {
      if (c == '"' || c == '\\')
        out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

std::string id_array(std::span<const message_id> ids) {
  return plain_array(ids, [](const message_id& id) { return id.to_string(); });
}

std::chrono::system_clock::time_point from_us(std::int64_t us) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::microseconds(us)));
}

/// Reads the record columns starting at `col`: id, aggregatetype, aggregateid, type,
/// payload, headers, seq (the partition and the rest are read by the caller).
outbox_record read_record(const pqxx::row& row, int col) {
  outbox_record r;
  r.msg.id = message_id::parse(row[col].c_str());
  r.msg.aggregate_type = row[col + 1].as<std::string>();
  r.msg.aggregate_id = row[col + 2].as<std::string>();
  r.msg.type = row[col + 3].as<std::string>();
  r.msg.payload = row[col + 4].as<std::string>();
  r.msg.headers = txoutbox::detail::headers_from_json(row[col + 5].c_str());
  r.seq = row[col + 6].as<std::int64_t>();
  return r;
}

bool is_connection_loss(const pqxx::sql_error& e) {
  return detail::classify_sqlstate(e.sqlstate()).session_lost;
}

class pg_store final : public store {
 public:
  explicit pg_store(store_options options)
      : options_(std::move(options)),
        quoted_schema_(quote_identifier(options_.schema)),
        sql_(quoted_schema_),
        channel_(detail::notify_channel(options_.schema)),
        conninfo_(detail::build_conninfo(
            options_.url, detail::conninfo_options{.connect_timeout = options_.connect_timeout,
                                                   .statement_timeout = options_.statement_timeout,
                                                   .keepalives = options_.keepalives,
                                                   .application_name = options_.application_name})),
        redacted_(detail::redact(options_.url)),
        pool_(
            conninfo_, redacted_, options_.pool_size, [this](pqxx::connection& c) { setup(c); },
            options_.connect_timeout + options_.statement_timeout) {
    // Connect once now: an unreachable database or a missing schema fails here, clearly.
    with_connection("checking the schema", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      const auto row = tx.exec1(sql_.probe);
      partitions_.store(row[1].as<std::uint32_t>());
      return 0;
    });
    if (options_.listen)
      listener_ = std::make_unique<detail::listener>(conninfo_, redacted_, channel_);
  }

  std::uint32_t partition_count() override {
    if (auto n = partitions_.load(); n != 0)
      return n;
    const auto n = with_connection("reading the partition count", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      return tx.exec_prepared1(st_partitions)[0].as<std::uint32_t>();
    });
    partitions_.store(n);
    return n;
  }

  std::unique_ptr<owner_lock> lock_owner(const std::string& owner) override {
    return detail::lock_owner(conninfo_, redacted_, options_.schema, owner);
  }

  void heartbeat(const std::string& owner, std::chrono::milliseconds ttl) override {
    with_connection("sending a heartbeat", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      tx.exec_prepared0(st_heartbeat, owner, ms(ttl));
      return 0;
    });
  }

  std::vector<std::string> live_owners() override {
    auto owners = with_connection("listing live owners", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      std::vector<std::string> out;
      for (const auto& row : tx.exec_prepared(st_live_owners))
        out.push_back(row[0].as<std::string>());
      return out;
    });
    std::sort(owners.begin(), owners.end());  // byte order, whatever the collation
    return owners;
  }

  void leave(const std::string& owner) override {
    with_connection("leaving", [&](pqxx::connection& c) {
      pqxx::work tx(c);
      tx.exec_prepared(st_leave_leases, owner);
      tx.exec_prepared(st_leave_member, owner);
      tx.commit();
      return 0;
    });
  }

  std::optional<std::uint64_t> acquire(const std::string& owner, std::uint32_t partition,
                                       std::chrono::milliseconds ttl) override {
    return with_connection("acquiring a lease", [&](pqxx::connection& c) {
      // One statement in autocommit: no window in which a frozen relay holds the row.
      pqxx::nontransaction tx(c);
      const auto res =
          tx.exec_prepared(st_acquire, owner, static_cast<std::int64_t>(partition), ms(ttl));
      if (res.empty())
        return std::optional<std::uint64_t>();
      return std::optional<std::uint64_t>(res[0][0].as<std::uint64_t>());
    });
  }

  bool renew(const fence& f, std::chrono::milliseconds ttl) override {
    return with_connection("renewing a lease", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      const auto res = tx.exec_prepared(st_renew, static_cast<std::int64_t>(f.partition), f.owner,
                                        static_cast<std::int64_t>(f.epoch), ms(ttl));
      return res.affected_rows() > 0;
    });
  }

  std::vector<bool> renew_all(std::span<const fence> fences,
                              std::chrono::milliseconds ttl) override {
    if (fences.empty())
      return {};
    const auto& owner = fences.front().owner;
    if (std::any_of(fences.begin(), fences.end(), [&](const fence& f) { return f.owner != owner; }))
      return store::renew_all(fences, ttl);  // one statement serves one owner
    const auto parts =
        plain_array(fences, [](const fence& f) { return std::to_string(f.partition); });
    const auto epochs = plain_array(fences, [](const fence& f) { return std::to_string(f.epoch); });
    const auto renewed = with_connection("renewing leases", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      std::set<std::uint32_t> out;
      for (const auto& row : tx.exec_prepared(st_renew_all, parts, owner, epochs, ms(ttl)))
        out.insert(row[0].as<std::uint32_t>());
      return out;
    });
    std::vector<bool> ok;
    ok.reserve(fences.size());
    for (const auto& f : fences)
      ok.push_back(renewed.contains(f.partition));
    return ok;
  }

  void release(const fence& f) override {
    with_connection("releasing a lease", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      tx.exec_prepared(st_release, static_cast<std::int64_t>(f.partition), f.owner,
                       static_cast<std::int64_t>(f.epoch));
      return 0;
    });
  }

  std::vector<lease_info> leases() override {
    return with_connection("listing leases", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      std::vector<lease_info> out;
      for (const auto& row : tx.exec_prepared(st_leases)) {
        out.push_back(
            lease_info{.partition = row[0].as<std::uint32_t>(),
                       .owner = row[1].as<std::string>(),
                       .epoch = row[2].as<std::uint64_t>(),
                       .expires_in = std::chrono::milliseconds(row[3].as<std::int64_t>())});
      }
      return out;
    });
  }

  std::vector<claimed_partition> claim(const std::string& owner,
                                       std::span<const std::uint32_t> partitions,
                                       const claim_limits& limits) override {
    if (partitions.empty() || limits.rows == 0)
      return {};
    const auto wanted = txoutbox::detail::unique_in_order(partitions);
    const auto parts = plain_array(wanted, [](std::uint32_t p) { return std::to_string(p); });
    return with_connection("claiming", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      const auto res = tx.exec_prepared(
          st_claim, owner, parts, txoutbox::detail::sql_int(limits.rows),
          txoutbox::detail::sql_int(limits.max_bytes), txoutbox::detail::sql_int(limits.max_rows));
      std::vector<claimed_partition> out;
      bool cut = false;
      for (const auto& row : res) {
        const auto partition = row[0].as<std::uint32_t>();
        if (out.empty() || out.back().partition != partition) {
          claimed_partition cp;
          cp.partition = partition;
          cp.epoch = row[1].as<std::uint64_t>();
          cp.marker = batch_marker{.head_seq = row[2].as<std::int64_t>(),
                                   .last_seq = row[3].as<std::int64_t>(),
                                   .starts = row[4].as<std::int32_t>(),
                                   .suspect_through = row[5].as<std::int64_t>()};
          out.push_back(std::move(cp));
        }
        outbox_record r = read_record(row, 6);
        r.partition = partition;
        r.created_at = from_us(row[13].as<std::int64_t>());
        r.attempts = row[14].as<std::int32_t>();
        out.back().records.push_back(std::move(r));
        cut = row[15].as<std::int64_t>() < row[16].as<std::int64_t>();  // rn < uncut
      }
      if (!out.empty())
        out.back().cut = cut;  // only the last row tells whether rows were left out
      return out;
    });
  }

  bool begin_batch(const fence& f, const batch_marker& m) override {
    return with_connection("beginning a batch", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      const auto res = tx.exec_prepared(st_begin_batch, static_cast<std::int64_t>(f.partition),
                                        f.owner, static_cast<std::int64_t>(f.epoch), m.head_seq,
                                        m.last_seq, m.starts, m.suspect_through);
      return res.affected_rows() > 0;
    });
  }

  bool settle(const fence& f, std::span<const outcome> outcomes) override {
    std::vector<message_id> published, retried, dead;
    std::vector<std::string> retry_delays, retry_reasons, dead_reasons;
    for (const auto& o : outcomes) {
      switch (o.what) {
        case outcome::action::published:
          published.push_back(o.id);
          break;
        case outcome::action::retry:
          retried.push_back(o.id);
          retry_delays.push_back(std::to_string(std::max<std::int64_t>(0, o.delay.count())));
          retry_reasons.push_back(txoutbox::detail::clean_text(o.reason));
          break;
        case outcome::action::dead_letter:
          dead.push_back(o.id);
          dead_reasons.push_back(txoutbox::detail::clean_text(o.reason));
          break;
      }
    }
    const auto pub_arr = id_array(published);
    const auto retry_arr = id_array(retried);
    const auto delay_arr = plain_array(retry_delays, [](const std::string& s) { return s; });
    const auto retry_reason_arr = text_array(retry_reasons);
    const auto dead_arr = id_array(dead);
    const auto dead_reason_arr = text_array(dead_reasons);
    return with_connection("settling a batch", [&](pqxx::connection& c) {
      // One atomic statement in autocommit: a fenced settle changes nothing by itself (every
      // outbox change joins the lease update), and no explicit transaction means a relay
      // frozen after the statement (GC, SIGSTOP) holds no lock on the lease row. It also
      // saves the BEGIN and COMMIT round trips on the hot path.
      pqxx::nontransaction tx(c);
      const auto row = tx.exec_prepared1(st_settle, static_cast<std::int64_t>(f.partition), f.owner,
                                         static_cast<std::int64_t>(f.epoch), pub_arr, retry_arr,
                                         delay_arr, retry_reason_arr, dead_arr, dead_reason_arr);
      return row[0].as<std::int64_t>() != 0;
    });
  }

  bool supports_wakeup() const override { return options_.listen; }

  bool wait_for_wakeup(std::chrono::milliseconds max_wait) override {
    if (!listener_)
      return false;
    return listener_->wait(max_wait);
  }

  store_stats stats() override {
    auto s = with_connection("reading stats", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      const auto row = tx.exec_prepared1(st_stats);
      store_stats out;
      out.backlog = row[0].as<std::int64_t>();
      if (!row[1].is_null())
        out.oldest_age = std::chrono::milliseconds(row[1].as<std::int64_t>());
      out.dead_letters = row[2].as<std::int64_t>();
      out.live_owners = row[3].as<std::int64_t>();
      return out;
    });
    s.partitions = partition_count();
    return s;
  }

  std::vector<dead_letter_record> dead_letters(std::size_t limit) override {
    return with_connection("listing dead letters", [&](pqxx::connection& c) {
      pqxx::nontransaction tx(c);
      std::vector<dead_letter_record> out;
      for (const auto& row : tx.exec_prepared(st_dead_letters, static_cast<std::int64_t>(limit))) {
        dead_letter_record d;
        d.record = read_record(row, 0);
        d.record.partition = row[7].as<std::uint32_t>();
        d.record.created_at = from_us(row[8].as<std::int64_t>());
        d.record.attempts = row[9].as<std::int32_t>();
        d.reason = row[10].as<std::string>();
        d.failed_at = from_us(row[11].as<std::int64_t>());
        out.push_back(std::move(d));
      }
      return out;
    });
  }

  std::size_t requeue_dead_letters(std::span<const message_id> ids) override {
    const auto arr = id_array(ids);
    return with_connection("requeueing dead letters", [&](pqxx::connection& c) {
      pqxx::work tx(c);
      const auto n = tx.exec_prepared1(st_requeue, arr)[0].as<std::int64_t>();
      // Requeued rows are new work: wake the relays as a writer would.
      if (n > 0)
        tx.exec_params("SELECT pg_notify($1, '')", channel_);
      tx.commit();
      return static_cast<std::size_t>(n);
    });
  }

  std::size_t purge_dead_letters(std::span<const message_id> ids) override {
    const auto arr = id_array(ids);
    return with_connection("purging dead letters", [&](pqxx::connection& c) {
      pqxx::work tx(c);
      const auto res = tx.exec_prepared(st_purge, arr);
      tx.commit();
      return static_cast<std::size_t>(res.affected_rows());
    });
  }

 private:
  void setup(pqxx::connection& c) {
    c.prepare(st_heartbeat, sql_.heartbeat);
    c.prepare(st_live_owners, sql_.live_owners);
    c.prepare(st_leave_member, sql_.leave_member);
    c.prepare(st_leave_leases, sql_.leave_leases);
    c.prepare(st_acquire, sql_.acquire);
    c.prepare(st_renew, sql_.renew);
    c.prepare(st_renew_all, sql_.renew_all);
    c.prepare(st_release, sql_.release);
    c.prepare(st_leases, sql_.leases);
    c.prepare(st_claim, sql_.claim);
    c.prepare(st_begin_batch, sql_.begin_batch);
    c.prepare(st_settle, sql_.settle);
    c.prepare(st_stats, sql_.stats);
    c.prepare(st_dead_letters, sql_.dead_letters);
    c.prepare(st_requeue, sql_.requeue);
    c.prepare(st_purge, sql_.purge);
    c.prepare(st_partitions, sql_.partitions);
    // The URL carried its own options=, so the timeout could not travel in conninfo.
    if (options_.statement_timeout.count() > 0 &&
        options_.url.find("options") != std::string::npos) {
      pqxx::nontransaction tx(c);
      tx.exec("SET statement_timeout = " + std::to_string(options_.statement_timeout.count()));
    }
  }

  /// Runs `fn` on a pooled connection. Any failure drops that connection and is mapped to
  /// a txoutbox error. A connection that had sat idle in the pool and turns out dead
  /// (server restart, pg_terminate_backend) is replaced and `fn` run once more: every
  /// caller's work is read-only, idempotent, or inside an explicit transaction that a lost
  /// connection cannot have committed (a loss during COMMIT is pqxx::in_doubt_error, which
  /// is never retried). The one exception is settle in autocommit: if the connection dies
  /// after the server committed it but before the reply, re-running it counts a retried
  /// row's attempt twice; its deletes and the fence make it otherwise idempotent.
  template <class Fn>
  auto with_connection(std::string_view what, Fn&& fn)
      -> decltype(fn(std::declval<pqxx::connection&>())) {
    for (int attempt = 0;; ++attempt) {
      auto handle = pool_.checkout();
      const bool may_retry = attempt == 0 && handle.reused();
      try {
        return fn(handle.conn());
      } catch (const pqxx::broken_connection&) {
        handle.discard();
        if (may_retry)
          continue;
        rethrow_mapped(what);
      } catch (const pqxx::sql_error& e) {
        handle.discard();
        if (may_retry && is_connection_loss(e))
          continue;
        rethrow_mapped(what);
      } catch (...) {
        handle.discard();
        rethrow_mapped(what);
      }
    }
  }

  store_options options_;
  std::string quoted_schema_;
  detail::store_sql sql_;
  std::string channel_;
  std::string conninfo_;
  std::string redacted_;
  detail::connection_pool pool_;
  std::atomic<std::uint32_t> partitions_{0};
  std::unique_ptr<detail::listener> listener_;  ///< null when listen is off
};

}  // namespace

std::shared_ptr<txoutbox::store> make_store(store_options options) {
  check_identifier(options.schema, "schema");
  if (options.pool_size == 0) {
    throw usage_error(errc::invalid_argument, "pool_size",
                      "store_options.pool_size must be at least 1");
  }
  if (options.keep_published.count() != 0) {
    throw usage_error(
        errc::invalid_argument, "keep_published",
        "store_options.keep_published: only 0 (delete on acknowledgement) is supported");
  }
  return std::make_shared<pg_store>(std::move(options));
}

}  // namespace txoutbox::postgres
