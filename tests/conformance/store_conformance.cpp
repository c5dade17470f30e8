// store_conformance: the cases every store backend must pass, written against the SPI only.
#include "store_conformance.hpp"

#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <latch>
#include <set>
#include <thread>

#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

namespace {

using namespace std::chrono_literals;

/// A lease that outlives any test: holds that a check relies on never lapse.
constexpr std::chrono::milliseconds long_ttl = 30s;
/// A lease meant to lapse, and the wait that is sure to pass it.
constexpr std::chrono::milliseconds short_ttl = 300ms;
constexpr std::chrono::milliseconds past_short_ttl = 400ms;
/// A delay whose "not yet" side is checked at once, and the wait that passes it.
constexpr std::chrono::milliseconds hold = 600ms;
constexpr std::chrono::milliseconds past_hold = 700ms;

const std::string owner_a = "relay-a";
const std::string owner_b = "relay-b";

message msg(const std::string& key, int n) {
  return message{.id = {},
                 .aggregate_type = "order",
                 .aggregate_id = key,
                 .type = "Event" + std::to_string(n),
                 .payload = R"({"key":")" + key + R"(","n":)" + std::to_string(n) + "}",
                 .headers = {},
                 .deliver_after = std::nullopt};
}

std::vector<std::uint32_t> all_partitions(std::uint32_t n) {
  std::vector<std::uint32_t> out(n);
  for (std::uint32_t p = 0; p < n; ++p)
    out[p] = p;
  return out;
}

/// The `index`-th key (from `prefix`-0, -1, ...) that hashes to `partition`.
std::string key_in(std::uint32_t partition, std::uint32_t partitions, const std::string& prefix,
                   int index = 0) {
  for (int i = 0;; ++i) {
    auto key = prefix + "-" + std::to_string(i);
    if (partition_of(key, partitions) == partition && index-- == 0)
      return key;
  }
}

std::uint64_t acquire_or_fail(store& s, const std::string& owner, std::uint32_t partition,
                              std::chrono::milliseconds ttl = long_ttl) {
  auto epoch = s.acquire(owner, partition, ttl);
  REQUIRE(epoch.has_value());
  return *epoch;
}

/// Acquires every partition for `owner`; returns the epochs by partition.
std::vector<std::uint64_t> acquire_all(store& s, const std::string& owner, std::uint32_t n) {
  std::vector<std::uint64_t> epochs;
  for (std::uint32_t p = 0; p < n; ++p)
    epochs.push_back(acquire_or_fail(s, owner, p));
  return epochs;
}

/// All claimed records, flattened in (partition as returned, seq) order.
std::vector<outbox_record> claim_flat(store& s, const std::string& owner, std::uint32_t n,
                                      std::size_t limit = 100) {
  const auto parts = all_partitions(n);
  std::vector<outbox_record> out;
  for (auto& cp : s.claim(owner, parts, {.rows = limit})) {
    for (auto& r : cp.records)
      out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> ids_of(const std::vector<outbox_record>& records) {
  std::vector<std::string> out;
  for (const auto& r : records)
    out.push_back(r.msg.id.to_string());
  return out;
}

std::vector<std::string> ids_of(std::initializer_list<message_id> ids) {
  std::vector<std::string> out;
  for (const auto& id : ids)
    out.push_back(id.to_string());
  return out;
}

std::vector<std::string> ids_of(const std::vector<message_id>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids)
    out.push_back(id.to_string());
  return out;
}

std::vector<std::string> dead_ids(store& s, std::size_t limit = 100) {
  std::vector<std::string> out;
  for (const auto& d : s.dead_letters(limit))
    out.push_back(d.record.msg.id.to_string());
  return out;
}

const outbox_record& find_record(const std::vector<outbox_record>& records, const message_id& id) {
  const auto it = std::find_if(records.begin(), records.end(),
                               [&](const outbox_record& r) { return r.msg.id == id; });
  REQUIRE(it != records.end());
  return *it;
}

outcome published(const message_id& id) {
  return outcome{.id = id, .what = outcome::action::published, .delay = {}, .reason = {}};
}

outcome retry(const message_id& id, std::chrono::milliseconds delay, std::string reason) {
  return outcome{
      .id = id, .what = outcome::action::retry, .delay = delay, .reason = std::move(reason)};
}

outcome dead_letter(const message_id& id, std::string reason) {
  return outcome{
      .id = id, .what = outcome::action::dead_letter, .delay = {}, .reason = std::move(reason)};
}

bool settle(store& s, const fence& f, std::initializer_list<outcome> outcomes) {
  const std::vector<outcome> list(outcomes);
  return s.settle(f, list);
}

lease_info lease_of(store& s, std::uint32_t partition) {
  for (auto& l : s.leases()) {
    if (l.partition == partition)
      return l;
  }
  FAIL("no lease row for partition " << partition);
  return {};
}

void require_same_marker(const batch_marker& got, const batch_marker& want) {
  REQUIRE(got.head_seq == want.head_seq);
  REQUIRE(got.last_seq == want.last_seq);
  REQUIRE(got.starts == want.starts);
  REQUIRE(got.suspect_through == want.suspect_through);
}

/// The marker stored on partition 0, read through a claim (the SPI's only window on it).
batch_marker marker_via_claim(store& s, const std::string& owner) {
  const std::vector<std::uint32_t> p0{0};
  const auto claimed = s.claim(owner, p0, {.rows = 1});
  REQUIRE(claimed.size() == 1);
  return claimed[0].marker;
}

void require_same_json(const std::string& got, const std::string& want) {
  constexpr unsigned flags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  rapidjson::Document a;
  rapidjson::Document b;
  a.Parse<flags>(got.c_str(), got.size());
  b.Parse<flags>(want.c_str(), want.size());
  INFO("got payload " << got);
  REQUIRE_FALSE(a.HasParseError());
  REQUIRE_FALSE(b.HasParseError());
  REQUIRE(a == b);
}

}  // namespace

void commit_and_rollback_are_atomic(harness& h) {
  auto s = h.make_store(4);
  h.enqueue_rolled_back(msg("k", 1));
  const auto kept = h.enqueue_committed(msg("k", 2));
  h.enqueue_rolled_back(msg("other", 1));
  acquire_all(*s, owner_a, 4);

  // The rolled-back row neither shows up nor holds its key's later row back.
  REQUIRE(ids_of(claim_flat(*s, owner_a, 4)) == ids_of({kept}));
  REQUIRE(s->stats().backlog == 1);
}

void out_of_order_commits_are_never_skipped(harness& h) {
  auto s = h.make_store(1);
  const auto epoch = acquire_or_fail(*s, owner_a, 0);
  const fence f{owner_a, 0, epoch};

  std::vector<outbox_record> between_claim;
  bool between_settled = false;
  const auto [a, b] = h.enqueue_out_of_order(msg("a", 1), msg("b", 1), [&] {
    // B has committed, A has not: publish whatever is visible now, as a relay would.
    between_claim = claim_flat(*s, owner_a, 1);
    std::vector<outcome> done;
    for (const auto& r : between_claim)
      done.push_back(published(r.msg.id));
    between_settled = s->settle(f, done);
  });
  REQUIRE(between_settled);
  const auto between_ids = ids_of(between_claim);
  REQUIRE(std::count(between_ids.begin(), between_ids.end(), b.to_string()) == 1);

  const auto after_claim = claim_flat(*s, owner_a, 1);
  std::multiset<std::string> seen(between_ids.begin(), between_ids.end());
  for (const auto& id : ids_of(after_claim))
    seen.insert(id);
  // A, committed last with the lower seq, is claimable: nothing was skipped, nothing twice.
  REQUIRE(seen == std::multiset<std::string>{a.to_string(), b.to_string()});

  std::vector<outbox_record> all = between_claim;
  all.insert(all.end(), after_claim.begin(), after_claim.end());
  REQUIRE(find_record(all, a).seq < find_record(all, b).seq);
}

void claim_returns_owned_partitions_in_seq_order_up_to_the_limit(harness& h) {
  constexpr std::uint32_t n = 4;
  auto s = h.make_store(n);
  const auto x0 = h.enqueue_committed(msg(key_in(0, n, "x", 0), 1));
  const auto y0 = h.enqueue_committed(msg(key_in(1, n, "y", 0), 1));
  const auto x1 = h.enqueue_committed(msg(key_in(0, n, "x", 1), 1));
  h.enqueue_committed(msg(key_in(3, n, "w", 0), 1));
  const auto x2 = h.enqueue_committed(msg(key_in(0, n, "x", 2), 1));
  const auto y1 = h.enqueue_committed(msg(key_in(1, n, "y", 1), 1));
  const auto z0 = h.enqueue_committed(msg(key_in(2, n, "z", 0), 1));

  const auto e0 = acquire_or_fail(*s, owner_a, 0);
  const auto e1 = acquire_or_fail(*s, owner_a, 1);
  acquire_or_fail(*s, owner_b, 2);  // partition 3 stays free

  const auto parts = all_partitions(n);
  const auto claimed = s->claim(owner_a, parts, {.rows = 100});
  REQUIRE(claimed.size() == 2);
  std::vector<claimed_partition> sorted = claimed;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& l, const auto& r) { return l.partition < r.partition; });
  REQUIRE(sorted[0].partition == 0);
  REQUIRE(sorted[0].epoch == e0);
  REQUIRE(ids_of(sorted[0].records) == ids_of({x0, x1, x2}));
  REQUIRE(sorted[1].partition == 1);
  REQUIRE(sorted[1].epoch == e1);
  REQUIRE(ids_of(sorted[1].records) == ids_of({y0, y1}));
  for (const auto& cp : sorted) {
    for (std::size_t i = 0; i < cp.records.size(); ++i) {
      REQUIRE(cp.records[i].partition == cp.partition);
      REQUIRE(partition_of(cp.records[i].msg.aggregate_id, n) == cp.partition);
      if (i > 0)
        REQUIRE(cp.records[i - 1].seq < cp.records[i].seq);
    }
  }

  // The limit applies per partition and keeps the lowest seqs.
  const auto limited = s->claim(owner_a, parts, {.rows = 2});
  REQUIRE(limited.size() == 2);
  for (const auto& cp : limited) {
    REQUIRE(ids_of(cp.records) == (cp.partition == 0 ? ids_of({x0, x1}) : ids_of({y0, y1})));
  }

  // Only the partitions asked for; other owners see only their own; claiming wrote nothing.
  const std::vector<std::uint32_t> only1{1};
  const auto one = s->claim(owner_a, only1, {.rows = 100});
  REQUIRE(one.size() == 1);
  REQUIRE(one[0].partition == 1);
  REQUIRE(ids_of(claim_flat(*s, owner_b, n)) == ids_of({z0}));
  REQUIRE(claim_flat(*s, "relay-nobody", n).empty());
  REQUIRE(ids_of(claim_flat(*s, owner_a, n, 100)).size() == 5);
  REQUIRE(s->stats().backlog == 7);
}

