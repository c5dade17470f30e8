// The SOCI relay store: every SPI call is one statement or one short write transaction on a
// pooled session; the SQL is generic and built from the dialect's pieces.
#include "txoutbox/soci/store.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/wire_format.hpp"
#include "dialect.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox::soci {
namespace {

long long ms(std::chrono::milliseconds d) {
  return std::max<long long>(0, d.count());
}

std::chrono::system_clock::time_point from_ms(long long value) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::milliseconds(value)));
}

message_id parse_id(const std::string& text) {
  if (auto id = message_id::try_parse(text))
    return *id;
  throw error(errc::internal, "an outbox row has an id that is not a UUID");
}

/// A bounded set of sessions opened on demand. Thread-safe.
class session_pool {
 public:
  session_pool(const detail::dialect& d, std::string target, std::size_t max,
               std::chrono::milliseconds busy_timeout)
      : dialect_(d), target_(std::move(target)), max_(max), busy_timeout_(busy_timeout) {}

  /// A checked-out session: returned to the pool on destruction unless discarded.
  class handle {
   public:
    handle(session_pool& pool, std::unique_ptr<::soci::session> s)
        : pool_(pool), session_(std::move(s)) {}
    handle(const handle&) = delete;
    handle& operator=(const handle&) = delete;
    ~handle() { pool_.give_back(std::move(session_)); }
    ::soci::session& session() { return *session_; }
    void discard() { session_.reset(); }

   private:
    session_pool& pool_;
    std::unique_ptr<::soci::session> session_;
  };

  /// Blocks while every session is in use; opens a new one when below the cap (may throw
  /// what the driver throws).
  std::unique_ptr<::soci::session> take() {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || open_ < max_; });
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return s;
    }
    ++open_;
    lock.unlock();
    try {
      return dialect_.open(target_, busy_timeout_);
    } catch (...) {
      lock.lock();
      --open_;
      available_.notify_one();
      throw;
    }
  }

 private:
  void give_back(std::unique_ptr<::soci::session> s) {
    {
      std::lock_guard lock(mutex_);
      if (s)
        idle_.push_back(std::move(s));
      else
        --open_;
    }
    available_.notify_one();
  }

  const detail::dialect& dialect_;
  std::string target_;
  std::size_t max_;
  std::chrono::milliseconds busy_timeout_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<::soci::session>> idle_;
  std::size_t open_ = 0;
};

