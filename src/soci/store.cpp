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

#include "claim_reader.hpp"
#include "core/claim_budget.hpp"
#include "core/wire_format.hpp"
#include "dialect.hpp"
#include "owner_lock.hpp"
#include "session_pool.hpp"
#include "store_sql.hpp"
#include "stored_ids.hpp"
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

using detail::foreign_row;

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
        target_(target),
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

  std::unique_ptr<owner_lock> lock_owner(const std::string& owner) override {
    std::unique_ptr<owner_lock> lock;
    try {
      lock = dialect_.lock_owner(target_, detail::owner_key(schema_, owner), options_.busy_timeout);
    } catch (const std::exception& e) {
      throw_mapped("locking the owner name", e);
    }
    if (!lock) {
      throw error(errc::owner_in_use, "relay owner \"" + owner + "\" is already running on " +
                                          redacted_ + " (" + schema_ +
                                          "): another live process holds its lock (stop it or "
                                          "choose another owner)");
    }
    return lock;
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
                                       const claim_limits& limits) override {
    if (partitions.empty() || limits.rows == 0)
      return {};
    const auto sql = sql_.claim(txoutbox::detail::unique_in_order(partitions), limits);
    auto read = with_session("claiming", [&](::soci::session& s) {
      return detail::read_claim(s, sql, owner, stored_ids_);
    });
    if (!read.foreign.empty())
      set_aside(owner, read.foreign, read.claimed);
    return std::move(read.claimed);
  }

  /// Dead-letters the rows whose id is not a UUID (no message_id can name them, so the
  /// relay could never settle them) with the reason not_a_uuid_reason(), one fenced
  /// transaction per partition, and takes them out of `claimed`: the rest of the claim
  /// goes on. A partition whose fence no longer matches is dropped from `claimed`.
  void set_aside(const std::string& owner, const std::vector<foreign_row>& rows,
                 std::vector<claimed_partition>& claimed) {
    std::vector<std::uint32_t> fenced;
    for (std::size_t i = 0; i < rows.size();) {
      std::size_t end = i;
      while (end < rows.size() && rows[end].partition == rows[i].partition)
        ++end;
      const auto part = std::span(rows).subspan(i, end - i);
      if (!set_aside_in_partition(owner, part))
        fenced.push_back(rows[i].partition);
      i = end;
    }
    std::erase_if(claimed, [&](const claimed_partition& cp) {
      return cp.records.empty() ||
             std::find(fenced.begin(), fenced.end(), cp.partition) != fenced.end();
    });
  }

  bool set_aside_in_partition(const std::string& owner, std::span<const foreign_row> rows) {
    const long long p = rows.front().partition;
    const long long e = static_cast<long long>(rows.front().epoch);
    return write("setting aside a row whose id is not a UUID", [&](::soci::session& s) {
      ::soci::statement fence_st =
          (s.prepare << sql_.fence_only, ::soci::use(p), ::soci::use(owner), ::soci::use(e));
      if (exec_count(fence_st) == 0)
        throw fenced_out{};
      for (const auto& row : rows) {
        const auto reason = detail::not_a_uuid_reason(row.stored_id);
        s << sql_.drop_dead, ::soci::use(row.stored_id);
        s << sql_.set_aside, ::soci::use(reason), ::soci::use(p), ::soci::use(row.seq);
        s << sql_.drop_by_seq, ::soci::use(p), ::soci::use(row.seq);
      }
      return true;
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
    const bool settled = write("settling a batch", [&](::soci::session& s) {
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
        id = stored_ids_.text_of(o.id);
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
            const auto canonical = o.id.to_string();
            s << sql_.drop_dead, ::soci::use(canonical);
            s << sql_.to_dead, ::soci::use(reason), ::soci::use(id);
            if (id != canonical)
              s << sql_.rename_dead, ::soci::use(canonical), ::soci::use(id);
            s << sql_.drop_outbox, ::soci::use(id);
            break;
          }
        }
      }
      return true;
    });
    stored_ids_.forget(outcomes);
    return settled;
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
        // A row set aside because its id is not a UUID lists with the nil id; its reason
        // shows the stored text.
        d.record.msg.id = message_id::try_parse(id).value_or(message_id{});
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
        // A dead letter whose id is not a UUID would only be set aside again: it stays.
        const auto parsed = message_id::try_parse(id);
        if (parsed && (wanted.empty() || wanted.contains(parsed->to_string())))
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
    detail::session_pool::handle handle(pool_, std::move(taken));
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
  detail::store_sql sql_;
  std::string redacted_;
  std::string target_;  ///< for the owner lock's own session
  detail::session_pool pool_;
  detail::stored_ids stored_ids_;
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
