// `kring query submit|list|show|approve|reject`, `kring results` and
// `kring wait`: the life of a query, as its requester and its approvers
// see it.

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>

#include "api/auth.h"
#include "api/roles.h"
#include "cli/support.h"
#include "client/approval.h"
#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "query/spec.h"
#include "util/str_cat.h"

namespace kring::client {
namespace {

using cli::kExitFailed;
using cli::kExitOk;
using cli::LocalMinute;
using cli::OneLine;

constexpr const char* kJsonHelp = "Machine-readable output";

absl::StatusOr<v1::QueryInfo> GetQuery(Connection& conn,
                                       const std::string& id) {
  v1::GetQueryRequest req;
  req.set_query_id(id);
  auto resp = conn.Call(&Stub::GetQuery, std::move(req));
  if (!resp.ok()) return resp.status();
  return resp->query();
}

// Asks on the terminal; true for "y" or "yes".
bool Confirm(const char* question) {
  std::cerr << question << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "Yes";
}

// ---- query submit, list, show ----------------------------------------------

int RunSubmit(const Global& g, const std::string& spec_file, bool json) {
  auto text = ReadInput(spec_file);
  if (!text.ok()) return Fail(text.status());
  auto spec = query::ParseQuerySpecJson(*text);
  if (!spec.ok()) {
    return Fail(absl::InvalidArgumentError(
        StrCat(spec_file, ": ", ToStd(spec.status().message()))));
  }
  if (auto q = query::Query::Create(*spec, Instruments()); !q.ok()) {
    return Fail(absl::InvalidArgumentError(
        StrCat(spec_file, ": ", ToStd(q.status().message()))));
  }
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::SubmitQueryRequest req;
  *req.mutable_spec() = *spec;
  auto resp = conn->Call(&Stub::SubmitQuery, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  const v1::QueryInfo& q = resp->query();
  if (json) {
    PrintJson(QueryJson(q));
    return kExitOk;
  }
  std::cout << "Submitted " << OneLine(q.ticket().query_id()) << ": "
            << StateName(q.state()) << " (" << Approvals(q) << " approvals)\n  "
            << OneLine(q.summary()) << "\n"
            << "Follow it with `kring wait " << OneLine(q.ticket().query_id())
            << "` or `kring query show " << OneLine(q.ticket().query_id())
            << "`.\n";
  return kExitOk;
}

int RunList(const Global& g, bool json) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  // Every page, in order (each response stays within the message limit).
  auto resp = conn->Call(&Stub::ListQueries, v1::ListQueriesRequest());
  if (!resp.ok()) return Fail(resp.status());
  for (std::string token = resp->next_page_token(); !token.empty();) {
    v1::ListQueriesRequest next;
    next.set_page_token(token);
    auto page = conn->Call(&Stub::ListQueries, std::move(next));
    if (!page.ok()) return Fail(page.status());
    for (auto& q : *page->mutable_queries()) {
      *resp->add_queries() = std::move(q);
    }
    token = page->next_page_token();
  }
  if (json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& q : resp->queries()) list.push_back(QueryJson(q));
    PrintJson(list);
    return kExitOk;
  }
  if (resp->queries().empty()) {
    std::cout << "No queries.\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"ID", "STATE", "APPROVALS", "SUBMITTED", "SUMMARY"}};
  for (const auto& q : resp->queries()) {
    rows.push_back({q.ticket().query_id(), StateName(q.state()), Approvals(q),
                    LocalMinute(q.ticket().submitted_unix_millis()),
                    q.summary()});
  }
  PrintTable(rows);
  return kExitOk;
}

int RunShow(const Global& g, const std::string& id, bool json) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  auto q = GetQuery(*conn, id);
  if (!q.ok()) return Fail(q.status());
  if (json) {
    PrintJson(QueryJson(*q));
  } else {
    PrintQuery(*q);
  }
  return kExitOk;
}

// ---- query approve, reject -------------------------------------------------

// Prints the ticket an approver is about to sign.
void PrintTicketForReview(const std::string& id, const CheckedTicket& checked) {
  const v1::QueryTicket& t = checked.ticket;
  std::cout << "Query " << OneLine(id) << ", submitted "
            << LocalMinute(t.submitted_unix_millis()) << " by "
            << OneLine(t.requester_id()) << " ("
            << api::RoleName(t.requester_role());
  for (const auto& m : t.requester_municipalities()) {
    std::cout << " " << OneLine(m);
  }
  std::cout << "):\n  " << OneLine(checked.summary) << "\n";
  std::cout << "Purpose: "
            << (t.spec().purpose().empty() ? "(none given)"
                                           : OneLine(t.spec().purpose()))
            << "\nThe spec you sign:\n"
            << SpecJson(t.spec()).dump(2, ' ', false,
                                       nlohmann::json::error_handler_t::replace)
            << "\n";
}

int RunApprove(const Global& g, const std::string& id, bool yes) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  auto q = GetQuery(*conn, id);
  if (!q.ok()) return Fail(q.status());
  if (q->state() != v1::QUERY_STATE_AWAITING_APPROVAL) {
    return Fail(absl::FailedPreconditionError(
        StrCat("query ", id, " does not await approval (it is ",
               StateName(q->state()), ")")));
  }
  // Review and sign the ticket the nodes will verify, read from the signed
  // bytes themselves rather than from what the coordinator says about them.
  auto checked = CheckTicket(*q, id);
  if (!checked.ok()) return Fail(checked.status());
  PrintTicketForReview(id, *checked);
  if (!yes && isatty(STDIN_FILENO) &&
      !Confirm("Sign your approval of this query? [y/N] ")) {
    std::cerr << "kring: not approved\n";
    return kExitFailed;
  }
  auto signature = conn->key().Sign(api::kApprovalContext, q->ticket_bytes());
  if (!signature.ok()) return Fail(signature.status());
  v1::ApproveQueryRequest req;
  req.set_query_id(id);
  req.set_signature(*signature);
  auto resp = conn->Call(&Stub::ApproveQuery, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  const v1::QueryInfo& after = resp->query();
  std::cout << "Approved " << OneLine(id) << " (" << Approvals(after)
            << " approvals): " << StateName(after.state()) << "\n";
  if (after.state() == v1::QUERY_STATE_RUNNING) {
    std::cout << "The query now goes to the schools' nodes; each checks the "
                 "approvals and its own policy before taking part.\n";
  }
  return kExitOk;
}

int RunReject(const Global& g, const std::string& id,
              const std::string& reason) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::RejectQueryRequest req;
  req.set_query_id(id);
  req.set_reason(reason);
  auto resp = conn->Call(&Stub::RejectQuery, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  std::cout << "Rejected " << OneLine(id) << ": "
            << OneLine(resp->query().reason()) << "\n";
  return kExitOk;
}

// ---- results, wait ---------------------------------------------------------

int RunResults(const Global& g, const std::string& id,
               const std::string& format, const std::string& out) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::GetResultRequest req;
  req.set_query_id(id);
  req.set_format(format == "json"  ? v1::RESULT_FORMAT_JSON
                 : format == "csv" ? v1::RESULT_FORMAT_CSV
                                   : v1::RESULT_FORMAT_TABLE);
  auto resp = conn->Call(&Stub::GetResult, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  std::string body = resp->body();
  if (!body.empty() && body.back() != '\n') body.push_back('\n');
  if (out.empty() || out == "-") {
    std::cout << body;
    return kExitOk;
  }
  std::ofstream file(out, std::ios::binary | std::ios::trunc);
  file << body;
  file.close();
  if (!file) return Fail(absl::InternalError(StrCat("cannot write ", out)));
  std::cerr << "Wrote the results of " << OneLine(id) << " (" << format
            << ") to " << out << "\n";
  return kExitOk;
}

// What `kring wait` has told the user so far, on stderr.
class WaitProgress {
 public:
  explicit WaitProgress(const std::string& id)
      : id_(id), dots_(isatty(STDERR_FILENO)) {}

