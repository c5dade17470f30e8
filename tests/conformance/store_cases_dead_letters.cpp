// store conformance, dead letters: the key they release, requeue, listing and purge.
#include "store_case_support.hpp"

#include <set>

#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

using namespace support;
using namespace std::chrono_literals;

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

}  // namespace txoutbox::conformance
