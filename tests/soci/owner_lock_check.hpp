// The owner lock of two stores on one database: shared by the SOCI server tests.
#pragma once

#include <catch2/catch.hpp>

#include "txoutbox/error.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::testing {

/// Proves store::lock_owner(): while `a` holds "same", `b` (another process's store) is
/// refused with errc::owner_in_use, another name is free, and releasing lets `b` take it.
inline void owner_lock_refuses_a_second_holder_until_released(store& a, store& b) {
  auto held = a.lock_owner("same");
  REQUIRE(held != nullptr);
  try {
    auto second = b.lock_owner("same");
    FAIL("a second holder of the owner lock was accepted");
  } catch (const txoutbox::error& e) {
    REQUIRE(e.code() == errc::owner_in_use);
  }
  REQUIRE(b.lock_owner("other") != nullptr);
  held.reset();
  REQUIRE(b.lock_owner("same") != nullptr);
}

}  // namespace txoutbox::testing
