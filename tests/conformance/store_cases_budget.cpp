// store conformance, budgets: the claim-wide budgets (claim_limits::max_bytes and max_rows).
#include "store_case_support.hpp"

#include <algorithm>
#include <set>

#include "txoutbox/partition.hpp"

namespace txoutbox::conformance {

using namespace support;
using namespace std::chrono_literals;

namespace {

const std::string& owner = owner_a;

/// A message whose payload is about `bytes` bytes in every backend's stored text
/// ({"p":"aaa..."}; PostgreSQL's jsonb text adds one space, headers add "{}").
message sized(const std::string& key, std::size_t bytes) {
  return message{.id = {},
                 .aggregate_type = "order",
                 .aggregate_id = key,
                 .type = "Sized",
                 .payload = R"({"p":")" + std::string(bytes - 8, 'a') + R"("})",
                 .headers = {},
                 .deliver_after = std::nullopt};
}

/// The claimed ids flattened in result order, and the partitions in result order.
struct flat {
  std::vector<std::string> ids;
  std::vector<std::uint32_t> partitions;
  bool cut = false;
};

flat flatten(const std::vector<claimed_partition>& claimed) {
  flat f;
  for (std::size_t i = 0; i < claimed.size(); ++i) {
    f.partitions.push_back(claimed[i].partition);
    for (const auto& r : claimed[i].records)
      f.ids.push_back(r.msg.id.to_string());
    // Only the last partition of a claim may carry the cut flag.
    if (i + 1 < claimed.size())
      REQUIRE_FALSE(claimed[i].cut);
    else
      f.cut = claimed[i].cut;
  }
  return f;
}

flat claim(store& s, const std::vector<std::uint32_t>& parts, const claim_limits& limits) {
  return flatten(s.claim(owner, parts, limits));
}

std::vector<std::string> first(const std::vector<std::string>& v, std::size_t n) {
  return std::vector<std::string>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n));
}

}  // namespace

void claim_keeps_within_the_byte_budget(harness& h) {
  constexpr std::uint32_t n = 2;
  auto s = h.make_store(n);
  const auto a0 = h.enqueue_committed(sized(key_in(0, n, "a", 0), 1000));
  const auto b0 = h.enqueue_committed(sized(key_in(1, n, "b", 0), 1000));
  const auto a1 = h.enqueue_committed(sized(key_in(0, n, "a", 1), 1000));
  const auto b1 = h.enqueue_committed(sized(key_in(1, n, "b", 1), 1000));
  const auto a2 = h.enqueue_committed(sized(key_in(0, n, "a", 0), 1000));
  const auto b2 = h.enqueue_committed(sized(key_in(1, n, "b", 0), 1000));
  acquire_all(*s, owner, n);

  // Two rows (about 2,010 bytes) fit in 2,500, three do not: spent in the order given.
  const auto cut01 = claim(*s, {0, 1}, {.rows = 10, .max_bytes = 2500});
  CHECK(cut01.ids == ids_of({a0, a1}));
  CHECK(cut01.partitions == std::vector<std::uint32_t>{0});
  CHECK(cut01.cut);
  const auto cut10 = claim(*s, {1, 0}, {.rows = 10, .max_bytes = 2500});
  CHECK(cut10.ids == ids_of({b0, b1}));
  CHECK(cut10.cut);
  // Four rows: the first partition whole, the second's first row.
  const auto four = claim(*s, {1, 0}, {.rows = 10, .max_bytes = 4100});
  CHECK(four.ids == ids_of({b0, b1, b2, a0}));
  CHECK(four.partitions == (std::vector<std::uint32_t>{1, 0}));
  CHECK(four.cut);
  // A budget that holds everything cuts nothing.
  const auto all = claim(*s, {0, 1}, {.rows = 10, .max_bytes = 7000});
  CHECK(all.ids == ids_of({a0, a1, a2, b0, b1, b2}));
  CHECK_FALSE(all.cut);
  // The default budget (64 MiB) is far above these rows.
  CHECK(claim(*s, {0, 1}, {.rows = 10}).ids.size() == 6);
}

void one_oversized_row_is_returned_alone(harness& h) {
  auto s = h.make_store(1);
  const auto big = h.enqueue_committed(sized("k", 5000));
  const auto small = h.enqueue_committed(sized("k", 100));
  const auto other = h.enqueue_committed(sized("j", 100));
  acquire_all(*s, owner, 1);

  // The head alone is over the budget: it comes anyway, alone, so it cannot jam the relay.
  const auto alone = claim(*s, {0}, {.rows = 10, .max_bytes = 1000});
  CHECK(alone.ids == ids_of({big}));
  CHECK(alone.cut);
  // A budget that is 1 byte: still the first row.
  CHECK(claim(*s, {0}, {.rows = 10, .max_bytes = 1}).ids == ids_of({big}));
  // Behind a small first row, the big one is cut and the claim stops there (whole rows,
  // a prefix: the small row of another key behind it is not taken instead).
  const fence f{owner, 0, s->leases().at(0).epoch};
  REQUIRE(s->settle(f, std::vector<outcome>{outcome{.id = big}}));
  const auto next = claim(*s, {0}, {.rows = 10, .max_bytes = 1000});
  CHECK(next.ids == ids_of({small, other}));
  CHECK_FALSE(next.cut);
}

