#include "client/approval.h"

#include "api/auth.h"
#include "query/spec.h"
#include "survey/registry.h"
#include "util/str_cat.h"

namespace kring::client {

const survey::InstrumentRegistry& Instruments() {
  static const survey::InstrumentRegistry* const builtin =
      new survey::InstrumentRegistry(survey::InstrumentRegistry::Builtin());
  return *builtin;
}

absl::StatusOr<CheckedTicket> CheckTicket(const v1::QueryInfo& info,
                                          std::string_view query_id) {
  auto refuse = [&](std::string_view why) {
    return absl::FailedPreconditionError(
        StrCat("not signing query ", query_id, ": ", why));
  };
  CheckedTicket out;
  if (info.ticket_bytes().empty() ||
      !out.ticket.ParseFromString(info.ticket_bytes())) {
    return refuse("the coordinator sent no readable query ticket");
  }
  // Canonical bytes hold nothing the parsed ticket does not show: no
  // fields this kring does not know (protobuf keeps and re-serializes
  // those, so they are dropped before comparing), no repeated or
  // reordered fields.
  out.ticket.DiscardUnknownFields();
  if (api::CanonicalBytes(out.ticket) != info.ticket_bytes()) {
    return refuse(
        "its ticket is not in canonical form (it may carry content this "
        "kring cannot show you); update kring or ask the coordinator's "
        "operator");
  }
  if (out.ticket.query_id() != query_id) {
    return refuse(StrCat("the coordinator sent the ticket of query ",
                         out.ticket.query_id()));
  }
  absl::StatusOr<query::Query> q =
      query::Query::Create(out.ticket.spec(), Instruments());
  if (!q.ok()) {
    return refuse(StrCat("this kring cannot check its spec (",
                         ToStd(q.status().message()),
                         "); update kring or ask the coordinator's operator"));
  }
  out.summary = q->Summary();
  if (info.summary() != out.summary) {
    return refuse(
        StrCat("the coordinator's summary (\"", info.summary(),
               "\") is not what the signed ticket asks (\"", out.summary,
               "\"); tell the coordinator's operator, or update kring if the "
               "coordinator is newer"));
  }
  return out;
}

}  // namespace kring::client
