#include "crypto/secret_bytes.h"

#include <sstream>
#include <type_traits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kring::crypto {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

static_assert(!std::is_copy_constructible_v<SecretBytes>);
static_assert(!std::is_copy_assignable_v<SecretBytes>);
static_assert(std::is_nothrow_move_constructible_v<SecretBytes>);

TEST(SecretBytesTest, ZeroInitialisedWithRequestedSize) {
  SecretBytes s(17);
  ASSERT_EQ(s.size(), 17u);
  for (uint8_t b : s.span()) EXPECT_EQ(b, 0);
}

TEST(SecretBytesTest, RandomValuesDiffer) {
  SecretBytes a = SecretBytes::Random(32), b = SecretBytes::Random(32);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_FALSE(a == b);
}

TEST(SecretBytesTest, EqualityComparesContentsAndSize) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("abc"));
  SecretBytes b = SecretBytes::CopyFrom(std::string_view("abc"));
  SecretBytes c = SecretBytes::CopyFrom(std::string_view("abd"));
  SecretBytes d = SecretBytes::CopyFrom(std::string_view("abcd"));
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  EXPECT_FALSE(a == d);
  EXPECT_TRUE(SecretBytes() == SecretBytes());
}

TEST(SecretBytesTest, MoveLeavesSourceEmpty) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("secret"));
  SecretBytes b = std::move(a);
  EXPECT_EQ(b.view(), "secret");
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move)
  SecretBytes c;
  c = std::move(b);
  EXPECT_EQ(c.view(), "secret");
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
}

TEST(SecretBytesTest, CloneIsDeepCopy) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("xyz"));
  SecretBytes b = a.Clone();
  b.data()[0] = 'q';
  EXPECT_EQ(a.view(), "xyz");
  EXPECT_EQ(b.view(), "qyz");
}

TEST(SecretBytesTest, PrintingRedactsContents) {
  SecretBytes a = SecretBytes::CopyFrom(std::string_view("hunter2"));
  std::ostringstream os;
  os << a;
  EXPECT_THAT(os.str(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(os.str(), HasSubstr("redacted"));
  EXPECT_THAT(::testing::PrintToString(a), Not(HasSubstr("hunter2")));
}

}  // namespace
}  // namespace kring::crypto
