#include "coordinator/run.h"

#include <algorithm>

#include "coordinator/internal/run_phases.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::coordinator {

absl::StatusOr<std::unique_ptr<RunDriver>> RunDriver::Create(
    const v1::QueryInfo& info, std::vector<School> targets,
    const survey::InstrumentRegistry& instruments, RunOptions options,
    int64_t now_millis) {
  auto q = query::Query::Create(info.ticket().spec(), instruments);
  if (!q.ok()) {
    return absl::InvalidArgumentError(
        StrCat("query ", info.ticket().query_id(),
               " cannot run: its spec no longer parses (",
               ToStd(q.status().message()), ")"));
  }
  options.min_schools = std::max<uint32_t>(3, options.min_schools);
  std::unique_ptr<RunDriver> d(
      new RunDriver(info, std::move(targets),
                    std::make_unique<query::Query>(*std::move(q)), options));
  d->decide_by_millis_ = now_millis + options.decision_window_millis;
  return d;
}

RunDriver::RunDriver(const v1::QueryInfo& info, std::vector<School> targets,
                     std::unique_ptr<query::Query> query, RunOptions options)
    : info_(info),
      targets_(std::move(targets)),
      query_(std::move(query)),
      layout_(std::make_unique<query::Layout>(*query_)),
      options_(options) {
  for (const School& s : targets_) target_ids_.insert(s.school_id);
  asked_ = target_ids_;
  calibration_ = internal::CalibrationFor(
      static_cast<uint32_t>(targets_.size()), options_.goals);
}

bool RunDriver::AllDecided() const {
  for (const std::string& id : asked_) {
    if (!decisions_.count(id)) return false;
  }
  return true;
}

RunDriver::~RunDriver() = default;

v1::CoordinatorToNode RunDriver::Task() const {
  v1::CoordinatorToNode m;
  v1::Task* t = m.mutable_task();
  t->set_query_id(query_id());
  t->set_ticket_bytes(info_.ticket_bytes());
  *t->mutable_approvals() = info_.approvals();
  t->set_respond_by_unix_millis(decide_by_millis_);
  *t->mutable_noise() = calibration_;
  return m;
}

RunStep RunDriver::Start(int64_t now_millis) {
  RunStep step;
  step.audit.emplace_back(
      "dispatched",
      StrCat("query ", query_id(), " sent to ", targets_.size(), " schools"));
  const v1::CoordinatorToNode task = Task();
  for (const School& s : targets_) step.send.push_back({s.school_id, task});
  if (AllDecided()) CloseDecisions(now_millis, step);  // nobody to ask
  return step;
}

RunStep RunDriver::OnMessage(std::string_view from,
                             const v1::NodeToCoordinator& m,
                             int64_t now_millis) {
  RunStep step;
  const std::string school(from);
  if (done() || !target_ids_.count(school)) return step;
  if (aggregation_ != nullptr) {
    aggregation_->OnMessage(school, m, now_millis, step);
    Settle();
    return step;
  }
  if (!m.has_decision() || m.decision().query_id() != query_id()) return step;
  if (!asked_.count(school)) return step;
  decisions_[school] = m.decision();
  if (AllDecided()) CloseDecisions(now_millis, step);
  return step;
}

RunStep RunDriver::OnTick(int64_t now_millis) {
  RunStep step;
  if (done()) return step;
  if (aggregation_ != nullptr) {
    aggregation_->OnTick(now_millis, step);
    Settle();
  } else if (now_millis >= decide_by_millis_) {
    CloseDecisions(now_millis, step);
  }
  return step;
}

std::vector<v1::CoordinatorToNode> RunDriver::OnConnected(
    std::string_view school) const {
  const std::string id(school);
  if (done() || !target_ids_.count(id)) return {};
  if (aggregation_ != nullptr) {
    auto last = aggregation_->LastSent(id);
    if (last) return {*std::move(last)};
    return {};
  }
  if (decisions_.count(id) || !asked_.count(id)) return {};
  return {Task()};
}

void RunDriver::Abort(absl::Status why) {
  if (!done()) outcome_ = std::move(why);
}

void RunDriver::Settle() {
  if (!done() && aggregation_->outcome()) outcome_ = *aggregation_->outcome();
}

absl::StatusOr<std::vector<School>> RunDriver::Roster() {
  info_.clear_decisions();
  std::vector<School> roster;
  std::vector<std::string> declined;
  for (const School& s : targets_) {
    v1::NodeDecisionRecord* d = info_.add_decisions();
    d->set_school_id(s.school_id);
    auto it = decisions_.find(s.school_id);
    if (it == decisions_.end()) {
      d->set_reason("did not answer in time (offline?)");
      continue;
    }
    d->set_accepted(it->second.accept());
    d->set_reason(it->second.reason());
    if (it->second.accept()) {
      roster.push_back(s);
    } else {
      declined.push_back(StrCat(s.school_id, ": ", it->second.reason()));
    }
  }
  const uint32_t minimum = options_.min_schools;
  if (roster.size() >= minimum) return roster;
  std::string why =
      StrCat("only ", roster.size(), " of ", targets_.size(),
             " schools took part; at least ", minimum, " are needed");
  if (!declined.empty()) {
    why += " (declined: ";
    for (size_t i = 0; i < declined.size(); ++i) {
      why += StrCat(i ? "; " : "", declined[i]);
    }
    why += ")";
  }
  return absl::FailedPreconditionError(why);
}

void RunDriver::CloseDecisions(int64_t now_millis, RunStep& step) {
  auto roster = Roster();
  if (!roster.ok()) {
    outcome_ = roster.status();
    return;
  }
  if (options_.benchmark_plaintext) {
    aggregation_ = internal::PlaintextPhase::Start(
        query_id(), *roster, layout_->size(), options_, now_millis, step);
    return;
  }
  const auto n = static_cast<uint32_t>(roster->size());
  if (!internal::FitsCalibration(calibration_, n, options_.goals) &&
      n < asked_.size()) {
    Recalibrate(*roster, now_millis, step);
    return;
  }
  auto phase = internal::SecAggPhase::Start(
      info_, *roster, *layout_, calibration_, options_, now_millis, step);
  if (!phase.ok()) {
    outcome_ = phase.status();
    return;
  }
  aggregation_ = *std::move(phase);
}

void RunDriver::Recalibrate(const std::vector<School>& roster,
                            int64_t now_millis, RunStep& step) {
  const auto n = static_cast<uint32_t>(roster.size());
  const v1::NoiseCalibration before = calibration_;
  calibration_ = internal::CalibrationFor(n, options_.goals);
  asked_.clear();
  for (const School& s : roster) {
    asked_.insert(s.school_id);
    decisions_.erase(s.school_id);
  }
  decide_by_millis_ = now_millis + options_.decision_window_millis;
  step.audit.emplace_back(
      "recalibrated",
      StrCat("query ", query_id(), ": only ", n,
             " schools accepted, fewer than the ", before.min_shares(),
             " its noise was calibrated for; asked them again with the noise "
             "calibrated for ",
             calibration_.min_shares(), " to ", n, " schools"));
  const v1::CoordinatorToNode task = Task();
  for (const School& s : roster) step.send.push_back({s.school_id, task});
}

}  // namespace kring::coordinator
