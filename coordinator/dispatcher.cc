#include "coordinator/dispatcher.h"

#include <iostream>
#include <vector>

#include "nlohmann/json.hpp"
#include "query/decode.h"
#include "query/release.h"
#include "util/status_macros.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

// Release entries of the ledger as JSON, to persist and reload.
nlohmann::json LedgerJson(const query::Release& r) {
  nlohmann::json figures = nlohmann::json::object();
  for (const auto& [k, v] : r.figures()) {
    figures[k] = {v.respondents, v.schools};
  }
  return {{"id", r.id()},
          {"key", r.statistic_key()},
          {"participants", r.participants()},
          {"figures", figures}};
}

absl::StatusOr<query::Release> LedgerFromJson(const std::string& text) {
  try {
    auto j = nlohmann::json::parse(text);
    std::map<std::string, query::CellStats> figures;
    for (const auto& [k, v] : j["figures"].items()) {
      figures[k] = {v[0].get<uint64_t>(), v[1].get<uint64_t>()};
    }
    return query::Release::Create(
        j["id"].get<std::string>(), j["key"].get<std::string>(),
        j["participants"].get<std::set<std::string>>(), std::move(figures));
  } catch (const nlohmann::json::exception&) {
    return absl::DataLossError("a release-ledger entry cannot be read");
  }
}

// The noisy answer a ledger entry keeps for repeats (query/ledger.h,
// RepeatAnswers), if any.
absl::Status LoadRepeatAnswer(const std::string& text, const std::string& id,
                              query::RepeatAnswers& repeats) {
  try {
    auto j = nlohmann::json::parse(text);
    if (!j.contains("repeat_key")) return absl::OkStatus();
    repeats.Record(j["repeat_key"].get<std::string>(),
                   {id, j["noisy"].get<std::vector<int64_t>>()});
    return absl::OkStatus();
  } catch (const nlohmann::json::exception&) {
    return absl::DataLossError(
        "a release-ledger entry's earlier answer cannot be read");
  }
}

v1::CoordinatorToNode RunEnd(const v1::QueryInfo& q) {
  v1::CoordinatorToNode end;
  end.mutable_run_end()->set_query_id(q.ticket().query_id());
  end.mutable_run_end()->set_success(q.state() == v1::QUERY_STATE_RELEASED);
  end.mutable_run_end()->set_reason(q.reason());
  return end;
}

// The query a node message is about ("" for none).
std::string QueryOf(const v1::NodeToCoordinator& m) {
  switch (m.body_case()) {
    case v1::NodeToCoordinator::kDecision:
      return m.decision().query_id();
    case v1::NodeToCoordinator::kSecagg:
      return m.secagg().query_id();
    case v1::NodeToCoordinator::kBenchmarkPlaintext:
      return m.benchmark_plaintext().query_id();
    case v1::NodeToCoordinator::kAbort:
      return m.abort().query_id();
    default:
      return "";
  }
}

}  // namespace

Dispatcher::Dispatcher(CoordinatorDb& db, AuditLog& audit, Registry& registry,
                       const survey::InstrumentRegistry& instruments,
                       const Clock& clock, DispatchOptions options)
    : db_(db),
      audit_(audit),
      registry_(registry),
      instruments_(instruments),
      clock_(clock),
      options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Create(
    CoordinatorDb& db, AuditLog& audit, Registry& registry,
    const survey::InstrumentRegistry& instruments, const Clock& clock,
    DispatchOptions options) {
  std::unique_ptr<Dispatcher> d(new Dispatcher(db, audit, registry, instruments,
                                               clock, std::move(options)));
  KRING_RETURN_IF_ERROR(d->LoadLedger());
  if (d->options_.recover_interrupted_runs) {
    KRING_RETURN_IF_ERROR(d->FailInterruptedRuns());
  }
  return d;
}

absl::Status Dispatcher::LoadLedger() {
  KRING_ASSIGN_OR_RETURN(const std::vector<std::string> entries,
                         db_.LoadLedger());
  for (const std::string& e : entries) {
    KRING_ASSIGN_OR_RETURN(query::Release r, LedgerFromJson(e));
    KRING_RETURN_IF_ERROR(LoadRepeatAnswer(e, r.id(), repeats_));
    // Admitted before: record without re-checking.
    ledger_.Admit(std::move(r), {0, 0}).IgnoreError();
  }
  return absl::OkStatus();
}