  // The coordinator did not answer; said once per outage.
  void Unreachable(const absl::Status& s) {
    if (!unreachable_) {
      EndDots();
      std::cerr << "kring: " << ToStd(s.message()) << "; still trying\n";
    }
    unreachable_ = true;
  }

  // The query as last read; a line whenever its state or approvals change.
  void Seen(const v1::QueryInfo& q) {
    unreachable_ = false;
    if (seen_ && q.state() == last_state_ &&
        q.approvals_size() == last_approvals_) {
      return;
    }
    EndDots();
    std::cerr << OneLine(id_) << ": " << StateName(q.state());
    if (q.state() == v1::QUERY_STATE_AWAITING_APPROVAL) {
      std::cerr << " (" << Approvals(q) << " approvals)";
    }
    std::cerr << "\n";
    seen_ = true;
    last_state_ = q.state();
    last_approvals_ = q.approvals_size();
  }

  // A dot per poll, on a terminal only.
  void Dot() {
    if (!dots_) return;
    std::cerr << "." << std::flush;
    dotted_ = true;
  }

  // Ends a line of dots before other output.
  void EndDots() {
    if (dotted_) std::cerr << "\n";
    dotted_ = false;
  }

  std::string LastStateName() const {
    return seen_ ? StateName(last_state_) : "unknown";
  }

