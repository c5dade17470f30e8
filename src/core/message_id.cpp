// message_id: UUIDv7 generation (RFC 9562, monotonic per process), parsing and hashing.
#include "txoutbox/message_id.hpp"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <random>

#include "text_util.hpp"
#include "txoutbox/error.hpp"

namespace txoutbox {

namespace detail {

namespace {

/// Bumped in a forked child so each thread's generator reseeds there: parent and child
/// must not draw the same "random" bits.
std::atomic<std::uint64_t> fork_generation{0};

/// Registers the fork hook once, during static initialisation of this translation unit.
[[maybe_unused]] const bool fork_hook_registered = [] {
  ::pthread_atfork(nullptr, nullptr,
                   [] { fork_generation.fetch_add(1, std::memory_order_relaxed); });
  return true;
}();

/// Per-thread random source, so generating ids needs no lock around the RNG.
/// Seeded from std::random_device on first use in each thread (and again after fork).
std::mt19937_64& thread_rng() {
  thread_local std::mt19937_64 rng;
  thread_local std::uint64_t seeded_generation = ~std::uint64_t{0};
  const auto generation = fork_generation.load(std::memory_order_relaxed);
  if (seeded_generation != generation) {
    std::random_device device;
    std::seed_seq seq{device(), device(), device(), device(),
                      device(), device(), device(), device()};
    rng.seed(seq);
    seeded_generation = generation;
  }
  return rng;
}

/// The last (unix_ms << 12 | counter) handed out in this process: 48 + 12 = 60 bits.
/// RFC 9562 section 6.2 method 1 with rand_a as a 12-bit counter. The counter starts at a
/// random value below 2048 in each new millisecond and increments by one; when it runs
/// past 4095 the carry bumps the timestamp, exactly the RFC's advice for overflow.
/// A clock that steps back is ignored (the last timestamp keeps counting up), so ids stay
/// strictly increasing. Lock-free: one compare-exchange per id.
std::atomic<std::uint64_t> last_stamp{0};

constexpr std::uint64_t counter_bits = 12;
constexpr std::uint64_t stamp_mask = (std::uint64_t{1} << (48 + counter_bits)) - 1;

std::uint64_t next_stamp(std::mt19937_64& rng) {
  const auto now_ms =
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  std::uint64_t prev = last_stamp.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t next;
    if (now_ms > (prev >> counter_bits)) {
      next = (now_ms << counter_bits) | (rng() & 0x7ff);  // top counter bit clear: room to count
    } else {
      next = prev + 1;
    }
    next &= stamp_mask;  // 48-bit timestamps wrap in the year 10889
    if (last_stamp.compare_exchange_weak(prev, next, std::memory_order_relaxed))
      return next;
  }
}

constexpr bool is_dash_position(std::size_t i) noexcept {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

std::optional<message_id::bytes_type> parse_bytes(std::string_view text) noexcept {
  if (text.size() != 36)
    return std::nullopt;
  message_id::bytes_type bytes{};
  std::size_t out = 0;
  for (std::size_t i = 0; i < 36;) {
    if (is_dash_position(i)) {
      if (text[i] != '-')
        return std::nullopt;
      ++i;
      continue;
    }
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    bytes[out++] = static_cast<std::uint8_t>(hi << 4 | lo);
    i += 2;
  }
  return bytes;
}

}  // namespace

}  // namespace detail

message_id message_id::generate() {
  auto& rng = detail::thread_rng();
  const std::uint64_t stamp = detail::next_stamp(rng);
  const std::uint64_t unix_ms = stamp >> detail::counter_bits;
  const auto counter = static_cast<std::uint16_t>(stamp & 0xfff);
  const std::uint64_t rand_b = rng();

  bytes_type b{};
  for (std::size_t i = 0; i < 6; ++i)
    b[i] = static_cast<std::uint8_t>(unix_ms >> (40 - 8 * i));
  b[6] = static_cast<std::uint8_t>(0x70 | (counter >> 8));  // version 7
  b[7] = static_cast<std::uint8_t>(counter & 0xff);
  b[8] = static_cast<std::uint8_t>(0x80 | ((rand_b >> 56) & 0x3f));  // variant 10
  for (std::size_t i = 9; i < 16; ++i)
    b[i] = static_cast<std::uint8_t>(rand_b >> (8 * (15 - i)));
  return message_id(b);
}

message_id message_id::parse(std::string_view text) {
  if (auto bytes = detail::parse_bytes(text))
    return message_id(*bytes);
  throw usage_error(errc::invalid_message, "id",
                    "id: \"" + detail::printable(text) +
                        "\" is not a UUID (expected 36 characters, 8-4-4-4-12 hex digits)");
}

std::optional<message_id> message_id::try_parse(std::string_view text) noexcept {
  if (auto bytes = detail::parse_bytes(text))
    return message_id(*bytes);
  return std::nullopt;
}

std::string message_id::to_string() const {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out.push_back('-');
    out.push_back(hex[bytes_[i] >> 4]);
    out.push_back(hex[bytes_[i] & 0xf]);
  }
  return out;
}

bool message_id::is_nil() const noexcept {
  for (auto byte : bytes_) {
    if (byte != 0)
      return false;
  }
  return true;
}

}  // namespace txoutbox

std::size_t std::hash<txoutbox::message_id>::operator()(
    const txoutbox::message_id& id) const noexcept {
  std::uint64_t hi = 0, lo = 0;
  const auto& b = id.bytes();
  for (std::size_t i = 0; i < 8; ++i) {
    hi = hi << 8 | b[i];
    lo = lo << 8 | b[i + 8];
  }
  // v7 ids share their high half within a millisecond; mix both halves (splitmix64 finaliser).
  std::uint64_t x = hi * 0x9e3779b97f4a7c15ull ^ lo;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return static_cast<std::size_t>(x);
}
