// Cluster's calls to the coordinator (tests/integration/cluster.h).

#include "tests/integration/cluster.h"

#include <chrono>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "query/spec.h"

namespace kring::testing {

absl::StatusOr<v1::QueryInfo> Cluster::Submit(const TestUser& u,
                                              const std::string& spec_json) {
  auto spec = query::ParseQuerySpecJson(spec_json);
  if (!spec.ok()) return spec.status();
  v1::SubmitQueryRequest req;
  *req.mutable_spec() = *spec;
  v1::SubmitQueryResponse resp;
  grpc::Status s =
      Call(u, "SubmitQuery", req, &resp, &v1::Coordinator::Stub::SubmitQuery);
  if (!s.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                        s.error_message());
  }
  return resp.query();
}

grpc::Status Cluster::Approve(const TestUser& approver,
                              const v1::QueryInfo& q) {
  v1::ApproveQueryRequest req;
  req.set_query_id(q.ticket().query_id());
  req.set_signature(
      *approver.key->Sign(api::kApprovalContext, q.ticket_bytes()));
  v1::QueryResponse resp;
  return Call(approver, "ApproveQuery", req, &resp,
              &v1::Coordinator::Stub::ApproveQuery);
}

v1::QueryInfo Cluster::Get(const TestUser& u, const std::string& id) {
  v1::GetQueryRequest req;
  req.set_query_id(id);
  v1::GetQueryResponse resp;
  grpc::Status s =
      Call(u, "GetQuery", req, &resp, &v1::Coordinator::Stub::GetQuery);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.query();
}

v1::QueryInfo Cluster::WaitDone(const TestUser& u, const std::string& id,
                                int seconds) {
  v1::QueryInfo last;
  const bool done = WaitUntil(
      [&] {
        v1::GetQueryRequest req;
        req.set_query_id(id);
        v1::GetQueryResponse resp;
        if (!Call(u, "GetQuery", req, &resp, &v1::Coordinator::Stub::GetQuery)
                 .ok()) {
          return false;
        }
        last = resp.query();
        return last.state() == v1::QUERY_STATE_RELEASED ||
               last.state() == v1::QUERY_STATE_FAILED ||
               last.state() == v1::QUERY_STATE_REJECTED;
      },
      std::chrono::seconds(seconds), std::chrono::milliseconds(100));
  if (!done) {
    ADD_FAILURE() << "query " << id << " did not finish in " << seconds
                  << " s; state " << v1::QueryState_Name(last.state());
  }
  return last;
}

void Cluster::WaitConnected(const TestUser& admin,
                            const std::vector<std::string>& names) {
  std::vector<std::string> missing;
  const bool connected = WaitUntil(
      [&] {
        v1::ListNodesResponse resp;
        if (!Call(admin, "ListNodes", v1::ListNodesRequest(), &resp,
                  &v1::Coordinator::Stub::ListNodes)
                 .ok()) {
          return false;
        }
        missing = names;
        for (const v1::NodeInfo& n : resp.nodes()) {
          if (n.connected()) std::erase(missing, n.brin());
        }
        return missing.empty();
      },
      std::chrono::seconds(30));
  ASSERT_TRUE(connected) << "not connected: " << missing.size()
                         << " school(s), first " << missing.front()
                         << "; see their logs in " << dir_;
}

}  // namespace kring::testing
