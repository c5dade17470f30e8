// Tests of the delivery checker that the broker publisher suites rely on.
#include <catch2/catch.hpp>

#include "delivery_checker.hpp"

using txoutbox::testing::delivery_checker;

namespace {

/// Two keys, three events each, written a1 a2 a3 / b1 b2 b3 (interleaved commits).
delivery_checker two_keys() {
  delivery_checker c;
  c.committed("a1", "A");
  c.committed("b1", "B");
  c.committed("a2", "A");
  c.committed("b2", "B");
  c.committed("a3", "A");
  c.committed("b3", "B");
  return c;
}

}  // namespace

TEST_CASE("delivery checker accepts every event delivered once in write order per key",
          "[delivery_checker]") {
  auto c = two_keys();
  for (const char* id : {"b1", "a1", "a2", "b2", "b3", "a3"})
    c.delivered(id);
  const auto r = c.check();
  INFO(r.describe());
  REQUIRE(r.ok());
  CHECK(r.committed == 6);
  CHECK(r.received == 6);
  CHECK(r.distinct == 6);
  CHECK(r.first_violation.empty());
}

TEST_CASE("delivery checker reports a committed event that never arrived", "[delivery_checker]") {
  auto c = two_keys();
  for (const char* id : {"a1", "a2", "a3", "b1", "b3"})
    c.delivered(id);
  const auto r = c.check();
  REQUIRE_FALSE(r.ok());
  CHECK(r.missing == 1);
  CHECK(r.order_violations == 0);
  CHECK(r.first_violation.find("b2") != std::string::npos);
  CHECK(r.describe().find("missing 1") != std::string::npos);
}

TEST_CASE("delivery checker reports an event that was never committed", "[delivery_checker]") {
  auto c = two_keys();
  for (const char* id : {"a1", "a2", "rolled-back", "a3", "b1", "b2", "b3"})
    c.delivered(id);
  const auto r = c.check();
  REQUIRE_FALSE(r.ok());
  CHECK(r.extra == 1);
  CHECK(r.missing == 0);
  CHECK(r.first_violation.find("rolled-back") != std::string::npos);
}

TEST_CASE("delivery checker reports a key whose first deliveries are out of write order",
          "[delivery_checker]") {
  auto c = two_keys();
  for (const char* id : {"a1", "a3", "a2", "b1", "b2", "b3"})
    c.delivered(id);
  const auto r = c.check();
  REQUIRE_FALSE(r.ok());
  CHECK(r.order_violations == 1);
  CHECK(r.missing == 0);
  CHECK(r.first_violation.find("key A") != std::string::npos);
  CHECK(r.first_violation.find("a2") != std::string::npos);
}

TEST_CASE("delivery checker judges order by first delivery, so a re-publish is not a violation",
          "[delivery_checker]") {
  auto c = two_keys();
  // a1 a2 delivered, then a failure re-published a1 a2 before a3: order of first delivery
  // is a1 a2 a3.
  for (const char* id : {"a1", "a2", "a1", "a2", "a3", "b1", "b2", "b3", "b3"})
    c.delivered(id);
  const auto r = c.check(3);
  INFO(r.describe());
  REQUIRE(r.ok());
  CHECK(r.duplicates == 3);
  CHECK(r.received == 9);
}

TEST_CASE("delivery checker fails when duplicates exceed the bound", "[delivery_checker]") {
  auto c = two_keys();
  for (const char* id : {"a1", "a1", "a1", "a2", "a3", "b1", "b2", "b3"})
    c.delivered(id);
  const auto within = c.check(2);
  CHECK(within.ok());
  const auto over = c.check(1);
  REQUIRE_FALSE(over.ok());
  CHECK(over.duplicates == 2);
  CHECK(over.first_violation.find("exceed the bound of 1") != std::string::npos);
}

TEST_CASE("delivery checker compares order within each stream only", "[delivery_checker]") {
  delivery_checker c;
  c.committed("x1", "K");
  c.committed("x2", "K");
  c.committed("y1", "L");
  // Consumed partition by partition: partition 1 before partition 0.
  c.delivered("y1", "p1");
  c.delivered("x1", "p0");
  c.delivered("x2", "p0");
  CHECK(c.check().ok());

  delivery_checker wrong;
  wrong.committed("x1", "K");
  wrong.committed("x2", "K");
  wrong.delivered("x2", "p0");
  wrong.delivered("x1", "p0");
  const auto r = wrong.check();
  REQUIRE_FALSE(r.ok());
  CHECK(r.first_violation.find("stream p0") != std::string::npos);
}

TEST_CASE("delivery checker treats an id committed twice as a test bug", "[delivery_checker]") {
  delivery_checker c;
  c.committed("x1", "K");
  c.committed("x1", "K");
  c.delivered("x1");
  const auto r = c.check();
  REQUIRE_FALSE(r.ok());
  CHECK(r.first_violation.find("twice") != std::string::npos);
}

TEST_CASE("delivery checker reports nothing received as everything missing", "[delivery_checker]") {
  auto c = two_keys();
  const auto r = c.check();
  REQUIRE_FALSE(r.ok());
  CHECK(r.missing == 6);
  CHECK(r.received == 0);
}
