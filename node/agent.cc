#include "node/agent.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "api/auth.h"
#include "api/channel.h"
#include "api/roles.h"
#include "crypto/secagg/node.h"
#include "crypto/secagg/parameters.h"
#include "crypto/secagg/setup.h"
#include "grpcpp/grpcpp.h"
#include "kring/v1/service.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "query/layout.h"
#include "query/spec.h"
#include "survey/instrument.h"
#include "util/file.h"
#include "util/str_cat.h"

namespace kring::node {

namespace {

std::string Hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::string Blake2b(std::string_view data) {
  std::string out(32, '\0');
  crypto_generichash(reinterpret_cast<uint8_t*>(out.data()), out.size(),
                     reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                     nullptr, 0);
  return Hex(out);
}

}  // namespace

Decision Decide(const NodeConfig& config, const v1::Task& task) {
  static const survey::InstrumentRegistry* const builtin =
      new survey::InstrumentRegistry(survey::InstrumentRegistry::Builtin());
  return Decide(config, *builtin, task);
}

Decision Decide(const NodeConfig& config,
                const survey::InstrumentRegistry& instruments,
                const v1::Task& task) {
  Decision d;
  auto decline = [&](std::string why) {
    d.accept = false;
    d.reason = std::move(why);
    return d;
  };
  v1::QueryTicket ticket;
  if (!ticket.ParseFromString(task.ticket_bytes()) ||
      ticket.query_id() != task.query_id()) {
    return decline("the query ticket cannot be read");
  }
  // Approvals: distinct configured approvers whose signature verifies.
  std::set<std::string> approved_by;
  for (const v1::Approval& a : task.approvals()) {
    for (const auto& key : config.approvers) {
      if (key.bytes() != a.approver_public_key()) continue;
      if (key.Verify(api::kApprovalContext, task.ticket_bytes(), a.signature())
              .ok()) {
        approved_by.insert(std::string(key.bytes()));
      }
    }
  }
  // Municipality pre-approval: the municipality itself signed a query that
  // stays within this school's municipality.
  bool preapproved = false;
  if (ticket.requester_role() == v1::ROLE_MUNICIPALITY &&
      !config.municipality_keys.empty()) {
    const auto& asked = ticket.spec().population().municipalities();
    const bool own_only = asked.size() == 1 &&
                          asked[0] == config.municipality &&
                          std::find(ticket.requester_municipalities().begin(),
                                    ticket.requester_municipalities().end(),
                                    config.municipality) !=
                              ticket.requester_municipalities().end();
    for (const v1::Approval& a : task.approvals()) {
      for (const auto& key : config.municipality_keys) {
        preapproved |= own_only && a.approver_id() == ticket.requester_id() &&
                       key.bytes() == a.approver_public_key() &&
                       key.Verify(api::kApprovalContext, task.ticket_bytes(),
                                  a.signature())
                           .ok();
      }
    }
  }
  if (!preapproved && approved_by.size() < config.approvals_required) {
    return decline(StrCat("approved by ", approved_by.size(),
                          " of the approvers this school trusts; ",
                          config.approvals_required, " needed"));
  }
  auto query = query::Query::Create(ticket.spec(), instruments);
  if (!query.ok()) {
    return decline(StrCat("the query is not valid here: ",
                          ToStd(query.status().message())));
  }
  d.summary = query->Summary();
  const std::string stat =
      ticket.spec().statistic() == "trend"
          ? std::string(query::StatisticName(query->statistic()))
          : ticket.spec().statistic();
  const auto& allowed = config.policy.statistics;
  if (std::find(allowed.begin(), allowed.end(), stat) == allowed.end()) {
    return decline(
        StrCat("statistic `", stat, "` is not allowed by this school"));
  }
  const std::string role(api::RoleName(ticket.requester_role()));
  const auto& roles = config.policy.requester_roles;
  if (std::find(roles.begin(), roles.end(), role) == roles.end()) {
    return decline(
        StrCat("requests from a ", role, " are not allowed by this school"));
  }
  if (ticket.requester_role() == v1::ROLE_MUNICIPALITY) {
    const auto& asked = ticket.spec().population().municipalities();
    const auto& own = ticket.requester_municipalities();
    bool within = !asked.empty();
    for (const std::string& m : asked) {
      within &= std::find(own.begin(), own.end(), m) != own.end();
    }
    if (!within) {
      return decline(
          "a municipality may only query schools in its own municipalities");
    }
  }
  const v1::DisclosureRequest& asked = ticket.spec().disclosure();
  const uint64_t respondents = std::max<uint64_t>(asked.min_respondents(), 10);
  const uint64_t schools = std::max<uint64_t>(asked.min_schools(), 3);
  if (respondents < config.policy.min_respondents ||
      schools < config.policy.min_schools) {
    return decline(StrCat(
        "this school requires at least ", config.policy.min_respondents,
        " respondents and ", config.policy.min_schools,
        " schools per cell; ask for them in disclosure.minRespondents and "
        "disclosure.minSchools"));
  }
  if (query->special_category() && !config.policy.special_categories) {
    return decline(
        "this school does not allow queries on special-category data "
        "(migration background, financial strain)");
  }
  d.accept = true;
  d.reason = preapproved
                 ? "pre-approved by the school's own municipality; within "
                   "this school's policy"
                 : StrCat("approved by ", approved_by.size(),
                          " trusted approver(s); within this school's policy");
  return d;
}

// ---------------------------------------------------------------------------

struct Agent::Impl {
  ~Impl() {
    if (lock_fd >= 0) ::close(lock_fd);  // releases the flock
  }
  AgentOptions options;
  Store* store;
  AuditLog* audit;
  int lock_fd = -1;  // data_dir/agent.lock, held while the agent exists
  std::optional<crypto::IdentityKeyPair> identity;
  std::shared_ptr<grpc::Channel> channel;  // to the coordinator
  std::atomic<bool> stopping{false};
  using Stream =
      grpc::ClientReaderWriter<v1::NodeToCoordinator, v1::CoordinatorToNode>;
  Stream* stream = nullptr;  // the live session's stream, under mu
  // Accepted tickets and tasks waiting for school IT, under tasks_mu.
  std::mutex tasks_mu;
  std::map<std::string, v1::Task> waiting;
  std::mutex mu;  // context and writes
  grpc::ClientContext* context = nullptr;
  // Tasks this node accepted, by query id (spec kept to run them).
  std::map<std::string, v1::QueryTicket> accepted;
  // The run in progress, if any.
  struct Run {
    std::string query_id;
    std::shared_ptr<const crypto::secagg::SecAggSetup> setup;
    std::optional<crypto::secagg::SecAggNode> node;
    std::unique_ptr<query::Query> query;
    // The last message of this run from the coordinator and this node's
    // answer: the same message again (sent after a reconnect) gets the same
    // answer again, byte for byte, and never a second, different one.
    std::string last_request;
    v1::NodeToCoordinator last_reply;
    std::chrono::steady_clock::time_point last_activity;
  };
  std::map<std::string, Run> runs;
  // Runs that ended here (aborted, finished or given up): never started
  // again by this process.
  std::set<std::string> ended;
  // (key, query id) of notes written at most once, so that a misbehaving
  // coordinator cannot fill the audit log by repeating itself.
  std::set<std::pair<std::string, std::string>> noted;

