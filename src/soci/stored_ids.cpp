// Ids as the database holds them: the non-canonical text of claimed rows, and the reason
// given to a row whose id is not a UUID.
#include "stored_ids.hpp"

namespace txoutbox::soci::detail {

void stored_ids::remember(const message_id& id, std::string_view stored) {
  auto canonical = id.to_string();
  std::lock_guard lock(mutex_);
  if (stored == canonical)
    stored_.erase(id);
  else
    stored_.insert_or_assign(id, std::string(stored));
}

std::string stored_ids::text_of(const message_id& id) const {
  {
    std::lock_guard lock(mutex_);
    if (stored_.empty())
      return id.to_string();
    if (const auto it = stored_.find(id); it != stored_.end())
      return it->second;
  }
  return id.to_string();
}

void stored_ids::forget(std::span<const outcome> settled) {
  std::lock_guard lock(mutex_);
  if (stored_.empty())
    return;
  for (const auto& o : settled)
    stored_.erase(o.id);
}

std::string not_a_uuid_reason(std::string_view stored) {
  constexpr std::size_t cap = 64;
  std::string shown;
  for (std::size_t i = 0; i < stored.size() && i < cap; ++i) {
    const auto c = static_cast<unsigned char>(stored[i]);
    shown.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (stored.size() > cap)
    shown += "...";
  return "id is not a UUID: '" + shown + "'";
}

}  // namespace txoutbox::soci::detail
