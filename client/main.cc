// kring: the command line of researchers, municipality analysts, approvers
// and administrators of a kring coordinator. See `kring --help`.

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "api/roles.h"
#include "client/approval.h"
#include "client/connection.h"
#include "crypto/identity.h"
#include "google/protobuf/util/json_util.h"
#include "kring/v1/service.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "query/spec.h"
#include "survey/registry.h"
#include "util/str_cat.h"

namespace kring::client {
namespace {

using Stub = v1::Coordinator::Stub;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the request (or the command) failed
constexpr int kExitUsage = 2;

int Fail(const absl::Status& s) {
  std::cerr << "kring: " << ToStd(s.message()) << "\n";
  return kExitFailed;
}

int Usage(std::string_view message) {
  std::cerr << "kring: " << message << "\n";
  return kExitUsage;
}

struct Global {
  std::string coordinator{kDefaultCoordinator};
  std::string user;
  std::string key_file;
  std::string ca_file;
  bool insecure_loopback = false;
};

// Opens a signed-in connection into `out`; returns 0, or the exit code
// after printing why not.
int SignIn(const Global& g, std::optional<Connection>& out) {
  if (g.user.empty()) {
    return Usage("who are you? give --user ID or set KRING_USER");
  }
  if (g.key_file.empty()) {
    return Usage(
        "no key: give --key FILE or set KRING_KEY (make one with "
        "`kring keygen --out FILE`)");
  }
  api::ChannelOptions options;
  options.address = g.coordinator;
  options.ca_file = g.ca_file;
  options.insecure_loopback = g.insecure_loopback;
  if (absl::Status s = api::CheckTransportPolicy(options); !s.ok()) {
    return Usage(ToStd(s.message()));
  }
  auto key = crypto::IdentityKeyPair::LoadPrivateKeyFile(g.key_file);
  if (!key.ok()) return Fail(key.status());
  auto conn = Connection::Open(options, g.user, *std::move(key));
  if (!conn.ok()) return Fail(conn.status());
  out.emplace(*std::move(conn));
  return kExitOk;
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  std::ostringstream ss;
  if (path == "-") {
    ss << std::cin.rdbuf();
    return ss.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", path));
  ss << in.rdbuf();
  return ss.str();
}

// ---- Presentation ----------------------------------------------------------

std::string StateName(v1::QueryState s) {
  switch (s) {
    case v1::QUERY_STATE_AWAITING_APPROVAL:
      return "awaiting approval";
    case v1::QUERY_STATE_REJECTED:
      return "rejected";
    case v1::QUERY_STATE_RUNNING:
      return "running";
    case v1::QUERY_STATE_RELEASED:
      return "released";
    case v1::QUERY_STATE_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

std::string StateKey(v1::QueryState s) {
  std::string out = StateName(s);
  for (char& c : out) c = c == ' ' ? '_' : c;
  return out;
}

std::string LocalTime(int64_t unix_millis) {
  if (unix_millis <= 0) return "never";
  const std::time_t t = static_cast<std::time_t>(unix_millis / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string UtcTime(int64_t unix_millis) {
  const std::time_t t = static_cast<std::time_t>(unix_millis / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Text a terminal prints as one line: control characters become '?'.
std::string OneLine(std::string_view text) {
  std::string out(text);
  for (char& ch : out) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) ch = '?';
  }
  return out;
}

// "1 school", "2 schools".
std::string Schools(uint64_t n) {
  return StrCat(n, n == 1 ? " school" : " schools");
}

std::string Approvals(const v1::QueryInfo& q) {
  return StrCat(q.approvals_size(), " of ", q.approvals_required());
}

// Columns padded to their widest cell (counting UTF-8 characters).
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  auto width = [](std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size());
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], width(row[i]));
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += OneLine(row[i]);
      if (i + 1 < row.size()) line.append(widths[i] - width(row[i]) + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

nlohmann::ordered_json SpecJson(const v1::QuerySpec& spec) {
  std::string text;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(spec, &text, o).ok()) {
    return nullptr;
  }
  return nlohmann::ordered_json::parse(text, nullptr, false);
}

nlohmann::ordered_json QueryJson(const v1::QueryInfo& q) {
  const v1::QueryTicket& t = q.ticket();
  nlohmann::ordered_json approvers = nlohmann::ordered_json::array();
  for (const auto& a : q.approvals()) approvers.push_back(a.approver_id());
  nlohmann::ordered_json decisions = nlohmann::ordered_json::array();
  for (const auto& d : q.decisions()) {
    decisions.push_back({{"school_id", d.school_id()},
                         {"accepted", d.accepted()},
                         {"reason", d.reason()}});
  }
  return {
      {"id", t.query_id()},
      {"state", StateKey(q.state())},
      {"summary", q.summary()},
      {"requester",
       {{"id", t.requester_id()},
        {"role", api::RoleName(t.requester_role())},
        {"municipalities",
         std::vector<std::string>(t.requester_municipalities().begin(),
                                  t.requester_municipalities().end())}}},
      {"submitted", UtcTime(t.submitted_unix_millis())},
      {"approvals",
       {{"given", q.approvals_size()},
        {"required", q.approvals_required()},
        {"by", approvers}}},
      {"reason", q.reason()},
      {"participants", q.participants()},
      {"decisions", decisions},
      {"spec", SpecJson(t.spec())},
  };
}

void PrintJson(const nlohmann::ordered_json& j) {
  std::cout << j.dump(2, ' ', false,
                      nlohmann::ordered_json::error_handler_t::replace)
            << "\n";
}

void PrintQuery(const v1::QueryInfo& q) {
  const v1::QueryTicket& t = q.ticket();
  std::cout << "Query " << OneLine(t.query_id()) << ": " << StateName(q.state())
            << "\n  " << OneLine(q.summary()) << "\n";
  if (!t.spec().purpose().empty()) {
    std::cout << "Purpose:      " << OneLine(t.spec().purpose()) << "\n";
  }
  std::cout << "Requester:    " << OneLine(t.requester_id()) << " ("
            << api::RoleName(t.requester_role()) << ")\n"
            << "Submitted:    " << LocalTime(t.submitted_unix_millis()) << "\n"
            << "Approvals:    " << Approvals(q);
  if (q.approvals_size() > 0) {
    std::cout << " (";
    for (int i = 0; i < q.approvals_size(); ++i) {
      std::cout << (i > 0 ? ", " : "") << OneLine(q.approvals(i).approver_id());
    }
    std::cout << ")";
  }
  std::cout << "\n";
  if (!q.reason().empty()) {
    std::cout << "Reason:       " << OneLine(q.reason()) << "\n";
  }
  if (q.state() == v1::QUERY_STATE_RUNNING ||
      q.state() == v1::QUERY_STATE_RELEASED ||
      q.state() == v1::QUERY_STATE_FAILED) {
    std::cout << "Participants: " << Schools(q.participants()) << "\n";
  }
  if (q.decisions_size() > 0) {
    int accepted = 0;
    for (const auto& d : q.decisions()) accepted += d.accepted();
    std::cout << "Node decisions: " << accepted << " accepted, "
              << q.decisions_size() - accepted << " declined\n";
    for (const auto& d : q.decisions()) {
      std::cout << "  " << OneLine(d.school_id()) << "  "
                << (d.accepted() ? "accepted" : "declined");
      if (!d.reason().empty()) std::cout << ": " << OneLine(d.reason());
      std::cout << "\n";
    }
  } else if (q.state() == v1::QUERY_STATE_RUNNING) {
    std::cout << "Node decisions: no school has answered yet\n";
  }
}

// ---- Commands --------------------------------------------------------------

int RunKeygen(const std::string& out) {
  const std::filesystem::path priv(out);
  const std::filesystem::path pub(out + ".pub");
  std::error_code ec;
  if (std::filesystem::exists(priv, ec) || std::filesystem::exists(pub, ec)) {
    return Fail(absl::AlreadyExistsError(
        StrCat(out, " or ", pub.string(),
               " already exists; kring never overwrites a key. Choose "
               "another --out, or move the old files away first")));
  }
  crypto::IdentityKeyPair key = crypto::IdentityKeyPair::Generate();
  if (absl::Status s = key.SavePrivateKeyFile(priv); !s.ok()) return Fail(s);
  if (absl::Status s = key.public_key().SaveFile(pub); !s.ok()) return Fail(s);
  std::cout << "Wrote your private key to " << out
            << " (mode 0600: keep it, never send it to anyone)\n"
            << "and your public key to " << pub.string() << ".\n\n"
            << "Give your coordinator's administrator the user id you want "
               "and this public key:\n  "
            << key.public_key().ToText() << "\n"
            << "Fingerprint, to confirm by phone once you are registered:\n  "
            << key.public_key().Fingerprint() << "\n\n"
            << "Then sign in with --user ID --key " << out
            << " (or set KRING_USER and KRING_KEY).\n";
  return kExitOk;
}

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
  auto resp = conn->Call(&Stub::ListQueries, v1::ListQueriesRequest());
  if (!resp.ok()) return Fail(resp.status());
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
                    LocalTime(q.ticket().submitted_unix_millis()),
                    q.summary()});
  }
  PrintTable(rows);
  return kExitOk;
}

absl::StatusOr<v1::QueryInfo> GetQuery(Connection& conn,
                                       const std::string& id) {
  v1::GetQueryRequest req;
  req.set_query_id(id);
  auto resp = conn.Call(&Stub::GetQuery, std::move(req));
  if (!resp.ok()) return resp.status();
  return resp->query();
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

// Asks on the terminal; true for "y" or "yes".
bool Confirm(const char* question) {
  std::cerr << question << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "Yes";
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
  const v1::QueryTicket& t = checked->ticket;
  std::cout << "Query " << OneLine(id) << ", submitted "
            << LocalTime(t.submitted_unix_millis()) << " by "
            << OneLine(t.requester_id()) << " ("
            << api::RoleName(t.requester_role());
  for (const auto& m : t.requester_municipalities()) {
    std::cout << " " << OneLine(m);
  }
  std::cout << "):\n  " << OneLine(checked->summary) << "\n";
  std::cout << "Purpose: "
            << (t.spec().purpose().empty() ? "(none given)"
                                           : OneLine(t.spec().purpose()))
            << "\nThe spec you sign:\n"
            << SpecJson(t.spec()).dump(2, ' ', false,
                                       nlohmann::json::error_handler_t::replace)
            << "\n";
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

int RunWait(const Global& g, const std::string& id, double timeout_seconds) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const bool limited = timeout_seconds > 0;
  const auto limit = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(timeout_seconds));
  const bool dots = isatty(STDERR_FILENO);
  std::optional<v1::QueryState> last_state;
  int last_approvals = -1;
  bool unreachable = false;
  bool dotted = false;
  auto end_dots = [&] {
    if (dotted) std::cerr << "\n";
    dotted = false;
  };
  while (true) {
    auto q = GetQuery(*conn, id);
    if (!q.ok()) {
      const absl::StatusCode code = q.status().code();
      if (code != absl::StatusCode::kUnavailable &&
          code != absl::StatusCode::kDeadlineExceeded) {
        end_dots();
        return Fail(q.status());
      }
      if (!unreachable) {
        end_dots();
        std::cerr << "kring: " << ToStd(q.status().message())
                  << "; still trying\n";
      }
      unreachable = true;
    } else {
      unreachable = false;
      if (q->state() != last_state || q->approvals_size() != last_approvals) {
        end_dots();
        std::cerr << OneLine(id) << ": " << StateName(q->state());
        if (q->state() == v1::QUERY_STATE_AWAITING_APPROVAL) {
          std::cerr << " (" << Approvals(*q) << " approvals)";
        }
        std::cerr << "\n";
        last_state = q->state();
        last_approvals = q->approvals_size();
      }
      switch (q->state()) {
        case v1::QUERY_STATE_RELEASED:
          std::cout << OneLine(id) << " is released ("
                    << Schools(q->participants())
                    << "). Get the figures with `kring results " << OneLine(id)
                    << "`.\n";
          return kExitOk;
        case v1::QUERY_STATE_FAILED:
        case v1::QUERY_STATE_REJECTED:
          return Fail(absl::FailedPreconditionError(
              StrCat(id, " ", StateName(q->state()),
                     q->reason().empty() ? "" : ": ", q->reason())));
        default:
          break;
      }
    }
    if (limited && Clock::now() - start >= limit) {
      end_dots();
      return Fail(absl::DeadlineExceededError(StrCat(
          id, " is still ", last_state ? StateName(*last_state) : "unknown",
          " after ", timeout_seconds, " seconds")));
    }
    if (dots) {
      std::cerr << "." << std::flush;
      dotted = true;
    }
    auto pause =
        std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(2));
    if (limited) pause = std::min(pause, limit - (Clock::now() - start));
    if (pause > Clock::duration::zero()) std::this_thread::sleep_for(pause);
  }
}

