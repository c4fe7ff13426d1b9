#include "coordinator/engine.h"

#include <sodium.h>

#include <algorithm>

#include "api/roles.h"
#include "crypto/secagg/coordinator.h"
#include "crypto/secagg/setup.h"
#include "nlohmann/json.hpp"
#include "query/decode.h"
#include "query/layout.h"
#include "query/release.h"
#include "query/spec.h"
#include "util/str_cat.h"

namespace kring::coordinator {
namespace {

using Clock = std::chrono::steady_clock;

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  randombytes_buf(raw.data(), raw.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

absl::Status NeedRole(const User& user, std::initializer_list<v1::Role> roles,
                      std::string_view what) {
  for (v1::Role r : roles) {
    if (user.role == r) return absl::OkStatus();
  }
  return absl::PermissionDeniedError(StrCat("user ", user.user_id, " (",
                                            api::RoleName(user.role),
                                            ") may not ", what));
}

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

}  // namespace

// One approved query from dispatch to release. Guarded by Engine::mu_.
struct Engine::Run {
  v1::QueryInfo info;
  std::unique_ptr<query::Query> query;
  std::unique_ptr<query::Layout> layout;
  std::set<std::string> targets;  // schools asked to take part
  std::map<std::string, v1::TaskDecision> decisions;
  Clock::time_point decide_by;
  int64_t decide_by_millis = 0;  // the same, for the nodes (wall clock)
  // Aggregation.
  std::vector<std::string> roster;  // school ids by roster index
  std::optional<crypto::secagg::SecAggCoordinator> secagg;
  // The last run message sent to each school: sent again when the school
  // reconnects mid-run, so a dropped connection is not a dropout.
  std::map<std::string, v1::CoordinatorToNode> last_sent;
  bool plaintext_mode = false;                             // benchmark
  std::map<std::string, std::vector<uint64_t>> plaintext;  // benchmark
  bool done = false;
};

Engine::Engine(std::unique_ptr<CoordinatorDb> db, EngineOptions options)
    : db_(std::move(db)), options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Engine>> Engine::Create(
    std::unique_ptr<CoordinatorDb> db, EngineOptions options) {
  std::unique_ptr<Engine> e(new Engine(std::move(db), std::move(options)));
  if (auto s = e->LoadLedger(); !s.ok()) return s;
  auto queries = e->db_->ListQueries();
  if (!queries.ok()) return queries.status();
  for (v1::QueryInfo& q : *queries) {
    if (q.state() != v1::QUERY_STATE_RUNNING) continue;
    q.set_state(v1::QUERY_STATE_FAILED);
    q.set_reason(
        "the coordinator restarted during the run; no result was released. "
        "Submit the query again");
    if (auto s = e->db_->PutQuery(q); !s.ok()) return s;
    (void)e->db_->Audit("failed", StrCat("query ", q.ticket().query_id(),
                                         " failed: coordinator restarted"));
    RecentEnd end;
    end.message.mutable_run_end()->set_query_id(q.ticket().query_id());
    end.message.mutable_run_end()->set_success(false);
    end.message.mutable_run_end()->set_reason(q.reason());
    e->recent_ends_.push_back(std::move(end));
  }
  return e;
}

Engine::~Engine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& t : threads_) t.join();
}

absl::Status Engine::LoadLedger() {
  auto entries = db_->LoadLedger();
  if (!entries.ok()) return entries.status();
  for (const std::string& e : *entries) {
    auto r = LedgerFromJson(e);
    if (!r.ok()) return r.status();
    // Admitted before: record without re-checking.
    ledger_.Admit(*std::move(r), {0, 0}).IgnoreError();
  }
  return absl::OkStatus();
}

