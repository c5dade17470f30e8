// PostgreSQL writer, libpqxx only: the compile-time transaction check, NOTIFY, the writer role.
// The behaviours every backend shares are in tests/conformance/writer_conformance.cpp.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "../../src/core/migration_text.hpp"
#include "../../src/postgres/names.hpp"
#include "pg_test_support.hpp"
#include "txoutbox/postgres/writer.hpp"
#include "txoutbox/testing/servers.hpp"

namespace pg = txoutbox::testing::pg;
using txoutbox::message;
using txoutbox::postgres::writer;

namespace {

/// Counts notifications on one channel; a second "sentinel" channel marks the end of a test
/// step: notifications arrive in commit order, so once the sentinel is in, all earlier are.
struct counting_receiver : pqxx::notification_receiver {
  counting_receiver(pqxx::connection_base& conn, const std::string& channel)
      : pqxx::notification_receiver(conn, channel) {}
  void operator()(const std::string& payload, int) override {
    ++count;
    last_payload = payload;
  }
  int count = 0;
  std::string last_payload;
};

/// Commits a NOTIFY on `channel` from `conn`, then drains `listener` until it arrives.
void await_sentinel(pqxx::connection& conn, pqxx::connection& listener,
                    counting_receiver& sentinel) {
  const int before = sentinel.count;
  {
    pqxx::work tx(conn);
    tx.exec0("NOTIFY " + tx.quote_name(sentinel.channel()));
    tx.commit();
  }
  for (int i = 0; i < 60 && sentinel.count == before; ++i)
    listener.await_notification(1, 0);
  REQUIRE(sentinel.count == before + 1);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void replace_all(std::string& text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos;
       pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
}

}  // namespace

namespace {

template <class Tx>
concept can_enqueue = requires(const txoutbox::postgres::writer& w, Tx& tx,
                               const txoutbox::message& m) {
  w.enqueue(tx, m);
};

}  // namespace

TEST_CASE("the writer takes real transactions only: a nontransaction does not compile",
          "[postgres][writer]") {
  // Atomic capture: an event written through a nontransaction would commit on its own,
  // apart from the change it announces.
  STATIC_REQUIRE(can_enqueue<pqxx::work>);
  STATIC_REQUIRE(can_enqueue<pqxx::robusttransaction<>>);
  STATIC_REQUIRE(can_enqueue<pqxx::subtransaction>);
  STATIC_REQUIRE_FALSE(can_enqueue<pqxx::nontransaction>);
}

TEST_CASE("NOTIFY is delivered once per committed transaction, never on rollback or when off",
          "[postgres][writer][notify]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const auto listener = pg::connect();
  counting_receiver wakeups(*listener, txoutbox::postgres::detail::notify_channel(fx.schema));
  counting_receiver sentinel(*listener, fx.schema + "_sentinel");
  const writer with_notify(fx.writer_options(true));
  const writer without_notify(fx.writer_options(false));

  {  // Several enqueues in one transaction: one notification.
    pqxx::work tx(*fx.conn);
    with_notify.enqueue(tx, pg::make_message("n", 1));
    with_notify.enqueue(tx, pg::make_message("n", 2));
    const std::vector<message> batch{pg::make_message("n", 3), pg::make_message("m", 4)};
    with_notify.enqueue(tx, batch);
    tx.commit();
  }
  await_sentinel(*fx.conn, *listener, sentinel);
  CHECK(wakeups.count == 1);
  CHECK(wakeups.last_payload.empty());

  {  // Rolled back: nothing.
    pqxx::work tx(*fx.conn);
    with_notify.enqueue(tx, pg::make_message("n", 5));
    tx.abort();
  }
  {  // notify = false: nothing.
    pqxx::work tx(*fx.conn);
    without_notify.enqueue(tx, pg::make_message("n", 6));
    const std::vector<message> batch{pg::make_message("n", 7)};
    without_notify.enqueue(tx, batch);
    tx.commit();
  }
  await_sentinel(*fx.conn, *listener, sentinel);
  CHECK(wakeups.count == 1);

  {  // A second committed transaction: a second notification.
    pqxx::work tx(*fx.conn);
    const std::vector<message> batch{pg::make_message("n", 8)};
    with_notify.enqueue(tx, batch);
    tx.commit();
  }
  await_sentinel(*fx.conn, *listener, sentinel);
  CHECK(wakeups.count == 2);
  CHECK(fx.count_outbox() == 7);
}

TEST_CASE("the writer enqueues under the least-privilege writer role from roles.sql",
          "[postgres][writer][roles]") {
  TXOUTBOX_REQUIRE_PG();
  pg::schema_fixture fx;
  const auto suffix = txoutbox::testing::unique_name("r");
  const std::string writer_role = "w_" + suffix, relay_role = "rl_" + suffix,
                    consumer_role = "c_" + suffix;
  struct role_guard {
    pg::schema_fixture& fx;
    std::vector<std::string> roles;
    ~role_guard() {
      for (const auto& role : roles) {
        try {
          fx.exec("DROP OWNED BY \"" + role + "\"");
          fx.exec("DROP ROLE IF EXISTS \"" + role + "\"");
        } catch (...) {
        }
      }
    }
  } guard{fx, {writer_role, relay_role, consumer_role}};
  for (const auto& role : guard.roles)
    fx.exec("CREATE ROLE \"" + role + "\" NOLOGIN");

  const auto script_path = std::filesystem::path(__FILE__).parent_path() / ".." / ".." /
                           "migrations" / "postgresql" / "roles.sql";
  auto script = txoutbox::detail::render(read_file(script_path), fx.quoted(), fx.partitions);
  replace_all(script, "{{writer_role}}", "\"" + writer_role + "\"");
  replace_all(script, "{{relay_role}}", "\"" + relay_role + "\"");
  replace_all(script, "{{consumer_role}}", "\"" + consumer_role + "\"");
  REQUIRE(script.find("{{") == std::string::npos);
  for (const auto& statement : txoutbox::detail::split_statements(script))
    fx.exec(statement);

  const writer w(fx.writer_options(true));
  {
    pqxx::work tx(*fx.conn);
    tx.exec0("SET LOCAL ROLE \"" + writer_role + "\"");
    w.enqueue(tx, pg::make_message("role", 1));
    const std::vector<message> batch{pg::make_message("role", 2), pg::make_message("role", 3)};
    w.enqueue(tx, batch);
    tx.commit();
  }
  CHECK(fx.count_outbox() == 3);
  {  // The writer role really is INSERT-only: it cannot read the outbox.
    pqxx::work tx(*fx.conn);
    tx.exec0("SET LOCAL ROLE \"" + writer_role + "\"");
    CHECK_THROWS_AS(tx.exec("SELECT count(*) FROM " + fx.table("outbox")),
                    pqxx::insufficient_privilege);
  }
}
