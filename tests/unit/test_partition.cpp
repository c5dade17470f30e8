// Tests of the portable partition hash: MD5 against RFC 1321 and against PostgreSQL.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "txoutbox/partition.hpp"

using txoutbox::md5_hex;
using txoutbox::partition_of;

TEST_CASE("md5_hex matches the RFC 1321 test suite", "[partition][md5]") {
  CHECK(md5_hex("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(md5_hex("a") == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(md5_hex("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(md5_hex("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(md5_hex("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(md5_hex("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") ==
        "d174ab98d277d9f5a5611c2c9f419d9f");
  CHECK(md5_hex("1234567890123456789012345678901234567890123456789012345678901234567890123456"
                "7890") == "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("md5_hex handles padding boundaries and binary bytes", "[partition][md5]") {
  // Values from PostgreSQL 15: select md5(repeat('k', n)). 55 bytes fit one padded block,
  // 56 need a second one, 64 is exactly one block of data.
  CHECK(md5_hex(std::string(55, 'k')) == "f79f83e3aced4f982e07a1506063b383");
  CHECK(md5_hex(std::string(56, 'k')) == "591a02036ec465ba18d49fcf542393c4");
  CHECK(md5_hex(std::string(64, 'k')) == "a18cc771b8188ff945d0dd7757c50fd1");
  std::string umlauts;
  for (int i = 0; i < 500; ++i)
    umlauts += "\xc3\xbc";  // 'ü' x 500 = 1000 bytes, 16 blocks
  CHECK(md5_hex(umlauts) == "133aae7079866436b68a524c6e7bb707");
  // An embedded NUL is hashed like any other byte, not taken as the end of the string.
  CHECK(md5_hex(std::string("a\0b", 3)) != md5_hex("a"));
  CHECK(md5_hex(std::string("a\0b", 3)).size() == 32);
}

TEST_CASE("partition_of equals PostgreSQL's ('x'||substr(md5(k),1,8))::bit(32)::bigint % N",
          "[partition]") {
  // Computed on the dev PostgreSQL 15 (server_encoding UTF8) with
  //   select k, md5(k), ('x'||substr(md5(k),1,8))::bit(32)::bigint,
  //          ... % 16, ... % 7 from unnest(array[...]) as k;
  struct row {
    const char* key;
    const char* md5;
    std::uint32_t head;  // first 8 hex digits as an unsigned 32-bit integer
    std::uint32_t mod16;
    std::uint32_t mod7;
  };
  const std::vector<row> rows = {
      {"", "d41d8cd98f00b204e9800998ecf8427e", 3558706393u, 9, 4},
      {"a", "0cc175b9c0f1b6a831c399e269772661", 214005177u, 9, 1},
      {"42", "a1d0c6e83f027327d8461063f4ac58a6", 2714814184u, 8, 5},
      {"order-1", "6e7f85a9d0fe9b5dfb504c6f2991d744", 1853851049u, 9, 1},
      {"customer:12345", "48bc5e64d157895210b87d26385da6c0", 1220304484u, 4, 0},
      {"\xc3\x86r\xc3\xb8sk\xc3\xb8"
       "bing",
       "6acc80f0899aab5bae32aa05e60488fe", 1791787248u, 0, 6},
      {"\xce\xb1\xce\xb2\xce\xb3", "bf4aedea98ceab53af12b1690f0cf6dc", 3209358826u, 10, 2},
      {"\xe6\xb3\xa8\xe6\x96\x87-7", "d1c14847f48f2c7da26a1d9514468607", 3519105095u, 7, 2},
      {"\xf0\x9f\x98\x80", "2a02eac39d716a70ecf37579185927b6", 704834243u, 3, 1},
      {"na\xc3\xafve caf\xc3\xa9", "8feed1b062e175e77b3769d990f9e527", 2414793136u, 0, 0},
      {"x y z", "a0971f3c1fc2d4c967b3cd362cc29f48", 2694258492u, 12, 2},
  };
  for (const auto& r : rows) {
    INFO("key: " << r.key);
    CHECK(md5_hex(r.key) == r.md5);
    CHECK(partition_of(r.key, 16) == r.mod16);
    CHECK(partition_of(r.key, 7) == r.mod7);
    // With N = 2^32 - 1 the result is the whole head, which proves the first 8 hex digits
    // are read as an unsigned 32-bit value (several heads here exceed INT32_MAX).
    CHECK(partition_of(r.key, 4294967295u) == r.head % 4294967295u);
  }
}

TEST_CASE("partition_of with one partition is always zero", "[partition]") {
  CHECK(partition_of("anything", 1) == 0);
  CHECK(partition_of("anything", 0) == 0);  // precondition broken: no division by zero
  CHECK(partition_of("", 1) == 0);
  CHECK(partition_of("\xf0\x9f\x98\x80", 1) == 0);
}

TEST_CASE("partition_of spreads keys over every partition", "[partition]") {
  std::vector<int> counts(16, 0);
  for (int i = 0; i < 1600; ++i)
    ++counts.at(partition_of("order-" + std::to_string(i), 16));
  for (int c : counts)
    CHECK(c > 0);
}