/// The store's SQL for one schema, built once from the dialect's pieces.
struct store_sql {
  store_sql(const detail::dialect& d, const std::string& schema)
      : outbox(d.table(schema, "outbox")),
        lease(d.table(schema, "outbox_lease")),
        member(d.table(schema, "outbox_member")),
        dead(d.table(schema, "outbox_dead_letter")),
        config(d.table(schema, "outbox_config")),
        now(d.now_ms()) {
    const auto expires = d.as_ms("expires_at");
    heartbeat_update =
        "UPDATE " + member + " SET expires_at = " + d.now_plus_ms(":ttl") + " WHERE owner = :o";
    heartbeat_insert =
        "INSERT INTO " + member + " (owner, expires_at) VALUES (:o, " + d.now_plus_ms(":ttl") + ")";
    live_owners = "SELECT owner FROM " + member + " WHERE " + expires + " > " + now;
    leave_leases = "UPDATE " + lease + " SET owner = NULL, expires_at = " + d.now_plus_ms("0") +
                   " WHERE owner = :o";
    leave_member = "DELETE FROM " + member + " WHERE owner = :o";
    acquire = "UPDATE " + lease +
              " SET owner = :o, epoch = epoch + 1, expires_at = " + d.now_plus_ms(":ttl") +
              " WHERE partition_no = :p AND (owner IS NULL OR owner = :o2 OR " + expires +
              " <= " + now + ")";
    epoch = "SELECT epoch FROM " + lease + " WHERE partition_no = :p";
    const auto fenced = " WHERE partition_no = :p AND owner = :o AND epoch = :e";
    renew = "UPDATE " + lease + " SET expires_at = " + d.now_plus_ms(":ttl") + fenced;
    release = "UPDATE " + lease + " SET owner = NULL, expires_at = " + d.now_plus_ms("0") + fenced;
    leases = "SELECT partition_no, coalesce(owner, ''), epoch, CASE WHEN " + expires + " < " + now +
             " - 86400000 THEN -86400000 ELSE " + expires + " - " + now + " END FROM " + lease +
             " ORDER BY partition_no";
    begin_batch = "UPDATE " + lease +
                  " SET batch_head_seq = :h, batch_last_seq = :l, batch_starts = :s, "
                  "suspect_through = :t" +
                  fenced + " AND " + expires + " > " + now;
    settle_fence = "UPDATE " + lease + " SET batch_starts = 0" + fenced;
    publish = "DELETE FROM " + outbox + " WHERE id = :id AND partition_no = :p";
    retry = "UPDATE " + outbox +
            " SET attempts = attempts + 1, last_error = :r, available_at = " + d.now_plus_ms(":d") +
            " WHERE id = :id AND partition_no = :p";
    in_partition = "SELECT count(*) FROM " + outbox + " WHERE id = :id AND partition_no = :p";
    drop_dead = "DELETE FROM " + dead + " WHERE id = :id";
    to_dead = "INSERT INTO " + dead +
              " (id, aggregatetype, aggregateid, type, payload, headers, seq, partition_no, "
              "created_at, attempts, reason, last_error) SELECT id, aggregatetype, aggregateid, "
              "type, payload, headers, seq, partition_no, created_at, attempts + 1, :r, "
              "last_error FROM " +
              outbox + " WHERE id = :id";
    drop_outbox = "DELETE FROM " + outbox + " WHERE id = :id";
    // count(*) and min(created_at) read the whole outbox once: O(backlog), fine for
    // status and metrics at a modest rate, not for a hot loop.
    stats = "SELECT (SELECT count(*) FROM " + outbox + "), (SELECT " + now + " - min(" +
            d.as_ms("created_at") + ") FROM " + outbox + "), (SELECT count(*) FROM " + dead +
            "), (SELECT count(*) FROM " + member + " WHERE " + expires + " > " + now + ")";
    dead_letters =
        "SELECT id, aggregatetype, aggregateid, type, payload, headers, seq, "
        "partition_no, " +
        d.as_ms("created_at") + ", attempts, reason, " + d.as_ms("failed_at") + " FROM " + dead +
        " ORDER BY failed_at, seq LIMIT :n";
    dead_ids = "SELECT d.id FROM " + dead + " d WHERE NOT EXISTS (SELECT 1 FROM " + outbox +
               " o WHERE o.id = d.id) ORDER BY d.seq";
    const auto part = d.writer_sets_partition() ? std::string("partition_no, ") : std::string();
    requeue = "INSERT INTO " + outbox +
              " (id, aggregatetype, aggregateid, type, payload, headers, " + part +
              "created_at, attempts) SELECT id, aggregatetype, aggregateid, type, payload, "
              "headers, " +
              part + "created_at, 0 FROM " + dead + " WHERE id = :id";
    purge_all = "DELETE FROM " + dead;
    partitions = "SELECT partitions FROM " + config;
    claim_lease_cte =
        "WITH l AS (SELECT partition_no, epoch, batch_head_seq, batch_last_seq, "
        "batch_starts, suspect_through FROM " +
        lease + " WHERE owner = :o AND " + expires + " > " + now + " AND partition_no IN (";
    claim_columns =
        "SELECT l.partition_no, l.epoch, l.batch_head_seq, l.batch_last_seq, "
        "l.batch_starts, l.suspect_through, q.id, q.aggregatetype, q.aggregateid, "
        "q.type, q.payload, q.headers, q.seq, q.created_ms, q.attempts FROM l JOIN ("
        "SELECT c.partition_no, c.id, c.aggregatetype, c.aggregateid, c.type, "
        "c.payload, c.headers, c.seq, " +
        d.as_ms("c.created_at") + " AS created_ms, c.attempts FROM " + outbox +
        " c WHERE c.partition_no = ";
    // A row is claimable when no row of its key up to it (itself included) is unavailable:
    // the key's run, head first, ending before its first row in backoff or delayed. The
    // probe walks (partition_no, aggregateid, seq) and stops at the first such row.
    claim_filter = " AND " + d.as_ms("c.available_at") + " <= " + now +
                   " AND NOT EXISTS (SELECT 1 FROM " + outbox +
                   " e WHERE e.partition_no = c.partition_no AND e.aggregateid = c.aggregateid "
                   "AND e.seq < c.seq AND " +
                   d.as_ms("e.available_at") + " > " + now + ") ORDER BY c.seq LIMIT ";
  }

