#ifndef KRING_NODE_PENDING_H_
#define KRING_NODE_PENDING_H_

// Manual accept (policy.manual_accept): the agent writes
// pending/<query id>.json in the data directory; `kring-node accept|decline`
// writes decisions/<query id>, which the agent takes up.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "node/session.h"

namespace kring::node {

// The tasks waiting for school IT, by query id.
absl::StatusOr<std::vector<PendingTask>> ListPending(
    const std::filesystem::path& data_dir);
// Records school IT's decision on a waiting task. NOT_FOUND when no such
// task is pending.
absl::Status DecidePending(const std::filesystem::path& data_dir,
                           std::string_view query_id, bool accept,
                           std::string_view reason);

// The agent's side: a PendingQueue in `data_dir`'s pending/ and decisions/.
class PendingDirectory final : public PendingQueue {
 public:
  explicit PendingDirectory(std::filesystem::path data_dir);
  absl::Status Put(const PendingTask& task) override;
  std::optional<ItDecision> TakeDecision(const std::string& query_id) override;
  void Remove(const std::string& query_id) override;

 private:
  std::filesystem::path data_dir_;
};

}  // namespace kring::node

#endif  // KRING_NODE_PENDING_H_
