#include "crypto/secagg/bit_pack.h"

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto::secagg {
namespace {

using ::kring::testing::IsOkAndHolds;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

uint64_t Mask(int bits) {
  return bits == 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

std::vector<uint64_t> RandomValues(std::mt19937_64& rng, size_t count,
                                   int bits) {
  std::vector<uint64_t> v(count);
  for (auto& x : v) x = rng() & Mask(bits);
  return v;
}

// A straightforward bit-by-bit reference of the documented layout.
std::string ReferencePack(const std::vector<uint64_t>& values, int bits) {
  std::string out((values.size() * bits + 7) / 8, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    for (int b = 0; b < bits; ++b) {
      if ((values[i] >> b) & 1) {
        const size_t j = i * bits + b;
        out[j / 8] = static_cast<char>(out[j / 8] | (1 << (j % 8)));
      }
    }
  }
  return out;
}

TEST(BitPackTest, PackedSizeIsCeilOfBitsOverEight) {
  EXPECT_EQ(PackedSize(0, 1), 0u);
  EXPECT_EQ(PackedSize(0, 64), 0u);
  EXPECT_EQ(PackedSize(1, 1), 1u);
  EXPECT_EQ(PackedSize(8, 1), 1u);
  EXPECT_EQ(PackedSize(9, 1), 2u);
  EXPECT_EQ(PackedSize(3, 12), 5u);  // 36 bits
  EXPECT_EQ(PackedSize(1, 64), 8u);
  EXPECT_EQ(PackedSize(7, 63), 56u);  // 441 bits -> 55.125
  EXPECT_EQ(PackedSize(1000000, 20), 2500000u);
  EXPECT_EQ(PackedSize(5, 0), 0u);
  EXPECT_EQ(PackedSize(5, 65), 0u);
  for (int bits = 1; bits <= 64; ++bits) {
    for (size_t count : {0u, 1u, 2u, 7u, 8u, 9u, 63u, 1001u}) {
      EXPECT_EQ(PackedSize(count, bits), (count * bits + 7) / 8)
          << count << " x " << bits;
    }
  }
}

TEST(BitPackTest, RoundTripsEveryWidthAndOddCounts) {
  std::mt19937_64 rng(20240611);
  for (int bits = 1; bits <= 64; ++bits) {
    for (size_t count : {0u, 1u, 2u, 3u, 7u, 9u, 15u, 17u, 63u, 65u, 1001u}) {
      const std::vector<uint64_t> values = RandomValues(rng, count, bits);
      const std::string packed = PackBits(values, bits);
      ASSERT_EQ(packed.size(), PackedSize(count, bits))
          << count << " x " << bits;
      ASSERT_EQ(packed, ReferencePack(values, bits)) << count << " x " << bits;
      ASSERT_THAT(UnpackBits(packed, bits, count), IsOkAndHolds(values))
          << count << " x " << bits;
    }
  }
}

TEST(BitPackTest, ExtremeValuesRoundTrip) {
  for (int bits = 1; bits <= 64; ++bits) {
    const std::vector<uint64_t> values = {Mask(bits), 0, Mask(bits), 1,
                                          Mask(bits)};
    EXPECT_THAT(UnpackBits(PackBits(values, bits), bits, values.size()),
                IsOkAndHolds(values))
        << bits;
  }
}

TEST(BitPackTest, KnownLayoutLeastSignificantBitFirst) {
  // 3-bit values 5 (101), 3 (011), 7 (111): stream bits 101 110 111
  // (LSB first) -> byte0 = bits 0..7 = 1,0,1,1,1,0,1,1 = 0xdd; byte1 = 1.
  const std::vector<uint64_t> values = {5, 3, 7};
  EXPECT_EQ(PackBits(values, 3), std::string("\xdd\x01", 2));
  const std::vector<uint64_t> wide = {0x0123456789abcdefULL};
  EXPECT_EQ(PackBits(wide, 64),
            std::string("\xef\xcd\xab\x89\x67\x45\x23\x01", 8));
}

TEST(BitPackTest, HighBitsBeyondWidthAreIgnored) {
  const std::vector<uint64_t> dirty = {0xff, 0x00, 0xff};
  const std::vector<uint64_t> clean = {0x0f, 0x00, 0x0f};
  EXPECT_EQ(PackBits(dirty, 4), PackBits(clean, 4));
}

TEST(BitPackTest, PackRejectsWidthOutOfRangeWithEmptyResult) {
  const std::vector<uint64_t> values = {1, 2, 3};
#ifdef NDEBUG
  EXPECT_EQ(PackBits(values, 0), "");
  EXPECT_EQ(PackBits(values, 65), "");
#endif
}

TEST(BitPackTest, UnpackRejectsBadWidth) {
  EXPECT_THAT(UnpackBits("", 0, 0), StatusIs(absl::StatusCode::kInvalidArgument,
                                             HasSubstr("1..64 bits")));
  EXPECT_THAT(UnpackBits(std::string(9, '\0'), 65, 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackBits("\x01", -3, 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BitPackTest, UnpackRejectsWrongLength) {
  std::mt19937_64 rng(7);
  const std::vector<uint64_t> values = RandomValues(rng, 9, 12);
  const std::string packed = PackBits(values, 12);  // 108 bits -> 14 bytes
  ASSERT_EQ(packed.size(), 14u);
  EXPECT_THAT(UnpackBits(packed.substr(0, 13), 12, 9),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exactly ceil(count*bits/8) bytes")));
  EXPECT_THAT(UnpackBits(packed + '\0', 12, 9),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackBits(packed, 12, 8),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackBits(packed, 12, 10),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackBits("", 12, 1),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackBits("", 12, 0), IsOkAndHolds(std::vector<uint64_t>{}));
}

TEST(BitPackTest, UnpackRejectsHugeCountWithoutAllocating) {
  // count * bits would overflow size_t; must be an error, not a crash.
  const size_t huge = ~size_t{0} / 2;
  EXPECT_THAT(UnpackBits(std::string(8, '\0'), 64, huge),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(UnpackBits(std::string(16, '\0'), 8, ~size_t{0}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // A count whose PackedSize wraps around to the given length.
  const size_t wrap = (~size_t{0} / 64 + 1) * 8;  // count*64/8 == 2^64
  EXPECT_THAT(UnpackBits(std::string(), 64, wrap),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(BitPackTest, UnpackRejectsNonZeroPadding) {
  const std::vector<uint64_t> values = {5, 3, 7};  // 9 bits, 7 padding bits
  std::string packed = PackBits(values, 3);
  ASSERT_THAT(UnpackBits(packed, 3, 3), IsOkAndHolds(values));
  for (int bit = 1; bit < 8; ++bit) {
    std::string bad = packed;
    bad[1] = static_cast<char>(bad[1] | (1 << bit));
    EXPECT_THAT(
        UnpackBits(bad, 3, 3),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("padding")))
        << bit;
  }
  // No padding when count*bits is a multiple of 8: every bit is data.
  const std::string full("\xff\xff\xff", 3);
  EXPECT_THAT(UnpackBits(full, 3, 8),
              IsOkAndHolds(std::vector<uint64_t>(8, 7)));
}

TEST(BitPackTest, LargeVectorRoundTrip) {
  std::mt19937_64 rng(99);
  for (int bits : {1, 17, 32, 33, 64}) {
    const std::vector<uint64_t> values = RandomValues(rng, 1000001, bits);
    const std::string packed = PackBits(values, bits);
    EXPECT_EQ(packed.size(), PackedSize(values.size(), bits));
    auto unpacked = UnpackBits(packed, bits, values.size());
    ASSERT_TRUE(unpacked.ok()) << unpacked.status();
    EXPECT_TRUE(*unpacked == values) << bits;
  }
}

}  // namespace
}  // namespace kring::crypto::secagg