  /// The claim for `parts` (sorted, unique), one statement: per partition a sub-select with
  /// its own LIMIT walking (partition_no, seq), joined to the held lease rows (l) outside
  /// the LIMIT so the planner keeps the index walk (a join inside made SQLite sort the
  /// whole partition), glued with UNION ALL. The EXISTS guard is constant per partition,
  /// so a partition not held is not walked. Partition numbers and the limit are integers
  /// we produce, so they are spliced; the owner is bound.
  std::string claim(const std::vector<std::uint32_t>& parts, std::size_t limit) const {
    std::string sql = claim_lease_cte;
    for (std::size_t i = 0; i < parts.size(); ++i)
      sql += (i ? ", " : "") + std::to_string(parts[i]);
    sql += ")) ";
    for (std::size_t i = 0; i < parts.size(); ++i) {
      const auto p = std::to_string(parts[i]);
      if (i)
        sql += " UNION ALL ";
      sql += "SELECT * FROM (" + claim_columns + p + " AND EXISTS (SELECT 1 FROM l WHERE " +
             "l.partition_no = " + p + ")" + claim_filter + std::to_string(limit) +
             ") q ON q.partition_no = l.partition_no) q" + std::to_string(i);
    }
    sql += " ORDER BY 1, 13";
    return sql;
  }

  std::string outbox, lease, member, dead, config, now;
  std::string heartbeat_update, heartbeat_insert, live_owners, leave_leases, leave_member;
  std::string acquire, epoch, renew, release, leases, begin_batch;
  std::string settle_fence, publish, retry, in_partition, drop_dead, to_dead, drop_outbox;
  std::string stats, dead_letters, dead_ids, requeue, purge_all, partitions;
  std::string claim_lease_cte, claim_columns, claim_filter;
};

long long exec_count(::soci::statement& st) {
  st.execute(true);
  return st.get_affected_rows();
}

class soci_store final : public store {
 public:
  soci_store(const detail::dialect& d, std::string target, store_options options)
      : dialect_(d),
        options_(std::move(options)),
        schema_(detail::resolve_schema(
            d, options_.schema.empty() ? d.target_schema(target) : options_.schema)),
        sql_(d, schema_),
        redacted_(d.redact(target)),
        pool_(d, std::move(target), options_.pool_size, options_.busy_timeout) {
    // Open one session now: an unreachable database or missing tables fail here, clearly.
    with_session("checking the schema", [&](::soci::session& s) {
      static constexpr std::string_view tables[] = {"outbox", "outbox_config", "outbox_lease",
                                                    "outbox_member", "outbox_dead_letter"};
      const auto found = dialect_.count_tables(s, schema_, tables);
      if (found != std::size(tables)) {
        throw error(errc::not_migrated, "soci store: " + redacted_ + " (" + schema_ +
                                            ") is not migrated: run txoutbox migrate first");
      }
      return 0;
    });
    partition_count();
  }

  std::uint32_t partition_count() override {
    if (auto n = partitions_.load(); n != 0)
      return n;
    const auto n = with_session("reading the partition count", [&](::soci::session& s) {
      long long value = 0;
      s << sql_.partitions, ::soci::into(value);
      return static_cast<std::uint32_t>(value);
    });
    partitions_.store(n);
    return n;
  }