 private:
  const std::string& id_;
  const bool dots_;
  bool seen_ = false;  // whether last_state_ holds a state read
  v1::QueryState last_state_{};
  int last_approvals_ = -1;
  bool unreachable_ = false;
  bool dotted_ = false;
};

// The exit code once `q` is final (released, failed or rejected).
std::optional<int> Finished(const std::string& id, const v1::QueryInfo& q) {
  switch (q.state()) {
    case v1::QUERY_STATE_RELEASED:
      std::cout << OneLine(id) << " is released (" << Schools(q.participants())
                << "). Get the figures with `kring results " << OneLine(id)
                << "`.\n";
      return kExitOk;
    case v1::QUERY_STATE_FAILED:
    case v1::QUERY_STATE_REJECTED:
      return Fail(absl::FailedPreconditionError(
          StrCat(id, " ", StateName(q.state()), q.reason().empty() ? "" : ": ",
                 q.reason())));
    default:
      return std::nullopt;
  }
}

int RunWait(const Global& g, const std::string& id, double timeout_seconds) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const bool limited = timeout_seconds > 0;
  const auto limit = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(timeout_seconds));
  WaitProgress progress(id);
  while (true) {
    auto q = GetQuery(*conn, id);
    if (!q.ok()) {
      const absl::StatusCode code = q.status().code();
      if (code != absl::StatusCode::kUnavailable &&
          code != absl::StatusCode::kDeadlineExceeded) {
        progress.EndDots();
        return Fail(q.status());
      }
      progress.Unreachable(q.status());
    } else {
      progress.Seen(*q);
      if (std::optional<int> rc = Finished(id, *q)) return *rc;
    }
    if (limited && Clock::now() - start >= limit) {
      progress.EndDots();
      return Fail(absl::DeadlineExceededError(
          StrCat(id, " is still ", progress.LastStateName(), " after ",
                 timeout_seconds, " seconds")));
    }
    progress.Dot();
    auto pause =
        std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(2));
    if (limited) pause = std::min(pause, limit - (Clock::now() - start));
    if (pause > Clock::duration::zero()) std::this_thread::sleep_for(pause);
  }
}

// ---- Registration ----------------------------------------------------------

