#include "node/session.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "crypto/secagg/node.h"
#include "crypto/secagg/setup.h"
#include "node/policy.h"
#include "node/query_records.h"
#include "query/layout.h"
#include "query/noise.h"
#include "query/spec.h"
#include "util/str_cat.h"

namespace kring::node {

namespace {

// BLAKE2b-256 of `data`, in hex: what the audit log keeps of what was sent.
std::string Blake2b(std::string_view data) {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                     nullptr, 0);
  return absl::BytesToHexString(out);
}

v1::NodeToCoordinator DecisionReply(const std::string& query_id, bool accept,
                                    const std::string& reason) {
  v1::NodeToCoordinator reply;
  reply.mutable_decision()->set_query_id(query_id);
  reply.mutable_decision()->set_accept(accept);
  reply.mutable_decision()->set_reason(reason);
  return reply;
}

// Tells the coordinator that this school stopped taking part in `query_id`,
// so that it does not wait for it or count its input (`reason` must hold
// no pupil data).
v1::NodeToCoordinator AbortReply(const std::string& query_id,
                                 std::string_view reason) {
  v1::NodeToCoordinator reply;
  reply.mutable_abort()->set_query_id(query_id);
  reply.mutable_abort()->set_success(false);
  reply.mutable_abort()->set_reason(std::string(reason));
  return reply;
}

v1::QueryTicket TicketOf(const v1::Task& task) {
  v1::QueryTicket ticket;
  ticket.ParseFromString(task.ticket_bytes());
  return ticket;
}

bool Expired(int64_t respond_by_unix_millis, const SessionTime& now) {
  return respond_by_unix_millis != 0 &&
         respond_by_unix_millis < now.unix_millis;
}

}  // namespace

// One secure-aggregation run this school takes part in, and the last
// message of it from the coordinator with this node's answer: the same
// message again (sent after a reconnect) gets the same answer again, byte
// for byte, and never a second, different one.
class Session::Run {
 public:
  Run(std::string query_id,
      std::shared_ptr<const crypto::secagg::SecAggSetup> setup,
      std::unique_ptr<query::Query> query, crypto::secagg::SecAggNode node)
      : query_id(std::move(query_id)),
        setup(std::move(setup)),
        query(std::move(query)),
        node(std::move(node)) {}

  void Answered(const v1::CoordinatorToNode& request,
                const v1::NodeToCoordinator& reply, const SessionTime& now) {
    last_request = request.SerializeAsString();
    last_reply = reply;
    last_activity = now.monotonic;
  }

  const std::string query_id;
  const std::shared_ptr<const crypto::secagg::SecAggSetup> setup;
  const std::unique_ptr<query::Query> query;
  crypto::secagg::SecAggNode node;
  // What the run spends from the privacy budget once the masked input
  // leaves: the query's rho from each of these waves.
  std::vector<std::string> waves;
  std::string requester;
  std::string last_request;
  v1::NodeToCoordinator last_reply;
  std::chrono::steady_clock::time_point last_activity;
};

// A query this school accepted: what it needs to run it, and its noisy
// input once Prepare() drew it (wiped when the entry goes).
struct Session::Accepted {
  ~Accepted() {
    if (input) sodium_memzero(input->data(), input->size() * sizeof(uint64_t));
  }
  v1::QueryTicket ticket;
  std::string ticket_bytes;
  v1::NoiseCalibration calibration;
  int64_t respond_by_unix_millis = 0;
  bool prepared = false;
  std::optional<std::vector<uint64_t>> input;  // set if prepared and drawn
  std::string not_prepared;                    // why not, if prepared
};

Session::Session(SessionOptions options,
                 const crypto::IdentityKeyPair* identity, AuditSink* audit,
                 SchoolRecords* records, PendingQueue* pending)
    : options_(std::move(options)),
      identity_(identity),
      audit_(audit),
      records_(records),
      pending_(pending) {}