absl::Status Dispatcher::FailInterruptedRuns() {
  KRING_ASSIGN_OR_RETURN(std::vector<v1::QueryInfo> queries, db_.ListQueries());
  for (v1::QueryInfo& q : queries) {
    if (q.state() != v1::QUERY_STATE_RUNNING) continue;
    q.set_state(v1::QUERY_STATE_FAILED);
    q.set_reason(
        "the coordinator restarted during the run; no result was released. "
        "Submit the query again");
    KRING_RETURN_IF_ERROR(RecordAudit(audit_, "failed",
                                      StrCat("query ", q.ticket().query_id(),
                                             " failed: coordinator "
                                             "restarted")));
    KRING_RETURN_IF_ERROR(db_.PutQuery(q));
    Remember(RunEnd(q), {});
  }
  return absl::OkStatus();
}

RunOptions Dispatcher::NewRunOptions() const {
  RunOptions ro;
  ro.decision_window_millis = options_.decision_window_millis;
  ro.round_deadline_millis = options_.round_deadline_millis;
  ro.min_schools = static_cast<uint32_t>(options_.policy.normal().min_schools);
  ro.goals = options_.goals;
  ro.benchmark_plaintext = benchmark_plaintext_;
  return ro;
}

void Dispatcher::Start(const v1::QueryInfo& info) {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowUnixMillis();
  auto schools =
      registry_.SchoolsIn(info.ticket().spec().population().municipalities());
  if (!schools.ok()) {
    Store(info, schools.status());
    return;
  }
  auto driver = RunDriver::Create(info, *std::move(schools), instruments_,
                                  NewRunOptions(), now);
  if (!driver.ok()) {
    Store(info, driver.status());
    return;
  }
  RunDriver& run = **driver;
  runs_[run.query_id()] = *std::move(driver);
  Apply(run, run.Start(now));
}

absl::Status Dispatcher::Connected(const std::string& school_id,
                                   std::shared_ptr<NodeLink> link) {
  std::lock_guard lock(mu_);
  auto it = links_.find(school_id);
  if (it != links_.end()) {
    if (it->second->Healthy()) {
      Note(school_id,
           "refused a second connection: the school's link is still live");
      return absl::AlreadyExistsError(StrCat(
          "school ", school_id,
          " is already connected; another kring-node with this identity may "
          "be running. Stop it, or wait until its link is gone"));
    }
    Note(school_id, "replaced a link that was no longer healthy");
  }
  links_[school_id] = link;
  for (const RecentEnd& end : recent_ends_) {
    if (end.targets.empty() || end.targets.count(school_id)) {
      link->Send(end.message);
    }
  }
  // Sent under the lock, so a resent round message cannot overtake the
  // next round's.
  for (const auto& [id, run] : runs_) {
    for (const auto& m : run->OnConnected(school_id)) link->Send(m);
  }
  return absl::OkStatus();
}

void Dispatcher::Disconnected(const std::string& school_id,
                              const NodeLink* link) {
  std::lock_guard lock(mu_);
  auto it = links_.find(school_id);
  if (it != links_.end() && it->second.get() == link) {
    links_.erase(it);
    Note(school_id, "disconnected");
  }
}

bool Dispatcher::IsConnected(const std::string& school_id) {
  std::lock_guard lock(mu_);
  return links_.count(school_id) > 0;
}