  // Appends to the audit log; a failure is also reported on stderr.
  absl::Status LogChecked(
      std::string_view kind, std::string_view summary,
      std::vector<std::pair<std::string, std::string>> fields = {}) {
    absl::Status s = audit->Append(kind, summary, std::move(fields));
    if (!s.ok()) {
      std::cerr << "kring-node: writing the audit log failed: "
                << ToStd(s.message()) << "\n";
    }
    return s;
  }
  void Log(std::string_view kind, std::string_view summary,
           std::vector<std::pair<std::string, std::string>> fields = {}) {
    (void)LogChecked(kind, summary, std::move(fields));
  }
  // Log, at most once per `key` (e.g. "resent 2") and query.
  void LogOnce(std::string_view key, const std::string& query_id,
               std::string_view kind, std::string_view summary,
               std::vector<std::pair<std::string, std::string>> fields = {}) {
    if (noted.emplace(std::string(key), query_id).second) {
      Log(kind, summary, std::move(fields));
    }
  }

  // One connection; returns when it ends. True if the hello was accepted
  // (the backoff starts over).
  bool Session(grpc::ClientReaderWriter<v1::NodeToCoordinator,
                                        v1::CoordinatorToNode>& stream) {
    v1::NodeToCoordinator hello;
    v1::NodeHello* h = hello.mutable_hello();
    h->set_school_id(options.config.school_id);
    h->set_unix_millis(api::NowMillis());
    std::string nonce(16, '\0');
    randombytes_buf(nonce.data(), nonce.size());
    h->set_nonce(nonce);
    h->set_version(options.version);
    auto sig = identity->Sign(
        api::kHelloContext,
        api::HelloSigningBytes(h->school_id(), h->unix_millis(), h->nonce()));
    if (!sig.ok()) return false;
    h->set_signature(*sig);
    if (!stream.Write(hello)) return false;
    v1::CoordinatorToNode m;
    bool greeted = false;
    while (!stopping && stream.Read(&m)) {
      greeted = true;
      for (const v1::NodeToCoordinator& reply : Handle(m)) {
        if (!WriteReply(stream, reply)) return greeted;
      }
    }
    return greeted;
  }

