// The writer and inbox conformance harnesses for SOCI, one for all three dialects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <soci/soci.h>

#include "inbox_conformance.hpp"
#include "writer_conformance.hpp"

namespace txoutbox::testing::soci_conformance {

enum class dialect { sqlite, mysql, postgresql };

/// A fresh migrated database the harnesses run on: a temporary SQLite file, or a MariaDB
/// database / PostgreSQL schema on the fixture's server. Dropped on destruction.
struct database {
  virtual ~database() = default;
  /// A new session with no transaction open.
  virtual std::unique_ptr<::soci::session> open() const = 0;
  /// store_options::url and ::schema for a store on it.
  virtual std::string url() const = 0;
  virtual std::string schema() const = 0;
  /// The table `t` of this database, quoted for SQL text.
  virtual std::string table(std::string_view t) const = 0;
};

/// Makes a fresh database migrated with `partitions`.
using database_factory = std::function<std::unique_ptr<database>(std::uint32_t partitions)>;

/// The writer harness on `d`; `name` is the backend's short name ("sqlite", ...).
std::unique_ptr<conformance::writer_harness> make_writer_harness(dialect d, std::string name,
                                                                 database_factory make_db);
/// The inbox harness on `d`.
std::unique_ptr<conformance::inbox_harness> make_inbox_harness(dialect d, std::string name,
                                                               database_factory make_db);

}  // namespace txoutbox::testing::soci_conformance
