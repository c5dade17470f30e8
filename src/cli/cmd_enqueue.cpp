// cmd_enqueue: `txoutbox enqueue` writes one message in its own transaction, prints the id.
#include <iostream>
#include <pqxx/transaction>

#include "commands.hpp"
#include "database.hpp"
#include "txoutbox/postgres/writer.hpp"

namespace txoutbox::cli {

int run_enqueue(const enqueue_args& args) {
  auto conn = connect(args.common.db);
  require_migrated(*conn, args.common.schema);
  const postgres::writer writer(
      postgres::writer_options{.schema = args.common.schema, .notify = true});
  message_id id;
  try {
    pqxx::work tx(*conn);
    id = writer.enqueue(tx, args.msg);
    tx.commit();
  } catch (...) {
    rethrow_store_error("enqueue into " + args.common.schema);
  }
  std::cout << id.to_string() << '\n';
  return std::cout.flush() ? 0 : 1;
}

}  // namespace txoutbox::cli