void AddSubmitListShow(CLI::App& query, const Global& g, Command& chosen) {
  struct Flags {
    std::string submit_file, show_id;
    bool submit_json = false, list_json = false, show_json = false;
  };
  auto f = std::make_shared<Flags>();
  auto* submit = query.add_subcommand(
      "submit",
      "Submit a query spec (JSON, see docs/queries.md) for approval. The "
      "spec is checked here first.");
  submit->add_option("spec", f->submit_file, "The query spec (JSON), or -")
      ->required();
  submit->add_flag("--json", f->submit_json, kJsonHelp);
  submit->callback([f, &g, &chosen] {
    chosen = [f, &g] { return RunSubmit(g, f->submit_file, f->submit_json); };
  });

  auto* list = query.add_subcommand(
      "list",
      "Your queries (approvers and admins: all queries) with their state.");
  list->add_flag("--json", f->list_json, kJsonHelp);
  list->callback([f, &g, &chosen] {
    chosen = [f, &g] { return RunList(g, f->list_json); };
  });

  auto* show = query.add_subcommand(
      "show",
      "A query's state, summary, approvals, reason, the schools' decisions "
      "and how many schools are in the result.");
  show->add_option("id", f->show_id, "Query id, e.g. q-1a2b3c4d5e6f")
      ->required();
  show->add_flag("--json", f->show_json, kJsonHelp);
  show->callback([f, &g, &chosen] {
    chosen = [f, &g] { return RunShow(g, f->show_id, f->show_json); };
  });
}

void AddApproveReject(CLI::App& query, const Global& g, Command& chosen) {
  struct Flags {
    std::string approve_id, reject_id, reject_reason;
    bool approve_yes = false;
  };
  auto f = std::make_shared<Flags>();
  auto* approve = query.add_subcommand(
      "approve",
      "Approvers: review a query (read from the exact bytes you sign) and "
      "sign your approval with your key.");
  approve->add_option("id", f->approve_id, "Query id")->required();
  approve->add_flag("--yes", f->approve_yes,
                    "Do not ask for confirmation on the terminal");
  approve->callback([f, &g, &chosen] {
    chosen = [f, &g] { return RunApprove(g, f->approve_id, f->approve_yes); };
  });

  auto* reject = query.add_subcommand(
      "reject", "Approvers: reject a query, with a reason the requester sees.");
  reject->add_option("id", f->reject_id, "Query id")->required();
  reject->add_option("--reason", f->reject_reason, "Why, in plain words")
      ->required();
  reject->callback([f, &g, &chosen] {
    chosen = [f, &g] { return RunReject(g, f->reject_id, f->reject_reason); };
  });
}

void AddResultsWait(CLI::App& app, const Global& g, Command& chosen) {
  struct Flags {
    std::string results_id, results_format = "table", results_out, wait_id;
    double wait_timeout = 0;
  };
  auto f = std::make_shared<Flags>();
  auto* results = app.add_subcommand(
      "results",
      "The released figures of a query (yours, or one an admin granted "
      "you). Suppressed cells say why.");
  results->add_option("id", f->results_id, "Query id")->required();
  results->add_option("--format", f->results_format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
  results->add_option("--out", f->results_out,
                      "Write to this file instead of the terminal");
  results->callback([f, &g, &chosen] {
    chosen = [f, &g] {
      return RunResults(g, f->results_id, f->results_format, f->results_out);
    };
  });

  auto* wait = app.add_subcommand(
      "wait",
      "Wait until a query is released (exit 0), or failed or rejected "
      "(exit 1, with the reason).");
  wait->add_option("id", f->wait_id, "Query id")->required();
  wait->add_option("--timeout", f->wait_timeout,
                   "Give up after this many seconds (exit 1); default: wait "
                   "as long as it takes")
      ->check(CLI::NonNegativeNumber);
  wait->callback([f, &g, &chosen] {
    chosen = [f, &g] { return RunWait(g, f->wait_id, f->wait_timeout); };
  });
}

}  // namespace

void AddQueryCommands(CLI::App& app, const Global& g, Command& chosen) {
  auto* query = app.add_subcommand("query",
                                   "Submit, list, show, approve or "
                                   "reject queries.");
  query->require_subcommand(1);
  AddSubmitListShow(*query, g, chosen);
  AddApproveReject(*query, g, chosen);
  AddResultsWait(app, g, chosen);
}

}  // namespace kring::client
