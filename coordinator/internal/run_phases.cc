#include "coordinator/internal/run_phases.h"

#include <algorithm>

#include "crypto/secagg/setup.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::coordinator::internal {
namespace {

// The roster index a secure-aggregation message claims to come from.
std::optional<uint32_t> ClaimedSender(const v1::SecAggMessage& m) {
  switch (m.body_case()) {
    case v1::SecAggMessage::kAdvertiseKeys:
      return m.advertise_keys().sender();
    case v1::SecAggMessage::kShareKeys:
      return m.share_keys().sender();
    case v1::SecAggMessage::kMaskedInput:
      return m.masked_input().sender();
    case v1::SecAggMessage::kConsistencySignature:
      return m.consistency_signature().sender();
    case v1::SecAggMessage::kUnmaskResponse:
      return m.unmask_response().sender();
    default:
      return std::nullopt;
  }
}

// The secure-aggregation configuration for `roster`, with the noise each
// school adds (its element bounds make room for the noise and offsets).
absl::StatusOr<v1::SecAggConfig> Configure(
    const v1::QueryInfo& info, const std::vector<School>& roster,
    const query::NoisePlan& plan,
    const crypto::secagg::GraphParameters& params) {
  const auto n = static_cast<uint32_t>(roster.size());
  v1::SecAggConfig config;
  config.set_query_id(info.ticket().query_id());
  config.set_query_seed(info.ticket().query_seed());
  for (const School& s : roster) {
    auto* p = config.add_roster();
    p->set_node_id(s.school_id);
    p->set_identity_public_key(s.identity_key);
  }
  const std::vector<uint64_t> bounds = plan.NodeBounds();
  config.set_dims(static_cast<uint32_t>(bounds.size()));
  KRING_ASSIGN_OR_RETURN(const int bits,
                         crypto::secagg::ChooseModulusBits(bounds, n));
  config.set_modulus_bits(static_cast<uint32_t>(bits));
  config.set_complete_graph(params.complete);
  config.set_degree(params.degree);
  config.set_threshold(params.threshold);
  for (uint64_t b : bounds) config.add_element_bounds(b);
  return config;
}

std::vector<std::string> Ids(const std::vector<School>& schools) {
  std::vector<std::string> out;
  for (const School& s : schools) out.push_back(s.school_id);
  return out;
}

// The parameters for `n` schools with the threshold raised to the
// calibration's min_shares (a higher threshold only tolerates fewer
// dropouts; each node refuses to unmask with fewer than it).
absl::StatusOr<crypto::secagg::GraphParameters> CalibratedParameters(
    const v1::NoiseCalibration& calibration, uint32_t n,
    const crypto::secagg::SecurityGoals& goals) {
  KRING_ASSIGN_OR_RETURN(crypto::secagg::GraphParameters params,
                         crypto::secagg::ChooseParameters(n, goals));
  params.threshold = std::max(params.threshold, calibration.min_shares());
  if (params.threshold > params.degree + 1 || n > calibration.max_shares()) {
    return absl::FailedPreconditionError(StrCat(
        "a run of ", n, " schools cannot keep to the noise calibration (",
        calibration.min_shares(), " to ", calibration.max_shares(),
        " schools)"));
  }
  return params;
}

}  // namespace

v1::NoiseCalibration CalibrationFor(
    uint32_t schools, const crypto::secagg::SecurityGoals& goals) {
  v1::NoiseCalibration c;
  c.set_max_shares(schools);
  auto params = crypto::secagg::ChooseParameters(schools, goals);
  c.set_min_shares(params.ok() ? params->threshold : schools);
  return c;
}

bool FitsCalibration(const v1::NoiseCalibration& calibration,
                     uint32_t roster_size,
                     const crypto::secagg::SecurityGoals& goals) {
  return CalibratedParameters(calibration, roster_size, goals).ok();
}