absl::StatusOr<User> Engine::Authenticate(
    std::string_view method, const google::protobuf::Message& request,
    const v1::RequestAuth& auth) {
  if (auth.user_id().empty() || auth.signature().empty()) {
    return absl::UnauthenticatedError(
        "the request is not signed; use the kring CLI with your user key");
  }
  // One answer for an unknown user and a bad signature, so that user ids
  // cannot be probed.
  const absl::Status refused = absl::UnauthenticatedError(
      "the request could not be authenticated: unknown user, or not signed "
      "with that user's registered key");
  auto user = db_->GetUser(auth.user_id());
  if (!user.ok()) return refused;
  auto key = crypto::IdentityPublicKey::FromBytes(user->public_key);
  if (!key.ok()) return absl::InternalError("a stored user key is invalid");
  auto bytes = api::RequestSigningBytes(method, auth.user_id(), request,
                                        auth.unix_millis(), auth.nonce());
  if (!bytes.ok()) return bytes.status();
  if (!key->Verify(api::kRequestContext, *bytes, auth.signature()).ok()) {
    return refused;
  }
  // Keyed by the signing key: a signature is accepted once, whichever user
  // id it names.
  if (auto s = replay_.Check(StrCat("key:", user->public_key),
                             auth.unix_millis(), auth.nonce());
      !s.ok()) {
    return s;
  }
  return user;
}

absl::StatusOr<v1::QueryInfo> Engine::Submit(const User& user,
                                             const v1::QuerySpec& spec) {
  if (auto s = NeedRole(user, {v1::ROLE_RESEARCHER, v1::ROLE_MUNICIPALITY},
                        "submit queries");
      !s.ok()) {
    return s;
  }
  auto q = query::Query::Create(spec, instruments_);
  if (!q.ok()) return q.status();
  if (user.role == v1::ROLE_MUNICIPALITY) {
    const auto& asked = spec.population().municipalities();
    if (asked.empty()) {
      return absl::PermissionDeniedError(
          "a municipality may only query its own schools: list your "
          "municipality codes in population.municipalities");
    }
    for (const std::string& m : asked) {
      if (std::find(user.municipalities.begin(), user.municipalities.end(),
                    m) == user.municipalities.end()) {
        return absl::PermissionDeniedError(
            StrCat(m, " is outside your municipalities"));
      }
    }
  }
  v1::QueryInfo info;
  v1::QueryTicket& t = *info.mutable_ticket();
  t.set_query_id(StrCat("q-", RandomHex(6)));
  t.set_requester_id(user.user_id);
  t.set_requester_role(user.role);
  for (const auto& m : user.municipalities) t.add_requester_municipalities(m);
  *t.mutable_spec() = spec;
  t.set_submitted_unix_millis(api::NowMillis());
  std::string seed(32, '\0');
  randombytes_buf(seed.data(), seed.size());
  t.set_query_seed(seed);
  info.set_ticket_bytes(api::CanonicalBytes(t));
  info.set_state(v1::QUERY_STATE_AWAITING_APPROVAL);
  info.set_summary(q->Summary());
  info.set_approvals_required(options_.approvals_required);
  if (auto s = db_->PutQuery(info); !s.ok()) return s;
  (void)db_->Audit("submitted", StrCat("query ", t.query_id(), " by ",
                                       user.user_id, ": ", info.summary()));
  return info;
}

absl::Status Engine::CanSee(const User& user, const v1::QueryInfo& q) {
  if (user.role == v1::ROLE_APPROVER || user.role == v1::ROLE_ADMIN ||
      q.ticket().requester_id() == user.user_id) {
    return absl::OkStatus();
  }
  auto granted = db_->IsGranted(q.ticket().query_id(), user.user_id);
  if (granted.ok() && *granted) return absl::OkStatus();
  return absl::PermissionDeniedError(
      StrCat("query ", q.ticket().query_id(), " is not yours"));
}

absl::StatusOr<std::vector<v1::QueryInfo>> Engine::List(const User& user) {
  auto all = db_->ListQueries();
  if (!all.ok()) return all.status();
  std::vector<v1::QueryInfo> out;
  for (auto& q : *all) {
    if (CanSee(user, q).ok()) out.push_back(std::move(q));
  }
  return out;
}

absl::StatusOr<v1::QueryInfo> Engine::Get(const User& user,
                                          std::string_view query_id) {
  auto q = db_->GetQuery(query_id);
  if (!q.ok()) return q.status();
  if (auto s = CanSee(user, *q); !s.ok()) return s;
  return q;
}

