// Tests of key_gate: the per-key and per-route batch rules, before a send and afterwards.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "txoutbox/key_gate.hpp"

namespace {

using txoutbox::key_gate;
using txoutbox::outbox_record;
using txoutbox::publish_result;
using txoutbox::publish_status;

const std::string key_failed = "not sent: an earlier message of this key failed";
const std::string route_down = "not sent: destination unavailable";

/// A record of aggregate `key` whose aggregate type is its route.
outbox_record record(const std::string& route, const std::string& key, int n) {
  outbox_record rec;
  rec.msg.aggregate_type = route;
  rec.msg.aggregate_id = key;
  rec.msg.type = "Happened";
  rec.msg.payload = "{}";
  rec.seq = n;
  return rec;
}

key_gate::route_fn by_type() {
  return [](const outbox_record& rec) { return rec.msg.aggregate_type; };
}

/// Runs `batch` through the gate as a synchronous transport would: each record the gate
/// lets go gets the next of `outcomes`. Returns every result; `sent` gets the seq of each
/// record let go.
std::vector<publish_result> run_sync(key_gate& gate, const std::vector<outbox_record>& batch,
                                     std::vector<publish_result> outcomes,
                                     std::vector<std::int64_t>& sent) {
  std::vector<publish_result> results;
  std::size_t next = 0;
  for (const outbox_record& rec : batch) {
    if (auto held = gate.refusal(rec)) {
      results.push_back(std::move(*held));
      continue;
    }
    sent.push_back(rec.seq);
    results.push_back(gate.record(rec, outcomes.at(next++)));
  }
  return results;
}

}  // namespace

TEST_CASE("key gate holds back a failed key's later records and lets other keys go",
          "[key_gate][key]") {
  const auto failure = GENERATE(publish_result::retry("flaky"), publish_result::reject("bad"));
  key_gate gate(by_type());
  // Interleaved keys on one route: a fails first, b keeps going.
  const std::vector<outbox_record> batch{record("r", "a", 1), record("r", "b", 2),
                                         record("r", "a", 3), record("r", "b", 4),
                                         record("r", "a", 5)};
  std::vector<std::int64_t> sent;
  const auto results =
      run_sync(gate, batch, {failure, publish_result::ok(), publish_result::ok()}, sent);
  CHECK(sent == std::vector<std::int64_t>{1, 2, 4});
  REQUIRE(results.size() == 5);
  CHECK(results[0].status == failure.status);
  CHECK(results[0].reason == failure.reason);  // its own outcome, untouched
  CHECK(results[1].status == publish_status::ok);
  CHECK(results[3].status == publish_status::ok);
  for (std::size_t i : {2U, 4U}) {
    CHECK(results[i].status == publish_status::retry);
    CHECK(results[i].reason == key_failed);
  }
}

TEST_CASE("key gate holds back a route after an unavailable and lets other routes go",
          "[key_gate][route]") {
  key_gate gate(by_type());
  // Routes x and y interleaved, each key on its own route: x goes down at its first record.
  const std::vector<outbox_record> batch{record("x", "a", 1), record("y", "b", 2),
                                         record("x", "c", 3), record("y", "d", 4),
                                         record("x", "e", 5)};
  std::vector<std::int64_t> sent;
  const auto results = run_sync(gate, batch,
                                {publish_result::unavailable("x refused the connection"),
                                 publish_result::ok(), publish_result::ok()},
                                sent);
  CHECK(sent == std::vector<std::int64_t>{1, 2, 4});
  REQUIRE(results.size() == 5);
  CHECK(results[0].reason == "x refused the connection");
  CHECK(results[1].status == publish_status::ok);
  CHECK(results[3].status == publish_status::ok);
  for (std::size_t i : {2U, 4U}) {
    CHECK(results[i].status == publish_status::unavailable);
    CHECK(results[i].reason == route_down);
  }
}

TEST_CASE("key gate stops a key held back by a down route, on its other routes too",
          "[key_gate][key][route]") {
  key_gate gate(by_type());
  // Key a: first on x (which goes down through key b), then on y, which is up.
  const std::vector<outbox_record> batch{record("x", "b", 1), record("x", "a", 2),
                                         record("y", "a", 3), record("y", "c", 4)};
  std::vector<std::int64_t> sent;
  const auto results =
      run_sync(gate, batch, {publish_result::unavailable("x is down"), publish_result::ok()}, sent);
  CHECK(sent == std::vector<std::int64_t>{1, 4});
  REQUIRE(results.size() == 4);
  CHECK(results[1].status == publish_status::unavailable);
  CHECK(results[1].reason == route_down);
  // a's record on y is not sent: an earlier record of a failed (was held back).
  CHECK(results[2].status == publish_status::retry);
  CHECK(results[2].reason == key_failed);
  CHECK(results[3].status == publish_status::ok);
}

TEST_CASE("key gate holds back a key's later record on another route after a failure",
          "[key_gate][key][route]") {
  key_gate gate(by_type());
  const std::vector<outbox_record> batch{record("x", "a", 1), record("y", "a", 2),
                                         record("y", "b", 3)};
  std::vector<std::int64_t> sent;
  const auto results =
      run_sync(gate, batch, {publish_result::unavailable("x is down"), publish_result::ok()}, sent);
  CHECK(sent == std::vector<std::int64_t>{1, 3});
  CHECK(results[1].status == publish_status::retry);  // the key rule, not route y's
  CHECK(results[1].reason == key_failed);
  CHECK(results[2].status == publish_status::ok);  // y was never down
}