  // Writes `reply` through the reply filter, if any; false when the
  // connection is gone or the filter dropped it.
  bool WriteReply(Stream& stream, const v1::NodeToCoordinator& reply) {
    using Action = ReplyFilter::Action;
    ReplyFilter* filter = options.reply_filter.get();
    std::lock_guard lock(mu);
    if (filter != nullptr &&
        filter->BeforeWrite(reply) == Action::kDisconnect) {
      context->TryCancel();
      return false;
    }
    if (!stream.Write(reply)) return false;
    if (filter != nullptr && filter->AfterWrite(reply) == Action::kDisconnect) {
      context->TryCancel();
      return false;
    }
    return true;
  }

  std::vector<v1::NodeToCoordinator> Handle(const v1::CoordinatorToNode& m) {
    std::vector<v1::NodeToCoordinator> out;
    DropStaleRuns();
    switch (m.body_case()) {
      case v1::CoordinatorToNode::kTask: {
        const v1::Task& task = m.task();
        if (task.respond_by_unix_millis() != 0 &&
            task.respond_by_unix_millis() < api::NowMillis()) {
          Log("task",
              StrCat("Skipped query ", task.query_id(),
                     ": it expired before this node saw it"),
              {{"query_id", task.query_id()}});
          break;
        }
        Decision d = Decide(options.config, options.instruments, task);
        Log("task",
            StrCat("Received query ", task.query_id(), ": ",
                   d.summary.empty() ? "(not readable)" : d.summary),
            {{"query_id", task.query_id()},
             {"ticket_blake2b", Blake2b(task.ticket_bytes())}});
        if (d.accept && options.config.policy.manual_accept) {
          if (auto s = WritePending(task, d); s.ok()) {
            Log("waiting",
                StrCat("Query ", task.query_id(),
                       " passes this school's "
                       "checks and waits for school IT: kring-node accept "
                       "or decline"),
                {{"query_id", task.query_id()}});
            break;  // answered when school IT decides
          } else {
            d = {false,
                 StrCat("could not queue the query for school IT: ",
                        ToStd(s.message())),
                 d.summary};
          }
        }
        Log("decision",
            StrCat(d.accept ? "Accepted" : "Declined", " query ",
                   task.query_id(), ": ", d.reason),
            {{"query_id", task.query_id()},
             {"accepted", d.accept ? "yes" : "no"}});
        if (d.accept) {
          v1::QueryTicket ticket;
          ticket.ParseFromString(task.ticket_bytes());
          std::lock_guard lock(tasks_mu);
          accepted[task.query_id()] = ticket;
        }
        v1::NodeToCoordinator reply;
        reply.mutable_decision()->set_query_id(task.query_id());
        reply.mutable_decision()->set_accept(d.accept);
        reply.mutable_decision()->set_reason(d.reason);
        out.push_back(std::move(reply));
        break;
      }
      case v1::CoordinatorToNode::kRunStart: {
        if (m.run_start().benchmark_plaintext()) {
#ifdef KRING_BENCHMARK_PLAINTEXT
          auto plain = PlaintextRun(m.run_start().query_id());
          if (plain.ok()) out.push_back(*std::move(plain));
#else
          Log("aborted",
              StrCat("Refused to send query ", m.run_start().query_id(),
                     " in the clear: plaintext runs exist only in "
                     "benchmarks"),
              {{"query_id", m.run_start().query_id()}});
#endif
          break;
        }
        if (auto it = runs.find(m.run_start().query_id()); it != runs.end()) {
          AnswerAgain(it->second, m, out);
          break;
        }
        if (auto refused = RefuseSecondRun(m.run_start().query_id());
            !refused.ok()) {
          LogOnce(
              "refused", m.run_start().query_id(), "refused",
              StrCat("Refused to take part in query ", m.run_start().query_id(),
                     " again: ", ToStd(refused.message())),
              {{"query_id", m.run_start().query_id()}});
          break;
        }
        auto reply = StartRun(m.run_start());
        if (reply.ok()) {
          Run& run = runs.at(m.run_start().query_id());
          run.last_request = m.SerializeAsString();
          run.last_reply = *reply;
          run.last_activity = std::chrono::steady_clock::now();
          out.push_back(*std::move(reply));
        } else {
          Log("aborted",
              StrCat("Did not take part in query ", m.run_start().query_id(),
                     ": ", ToStd(reply.status().message())),
              {{"query_id", m.run_start().query_id()}});
        }
        break;
      }
      case v1::CoordinatorToNode::kSecagg: {
        auto it = runs.find(m.secagg().query_id());
        if (it == runs.end() || !it->second.node) break;
        if (AnswerAgain(it->second, m, out)) break;
        auto reply = it->second.node->Handle(m.secagg());
        if (!reply.ok() && it->second.node->state() !=
                               crypto::secagg::SecAggNode::State::kAborted) {
          // A stale or repeated message; the run goes on. Noted once per
          // round, as evidence if the coordinator misbehaves.
          LogOnce(StrCat("rejected ", m.secagg().round()), it->first,
                  "rejected",
                  StrCat("Ignored a round-", m.secagg().round(),
                         " message for query ", it->first, ": ",
                         ToStd(reply.status().message())),
                  {{"query_id", it->first},
                   {"round", std::to_string(m.secagg().round())}});
          break;
        }
        absl::Status logged = absl::OkStatus();
        if (reply.ok() && reply->has_masked_input()) {
          // What leaves the school, logged before it is sent; at most once
          // per query, ever: a second sum of the same query over another
          // set of schools could reveal this school's numbers.
          logged = RefuseSecondRun(it->first);
          // Atomic across processes: only one can mark the query.
          if (logged.ok()) logged = store->MarkContributed(it->first);
          if (logged.ok()) {
            logged = LogChecked(
                "sent",
                StrCat("Sent the masked contribution to query ", it->first,
                       " (", it->second.setup->dims(),
                       " numbers; readable only in the sum over schools)"),
                {{"query_id", it->first},
                 {"layout_elements", std::to_string(it->second.setup->dims())},
                 {"masked_vector_blake2b",
                  Blake2b(reply->masked_input().SerializeAsString())}});
          }
        }
        if (!reply.ok() || !logged.ok()) {
          Log("aborted",
              StrCat("Stopped taking part in query ", it->first, ": ",
                     ToStd(reply.ok() ? logged.message()
                                      : reply.status().message())),
              {{"query_id", it->first}});
          EndRun(it->first);
          break;
        }
        v1::NodeToCoordinator msg;
        *msg.mutable_secagg() = *std::move(reply);
        it->second.last_request = m.SerializeAsString();
        it->second.last_reply = msg;
        it->second.last_activity = std::chrono::steady_clock::now();
        out.push_back(std::move(msg));
        break;
      }
      case v1::CoordinatorToNode::kRunEnd: {
        const v1::RunEnd& e = m.run_end();
        bool known = runs.count(e.query_id()) > 0;
        {
          std::lock_guard lock(tasks_mu);
          known |= accepted.count(e.query_id()) > 0;
        }
        if (known) {
          Log("finished",
              StrCat("Query ", e.query_id(),
                     e.success() ? " finished; the result was released"
                                 : StrCat(" failed: ", e.reason())),
              {{"query_id", e.query_id()}});
          EndRun(e.query_id());
        }
        break;
      }
      default:
        break;
    }
    return out;
  }

#ifdef KRING_BENCHMARK_PLAINTEXT
  // Benchmark builds only (kring-bench e2e): the vector in the clear.
  absl::StatusOr<v1::NodeToCoordinator> PlaintextRun(
      const std::string& query_id) {
    v1::QueryTicket ticket;
    {
      std::lock_guard lock(tasks_mu);
      auto it = accepted.find(query_id);
      if (it == accepted.end()) {
        return absl::FailedPreconditionError("not accepted");
      }
      ticket = it->second;
    }
    auto q = query::Query::Create(ticket.spec(), options.instruments);
    if (!q.ok()) return q.status();
    query::Layout layout(*q);
    std::vector<v1::PupilRecord> records;
    if (auto s = store->ForEach(
            [&](const v1::PupilRecord& r) { records.push_back(r); });
        !s.ok()) {
      return s;
    }
    auto input =
        query::Contribution(layout, records, options.config.municipality);
    if (!input.ok()) return input.status();
    v1::NodeToCoordinator msg;
    msg.mutable_benchmark_plaintext()->set_query_id(query_id);
    for (uint64_t v : *input) msg.mutable_benchmark_plaintext()->add_values(v);
    return msg;
  }
#endif