void claim_honours_head_of_line_with_a_retry(harness& h) {
  auto s = h.make_store(1);
  const auto k1 = h.enqueue_committed(msg("k", 1));
  const auto k2 = h.enqueue_committed(msg("k", 2));
  const auto j1 = h.enqueue_committed(msg("j", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};

  // k2 rides behind k1 in the same claim: the run of a key, in seq order.
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k1, k2, j1}));

  REQUIRE(settle(*s, f, {retry(k1, hold, "broker down"), published(j1)}));
  // k1 backs off, so k2 is not claimable either; another key still flows.
  REQUIRE(claim_flat(*s, owner_a, 1).empty());
  const auto j2 = h.enqueue_committed(msg("j", 2));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({j2}));

  h.advance(past_hold);
  const auto again = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(again) == ids_of({k1, k2, j2}));
  REQUIRE(find_record(again, k1).attempts == 1);

  REQUIRE(settle(*s, f, {published(k1), published(j2)}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2}));
}

void claim_honours_head_of_line_with_deliver_after(harness& h) {
  auto s = h.make_store(1);
  auto delayed = msg("k", 1);
  delayed.deliver_after = hold;
  const auto k1 = h.enqueue_committed(delayed);
  const auto k2 = h.enqueue_committed(msg("k", 2));
  const auto j1 = h.enqueue_committed(msg("j", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};

  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({j1}));
  h.advance(past_hold);
  const auto now_due = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(now_due) == ids_of({k1, k2, j1}));
  REQUIRE_FALSE(find_record(now_due, k1).msg.deliver_after.has_value());

  REQUIRE(settle(*s, f, {published(k1)}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2, j1}));
}

