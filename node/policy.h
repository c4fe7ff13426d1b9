#ifndef KRING_NODE_POLICY_H_
#define KRING_NODE_POLICY_H_

// The school's accept/decline decision on a task: the approvals it trusts
// and its local policy (node.yaml). Pure: no I/O, no clock.

#include <string>

#include "kring/v1/service.pb.h"
#include "node/config.h"
#include "survey/registry.h"

namespace kring::node {

struct Decision {
  bool accept = false;
  std::string reason;
  std::string summary;  // the query in plain words, for the audit log
};

// Whether this school takes part in `task`. Checks, in order: the ticket
// parses; at least approvals_required distinct configured approvers signed
// the ticket bytes (or, for a municipality's query limited to this school's
// own municipality, a configured key of that municipality did); the spec
// validates; the statistic and the requester's role are allowed; a
// municipality requester stays within its municipalities; the disclosure
// thresholds are at least the school's own; special categories only when
// allowed. The instrument is the one the spec names, from `instruments`.
Decision Decide(const NodeConfig& config,
                const survey::InstrumentRegistry& instruments,
                const v1::Task& task);
// As above with the built-in instruments only.
Decision Decide(const NodeConfig& config, const v1::Task& task);

}  // namespace kring::node

#endif  // KRING_NODE_POLICY_H_
