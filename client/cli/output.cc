#include "client/cli/output.h"

#include <algorithm>
#include <iostream>

#include "api/roles.h"
#include "cli/support.h"
#include "google/protobuf/util/json_util.h"
#include "util/str_cat.h"

namespace kring::client {

using cli::LocalMinute;
using cli::OneLine;

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

std::string Schools(uint64_t n) {
  return StrCat(n, n == 1 ? " school" : " schools");
}

std::string Approvals(const v1::QueryInfo& q) {
  return StrCat(q.approvals_size(), " of ", q.approvals_required());
}

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
      {"submitted", cli::UtcTimestamp(t.submitted_unix_millis())},
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

namespace {

// The "Node decisions:" lines of PrintQuery.
void PrintDecisions(const v1::QueryInfo& q) {
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

}  // namespace

void PrintQuery(const v1::QueryInfo& q) {
  const v1::QueryTicket& t = q.ticket();
  std::cout << "Query " << OneLine(t.query_id()) << ": " << StateName(q.state())
            << "\n  " << OneLine(q.summary()) << "\n";
  if (!t.spec().purpose().empty()) {
    std::cout << "Purpose:      " << OneLine(t.spec().purpose()) << "\n";
  }
  std::cout << "Requester:    " << OneLine(t.requester_id()) << " ("
            << api::RoleName(t.requester_role()) << ")\n"
            << "Submitted:    " << LocalMinute(t.submitted_unix_millis())
            << "\n"
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
  PrintDecisions(q);
}

}  // namespace kring::client