void batch_enqueue_keeps_transaction_order(harness& h) {
  auto s = h.make_store(1);
  const std::vector<message> batch{msg("k", 1), msg("j", 1), msg("k", 2)};
  const auto ids = h.enqueue_committed_batch(batch);
  REQUIRE(ids.size() == 3);
  REQUIRE(std::set<message_id>(ids.begin(), ids.end()).size() == 3);
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};

  const auto first = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(first) == ids_of({ids[0], ids[1], ids[2]}));
  REQUIRE(first[0].seq < first[1].seq);
  REQUIRE(first[1].seq < first[2].seq);
  REQUIRE(settle(*s, f, {published(ids[0])}));
  const auto second = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(second) == ids_of({ids[1], ids[2]}));
  REQUIRE(second[0].seq < second[1].seq);
}

void claim_returns_a_run_of_one_hot_key_up_to_the_limit(harness& h) {
  auto s = h.make_store(1);
  std::vector<message> hot;
  for (int n = 1; n <= 12; ++n)
    hot.push_back(msg("hot", n));
  const auto ids = h.enqueue_committed_batch(hot);
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};

  // `limit` rows of the one key, its oldest first, not just its head.
  const auto five = claim_flat(*s, owner_a, 1, 5);
  REQUIRE(ids_of(five) == ids_of({ids[0], ids[1], ids[2], ids[3], ids[4]}));
  for (std::size_t i = 1; i < five.size(); ++i)
    REQUIRE(five[i - 1].seq < five[i].seq);
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 100)) == ids_of(ids));

  // After the first five are acknowledged, the run goes on from the sixth.
  REQUIRE(settle(*s, f,
                 {published(ids[0]), published(ids[1]), published(ids[2]), published(ids[3]),
                  published(ids[4])}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 3)) == ids_of({ids[5], ids[6], ids[7]}));
}

