// write_transaction: a write transaction on a ::soci::session that SQLite does not abort.
#pragma once

namespace soci {
class session;
}

namespace txoutbox::soci {

/// Starts a transaction meant to write, for the caller's own enqueue and inbox work.
///
///   txoutbox::soci::write_transaction tx(session);
///   writer.enqueue(session, msg);
///   tx.commit();
///
/// On SQLite it sends BEGIN IMMEDIATE: the write lock is taken up front, waiting on the
/// busy timeout, because soci::transaction's deferred BEGIN fails at once with "database
/// is locked" when a read-then-write transaction meets another writer's commit (WAL). On
/// other backends it is session.begin(). Rolls back in the destructor unless committed
/// or rolled back. Not thread-safe (like the session).
class write_transaction {
 public:
  /// Begins; throws what the database throws (SQLite: busy after the busy timeout).
  explicit write_transaction(::soci::session& session);
  /// Rolls back when still open. Never throws.
  ~write_transaction();

  write_transaction(const write_transaction&) = delete;
  write_transaction& operator=(const write_transaction&) = delete;

  void commit();
  void rollback();
  /// True until commit() or rollback() ran.
  bool active() const noexcept { return active_; }

 private:
  ::soci::session& session_;
  bool active_ = false;
};

}  // namespace txoutbox::soci