absl::StatusOr<std::string> Engine::Result(const User& user,
                                           std::string_view query_id,
                                           v1::ResultFormat format) {
  auto q = db_->GetQuery(query_id);
  if (!q.ok()) return q.status();
  // Results go to the requester only (and to users an admin granted).
  bool allowed = q->ticket().requester_id() == user.user_id;
  if (!allowed) {
    auto granted = db_->IsGranted(query_id, user.user_id);
    allowed = granted.ok() && *granted;
  }
  if (!allowed) {
    return absl::PermissionDeniedError(StrCat(
        "the result of ", query_id, " is released to its requester only"));
  }
  if (q->state() != v1::QUERY_STATE_RELEASED) {
    return absl::FailedPreconditionError(StrCat(
        "query ", query_id, " has no result (", v1::QueryState_Name(q->state()),
        q->reason().empty() ? "" : ": ", q->reason(), ")"));
  }
  return db_->GetResult(query_id, format);
}

absl::StatusOr<v1::QueryInfo> Engine::Approve(const User& user,
                                              std::string_view query_id,
                                              std::string_view signature) {
  std::lock_guard lock(mu_);
  auto q = db_->GetQuery(query_id);
  if (!q.ok()) return q.status();
  // Pre-approval: a municipality signs its own query within its scope
  // (checked at submission).
  const bool self_approval = options_.municipality_preapproval &&
                             user.role == v1::ROLE_MUNICIPALITY &&
                             q->ticket().requester_id() == user.user_id;
  if (!self_approval) {
    if (auto s = NeedRole(user, {v1::ROLE_APPROVER}, "approve queries");
        !s.ok()) {
      return s;
    }
  }
  if (q->state() != v1::QUERY_STATE_AWAITING_APPROVAL) {
    return absl::FailedPreconditionError(
        StrCat("query ", query_id, " does not await approval (",
               v1::QueryState_Name(q->state()), ")"));
  }
  for (const auto& a : q->approvals()) {
    if (a.approver_id() == user.user_id) {
      return absl::AlreadyExistsError(
          StrCat(user.user_id, " already approved ", query_id));
    }
  }
  auto key = crypto::IdentityPublicKey::FromBytes(user.public_key);
  if (!key.ok() ||
      !key->Verify(api::kApprovalContext, q->ticket_bytes(), signature).ok()) {
    return absl::InvalidArgumentError(
        "the approval signature does not verify over this query's ticket");
  }
  v1::Approval* a = q->add_approvals();
  a->set_approver_id(user.user_id);
  a->set_approver_public_key(user.public_key);
  a->set_signature(std::string(signature));
  (void)db_->Audit("approved",
                   StrCat("query ", query_id, " approved by ", user.user_id));
  if (self_approval ||
      static_cast<uint32_t>(q->approvals_size()) >= q->approvals_required()) {
    q->set_state(v1::QUERY_STATE_RUNNING);
    if (auto s = db_->PutQuery(*q); !s.ok()) return s;
    StartRun(*q);
    return q;
  }
  if (auto s = db_->PutQuery(*q); !s.ok()) return s;
  return q;
}

absl::StatusOr<v1::QueryInfo> Engine::Reject(const User& user,
                                             std::string_view query_id,
                                             std::string_view reason) {
  if (auto s = NeedRole(user, {v1::ROLE_APPROVER}, "reject queries"); !s.ok()) {
    return s;
  }
  std::lock_guard lock(mu_);
  auto q = db_->GetQuery(query_id);
  if (!q.ok()) return q.status();
  if (q->state() != v1::QUERY_STATE_AWAITING_APPROVAL) {
    return absl::FailedPreconditionError(
        StrCat("query ", query_id, " does not await approval"));
  }
  q->set_state(v1::QUERY_STATE_REJECTED);
  q->set_reason(
      StrCat("rejected by ", user.user_id, reason.empty() ? "" : ": ", reason));
  if (auto s = db_->PutQuery(*q); !s.ok()) return s;
  (void)db_->Audit("rejected", StrCat("query ", query_id, " ", q->reason()));
  return q;
}

