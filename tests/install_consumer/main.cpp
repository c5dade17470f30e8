// Downstream use of an installed txoutbox: validates messages, makes an id, links the backend.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <txoutbox/txoutbox.hpp>
#ifdef CONSUMER_WITH_POSTGRES
#include <txoutbox/postgres/migrate.hpp>
#include <txoutbox/postgres/writer.hpp>
#endif

int main() {
  const txoutbox::message good{.aggregate_type = "order",
                               .aggregate_id = "42",
                               .type = "OrderPlaced",
                               .payload = R"({"total":10})"};
  txoutbox::validate(good);

  txoutbox::message bad = good;
  bad.payload = "{not json";
  try {
    txoutbox::validate(bad);
    std::cerr << "consumer: an invalid payload was accepted\n";
    return 1;
  } catch (const txoutbox::usage_error& e) {
    if (e.field() != "payload") {
      std::cerr << "consumer: usage_error names '" << e.field() << "', not 'payload'\n";
      return 1;
    }
  }

  const auto id = txoutbox::message_id::generate();
  if (txoutbox::message_id::parse(id.to_string()) != id) {
    std::cerr << "consumer: id did not round-trip\n";
    return 1;
  }
  std::cout << "txoutbox " << txoutbox::version << " id " << id.to_string() << '\n';

  if (!std::filesystem::is_directory(CONSUMER_MIGRATIONS_DIR)) {
    std::cerr << "consumer: txoutbox_MIGRATIONS_DIR " << CONSUMER_MIGRATIONS_DIR
              << " is not a directory\n";
    return 1;
  }

#ifdef CONSUMER_WITH_POSTGRES
  // Constructing a writer pulls libpqxx-using code into the link.
  const txoutbox::postgres::writer writer{{.schema = "consumer_outbox"}};
  const int latest = txoutbox::postgres::latest_schema_version();
  if (latest < 1) {
    std::cerr << "consumer: latest_schema_version() is " << latest << '\n';
    return 1;
  }
  std::cout << "postgres schema version " << latest << " (schema " << writer.options().schema
            << ")\n";
#endif
  return EXIT_SUCCESS;
}