void a_run_stops_before_a_row_that_is_not_available(harness& h) {
  auto s = h.make_store(1);
  const auto k1 = h.enqueue_committed(msg("k", 1));
  const auto k2 = h.enqueue_committed(msg("k", 2));
  const auto k3 = h.enqueue_committed(msg("k", 3));
  const auto k4 = h.enqueue_committed(msg("k", 4));
  const auto j1 = h.enqueue_committed(msg("j", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k1, k2, k3, k4, j1}));

  // k3 backs off: the run of k ends before it although k4 is available.
  REQUIRE(settle(*s, f, {published(k1), retry(k3, hold, "broker down")}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2, j1}));
  // A later row of the key that is delayed itself stops the run just the same.
  auto delayed = msg("j", 2);
  delayed.deliver_after = hold;
  const auto j2 = h.enqueue_committed(delayed);
  const auto j3 = h.enqueue_committed(msg("j", 3));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2, j1}));

  h.advance(past_hold);
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2, k3, k4, j1, j2, j3}));
}

void a_hot_key_interleaves_with_other_keys_in_seq_order(harness& h) {
  auto s = h.make_store(1);
  const std::vector<message> written{msg("hot", 1), msg("a", 1),  msg("hot", 2), msg("b", 1),
                                     msg("hot", 3), msg("b", 2),  msg("a", 2),   msg("hot", 4),
                                     msg("c", 1),   msg("hot", 5)};
  const auto ids = h.enqueue_committed_batch(written);
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  const auto& h1 = ids[0];
  const auto& a1 = ids[1];
  const auto& h2 = ids[2];
  const auto& b1 = ids[3];
  const auto& h3 = ids[4];
  const auto& a2 = ids[6];
  const auto& h4 = ids[7];
  const auto& c1 = ids[8];
  const auto& h5 = ids[9];

  // The limit keeps the lowest seqs across keys; every key's share is a prefix of it.
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 4)) == ids_of({h1, a1, h2, b1}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 100)) == ids_of(ids));

  // b1 backs off: b2 waits, the hot key and the others flow around it in seq order.
  REQUIRE(settle(*s, f, {published(h1), published(a1), retry(b1, hold, "later")}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 100)) == ids_of({h2, h3, a2, h4, c1, h5}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 3)) == ids_of({h2, h3, a2}));
}

void a_long_queue_behind_a_blocked_head_hides_no_later_key(harness& h) {
  auto s = h.make_store(1);
  std::vector<message> blocked;
  for (int n = 1; n <= 9; ++n)
    blocked.push_back(msg("b", n));
  const auto b = h.enqueue_committed_batch(blocked);
  const std::vector<message> later{msg("hot", 1), msg("hot", 2), msg("c", 1), msg("hot", 3)};
  const auto l = h.enqueue_committed_batch(later);
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(settle(*s, f, {retry(b[0], hold, "broker down")}));

  // b's eight waiting rows are the oldest in the partition, more than a few limits' worth;
  // the claim still finds the keys behind them, oldest first, and never a row of b.
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 1)) == ids_of({l[0]}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 2)) == ids_of({l[0], l[1]}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 3)) == ids_of({l[0], l[1], l[2]}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1, 100)) == ids_of(l));
}

void acquire_is_exclusive_and_bumps_the_epoch(harness& h) {
  auto s = h.make_store(2);
  auto peer = h.make_peer_store();
  const auto initial = s->leases();
  REQUIRE(initial.size() == 2);
  for (const auto& l : initial)
    REQUIRE(l.owner.empty());

  const auto e1 = acquire_or_fail(*s, owner_a, 0);
  const auto e2 = acquire_or_fail(*s, owner_a, 0);  // already ours: taken again, epoch moves
  REQUIRE(e2 == e1 + 1);
  REQUIRE_FALSE(s->acquire(owner_b, 0, long_ttl).has_value());
  REQUIRE_FALSE(peer->acquire(owner_b, 0, long_ttl).has_value());
  acquire_or_fail(*peer, owner_b, 1);  // partitions are independent

  const auto held = lease_of(*peer, 0);
  REQUIRE(held.owner == owner_a);
  REQUIRE(held.epoch == e2);
  REQUIRE(held.expires_in > 0ms);
  REQUIRE(held.expires_in <= long_ttl);

  s->release(fence{owner_b, 0, e2});  // not the holder: nothing happens
  REQUIRE(lease_of(*s, 0).owner == owner_a);
  s->release(fence{owner_a, 0, e2});
  const auto freed = lease_of(*s, 0);
  REQUIRE(freed.owner.empty());
  REQUIRE(freed.expires_in <= 0ms);

  const auto e3 = acquire_or_fail(*peer, owner_b, 0);
  REQUIRE(e3 == e2 + 1);
  REQUIRE(lease_of(*s, 0).owner == owner_b);
}

