// PostgreSQL's SQLSTATE table, shared by the libpqxx and SOCI drivers.
#include <catch2/catch.hpp>

#include "postgres/sqlstate.hpp"

using txoutbox::errc;
using txoutbox::postgres::detail::classify_sqlstate;

TEST_CASE("a lost or refused PostgreSQL session is transient and asks for a new connection",
          "[sqlstate]") {
  for (const char* state :
       {"08000", "08003", "08006", "57P01", "57P02", "57P03", "25P03", "53300"}) {
    INFO(state);
    const auto c = classify_sqlstate(state);
    CHECK(c.code == errc::connection_failed);
    CHECK(c.transient);
    CHECK(c.session_lost);
  }
}

TEST_CASE("serialization failures, deadlocks and timeouts are transient on a live session",
          "[sqlstate]") {
  for (const char* state : {"40001", "40P01", "55P03", "57014"}) {
    INFO(state);
    const auto c = classify_sqlstate(state);
    CHECK(c.code == errc::timeout);
    CHECK(c.transient);
    CHECK_FALSE(c.session_lost);
  }
  const auto disk = classify_sqlstate("53100");
  CHECK(disk.code == errc::io_failure);
  CHECK(disk.transient);
}

TEST_CASE("a missing table, schema, column or function means the schema is not migrated",
          "[sqlstate]") {
  for (const char* state : {"42P01", "3F000", "42703", "42883"}) {
    INFO(state);
    const auto c = classify_sqlstate(state);
    CHECK(c.code == errc::not_migrated);
    CHECK_FALSE(c.transient);
  }
}

TEST_CASE("failed authentication and unknown states are permanent", "[sqlstate]") {
  CHECK(classify_sqlstate("28P01").code == errc::connection_failed);
  CHECK_FALSE(classify_sqlstate("28P01").transient);
  for (const char* state : {"23505", "22P02", "42601", "", "0"}) {
    INFO(state);
    const auto c = classify_sqlstate(state);
    CHECK(c.code == errc::internal);
    CHECK_FALSE(c.transient);
    CHECK_FALSE(c.session_lost);
  }
}