absl::StatusOr<v1::CreateEnrollmentCodeResponse> Engine::NewEnrollmentCode(
    const School& school) {
  if (school.brin.empty() || school.name.empty()) {
    return absl::InvalidArgumentError(
        "an enrollment code needs the school's BRIN code and name");
  }
  if (school.municipality.size() != 6 ||
      school.municipality.substr(0, 2) != "GM") {
    return absl::InvalidArgumentError(
        StrCat("municipality `", school.municipality,
               "` is not a CBS code such as GM0363"));
  }
  const std::string code =
      StrCat(RandomHex(4), "-", RandomHex(4), "-", RandomHex(4));
  const int64_t expires =
      api::NowMillis() + std::chrono::duration_cast<std::chrono::milliseconds>(
                             options_.code_lifetime)
                             .count();
  if (auto s = db_->AddEnrollmentCode(code, school, expires); !s.ok()) {
    return s;
  }
  (void)db_->Audit("enrollment-code",
                   StrCat("code issued for ", school.brin, " ", school.name,
                          " (", school.municipality, ")"));
  v1::CreateEnrollmentCodeResponse r;
  r.set_code(code);
  r.set_expires_unix_millis(expires);
  return r;
}

absl::StatusOr<v1::CreateEnrollmentCodeResponse> Engine::CreateEnrollmentCode(
    const User& user, const v1::CreateEnrollmentCodeRequest& request) {
  if (auto s = NeedRole(user, {v1::ROLE_ADMIN}, "enroll schools"); !s.ok()) {
    return s;
  }
  School s;
  s.brin = request.brin();
  s.name = request.school_name();
  s.municipality = request.municipality();
  return NewEnrollmentCode(s);
}

absl::StatusOr<std::string> Engine::RegisterUser(const User& user, User added) {
  if (auto s = NeedRole(user, {v1::ROLE_ADMIN}, "register users"); !s.ok()) {
    return s;
  }
  auto key = crypto::IdentityPublicKey::FromBytes(added.public_key);
  if (!key.ok()) {
    return absl::InvalidArgumentError("the user's public key is not valid");
  }
  if (added.user_id.empty() || added.role == v1::ROLE_UNSPECIFIED) {
    return absl::InvalidArgumentError("a user needs an id and a role");
  }
  if (added.role == v1::ROLE_MUNICIPALITY && added.municipalities.empty()) {
    return absl::InvalidArgumentError(
        "a municipality user needs its municipality codes");
  }
  if (auto s = db_->AddUser(added); !s.ok()) return s;
  (void)db_->Audit(
      "user", StrCat("user ", added.user_id, " (", api::RoleName(added.role),
                     ") registered by ", user.user_id));
  return key->Fingerprint();
}

absl::Status Engine::Grant(const User& user, std::string_view query_id,
                           std::string_view grantee) {
  if (auto s = NeedRole(user, {v1::ROLE_ADMIN}, "grant access"); !s.ok()) {
    return s;
  }
  if (auto q = db_->GetQuery(query_id); !q.ok()) return q.status();
  if (auto u = db_->GetUser(grantee); !u.ok()) return u.status();
  (void)db_->Audit("grant",
                   StrCat(grantee, " may read the result of ", query_id,
                          " (granted by ", user.user_id, ")"));
  return db_->Grant(query_id, grantee);
}

absl::StatusOr<std::vector<v1::NodeInfo>> Engine::Nodes(const User& user) {
  if (auto s = NeedRole(user, {v1::ROLE_ADMIN}, "list nodes"); !s.ok()) {
    return s;
  }
  auto schools = db_->ListSchools();
  if (!schools.ok()) return schools.status();
  std::lock_guard lock(mu_);
  std::vector<v1::NodeInfo> out;
  for (const School& s : *schools) {
    v1::NodeInfo n;
    n.set_school_id(s.school_id);
    n.set_brin(s.brin);
    n.set_school_name(s.name);
    n.set_municipality(s.municipality);
    if (auto k = crypto::IdentityPublicKey::FromBytes(s.identity_key); k.ok()) {
      n.set_fingerprint(k->Fingerprint());
    }
    n.set_last_seen_unix_millis(s.last_seen_millis);
    n.set_version(s.version);
    n.set_connected(links_.count(s.school_id) > 0);
    out.push_back(std::move(n));
  }
  return out;
}

