// write_transaction: BEGIN IMMEDIATE on SQLite, session.begin() elsewhere.
#include "txoutbox/soci/transaction.hpp"

#include <soci/session.h>

#include "dialect.hpp"

namespace txoutbox::soci {

write_transaction::write_transaction(::soci::session& session) : session_(session) {
  detail::dialect_for(session_).begin_write(session_);
  active_ = true;
}

write_transaction::~write_transaction() {
  if (!active_)
    return;
  try {
    rollback();
  } catch (...) {
    // A destructor never throws; the connection is left to the caller.
  }
}

void write_transaction::commit() {
  if (!active_)
    throw usage_error(errc::invalid_argument, "transaction", "transaction: not active");
  // A failed COMMIT (SQLite: busy) leaves the transaction open: the destructor rolls back.
  detail::dialect_for(session_).commit(session_);
  active_ = false;
}

void write_transaction::rollback() {
  if (!active_)
    return;
  active_ = false;
  detail::dialect_for(session_).rollback(session_);
}

}  // namespace txoutbox::soci
