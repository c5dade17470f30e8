// The portable partition hash: a compact MD5 (RFC 1321) and partition_of over it.
#include "txoutbox/partition.hpp"

#include <array>
#include <cstring>

namespace txoutbox {

namespace detail {

namespace {

/// One-shot MD5 over an in-memory buffer. Aggregate ids are short, so no streaming API.
class md5 {
 public:
  using digest = std::array<std::uint8_t, 16>;

  static digest compute(std::string_view data) noexcept {
    md5 state;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(data.data());
    std::size_t whole = data.size() / 64 * 64;
    for (std::size_t off = 0; off < whole; off += 64)
      state.block(bytes + off);

    // Padding: 0x80, zeros to 56 mod 64, then the bit length little-endian.
    std::array<std::uint8_t, 128> tail{};
    const std::size_t rest = data.size() - whole;
    if (rest != 0)
      std::memcpy(tail.data(), bytes + whole, rest);
    tail[rest] = 0x80;
    const std::size_t tail_len = rest < 56 ? 64 : 128;
    const std::uint64_t bit_len = static_cast<std::uint64_t>(data.size()) * 8u;
    for (int i = 0; i < 8; ++i) {
      tail[tail_len - 8 + static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>(bit_len >> (8 * i));
    }
    state.block(tail.data());
    if (tail_len == 128)
      state.block(tail.data() + 64);

    digest out{};
    for (std::size_t i = 0; i < 4; ++i) {
      for (std::size_t b = 0; b < 4; ++b) {
        out[i * 4 + b] = static_cast<std::uint8_t>(state.h_[i] >> (8 * b));
      }
    }
    return out;
  }

 private:
  static constexpr std::uint32_t rotl(std::uint32_t x, unsigned c) noexcept {
    return (x << c) | (x >> (32 - c));
  }

  void block(const std::uint8_t* p) noexcept {
    // Per-round shift amounts and the sine-derived constants of RFC 1321 section 3.4.
    static constexpr unsigned s[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                       5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                       4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                       6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    static constexpr std::uint32_t k[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
        0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
        0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
        0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
        0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
        0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
        0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
        0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
        0xeb86d391};
    std::uint32_t m[16];
    for (std::size_t i = 0; i < 16; ++i) {
      m[i] = static_cast<std::uint32_t>(p[i * 4]) | static_cast<std::uint32_t>(p[i * 4 + 1]) << 8 |
             static_cast<std::uint32_t>(p[i * 4 + 2]) << 16 |
             static_cast<std::uint32_t>(p[i * 4 + 3]) << 24;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3];
    for (unsigned i = 0; i < 64; ++i) {
      std::uint32_t f;
      unsigned g;
      if (i < 16) {
        f = (b & c) | (~b & d);
        g = i;
      } else if (i < 32) {
        f = (d & b) | (~d & c);
        g = (5 * i + 1) % 16;
      } else if (i < 48) {
        f = b ^ c ^ d;
        g = (3 * i + 5) % 16;
      } else {
        f = c ^ (b | ~d);
        g = (7 * i) % 16;
      }
      const std::uint32_t next = b + rotl(a + f + k[i] + m[g], s[i]);
      a = d;
      d = c;
      c = b;
      b = next;
    }
    h_[0] += a;
    h_[1] += b;
    h_[2] += c;
    h_[3] += d;
  }

  std::uint32_t h_[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
};

}  // namespace

}  // namespace detail

std::string md5_hex(std::string_view data) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto digest = detail::md5::compute(data);
  std::string out;
  out.reserve(32);
  for (std::uint8_t byte : digest) {
    out.push_back(hex[byte >> 4]);
    out.push_back(hex[byte & 0xf]);
  }
  return out;
}

std::uint32_t partition_of(std::string_view aggregate_id, std::uint32_t partitions) noexcept {
  if (partitions <= 1)
    return 0;  // also guards the documented precondition partitions >= 1
  const auto digest = detail::md5::compute(aggregate_id);
  // The first 8 hex digits are the first 4 digest bytes read big-endian.
  const std::uint32_t head =
      static_cast<std::uint32_t>(digest[0]) << 24 | static_cast<std::uint32_t>(digest[1]) << 16 |
      static_cast<std::uint32_t>(digest[2]) << 8 | static_cast<std::uint32_t>(digest[3]);
  return head % partitions;
}

}  // namespace txoutbox