  void heartbeat(const std::string& owner, std::chrono::milliseconds ttl) override {
    const long long t = ms(ttl);
    write("sending a heartbeat", [&](::soci::session& s) {
      ::soci::statement up =
          (s.prepare << sql_.heartbeat_update, ::soci::use(t), ::soci::use(owner));
      if (exec_count(up) == 0)
        s << sql_.heartbeat_insert, ::soci::use(owner), ::soci::use(t);
      return true;
    });
  }

  std::vector<std::string> live_owners() override {
    auto owners = with_session("listing live owners", [&](::soci::session& s) {
      std::vector<std::string> out;
      std::string owner;
      ::soci::statement st = (s.prepare << sql_.live_owners, ::soci::into(owner));
      st.execute();
      while (st.fetch())
        out.push_back(owner);
      return out;
    });
    std::sort(owners.begin(), owners.end());
    return owners;
  }

  void leave(const std::string& owner) override {
    write("leaving", [&](::soci::session& s) {
      s << sql_.leave_leases, ::soci::use(owner);
      s << sql_.leave_member, ::soci::use(owner);
      return true;
    });
  }

  std::optional<std::uint64_t> acquire(const std::string& owner, std::uint32_t partition,
                                       std::chrono::milliseconds ttl) override {
    const long long t = ms(ttl);
    const long long p = partition;
    return write("acquiring a lease", [&](::soci::session& s) {
      ::soci::statement st = (s.prepare << sql_.acquire, ::soci::use(owner), ::soci::use(t),
                              ::soci::use(p), ::soci::use(owner));
      if (exec_count(st) == 0)
        return std::optional<std::uint64_t>();
      long long epoch = 0;
      s << sql_.epoch, ::soci::use(p), ::soci::into(epoch);
      return std::optional<std::uint64_t>(static_cast<std::uint64_t>(epoch));
    });
  }

  bool renew(const fence& f, std::chrono::milliseconds ttl) override {
    const long long t = ms(ttl);
    const long long p = f.partition;
    const long long e = static_cast<long long>(f.epoch);
    return write("renewing a lease", [&](::soci::session& s) {
      ::soci::statement st = (s.prepare << sql_.renew, ::soci::use(t), ::soci::use(p),
                              ::soci::use(f.owner), ::soci::use(e));
      return exec_count(st) > 0;
    });
  }

  void release(const fence& f) override {
    const long long p = f.partition;
    const long long e = static_cast<long long>(f.epoch);
    write("releasing a lease", [&](::soci::session& s) {
      s << sql_.release, ::soci::use(p), ::soci::use(f.owner), ::soci::use(e);
      return true;
    });
  }

  std::vector<lease_info> leases() override {
    return with_session("listing leases", [&](::soci::session& s) {
      std::vector<lease_info> out;
      long long partition = 0, epoch = 0, expires_in = 0;
      std::string owner;
      ::soci::statement st = (s.prepare << sql_.leases, ::soci::into(partition),
                              ::soci::into(owner), ::soci::into(epoch), ::soci::into(expires_in));
      st.execute();
      while (st.fetch()) {
        out.push_back(lease_info{.partition = static_cast<std::uint32_t>(partition),
                                 .owner = owner,
                                 .epoch = static_cast<std::uint64_t>(epoch),
                                 .expires_in = std::chrono::milliseconds(expires_in)});
      }
      return out;
    });
  }

