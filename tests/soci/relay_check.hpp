// Per-key order check shared by the SOCI relay tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <rapidjson/document.h>

#include "txoutbox/outbox_record.hpp"

namespace txoutbox::testing::sqlite {

/// True when, per aggregate id, the first publication of each message follows the
/// payload's "n" order (0, 1, 2, ... as written). Duplicates after a failure are allowed.
inline bool first_publications_in_order(const std::vector<outbox_record>& records,
                                        std::size_t* distinct = nullptr) {
  std::map<std::string, int> next;
  std::size_t seen = 0;
  for (const auto& r : records) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(
        r.msg.payload.c_str());
    if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("n"))
      return false;
    const int n = doc["n"].GetInt();
    auto& want = next[r.msg.aggregate_id];
    if (n == want) {
      ++want;
      ++seen;
    } else if (n > want) {
      return false;  // skipped ahead of an unpublished earlier message
    }
  }
  if (distinct)
    *distinct = seen;
  return true;
}

}  // namespace txoutbox::testing::sqlite