Session::~Session() = default;

absl::Status Session::LogChecked(std::string_view kind,
                                 std::string_view summary, AuditFields fields) {
  return audit_->Append(kind, summary, std::move(fields));
}

void Session::Log(std::string_view kind, std::string_view summary,
                  AuditFields fields) {
  (void)LogChecked(kind, summary, std::move(fields));
}

void Session::LogOnce(std::string_view key, const std::string& query_id,
                      std::string_view kind, std::string_view summary,
                      AuditFields fields) {
  if (noted_.emplace(std::string(key), query_id).second) {
    Log(kind, summary, std::move(fields));
  }
}

std::vector<v1::NodeToCoordinator> Session::Handle(
    const v1::CoordinatorToNode& m, const SessionTime& now) {
  std::vector<v1::NodeToCoordinator> out;
  DropStaleRuns(now);
  switch (m.body_case()) {
    case v1::CoordinatorToNode::kTask:
      OnTask(m.task(), now, out);
      break;
    case v1::CoordinatorToNode::kRunStart:
      OnRunStart(m, now, out);
      break;
    case v1::CoordinatorToNode::kSecagg:
      OnSecAgg(m, now, out);
      break;
    case v1::CoordinatorToNode::kRunEnd:
      OnRunEnd(m.run_end());
      break;
    default:
      break;
  }
  return out;
}

void Session::OnTask(const v1::Task& task, const SessionTime& now,
                     std::vector<v1::NodeToCoordinator>& out) {
  const std::string& id = task.query_id();
  if (Expired(task.respond_by_unix_millis(), now)) {
    Log("task",
        StrCat("Skipped query ", id, ": it expired before this node saw it"),
        {{"query_id", id}});
    return;
  }
  if (AnswerAcceptedAgain(task, out)) return;
  Decision d = Decide(options_.config, options_.instruments, task);
  if (d.accept) {
    if (std::optional<std::string> no = TaskRefusal(task)) {
      d.accept = false;
      d.reason = *std::move(no);
    } else if (std::optional<std::string> no = InstrumentRefusal(task)) {
      d.accept = false;
      d.reason = *std::move(no);
    } else if (std::optional<std::string> no = BudgetRefusal(task)) {
      d.accept = false;
      d.reason = *std::move(no);
    }
  }
  Log("task",
      StrCat("Received query ", id, ": ",
             d.summary.empty() ? "(not readable)" : d.summary),
      {{"query_id", id}, {"ticket_blake2b", Blake2b(task.ticket_bytes())}});
  if (d.accept && options_.config.policy.manual_accept) {
    absl::Status s =
        pending_->Put({id, d.summary, TicketOf(task).requester_id(),
                       task.respond_by_unix_millis()});
    if (s.ok()) {
      waiting_[id] = task;
      Log("waiting",
          StrCat("Query ", id,
                 " passes this school's checks and waits for school IT: "
                 "kring-node accept or decline"),
          {{"query_id", id}});
      return;  // answered when school IT decides
    }
    d = {
        false,
        StrCat("could not queue the query for school IT: ", ToStd(s.message())),
        d.summary};
  }
  AuditFields fields = {{"query_id", id},
                        {"accepted", d.accept ? "yes" : "no"}};
  absl::Status logged = LogChecked(
      "decision",
      StrCat(d.accept ? "Accepted" : "Declined", " query ", id, ": ", d.reason),
      fields);
  if (d.accept && !logged.ok()) {
    // Nothing is taken part in unrecorded (a full disk, say).
    d = {false,
         "this school cannot write its audit log (is its disk full?) and "
         "takes part in nothing unrecorded",
         d.summary};
  }
  if (d.accept) Accept(task);
  out.push_back(DecisionReply(id, d.accept, d.reason));
}