TEST_CASE("key gate without a route function treats the batch as one route", "[key_gate][route]") {
  key_gate gate;
  const std::vector<outbox_record> batch{record("x", "a", 1), record("y", "b", 2)};
  std::vector<std::int64_t> sent;
  const auto results = run_sync(gate, batch, {publish_result::unavailable("down")}, sent);
  CHECK(sent == std::vector<std::int64_t>{1});
  CHECK(results[1].status == publish_status::unavailable);
  CHECK(results[1].reason == route_down);
}

TEST_CASE("key gate refuses every route once the destination as a whole failed",
          "[key_gate][route]") {
  key_gate gate(by_type());
  const outbox_record a1 = record("x", "a", 1), a2 = record("y", "a", 2), b = record("y", "b", 3);
  REQUIRE_FALSE(gate.refusal(a1));
  (void)gate.record(a1, publish_result::unavailable("connection lost"));
  gate.fail_all_routes("connection lost");
  const auto held_a = gate.refusal(a2);
  REQUIRE(held_a);
  CHECK(held_a->status == publish_status::retry);
  CHECK(held_a->reason == key_failed);
  const auto held_b = gate.refusal(b);  // route y never failed itself
  REQUIRE(held_b);
  CHECK(held_b->status == publish_status::unavailable);
  CHECK(held_b->reason == route_down + ": connection lost");
}

TEST_CASE("key gate settles outcomes that arrived after the whole batch was handed over",
          "[key_gate][settle]") {
  key_gate gate(by_type(), "topic");
  // Every record was produced; the outcomes came afterwards.
  const std::vector<outbox_record> batch{
      record("x", "a", 1),  // fails
      record("y", "b", 2),  // y goes down
      record("x", "a", 3),  // acknowledged, but after a's failure
      record("y", "c", 4),  // acknowledged, but y was down before it
      record("y", "c", 5),  // its own retry after c was held back
      record("x", "d", 6),  // x is up: stays ok
      record("y", "e", 7),  // its own unavailable stays as it is
  };
  const std::vector<publish_result> own{publish_result::retry("timed out"),
                                        publish_result::unavailable("no leader"),
                                        publish_result::ok(),
                                        publish_result::ok(),
                                        publish_result::retry("no report"),
                                        publish_result::ok(),
                                        publish_result::unavailable("no leader, again")};
  std::vector<publish_result> results;
  for (std::size_t i = 0; i < batch.size(); ++i)
    results.push_back(gate.settle(batch[i], own[i], true));
  CHECK(results[0].reason == "timed out");
  CHECK(results[1].reason == "no leader");
  CHECK(results[2].status == publish_status::retry);
  CHECK(results[2].reason ==
        "an earlier message of this key failed in the same batch; re-published after it");
  CHECK(results[3].status == publish_status::unavailable);
  CHECK(results[3].reason ==
        "destination unavailable: an earlier message of this topic was; re-published after it");
  CHECK(results[4].status == publish_status::retry);
  CHECK(results[4].reason == "no report");  // a sent record's own retry stays
  CHECK(results[5].status == publish_status::ok);
  CHECK(results[6].status == publish_status::unavailable);
  CHECK(results[6].reason == "no leader, again");
}

TEST_CASE("key gate settles a record never handed over with the not-sent reasons",
          "[key_gate][settle]") {
  key_gate gate(by_type());
  const std::vector<outbox_record> batch{record("x", "a", 1), record("x", "b", 2),
                                         record("x", "a", 3), record("x", "b", 4)};
  const auto failure = publish_result::unavailable("disk full");
  std::vector<publish_result> results;
  for (const auto& rec : batch)
    results.push_back(gate.settle(rec, failure, false));
  CHECK(results[0].reason == "disk full");
  CHECK(results[1].status == publish_status::unavailable);
  CHECK(results[1].reason == "disk full");  // its own unavailable stays
  for (std::size_t i : {2U, 3U}) {
    CHECK(results[i].status == publish_status::retry);
    CHECK(results[i].reason == key_failed);
  }
  // A record rejected before it was handed over, after its route went down.
  key_gate other(by_type());
  const outbox_record down = record("x", "a", 1), rejected = record("x", "b", 2);
  (void)other.settle(down, publish_result::unavailable("down"), true);
  const auto held = other.settle(rejected, publish_result::reject("bad"), false);
  CHECK(held.status == publish_status::unavailable);
  CHECK(held.reason == route_down);
}

TEST_CASE("key gate asks for a route only when a rule needs it", "[key_gate][route]") {
  int asked = 0;
  key_gate gate([&](const outbox_record& rec) {
    ++asked;
    return rec.msg.aggregate_type;
  });
  const std::vector<outbox_record> batch{record("x", "a", 1), record("x", "b", 2),
                                         record("y", "c", 3)};
  std::vector<std::int64_t> sent;
  (void)run_sync(gate, batch,
                 {publish_result::ok(), publish_result::reject("bad"), publish_result::ok()}, sent);
  CHECK(asked == 0);  // no route went down
  (void)gate.record(batch[2], publish_result::unavailable("y down"));
  CHECK(asked == 1);
}
