// Shared helpers for the SOCI-SQLite tests: a migrated temporary database file per test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include <soci/soci.h>

#include "order_message.hpp"
#include "txoutbox/message.hpp"

namespace txoutbox::testing::sqlite {

/// A fresh directory under the system temp dir holding one database file, migrated with
/// `partitions` unless `migrate` is false; the directory is removed on destruction.
struct temp_db {
  explicit temp_db(std::uint32_t partitions = 1, bool migrate = true);
  ~temp_db();
  temp_db(const temp_db&) = delete;
  temp_db& operator=(const temp_db&) = delete;

  std::filesystem::path dir;
  std::filesystem::path file;

  /// "sqlite:<file>" for store_options::url.
  std::string url() const;
  /// A new session on the file with a 10 s busy timeout (a writer's or consumer's session).
  std::unique_ptr<::soci::session> open() const;
  /// Committed rows in `table` (seen through a new session).
  long long count(std::string_view table) const;
};

/// A valid message for `key` (order_message.hpp).
using testing::make_message;

}  // namespace txoutbox::testing::sqlite