absl::StatusOr<v1::EnrollResponse> Engine::Enroll(
    const v1::EnrollRequest& request) {
  auto key =
      crypto::IdentityPublicKey::FromBytes(request.identity_public_key());
  if (!key.ok()) {
    return absl::InvalidArgumentError("the node's public key is not valid");
  }
  auto school = db_->RedeemEnrollmentCode(request.code(), api::NowMillis());
  if (!school.ok()) return school.status();
  school->school_id = StrCat(school->brin, "-", RandomHex(3));
  school->identity_key = std::string(key->bytes());
  school->version = request.version();
  school->last_seen_millis = api::NowMillis();
  if (auto s = db_->PutSchool(*school); !s.ok()) return s;
  (void)db_->Audit(
      "enrolled", StrCat("school ", school->school_id, " (", school->name, ", ",
                         school->municipality, ") key ", key->Fingerprint()));
  v1::EnrollResponse r;
  r.set_school_id(school->school_id);
  r.set_brin(school->brin);
  r.set_school_name(school->name);
  r.set_municipality(school->municipality);
  r.set_fingerprint(key->Fingerprint());
  return r;
}

absl::StatusOr<std::string> Engine::Hello(const v1::NodeHello& hello) {
  auto school = db_->GetSchool(hello.school_id());
  if (!school.ok()) {
    return absl::UnauthenticatedError(
        StrCat("unknown school ", hello.school_id(), "; enroll first"));
  }
  auto key = crypto::IdentityPublicKey::FromBytes(school->identity_key);
  if (!key.ok() ||
      !key->Verify(api::kHelloContext,
                   api::HelloSigningBytes(hello.school_id(),
                                          hello.unix_millis(), hello.nonce()),
                   hello.signature())
           .ok()) {
    return absl::UnauthenticatedError(
        "the node's hello is not signed with its enrolled key");
  }
  if (auto s = replay_.Check(StrCat("node:", hello.school_id()),
                             hello.unix_millis(), hello.nonce());
      !s.ok()) {
    return s;
  }
  (void)db_->TouchSchool(hello.school_id(), hello.version(), api::NowMillis());
  return hello.school_id();
}

void Engine::Connected(const std::string& school_id,
                       std::shared_ptr<NodeLink> link) {
  std::vector<v1::CoordinatorToNode> open;
  {
    std::lock_guard lock(mu_);
    links_[school_id] = link;
    for (const RecentEnd& end : recent_ends_) {
      if (end.targets.empty() || end.targets.count(school_id)) {
        link->Send(end.message);
      }
    }
    for (auto& [id, run] : runs_) {
      if (run->done) continue;
      if (run->secagg) {
        // Mid-run: the round's message again (the node answers a message
        // it already answered with the same answer). Sent under the lock,
        // so it cannot overtake the next round's message.
        auto last = run->last_sent.find(school_id);
        if (last != run->last_sent.end()) link->Send(last->second);
        continue;
      }
      if (!run->targets.count(school_id) || run->decisions.count(school_id)) {
        continue;
      }
      v1::CoordinatorToNode m;
      v1::Task* t = m.mutable_task();
      t->set_query_id(id);
      t->set_ticket_bytes(run->info.ticket_bytes());
      *t->mutable_approvals() = run->info.approvals();
      t->set_respond_by_unix_millis(run->decide_by_millis);
      open.push_back(std::move(m));
    }
  }
  for (const auto& m : open) link->Send(m);
}

void Engine::Disconnected(const std::string& school_id, const NodeLink* link) {
  std::lock_guard lock(mu_);
  auto it = links_.find(school_id);
  if (it != links_.end() && it->second.get() == link) links_.erase(it);
  changed_.notify_all();
}

bool Engine::SendTo(const std::string& school_id,
                    const v1::CoordinatorToNode& m) {
  std::shared_ptr<NodeLink> link;
  {
    auto it = links_.find(school_id);
    if (it == links_.end()) return false;
    link = it->second;
  }
  return link->Send(m);
}

