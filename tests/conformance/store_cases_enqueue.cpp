// store conformance, commit, rollback, commit order and the round trip of what the writer wrote.
#include "store_case_support.hpp"

#include <algorithm>
#include <set>

#include "txoutbox/error.hpp"
#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

using namespace support;
using namespace std::chrono_literals;

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