int RunEnrollCode(const Global& g, const std::string& brin,
                  const std::string& name, const std::string& municipality,
                  bool json) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::CreateEnrollmentCodeRequest req;
  req.set_brin(brin);
  req.set_school_name(name);
  req.set_municipality(municipality);
  auto resp = conn->Call(&Stub::CreateEnrollmentCode, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  if (json) {
    PrintJson({{"code", resp->code()},
               {"expires", UtcTime(resp->expires_unix_millis())}});
    return kExitOk;
  }
  std::cout << "Enrollment code for " << OneLine(name) << " (" << OneLine(brin)
            << ", " << OneLine(municipality) << "):\n  "
            << OneLine(resp->code()) << "\n"
            << "It works once, until " << LocalTime(resp->expires_unix_millis())
            << ". Give it to the school's IT over a channel you trust; they "
               "enroll their node with it, and you confirm the node's key "
               "fingerprint with them by phone (`kring admin nodes`).\n";
  return kExitOk;
}

struct AddUserFlags {
  std::string id;
  std::string role;
  std::string public_key;
  std::vector<std::string> municipalities;
};

int RunAddUser(const Global& g, const AddUserFlags& f) {
  const v1::Role role = f.role == "researcher"     ? v1::ROLE_RESEARCHER
                        : f.role == "municipality" ? v1::ROLE_MUNICIPALITY
                        : f.role == "approver"     ? v1::ROLE_APPROVER
                                                   : v1::ROLE_ADMIN;
  if (role == v1::ROLE_MUNICIPALITY && f.municipalities.empty()) {
    return Usage(
        "a municipality user needs its municipalities: --municipality "
        "GMxxxx (once per code)");
  }
  if (role != v1::ROLE_MUNICIPALITY && !f.municipalities.empty()) {
    return Usage("--municipality is only for --role municipality");
  }
  auto key = crypto::IdentityPublicKey::FromFileOrText(f.public_key);
  if (!key.ok()) {
    return Fail(absl::InvalidArgumentError(StrCat(
        "--public-key ", f.public_key, ": ", ToStd(key.status().message()),
        " (give the .pub file or the text `kring keygen` printed)")));
  }
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::RegisterUserRequest req;
  req.set_user_id(f.id);
  req.set_role(role);
  req.set_public_key(std::string(key->bytes()));
  for (const auto& m : f.municipalities) req.add_municipalities(m);
  auto resp = conn->Call(&Stub::RegisterUser, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  if (resp->fingerprint() != key->Fingerprint()) {
    return Fail(absl::InternalError(StrCat(
        "registered ", f.id, ", but the coordinator reports key fingerprint ",
        resp->fingerprint(), " instead of ", key->Fingerprint(),
        "; tell the coordinator's operator")));
  }
  std::cout << "Registered " << OneLine(f.id) << " as " << f.role;
  for (const auto& m : f.municipalities) std::cout << " " << OneLine(m);
  std::cout << ".\nKey fingerprint: " << key->Fingerprint()
            << "\nConfirm it with " << OneLine(f.id)
            << " (by phone or in person) before they rely on it.\n";
  return kExitOk;
}

int RunNodes(const Global& g, bool json) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  auto resp = conn->Call(&Stub::ListNodes, v1::ListNodesRequest());
  if (!resp.ok()) return Fail(resp.status());
  if (json) {
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& n : resp->nodes()) {
      list.push_back({{"school_id", n.school_id()},
                      {"brin", n.brin()},
                      {"school_name", n.school_name()},
                      {"municipality", n.municipality()},
                      {"connected", n.connected()},
                      {"last_seen", n.last_seen_unix_millis() > 0
                                        ? nlohmann::ordered_json(UtcTime(
                                              n.last_seen_unix_millis()))
                                        : nlohmann::ordered_json(nullptr)},
                      {"version", n.version()},
                      {"fingerprint", n.fingerprint()}});
    }
    PrintJson(list);
    return kExitOk;
  }
  if (resp->nodes().empty()) {
    std::cout << "No schools enrolled yet (`kring admin enroll-code`).\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {
      {"SCHOOL", "BRIN", "NAME", "MUNICIPALITY", "CONNECTED", "LAST SEEN",
       "VERSION", "FINGERPRINT"}};
  int connected = 0;
  for (const auto& n : resp->nodes()) {
    connected += n.connected();
    rows.push_back({n.school_id(), n.brin(), n.school_name(), n.municipality(),
                    n.connected() ? "yes" : "no",
                    LocalTime(n.last_seen_unix_millis()), n.version(),
                    n.fingerprint()});
  }
  PrintTable(rows);
  std::cout << Schools(resp->nodes_size()) << ", " << connected
            << " connected now.\n";
  return kExitOk;
}