  absl::Status WritePending(const v1::Task& task, const Decision& d) {
    const auto dir = options.data_dir / "pending";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    std::filesystem::create_directories(options.data_dir / "decisions", ec);
    v1::QueryTicket ticket;
    ticket.ParseFromString(task.ticket_bytes());
    nlohmann::json j = {{"query_id", task.query_id()},
                        {"summary", d.summary},
                        {"requester", ticket.requester_id()},
                        {"respond_by", task.respond_by_unix_millis()}};
    std::ofstream out(dir / (task.query_id() + ".json"));
    out << j.dump(2) << "\n";
    if (!out) return absl::InternalError("cannot write the pending task");
    std::lock_guard lock(tasks_mu);
    waiting[task.query_id()] = task;
    return absl::OkStatus();
  }

  // School IT's decisions on waiting tasks, sent when found.
  void PollDecisions() {
    std::vector<v1::NodeToCoordinator> replies;
    {
      std::lock_guard lock(tasks_mu);
      for (auto it = waiting.begin(); it != waiting.end();) {
        const std::string id = it->first;
        const auto decision = options.data_dir / "decisions" / id;
        const auto pending = options.data_dir / "pending" / (id + ".json");
        std::error_code ec;
        if (std::filesystem::exists(decision, ec)) {
          auto text = ReadFileToString(decision);
          const bool accept = text.ok() && text->rfind("accept", 0) == 0;
          std::string note;
          if (text.ok() && text->find('\n') != std::string::npos) {
            note = text->substr(text->find('\n') + 1);
          }
          while (!note.empty() &&
                 (note.back() == '\n' || note.back() == '\r')) {
            note.pop_back();
          }
          const std::string reason =
              StrCat(accept ? "accepted" : "declined", " by school IT",
                     note.empty() ? "" : ": ", note);
          if (accept) {
            v1::QueryTicket ticket;
            ticket.ParseFromString(it->second.ticket_bytes());
            accepted[id] = ticket;
          }
          Log("decision",
              StrCat(accept ? "Accepted" : "Declined", " query ", id, ": ",
                     reason),
              {{"query_id", id}, {"accepted", accept ? "yes" : "no"}});
          v1::NodeToCoordinator reply;
          reply.mutable_decision()->set_query_id(id);
          reply.mutable_decision()->set_accept(accept);
          reply.mutable_decision()->set_reason(reason);
          replies.push_back(std::move(reply));
          std::filesystem::remove(decision, ec);
          std::filesystem::remove(pending, ec);
          it = waiting.erase(it);
        } else if (it->second.respond_by_unix_millis() != 0 &&
                   it->second.respond_by_unix_millis() < api::NowMillis()) {
          Log("decision",
              StrCat("Query ", id, " expired before school IT decided"),
              {{"query_id", id}});
          std::filesystem::remove(pending, ec);
          it = waiting.erase(it);
        } else {
          ++it;
        }
      }
    }
    std::lock_guard lock(mu);
    for (const auto& r : replies) {
      if (stream != nullptr) stream->Write(r);
    }
  }

