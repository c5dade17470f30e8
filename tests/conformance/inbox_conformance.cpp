// inbox_conformance: the cases every inbox must pass, written against inbox_tx only.
#include "inbox_conformance.hpp"

#include <future>

#include "txoutbox/error.hpp"
#include "txoutbox/testing/wait.hpp"

namespace txoutbox::conformance {

namespace {

/// Runs first_time("billing", "msg-race") on a second connection while the harness's
/// transaction holds the pair uncommitted; `commit_first` decides how the first one ends.
/// Returns {first's result, second's result} after checking the second really waited.
std::pair<bool, bool> race(inbox_harness& h, bool commit_first) {
  auto first_tx = h.begin();
  const bool first = first_tx->first_time("billing", "msg-race");

  std::shared_ptr<inbox_session> second_session = h.open_session();
  auto second = std::async(std::launch::async, [second_session] {
    auto tx = second_session->begin();
    const bool result = tx->first_time("billing", "msg-race");
    tx->commit();
    return result;
  });
  // The second insert must block on the first transaction's uncommitted row.
  const bool waited =
      txoutbox::testing::wait_until([&] { return h.waits_on_a_lock(*second_session); });
  CHECK(waited);
  CHECK(second.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  if (commit_first) {
    first_tx->commit();
  } else {
    first_tx->rollback();
  }
  return {first, second.get()};
}

}  // namespace

void first_time_is_true_once_per_consumer_and_message_id(inbox_harness& h) {
  h.make_database();
  {
    auto tx = h.begin();
    CHECK(tx->first_time("billing", "m1"));
    CHECK_FALSE(tx->first_time("billing", "m1"));  // same transaction
    CHECK(tx->first_time("shipping", "m1"));       // another consumer
    CHECK(tx->first_time("billing", "m2"));
    tx->commit();
  }
  {
    auto tx = h.begin();
    CHECK_FALSE(tx->first_time("billing", "m1"));  // a later transaction
    CHECK(tx->first_time("billing", "m3"));
    tx->rollback();
  }
  {
    auto tx = h.begin();
    CHECK(tx->first_time("billing", "m3"));  // the rolled-back record is gone
    tx->commit();
  }
  CHECK(h.count_entries() == 4);
}

void keys_are_byte_exact(inbox_harness& h) {
  h.make_database();
  {
    auto tx = h.begin();
    REQUIRE(tx->first_time("billing", "m-1"));
    REQUIRE_FALSE(tx->first_time("billing", "m-1"));
    // Neither case nor a trailing blank makes a duplicate.
    REQUIRE(tx->first_time("billing", "M-1"));
    REQUIRE(tx->first_time("billing", "m-1 "));
    REQUIRE(tx->first_time("Billing", "m-1"));
    tx->commit();
  }
  REQUIRE(h.count_entries() == 4);
  auto tx = h.begin();
  REQUIRE_FALSE(tx->first_time("billing", "m-1"));
  REQUIRE_FALSE(tx->first_time("billing", "M-1"));
  tx->commit();
}

void bad_consumer_or_message_id_is_refused_before_any_sql(inbox_harness& h) {
  h.make_database();
  auto tx = h.begin();
  auto field_of = [&](std::string_view consumer, std::string_view id) -> std::string {
    try {
      (void)tx->first_time(consumer, id);
    } catch (const usage_error& e) {
      return e.field();
    }
    return "accepted";
  };
  CHECK(field_of("", "m") == "consumer");
  CHECK(field_of("c", "") == "message_id");
  CHECK(field_of("c", std::string_view("a\0b", 3)) == "message_id");
  CHECK(field_of("bad\xff", "m") == "consumer");
  CHECK_THROWS_AS(h.make_inbox_with_schema("bad schema"), usage_error);
  // The transaction is untouched and still usable.
  CHECK(tx->first_time("c", "m"));
  tx->commit();
  tx.reset();
  CHECK(h.count_entries() == 1);
}

void an_id_whose_transaction_rolled_back_is_forgotten(inbox_harness& h) {
  h.make_database();
  {
    auto tx = h.begin();
    REQUIRE(tx->first_time("billing", "m-1"));
    tx->rollback();
  }
  {
    auto tx = h.begin();
    REQUIRE(tx->first_time("billing", "m-1"));
    tx->commit();
  }
  REQUIRE(h.count_entries() == 1);
}

void a_concurrent_duplicate_waits_and_loses_when_the_first_commits(inbox_harness& h) {
  h.make_database();
  const auto [first, second] = race(h, true);
  CHECK(first);
  CHECK_FALSE(second);
  CHECK(h.count_entries() == 1);
}

void a_concurrent_duplicate_waits_and_wins_when_the_first_rolls_back(inbox_harness& h) {
  h.make_database();
  const auto [first, second] = race(h, false);
  CHECK(first);
  CHECK(second);
  CHECK(h.count_entries() == 1);
}

void purge_deletes_only_old_entries_at_most_limit_at_a_time(inbox_harness& h) {
  h.make_database();
  {
    auto tx = h.begin();
    for (int i = 0; i < 8; ++i)
      (void)tx->first_time("c", "m" + std::to_string(i));
    tx->commit();
  }
  // Five entries processed two days ago, three just now.
  h.age_entries({"m0", "m1", "m2", "m3", "m4"}, std::chrono::hours(48));
  std::vector<std::size_t> purged;
  for (int round = 0; round < 4; ++round) {
    auto tx = h.begin();
    purged.push_back(tx->purge_older_than(std::chrono::hours(24), 2));
    tx->commit();
  }
  CHECK(purged == std::vector<std::size_t>{2, 2, 1, 0});
  const auto left = h.message_ids();
  REQUIRE(left.size() == 3);
  CHECK(left[0] == "m5");
  {
    auto tx = h.begin();
    CHECK(tx->purge_older_than(std::chrono::seconds(0), std::nullopt) == 3);
    tx->rollback();
  }
  CHECK(h.count_entries() == 3);
}

void purge_works_through_a_backlog_in_bounded_steps(inbox_harness& h) {
  h.make_database();
  {
    auto tx = h.begin();
    for (int i = 0; i < 5; ++i)
      REQUIRE(tx->first_time("c", "old-" + std::to_string(i)));
    tx->commit();
  }
  h.age_entries({}, std::chrono::hours(2));
  {
    auto tx = h.begin();
    REQUIRE(tx->first_time("c", "new"));
    tx->commit();
  }
  {
    auto tx = h.begin();
    REQUIRE(tx->purge_older_than(std::chrono::hours(1), 3) == 3);
    REQUIRE(tx->purge_older_than(std::chrono::hours(1), 3) == 2);
    REQUIRE(tx->purge_older_than(std::chrono::hours(1), 3) == 0);
    tx->commit();
  }
  REQUIRE(h.count_entries() == 1);

  // A second backlog, one entry at a time, then the rest.
  {
    auto tx = h.begin();
    REQUIRE(tx->first_time("c", "later-1"));
    REQUIRE(tx->first_time("c", "later-2"));
    tx->commit();
  }
  h.age_entries({"later-1", "later-2"}, std::chrono::hours(2));
  {
    auto tx = h.begin();
    REQUIRE(tx->purge_older_than(std::chrono::hours(1), 1) == 1);
    REQUIRE(tx->purge_older_than(std::chrono::hours(1), 5) == 1);
    tx->commit();
  }
  REQUIRE(h.message_ids() == std::vector<std::string>{"new"});
}

}  // namespace txoutbox::conformance