void budget_cuts_leave_a_seq_prefix_per_partition(harness& h) {
  constexpr std::uint32_t n = 3;
  auto s = h.make_store(n);
  // Per partition a hot key and a few quiet ones, interleaved, of mixed sizes.
  for (int i = 0; i < 5; ++i) {
    for (std::uint32_t p = 0; p < n; ++p) {
      h.enqueue_committed(sized(key_in(p, n, "hot"), 100 + 50 * static_cast<std::size_t>(i)));
      h.enqueue_committed(sized(key_in(p, n, "quiet", i), 300));
    }
  }
  acquire_all(*s, owner, n);
  const std::vector<std::uint32_t> order{2, 0, 1};
  const auto uncut = claim(*s, order, {.rows = 6, .max_bytes = claim_limits::unlimited});
  REQUIRE(uncut.ids.size() == 18);
  CHECK_FALSE(uncut.cut);
  // Every cut, by rows or by bytes, is a prefix of the uncut result in (order, seq): so
  // each partition keeps a seq prefix of its share, and each key a prefix of its run.
  for (std::size_t rows = 1; rows < uncut.ids.size(); ++rows) {
    INFO("max_rows " << rows);
    const auto got = claim(*s, order, {.rows = 6, .max_rows = rows});
    CHECK(got.ids == first(uncut.ids, rows));
    CHECK(got.cut);
  }
  std::size_t last = 0;
  for (std::size_t bytes = 200; bytes < 8000; bytes += 350) {
    INFO("max_bytes " << bytes);
    const auto got = claim(*s, order, {.rows = 6, .max_bytes = bytes});
    REQUIRE(!got.ids.empty());
    CHECK(got.ids == first(uncut.ids, got.ids.size()));
    CHECK(got.ids.size() >= last);  // a larger budget never returns less
    last = got.ids.size();
  }
}

void the_total_rows_cap_spans_partitions(harness& h) {
  constexpr std::uint32_t n = 3;
  auto s = h.make_store(n);
  std::map<std::uint32_t, std::vector<message_id>> ids;
  for (int i = 0; i < 4; ++i) {
    for (std::uint32_t p = 0; p < n; ++p)
      ids[p].push_back(h.enqueue_committed(sized(key_in(p, n, "k", i), 50)));
  }
  acquire_all(*s, owner, n);
  // 3 rows per partition, 5 in all: the first partition's 3, the second's first 2.
  const auto claimed =
      s->claim(owner, std::vector<std::uint32_t>{1, 2, 0}, {.rows = 3, .max_rows = 5});
  REQUIRE(claimed.size() == 2);
  CHECK(claimed[0].partition == 1);
  CHECK(claimed[0].records.size() == 3);
  CHECK_FALSE(claimed[0].cut);
  CHECK(claimed[1].partition == 2);
  REQUIRE(claimed[1].records.size() == 2);
  CHECK(claimed[1].records[0].msg.id == ids[2][0]);
  CHECK(claimed[1].records[1].msg.id == ids[2][1]);
  CHECK(claimed[1].cut);
  // Exactly the rows there are: not cut.
  CHECK_FALSE(claim(*s, {0, 1, 2}, {.rows = 3, .max_rows = 9}).cut);
  CHECK(claim(*s, {0, 1, 2}, {.rows = 3, .max_rows = 9}).ids.size() == 9);
  // A partition listed twice counts once.
  CHECK(claim(*s, {0, 0, 1}, {.rows = 4}).ids.size() == 8);
}

void rows_cut_this_round_are_claimed_next_round(harness& h) {
  constexpr std::uint32_t n = 4;
  auto s = h.make_store(n);
  std::set<std::string> written;
  for (int i = 0; i < 6; ++i) {
    for (std::uint32_t p = 0; p < n; ++p) {
      written.insert(h.enqueue_committed(sized(key_in(p, n, "k", i % 2), 200)).to_string());
      written.insert(h.enqueue_committed(sized(key_in(p, n, "k", 2), 200)).to_string());
    }
  }
  const auto epochs = acquire_all(*s, owner, n);
  // Rounds as a relay runs them: claim under a tight budget, publish what came, start
  // the next round after the partition the cut stopped at.
  std::vector<std::uint32_t> order{0, 1, 2, 3};
  std::vector<std::string> published;
  std::map<std::string, std::int64_t> last_seq_of_key;
  for (int round = 0; round < 100; ++round) {
    const auto claimed = s->claim(owner, order, {.rows = 5, .max_bytes = 1500, .max_rows = 7});
    if (claimed.empty())
      break;
    std::size_t rows = 0;
    for (const auto& cp : claimed) {
      std::vector<outcome> done;
      for (const auto& r : cp.records) {
        auto& last = last_seq_of_key[r.msg.aggregate_id];
        CHECK(r.seq > last);  // every key's rows across rounds in seq order
        last = r.seq;
        published.push_back(r.msg.id.to_string());
        done.push_back(outcome{.id = r.msg.id});
        ++rows;
      }
      REQUIRE(s->settle(fence{owner, cp.partition, epochs.at(cp.partition)}, done));
    }
    CHECK(rows <= 7);
    if (claimed.back().cut) {
      const auto at = std::find(order.begin(), order.end(), claimed.back().partition);
      std::rotate(order.begin(), at + 1, order.end());
    }
  }
  CHECK(published.size() == written.size());
  CHECK(std::set<std::string>(published.begin(), published.end()) == written);
  CHECK(s->stats().backlog == 0);
}

}  // namespace txoutbox::conformance