  // The coordinator sends a round's message again to a node that
  // reconnects mid-run (the first copy or this node's answer may have been
  // lost with the connection). The very message answered last gets the
  // same answer again; true if `m` was that message. For RunStart, any
  // other one is ignored (the run has started).
  bool AnswerAgain(Run& run, const v1::CoordinatorToNode& m,
                   std::vector<v1::NodeToCoordinator>& out) {
    if (run.last_request != m.SerializeAsString()) {
      if (!m.has_run_start()) return false;
      LogOnce(
          "rejected start", run.query_id, "rejected",
          StrCat("Ignored a second, different start of query ", run.query_id,
                 " (this school keeps to the run it started)"),
          {{"query_id", run.query_id}});
      return true;
    }
    run.last_activity = std::chrono::steady_clock::now();
    const std::string round = std::to_string(run.last_reply.secagg().round());
    LogOnce("resent " + round, run.query_id, "resent",
            StrCat("Sent round ", round, " of query ", run.query_id,
                   " again after reconnecting (the same message as before)"),
            {{"query_id", run.query_id}, {"round", round}});
    out.push_back(run.last_reply);
    return true;
  }

  // Forgets a run (wiping its secrets) and its accepted ticket; the query
  // is never started again by this process.
  void EndRun(const std::string& query_id) {
    runs.erase(query_id);
    ended.insert(query_id);
    std::lock_guard lock(tasks_mu);
    accepted.erase(query_id);
  }

