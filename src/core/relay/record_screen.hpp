// The relay's record screen: rows that must never reach a publisher, set aside alone.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "txoutbox/outbox_record.hpp"
#include "txoutbox/store.hpp"

namespace txoutbox::detail {

/// A batch with the rows a publisher must never see taken out: a row written by another
/// program (plain SQL) whose routing field holds a control character. Each such row is
/// dead-lettered alone with its reason; the batch's later rows of its key wait for the
/// next claim (so they are published after it is settled, in order); the rest go on.
struct screened_batch {
  std::span<const outbox_record> records;  ///< to publish: the batch, or `subset`
  std::vector<outbox_record> subset;
  std::vector<outcome> dead;  ///< dead_letter outcomes, one per unsafe row
  std::size_t deferred = 0;   ///< rows left for the next claim behind an unsafe one
};

screened_batch screen(std::span<const outbox_record> batch);

}  // namespace txoutbox::detail