std::optional<std::string> Session::TaskRefusal(const v1::Task& task) {
  const v1::NoiseCalibration& c = task.noise();
  if (c.min_shares() == 0 || c.max_shares() < c.min_shares()) {
    return "the task does not say how many schools the noise is calibrated "
           "for (is the coordinator older than this node? update it)";
  }
  return std::nullopt;
}

void Session::Accept(const v1::Task& task) {
  auto a = std::make_unique<Accepted>();
  a->ticket = TicketOf(task);
  a->ticket_bytes = task.ticket_bytes();
  a->calibration = task.noise();
  a->respond_by_unix_millis = task.respond_by_unix_millis();
  accepted_[task.query_id()] = std::move(a);
}

bool Session::AnswerAcceptedAgain(const v1::Task& task,
                                  std::vector<v1::NodeToCoordinator>& out) {
  const std::string& id = task.query_id();
  auto it = accepted_.find(id);
  if (it == accepted_.end() || runs_.contains(id) ||
      it->second->ticket_bytes != task.ticket_bytes() ||
      TaskRefusal(task).has_value()) {
    return false;
  }
  const v1::NoiseCalibration& now = task.noise();
  const v1::NoiseCalibration& before = it->second->calibration;
  if (now.min_shares() != before.min_shares() ||
      now.max_shares() != before.max_shares()) {
    // The same approved query, asked again of fewer schools: accepted
    // again as decided before (school IT is not asked twice), with fresh
    // noise for the new calibration.
    Log("decision",
        StrCat("Accepted query ", id,
               " again: fewer schools took part, and the coordinator "
               "calibrated the noise for ",
               now.min_shares(), " to ", now.max_shares(), " schools"),
        {{"query_id", id}, {"accepted", "yes"}});
    Accept(task);
  }
  out.push_back(DecisionReply(id, true, "accepted before"));
  return true;
}

void Session::Prepare() {
  for (auto& [id, a] : accepted_) {
    if (a->prepared || runs_.contains(id)) continue;
    a->prepared = true;
    auto input = NoisyContributionTo(a->ticket, a->calibration);
    if (input.ok()) {
      a->input = *std::move(input);
    } else {
      a->not_prepared = ToStd(input.status().message());
    }
  }
}