absl::StatusOr<std::unique_ptr<SecAggPhase>> SecAggPhase::Start(
    const v1::QueryInfo& info, const std::vector<School>& roster,
    const query::Layout& layout, const v1::NoiseCalibration& calibration,
    const RunOptions& options, int64_t now_millis, RunStep& step) {
  const auto n = static_cast<uint32_t>(roster.size());
  KRING_ASSIGN_OR_RETURN(const crypto::secagg::GraphParameters params,
                         CalibratedParameters(calibration, n, options.goals));
  // Every school drew its noise, when it accepted, for the fewest schools
  // the run can finish with (min_shares <= the threshold: each node refuses
  // to unmask with fewer) and a roster of at most max_shares.
  KRING_ASSIGN_OR_RETURN(query::NoisePlan plan,
                         query::NoisePlan::Create(layout, layout.query().rho(),
                                                  calibration.min_shares(),
                                                  calibration.max_shares()));
  KRING_ASSIGN_OR_RETURN(const v1::SecAggConfig config,
                         Configure(info, roster, plan, params));
  KRING_ASSIGN_OR_RETURN(auto setup,
                         crypto::secagg::SecAggSetup::Create(config));
  KRING_ASSIGN_OR_RETURN(auto secagg,
                         crypto::secagg::SecAggCoordinator::Create(setup));
  const std::string& qid = info.ticket().query_id();
  std::unique_ptr<SecAggPhase> phase(new SecAggPhase(
      qid, Ids(roster), std::move(secagg), std::move(plan), options));
  step.audit.emplace_back(
      "aggregation",
      StrCat("query ", qid, ": ", roster.size(), " schools, threshold ",
             config.threshold(), ", ", config.modulus_bits(), "-bit ring, ",
             config.dims(), " elements"));
  v1::CoordinatorToNode start;
  start.mutable_run_start()->set_query_id(qid);
  *start.mutable_run_start()->mutable_config() = config;
  for (const School& s : roster) phase->Send(s.school_id, start, step);
  phase->deadline_ = now_millis + phase->round_deadline_millis_;
  return phase;
}

SecAggPhase::SecAggPhase(std::string query_id, std::vector<std::string> roster,
                         crypto::secagg::SecAggCoordinator secagg,
                         query::NoisePlan plan, const RunOptions& options)
    : query_id_(std::move(query_id)),
      roster_(std::move(roster)),
      secagg_(std::move(secagg)),
      plan_(std::move(plan)),
      round_deadline_millis_(options.round_deadline_millis),
      min_schools_(options.min_schools) {}

void SecAggPhase::Send(const std::string& to, v1::CoordinatorToNode m,
                       RunStep& step) {
  last_sent_[to] = m;
  step.send.push_back({to, std::move(m)});
}

void SecAggPhase::OnMessage(const std::string& from,
                            const v1::NodeToCoordinator& m, int64_t now_millis,
                            RunStep& step) {
  if (outcome_) return;
  auto pos = std::find(roster_.begin(), roster_.end(), from);
  if (pos == roster_.end()) return;
  const auto self = static_cast<uint32_t>(pos - roster_.begin());
  if (m.has_abort() && m.abort().query_id() == query_id_) {
    OnAbort(self, m.abort().reason(), now_millis, step);
    return;
  }
  if (!m.has_secagg() || m.secagg().query_id() != query_id_) return;
  // The claimed sender must be this school's own roster index: a node
  // cannot pass on (replay) a neighbour's signed message as its own.
  if (ClaimedSender(m.secagg()) != self) return;
  const absl::Status received = secagg_.Receive(m.secagg());
  if (secagg_.failed()) {
    outcome_ = received;  // the message showed the sum cannot be right
    return;
  }
  if (!received.ok()) return;  // invalid: dropped
  Advance(now_millis, step);
}

void SecAggPhase::OnAbort(uint32_t self, const std::string& reason,
                          int64_t now_millis, RunStep& step) {
  // The school's own words, shortened and reduced to printable ASCII: they
  // reach the audit log and the requester.
  std::string why = reason.substr(0, kMaxAbortReason);
  for (char& c : why) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b >= 0x7f) c = '?';
  }
  if (why.empty()) why = "no reason given";
  const std::string& school = roster_[self];
  if (absl::Status s = secagg_.ReportAbort(self, why); !s.ok()) {
    if (secagg_.failed()) outcome_ = s;
    return;
  }
  step.audit.emplace_back(
      "dropped", StrCat("query ", query_id_, ": school ", school,
                        " aborted in round ", secagg_.round(), " (", why,
                        "); left out before its input reached the sum"));
  Advance(now_millis, step);
}

