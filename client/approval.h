#ifndef KRING_CLIENT_APPROVAL_H_
#define KRING_CLIENT_APPROVAL_H_

// What an approver signs is QueryInfo.ticket_bytes, not what the
// coordinator says about it. CheckTicket reads the ticket out of those
// bytes and describes it locally, so the approver reviews (and signs) the
// query the nodes will verify, whatever summary the coordinator sent.

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kring/v1/service.pb.h"
#include "survey/registry.h"

namespace kring::client {

struct CheckedTicket {
  v1::QueryTicket ticket;  // parsed from ticket_bytes
  std::string summary;     // computed here from ticket.spec
};

// The instruments this client can check specs against (the built-in ones).
// Thread-safe; static storage.
const survey::InstrumentRegistry& Instruments();

// Parses `info.ticket_bytes` and checks that they are the canonical
// (deterministic) serialization of a ticket for `query_id` whose spec
// validates against the instrument it names (see Instruments()), and that the
// coordinator's summary is the one computed here. FAILED_PRECONDITION, saying
// why not to sign, otherwise.
absl::StatusOr<CheckedTicket> CheckTicket(const v1::QueryInfo& info,
                                          std::string_view query_id);

}  // namespace kring::client

#endif  // KRING_CLIENT_APPROVAL_H_
