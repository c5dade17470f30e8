// cmd_enqueue: `txoutbox enqueue` writes one message in its own transaction, prints the id.
#include <iostream>

#include "commands.hpp"
#include "database.hpp"

namespace txoutbox::cli {

int run_enqueue(const enqueue_args& args) {
  const message_id id = enqueue_message(args.common, args.msg);
  std::cout << id.to_string() << '\n';
  return std::cout.flush() ? 0 : 1;
}

}  // namespace txoutbox::cli
