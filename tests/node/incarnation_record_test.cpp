// The incarnation record's codec (core/node/incarnation.h): a record that
// fails its checksum is never returned, whichever bit rotted.
#include <catch2/catch.hpp>

#include "core/node/incarnation.h"

using namespace meshd;

TEST_CASE("incarnation record: round trip, and every flipped bit is refused", "[node]") {
  const auto record = encode_incarnation(0x0102030405060708ULL);
  auto back = decode_incarnation(record);
  REQUIRE(back.is_ok());
  CHECK(*back == 0x0102030405060708ULL);
  for (size_t bit = 0; bit < 8 * record.size(); ++bit) {
    auto rotten = record;
    rotten[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    CHECK_FALSE(decode_incarnation(rotten).is_ok());
  }
}