void SecAggPhase::OnTick(int64_t now_millis, RunStep& step) {
  if (outcome_ || now_millis < deadline_) return;
  CloseRound(now_millis, step);
  Advance(now_millis, step);
}

void SecAggPhase::Advance(int64_t now_millis, RunStep& step) {
  while (!outcome_ && secagg_.AllReceived()) CloseRound(now_millis, step);
}

void SecAggPhase::CloseRound(int64_t now_millis, RunStep& step) {
  auto outgoing = secagg_.CloseRound();
  if (!outgoing.ok()) {
    outcome_ = outgoing.status();
    return;
  }
  for (const auto& o : *outgoing) {
    v1::CoordinatorToNode m;
    *m.mutable_secagg() = o.message;
    Send(roster_[o.to], std::move(m), step);
  }
  deadline_ = now_millis + round_deadline_millis_;
  if (!secagg_.finished()) return;
  RunSum sum;
  for (uint32_t i : secagg_.result().contributors) {
    sum.contributors.push_back(roster_[i]);
  }
  auto noisy =
      query::RemoveOffsets(plan_, secagg_.result().sum,
                           static_cast<uint32_t>(sum.contributors.size()));
  if (!noisy.ok()) {
    outcome_ = noisy.status();
    return;
  }
  sum.sum = *std::move(noisy);
  sum.noise = plan_;
  if (sum.contributors.size() < min_schools_) {
    outcome_ = absl::FailedPreconditionError(
        StrCat("only ", sum.contributors.size(),
               " schools' inputs reached the sum (others dropped out); at "
               "least ",
               min_schools_, " are needed, so nothing is released"));
    return;
  }
  outcome_ = std::move(sum);
}

std::optional<v1::CoordinatorToNode> SecAggPhase::LastSent(
    const std::string& school) const {
  auto it = last_sent_.find(school);
  if (it == last_sent_.end()) return std::nullopt;
  return it->second;
}

std::unique_ptr<PlaintextPhase> PlaintextPhase::Start(
    const std::string& query_id, const std::vector<School>& roster, size_t dims,
    const RunOptions& options, int64_t now_millis, RunStep& step) {
  std::unique_ptr<PlaintextPhase> phase(new PlaintextPhase());
  phase->roster_ = Ids(roster);
  phase->dims_ = dims;
  phase->min_schools_ = options.min_schools;
  phase->deadline_ = now_millis + options.round_deadline_millis;
  v1::CoordinatorToNode start;
  start.mutable_run_start()->set_query_id(query_id);
  start.mutable_run_start()->set_benchmark_plaintext(true);
  for (const std::string& s : phase->roster_) step.send.push_back({s, start});
  return phase;
}

void PlaintextPhase::OnMessage(const std::string& from,
                               const v1::NodeToCoordinator& m, int64_t,
                               RunStep&) {
  if (outcome_ || !m.has_benchmark_plaintext()) return;
  const v1::BenchmarkPlaintext& p = m.benchmark_plaintext();
  if (std::find(roster_.begin(), roster_.end(), from) == roster_.end() ||
      static_cast<size_t>(p.values_size()) != dims_) {
    return;
  }
  vectors_[from].assign(p.values().begin(), p.values().end());
  if (vectors_.size() == roster_.size()) Finish();
}

void PlaintextPhase::OnTick(int64_t now_millis, RunStep&) {
  if (!outcome_ && now_millis >= deadline_) Finish();
}

void PlaintextPhase::Finish() {
  RunSum sum;
  sum.sum.assign(dims_, 0);
  for (const auto& [school, values] : vectors_) {
    for (size_t i = 0; i < dims_; ++i) {
      sum.sum[i] += static_cast<int64_t>(values[i]);
    }
    sum.contributors.push_back(school);
  }
  if (sum.contributors.size() < min_schools_) {
    outcome_ = absl::FailedPreconditionError("too few plaintext vectors");
    return;
  }
  outcome_ = std::move(sum);
}

}  // namespace kring::coordinator::internal
