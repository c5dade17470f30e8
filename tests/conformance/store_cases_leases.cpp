// store conformance, leases and membership: acquire, expiry, take-over, renewal, epoch fencing,
// heartbeats.
#include "store_case_support.hpp"

#include <atomic>
#include <latch>
#include <thread>

#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

using namespace support;
using namespace std::chrono_literals;

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

}  // namespace txoutbox::conformance
