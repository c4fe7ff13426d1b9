#ifndef KRING_COORDINATOR_RUN_H_
#define KRING_COORDINATOR_RUN_H_

// The run driver: one approved query from dispatch to its sum, as a pure
// state machine in the shape of private-join-and-compute's protocol server.
// It takes node messages and the current time and returns the messages to
// send; it never touches sockets, threads, clocks or the database. States:
// collecting the schools' decisions, then secure aggregation (or, for the
// benchmark only, plaintext vectors), then done.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "coordinator/db.h"
#include "crypto/secagg/parameters.h"
#include "kring/v1/service.pb.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/spec.h"
#include "survey/registry.h"

namespace kring::coordinator {

// A message for one school.
struct Outgoing {
  std::string to;  // school id
  v1::CoordinatorToNode message;
};

// What one call of the driver produced. The caller writes `audit` first,
// in order, and sends `send` only if every entry was written; otherwise it
// calls Abort().
struct RunStep {
  std::vector<std::pair<std::string, std::string>> audit;  // kind, summary
  std::vector<Outgoing> send;
};

struct RunOptions {
  // How long schools have to accept or decline.
  int64_t decision_window_millis = 20000;
  // Per secure-aggregation round (and for the benchmark's vectors).
  int64_t round_deadline_millis = 30000;
  // Schools whose inputs must reach the sum; at least 3 whatever is set.
  uint32_t min_schools = 3;
  crypto::secagg::SecurityGoals goals;
  // Benchmark only: ask for the vectors in the clear.
  bool benchmark_plaintext = false;
};

// The sum of the contributors' vectors. With secure aggregation the sum
// carries every contributor's noise (offsets removed, signed) and `noise`
// says how much; the benchmark's plaintext sum has none.
struct RunSum {
  std::vector<int64_t> sum;
  std::vector<std::string> contributors;  // school ids
  std::optional<query::NoisePlan> noise;
};

namespace internal {
class AggregationPhase;
}  // namespace internal

// Not thread-safe; the owner serializes calls.
class RunDriver {
 public:
  // `info` is a RUNNING query; `targets` the schools to ask (with their
  // identity keys). INVALID_ARGUMENT if the ticket's spec does not parse
  // against `instruments`.
  static absl::StatusOr<std::unique_ptr<RunDriver>> Create(
      const v1::QueryInfo& info, std::vector<School> targets,
      const survey::InstrumentRegistry& instruments, RunOptions options,
      int64_t now_millis);
  ~RunDriver();
  RunDriver(const RunDriver&) = delete;
  RunDriver& operator=(const RunDriver&) = delete;

  // The "dispatched" audit entry and a task for every target. Call once.
  RunStep Start(int64_t now_millis);
  // A message from authenticated school `from`. Messages for other queries,
  // from schools not asked, for the wrong state or claiming another sender
  // are dropped.
  RunStep OnMessage(std::string_view from, const v1::NodeToCoordinator& m,
                    int64_t now_millis);
  // Closes the decision window or a round whose deadline has passed.
  RunStep OnTick(int64_t now_millis);
  // What school `school`, (re)connecting, needs: its open task, or the
  // current round's message again (a node answers a message it already
  // answered with the same answer).
  std::vector<v1::CoordinatorToNode> OnConnected(std::string_view school) const;
  // Ends the run with `why` (not OK), unless it is already done.
  void Abort(absl::Status why);

  const std::string& query_id() const { return info_.ticket().query_id(); }
  bool done() const { return outcome_.has_value(); }
  // Precondition: done(). The sum, or why the run failed.
  const absl::StatusOr<RunSum>& outcome() const { return *outcome_; }
  // The query, with the schools' decisions once the window closed.
  const v1::QueryInfo& info() const { return info_; }
  const query::Layout& layout() const { return *layout_; }
  const std::set<std::string>& targets() const { return target_ids_; }

 private:
  RunDriver(const v1::QueryInfo& info, std::vector<School> targets,
            std::unique_ptr<query::Query> query, RunOptions options);
  v1::CoordinatorToNode Task() const;
  bool AllDecided() const;
  // Closes the decision window: records decisions, picks the roster and
  // starts the aggregation (or fails the run).
  void CloseDecisions(int64_t now_millis, RunStep& step);
  absl::StatusOr<std::vector<School>> Roster();
  // Asks `roster` again, with the noise calibrated to its size: too few
  // schools accepted for the calibration they drew their noise for.
  void Recalibrate(const std::vector<School>& roster, int64_t now_millis,
                   RunStep& step);
  void Settle();

  v1::QueryInfo info_;
  std::vector<School> targets_;
  std::set<std::string> target_ids_;
  std::unique_ptr<query::Query> query_;
  std::unique_ptr<query::Layout> layout_;
  RunOptions options_;
  int64_t decide_by_millis_ = 0;
  std::map<std::string, v1::TaskDecision> decisions_;
  // The schools the current task went to (all targets, or after a
  // recalibration those that had accepted) and its noise calibration.
  std::set<std::string> asked_;
  v1::NoiseCalibration calibration_;
  std::unique_ptr<internal::AggregationPhase> aggregation_;
  std::optional<absl::StatusOr<RunSum>> outcome_;
};

}  // namespace kring::coordinator

#endif  // KRING_COORDINATOR_RUN_H_