void concurrent_acquires_grant_a_partition_once(harness& h) {
  auto s = h.make_store(1);
  auto peer = h.make_peer_store();
  const auto before = lease_of(*s, 0).epoch;
  constexpr int contenders = 8;
  std::atomic<int> winners{0};
  std::atomic<int> failures{0};
  std::latch start(contenders);
  std::vector<std::thread> threads;
  for (int i = 0; i < contenders; ++i) {
    threads.emplace_back([&, i] {
      store& mine = (i % 2 == 0) ? *s : *peer;
      const auto owner = "relay-" + std::to_string(i);
      start.arrive_and_wait();
      for (int attempt = 0; attempt < 50; ++attempt) {  // a relay retries transient errors
        try {
          if (mine.acquire(owner, 0, long_ttl))
            ++winners;
          return;
        } catch (const error& e) {
          if (!e.transient())
            break;
        } catch (...) {
          break;
        }
      }
      ++failures;
    });
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(failures.load() == 0);
  REQUIRE(winners.load() == 1);
  const auto lease = lease_of(*s, 0);
  REQUIRE(lease.epoch == before + 1);
  REQUIRE(lease.owner.rfind("relay-", 0) == 0);
}

void an_expired_lease_is_taken_over(harness& h) {
  auto s = h.make_store(1);
  auto peer = h.make_peer_store();
  const auto r1 = h.enqueue_committed(msg("k", 1));
  const auto ea = acquire_or_fail(*s, owner_a, 0);
  REQUIRE_FALSE(peer->acquire(owner_b, 0, long_ttl).has_value());

  REQUIRE(s->renew(fence{owner_a, 0, ea}, short_ttl));  // renew sets now() + ttl, even shorter
  h.advance(past_short_ttl);
  REQUIRE(lease_of(*s, 0).expires_in <= 0ms);
  REQUIRE(claim_flat(*s, owner_a, 1).empty());  // an expired lease claims nothing

  const auto eb = acquire_or_fail(*peer, owner_b, 0);
  REQUIRE(eb == ea + 1);
  const std::vector<std::uint32_t> p0{0};
  const auto claimed = peer->claim(owner_b, p0, {.rows = 10});
  REQUIRE(claimed.size() == 1);
  REQUIRE(claimed[0].epoch == eb);
  REQUIRE(ids_of(claimed[0].records) == ids_of({r1}));
  REQUIRE(lease_of(*s, 0).owner == owner_b);
  REQUIRE_FALSE(s->acquire(owner_a, 0, long_ttl).has_value());
}

void an_expired_lease_not_taken_over_renews(harness& h) {
  auto s = h.make_store(1);
  const auto r1 = h.enqueue_committed(msg("k", 1));
  const auto ea = acquire_or_fail(*s, owner_a, 0, short_ttl);
  h.advance(past_short_ttl);
  REQUIRE(claim_flat(*s, owner_a, 1).empty());

  REQUIRE(s->renew(fence{owner_a, 0, ea}, long_ttl));
  const auto lease = lease_of(*s, 0);
  REQUIRE(lease.epoch == ea);
  REQUIRE(lease.expires_in > 0ms);
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({r1}));
}

void begin_batch_fails_on_an_expired_lease(harness& h) {
  auto s = h.make_store(1);
  h.enqueue_committed(msg("k", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0, short_ttl)};
  h.advance(past_short_ttl);
  // Nobody took it over, yet a batch begun now could be published past the lease.
  REQUIRE_FALSE(s->begin_batch(f, batch_marker{1, 1, 1, 0}));
  REQUIRE(s->renew(f, long_ttl));
  REQUIRE(s->begin_batch(f, batch_marker{1, 1, 1, 0}));
}

void renew_all_renews_held_leases_and_refuses_stale_ones(harness& h) {
  auto s = h.make_store(3);
  auto peer = h.make_peer_store();
  const fence f0{owner_a, 0, acquire_or_fail(*s, owner_a, 0, short_ttl)};
  const fence f2{owner_a, 2, acquire_or_fail(*s, owner_a, 2, short_ttl)};
  const fence stale{owner_a, 1, acquire_or_fail(*s, owner_a, 1, short_ttl)};
  h.advance(past_short_ttl);
  acquire_or_fail(*peer, owner_b, 1);  // taken over: a's fence on 1 is stale now
  const std::vector<fence> fences{f0, stale, f2};
  REQUIRE(s->renew_all(fences, long_ttl) == std::vector<bool>{true, false, true});
  REQUIRE(lease_of(*s, 0).expires_in > short_ttl);
  REQUIRE(lease_of(*s, 2).expires_in > short_ttl);
  REQUIRE(lease_of(*s, 1).owner == owner_b);
  REQUIRE(s->renew_all(std::vector<fence>{}, long_ttl).empty());
}

