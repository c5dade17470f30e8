// Shared helpers for the SOCI-SQLite tests.
#include "sqlite_support.hpp"

#include <soci/sqlite3/soci-sqlite3.h>

#include <atomic>
#include <random>

#include "txoutbox/soci/migrate.hpp"

namespace txoutbox::testing::sqlite {

temp_db::temp_db(std::uint32_t partitions, bool migrate) {
  static std::atomic<int> counter{0};
  std::random_device rd;
  dir = std::filesystem::temp_directory_path() /
        ("txoutbox-soci-" + std::to_string(rd()) + "-" + std::to_string(counter++));
  std::filesystem::create_directories(dir);
  file = dir / "outbox.db";
  if (migrate) {
    auto s = open();
    txoutbox::soci::migrate(
        *s, txoutbox::soci::migrate_options{.schema = {}, .partitions = partitions});
  }
}

temp_db::~temp_db() {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

std::string temp_db::url() const {
  return "sqlite:" + file.string();
}

std::unique_ptr<::soci::session> temp_db::open() const {
  return std::make_unique<::soci::session>(::soci::sqlite3, "db=" + file.string() + " timeout=10");
}

long long temp_db::count(std::string_view table) const {
  auto s = open();
  long long n = 0;
  *s << "SELECT count(*) FROM " + std::string(table), ::soci::into(n);
  return n;
}

}  // namespace txoutbox::testing::sqlite
