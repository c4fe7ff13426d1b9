#include "crypto/identity.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace kring::crypto {
namespace {

using ::kring::testing::IsOk;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr std::string_view kCtx = "secagg/advertise-keys";

class TempDir {
 public:
  TempDir() {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "kring-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::filesystem::path& p, std::string_view contents,
               mode_t mode) {
  std::ofstream(p) << contents;
  ASSERT_EQ(chmod(p.c_str(), mode), 0);
}

TEST(IdentityTest, PublicKeyFromFileOrText) {
  TempDir dir;
  IdentityKeyPair key = IdentityKeyPair::Generate();
  const auto file = dir.path() / "key.pub";
  ASSERT_THAT(key.public_key().SaveFile(file), IsOk());
  auto from_file = IdentityPublicKey::FromFileOrText(file.string());
  ASSERT_THAT(from_file, IsOk());
  EXPECT_EQ(*from_file, key.public_key());
  auto from_text = IdentityPublicKey::FromFileOrText(key.public_key().ToText());
  ASSERT_THAT(from_text, IsOk());
  EXPECT_EQ(*from_text, key.public_key());
  EXPECT_THAT(IdentityPublicKey::FromFileOrText((dir.path() / "none").string()),
              Not(IsOk()));
  EXPECT_THAT(IdentityPublicKey::FromFileOrText("kring-ed25519-public-v1:xx"),
              Not(IsOk()));
}

TEST(IdentityTest, SignVerifyRoundTrip) {
  IdentityKeyPair key = IdentityKeyPair::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sig, key.Sign(kCtx, "message"));
  EXPECT_EQ(sig.size(), kSignatureBytes);
  EXPECT_THAT(key.public_key().Verify(kCtx, "message", sig), IsOk());
}

TEST(IdentityTest, SignatureContextsDoNotCrossVerify) {
  IdentityKeyPair key = IdentityKeyPair::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sig, key.Sign(kCtx, "message"));
  EXPECT_THAT(
      key.public_key().Verify("secagg/consistency-check", "message", sig),
      StatusIs(absl::StatusCode::kUnauthenticated));
  // A context is not a prefix of the message: moving bytes between them
  // must not produce a valid signature.
  KRING_ASSERT_OK_AND_ASSIGN(std::string sig2, key.Sign("ab", "cmsg"));
  EXPECT_THAT(key.public_key().Verify("abc", "msg", sig2),
              StatusIs(absl::StatusCode::kUnauthenticated));
}