void Engine::FromNode(const std::string& school_id,
                      const v1::NodeToCoordinator& message) {
  std::lock_guard lock(mu_);
  switch (message.body_case()) {
    case v1::NodeToCoordinator::kDecision: {
      const v1::TaskDecision& d = message.decision();
      auto it = runs_.find(d.query_id());
      if (it == runs_.end() || it->second->secagg ||
          !it->second->targets.count(school_id)) {
        return;  // too late or not asked
      }
      it->second->decisions[school_id] = d;
      break;
    }
    case v1::NodeToCoordinator::kSecagg: {
      const v1::SecAggMessage& m = message.secagg();
      auto it = runs_.find(m.query_id());
      if (it == runs_.end() || !it->second->secagg) return;
      Run& run = *it->second;
      // The claimed sender must be this school's own roster index: a node
      // cannot pass on (replay) a neighbour's signed message as its own.
      auto pos = std::find(run.roster.begin(), run.roster.end(), school_id);
      if (pos == run.roster.end()) return;
      const auto self = static_cast<uint32_t>(pos - run.roster.begin());
      std::optional<uint32_t> sender;
      switch (m.body_case()) {
        case v1::SecAggMessage::kAdvertiseKeys:
          sender = m.advertise_keys().sender();
          break;
        case v1::SecAggMessage::kShareKeys:
          sender = m.share_keys().sender();
          break;
        case v1::SecAggMessage::kMaskedInput:
          sender = m.masked_input().sender();
          break;
        case v1::SecAggMessage::kConsistencySignature:
          sender = m.consistency_signature().sender();
          break;
        case v1::SecAggMessage::kUnmaskResponse:
          sender = m.unmask_response().sender();
          break;
        default:
          break;
      }
      if (sender != self) return;
      (void)run.secagg->Receive(m);  // invalid messages are dropped
      break;
    }
    case v1::NodeToCoordinator::kAbort:
      break;  // the node stops answering; its deadline handles it
    case v1::NodeToCoordinator::kBenchmarkPlaintext: {
      const v1::BenchmarkPlaintext& p = message.benchmark_plaintext();
      auto it = runs_.find(p.query_id());
      if (it == runs_.end() || !it->second->plaintext_mode) return;
      Run& run = *it->second;
      if (std::find(run.roster.begin(), run.roster.end(), school_id) ==
              run.roster.end() ||
          static_cast<size_t>(p.values_size()) != run.layout->size()) {
        return;
      }
      run.plaintext[school_id].assign(p.values().begin(), p.values().end());
      break;
    }
    default:
      return;
  }
  changed_.notify_all();
}

void Engine::StartRun(const v1::QueryInfo& info) {
  // Called with mu_ held.
  auto run = std::make_shared<Run>();
  run->info = info;
  auto q = query::Query::Create(info.ticket().spec(), instruments_);
  if (!q.ok()) return;  // validated at submission
  run->query = std::make_unique<query::Query>(*std::move(q));
  run->layout = std::make_unique<query::Layout>(*run->query);
  auto schools = db_->ListSchools();
  const auto& wanted = info.ticket().spec().population().municipalities();
  if (schools.ok()) {
    for (const School& s : *schools) {
      if (wanted.empty() || std::find(wanted.begin(), wanted.end(),
                                      s.municipality) != wanted.end()) {
        run->targets.insert(s.school_id);
      }
    }
  }
  run->decide_by = Clock::now() + options_.decision_window;
  run->decide_by_millis =
      api::NowMillis() + std::chrono::duration_cast<std::chrono::milliseconds>(
                             options_.decision_window)
                             .count();
  run->plaintext_mode = benchmark_plaintext_;
  runs_[info.ticket().query_id()] = run;
  (void)db_->Audit("dispatched",
                   StrCat("query ", info.ticket().query_id(), " sent to ",
                          run->targets.size(), " schools"));
  v1::CoordinatorToNode m;
  v1::Task* t = m.mutable_task();
  t->set_query_id(info.ticket().query_id());
  t->set_ticket_bytes(info.ticket_bytes());
  *t->mutable_approvals() = info.approvals();
  t->set_respond_by_unix_millis(run->decide_by_millis);
  for (const std::string& s : run->targets) SendTo(s, m);
  threads_.emplace_back([this, run] { Drive(run); });
}

void Engine::Drive(std::shared_ptr<Run> run) {
  std::unique_lock lock(mu_);
  // 1. Decisions: until every target decided or the window closes.
  changed_.wait_until(lock, run->decide_by, [&] {
    return stopping_ || run->decisions.size() == run->targets.size();
  });
  if (stopping_) return;
  absl::Status status = Aggregate(*run, lock);
  Finish(*run, status);
}