std::vector<v1::NodeEvent> Dispatcher::Events(const std::string& school_id) {
  std::lock_guard lock(mu_);
  auto it = events_.find(school_id);
  if (it == events_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

void Dispatcher::Note(const std::string& school_id, std::string what) {
  std::cerr << "kring-coordinator: school " << school_id << ": " << what
            << "\n";
  std::deque<v1::NodeEvent>& events = events_[school_id];
  v1::NodeEvent& e = events.emplace_back();
  e.set_unix_millis(clock_.NowUnixMillis());
  e.set_what(std::move(what));
  while (events.size() > kEventsPerSchool) events.pop_front();
}

void Dispatcher::NoteExclusions(const RunDriver& run) {
  std::set<std::string> counted;
  if (run.outcome().ok()) {
    counted.insert(run.outcome()->contributors.begin(),
                   run.outcome()->contributors.end());
  }
  for (const v1::NodeDecisionRecord& d : run.info().decisions()) {
    const std::string& school = d.school_id();
    if (!d.accepted()) {
      Note(school, StrCat("not in query ", run.query_id(), ": ", d.reason(),
                          links_.count(school) ? " (its link was up)"
                                               : " (no live link)"));
    } else if (run.outcome().ok() && !counted.count(school)) {
      Note(school, StrCat("not in query ", run.query_id(),
                          ": accepted, then dropped out of secure "
                          "aggregation"));
    }
  }
}

void Dispatcher::FromNode(const std::string& school_id,
                          const v1::NodeToCoordinator& message) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(QueryOf(message));
  if (it == runs_.end()) return;  // too late, or not a run's message
  RunDriver& run = *it->second;
  Apply(run, run.OnMessage(school_id, message, clock_.NowUnixMillis()));
}

void Dispatcher::Tick() {
  std::lock_guard lock(mu_);
  const int64_t now = clock_.NowUnixMillis();
  StoreUnstored(now);
  std::vector<std::string> ids;
  for (const auto& [id, run] : runs_) ids.push_back(id);
  for (const std::string& id : ids) {
    auto it = runs_.find(id);
    if (it == runs_.end()) continue;
    RunDriver& run = *it->second;
    Apply(run, run.OnTick(now));
  }
}

void Dispatcher::Apply(RunDriver& run, RunStep step) {
  for (const auto& [kind, summary] : step.audit) {
    if (auto s = RecordAudit(audit_, kind, summary); !s.ok()) {
      run.Abort(s);
      step.send.clear();  // nothing goes out unrecorded
      break;
    }
  }
  for (const Outgoing& o : step.send) SendTo(o.to, o.message);
  if (run.done()) Finish(run);
}

void Dispatcher::Finish(RunDriver& run) {
  absl::Status status = run.outcome().status();
  v1::QueryInfo info = run.info();
  if (status.ok()) {
    const RunSum& sum = *run.outcome();
    info.set_participants(static_cast<uint32_t>(sum.contributors.size()));
    status = Release(run, sum);
  }
  if (status.ok()) {
    // The result becomes readable only with the query's RELEASED state,
    // which is stored after its audit entry.
    status = RecordAudit(audit_, "released",
                         StrCat("query ", run.query_id(), " released to ",
                                info.ticket().requester_id(), " (",
                                info.participants(), " schools)"));
  }
  NoteExclusions(run);
  const std::set<std::string> targets = run.targets();
  const v1::QueryInfo stored = Store(info, status);
  for (const std::string& s : targets) SendTo(s, RunEnd(stored));
  Remember(RunEnd(stored), targets);
  runs_.erase(stored.ticket().query_id());  // destroys `run`
}

v1::QueryInfo Dispatcher::Store(v1::QueryInfo info,
                                const absl::Status& status) {
  const std::string& qid = info.ticket().query_id();
  std::string unaudited, plain_reason;
  if (status.ok()) {
    info.set_state(v1::QUERY_STATE_RELEASED);
  } else {
    info.set_state(v1::QUERY_STATE_FAILED);
    plain_reason = std::string(ToStd(status.message()));
    info.set_reason(plain_reason);
    const std::string summary =
        StrCat("query ", qid, " failed: ", plain_reason);
    if (auto s = RecordAudit(audit_, "failed", summary); !s.ok()) {
      unaudited = summary;
      info.set_reason(StrCat(plain_reason,
                             " (this failure is not in the "
                             "audit log either: ",
                             ToStd(s.message()), ")"));
    }
  }
  if (auto s = db_.PutQuery(info); !s.ok()) {
    // Readers see the outcome (Overlay); Tick stores it once it can, and
    // if the coordinator stops first, the next start fails the run.
    std::cerr << "kring-coordinator: cannot store the outcome of query " << qid
              << " yet (retrying): " << s.message() << "\n";
    unstored_[qid] = {info, unaudited, plain_reason};
  }
  ++ends_;
  ended_.notify_all();
  return info;
}

void Dispatcher::StoreUnstored(int64_t now_millis) {
  if (unstored_.empty() || now_millis < next_store_retry_millis_) return;
  next_store_retry_millis_ = now_millis + 1000;
  for (auto it = unstored_.begin(); it != unstored_.end();) {
    Unstored& u = it->second;
    if (!u.unaudited.empty()) {
      if (!RecordAudit(audit_, "failed", u.unaudited).ok()) return;
      u.unaudited.clear();
      u.info.set_reason(u.plain_reason);
    }
    if (!db_.PutQuery(u.info).ok()) return;
    std::cerr << "kring-coordinator: stored the outcome of query " << it->first
              << "\n";
    it = unstored_.erase(it);
  }
}

void Dispatcher::Overlay(v1::QueryInfo& q) {
  std::lock_guard lock(mu_);
  auto it = unstored_.find(q.ticket().query_id());
  if (it != unstored_.end()) q = it->second.info;
}

absl::Status Dispatcher::Release(const RunDriver& run, const RunSum& sum) {
  // Secure aggregation's sums carry the schools' noise; only the
  // benchmark's plaintext sums (never from kring-node) have none.
  absl::StatusOr<query::Result> result;
  std::set<std::string> participants(sum.contributors.begin(),
                                     sum.contributors.end());
  std::string repeat_key;
  const query::RepeatAnswers::Answer* earlier = nullptr;
  if (sum.noise) {
    // The same query over the same schools is answered as before.
    repeat_key =
        query::RepeatAnswers::Key(run.layout().query(), sum.noise->min_shares(),
                                  sum.noise->max_shares(), participants);
    earlier = repeats_.Find(repeat_key);
    if (earlier && earlier->noisy.size() != sum.sum.size()) earlier = nullptr;
    result = query::DecodeNoisy(run.layout(), *sum.noise,
                                earlier ? earlier->noisy : sum.sum,
                                static_cast<uint32_t>(sum.contributors.size()));
  } else {
    result = query::Decode(
        run.layout(), std::vector<uint64_t>(sum.sum.begin(), sum.sum.end()));
  }
  KRING_ASSIGN_OR_RETURN(query::Result decoded, std::move(result));
  if (sum.noise) {
    query::AddNoiseToResult(run.layout(), *sum.noise,
                            static_cast<uint32_t>(sum.contributors.size()),
                            decoded);
  }
  KRING_ASSIGN_OR_RETURN(
      query::ReleasedResult released,
      query::ApplyDisclosure(run.layout(), decoded, options_.policy));
  if (sum.noise) {
    released.privacy = query::StatementFor(
        *sum.noise, static_cast<uint32_t>(sum.contributors.size()),
        released.thresholds.min_schools);
    if (earlier) released.privacy->repeat_of = earlier->release_id;
  }
  // Noisy counts are compared by nobody: the difference of two noisy
  // figures is protected by the noise (and each school's budget), and
  // comparing them would refuse every repeated query. The ledger still
  // refuses two releases of a statistic whose schools differ by fewer than
  // the minimum (that difference would be one school's noisy figures).
  KRING_ASSIGN_OR_RETURN(
      query::Release entry,
      sum.noise ? query::Release::Create(
                      run.query_id(), query::StatisticKey(run.layout().query()),
                      std::move(participants), {})
                : query::LedgerEntry(run.query_id(), run.layout(), decoded,
                                     released, std::move(participants)));
  const query::CellThresholds thresholds = released.thresholds;
  KRING_RETURN_IF_ERROR(ledger_.Check(entry, thresholds));
  nlohmann::json stored = LedgerJson(entry);
  const bool new_answer = sum.noise && !earlier;
  if (new_answer) {
    stored["repeat_key"] = repeat_key;
    stored["noisy"] = sum.sum;
  }
  KRING_RETURN_IF_ERROR(db_.AppendLedger(
      stored.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  if (new_answer) repeats_.Record(repeat_key, {run.query_id(), sum.sum});
  ledger_.Admit(std::move(entry), thresholds).IgnoreError();  // checked above
  return db_.PutResult(
      run.query_id(), released.ToText(),
      released.ToJson().dump(2, ' ', false,
                             nlohmann::json::error_handler_t::replace),
      released.ToCsv());
}

void Dispatcher::Remember(const v1::CoordinatorToNode& end,
                          const std::set<std::string>& targets) {
  recent_ends_.push_back({end, targets});
  while (recent_ends_.size() > kRecentEnds) recent_ends_.pop_front();
}

void Dispatcher::SendTo(const std::string& school_id,
                        const v1::CoordinatorToNode& m) {
  auto it = links_.find(school_id);
  if (it != links_.end()) it->second->Send(m);
}

void Dispatcher::SetBenchmarkPlaintext(bool on) {
  std::lock_guard lock(mu_);
  benchmark_plaintext_ = on;
}

uint64_t Dispatcher::ends() {
  std::lock_guard lock(mu_);
  return ends_;
}

bool Dispatcher::AwaitEnd(uint64_t seen,
                          std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  return ended_.wait_until(lock, until, [&] { return ends_ > seen; });
}

}  // namespace kring::coordinator
