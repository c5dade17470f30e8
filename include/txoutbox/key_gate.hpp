// key_gate: the publisher contract's two batch rules (per key, per route), for any publisher.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "txoutbox/outbox_record.hpp"
#include "txoutbox/publisher.hpp"

namespace txoutbox {

/// Applies the batch rules of the publisher contract (publisher.hpp) to one batch, and owns
/// the reasons they report:
/// - once a record of a key fails (retry, reject or unavailable), the key's later records
///   are reported `retry`, saying an earlier message of the key failed, and are not sent;
/// - once a record is `unavailable`, the later records of its route are reported
///   `unavailable`, saying the destination is unavailable, and are not sent.
///
/// A synchronous transport asks refusal() before each send and passes each outcome
/// through record():
///
///     key_gate gate(*this);
///     for (const outbox_record& rec : batch) {
///       if (auto held = gate.refusal(rec)) { results.push_back(std::move(*held)); continue; }
///       results.push_back(gate.record(rec, send(rec)));
///     }
///
/// An asynchronous one (every record handed over first, outcomes later) runs a fresh gate's
/// settle() over the outcomes in batch order instead.
///
/// One gate serves one publish() call, on one thread: not thread-safe. It keeps views of
/// the records' aggregate ids, so the batch must outlive it (it does: the relay owns it).
class key_gate {
 public:
  /// How the gate finds a record's route; it asks only when a rule needs the answer (a
  /// route is down, or a record was `unavailable`). Empty: one route for every record.
  using route_fn = std::function<std::string(const outbox_record&)>;

  /// `route_noun` names the route in settle()'s reasons ("topic", "stream").
  explicit key_gate(route_fn route = {}, std::string route_noun = "route");
  /// Routes from `pub.route()`, which must not take a lock publish() holds; `pub` must
  /// outlive the gate.
  explicit key_gate(const publisher& pub, std::string route_noun = "route");

  /// Before sending `rec`: nullopt when it may go, else the result to report for it
  /// instead (already recorded: the record's key stops too).
  [[nodiscard]] std::optional<publish_result> refusal(const outbox_record& rec);

  /// After `rec` was sent, or failed in the publisher's own checks: remembers a failure
  /// of its key and an `unavailable` of its route. Returns `result`, to store.
  publish_result record(const outbox_record& rec, publish_result result);

  /// The destination as a whole failed (the connection broke, cannot connect): every
  /// later record whose key has not failed is refused `unavailable`, whatever its route,
  /// with `why` in the reason.
  void fail_all_routes(std::string why);

  /// The rules applied afterwards, for a transport that handed every record over before
  /// any outcome was known: call it for each record in batch order with its own outcome.
  /// A record after a failure of its key becomes `retry` (a sent record's own `retry`
  /// stays), one after an `unavailable` of its route becomes `unavailable` (an own
  /// `unavailable` stays) — even when its own outcome was `ok`, since the order says it
  /// goes again after the failure. `sent`: the transport had the record (it may have
  /// arrived), which the rewritten reason says; false for one it never handed over.
  [[nodiscard]] publish_result settle(const outbox_record& rec, publish_result own, bool sent);

 private:
  bool key_failed(const outbox_record& rec) const;
  /// The reason a record of a down route is refused with, or nullopt when its route is up.
  std::optional<std::string> route_down(const outbox_record& rec) const;
  std::string route_of(const outbox_record& rec) const;

  route_fn route_;
  std::string route_noun_;
  std::unordered_set<std::string_view> failed_keys_;  ///< views into the batch
  std::unordered_set<std::string> down_routes_;
  std::optional<std::string> all_down_;  ///< why, after fail_all_routes()
};

}  // namespace txoutbox
