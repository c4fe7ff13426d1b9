#ifndef KRING_TESTS_UNIT_COORDINATOR_SCRIPTED_SCHOOLS_H_
#define KRING_TESTS_UNIT_COORDINATOR_SCRIPTED_SCHOOLS_H_

// Schools for the run driver's tests, without a network: real secure-
// aggregation nodes (crypto::secagg::SecAggNode) that answer the driver's
// messages in process, with known inputs, and that can be told to fall
// silent (drop out).

#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "coordinator/db.h"
#include "coordinator/run.h"
#include "crypto/identity.h"
#include "crypto/secagg/node.h"
#include "crypto/secagg/setup.h"
#include "gtest/gtest.h"
#include "query/spec.h"

namespace kring::coordinator::testing {

// A RUNNING query (mean of the belonging measures by track and gender).
inline v1::QueryInfo RunningQuery(const std::string& id = "q-test") {
  auto spec = query::ParseQuerySpecJson(R"({
    "statistic": "mean",
    "measures": ["belong_perception", "belong_competencies"],
    "groupBy": ["gender"],
    "population": {"waves": ["2025-26"]},
    "purpose": "coordinator unit test"
  })");
  EXPECT_TRUE(spec.ok()) << spec.status();
  v1::QueryInfo info;
  info.mutable_ticket()->set_query_id(id);
  info.mutable_ticket()->set_requester_id("researcher");
  info.mutable_ticket()->set_query_seed(std::string(32, '\x07'));
  if (spec.ok()) *info.mutable_ticket()->mutable_spec() = *spec;
  info.set_ticket_bytes("ticket");
  info.set_state(v1::QUERY_STATE_RUNNING);
  return info;
}

class ScriptedSchools {
 public:
  explicit ScriptedSchools(int n) {
    for (int i = 0; i < n; ++i) {
      keys_.push_back(crypto::IdentityKeyPair::Generate());
      School s;
      s.school_id = "S" + std::to_string(i + 1);
      s.identity_key = std::string(keys_.back().public_key().bytes());
      schools_.push_back(s);
    }
  }

  const std::vector<School>& schools() const { return schools_; }
  const std::string& id(int i) const { return schools_[i].school_id; }

  // School i's input; unset: small numbers within the bounds, not a
  // decodable contribution.
  // `calibration` is that of the last task school i received.
  std::function<std::vector<uint64_t>(int i, const v1::SecAggConfig& config,
                                      const v1::NoiseCalibration& calibration)>
      input_for;

  const crypto::IdentityKeyPair& key(int i) const { return keys_[i]; }
  // The noise calibration of the last task school i received.
  v1::NoiseCalibration calibration(int i) const {
    auto it = calibration_.find(schools_[i].school_id);
    return it == calibration_.end() ? v1::NoiseCalibration() : it->second;
  }
  // School i is known as `id` from now on (ids the registry assigned).
  void Rename(int i, const std::string& id) { schools_[i].school_id = id; }

  // From now on `school` neither receives nor answers.
  void Silence(const std::string& school) { silent_.insert(school); }

  // Alters a message before school `to` sees it (a faulty relay).
  std::function<void(const std::string& to, v1::CoordinatorToNode&)> tamper;
  // Whether a school whose node aborts says so, as kring-node does (else
  // it falls silent, as when that message is lost).
  bool report_aborts = true;

  // A decision of `school` about `query_id`.
  static v1::NodeToCoordinator Decision(const std::string& query_id,
                                        bool accept,
                                        const std::string& reason = "") {
    v1::NodeToCoordinator m;
    m.mutable_decision()->set_query_id(query_id);
    m.mutable_decision()->set_accept(accept);
    m.mutable_decision()->set_reason(reason);
    return m;
  }

  // Delivers `step`'s messages to the schools and their answers to `run`,
  // until nothing more is said. Records every message and audit entry.
  void Deliver(RunDriver& run, RunStep step, int64_t now) {
    std::deque<Outgoing> queue(step.send.begin(), step.send.end());
    Record(step);
    while (!queue.empty()) {
      Outgoing o = std::move(queue.front());
      queue.pop_front();
      received_[o.to].push_back(o.message);
      if (silent_.count(o.to)) continue;
      if (tamper) tamper(o.to, o.message);
      std::optional<v1::NodeToCoordinator> answer = Answer(o);
      if (!answer) continue;
      RunStep next = run.OnMessage(o.to, *answer, now);
      Record(next);
      queue.insert(queue.end(), next.send.begin(), next.send.end());
    }
  }

