#include "storage/audit_chain.h"

#include <sodium.h>

#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"
#include "tests/unit/storage/temp_dir.h"
#include "util/str_cat.h"

namespace kring::storage {
namespace {

using crypto::SecretBytes;
using ::kring::testing::IsOk;
using ::kring::testing::IsOkAndHolds;
using ::kring::testing::StatusIs;
using ::testing::HasSubstr;

SecretBytes Key(char fill = 'k') {
  return SecretBytes::CopyFrom(std::string(32, fill));
}

ChainNames Names() { return {"test log", "the test", "test verify"}; }

class AuditChainTest : public ::testing::TestWithParam<ChainFormat> {
 protected:
  void SetUp() override {
    OpenOptions options;
    options.create = true;
    auto db = Database::Open(dir_.path() / "a.db", options);
    ASSERT_THAT(db, IsOk());
    db_ = *std::move(db);
    auto chain = Open();
    ASSERT_THAT(chain, IsOk());
    ASSERT_THAT(chain->CreateTables(), IsOk());
  }

  absl::StatusOr<AuditChain> Open(char key = 'k') {
    return AuditChain::Create(db_.get(), GetParam(), Key(key), Names());
  }
  bool node() const { return GetParam() == ChainFormat::kNode; }
  const char* table() const { return node() ? "entries" : "audit"; }

  // Five entries, stamped 100, 200, ... 500.
  void WriteFive() {
    auto chain = Open();
    ASSERT_THAT(chain, IsOk());
    for (int i = 1; i <= 5; ++i) {
      ASSERT_THAT(chain->Append(100 * i, "decision",
                                "Declined query q-" + std::to_string(i)),
                  IsOk());
    }
    ASSERT_THAT(chain->Verify(), IsOk());
  }

  absl::Status VerifyAfter(const std::string& sql) {
    if (auto s = db_->Exec(sql); !s.ok()) return s;
    auto chain = Open();
    if (!chain.ok()) return chain.status();
    return chain->Verify();
  }

  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_P(AuditChainTest, AppendReadBackAndVerify) {
  auto chain = Open();
  ASSERT_THAT(chain, IsOk());
  EXPECT_THAT(chain->Verify(), IsOk());  // empty
  AuditFields fields;
  if (node()) fields = {{"query_id", "q-1"}, {"note", "a=b"}};
  ASSERT_THAT(chain->Append(1000, "task", "Received query q-1", fields),
              IsOk());
  ASSERT_THAT(chain->Append(2000, "sent", "Sent query q-1"), IsOk());
  auto entries = chain->Entries();
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0],
            (ChainEntry{1, 1000, "task", "Received query q-1", fields}));
  EXPECT_EQ((*entries)[1], (ChainEntry{2, 2000, "sent", "Sent query q-1", {}}));
  EXPECT_THAT(chain->Contains("task", "query_id", "q-1"), IsOkAndHolds(node()));
  EXPECT_THAT(chain->Contains("sent", "query_id", "q-1"), IsOkAndHolds(false));
  EXPECT_THAT(chain->Verify(), IsOk());
}

TEST_P(AuditChainTest, KeyMustBe32Bytes) {
  EXPECT_THAT(AuditChain::Create(db_.get(), GetParam(),
                                 SecretBytes::CopyFrom("short"), Names()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(AuditChainTest, AnotherKeyDoesNotVerify) {
  WriteFive();
  auto other = Open('x');
  ASSERT_THAT(other, IsOk());
  EXPECT_THAT(other->Verify(), StatusIs(absl::StatusCode::kDataLoss));
}

TEST_P(AuditChainTest, EditedEntryIsNamed) {
  WriteFive();
  EXPECT_THAT(VerifyAfter(StrCat("UPDATE ", table(),
                                 " SET summary = 'Accepted' WHERE seq = 3")),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("entry 3 fails authentication")));
}

// The coordinator's messages keep the start they always had.
TEST_P(AuditChainTest, CoordinatorMessagesSayWhereTheLogWasAltered) {
  WriteFive();
  const absl::Status s = VerifyAfter(
      StrCat("UPDATE ", table(), " SET kind = 'task' WHERE seq = 4"));
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss,
                          HasSubstr("entry 4 fails authentication")));
  EXPECT_EQ(absl::StrContains(s.message(), "test log was altered at entry 4"),
            !node());
}

TEST_P(AuditChainTest, EditedTimeIsNamed) {
  WriteFive();
  const char* column = node() ? "unix_time" : "millis";
  EXPECT_THAT(
      VerifyAfter(StrCat("UPDATE ", table(), " SET ", column, " = ", column,
                         " + 1 WHERE seq = 2")),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("entry 2 fails")));
}

TEST_P(AuditChainTest, RemovedEntryIsNamed) {
  WriteFive();
  EXPECT_THAT(
      VerifyAfter(StrCat("DELETE FROM ", table(), " WHERE seq IN (2, 3)")),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("entries 2 to 3 were removed: the test log was "
                         "modified outside the test")));
}

TEST_P(AuditChainTest, ReorderedEntriesAreNamed) {
  WriteFive();
  EXPECT_THAT(
      VerifyAfter(StrCat("UPDATE ", table(),
                         " SET seq = 100 WHERE "
                         "seq = 2; UPDATE ",
                         table(), " SET seq = 2 WHERE seq = 4; UPDATE ",
                         table(), " SET seq = 4 WHERE seq = 100")),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("entry 2 fails")));
}