  // Drops runs that saw nothing for longer than the resume window.
  void DropStaleRuns() {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::string> stale;
    for (const auto& [id, run] : runs) {
      if (now - run.last_activity > options.run_resume_window) {
        stale.push_back(id);
      }
    }
    for (const std::string& id : stale) {
      Log("aborted",
          StrCat("Gave up query ", id, ": the coordinator did not continue it"),
          {{"query_id", id}});
      EndRun(id);
    }
  }

  // OK unless this school must not run `query_id` (again): it already sent
  // its contribution to it (the store or the audit log says so, also after
  // a restart or with one of the two restored from a backup), or its run
  // of it ended in this process.
  absl::Status RefuseSecondRun(const std::string& query_id) {
    if (ended.contains(query_id)) {
      return absl::FailedPreconditionError(
          "this school's run of it already ended");
    }
    auto sent = audit->Contains("sent", "query_id", query_id);
    if (!sent.ok()) {
      return absl::Status(sent.status().code(),
                          StrCat("cannot read the audit log to check that "
                                 "this school did not contribute before: ",
                                 ToStd(sent.status().message())));
    }
    auto marked = store->Contributed(query_id);
    if (!marked.ok()) return marked.status();
    if (*sent || *marked) {
      return absl::FailedPreconditionError(
          "this school already sent its contribution to it; a second sum "
          "over another set of schools could reveal this school's numbers");
    }
    return absl::OkStatus();
  }

