// The Redis Streams publisher: XADD per record over pooled hiredis connections, pipelined per
// key-safe rounds.
#include "txoutbox/redis/publisher.hpp"

#include <hiredis/hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <atomic>
#include <exception>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/routing_guard.hpp"
#include "core/wire_format.hpp"
#include "txoutbox/error.hpp"
#include "txoutbox/key_gate.hpp"

namespace txoutbox::redis {

namespace {

constexpr const char* shut_down_reason = "publisher shut down";
constexpr std::size_t max_idle_connections = 8;

struct context_deleter {
  void operator()(redisContext* c) const noexcept { redisFree(c); }
};
using context_ptr = std::unique_ptr<redisContext, context_deleter>;

struct reply_deleter {
  void operator()(redisReply* r) const noexcept { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

/// How an error reply settles its record. The server's state (loading, busy script,
/// failover, read-only replica, out of memory, failing persistence, too few replicas,
/// authentication or ACL refusal, a full client table) is `unavailable`: no message can go
/// until it changes or an operator fixes it. Cluster redirects and TRYAGAIN concern one key
/// and pass: `retry`. Everything else (WRONGTYPE, a value above proto-max-bulk-len, ...) is
/// about this command: `reject`.
publish_result classify_error_reply(std::string_view text) {
  static const std::set<std::string_view> server_state{
      "LOADING", "BUSY",       "MASTERDOWN", "READONLY",  "CLUSTERDOWN", "OOM",
      "MISCONF", "NOREPLICAS", "NOAUTH",     "WRONGPASS", "NOPERM"};
  static const std::set<std::string_view> passing{"TRYAGAIN", "MOVED", "ASK", "UNBLOCKED"};
  const auto code = text.substr(0, text.find(' '));
  std::string reason = "redis: " + std::string(text);
  if (server_state.contains(code) || text.starts_with("ERR max number of clients reached"))
    return publish_result::unavailable(std::move(reason));
  if (passing.contains(code))
    return publish_result::retry(std::move(reason));
  return publish_result::reject(std::move(reason));
}

/// The stream a record goes to: `stream` when set, else stream_prefix + aggregate type.
std::string stream_of(const publisher_options& o, const message& msg) {
  return o.stream.empty() ? o.stream_prefix + msg.aggregate_type : o.stream;
}

/// The XADD command of one record, as the argument strings hiredis sends.
std::vector<std::string> xadd_args(const publisher_options& o, const outbox_record& rec) {
  std::vector<std::string> args;
  args.reserve(20);
  args.emplace_back("XADD");
  args.push_back(stream_of(o, rec.msg));
  if (o.maxlen > 0) {
    args.emplace_back("MAXLEN");
    args.emplace_back("~");
    args.push_back(std::to_string(o.maxlen));
  }
  args.emplace_back("*");
  args.emplace_back("id");
  args.push_back(rec.msg.id.to_string());
  args.emplace_back("aggregatetype");
  args.push_back(rec.msg.aggregate_type);
  args.emplace_back("aggregateid");
  args.push_back(rec.msg.aggregate_id);
  args.emplace_back("type");
  args.push_back(rec.msg.type);
  args.emplace_back("payload");
  args.push_back(rec.msg.payload);
  args.emplace_back("headers");
  args.push_back(detail::headers_to_json(rec.msg.headers));
  args.emplace_back("created_at");
  args.push_back(detail::format_rfc3339(rec.created_at));
  return args;
}

/// Queues one command on the connection's output buffer (sent by the next redisGetReply).
bool append_command(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<std::size_t> argvlen;
  argv.reserve(args.size());
  argvlen.reserve(args.size());
  for (const auto& a : args) {
    argv.push_back(a.data());
    argvlen.push_back(a.size());
  }
  return redisAppendCommandArgv(c, static_cast<int>(args.size()), argv.data(), argvlen.data()) ==
         REDIS_OK;
}

std::string context_error(const redisContext* c) {
  if (c == nullptr)
    return "cannot allocate a hiredis context";
  return c->errstr[0] != '\0' ? std::string(c->errstr) : std::string("connection error");
}

/// Runs one command synchronously; throws transient_error when it fails in any way.
/// `what` names the command for the error (never its arguments: AUTH carries secrets).
reply_ptr run_command(redisContext* c, const std::vector<std::string>& args, const char* what) {
  if (!append_command(c, args))
    throw transient_error(std::string("redis: ") + what + " failed: " + context_error(c));
  void* raw = nullptr;
  if (redisGetReply(c, &raw) != REDIS_OK)
    throw transient_error(std::string("redis: ") + what + " failed: " + context_error(c));
  reply_ptr reply(static_cast<redisReply*>(raw));
  if (reply->type == REDIS_REPLY_ERROR)
    throw transient_error(std::string("redis: ") + what +
                          " refused: " + std::string(reply->str, reply->len));
  return reply;
}

/// Publishes over a pool of blocking hiredis connections. Thread-safe; see make_publisher().
class redis_publisher final : public txoutbox::publisher {
 public:
  explicit redis_publisher(publisher_options options) : options_(std::move(options)) {}

  std::vector<publish_result> publish(std::span<const outbox_record> batch) noexcept override {
    std::vector<std::optional<publish_result>> results(batch.size());
    try {
      publish_rounds(batch, results);
    } catch (const std::exception& e) {
      fill_unresolved(results, publish_result::retry(e.what()));
    } catch (...) {
      fill_unresolved(results, publish_result::retry("unknown exception in redis publisher"));
    }
    std::vector<publish_result> out;
    out.reserve(results.size());
    for (auto& r : results)
      out.push_back(r ? std::move(*r) : publish_result::retry(shut_down_reason));
    return out;
  }

  bool flush(std::chrono::milliseconds /*timeout*/) noexcept override {
    return true;  // an XADD reply means the server applied (and appended to its AOF) it
  }

  /// The stream key: a stream the server refuses (or a server that refuses all) is the
  /// unit the relay holds back and probes.
  std::string route(const outbox_record& rec) const override {
    return stream_of(options_, rec.msg);
  }

  void shutdown(std::chrono::milliseconds /*timeout*/) noexcept override {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    // Wakes any publish() blocked in connect handshake, send or receive; the owner frees
    // the context after taking it out of busy_ under the same mutex.
    for (redisContext* c : busy_)
      ::shutdown(c->fd, SHUT_RDWR);
    idle_.clear();
  }

 private:
  static void fill_unresolved(std::vector<std::optional<publish_result>>& results,
                              const publish_result& with) {
    for (auto& r : results) {
      if (!r)
        r = with;
    }
  }

  /// The destination failed for the whole batch (cannot connect, AUTH or SELECT refused):
  /// in batch order each key's first unsettled record is `unavailable`, its later ones
  /// `retry` (held behind it).
  void fill_unavailable(std::span<const outbox_record> batch,
                        std::vector<std::optional<publish_result>>& results,
                        const std::string& why) const {
    key_gate gate(*this);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (results[i])
        continue;
      if (auto held = gate.refusal(batch[i])) {
        results[i] = std::move(held);
        continue;
      }
      results[i] = gate.record(batch[i], publish_result::unavailable(why));
      gate.fail_all_routes(why);
    }
  }

  /// Takes an idle connection or makes one; registered in busy_ before any blocking call.
  /// Returns null after shutdown(). Throws transient_error when the server is unreachable.
  redisContext* acquire() {
    {
      std::lock_guard lock(mutex_);
      if (shut_down_)
        return nullptr;
      if (!idle_.empty()) {
        redisContext* c = idle_.back().release();
        idle_.pop_back();
        busy_.insert(c);
        return c;
      }
    }
    const timeval tv = to_timeval(options_.connect_timeout);
    redisContext* raw = redisConnectWithTimeout(options_.host.c_str(), options_.port, tv);
    if (raw == nullptr || raw->err != 0) {
      const std::string why = context_error(raw);
      if (raw != nullptr)
        redisFree(raw);
      throw transient_error("redis: cannot connect to " + options_.host + ":" +
                            std::to_string(options_.port) + ": " + why);
    }
    {
      std::lock_guard lock(mutex_);
      if (shut_down_) {
        redisFree(raw);
        return nullptr;
      }
      busy_.insert(raw);
    }
    try {
      if (redisSetTimeout(raw, to_timeval(options_.command_timeout)) != REDIS_OK)
        throw transient_error("redis: cannot set the command timeout: " + context_error(raw));
      redisEnableKeepAlive(raw);
      if (!options_.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!options_.username.empty())
          auth.push_back(options_.username);
        auth.push_back(options_.password);
        run_command(raw, auth, "AUTH");
      }
      if (options_.db != 0)
        run_command(raw, {"SELECT", std::to_string(options_.db)}, "SELECT");
    } catch (...) {
      release(raw, false);
      throw;
    }
    return raw;
  }

