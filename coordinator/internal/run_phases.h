#ifndef KRING_COORDINATOR_INTERNAL_RUN_PHASES_H_
#define KRING_COORDINATOR_INTERNAL_RUN_PHASES_H_

// The run driver's aggregation states, one small class each (as in
// federated-compute's fcp/secagg/server): secure aggregation, and the
// benchmark's plaintext collection. Pure: messages and times in, messages
// out. Not thread-safe.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/run.h"
#include "crypto/secagg/coordinator.h"
#include "query/noise.h"

namespace kring::coordinator::internal {

// The noise calibration for a run over at most `schools` schools: the
// threshold secure aggregation would choose for all of them, and their
// number. (For fewer than 2 schools, which never run, both are `schools`.)
v1::NoiseCalibration CalibrationFor(uint32_t schools,
                                    const crypto::secagg::SecurityGoals& goals);

// Whether a run of `roster_size` schools can keep to `calibration`: its
// threshold, raised to min_shares, still fits each node's committee, and
// the roster is no larger than max_shares.
bool FitsCalibration(const v1::NoiseCalibration& calibration,
                     uint32_t roster_size,
                     const crypto::secagg::SecurityGoals& goals);

// Collecting the roster's contributions until the sum is known.
class AggregationPhase {
 public:
  virtual ~AggregationPhase() = default;
  // A message from roster member `from`.
  virtual void OnMessage(const std::string& from,
                         const v1::NodeToCoordinator& m, int64_t now_millis,
                         RunStep& step) = 0;
  // Acts on a passed deadline.
  virtual void OnTick(int64_t now_millis, RunStep& step) = 0;
  // The last message sent to `school`, if any.
  virtual std::optional<v1::CoordinatorToNode> LastSent(
      const std::string& school) const = 0;
  // Set once the phase is over: the sum or why there is none.
  const std::optional<absl::StatusOr<RunSum>>& outcome() const {
    return outcome_;
  }

 protected:
  std::optional<absl::StatusOr<RunSum>> outcome_;
};

// Parameters, setup, and rounds 0..4 of secure aggregation over
// crypto::secagg::SecAggCoordinator; each round closes when every expected
// node answered or at its deadline.
class SecAggPhase final : public AggregationPhase {
 public:
  // The longest abort reason from a school that is kept (bytes).
  static constexpr size_t kMaxAbortReason = 300;
  // Chooses the parameters for `roster` (its threshold raised to the
  // noise calibration's min_shares; see FitsCalibration) and appends the
  // "aggregation" audit entry and the run-start messages to `step`.
  static absl::StatusOr<std::unique_ptr<SecAggPhase>> Start(
      const v1::QueryInfo& info, const std::vector<School>& roster,
      const query::Layout& layout, const v1::NoiseCalibration& calibration,
      const RunOptions& options, int64_t now_millis, RunStep& step);
  void OnMessage(const std::string& from, const v1::NodeToCoordinator& m,
                 int64_t now_millis, RunStep& step) override;
  void OnTick(int64_t now_millis, RunStep& step) override;
  std::optional<v1::CoordinatorToNode> LastSent(
      const std::string& school) const override;

 private:
  SecAggPhase(std::string query_id, std::vector<std::string> roster,
              crypto::secagg::SecAggCoordinator secagg, query::NoisePlan plan,
              const RunOptions& options);
  void Send(const std::string& to, v1::CoordinatorToNode m, RunStep& step);
  // Roster member `self` says it aborted: a dropout before its input is in
  // the sum, a failed run after.
  void OnAbort(uint32_t self, const std::string& reason, int64_t now_millis,
               RunStep& step);
  // Closes rounds while every expected node has answered.
  void Advance(int64_t now_millis, RunStep& step);
  void CloseRound(int64_t now_millis, RunStep& step);

  std::string query_id_;
  std::vector<std::string> roster_;  // school ids by roster index
  crypto::secagg::SecAggCoordinator secagg_;
  query::NoisePlan plan_;
  int64_t round_deadline_millis_;
  uint32_t min_schools_;
  int64_t deadline_ = 0;
  std::map<std::string, v1::CoordinatorToNode> last_sent_;
};

// Benchmark only: the same run with the vectors sent in the clear.
class PlaintextPhase final : public AggregationPhase {
 public:
  // Appends the run-start messages to `step`.
  static std::unique_ptr<PlaintextPhase> Start(
      const std::string& query_id, const std::vector<School>& roster,
      size_t dims, const RunOptions& options, int64_t now_millis,
      RunStep& step);
  void OnMessage(const std::string& from, const v1::NodeToCoordinator& m,
                 int64_t now_millis, RunStep& step) override;
  void OnTick(int64_t now_millis, RunStep& step) override;
  std::optional<v1::CoordinatorToNode> LastSent(
      const std::string&) const override {
    return std::nullopt;
  }

 private:
  PlaintextPhase() = default;
  void Finish();

  std::vector<std::string> roster_;
  size_t dims_ = 0;
  uint32_t min_schools_ = 3;
  int64_t deadline_ = 0;
  std::map<std::string, std::vector<uint64_t>> vectors_;
};

}  // namespace kring::coordinator::internal

#endif  // KRING_COORDINATOR_INTERNAL_RUN_PHASES_H_