TEST(IdentityTest, WrongMessageKeyOrSignatureFails) {
  IdentityKeyPair key = IdentityKeyPair::Generate();
  IdentityKeyPair other = IdentityKeyPair::Generate();
  KRING_ASSERT_OK_AND_ASSIGN(std::string sig, key.Sign(kCtx, "message"));
  EXPECT_THAT(key.public_key().Verify(kCtx, "messagE", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(other.public_key().Verify(kCtx, "message", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  for (size_t i = 0; i < sig.size(); ++i) {
    std::string t = sig;
    t[i] ^= 0x01;
    EXPECT_THAT(key.public_key().Verify(kCtx, "message", t), Not(IsOk()))
        << "byte " << i;
  }
  EXPECT_THAT(key.public_key().Verify(kCtx, "message", sig.substr(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(IdentityTest, InvalidContextsAreRejected) {
  IdentityKeyPair key = IdentityKeyPair::Generate();
  EXPECT_THAT(key.Sign("", "m"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(key.Sign("Upper", "m"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(key.Sign(std::string(65, 'a'), "m"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(key.Sign(std::string_view("a\0b", 3), "m"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(key.Sign(std::string(64, 'a'), "m"), IsOk());
}

TEST(IdentityTest, SeedDeterminesKey) {
  SecretBytes seed = SecretBytes::Random(32);
  KRING_ASSERT_OK_AND_ASSIGN(auto a, IdentityKeyPair::FromSeed(seed));
  KRING_ASSERT_OK_AND_ASSIGN(auto b, IdentityKeyPair::FromSeed(seed));
  EXPECT_EQ(a.public_key(), b.public_key());
  EXPECT_THAT(IdentityKeyPair::FromSeed(SecretBytes(31)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(IdentityTest, FingerprintIsReadableAndStable) {
  IdentityKeyPair key = IdentityKeyPair::Generate();
  std::string fp = key.public_key().Fingerprint();
  EXPECT_TRUE(std::regex_match(fp, std::regex("([0-9A-F]{4}-){7}[0-9A-F]{4}")))
      << fp;
  EXPECT_EQ(fp, key.public_key().Fingerprint());
  EXPECT_NE(fp, IdentityKeyPair::Generate().public_key().Fingerprint());
}

TEST(IdentityTest, PublicKeyRejectsMalformedBytes) {
  EXPECT_THAT(IdentityPublicKey::FromBytes(std::string(31, 'a')),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // The identity point (small order).
  std::string identity(32, '\0');
  identity[0] = 1;
  EXPECT_THAT(IdentityPublicKey::FromBytes(identity),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Non-canonical encoding: y = p (2^255 - 19).
  std::string noncanon(32, '\xff');
  noncanon[0] = '\xed';
  noncanon[31] = '\x7f';
  EXPECT_THAT(IdentityPublicKey::FromBytes(noncanon),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(IdentityTest, RememberedValidKeysDoNotLetInvalidOnesThrough) {
  // Valid keys are remembered after their first check (a speed-up this
  // test cannot see); what it guards is that remembering never lets an
  // invalid key through, however many valid keys were seen in between.
  IdentityKeyPair key = IdentityKeyPair::Generate();
  const std::string bytes(key.public_key().bytes());
  std::string small_order(32, '\0');
  small_order[0] = 1;
  for (int i = 0; i < 3; ++i) {
    KRING_ASSERT_OK_AND_ASSIGN(auto parsed,
                               IdentityPublicKey::FromBytes(bytes));
    EXPECT_EQ(parsed, key.public_key());
    EXPECT_THAT(IdentityPublicKey::FromBytes(small_order),
                StatusIs(absl::StatusCode::kInvalidArgument));
    // A non-canonical encoding (y >= p) is refused.
    std::string noncanon(32, '\xff');
    noncanon[31] = '\x7f';
    EXPECT_THAT(IdentityPublicKey::FromBytes(noncanon),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
}

TEST(IdentityTest, PublicKeyTextRoundTripAndRejectsGarbage) {
  IdentityKeyPair key = IdentityKeyPair::Generate();
  std::string text = key.public_key().ToText();
  EXPECT_THAT(text, HasSubstr("kring-ed25519-public-v1:"));
  KRING_ASSERT_OK_AND_ASSIGN(auto parsed, IdentityPublicKey::FromText(text));
  EXPECT_EQ(parsed, key.public_key());
  EXPECT_THAT(IdentityPublicKey::FromText(""), Not(IsOk()));
  EXPECT_THAT(IdentityPublicKey::FromText("ssh-ed25519 AAAA"), Not(IsOk()));
  EXPECT_THAT(IdentityPublicKey::FromText(text.substr(0, text.size() - 4)),
              Not(IsOk()));
  EXPECT_THAT(IdentityPublicKey::FromText(text + "!!"), Not(IsOk()));
}

TEST(IdentityTest, PrivateKeyFileRoundTripWithMode0600) {
  TempDir dir;
  auto path = dir.path() / "node.key";
  IdentityKeyPair key = IdentityKeyPair::Generate();
  KRING_ASSERT_OK(key.SavePrivateKeyFile(path));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  KRING_ASSERT_OK_AND_ASSIGN(auto loaded,
                             IdentityKeyPair::LoadPrivateKeyFile(path));
  EXPECT_EQ(loaded.public_key(), key.public_key());
  KRING_ASSERT_OK_AND_ASSIGN(std::string sig, loaded.Sign(kCtx, "m"));
  EXPECT_THAT(key.public_key().Verify(kCtx, "m", sig), IsOk());
}

TEST(IdentityTest, PrivateKeyFileIsNeverOverwritten) {
  TempDir dir;
  auto path = dir.path() / "node.key";
  KRING_ASSERT_OK(IdentityKeyPair::Generate().SavePrivateKeyFile(path));
  EXPECT_THAT(IdentityKeyPair::Generate().SavePrivateKeyFile(path),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST(IdentityTest, GroupOrWorldReadablePrivateKeyIsRefused) {
  TempDir dir;
  auto path = dir.path() / "node.key";
  KRING_ASSERT_OK(IdentityKeyPair::Generate().SavePrivateKeyFile(path));
  for (mode_t mode : {0640, 0604, 0660, 0644}) {
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
    EXPECT_THAT(
        IdentityKeyPair::LoadPrivateKeyFile(path),
        StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("chmod 600")))
        << std::oct << mode;
  }
}

TEST(IdentityTest, MalformedPrivateKeyFilesAreRejected) {
  TempDir dir;
  auto path = dir.path() / "bad.key";
  EXPECT_THAT(IdentityKeyPair::LoadPrivateKeyFile(path),
              StatusIs(absl::StatusCode::kNotFound));
  for (std::string_view contents :
       {"", "# only a comment\n", "kring-ed25519-public-v1:AAAA\n",
        "kring-ed25519-secret-v1:not base64!\n",
        "kring-ed25519-secret-v1:AAAA\n"}) {
    std::filesystem::remove(path);
    WriteFile(path, contents, 0600);
    auto loaded = IdentityKeyPair::LoadPrivateKeyFile(path);
    EXPECT_THAT(loaded, StatusIs(absl::StatusCode::kInvalidArgument))
        << contents;
  }
}

TEST(IdentityTest, PublicKeyFileRoundTrip) {
  TempDir dir;
  auto path = dir.path() / "node.pub";
  IdentityKeyPair key = IdentityKeyPair::Generate();
  KRING_ASSERT_OK(key.public_key().SaveFile(path));
  KRING_ASSERT_OK_AND_ASSIGN(auto loaded, IdentityPublicKey::LoadFile(path));
  EXPECT_EQ(loaded, key.public_key());
  WriteFile(path, "garbage\n", 0644);
  EXPECT_THAT(IdentityPublicKey::LoadFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kring::crypto
