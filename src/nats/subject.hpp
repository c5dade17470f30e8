// Subject templates of the NATS publisher: parsed once, rendered per message with token checks.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "txoutbox/error.hpp"

namespace txoutbox::nats::detail {

/// "txoutbox.{aggregatetype}.{type}" split into literal text and placeholders. Immutable
/// after parse(), so one instance is shared by every sending thread.
class subject_template {
 public:
  /// Throws usage_error(field "subject_template") for an unknown or unclosed placeholder,
  /// an empty token, a wildcard or whitespace in the literal text.
  static subject_template parse(std::string_view text) {
    subject_template t;
    std::string literal;
    const auto fail = [&](const std::string& what) {
      throw usage_error(errc::invalid_argument, "subject_template",
                        "nats publisher: subject_template '" + std::string(text) + "' " + what);
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
      const char c = text[i];
      if (c == '{') {
        const auto close = text.find('}', i);
        if (close == std::string_view::npos)
          fail("has an unclosed '{'");
        const auto name = text.substr(i + 1, close - i - 1);
        part p;
        if (name == "aggregatetype")
          p.kind = part_kind::aggregate_type;
        else if (name == "type")
          p.kind = part_kind::event_type;
        else
          fail("has an unknown placeholder '{" + std::string(name) +
               "}' (known: {aggregatetype}, {type})");
        if (!literal.empty())
          t.parts_.push_back({part_kind::literal, std::move(literal)});
        literal.clear();
        t.parts_.push_back(std::move(p));
        i = close;
        continue;
      }
      if (c == '}')
        fail("has a '}' without '{'");
      if (c == '*' || c == '>' || static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
        fail("has a wildcard, whitespace or a control character");
      literal.push_back(c);
    }
    if (!literal.empty())
      t.parts_.push_back({part_kind::literal, std::move(literal)});
    // Every token must be non-empty once rendered; placeholders always render non-empty.
    std::string probe;
    for (const auto& p : t.parts_)
      probe += p.kind == part_kind::literal ? p.text : std::string("x");
    if (probe.empty() || probe.front() == '.' || probe.back() == '.' ||
        probe.find("..") != std::string::npos)
      fail("has an empty token");
    return t;
  }

  /// Writes the subject of a message to `out`, or returns why it cannot be one: a
  /// substituted value must be a single non-empty token (no '.', '*', '>', whitespace or
  /// control characters).
  std::optional<std::string> render(std::string_view aggregate_type, std::string_view type,
                                    std::string& out) const {
    out.clear();
    for (const auto& p : parts_) {
      if (p.kind == part_kind::literal) {
        out += p.text;
        continue;
      }
      const bool is_agg = p.kind == part_kind::aggregate_type;
      const std::string_view value = is_agg ? aggregate_type : type;
      if (auto problem = token_problem(value))
        return std::string(is_agg ? "aggregate type" : "event type") + " '" +
               std::string(value.substr(0, 80)) + "' is not a NATS subject token: " + *problem;
      out += value;
    }
    return std::nullopt;
  }

  /// The subjects a created stream captures: the template with every token that holds a
  /// placeholder replaced by '*' ("txoutbox.{aggregatetype}.{type}" -> "txoutbox.*.*").
  std::string stream_filter() const {
    std::string marked;  // placeholders as '\x01'
    for (const auto& p : parts_)
      marked += p.kind == part_kind::literal ? p.text : std::string(1, '\x01');
    std::string out;
    std::size_t pos = 0;
    while (pos <= marked.size()) {
      const auto dot = std::min(marked.find('.', pos), marked.size());
      const auto token = std::string_view(marked).substr(pos, dot - pos);
      if (!out.empty())
        out.push_back('.');
      out += token.find('\x01') != std::string_view::npos ? std::string("*") : std::string(token);
      pos = dot + 1;
    }
    return out;
  }

 private:
  enum class part_kind { literal, aggregate_type, event_type };
  struct part {
    part_kind kind = part_kind::literal;
    std::string text{};
  };

  static std::optional<std::string> token_problem(std::string_view v) {
    if (v.empty())
      return "empty";
    for (char c : v) {
      if (c == '.')
        return "contains '.'";
      if (c == '*' || c == '>')
        return "contains a wildcard";
      if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
        return "contains whitespace or a control character";
    }
    return std::nullopt;
  }

  std::vector<part> parts_;
};

}  // namespace txoutbox::nats::detail
