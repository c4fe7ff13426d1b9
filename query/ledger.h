#ifndef KRING_QUERY_LEDGER_H_
#define KRING_QUERY_LEDGER_H_

// The release ledger: protection against differencing across releases
// (DESIGN.md, "Disclosure control and differential privacy"). Pure logic;
// persistence comes later.
//
// The attack: release A covers schools P and release B of the same
// statistic covers P plus one school s. Every figure of B minus the same
// figure of A is that figure for school s alone, although each release
// passed the per-figure thresholds on its own. The same happens when one
// figure gains a handful of respondents between two releases.
//
// The coordinator does not learn which schools contribute to a figure, only
// how many, but it knows the participants of each release (the schools whose
// inputs are in the sum, i.e. the survivors of secure aggregation) and each
// figure's true respondent and school counts. The rule: a release is refused
// when, for some earlier release of the same statistic,
//  (a) the participant sets differ (symmetric difference non-empty) by fewer
//      than min_schools schools, or
//  (b) some figure released in both has a respondent count differing by a
//      non-zero amount below min_respondents, or
//  (c) some figure released in both has a contributing-school count
//      differing by a non-zero amount below min_schools (for nested
//      participant sets that difference is exactly the number of schools the
//      differenced figure comes from).
// In short: the difference of two releases must itself pass the thresholds,
// as far as the coordinator can tell. A repeat (same participants, same
// counts) reveals nothing new and is admitted; so is a release whose
// difference is zero in every common figure and zero or large in
// participants.
//
// Limits: only pairs of releases are compared (not combinations of three or
// more), and only releases with the same statistic key; the caller's key
// must therefore name everything that defines the population (statistic,
// measures, group-by and any filter) canonically. A dropped-out school in a
// repeated run counts as a difference, deliberately: the coordinator could
// drop it on purpose.

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "query/disclosure.h"
#include "query/spec.h"

namespace kring::query {

// What one release showed. Immutable value type; thread-safe.
class Release {
 public:
  // `id` names the release in refusals and audit (e.g. the query id).
  // `statistic_key` is the caller's canonical description of the statistic
  // (see the top of this file). `participants` are the school ids whose
  // inputs are in the sums. `figures` maps a canonical figure key (e.g.
  // "cell:gender=f,year=9" or "row:gender=f") to the true counts of every
  // figure the release shows, margins included; suppressed figures are left
  // out (a difference with a figure nobody sees reveals nothing).
  // INVALID_ARGUMENT for an empty id, key, participant set, school id or
  // figure key, and for a figure whose counts are inconsistent (schools >
  // respondents, no school for respondents, or more schools than
  // participants).
  static absl::StatusOr<Release> Create(
      std::string id, std::string statistic_key,
      std::set<std::string> participants,
      std::map<std::string, CellStats> figures);

  const std::string& id() const { return id_; }
  const std::string& statistic_key() const { return statistic_key_; }
  const std::set<std::string>& participants() const { return participants_; }
  const std::map<std::string, CellStats>& figures() const { return figures_; }

 private:
  Release(std::string id, std::string statistic_key,
          std::set<std::string> participants,
          std::map<std::string, CellStats> figures)
      : id_(std::move(id)),
        statistic_key_(std::move(statistic_key)),
        participants_(std::move(participants)),
        figures_(std::move(figures)) {}

  std::string id_;
  std::string statistic_key_;
  std::set<std::string> participants_;
  std::map<std::string, CellStats> figures_;
};

// Earlier releases, checked against each new one. An empty ledger is valid.
// Not thread-safe: callers serialise access.
class ReleaseLedger {
 public:
  ReleaseLedger() = default;

  // OK when `release` may be published under `thresholds` (pass the
  // policy's thresholds for the query's group-by, ThresholdsFor), else
  // PERMISSION_DENIED naming the earlier release and the rule (a)-(c) that
  // refused it. Messages carry no counts of respondents and no figure keys:
  // the difference is exactly what must stay hidden.
  absl::Status Check(const Release& release,
                     const CellThresholds& thresholds) const;

  // Check, and record `release` when it passes (it is then an earlier
  // release for later checks). Records nothing on error.
  absl::Status Admit(Release release, const CellThresholds& thresholds);

  size_t size() const { return releases_.size(); }

 private:
  std::vector<Release> releases_;
};

// Noisy answers released before, so that the same quantity asked again is
// answered with the same noise instead of fresh noise (repetition would
// otherwise average the noise away; each repeat still costs every school
// its rho, so the budget bounds it too). "The same quantity" is the same
// query (its spec without purpose and disclosure requests, with the rho in
// force) over the same schools under the same noise calibration: the whole
// noisy vector is reused. Not thread-safe: callers serialise access.
class RepeatAnswers {
 public:
  // The key of `query`'s noisy sums from `participants` under a plan for
  // `min_shares`..`max_shares` schools. Deterministic; printable.
  static std::string Key(const Query& query, uint32_t min_shares,
                         uint32_t max_shares,
                         const std::set<std::string>& participants);

  struct Answer {
    std::string release_id;      // the release that first gave it
    std::vector<int64_t> noisy;  // its noisy sums, offsets removed
  };
  // The answer released under `key`, or nullptr.
  const Answer* Find(const std::string& key) const;
  // Records the answer released under `key` (the first one stays).
  void Record(const std::string& key, Answer answer);
  size_t size() const { return answers_.size(); }

 private:
  std::map<std::string, Answer> answers_;
};

}  // namespace kring::query

#endif  // KRING_QUERY_LEDGER_H_