absl::Status Engine::Aggregate(Run& run, std::unique_lock<std::mutex>& lock) {
  const std::string& qid = run.info.ticket().query_id();
  run.info.clear_decisions();
  std::vector<std::string> declined;
  for (const std::string& s : run.targets) {
    v1::NodeDecisionRecord* d = run.info.add_decisions();
    d->set_school_id(s);
    auto it = run.decisions.find(s);
    if (it == run.decisions.end()) {
      d->set_reason("did not answer in time (offline?)");
      continue;
    }
    d->set_accepted(it->second.accept());
    d->set_reason(it->second.reason());
    if (it->second.accept()) {
      run.roster.push_back(s);
    } else {
      declined.push_back(StrCat(s, ": ", it->second.reason()));
    }
  }
  const uint32_t n = static_cast<uint32_t>(run.roster.size());
  const uint32_t minimum = std::max<uint32_t>(
      3, static_cast<uint32_t>(options_.policy.normal().min_schools));
  if (n < minimum) {
    std::string why =
        StrCat("only ", n, " of ", run.targets.size(),
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
  if (run.plaintext_mode) {
    // Benchmark only: the same run without secure aggregation.
    v1::CoordinatorToNode start;
    start.mutable_run_start()->set_query_id(qid);
    start.mutable_run_start()->set_benchmark_plaintext(true);
    for (const std::string& s : run.roster) SendTo(s, start);
    changed_.wait_until(lock, Clock::now() + options_.round_deadline, [&] {
      return stopping_ || run.plaintext.size() == run.roster.size();
    });
    std::vector<uint64_t> sum(run.layout->size(), 0);
    std::vector<std::string> contributors;
    for (const auto& [school, values] : run.plaintext) {
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += values[i];
      contributors.push_back(school);
    }
    if (contributors.size() < minimum) {
      return absl::FailedPreconditionError("too few plaintext vectors");
    }
    return Release(run, sum, contributors);
  }
  // Secure-aggregation parameters for the accepting schools.
  v1::SecAggConfig config;
  config.set_query_id(qid);
  config.set_query_seed(run.info.ticket().query_seed());
  for (const std::string& s : run.roster) {
    auto school = db_->GetSchool(s);
    if (!school.ok()) return school.status();
    auto* p = config.add_roster();
    p->set_node_id(s);
    p->set_identity_public_key(school->identity_key);
  }
  const std::vector<uint64_t> bounds = run.layout->NodeBounds();
  config.set_dims(static_cast<uint32_t>(bounds.size()));
  auto bits = crypto::secagg::ChooseModulusBits(bounds, n);
  if (!bits.ok()) return bits.status();
  config.set_modulus_bits(static_cast<uint32_t>(*bits));
  auto params = crypto::secagg::ChooseParameters(n, options_.goals);
  if (!params.ok()) return params.status();
  config.set_complete_graph(params->complete);
  config.set_degree(params->degree);
  config.set_threshold(params->threshold);
  for (uint64_t b : bounds) config.add_element_bounds(b);
  auto setup = crypto::secagg::SecAggSetup::Create(config);
  if (!setup.ok()) return setup.status();
  auto coordinator = crypto::secagg::SecAggCoordinator::Create(*setup);
  if (!coordinator.ok()) return coordinator.status();
  run.secagg.emplace(*std::move(coordinator));
  (void)db_->Audit(
      "aggregation",
      StrCat("query ", qid, ": ", n, " schools, threshold ", params->threshold,
             ", ", *bits, "-bit ring, ", bounds.size(), " elements"));
  v1::CoordinatorToNode start;
  start.mutable_run_start()->set_query_id(qid);
  *start.mutable_run_start()->mutable_config() = config;
  for (const std::string& s : run.roster) {
    run.last_sent[s] = start;
    SendTo(s, start);
  }
  // Rounds 0..4, each closed when everyone answered or at its deadline.
  while (!run.secagg->finished()) {
    const auto deadline = Clock::now() + options_.round_deadline;
    changed_.wait_until(lock, deadline,
                        [&] { return stopping_ || run.secagg->AllReceived(); });
    if (stopping_) return absl::AbortedError("the coordinator is stopping");
    auto outgoing = run.secagg->CloseRound();
    if (!outgoing.ok()) return outgoing.status();
    for (const auto& o : *outgoing) {
      v1::CoordinatorToNode m;
      *m.mutable_secagg() = o.message;
      run.last_sent[run.roster[o.to]] = m;
      SendTo(run.roster[o.to], m);
    }
  }
  const auto& result = run.secagg->result();
  std::vector<std::string> contributors;
  for (uint32_t i : result.contributors) {
    contributors.push_back(run.roster[i]);
  }
  if (contributors.size() < minimum) {
    return absl::FailedPreconditionError(
        StrCat("only ", contributors.size(),
               " schools' inputs reached the sum (others dropped out); at "
               "least ",
               minimum, " are needed, so nothing is released"));
  }
  return Release(run, result.sum, contributors);
}

absl::Status Engine::Release(Run& run, const std::vector<uint64_t>& sum,
                             const std::vector<std::string>& contributors) {
  const std::string& qid = run.info.ticket().query_id();
  auto decoded = query::Decode(*run.layout, sum);
  if (!decoded.ok()) return decoded.status();
  auto released =
      query::ApplyDisclosure(*run.layout, *decoded, options_.policy);
  if (!released.ok()) return released.status();
  auto entry = query::LedgerEntry(
      qid, *run.layout, *decoded, *released,
      std::set<std::string>(contributors.begin(), contributors.end()));
  if (!entry.ok()) return entry.status();
  const query::CellThresholds thresholds = released->thresholds;
  if (auto s = ledger_.Check(*entry, thresholds); !s.ok()) return s;
  if (auto s = db_->AppendLedger(LedgerJson(*entry).dump()); !s.ok()) {
    return s;
  }
  (void)ledger_.Admit(*std::move(entry), thresholds);
  if (auto s = db_->PutResult(qid, released->ToText(),
                              released->ToJson().dump(2), released->ToCsv());
      !s.ok()) {
    return s;
  }
  run.info.set_participants(static_cast<uint32_t>(contributors.size()));
  return absl::OkStatus();
}

void Engine::Finish(Run& run, const absl::Status& status) {
  const std::string qid = run.info.ticket().query_id();
  run.done = true;
  if (status.ok()) {
    run.info.set_state(v1::QUERY_STATE_RELEASED);
  } else {
    run.info.set_state(v1::QUERY_STATE_FAILED);
    run.info.set_reason(std::string(ToStd(status.message())));
  }
  (void)db_->PutQuery(run.info);
  (void)db_->Audit(status.ok() ? "released" : "failed",
                   status.ok()
                       ? StrCat("query ", qid, " released to ",
                                run.info.ticket().requester_id(), " (",
                                run.info.participants(), " schools)")
                       : StrCat("query ", qid, " failed: ", run.info.reason()));
  v1::CoordinatorToNode end;
  end.mutable_run_end()->set_query_id(qid);
  end.mutable_run_end()->set_success(status.ok());
  end.mutable_run_end()->set_reason(run.info.reason());
  for (const std::string& s : run.targets) SendTo(s, end);
  recent_ends_.push_back({end, run.targets});
  while (recent_ends_.size() > kRecentEnds) recent_ends_.pop_front();
  runs_.erase(qid);
  changed_.notify_all();
}

void Engine::SetBenchmarkPlaintext(bool on) {
  std::lock_guard lock(mu_);
  benchmark_plaintext_ = on;
}

absl::StatusOr<v1::QueryInfo> Engine::WaitForQuery(
    std::string_view query_id, std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  while (true) {
    auto q = db_->GetQuery(query_id);
    if (!q.ok()) return q.status();
    if (q->state() == v1::QUERY_STATE_RELEASED ||
        q->state() == v1::QUERY_STATE_FAILED ||
        q->state() == v1::QUERY_STATE_REJECTED) {
      return q;
    }
    if (changed_.wait_until(lock, until) == std::cv_status::timeout) {
      return absl::DeadlineExceededError(StrCat(
          "query ", query_id, " still ", v1::QueryState_Name(q->state())));
    }
  }
}

}  // namespace kring::coordinator
