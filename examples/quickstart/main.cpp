// Quickstart: an order service on SQLite that shows txoutbox's three promises in one run.
//
// The orders, the outbox and the consumer's inbox share one SQLite file, so no server is
// needed. In production the consumer owns its own database; its inbox table lives there,
// next to the effect it guards, so that both commit in the same transaction.
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <stdlib.h>  // mkdtemp

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <string_view>

#include "txoutbox/envelope.hpp"
#include "txoutbox/file_publisher.hpp"
#include "txoutbox/relay.hpp"
#include "txoutbox/soci/inbox.hpp"
#include "txoutbox/soci/migrate.hpp"
#include "txoutbox/soci/store.hpp"
#include "txoutbox/soci/transaction.hpp"
#include "txoutbox/soci/writer.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

struct order {
  std::string id;
  std::string customer;
  int items = 0;
  long long total_cents = 0;  // money as integer cents: no rounding surprises
};

/// Ends the run (one line on stderr, exit 1) when something the quickstart shows is not so.
void expect(bool ok, const std::string& what) {
  if (!ok)
    throw std::runtime_error("expected " + what);
}

std::string money(long long cents) {
  const long long abs = cents < 0 ? -cents : cents;
  char text[32];
  std::snprintf(text, sizeof text, "%s%lld.%02lld", cents < 0 ? "-" : "", abs / 100, abs % 100);
  return text;
}

long long count(soci::session& db, const std::string& sql) {
  long long n = 0;
  db << sql, soci::into(n);
  return n;
}

long long count(soci::session& db, const std::string& sql, const std::string& value) {
  long long n = 0;
  db << sql, soci::use(value), soci::into(n);
  return n;
}

/// The service's command handler. The order row and its event commit together or not at
/// all: the writer only adds an INSERT to the transaction the service already has open.
void place_order(soci::session& db, const txoutbox::soci::writer& outbox, const order& o) {
  txoutbox::soci::write_transaction tx(db);  // BEGIN IMMEDIATE; rolls back unless committed
  db << "INSERT INTO orders(id, customer, items, total_cents) VALUES(:id, :c, :n, :t)",
      soci::use(o.id), soci::use(o.customer), soci::use(o.items), soci::use(o.total_cents);
  outbox.enqueue(db, txoutbox::message{
                         .aggregate_type = "order",
                         .aggregate_id = o.id,  // events of one order keep their order
                         .type = "OrderPlaced",
                         .payload = R"({"order_id":")" + o.id + R"(","customer":")" + o.customer +
                                    R"(","items":)" + std::to_string(o.items) +
                                    R"(,"total_cents":)" + std::to_string(o.total_cents) + "}",
                     });
  // A business rule checked last on purpose: a failure anywhere in the transaction, even
  // after the enqueue, takes the event down with the order.
  if (o.total_cents <= 0)
    throw std::invalid_argument("the total must be positive");
  tx.commit();
}

/// The consumer's handler: one transaction per delivery. The inbox row and the projection
/// update commit together, so a redelivered event finds its id already there.
bool apply(soci::session& db, const txoutbox::soci::inbox& inbox,
           const txoutbox::outbox_record& event) {
  txoutbox::soci::write_transaction tx(db);
  if (event.msg.type != "OrderPlaced" ||
      !inbox.first_time(db, "sales-projection", event.msg.id.to_string()))
    return false;  // seen before (or not ours): nothing to do, the destructor rolls back
  const long long placed_at =
      std::chrono::duration_cast<std::chrono::seconds>(event.created_at.time_since_epoch()).count();
  // SQLite reads the payload itself (json_extract), so this needs no JSON library.
  db << "INSERT INTO sales_projection(day, orders, revenue_cents) "
        "VALUES(date(:at, 'unixepoch'), 1, json_extract(:payload, '$.total_cents')) "
        "ON CONFLICT(day) DO UPDATE SET orders = orders + 1, "
        "revenue_cents = revenue_cents + excluded.revenue_cents",
      soci::use(placed_at), soci::use(event.msg.payload);
  tx.commit();
  return true;
}

/// Delivers every line of the events file to the consumer, as a broker would.
std::pair<int, int> deliver_all(const fs::path& events, soci::session& db,
                                const txoutbox::soci::inbox& inbox) {
  std::ifstream in(events);
  expect(in.good(), "to read " + events.string());
  int applied = 0, duplicates = 0;
  for (std::string line; std::getline(in, line);)
    ++(apply(db, inbox, txoutbox::parse_json_line(line)) ? applied : duplicates);
  return {applied, duplicates};
}

std::string projection(soci::session& db) {
  std::string day, text;
  long long orders = 0, revenue = 0;
  soci::statement rows = (db.prepare << "SELECT day, orders, revenue_cents FROM sales_projection"
                                        " ORDER BY day",
                          soci::into(day), soci::into(orders), soci::into(revenue));
  rows.execute();
  while (rows.fetch())
    text += (text.empty() ? "" : "; ") + day + ": " + std::to_string(orders) + " orders, revenue " +
            money(revenue);
  return text.empty() ? "(empty)" : text;
}