TEST_P(AuditChainTest, InsertedEntryIsNamed) {
  WriteFive();
  EXPECT_THAT(
      VerifyAfter(StrCat("INSERT INTO ", table(), " SELECT 0, ",
                         node() ? "unix_time, kind, summary, fields, mac"
                                : "millis, kind, summary, hash",
                         " FROM ", table(), " WHERE seq = 1")),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("entry 0 was inserted")));
}

// Only the node format has a head: there a removed tail is detected; the
// coordinator's format cannot tell (as documented).
TEST_P(AuditChainTest, RemovedTail) {
  WriteFive();
  const absl::Status s =
      VerifyAfter(StrCat("DELETE FROM ", table(), " WHERE seq = 5"));
  if (node()) {
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kDataLoss,
                            HasSubstr("entry 5, the last one, was removed")));
  } else {
    EXPECT_THAT(s, IsOk());
  }
}

TEST_P(AuditChainTest, DroppedTableIsDataLoss) {
  WriteFive();
  EXPECT_THAT(
      VerifyAfter(StrCat("DROP TABLE ", table())),
      StatusIs(absl::StatusCode::kDataLoss, HasSubstr("cannot be read")));
  auto chain = Open();
  ASSERT_THAT(chain, IsOk());
  EXPECT_THAT(chain->Entries(), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(chain->Append(600, "task", "x"), ::testing::Not(IsOk()));
}

TEST_P(AuditChainTest, EntryTextRules) {
  auto chain = Open();
  ASSERT_THAT(chain, IsOk());
  const absl::Status multi_line = chain->Append(1, "task", "two\nlines");
  if (node()) {
    EXPECT_THAT(multi_line, StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(chain->Append(1, "Task", "x"),
                StatusIs(absl::StatusCode::kInvalidArgument));
    EXPECT_THAT(chain->Append(1, "task", "x", {{"a", "1"}, {"a", "2"}}),
                StatusIs(absl::StatusCode::kInvalidArgument));
  } else {
    // The coordinator's format takes any text, and no fields.
    EXPECT_THAT(multi_line, IsOk());
    EXPECT_THAT(chain->Append(2, "task", "x", {{"a", "1"}}),
                StatusIs(absl::StatusCode::kInvalidArgument));
  }
  EXPECT_THAT(chain->Verify(), IsOk());
}

INSTANTIATE_TEST_SUITE_P(Formats, AuditChainTest,
                         ::testing::Values(ChainFormat::kNode,
                                           ChainFormat::kCoordinator),
                         [](const auto& info) {
                           return info.param == ChainFormat::kNode
                                      ? "Node"
                                      : "Coordinator";
                         });

// A coordinator log as the code before kring::storage wrote it (the MAC
// recomputed here from that code's encoding) opens, verifies and grows.
TEST(CoordinatorFormatTest, LogWrittenByEarlierVersionsVerifies) {
  TempDir dir;
  OpenOptions options;
  options.create = true;
  auto db = Database::Open(dir.path() / "coordinator.db", options);
  ASSERT_THAT(db, IsOk());
  ASSERT_THAT((*db)->Exec("CREATE TABLE audit(seq INTEGER PRIMARY KEY, "
                          "millis INTEGER, kind TEXT, summary TEXT, "
                          "hash BLOB);"),
              IsOk());
  const SecretBytes key = Key();
  std::string prev(32, '\0');
  const std::pair<const char*, const char*> old[] = {
      {"init", "coordinator created"},
      {"submitted", "query q-1 by alice: Belonging | by grade"}};
  for (uint64_t seq = 1; seq <= 2; ++seq) {
    const int64_t millis = 1767225600000 + static_cast<int64_t>(seq);
    const std::string kind = old[seq - 1].first;
    const std::string summary = old[seq - 1].second;
    const std::string data = prev + "|" + std::to_string(seq) + "|" +
                             std::to_string(millis) + "|" +
                             std::to_string(kind.size()) + ":" + kind + "|" +
                             std::to_string(summary.size()) + ":" + summary;
    std::string hash(32, '\0');
    crypto_generichash(reinterpret_cast<uint8_t*>(hash.data()), hash.size(),
                       reinterpret_cast<const uint8_t*>(data.data()),
                       data.size(), key.data(), key.size());
    auto st = (*db)->Prepare(
        "INSERT INTO audit(seq, millis, kind, summary, hash) "
        "VALUES(?, ?, ?, ?, ?)");
    ASSERT_THAT(st, IsOk());
    ASSERT_THAT(st->Bind(1, static_cast<int64_t>(seq))
                    .Bind(2, millis)
                    .BindText(3, kind)
                    .BindText(4, summary)
                    .Bind(5, hash)
                    .Run(),
                IsOk());
    prev = hash;
  }
  auto chain = AuditChain::Create(db->get(), ChainFormat::kCoordinator,
                                  key.Clone(), Names());
  ASSERT_THAT(chain, IsOk());
  EXPECT_THAT(chain->Verify(), IsOk());
  ASSERT_THAT(chain->Append(1767225700000, "approved", "query q-1"), IsOk());
  EXPECT_THAT(chain->Verify(), IsOk());
  auto entries = chain->Entries();
  ASSERT_THAT(entries, IsOk());
  ASSERT_EQ(entries->size(), 3u);
  EXPECT_EQ((*entries)[1].summary, old[1].second);
  EXPECT_EQ((*entries)[2].seq, 3u);
}

}  // namespace
}  // namespace kring::storage