int RunGrant(const Global& g, const std::string& query_id,
             const std::string& user_id) {
  std::optional<Connection> conn;
  if (int rc = SignIn(g, conn); rc != kExitOk) return rc;
  v1::GrantResultRequest req;
  req.set_query_id(query_id);
  req.set_user_id(user_id);
  auto resp = conn->Call(&Stub::GrantResult, std::move(req));
  if (!resp.ok()) return Fail(resp.status());
  std::cout << OneLine(user_id) << " may now read the results of "
            << OneLine(query_id) << ".\n";
  return kExitOk;
}

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

int Main(int argc, char** argv) {
  CLI::App app{
      "kring asks questions about pupils' sense of belonging across many "
      "schools. Each school keeps its own pupils' answers; a query runs on "
      "the schools' own servers after approval, and you get back only "
      "figures over enough schools that passed disclosure control.\n\n"
      "First time: `kring keygen --out ~/.kring/key`, then give your user "
      "id and the printed public key to your coordinator's administrator. "
      "Sign in with --user and --key (or KRING_USER and KRING_KEY), and "
      "give the coordinator's address with --coordinator and its CA with "
      "--ca (or KRING_COORDINATOR and KRING_CA).\n\n"
      "Researchers and municipalities: `kring query submit SPEC.json`, "
      "`kring wait ID`, `kring results ID`. Approvers: `kring query list`, "
      "`kring query approve ID` or `kring query reject ID --reason TEXT`. "
      "Query specs are described in docs/queries.md.",
      "kring"};
  app.footer(
      "Exit codes: 0 done, 1 the request failed (the reason follows "
      "\"kring:\"), 2 wrong usage.");
  app.require_subcommand(1);
  app.fallthrough();

  Global g;
  g.coordinator = Env("KRING_COORDINATOR");
  if (g.coordinator.empty()) g.coordinator = std::string(kDefaultCoordinator);
  g.user = Env("KRING_USER");
  g.key_file = Env("KRING_KEY");
  g.ca_file = Env("KRING_CA");
  app.add_option("--coordinator", g.coordinator,
                 "The coordinator's address, HOST:PORT (env "
                 "KRING_COORDINATOR; default 127.0.0.1:7443)");
  app.add_option("--user", g.user,
                 "Your user id, as your administrator registered it (env "
                 "KRING_USER)");
  app.add_option("--key", g.key_file,
                 "Your private key file, from `kring keygen` (env KRING_KEY)");
  app.add_option("--ca", g.ca_file,
                 "CA certificate (PEM) the coordinator's TLS certificate is "
                 "signed by (env KRING_CA); default: the system's CAs");
  app.add_flag("--insecure-loopback", g.insecure_loopback,
               "No TLS; only for a coordinator on this machine "
               "(127.0.0.1, [::1], localhost), e.g. a demo");

  std::string keygen_out;
  auto* keygen = app.add_subcommand(
      "keygen",
      "Make your key pair: the private key (FILE, only you can read it) and "
      "FILE.pub; prints the public key and fingerprint for your "
      "administrator.");
  keygen->add_option("--out", keygen_out, "Private key file to create")
      ->required();

  auto* query = app.add_subcommand("query",
                                   "Submit, list, show, approve or "
                                   "reject queries.");
  query->require_subcommand(1);

  std::string submit_file;
  bool submit_json = false;
  auto* submit = query->add_subcommand(
      "submit",
      "Submit a query spec (JSON, see docs/queries.md) for approval. The "
      "spec is checked here first.");
  submit->add_option("spec", submit_file, "The query spec (JSON), or -")
      ->required();
  submit->add_flag("--json", submit_json, "Machine-readable output");

  bool list_json = false;
  auto* list = query->add_subcommand(
      "list",
      "Your queries (approvers and admins: all queries) with their state.");
  list->add_flag("--json", list_json, "Machine-readable output");

  std::string show_id;
  bool show_json = false;
  auto* show = query->add_subcommand(
      "show",
      "A query's state, summary, approvals, reason, the schools' decisions "
      "and how many schools are in the result.");
  show->add_option("id", show_id, "Query id, e.g. q-1a2b3c4d5e6f")->required();
  show->add_flag("--json", show_json, "Machine-readable output");

  std::string approve_id;
  bool approve_yes = false;
  auto* approve = query->add_subcommand(
      "approve",
      "Approvers: review a query (read from the exact bytes you sign) and "
      "sign your approval with your key.");
  approve->add_option("id", approve_id, "Query id")->required();
  approve->add_flag("--yes", approve_yes,
                    "Do not ask for confirmation on the terminal");

  std::string reject_id, reject_reason;
  auto* reject = query->add_subcommand(
      "reject", "Approvers: reject a query, with a reason the requester sees.");
  reject->add_option("id", reject_id, "Query id")->required();
  reject->add_option("--reason", reject_reason, "Why, in plain words")
      ->required();

  std::string results_id, results_format = "table", results_out;
  auto* results = app.add_subcommand(
      "results",
      "The released figures of a query (yours, or one an admin granted "
      "you). Suppressed cells say why.");
  results->add_option("id", results_id, "Query id")->required();
  results->add_option("--format", results_format, "table, json or csv")
      ->check(CLI::IsMember({"table", "json", "csv"}))
      ->capture_default_str();
  results->add_option("--out", results_out,
                      "Write to this file instead of the terminal");

  std::string wait_id;
  double wait_timeout = 0;
  auto* wait = app.add_subcommand(
      "wait",
      "Wait until a query is released (exit 0), or failed or rejected "
      "(exit 1, with the reason).");
  wait->add_option("id", wait_id, "Query id")->required();
  wait->add_option("--timeout", wait_timeout,
                   "Give up after this many seconds (exit 1); default: wait "
                   "as long as it takes")
      ->check(CLI::NonNegativeNumber);

  auto* admin = app.add_subcommand(
      "admin", "Coordinator administrators: schools, users and access.");
  admin->require_subcommand(1);

  std::string enroll_brin, enroll_name, enroll_municipality;
  bool enroll_json = false;
  auto* enroll = admin->add_subcommand(
      "enroll-code", "A one-time code with which a school's node enrolls.");
  enroll->add_option("--brin", enroll_brin, "The school's BRIN, e.g. 00AA")
      ->required();
  enroll->add_option("--name", enroll_name, "The school's name")->required();
  enroll
      ->add_option("--municipality", enroll_municipality,
                   "The school's municipality (CBS code), e.g. GM0363")
      ->required();
  enroll->add_flag("--json", enroll_json, "Machine-readable output");

  AddUserFlags add;
  auto* add_user = admin->add_subcommand(
      "add-user", "Register a user with a role and their public key.");
  add_user->add_option("--id", add.id, "The new user's id")->required();
  add_user
      ->add_option("--role", add.role,
                   "researcher, municipality, approver or admin")
      ->required()
      ->check(
          CLI::IsMember({"researcher", "municipality", "approver", "admin"}));
  add_user
      ->add_option("--public-key", add.public_key,
                   "Their FILE.pub from `kring keygen`, or the key text "
                   "(kring-ed25519-public-v1:...)")
      ->required();
  add_user->add_option("--municipality", add.municipalities,
                       "For --role municipality: a municipality (CBS code) "
                       "it may query; repeat for several");

  bool nodes_json = false;
  auto* nodes = admin->add_subcommand(
      "nodes",
      "The enrolled schools' nodes: connected, last seen, key "
      "fingerprint.");
  nodes->add_flag("--json", nodes_json, "Machine-readable output");

  std::string grant_query, grant_user;
  auto* grant = admin->add_subcommand(
      "grant", "Let another user read the results of a query.");
  grant->add_option("--query", grant_query, "Query id")->required();
  grant
      ->add_option("--user", grant_user,
                   "The user who may read them (your own id goes before "
                   "`admin`: kring --user ME admin grant ...)")
      ->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (*keygen) return RunKeygen(keygen_out);
  if (*submit) return RunSubmit(g, submit_file, submit_json);
  if (*list) return RunList(g, list_json);
  if (*show) return RunShow(g, show_id, show_json);
  if (*approve) return RunApprove(g, approve_id, approve_yes);
  if (*reject) return RunReject(g, reject_id, reject_reason);
  if (*results) {
    return RunResults(g, results_id, results_format, results_out);
  }
  if (*wait) return RunWait(g, wait_id, wait_timeout);
  if (*enroll) {
    return RunEnrollCode(g, enroll_brin, enroll_name, enroll_municipality,
                         enroll_json);
  }
  if (*add_user) return RunAddUser(g, add);
  if (*nodes) return RunNodes(g, nodes_json);
  if (*grant) return RunGrant(g, grant_query, grant_user);
  return kExitUsage;
}

}  // namespace
}  // namespace kring::client

int main(int argc, char** argv) { return kring::client::Main(argc, argv); }