  std::vector<claimed_partition> claim(const std::string& owner,
                                       std::span<const std::uint32_t> partitions,
                                       std::size_t limit) override {
    if (partitions.empty() || limit == 0)
      return {};
    std::vector<std::uint32_t> wanted(partitions.begin(), partitions.end());
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    const auto sql = sql_.claim(wanted, limit);
    return with_session("claiming", [&](::soci::session& s) {
      std::vector<claimed_partition> out;
      long long partition = 0, epoch = 0, head = 0, last = 0, starts = 0, suspect = 0;
      long long seq = 0, created = 0, attempts = 0;
      std::string id, aggregate_type, aggregate_id, type, payload, headers;
      ::soci::statement st =
          (s.prepare << sql, ::soci::use(owner), ::soci::into(partition), ::soci::into(epoch),
           ::soci::into(head), ::soci::into(last), ::soci::into(starts), ::soci::into(suspect),
           ::soci::into(id), ::soci::into(aggregate_type), ::soci::into(aggregate_id),
           ::soci::into(type), ::soci::into(payload), ::soci::into(headers), ::soci::into(seq),
           ::soci::into(created), ::soci::into(attempts));
      st.execute();
      while (st.fetch()) {
        const auto p = static_cast<std::uint32_t>(partition);
        if (out.empty() || out.back().partition != p) {
          claimed_partition cp;
          cp.partition = p;
          cp.epoch = static_cast<std::uint64_t>(epoch);
          cp.marker = batch_marker{.head_seq = head,
                                   .last_seq = last,
                                   .starts = static_cast<std::int32_t>(starts),
                                   .suspect_through = suspect};
          out.push_back(std::move(cp));
        }
        outbox_record r;
        r.msg.id = parse_id(id);
        r.msg.aggregate_type = aggregate_type;
        r.msg.aggregate_id = aggregate_id;
        r.msg.type = type;
        r.msg.payload = payload;
        r.msg.headers = txoutbox::detail::headers_from_json(headers);
        r.seq = seq;
        r.partition = p;
        r.created_at = from_ms(created);
        r.attempts = static_cast<std::int32_t>(attempts);
        out.back().records.push_back(std::move(r));
      }
      return out;
    });
  }

  bool begin_batch(const fence& f, const batch_marker& m) override {
    const long long p = f.partition;
    const long long e = static_cast<long long>(f.epoch);
    const long long h = m.head_seq, l = m.last_seq, st_ = m.starts, t = m.suspect_through;
    return write("beginning a batch", [&](::soci::session& s) {
      ::soci::statement st =
          (s.prepare << sql_.begin_batch, ::soci::use(h), ::soci::use(l), ::soci::use(st_),
           ::soci::use(t), ::soci::use(p), ::soci::use(f.owner), ::soci::use(e));
      return exec_count(st) > 0;
    });
  }

  bool settle(const fence& f, std::span<const outcome> outcomes) override {
    const long long p = f.partition;
    const long long e = static_cast<long long>(f.epoch);
    return write("settling a batch", [&](::soci::session& s) {
      // The fenced lease UPDATE comes first: with the write lock held (SQLite: BEGIN
      // IMMEDIATE) no acquire can move the epoch until this transaction ends.
      ::soci::statement fence_st =
          (s.prepare << sql_.settle_fence, ::soci::use(p), ::soci::use(f.owner), ::soci::use(e));
      if (exec_count(fence_st) == 0)
        throw fenced_out{};
      std::string id, reason;
      long long delay = 0;
      ::soci::statement publish_st = (s.prepare << sql_.publish, ::soci::use(id), ::soci::use(p));
      ::soci::statement retry_st = (s.prepare << sql_.retry, ::soci::use(reason),
                                    ::soci::use(delay), ::soci::use(id), ::soci::use(p));
      for (const auto& o : outcomes) {
        id = o.id.to_string();
        switch (o.what) {
          case outcome::action::published:
            publish_st.execute(true);
            break;
          case outcome::action::retry:
            reason = txoutbox::detail::clean_text(o.reason);
            delay = ms(o.delay);
            retry_st.execute(true);
            break;
          case outcome::action::dead_letter: {
            reason = txoutbox::detail::clean_text(o.reason);
            long long present = 0;
            s << sql_.in_partition, ::soci::use(id), ::soci::use(p), ::soci::into(present);
            if (present == 0)
              break;
            s << sql_.drop_dead, ::soci::use(id);
            s << sql_.to_dead, ::soci::use(reason), ::soci::use(id);
            s << sql_.drop_outbox, ::soci::use(id);
            break;
          }
        }
      }
      return true;
    });
  }