  /// Ends this publish()'s use of `c`: back to the pool when healthy, else freed.
  void release(redisContext* c, bool healthy) noexcept {
    context_ptr owned(c);
    std::lock_guard lock(mutex_);
    busy_.erase(c);
    if (healthy && c->err == 0 && !shut_down_ && idle_.size() < max_idle_connections)
      idle_.push_back(std::move(owned));
  }

  /// One batch's progress: the records of each key in batch order (keys in order of first
  /// appearance), how far each key got, and the batch rules (`gate`).
  struct key_queues {
    std::span<const outbox_record> batch;
    key_gate gate;
    std::vector<std::vector<std::size_t>> queues;
    std::vector<std::size_t> cursor;

    key_queues(std::span<const outbox_record> b, const publisher& pub) : batch(b), gate(pub) {
      std::unordered_map<std::string_view, std::size_t> key_index;
      for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto [it, fresh] = key_index.emplace(batch[i].msg.aggregate_id, queues.size());
        if (fresh)
          queues.emplace_back();
        queues[it->second].push_back(i);
      }
      cursor.assign(queues.size(), 0);
    }
    bool pending(std::size_t q) const { return cursor[q] < queues[q].size(); }
    std::size_t next(std::size_t q) const { return queues[q][cursor[q]]; }
    /// Settles key q's current record with `r`, and its later records, not sent, as the
    /// gate says.
    void stop(std::size_t q, publish_result r,
              std::vector<std::optional<publish_result>>& results) {
      results[next(q)] = gate.record(batch[next(q)], std::move(r));
      for (++cursor[q]; pending(q); ++cursor[q])
        results[next(q)] = gate.refusal(batch[next(q)]);
    }
  };