void a_stale_epoch_writes_nothing(harness& h) {
  auto s = h.make_store(1);
  auto peer = h.make_peer_store();
  const auto r1 = h.enqueue_committed(msg("k", 1));
  const auto r2 = h.enqueue_committed(msg("j", 1));
  const auto r3 = h.enqueue_committed(msg("m", 1));
  const fence stale{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  const auto claimed = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(claimed) == ids_of({r1, r2, r3}));
  REQUIRE(s->begin_batch(stale, batch_marker{claimed[0].seq, claimed[2].seq, 1, 0}));

  // A stalls past its lease; B takes the partition over and begins its own batch.
  REQUIRE(s->renew(stale, short_ttl));
  h.advance(past_short_ttl);
  const fence current{owner_b, 0, acquire_or_fail(*peer, owner_b, 0)};
  REQUIRE(current.epoch == stale.epoch + 1);
  const batch_marker b_marker{claimed[0].seq, claimed[2].seq, 2, claimed[1].seq};
  REQUIRE(peer->begin_batch(current, b_marker));

  // Every write A makes with its old epoch is refused and changes nothing.
  REQUIRE_FALSE(
      settle(*s, stale, {published(r1), retry(r2, 0ms, "stale"), dead_letter(r3, "stale")}));
  REQUIRE_FALSE(s->begin_batch(stale, batch_marker{99, 99, 7, 99}));
  REQUIRE_FALSE(s->renew(stale, long_ttl));
  s->release(stale);
  // The right epoch under the wrong owner is no fence either.
  REQUIRE_FALSE(settle(*s, fence{owner_a, 0, current.epoch}, {published(r1)}));
  REQUIRE_FALSE(s->acquire(owner_a, 0, long_ttl).has_value());

  const auto lease = lease_of(*peer, 0);
  REQUIRE(lease.owner == owner_b);
  REQUIRE(lease.epoch == current.epoch);
  REQUIRE(lease.expires_in > 0ms);
  const std::vector<std::uint32_t> p0{0};
  const auto after = peer->claim(owner_b, p0, {.rows = 10});
  REQUIRE(after.size() == 1);
  require_same_marker(after[0].marker, b_marker);
  REQUIRE(ids_of(after[0].records) == ids_of({r1, r2, r3}));
  for (const auto& r : after[0].records)
    REQUIRE(r.attempts == 0);
  REQUIRE(h.last_error(r2) == std::optional<std::string>(""));
  REQUIRE(peer->dead_letters(10).empty());

  // The current holder's writes go through.
  REQUIRE(settle(*peer, current, {published(r1)}));
  REQUIRE(peer->stats().backlog == 2);
}