std::vector<v1::NodeToCoordinator> Session::PollDecisions(
    const SessionTime& now) {
  std::vector<v1::NodeToCoordinator> out;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const std::string id = it->first;
    if (std::optional<ItDecision> it_said = pending_->TakeDecision(id)) {
      const bool accept = it_said->accept;
      const std::string reason =
          StrCat(accept ? "accepted" : "declined", " by school IT",
                 it_said->note.empty() ? "" : ": ", it_said->note);
      if (accept) Accept(it->second);
      Log("decision",
          StrCat(accept ? "Accepted" : "Declined", " query ", id, ": ", reason),
          {{"query_id", id}, {"accepted", accept ? "yes" : "no"}});
      out.push_back(DecisionReply(id, accept, reason));
      it = waiting_.erase(it);
    } else if (Expired(it->second.respond_by_unix_millis(), now)) {
      Log("decision", StrCat("Query ", id, " expired before school IT decided"),
          {{"query_id", id}});
      pending_->Remove(id);
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

void Session::OnRunStart(const v1::CoordinatorToNode& m, const SessionTime& now,
                         std::vector<v1::NodeToCoordinator>& out) {
  const std::string& id = m.run_start().query_id();
  if (m.run_start().benchmark_plaintext()) {
    OnPlaintextStart(id, out);
    return;
  }
  if (auto it = runs_.find(id); it != runs_.end()) {
    AnswerAgain(*it->second, m, now, out);
    return;
  }
  if (absl::Status refused = RefuseSecondRun(id); !refused.ok()) {
    LogOnce("refused", id, "refused",
            StrCat("Refused to take part in query ", id,
                   " again: ", ToStd(refused.message())),
            {{"query_id", id}});
    return;
  }
  auto reply = StartRun(m.run_start(), now);
  if (!reply.ok()) {
    Log("aborted",
        StrCat("Did not take part in query ", id, ": ",
               ToStd(reply.status().message())),
        {{"query_id", id}});
    // The details (which may concern the school's records) stay here.
    out.push_back(AbortReply(
        id, "the school could not start its run; its audit log says why"));
    return;
  }
  runs_.at(id)->Answered(m, *reply, now);
  out.push_back(*std::move(reply));
}

void Session::OnPlaintextStart(const std::string& id,
                               std::vector<v1::NodeToCoordinator>& out) {
  if (!options_.plaintext_sender) {
    Log("aborted",
        StrCat("Refused to send query ", id,
               " in the clear: plaintext runs exist only in benchmarks"),
        {{"query_id", id}});
    return;
  }
  auto accepted = accepted_.find(id);
  if (accepted == accepted_.end()) return;
  auto query = query::Query::Create(accepted->second->ticket.spec(),
                                    options_.instruments);
  if (!query.ok()) return;
  auto input = ContributionTo(*query);
  if (input.ok()) out.push_back(options_.plaintext_sender(id, *input));
}

void Session::OnSecAgg(const v1::CoordinatorToNode& m, const SessionTime& now,
                       std::vector<v1::NodeToCoordinator>& out) {
  auto it = runs_.find(m.secagg().query_id());
  if (it == runs_.end()) return;
  Run& run = *it->second;
  if (AnswerAgain(run, m, now, out)) return;
  auto reply = run.node.Handle(m.secagg());
  if (!reply.ok() &&
      run.node.state() != crypto::secagg::SecAggNode::State::kAborted) {
    // A stale or repeated message; the run goes on. Noted once per round,
    // as evidence if the coordinator misbehaves.
    const std::string round = std::to_string(m.secagg().round());
    LogOnce(StrCat("rejected ", round), run.query_id, "rejected",
            StrCat("Ignored a round-", round, " message for query ",
                   run.query_id, ": ", ToStd(reply.status().message())),
            {{"query_id", run.query_id}, {"round", round}});
    return;
  }
  absl::Status logged = reply.ok() && reply->has_masked_input()
                            ? RecordSent(run, *reply, now)
                            : absl::OkStatus();
  if (!reply.ok() || !logged.ok()) {
    Log("aborted",
        StrCat("Stopped taking part in query ", run.query_id, ": ",
               ToStd(reply.ok() ? logged.message() : reply.status().message())),
        {{"query_id", run.query_id}});
    // The protocol's reason (no secrets, no records), or that the
    // contribution could not be recorded, which is why it was not sent.
    out.push_back(AbortReply(
        run.query_id,
        reply.ok()
            ? "the school could not record its contribution before "
              "sending it"
            : StrCat("secure aggregation aborted: ", run.node.abort_reason())));
    EndRun(run.query_id);
    return;
  }
  v1::NodeToCoordinator msg;
  *msg.mutable_secagg() = *std::move(reply);
  run.Answered(m, msg, now);
  out.push_back(std::move(msg));
}

// What leaves the school, recorded before it is sent; at most once per
// query, ever: a second sum of the same query over another set of schools
// could reveal this school's numbers.
absl::Status Session::RecordSent(const Run& run, const v1::SecAggMessage& reply,
                                 const SessionTime& now) {
  if (absl::Status s = RefuseSecondRun(run.query_id); !s.ok()) return s;
  // Atomic across processes: only one can mark the query, and the
  // privacy budget is charged with the mark or not at all.
  const PrivacySpend spend{run.query_id, run.waves, run.query->rho(),
                           run.requester, now.unix_millis};
  if (absl::Status s = records_->SpendPrivacy(
          spend, options_.config.policy.privacy_budget_per_wave);
      !s.ok()) {
    return s;
  }
  return LogChecked("sent",
                    StrCat("Sent the masked contribution to query ",
                           run.query_id, " (", run.setup->dims(),
                           " numbers; readable only in the sum over schools)"),
                    {{"query_id", run.query_id},
                     {"layout_elements", std::to_string(run.setup->dims())},
                     {"masked_vector_blake2b",
                      Blake2b(reply.masked_input().SerializeAsString())}});
}

void Session::OnRunEnd(const v1::RunEnd& e) {
  if (!runs_.contains(e.query_id()) && !accepted_.contains(e.query_id())) {
    return;
  }
  Log("finished",
      StrCat("Query ", e.query_id(),
             e.success() ? " finished; the result was released"
                         : StrCat(" failed: ", e.reason())),
      {{"query_id", e.query_id()}});
  EndRun(e.query_id());
}

// The coordinator sends a round's message again to a node that reconnects
// mid-run (the first copy or this node's answer may have been lost with the
// connection). The very message answered last gets the same answer again;
// true if `m` was that message. For RunStart, any other one is ignored (the
// run has started).
bool Session::AnswerAgain(Run& run, const v1::CoordinatorToNode& m,
                          const SessionTime& now,
                          std::vector<v1::NodeToCoordinator>& out) {
  if (run.last_request != m.SerializeAsString()) {
    if (!m.has_run_start()) return false;
    LogOnce("rejected start", run.query_id, "rejected",
            StrCat("Ignored a second, different start of query ", run.query_id,
                   " (this school keeps to the run it started)"),
            {{"query_id", run.query_id}});
    return true;
  }
  run.last_activity = now.monotonic;
  const std::string round = std::to_string(run.last_reply.secagg().round());
  LogOnce("resent " + round, run.query_id, "resent",
          StrCat("Sent round ", round, " of query ", run.query_id,
                 " again after reconnecting (the same message as before)"),
          {{"query_id", run.query_id}, {"round", round}});
  out.push_back(run.last_reply);
  return true;
}

// Forgets a run (wiping its secrets) and its accepted ticket; the query is
// never started again by this process.
void Session::EndRun(std::string query_id) {
  runs_.erase(query_id);
  ended_.insert(query_id);
  accepted_.erase(query_id);
}

void Session::DropStaleRuns(const SessionTime& now) {
  std::vector<std::string> stale;
  for (const auto& [id, run] : runs_) {
    if (now.monotonic - run->last_activity > options_.run_resume_window) {
      stale.push_back(id);
    }
  }
  for (const std::string& id : stale) {
    Log("aborted",
        StrCat("Gave up query ", id, ": the coordinator did not continue it"),
        {{"query_id", id}});
    EndRun(id);
  }
  // Accepted but never started: the drawn noise is wiped.
  const int64_t window = std::chrono::duration_cast<std::chrono::milliseconds>(
                             options_.run_resume_window)
                             .count();
  for (auto it = accepted_.begin(); it != accepted_.end();) {
    const int64_t by = it->second->respond_by_unix_millis;
    if (!runs_.contains(it->first) && by != 0 &&
        now.unix_millis > by + window) {
      it = accepted_.erase(it);
    } else {
      ++it;
    }
  }
}

// OK unless this school must not run `query_id` (again): it already sent
// its contribution to it (the store or the audit log says so, also after a
// restart or with one of the two restored from a backup), or its run of it
// ended in this process.
absl::Status Session::RefuseSecondRun(const std::string& query_id) {
  if (ended_.contains(query_id)) {
    return absl::FailedPreconditionError(
        "this school's run of it already ended");
  }
  auto sent = audit_->Contains("sent", "query_id", query_id);
  if (!sent.ok()) {
    return absl::Status(sent.status().code(),
                        StrCat("cannot read the audit log to check that "
                               "this school did not contribute before: ",
                               ToStd(sent.status().message())));
  }
  auto marked = records_->Contributed(query_id);
  if (!marked.ok()) return marked.status();
  if (*sent || *marked) {
    return absl::FailedPreconditionError(
        "this school already sent its contribution to it; a second sum "
        "over another set of schools could reveal this school's numbers");
  }
  return absl::OkStatus();
}

// This school's records as `query` reads them (node/query_records.h):
// those of the query's instrument, and those of another registered
// instrument translated to it; the others left out.
absl::StatusOr<std::vector<v1::PupilRecord>> Session::RecordsFor(
    const query::Query& query) {
  std::vector<v1::PupilRecord> all;
  std::set<std::string> instruments;
  if (absl::Status s = records_->ForEach([&](const v1::PupilRecord& r) {
        instruments.insert(r.instrument_id());
        all.push_back(r);
      });
      !s.ok()) {
    return s;
  }
  const QueryRecords plan(query, options_.instruments, instruments);
  std::vector<v1::PupilRecord> records;
  records.reserve(all.size());
  for (const v1::PupilRecord& r : all) {
    if (std::optional<v1::PupilRecord> read = plan.Read(r)) {
      records.push_back(*std::move(read));
    }
  }
  return records;
}

// Why this school cannot take part in the task's query with the
// instruments its records follow, or nullopt.
std::optional<std::string> Session::InstrumentRefusal(const v1::Task& task) {
  auto query =
      query::Query::Create(TicketOf(task).spec(), options_.instruments);
  if (!query.ok()) return std::string(query.status().message());
  std::set<std::string> instruments;
  if (absl::Status s = records_->ForEach([&](const v1::PupilRecord& r) {
        instruments.insert(r.instrument_id());
      });
      !s.ok()) {
    return "this school's records cannot be read";
  }
  return QueryRecords(*query, options_.instruments, instruments).refusal();
}

// This school's contribution vector to `query` (its layout).
absl::StatusOr<std::vector<uint64_t>> Session::ContributionTo(
    const query::Query& query, uint64_t school_cap) {
  auto records = RecordsFor(query);
  if (!records.ok()) return records.status();
  return query::Contribution(query::Layout(query), *records,
                             options_.config.municipality, school_cap);
}

absl::StatusOr<std::vector<std::string>> Session::WavesTouched(
    const query::Query& query) {
  auto records = RecordsFor(query);
  if (!records.ok()) return records.status();
  std::set<std::string> waves;
  for (const v1::PupilRecord& r : *records) {
    if (query.InPopulation(r, options_.config.municipality)) {
      waves.insert(r.wave());
    }
  }
  return std::vector<std::string>(waves.begin(), waves.end());
}

std::optional<std::string> Session::BudgetRefusal(const v1::Task& task) {
  auto query =
      query::Query::Create(TicketOf(task).spec(), options_.instruments);
  if (!query.ok()) return std::string(query.status().message());
  auto waves = WavesTouched(*query);
  auto spent = records_->PrivacySpent();
  if (!waves.ok() || !spent.ok()) {
    return "this school's privacy ledger cannot be read";
  }
  return node::BudgetRefusal(*spent, *waves, query->rho(),
                             options_.config.policy.privacy_budget_per_wave);
}

// This school's input to a run of `ticket`: its contribution plus its
// share of the noise, calibrated to sums of at least min_shares schools
// (StartRun accepts only runs whose threshold is at least that: the
// secure-aggregation node refuses to unmask a sum of fewer than threshold
// schools, so at least min_shares shares of noise are in every sum it
// helps reveal).
absl::StatusOr<std::vector<uint64_t>> Session::NoisyContributionTo(
    const v1::QueryTicket& ticket, const v1::NoiseCalibration& calibration) {
  auto query = query::Query::Create(ticket.spec(), options_.instruments);
  if (!query.ok()) return query.status();
  const query::Layout layout(*query);
  auto plan = query::NoisePlan::Create(
      layout, query->rho(), calibration.min_shares(), calibration.max_shares());
  if (!plan.ok()) return plan.status();
  auto contribution = ContributionTo(*query, plan->school_cap());
  if (!contribution.ok()) return contribution.status();
  query::NoiseSource& noise =
      options_.noise ? *options_.noise : query::SystemNoise();
  auto input = query::NoisyInput(*plan, *contribution, noise);
  sodium_memzero(contribution->data(), contribution->size() * sizeof(uint64_t));
  return input;
}

absl::StatusOr<v1::NodeToCoordinator> Session::StartRun(
    const v1::RunStart& start, const SessionTime& now) {
  auto accepted = accepted_.find(start.query_id());
  if (accepted == accepted_.end()) {
    return absl::FailedPreconditionError("this school did not accept it");
  }
  Accepted& accepted_query = *accepted->second;
  const v1::QueryTicket& ticket = accepted_query.ticket;
  if (start.config().query_id() != start.query_id()) {
    return absl::InvalidArgumentError(
        "the run's configuration names another query");
  }
  if (start.config().query_seed() != ticket.query_seed()) {
    return absl::PermissionDeniedError(
        "the run's seed differs from the approved query's");
  }
  auto setup = crypto::secagg::SecAggSetup::Create(start.config());
  if (!setup.ok()) return setup.status();
  // The school's own floor on how many schools a sum may cover: fewer
  // would bring the sum too close to this school's own numbers.
  if ((*setup)->size() < options_.config.policy.min_schools) {
    return absl::PermissionDeniedError(
        StrCat("the run has ", (*setup)->size(),
               " schools; this school takes part only with at least ",
               options_.config.policy.min_schools));
  }
  // The noise was drawn for this calibration when the school accepted.
  const v1::NoiseCalibration& calibration = accepted_query.calibration;
  if ((*setup)->threshold() < calibration.min_shares() ||
      (*setup)->size() > calibration.max_shares()) {
    return absl::PermissionDeniedError(
        StrCat("the run (", (*setup)->size(), " schools, threshold ",
               (*setup)->threshold(),
               ") does not keep to the noise calibration "
               "this school accepted (sums of at least ",
               calibration.min_shares(), " of at most ",
               calibration.max_shares(), " schools)"));
  }
  if (!accepted_query.prepared) {
    return absl::FailedPreconditionError(
        "this school's noise was not drawn before the run started");
  }
  if (!accepted_query.input) {
    return absl::FailedPreconditionError(
        StrCat("this school could not prepare its input: ",
               accepted_query.not_prepared));
  }
  uint32_t self = UINT32_MAX;
  for (uint32_t i = 0; i < (*setup)->size(); ++i) {
    if ((*setup)->node_id(i) == options_.config.school_id) self = i;
  }
  if (self == UINT32_MAX) {
    return absl::FailedPreconditionError("this school is not in the run");
  }
  auto q = query::Query::Create(ticket.spec(), options_.instruments);
  if (!q.ok()) return q.status();
  auto query = std::make_unique<query::Query>(*std::move(q));
  if (query::Layout(*query).size() != (*setup)->dims()) {
    return absl::FailedPreconditionError(
        "the run's vector length does not match the query's layout");
  }
  std::vector<uint64_t> input = *std::move(accepted_query.input);
  accepted_query.input.reset();
  accepted_query.not_prepared = "it was used by a run that did not start";
  auto node = crypto::secagg::SecAggNode::Create(*setup, self, *identity_,
                                                 std::move(input));
  if (!node.ok()) return node.status();
  auto waves = WavesTouched(*query);
  if (!waves.ok()) return waves.status();
  auto run = std::make_unique<Run>(start.query_id(), *setup, std::move(query),
                                   *std::move(node));
  run->waves = *std::move(waves);
  run->requester = ticket.requester_id();
  auto first = run->node.Start();
  if (!first.ok()) return first.status();
  run->last_activity = now.monotonic;
  runs_[start.query_id()] = std::move(run);
  v1::NodeToCoordinator msg;
  *msg.mutable_secagg() = *std::move(first);
  return msg;
}

}  // namespace kring::node