  store_stats stats() override {
    auto out = with_session("reading stats", [&](::soci::session& s) {
      store_stats st;
      long long backlog = 0, age = 0, dead = 0, owners = 0;
      ::soci::indicator age_ind = ::soci::i_ok;
      s << sql_.stats, ::soci::into(backlog), ::soci::into(age, age_ind), ::soci::into(dead),
          ::soci::into(owners);
      st.backlog = backlog;
      if (age_ind == ::soci::i_ok)
        st.oldest_age = std::chrono::milliseconds(age);
      st.dead_letters = dead;
      st.live_owners = owners;
      return st;
    });
    out.partitions = partition_count();
    return out;
  }

  std::vector<dead_letter_record> dead_letters(std::size_t limit) override {
    const long long n = static_cast<long long>(std::min<std::size_t>(limit, 1u << 30));
    return with_session("listing dead letters", [&](::soci::session& s) {
      std::vector<dead_letter_record> out;
      std::string id, aggregate_type, aggregate_id, type, payload, headers, reason;
      long long seq = 0, partition = 0, created = 0, attempts = 0, failed = 0;
      ::soci::statement st = (s.prepare << sql_.dead_letters, ::soci::use(n), ::soci::into(id),
                              ::soci::into(aggregate_type), ::soci::into(aggregate_id),
                              ::soci::into(type), ::soci::into(payload), ::soci::into(headers),
                              ::soci::into(seq), ::soci::into(partition), ::soci::into(created),
                              ::soci::into(attempts), ::soci::into(reason), ::soci::into(failed));
      st.execute();
      while (st.fetch()) {
        dead_letter_record d;
        d.record.msg.id = parse_id(id);
        d.record.msg.aggregate_type = aggregate_type;
        d.record.msg.aggregate_id = aggregate_id;
        d.record.msg.type = type;
        d.record.msg.payload = payload;
        d.record.msg.headers = txoutbox::detail::headers_from_json(headers);
        d.record.seq = seq;
        d.record.partition = static_cast<std::uint32_t>(partition);
        d.record.created_at = from_ms(created);
        d.record.attempts = static_cast<std::int32_t>(attempts);
        d.reason = reason;
        d.failed_at = from_ms(failed);
        out.push_back(std::move(d));
      }
      return out;
    });
  }

  std::size_t requeue_dead_letters(std::span<const message_id> ids) override {
    std::set<std::string> wanted;
    for (const auto& id : ids)
      wanted.insert(id.to_string());
    return write("requeueing dead letters", [&](::soci::session& s) {
      // Dead letters whose id is not back in the outbox, oldest seq first: the requeued
      // rows keep their relative order and go behind everything already written.
      std::vector<std::string> moving;
      std::string id;
      ::soci::statement select = (s.prepare << sql_.dead_ids, ::soci::into(id));
      select.execute();
      while (select.fetch()) {
        if (wanted.empty() || wanted.contains(id))
          moving.push_back(id);
      }
      std::size_t moved = 0;
      ::soci::statement insert = (s.prepare << sql_.requeue, ::soci::use(id));
      ::soci::statement drop = (s.prepare << sql_.drop_dead, ::soci::use(id));
      for (const auto& m : moving) {
        id = m;
        insert.execute(true);
        drop.execute(true);
        ++moved;
      }
      return moved;
    });
  }

  std::size_t purge_dead_letters(std::span<const message_id> ids) override {
    return write("purging dead letters", [&](::soci::session& s) {
      if (ids.empty()) {
        ::soci::statement st = (s.prepare << sql_.purge_all);
        return static_cast<std::size_t>(exec_count(st));
      }
      std::string id;
      ::soci::statement st = (s.prepare << sql_.drop_dead, ::soci::use(id));
      std::size_t purged = 0;
      for (const auto& m : ids) {
        id = m.to_string();
        purged += static_cast<std::size_t>(exec_count(st));
      }
      return purged;
    });
  }

 private:
  /// Thrown inside a settle transaction whose fence did not match: rolled back, false.
  struct fenced_out {};

