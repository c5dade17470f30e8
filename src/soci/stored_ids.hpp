// Ids as the database holds them: rows written by other programs may carry an upper-case
// UUID (kept so settle() matches the row) or text that is not a UUID at all (set aside).
#pragma once

#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "txoutbox/message_id.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::soci::detail {

/// The stored text of claimed rows whose id is a UUID written in another form than the
/// canonical lower case (an upper-case UUID inserted by plain SQL). settle() binds that
/// text, so the row is found through the id's index like any other; the SQL is unchanged.
/// An entry lives from the claim to the settle of its row; a row never settled here (its
/// lease moved to another relay) leaves one entry of about 100 bytes until the store is
/// destroyed, and only rows written that way ever make one. Thread-safe.
class stored_ids {
 public:
  /// Remembers `stored` for `id` when it is not id's canonical text.
  void remember(const message_id& id, std::string_view stored);
  /// The text to bind for `id`: the remembered one, else the canonical form.
  std::string text_of(const message_id& id) const;
  /// Drops the entries of settled outcomes (their rows are gone or will be claimed again).
  void forget(std::span<const outcome> settled);

 private:
  mutable std::mutex mutex_;
  std::unordered_map<message_id, std::string> stored_;
};

/// The dead-letter reason of a row whose id is not a UUID: "id is not a UUID: '<text>'",
/// the text cut to 64 bytes and every byte outside printable ASCII shown as '?'.
std::string not_a_uuid_reason(std::string_view stored);

}  // namespace txoutbox::soci::detail