void begin_batch_persists_the_marker_and_settle_resets_starts(harness& h) {
  auto s = h.make_store(1);
  const auto r1 = h.enqueue_committed(msg("k", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  const auto first = claim_flat(*s, owner_a, 1);
  REQUIRE(first.size() == 1);
  require_same_marker(marker_via_claim(*s, owner_a), batch_marker{});

  const batch_marker m{first[0].seq, first[0].seq, 3, first[0].seq};
  REQUIRE(s->begin_batch(f, m));
  require_same_marker(marker_via_claim(*s, owner_a), m);

  REQUIRE(settle(*s, f, {published(r1)}));
  h.enqueue_committed(msg("k", 2));
  const auto reset = marker_via_claim(*s, owner_a);
  REQUIRE(reset.starts == 0);
  REQUIRE(reset.suspect_through == m.suspect_through);

  // The marker survives a release and a new acquire (a crash-looping batch is remembered).
  const auto second = claim_flat(*s, owner_a, 1);
  const batch_marker m2{second[0].seq, second[0].seq, 1, m.suspect_through};
  REQUIRE(s->begin_batch(f, m2));
  s->release(f);
  const fence f2{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  require_same_marker(marker_via_claim(*s, owner_a), m2);

  // Settling nothing still ends the batch.
  REQUIRE(s->settle(f2, std::span<const outcome>{}));
  REQUIRE(marker_via_claim(*s, owner_a).starts == 0);
}

void retry_counts_attempts_and_records_the_last_error(harness& h) {
  auto s = h.make_store(1);
  const auto r = h.enqueue_committed(msg("k", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(claim_flat(*s, owner_a, 1).at(0).attempts == 0);
  REQUIRE(h.last_error(r) == std::optional<std::string>(""));

  REQUIRE(settle(*s, f, {retry(r, 0ms, "broker unavailable")}));
  REQUIRE(claim_flat(*s, owner_a, 1).at(0).attempts == 1);
  REQUIRE(h.last_error(r) == std::optional<std::string>("broker unavailable"));

  REQUIRE(settle(*s, f, {retry(r, 0ms, "timed out")}));
  REQUIRE(claim_flat(*s, owner_a, 1).at(0).attempts == 2);
  REQUIRE(h.last_error(r) == std::optional<std::string>("timed out"));
  REQUIRE(s->stats().backlog == 1);
}

void settle_applies_mixed_outcomes(harness& h) {
  auto s = h.make_store(1);
  const auto r1 = h.enqueue_committed(msg("k", 1));
  const auto r2 = h.enqueue_committed(msg("j", 1));
  const auto r3 = h.enqueue_committed(msg("m", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(claim_flat(*s, owner_a, 1).size() == 3);

  REQUIRE(settle(*s, f, {published(r1), retry(r2, 0ms, "later"), dead_letter(r3, "bad")}));
  const auto left = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(left) == ids_of({r2}));
  REQUIRE(left[0].attempts == 1);
  const auto dead = s->dead_letters(10);
  REQUIRE(dead.size() == 1);
  REQUIRE(dead[0].record.msg.id == r3);
  REQUIRE(dead[0].reason == "bad");
  REQUIRE_FALSE(h.last_error(r1).has_value());

  // An outcome for a row already gone is harmless.
  REQUIRE(settle(*s, f, {published(r1)}));
  const auto st = s->stats();
  REQUIRE(st.backlog == 1);
  REQUIRE(st.dead_letters == 1);
}

void dead_letter_releases_the_key_and_requeue_appends(harness& h) {
  auto s = h.make_store(1);
  const auto k1 = h.enqueue_committed(msg("k", 1));
  const auto k2 = h.enqueue_committed(msg("k", 2));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  const auto first = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(first) == ids_of({k1, k2}));
  const auto k1_seq = first[0].seq;

  REQUIRE(settle(*s, f, {dead_letter(k1, "poison")}));
  REQUIRE(ids_of(claim_flat(*s, owner_a, 1)) == ids_of({k2}));  // the key is released
  const auto dead = s->dead_letters(10);
  REQUIRE(dead.size() == 1);
  REQUIRE(dead[0].record.msg.id == k1);
  REQUIRE(dead[0].record.msg.aggregate_id == "k");
  REQUIRE(dead[0].record.msg.type == "Event1");
  require_same_json(dead[0].record.msg.payload, msg("k", 1).payload);
  REQUIRE(dead[0].record.seq == k1_seq);
  REQUIRE(dead[0].record.attempts == 1);
  REQUIRE(dead[0].reason == "poison");
  REQUIRE(dead[0].failed_at.time_since_epoch().count() > 0);

  const auto k3 = h.enqueue_committed(msg("k", 3));
  const std::vector<message_id> requeue{k1};
  REQUIRE(s->requeue_dead_letters(requeue) == 1);
  REQUIRE(s->dead_letters(10).empty());
  const std::vector<message_id> unknown{message_id::generate()};
  REQUIRE(s->requeue_dead_letters(unknown) == 0);

  // Requeued k1 is appended: it goes behind k2 and k3, which were written before the requeue.
  const auto run = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(run) == ids_of({k2, k3, k1}));
  REQUIRE(run[2].seq > run[1].seq);
  REQUIRE(run[2].attempts == 0);
  REQUIRE(settle(*s, f, {published(k2), published(k3)}));
  const auto back = claim_flat(*s, owner_a, 1);
  REQUIRE(ids_of(back) == ids_of({k1}));
  REQUIRE(back[0].seq > k1_seq);
}

void dead_letters_list_oldest_first_and_purge(harness& h) {
  auto s = h.make_store(1);
  const auto a = h.enqueue_committed(msg("a", 1));
  const auto b = h.enqueue_committed(msg("b", 1));
  const auto c = h.enqueue_committed(msg("c", 1));
  const fence f{owner_a, 0, acquire_or_fail(*s, owner_a, 0)};
  REQUIRE(claim_flat(*s, owner_a, 1).size() == 3);
  REQUIRE(settle(*s, f, {dead_letter(a, "first")}));
  h.advance(5ms);
  REQUIRE(settle(*s, f, {dead_letter(b, "second")}));
  h.advance(5ms);
  REQUIRE(settle(*s, f, {dead_letter(c, "third")}));

  REQUIRE(dead_ids(*s, 2) == ids_of({a, b}));
  REQUIRE(dead_ids(*s) == ids_of({a, b, c}));

  const std::vector<message_id> just_b{b};
  REQUIRE(s->purge_dead_letters(just_b) == 1);
  REQUIRE(s->purge_dead_letters(just_b) == 0);
  REQUIRE(dead_ids(*s) == ids_of({a, c}));

  // Requeue with no ids moves them all.
  REQUIRE(s->requeue_dead_letters({}) == 2);
  REQUIRE(s->dead_letters(10).empty());
  const auto back = ids_of(claim_flat(*s, owner_a, 1));
  REQUIRE(std::set<std::string>(back.begin(), back.end()) ==
          std::set<std::string>{a.to_string(), c.to_string()});

  // Purge with no ids deletes them all.
  REQUIRE(settle(*s, f, {dead_letter(a, "again"), dead_letter(c, "again")}));
  REQUIRE(s->purge_dead_letters({}) == 2);
  REQUIRE(s->dead_letters(10).empty());
  const auto st = s->stats();
  REQUIRE(st.dead_letters == 0);
  REQUIRE(st.backlog == 0);
}

void stats_report_the_outbox(harness& h) {
  constexpr std::uint32_t n = 4;
  auto s = h.make_store(n);
  const auto empty = s->stats();
  REQUIRE(empty.backlog == 0);
  REQUIRE_FALSE(empty.oldest_age.has_value());
  REQUIRE(empty.dead_letters == 0);
  REQUIRE(empty.live_owners == 0);
  REQUIRE(empty.partitions == n);
  REQUIRE(s->partition_count() == n);

  const auto first = h.enqueue_committed(msg("a", 1));
  h.enqueue_committed(msg("b", 1));
  h.enqueue_committed(msg("c", 1));
  h.advance(past_short_ttl);
  s->heartbeat(owner_a, long_ttl);
  const auto busy = s->stats();
  REQUIRE(busy.backlog == 3);
  REQUIRE(busy.oldest_age.has_value());
  REQUIRE(*busy.oldest_age >= past_short_ttl);
  REQUIRE(busy.live_owners == 1);

  const auto p = partition_of("a", n);
  const fence f{owner_a, p, acquire_or_fail(*s, owner_a, p)};
  REQUIRE(settle(*s, f, {dead_letter(first, "bad")}));
  const auto after = s->stats();
  REQUIRE(after.backlog == 2);
  REQUIRE(after.dead_letters == 1);
  REQUIRE(after.partitions == n);
}

void membership_follows_heartbeats_expiry_and_leave(harness& h) {
  auto s = h.make_store(1);
  auto peer = h.make_peer_store();
  s->heartbeat("relay-b", long_ttl);
  peer->heartbeat("relay-a", long_ttl);
  s->heartbeat("relay-c", short_ttl);
  REQUIRE(s->live_owners() == std::vector<std::string>{"relay-a", "relay-b", "relay-c"});
  REQUIRE(peer->live_owners() == std::vector<std::string>{"relay-a", "relay-b", "relay-c"});

  h.advance(past_short_ttl);
  REQUIRE(s->live_owners() == std::vector<std::string>{"relay-a", "relay-b"});
  s->heartbeat("relay-c", long_ttl);  // a late heartbeat brings it back
  REQUIRE(s->live_owners() == std::vector<std::string>{"relay-a", "relay-b", "relay-c"});

  peer->leave("relay-a");
  s->leave("relay-unknown");
  REQUIRE(s->live_owners() == std::vector<std::string>{"relay-b", "relay-c"});
  REQUIRE(s->stats().live_owners == 2);
}

void headers_and_payload_round_trip(harness& h) {
  constexpr std::uint32_t n = 4;
  auto s = h.make_store(n);
  const auto given = message_id::generate();
  const message full{
      .id = given,
      .aggregate_type = "order",
      .aggregate_id = "order-42",
      .type = "OrderPlaced",
      .payload = R"({"total":10,"items":[{"sku":"a-1","qty":2}],"note":"na\u00efve caf\u00e9 ✓",)"
                 R"("ok":true,"none":null,"ratio":2.5,"nested":{"z":[],"a":{}}})",
      .headers = {{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
                  {"x-tenant", "zürich"}},
      .deliver_after = std::nullopt};
  const message bare{.id = {},
                     .aggregate_type = "order",
                     .aggregate_id = "order-43",
                     .type = "OrderShipped",
                     .payload = "[1,\"two\",3.5]",
                     .headers = {},
                     .deliver_after = std::nullopt};
  REQUIRE(h.enqueue_committed(full) == given);
  const auto generated = h.enqueue_committed(bare);
  REQUIRE_FALSE(generated.is_nil());
  REQUIRE(generated != given);

  acquire_all(*s, owner_a, n);
  const auto records = claim_flat(*s, owner_a, n);
  REQUIRE(records.size() == 2);

  const auto& got = find_record(records, given);
  REQUIRE(got.msg.aggregate_type == full.aggregate_type);
  REQUIRE(got.msg.aggregate_id == full.aggregate_id);
  REQUIRE(got.msg.type == full.type);
  REQUIRE(got.msg.headers == full.headers);
  REQUIRE_FALSE(got.msg.deliver_after.has_value());
  require_same_json(got.msg.payload, full.payload);
  REQUIRE(got.partition == partition_of(full.aggregate_id, n));
  REQUIRE(got.attempts == 0);
  REQUIRE(got.created_at.time_since_epoch().count() > 0);

  const auto& other = find_record(records, generated);
  REQUIRE(other.msg.headers.empty());
  REQUIRE(other.msg.type == bare.type);
  require_same_json(other.msg.payload, bare.payload);
}

}  // namespace txoutbox::conformance
