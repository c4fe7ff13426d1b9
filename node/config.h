#ifndef KRING_NODE_CONFIG_H_
#define KRING_NODE_CONFIG_H_

// node.yaml: the school node's settings, written by `kring-node enroll` and
// read by `kring-node run`. Parsing checks every value, and errors name the
// file, the line and what to write instead.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/channel.h"
#include "crypto/identity.h"

namespace kring::node {

// Every statistic a query may ask for ("count", "mean", ...), from
// kring::query, in its order. "trend" is not one: a trend is allowed when
// its per-wave statistic is.
std::vector<std::string> AllStatisticNames();

// What the school allows (node.yaml, `policy:`).
struct NodePolicy {
  std::vector<std::string> statistics = AllStatisticNames();
  std::vector<std::string> requester_roles = {"researcher", "municipality"};
  uint64_t min_respondents = 10;
  uint64_t min_schools = 3;
  bool special_categories = false;
  // Tasks that pass the checks wait for school IT (`kring-node pending`,
  // `accept`, `decline`) instead of being accepted at once.
  bool manual_accept = false;
  // Differential privacy (zCDP rho per pupil): the most one query may
  // spend, and the budget of each wave (school year) of data, spent by
  // every query that touches the wave. docs/privacy.md justifies the
  // defaults.
  double max_rho_per_query = 0.25;
  double privacy_budget_per_wave = 1.0;
};

// node.yaml in the data directory, written by `kring-node enroll`.
struct NodeConfig {
  std::string coordinator = "127.0.0.1:7443";
  // Further coordinators sharing one database (failover: one is active at
  // a time); the agent tries the addresses in turn until one accepts.
  // node.yaml: `coordinator:` as a list, the first going to `coordinator`.
  std::vector<std::string> standby_coordinators;
  std::string tls_ca;  // PEM file; empty with insecure_loopback
  bool insecure_loopback = false;
  std::string school_id;
  std::string municipality;
  std::string identity_key = "node.key";  // relative to the data dir
  uint32_t approvals_required = 1;
  std::vector<crypto::IdentityPublicKey> approvers;
  // Municipality pre-approval: keys of this school's municipality's users
  // whose own approval suffices for their queries about this school's
  // municipality only (node.yaml approvers.municipality_keys).
  std::vector<crypto::IdentityPublicKey> municipality_keys;
  NodePolicy policy;

  // Parses and checks node.yaml text (everything but files it names).
  // INVALID_ARGUMENT naming the line and what to do ("node.yaml:7:
  // policy.min_schools must be a whole number").
  static absl::StatusOr<NodeConfig> Parse(std::string_view yaml,
                                          std::string_view file_name);
  // Reads `file` and parses it as Parse does; also checks that tls_ca
  // (relative to the file's directory) can be read. NOT_FOUND when there is
  // no file (the node is not enrolled yet).
  static absl::StatusOr<NodeConfig> Load(const std::filesystem::path& file);
  // node.yaml text that Parse reads back as this configuration.
  std::string ToYaml() const;
  // The checks Parse applies to the values, for a configuration built in
  // code (as `kring-node enroll` does); messages name the node.yaml keys.
  absl::Status Validate() const;
};

// How the agent dials the coordinator: node.yaml's coordinator, tls_ca (a
// relative path is relative to `data_dir`) and insecure_loopback, under
// api/channel.h's one transport policy.
api::ChannelOptions NodeChannelOptions(const NodeConfig& config,
                                       const std::filesystem::path& data_dir);
// The same for each coordinator address, `coordinator` first.
std::vector<api::ChannelOptions> NodeChannelOptionsAll(
    const NodeConfig& config, const std::filesystem::path& data_dir);

}  // namespace kring::node

#endif  // KRING_NODE_CONFIG_H_