  // The sum of the inputs of `contributors` as the coordinator decodes it:
  // less each contributor's noise offset under `plan` (the scripted inputs
  // carry none).
  std::vector<int64_t> SumOf(const std::vector<std::string>& contributors,
                             const query::NoisePlan& plan) {
    std::vector<int64_t> sum;
    for (const std::string& s : contributors) {
      const std::vector<uint64_t>& in = inputs_.at(s);
      sum.resize(in.size(), 0);
      for (size_t i = 0; i < in.size(); ++i) {
        sum[i] += static_cast<int64_t>(in[i]) -
                  static_cast<int64_t>(plan.offset(i % plan.cell_width()));
      }
    }
    return sum;
  }

  const std::vector<std::pair<std::string, std::string>>& audit() const {
    return audit_;
  }
  // Messages sent to `school`, in order.
  const std::vector<v1::CoordinatorToNode>& received(const std::string& s) {
    return received_[s];
  }

  // The answer of the school `o.to` to `o` (none to tasks, whose noise
  // calibration it notes, and ends).
  std::optional<v1::NodeToCoordinator> Answer(const Outgoing& o) {
    if (o.message.has_task()) calibration_[o.to] = o.message.task().noise();
    absl::StatusOr<v1::SecAggMessage> reply;
    if (o.message.has_run_start()) {
      reply = Join(o.to, o.message.run_start().config());
    } else if (o.message.has_secagg() && nodes_.count(o.to)) {
      reply = nodes_.at(o.to).Handle(o.message.secagg());
    } else {
      return std::nullopt;  // tasks are decided by the test; ends ignored
    }
    if (!reply.ok()) {
      auto node = nodes_.find(o.to);
      if (!report_aborts || node == nodes_.end() ||
          node->second.state() != crypto::secagg::SecAggNode::State::kAborted) {
        return std::nullopt;
      }
      v1::NodeToCoordinator m;
      m.mutable_abort()->set_query_id(o.message.secagg().query_id());
      m.mutable_abort()->set_reason(node->second.abort_reason());
      return m;
    }
    v1::NodeToCoordinator m;
    *m.mutable_secagg() = *reply;
    return m;
  }

  // A node for `school` in the run `config` describes, with a known input;
  // returns its first message (without delivering it).
  absl::StatusOr<v1::SecAggMessage> Join(const std::string& school,
                                         const v1::SecAggConfig& config) {
    auto setup = crypto::secagg::SecAggSetup::Create(config);
    if (!setup.ok()) return setup.status();
    uint32_t self = 0;
    while (config.roster(self).node_id() != school) ++self;
    const int i = Index(school);
    std::vector<uint64_t> input;
    if (input_for) {
      input = input_for(i, config, calibration(i));
    } else {
      for (int j = 0; j < config.element_bounds_size(); ++j) {
        input.push_back(
            std::min<uint64_t>(config.element_bounds(j), i + 1 + j));
      }
    }
    inputs_[school] = input;
    auto node = crypto::secagg::SecAggNode::Create(*setup, self, keys_[i],
                                                   std::move(input));
    if (!node.ok()) return node.status();
    auto it = nodes_.emplace(school, *std::move(node)).first;
    return it->second.Start();
  }

 private:
  void Record(const RunStep& step) {
    audit_.insert(audit_.end(), step.audit.begin(), step.audit.end());
  }

  int Index(const std::string& school) const {
    for (size_t i = 0; i < schools_.size(); ++i) {
      if (schools_[i].school_id == school) return static_cast<int>(i);
    }
    return -1;
  }

  std::vector<crypto::IdentityKeyPair> keys_;
  std::vector<School> schools_;
  std::map<std::string, v1::NoiseCalibration> calibration_;
  std::set<std::string> silent_;
  std::map<std::string, crypto::secagg::SecAggNode> nodes_;
  std::map<std::string, std::vector<uint64_t>> inputs_;
  std::map<std::string, std::vector<v1::CoordinatorToNode>> received_;
  std::vector<std::pair<std::string, std::string>> audit_;
};

}  // namespace kring::coordinator::testing

#endif  // KRING_TESTS_UNIT_COORDINATOR_SCRIPTED_SCHOOLS_H_