int run(int argc, char** argv) {
  // 1. A fresh database: a new temporary directory, or --db PATH (which must not exist).
  const std::string_view usage = "usage: quickstart [--db NEW-FILE]";
  fs::path db_path;
  if (argc == 3 && std::string_view(argv[1]) == "--db") {
    db_path = fs::absolute(argv[2]);
    fs::create_directories(db_path.parent_path());
  } else if (argc == 1) {
    std::string dir = (fs::temp_directory_path() / "txoutbox-quickstart-XXXXXX").string();
    expect(mkdtemp(dir.data()) != nullptr, "a new temporary directory");
    db_path = fs::path(dir) / "orders.db";
  } else if (argc == 2 &&
             (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
    std::cout << usage << "\n";
    return 0;
  } else {
    throw std::invalid_argument(std::string(usage));
  }
  const fs::path events = fs::path(db_path).replace_extension(".jsonl");
  for (const fs::path& file : {db_path, events})
    if (fs::exists(file))
      throw std::invalid_argument(file.string() + " exists; the quickstart starts from new files");

  soci::session db(soci::sqlite3, "db=" + db_path.string() + " timeout=5");
  const auto migrated = txoutbox::soci::migrate(db);  // the outbox, inbox and lease tables
  db << "CREATE TABLE orders(id TEXT PRIMARY KEY, customer TEXT NOT NULL,"
        " items INTEGER NOT NULL, total_cents INTEGER NOT NULL)";
  db << "CREATE TABLE sales_projection(day TEXT PRIMARY KEY, orders INTEGER NOT NULL,"
        " revenue_cents INTEGER NOT NULL)";
  std::cout << "txoutbox quickstart: an order service on SQLite, no server needed.\n\n"
            << "1. Created " << db_path.string() << "\n   and migrated it (outbox schema v"
            << migrated.version << ").\n";

  // 2. Promise 1, atomic capture: an event exists if and only if its transaction committed.
  const txoutbox::soci::writer outbox;
  const order orders[] = {{"o-1001", "ada", 2, 2500},
                          {"o-1002", "grace", 1, 1299},
                          {"o-1003", "alan", 5, 8750},
                          {"o-1004", "edsger", 3, 4200},
                          {"o-1005", "barbara", 1, 990}};
  for (const order& o : orders)
    place_order(db, outbox, o);
  const order bad{"o-1006", "linus", 1, -1500};
  std::string refusal;
  try {
    place_order(db, outbox, bad);
  } catch (const std::invalid_argument& e) {
    refusal = e.what();
  }
  expect(!refusal.empty(), "order o-1006 to be refused");
  expect(count(db, "SELECT count(*) FROM orders") == 5 &&
             count(db, "SELECT count(*) FROM outbox") == 5,
         "5 orders and 5 events");
  expect(count(db, "SELECT count(*) FROM orders WHERE id = :id", bad.id) == 0 &&
             count(db, "SELECT count(*) FROM outbox WHERE aggregateid = :id", bad.id) == 0,
         "no trace of order o-1006");
  std::cout << "2. Atomic capture: placed 5 orders, each committed together with its\n"
            << "   OrderPlaced event. Order o-1006 broke a rule (" << refusal << ")\n"
            << "   after its event was enqueued: rolled back, neither order nor event exists.\n";

  // 3. Promise 2, at-least-once publication: the relay (in a service, a long-lived object
  //    or the `txoutbox relay` process) publishes committed rows and deletes each one only
  //    after the publisher confirmed it. Short timings keep this demo quick.
  auto store = txoutbox::soci::make_store({.url = "sqlite:" + db_path.string()});
  txoutbox::relay relay(store, txoutbox::make_file_publisher({.path = events}),
                        {.threads = 1, .poll_interval = 20ms, .lease_ttl = 2s});
  relay.start();
  const bool drained = relay.flush(10s);
  const bool stopped = relay.stop(5s);
  const auto published = relay.stats().published;
  expect(drained && stopped && published == 5 && store->stats().backlog == 0,
         "the relay to publish 5 events and empty the outbox");
  std::cout << "3. At-least-once publication: the relay published " << published
            << " events, one JSON line\n   each, to " << events.string()
            << "\n   and emptied the outbox.\n";

  // 4. Promise 3, exactly-once effect: the consumer applies each event id once.
  const txoutbox::soci::inbox inbox;
  const auto [applied, skipped] = deliver_all(events, db, inbox);
  const std::string before = projection(db);
  expect(applied == 5 && skipped == 0, "the consumer to apply 5 events");
  std::cout << "4. Exactly-once effect: the consumer applied " << applied
            << " events to sales_projection.\n";

  // 5. Brokers deliver at least once, so deliver everything again: the inbox skips it all.
  const auto [again, duplicates] = deliver_all(events, db, inbox);
  const std::string after = projection(db);
  expect(again == 0 && duplicates == 5 && after == before, "the redelivery to change nothing");
  std::cout << "5. Delivered all 5 events again: " << duplicates << " skipped by the inbox, "
            << again << " applied.\n"
            << "   sales_projection before: " << before << "\n"
            << "   sales_projection after:  " << after << "\n";

  // 6. Everything the run made stays on disk to look at.
  std::cout << "\nAll three promises kept. Look inside:\n"
            << "  sqlite3 " << db_path.string() << " 'SELECT * FROM sales_projection'\n"
            << "  cat " << events.string() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cout.flush();
    std::cerr << "quickstart: " << e.what() << "\n";
    return 1;
  }
}
