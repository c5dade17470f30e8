// Rows written by other programs with plain SQL, checked on every SOCI dialect.
#include "foreign_rows.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <vector>

#include "txoutbox/message_id.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/testing/memory_publisher.hpp"
#include "txoutbox/testing/wait.hpp"

namespace txoutbox::testing::foreign {
namespace {

std::string upper(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return text;
}

void insert(const raw_outbox& db, const std::string& id, const std::string& key, int n) {
  db.exec("INSERT INTO " + db.outbox +
          " (id, aggregatetype, aggregateid, type, payload) VALUES ('" + id + "', 'order', '" +
          key + "', 'OrderPlaced', '{\"n\":" + std::to_string(n) + "}')");
}

std::set<std::string> reasons_of_nil_ids(store& s) {
  std::set<std::string> out;
  for (const auto& d : s.dead_letters(100)) {
    if (d.record.msg.id.is_nil())
      out.insert(d.reason);
  }
  return out;
}

}  // namespace

void relay_publishes_upper_case_ids_and_sets_aside_non_uuid_ids(
    const std::shared_ptr<txoutbox::store>& store, const raw_outbox& db) {
  const auto first = message_id::generate();
  const auto shouted = message_id::generate();
  const auto behind_bad = message_id::generate();
  const auto last = message_id::generate();
  insert(db, first.to_string(), "k1", 0);
  insert(db, upper(shouted.to_string()), "k1", 1);
  if (!db.typed_ids) {
    insert(db, "order-42", "k2", 0);
    insert(db, "bad\tid", "k3", 0);
  }
  insert(db, behind_bad.to_string(), "k2", 1);
  insert(db, last.to_string(), "k4", 0);
  const std::size_t dead = db.typed_ids ? 0 : 2;

  auto publisher = std::make_shared<txoutbox::testing::memory_publisher>();
  txoutbox::relay relay(
      store, publisher,
      relay_options{
          .threads = 1, .batch_size = 10, .poll_interval = std::chrono::milliseconds(20)});
  relay.start();
  // Liveness only: today's failure modes never get here (a claim that always throws, an
  // upper-case row that is never deleted).
  const bool drained = txoutbox::testing::wait_until(
      [&] {
        const auto st = store->stats();
        return st.backlog == 0 && st.dead_letters == static_cast<std::int64_t>(dead);
      },
      std::chrono::seconds(30));
  REQUIRE(relay.stop(std::chrono::seconds(10)));
  REQUIRE(drained);

  std::map<std::string, int> published;
  for (const auto& r : publisher->records())
    ++published[r.msg.id.to_string()];
  const std::map<std::string, int> once = {{first.to_string(), 1},
                                           {shouted.to_string(), 1},
                                           {behind_bad.to_string(), 1},
                                           {last.to_string(), 1}};
  REQUIRE(published == once);
  REQUIRE(relay.stats().errors == 0);
  if (!db.typed_ids) {
    REQUIRE(reasons_of_nil_ids(*store) ==
            std::set<std::string>{"id is not a UUID: 'order-42'", "id is not a UUID: 'bad?id'"});
  }
}

void foreign_dead_letters_list_requeue_and_purge(txoutbox::store& store, const raw_outbox& db) {
  const auto shouted = message_id::generate();
  insert(db, upper(shouted.to_string()), "k1", 0);
  if (!db.typed_ids)
    insert(db, "not-a-uuid", "k2", 0);
  const auto epoch = store.acquire("owner", 0, std::chrono::seconds(30));
  REQUIRE(epoch.has_value());
  const fence f{.owner = "owner", .partition = 0, .epoch = *epoch};
  const std::uint32_t parts[] = {0};

  auto claimed = store.claim("owner", parts, {.rows = 10});
  REQUIRE(claimed.size() == 1);
  REQUIRE(claimed[0].records.size() == 1);
  REQUIRE(claimed[0].records[0].msg.id == shouted);
  const outcome to_dead[] = {
      {.id = shouted, .what = outcome::action::dead_letter, .reason = "refused"}};
  REQUIRE(store.settle(f, to_dead));
  REQUIRE(store.stats().backlog == 0);

  const auto listed = store.dead_letters(10);
  REQUIRE(listed.size() == (db.typed_ids ? 1u : 2u));
  REQUIRE(std::count_if(listed.begin(), listed.end(), [&](const dead_letter_record& d) {
            return d.record.msg.id == shouted && d.reason == "refused";
          }) == 1);
  if (!db.typed_ids) {
    REQUIRE(reasons_of_nil_ids(store) == std::set<std::string>{"id is not a UUID: 'not-a-uuid'"});
  }

  const message_id wanted[] = {shouted};
  REQUIRE(store.requeue_dead_letters(wanted) == 1);
  claimed = store.claim("owner", parts, {.rows = 10});
  REQUIRE(claimed.size() == 1);
  REQUIRE(claimed[0].records.size() == 1);
  REQUIRE(claimed[0].records[0].msg.id == shouted);
  const outcome done[] = {{.id = shouted, .what = outcome::action::published}};
  REQUIRE(store.settle(f, done));
  REQUIRE(store.stats().backlog == 0);

  // Requeueing everything leaves the non-UUID row where it is; purging everything drops it.
  REQUIRE(store.requeue_dead_letters({}) == 0);
  REQUIRE(store.stats().backlog == 0);
  REQUIRE(store.purge_dead_letters({}) == (db.typed_ids ? 0u : 1u));
  REQUIRE(store.dead_letters(10).empty());
}

}  // namespace txoutbox::testing::foreign