  /// Runs `fn` on a pooled session and maps every failure to txoutbox::error without
  /// SOCI's text. A session whose failure may have broken it is dropped, not reused.
  template <class Fn>
  auto with_session(std::string_view what, Fn&& fn)
      -> decltype(fn(std::declval<::soci::session&>())) {
    std::unique_ptr<::soci::session> taken;
    try {
      taken = pool_.take();
    } catch (const std::exception& e) {
      throw_mapped(what, e);
    }
    session_pool::handle handle(pool_, std::move(taken));
    try {
      return fn(handle.session());
    } catch (const std::exception& e) {
      bool healthy = false;
      try {
        dialect_.rollback(handle.session());
        healthy = true;
      } catch (...) {
      }
      const auto f = dialect_.describe(e);
      if (!healthy || f.code == errc::connection_failed || f.code == errc::io_failure)
        handle.discard();
      throw_mapped(what, e);
    }
  }

  /// Runs `fn` in a write transaction (SQLite: BEGIN IMMEDIATE) and commits. `fenced_out`
  /// rolls back and reports false (only settle uses it).
  template <class Fn>
  auto write(std::string_view what, Fn&& fn) -> decltype(fn(std::declval<::soci::session&>())) {
    using result = decltype(fn(std::declval<::soci::session&>()));
    return with_session(what, [&](::soci::session& s) -> result {
      dialect_.begin_write(s);
      try {
        auto r = fn(s);
        dialect_.commit(s);
        return r;
      } catch (const fenced_out&) {
        dialect_.rollback(s);
        if constexpr (std::is_same_v<result, bool>)
          return false;
        else
          throw error(errc::internal, "fenced write outside settle");
      }
    });
  }

  [[noreturn]] void throw_mapped(std::string_view what, const std::exception& e) const {
    if (const auto* own = dynamic_cast<const txoutbox::error*>(&e)) {
      if (own->code() == errc::not_migrated)
        throw *own;
    }
    const auto f = dialect_.describe(e);
    const auto text = "soci store (" + std::string(dialect_.backend()) + "): while " +
                      std::string(what) + ": " + f.text;
    if (f.transient)
      throw transient_error(text, f.code);
    throw error(f.code, text, false);
  }

  const detail::dialect& dialect_;
  store_options options_;
  std::string schema_;
  store_sql sql_;
  std::string redacted_;
  session_pool pool_;
  std::atomic<std::uint32_t> partitions_{0};
};

}  // namespace

namespace {

/// The dialect and SOCI connect string of `url`.
std::pair<const detail::dialect*, std::string> resolve_url(const std::string& url) {
  const auto colon = url.find(':');
  if (colon == std::string::npos) {
    throw usage_error(
        errc::malformed_input, "url",
        "url: expected sqlite:PATH, mysql://... or postgresql://... (the scheme is missing)");
  }
  const auto scheme = url.substr(0, colon);
  const auto* d = detail::dialect_for_scheme(scheme);
  if (d == nullptr) {
    throw usage_error(
        errc::invalid_argument, "url",
        "url: scheme \"" + scheme +
            "\" is not supported by this build (sqlite:PATH, mysql://..., postgresql://...)");
  }
  return {d, d->make_target(std::string_view(url).substr(colon + 1))};
}

}  // namespace

connection_target parse_url(const std::string& url) {
  auto [d, target] = resolve_url(url);
  return connection_target{std::string(d->backend()), std::move(target)};
}

std::shared_ptr<txoutbox::store> make_store(store_options options) {
  auto [d, target] = resolve_url(options.url);
  if (!options.schema.empty())
    detail::resolve_schema(*d, options.schema);
  if (options.pool_size == 0) {
    throw usage_error(errc::invalid_argument, "pool_size",
                      "store_options.pool_size must be at least 1");
  }
  if (options.busy_timeout.count() < 0) {
    throw usage_error(errc::invalid_argument, "busy_timeout",
                      "store_options.busy_timeout must not be negative");
  }
  if (options.keep_published.count() != 0) {
    throw usage_error(errc::invalid_argument, "keep_published",
                      "store_options.keep_published: only 0 (delete on acknowledgement) is "
                      "supported");
  }
  return std::make_shared<soci_store>(*d, std::move(target), std::move(options));
}

}  // namespace txoutbox::soci
