#include "query/ledger.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "util/str_cat.h"

namespace kring::query {
namespace {

using ::kring::StrCat;

uint64_t AbsDiff(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

// Non-zero but below the minimum: the difference would be a figure that
// fails the thresholds.
bool SmallDifference(uint64_t a, uint64_t b, uint64_t minimum) {
  const uint64_t d = AbsDiff(a, b);
  return d != 0 && d < minimum;
}

size_t SymmetricDifference(const std::set<std::string>& a,
                           const std::set<std::string>& b) {
  size_t n = 0;
  auto it_a = a.begin();
  auto it_b = b.begin();
  while (it_a != a.end() && it_b != b.end()) {
    if (*it_a < *it_b) {
      ++n;
      ++it_a;
    } else if (*it_b < *it_a) {
      ++n;
      ++it_b;
    } else {
      ++it_a;
      ++it_b;
    }
  }
  return n + static_cast<size_t>(std::distance(it_a, a.end())) +
         static_cast<size_t>(std::distance(it_b, b.end()));
}

absl::Status Refuse(const Release& release, const Release& earlier,
                    std::string why) {
  return absl::PermissionDeniedError(
      StrCat("release '", release.id(), "' refused: ", why,
             " compared with earlier release '", earlier.id(),
             "' of the same statistic, so their difference would reveal a "
             "group below the disclosure thresholds (differencing); widen or "
             "narrow the set of schools, or repeat the earlier query "
             "unchanged"));
}

}  // namespace

absl::StatusOr<Release> Release::Create(
    std::string id, std::string statistic_key,
    std::set<std::string> participants,
    std::map<std::string, CellStats> figures) {
  if (id.empty()) {
    return absl::InvalidArgumentError("release: id must not be empty");
  }
  if (statistic_key.empty()) {
    return absl::InvalidArgumentError(
        StrCat("release '", id, "': statistic key must not be empty"));
  }
  if (participants.empty()) {
    return absl::InvalidArgumentError(
        StrCat("release '", id, "': needs at least one participating school"));
  }
  if (participants.begin()->empty()) {  // "" sorts first
    return absl::InvalidArgumentError(
        StrCat("release '", id, "': school ids must not be empty"));
  }
  for (const auto& [key, s] : figures) {
    if (key.empty()) {
      return absl::InvalidArgumentError(
          StrCat("release '", id, "': figure keys must not be empty"));
    }
    if (s.schools > s.respondents || (s.respondents > 0 && s.schools == 0) ||
        s.schools > participants.size()) {
      return absl::InvalidArgumentError(StrCat(
          "release '", id, "': figure '", key,
          "' has inconsistent counts: every contributing school has at least "
          "one respondent, every respondent a school, and contributing "
          "schools are participants"));
    }
  }
  return Release(std::move(id), std::move(statistic_key),
                 std::move(participants), std::move(figures));
}

absl::Status ReleaseLedger::Check(const Release& release,
                                  const CellThresholds& thresholds) const {
  for (const Release& earlier : releases_) {
    if (earlier.statistic_key() != release.statistic_key()) continue;
    const size_t schools =
        SymmetricDifference(earlier.participants(), release.participants());
    if (schools != 0 && schools < thresholds.min_schools) {
      return Refuse(
          release, earlier,
          StrCat("its participating schools differ by ", schools,
                 schools == 1 ? " school" : " schools",
                 ", fewer than the minimum of ", thresholds.min_schools));
    }
    for (const auto& [key, now] : release.figures()) {
      const auto it = earlier.figures().find(key);
      if (it == earlier.figures().end()) continue;
      const CellStats& then = it->second;
      if (SmallDifference(now.respondents, then.respondents,
                          thresholds.min_respondents)) {
        return Refuse(release, earlier,
                      StrCat("a figure differs by fewer than ",
                             thresholds.min_respondents, " respondents"));
      }
      if (SmallDifference(now.schools, then.schools, thresholds.min_schools)) {
        return Refuse(release, earlier,
                      StrCat("a figure's contributing schools differ by fewer "
                             "than ",
                             thresholds.min_schools));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ReleaseLedger::Admit(Release release,
                                  const CellThresholds& thresholds) {
  if (absl::Status s = Check(release, thresholds); !s.ok()) return s;
  releases_.push_back(std::move(release));
  return absl::OkStatus();
}

std::string RepeatAnswers::Key(const Query& query, uint32_t min_shares,
                               uint32_t max_shares,
                               const std::set<std::string>& participants) {
  v1::QuerySpec spec = query.spec();
  spec.clear_purpose();
  spec.clear_disclosure();
  spec.mutable_privacy()->set_rho(query.rho());
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream raw(&bytes);
    google::protobuf::io::CodedOutputStream out(&raw);
    out.SetSerializationDeterministic(true);
    spec.SerializeToCodedStream(&out);
  }
  std::string key = StrCat("kring-repeat-v1|", absl::BytesToHexString(bytes),
                           "|t=", min_shares, "|n=", max_shares, "|schools:");
  for (const std::string& p : participants) key += StrCat(p, ";");
  return key;
}

const RepeatAnswers::Answer* RepeatAnswers::Find(const std::string& key) const {
  auto it = answers_.find(key);
  return it == answers_.end() ? nullptr : &it->second;
}

void RepeatAnswers::Record(const std::string& key, Answer answer) {
  answers_.emplace(key, std::move(answer));
}

}  // namespace kring::query