  /// The keys with a record to send in the next round. A record that must not go is
  /// settled here and stops its key: an unsafe routing field (reject), or a stream an
  /// earlier record found unavailable (the gate's refusal).
  static std::vector<std::size_t> next_round(key_queues& kq,
                                             std::vector<std::optional<publish_result>>& results) {
    std::vector<std::size_t> round;
    for (std::size_t q = 0; q < kq.queues.size(); ++q) {
      if (!kq.pending(q))
        continue;
      const outbox_record& rec = kq.batch[kq.next(q)];
      if (auto unsafe = txoutbox::detail::routing_reject(rec.msg, false)) {
        kq.stop(q, std::move(*unsafe), results);
      } else if (auto held = kq.gate.refusal(rec)) {
        kq.stop(q, std::move(*held), results);
      } else {
        round.push_back(q);
      }
    }
    return round;
  }

  /// Pipelines one round and reads its replies. False when the connection failed (this
  /// reply and the rest of the round: outcome unknown).
  bool run_round(redisContext* c, const std::vector<std::size_t>& round, key_queues& kq,
                 std::vector<std::optional<publish_result>>& results) const {
    for (std::size_t q : round) {
      if (!append_command(c, xadd_args(options_, kq.batch[kq.next(q)])))
        return false;
    }
    for (std::size_t q : round) {
      void* raw = nullptr;
      if (redisGetReply(c, &raw) != REDIS_OK)
        return false;
      reply_ptr reply(static_cast<redisReply*>(raw));
      if (reply->type != REDIS_REPLY_ERROR) {
        results[kq.next(q)] = publish_result::ok();
        ++kq.cursor[q];
        continue;
      }
      kq.stop(q, classify_error_reply(std::string_view(reply->str, reply->len)), results);
    }
    return true;
  }

  /// Sends the batch in rounds: each round pipelines the next unsent record of every key
  /// still going, then reads all replies. A key has at most one record in flight, so a
  /// failure of record k can never have k+1 applied behind it.
  void publish_rounds(std::span<const outbox_record> batch,
                      std::vector<std::optional<publish_result>>& results) {
    if (batch.empty())
      return;
    key_queues kq(batch, *this);
    redisContext* c = nullptr;
    try {
      c = acquire();
    } catch (const std::exception& e) {
      if (!is_shut_down())
        fill_unavailable(batch, results, e.what());
      return;  // shut down: unresolved records become retry
    }
    if (c == nullptr)
      return;  // shut down: unresolved records become retry
    bool healthy = true;
    try {
      for (;;) {
        const std::vector<std::size_t> round = next_round(kq, results);
        if (round.empty())
          break;
        healthy = run_round(c, round, kq, results);
        if (!healthy)
          break;
      }
    } catch (...) {
      release(c, false);
      throw;
    }
    if (healthy) {
      release(c, true);
      return;
    }
    const bool stopped = is_shut_down();
    const std::string why =
        stopped ? std::string(shut_down_reason) : "redis: connection lost: " + context_error(c);
    release(c, false);
    // Every record not yet settled: the first of each key may or may not have been
    // applied (a duplicate at most), the rest were never sent.
    for (std::size_t q = 0; q < kq.queues.size(); ++q) {
      if (kq.pending(q))
        kq.stop(q, stopped ? publish_result::retry(why) : publish_result::unavailable(why),
                results);
    }
  }

  bool is_shut_down() {
    std::lock_guard lock(mutex_);
    return shut_down_;
  }

  const publisher_options options_;
  std::mutex mutex_;  ///< guards everything below
  std::vector<context_ptr> idle_;
  std::set<redisContext*> busy_;  ///< contexts inside a publish(); shutdown() shuts their sockets
  bool shut_down_ = false;
};

[[noreturn]] void bad_field(const std::string& field, const std::string& what) {
  throw usage_error(errc::invalid_argument, field, "redis publisher: " + field + " " + what);
}

}  // namespace

std::unique_ptr<txoutbox::publisher> make_publisher(publisher_options options) {
  if (options.host.empty())
    bad_field("host", "must not be empty");
  if (options.port < 1 || options.port > 65535)
    bad_field("port", "must be in 1..65535, got " + std::to_string(options.port));
  if (options.db < 0)
    bad_field("db", "must not be negative");
  if (!options.username.empty() && options.password.empty())
    bad_field("username", "needs a password");
  if (options.connect_timeout.count() <= 0)
    bad_field("connect_timeout", "must be positive");
  if (options.command_timeout.count() <= 0)
    bad_field("command_timeout", "must be positive");
  return std::make_unique<redis_publisher>(std::move(options));
}

}  // namespace txoutbox::redis