  absl::StatusOr<v1::NodeToCoordinator> StartRun(const v1::RunStart& start) {
    v1::QueryTicket ticket;
    {
      std::lock_guard lock(tasks_mu);
      auto it = accepted.find(start.query_id());
      if (it == accepted.end()) {
        return absl::FailedPreconditionError("this school did not accept it");
      }
      ticket = it->second;
    }
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
    if ((*setup)->size() < options.config.policy.min_schools) {
      return absl::PermissionDeniedError(
          StrCat("the run has ", (*setup)->size(),
                 " schools; this school takes part only with at least ",
                 options.config.policy.min_schools));
    }
    uint32_t self = UINT32_MAX;
    for (uint32_t i = 0; i < (*setup)->size(); ++i) {
      if ((*setup)->node_id(i) == options.config.school_id) self = i;
    }
    if (self == UINT32_MAX) {
      return absl::FailedPreconditionError("this school is not in the run");
    }
    Run run;
    run.query_id = start.query_id();
    run.setup = *setup;
    auto q = query::Query::Create(ticket.spec(), options.instruments);
    if (!q.ok()) return q.status();
    run.query = std::make_unique<query::Query>(*std::move(q));
    query::Layout layout(*run.query);
    if (layout.size() != (*setup)->dims()) {
      return absl::FailedPreconditionError(
          "the run's vector length does not match the query's layout");
    }
    std::vector<v1::PupilRecord> records;
    if (auto s = store->ForEach(
            [&](const v1::PupilRecord& r) { records.push_back(r); });
        !s.ok()) {
      return s;
    }
    auto input =
        query::Contribution(layout, records, options.config.municipality);
    if (!input.ok()) return input.status();
    auto node = crypto::secagg::SecAggNode::Create(*setup, self, *identity,
                                                   *std::move(input));
    if (!node.ok()) return node.status();
    run.node.emplace(*std::move(node));
    auto first = run.node->Start();
    if (!first.ok()) return first.status();
    runs[start.query_id()] = std::move(run);
    v1::NodeToCoordinator msg;
    *msg.mutable_secagg() = *std::move(first);
    return msg;
  }
};

Agent::Agent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Agent::~Agent() = default;

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(AgentOptions options,
                                                     Store* store,
                                                     AuditLog* audit) {
  auto impl = std::make_unique<Impl>();
  std::filesystem::path key_path = options.config.identity_key;
  if (key_path.is_relative()) key_path = options.data_dir / key_path;
  auto identity = crypto::IdentityKeyPair::LoadPrivateKeyFile(key_path);
  if (!identity.ok()) return identity.status();
  impl->identity.emplace(*std::move(identity));
  impl->options = std::move(options);
  // One agent per data directory: two could each contribute once.
  const std::filesystem::path lock_path = impl->options.data_dir / "agent.lock";
  impl->lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (impl->lock_fd < 0) {
    return absl::PermissionDeniedError(
        StrCat("cannot open ", lock_path.string(), ": ", std::strerror(errno)));
  }
  if (::flock(impl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    return absl::FailedPreconditionError(
        StrCat("another `kring-node run` is already serving the data "
               "directory ",
               impl->options.data_dir.string(), "; stop it first"));
  }
  auto channel = api::MakeChannel(
      NodeChannelOptions(impl->options.config, impl->options.data_dir));
  if (!channel.ok()) return channel.status();
  impl->channel = *std::move(channel);
  impl->store = store;
  impl->audit = audit;
  return std::unique_ptr<Agent>(new Agent(std::move(impl)));
}

void Agent::Run() {
  Impl& a = *impl_;
  std::thread poller;
  if (a.options.config.policy.manual_accept) {
    poller = std::thread([&a] {
      while (!a.stopping) {
        a.PollDecisions();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
      }
    });
  }
  std::mt19937_64 jitter(std::random_device{}());
  auto backoff = a.options.backoff_min;
  auto stub = v1::Coordinator::NewStub(a.channel);
  while (!a.stopping) {
    grpc::ClientContext context;
    {
      std::lock_guard lock(a.mu);
      a.context = &context;
    }
    auto stream = stub->Connect(&context);
    {
      std::lock_guard lock(a.mu);
      a.stream = stream.get();
    }
    const bool greeted = a.Session(*stream);
    {
      std::lock_guard lock(a.mu);
      a.context = nullptr;
      a.stream = nullptr;
    }
    stream->WritesDone();
    const grpc::Status status = stream->Finish();
    if (a.stopping) break;
    if (greeted) backoff = a.options.backoff_min;
    if (!status.ok() &&
        status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
      std::cerr << "kring-node: the coordinator refused this node: "
                << status.error_message() << "\n";
    }
    // Runs in progress are kept: on reconnecting, the coordinator sends the
    // current round's message again (see AnswerAgain).
    a.DropStaleRuns();
    // Exponential backoff with jitter (50%..100% of the current step).
    std::uniform_real_distribution<double> spread(0.5, 1.0);
    const auto wait = std::chrono::milliseconds(static_cast<int64_t>(
        static_cast<double>(backoff.count()) * spread(jitter)));
    for (auto waited = std::chrono::milliseconds(0);
         waited < wait && !a.stopping;
         waited += std::chrono::milliseconds(50)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    backoff = std::min(a.options.backoff_max, backoff * 2);
  }
  if (poller.joinable()) poller.join();
}

absl::StatusOr<std::vector<PendingTask>> ListPending(
    const std::filesystem::path& data_dir) {
  std::vector<PendingTask> out;
  std::error_code ec;
  const auto dir = data_dir / "pending";
  if (!std::filesystem::exists(dir, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto text = ReadFileToString(e.path());
    if (!text.ok()) continue;
    try {
      auto j = nlohmann::json::parse(*text);
      out.push_back(
          {j["query_id"].get<std::string>(), j["summary"].get<std::string>(),
           j["requester"].get<std::string>(), j["respond_by"].get<int64_t>()});
    } catch (const nlohmann::json::exception&) {
      continue;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const PendingTask& a, const PendingTask& b) {
              return a.query_id < b.query_id;
            });
  return out;
}

absl::Status DecidePending(const std::filesystem::path& data_dir,
                           std::string_view query_id, bool accept,
                           std::string_view reason) {
  const std::string id(query_id);
  std::error_code ec;
  if (id.empty() || id.find('/') != std::string::npos ||
      !std::filesystem::exists(data_dir / "pending" / (id + ".json"), ec)) {
    return absl::NotFoundError(
        StrCat("no query ", id, " is waiting; see `kring-node pending`"));
  }
  std::ofstream out(data_dir / "decisions" / id);
  out << (accept ? "accept" : "decline") << "\n" << reason << "\n";
  if (!out) return absl::InternalError("cannot write the decision");
  return absl::OkStatus();
}

void Agent::Stop() {
  impl_->stopping = true;
  std::lock_guard lock(impl_->mu);
  if (impl_->context != nullptr) impl_->context->TryCancel();
}

}  // namespace kring::node
