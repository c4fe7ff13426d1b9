// `kring-node enroll`: registering this node with the coordinator, using
// the one-time code from its operator, and writing node.yaml.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/channel.h"
#include "api/status.h"
#include "cli/support.h"
#include "crypto/identity.h"
#include "grpcpp/grpcpp.h"
#include "kring/v1/service.grpc.pb.h"
#include "node/agent.h"
#include "node/cli/commands.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using cli::kExitOk;

struct EnrollFlags {
  std::string coordinator = "127.0.0.1:7443";
  std::string code;
  std::string ca;
  bool insecure_loopback = false;
  std::vector<std::string> approver_keys;
  std::vector<std::string> municipality_keys;
  uint32_t approvals_required = 1;
};

// The flags' names, for messages about the connection.
api::SettingNames FlagNames() {
  return {.address = "--coordinator",
          .ca_file = "--ca",
          .insecure_loopback = "--insecure-loopback"};
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> Connect(const EnrollFlags& f) {
  if (f.ca.empty() && !f.insecure_loopback) {
    return absl::InvalidArgumentError(
        "give the coordinator's CA certificate with --ca (plaintext needs "
        "--insecure-loopback and a loopback address)");
  }
  api::ChannelOptions o;
  o.address = f.coordinator;
  o.ca_file = f.ca;
  o.insecure_loopback = f.insecure_loopback;
  o.names = FlagNames();
  return api::MakeChannel(o);
}

// node.yaml as the flags give it, before enrollment fills in the school.
absl::StatusOr<NodeConfig> ConfigFromFlags(const EnrollFlags& f) {
  NodeConfig config;
  config.coordinator = f.coordinator;
  config.tls_ca = f.ca;
  config.insecure_loopback = f.ca.empty() && f.insecure_loopback;
  config.approvals_required = f.approvals_required;
  for (const std::string& k : f.approver_keys) {
    auto pub = crypto::IdentityPublicKey::FromFileOrText(k);
    if (!pub.ok()) {
      return absl::InvalidArgumentError(
          StrCat("--approver-key ", k,
                 " is neither a public key file nor "
                 "a kring-ed25519-public-v1 key"));
    }
    config.approvers.push_back(*pub);
  }
  for (const std::string& k : f.municipality_keys) {
    auto pub = crypto::IdentityPublicKey::FromFileOrText(k);
    if (!pub.ok()) {
      return absl::InvalidArgumentError(StrCat(
          "--municipality-key ", k, " is neither a public key file nor a key"));
    }
    config.municipality_keys.push_back(*pub);
  }
  if (config.approvers.size() < config.approvals_required) {
    return absl::InvalidArgumentError(StrCat(
        "--approvals-required ", config.approvals_required, " but only ",
        config.approvers.size(), " approver key(s) given (--approver-key)"));
  }
  // Refuse before the one-time code is spent what `kring-node run` would
  // refuse; the school's id and municipality come from the enrollment.
  NodeConfig probe = config;
  probe.school_id = "enrolling";
  probe.municipality = "GM0000";
  if (absl::Status s = probe.Validate(); !s.ok()) {
    return absl::InvalidArgumentError(
        StrCat("these flags would write a node.yaml that `kring-node run` "
               "refuses: ",
               ToStd(s.message())));
  }
  return config;
}

// The node's identity key at `path`, made there (mode 0600) the first time.
absl::StatusOr<crypto::IdentityKeyPair> LoadOrMakeIdentity(
    const std::filesystem::path& path) {
  if (std::filesystem::exists(path)) {
    return crypto::IdentityKeyPair::LoadPrivateKeyFile(path);
  }
  crypto::IdentityKeyPair identity = crypto::IdentityKeyPair::Generate();
  if (auto s = identity.SavePrivateKeyFile(path); !s.ok()) return s;
  return identity;
}

// Enrolls `identity` with the coordinator using the one-time code.
absl::StatusOr<v1::EnrollResponse> Enroll(
    const EnrollFlags& f, const crypto::IdentityKeyPair& identity) {
  auto channel = Connect(f);
  if (!channel.ok()) return channel.status();
  auto stub = v1::Coordinator::NewStub(*channel);
  v1::EnrollRequest request;
  request.set_code(f.code);
  request.set_identity_public_key(std::string(identity.public_key().bytes()));
  request.set_version("kring-node 0.1");
  v1::EnrollResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(30));
  grpc::Status status = stub->Enroll(&context, request, &response);
  if (!status.ok()) {
    absl::Status s = api::FromGrpcStatus(status, f.coordinator, FlagNames());
    return absl::Status(s.code(),
                        StrCat("enrollment failed: ", ToStd(s.message())));
  }
  return response;
}

absl::Status WriteConfig(const std::filesystem::path& file,
                         const NodeConfig& config) {
  std::ofstream out(file);
  out << "# kring node configuration, written by `kring-node enroll`.\n"
      << config.ToYaml();
  if (!out) return absl::InternalError("cannot write node.yaml");
  return absl::OkStatus();
}

void PrintEnrolled(const std::filesystem::path& dir,
                   const v1::EnrollResponse& response) {
  std::cout << "Enrolled " << response.school_name() << " (" << response.brin()
            << ", " << response.municipality() << ") as "
            << response.school_id() << ".\n"
            << "Read this fingerprint to the coordinator's operator to "
               "confirm it is this server's key:\n  "
            << response.fingerprint() << "\n"
            << "Settings: " << (dir / "node.yaml").string()
            << " (approvers this school trusts, local policy).\n"
            << "Start taking part in queries with `kring-node run`.\n";
}

// Registers this node's identity with the coordinator using a one-time
// code and writes node.yaml.
int RunEnroll(const Common& c, const EnrollFlags& f) {
  const std::filesystem::path dir = c.data_dir;
  if (std::filesystem::exists(dir / "node.yaml")) {
    return Fail(absl::AlreadyExistsError(
        StrCat("this node is already enrolled (", (dir / "node.yaml").string(),
               " exists)")));
  }
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  auto config = ConfigFromFlags(f);
  if (!config.ok()) return Fail(config.status());
  // Queries on special-category data are for a store that holds it.
  config->policy.special_categories = store->options().special_categories;
  auto identity = LoadOrMakeIdentity(dir / config->identity_key);
  if (!identity.ok()) return Fail(identity.status());
  auto response = Enroll(f, *identity);
  if (!response.ok()) return Fail(response.status());
  config->school_id = response->school_id();
  config->municipality = response->municipality();
  if (auto s = WriteConfig(dir / "node.yaml", *config); !s.ok()) {
    return Fail(s);
  }
  if (int rc =
          Audited(*audit, "enrolled",
                  StrCat("Enrolled with the coordinator as ",
                         response->school_id(), " (", response->school_name(),
                         ", ", response->municipality(), ")"),
                  {{"school_id", response->school_id()},
                   {"fingerprint", response->fingerprint()}});
      rc != kExitOk) {
    return rc;
  }
  PrintEnrolled(dir, *response);
  return kExitOk;
}

}  // namespace

void AddEnrollCommand(CLI::App& app, cli::Command& chosen) {
  auto f = std::make_shared<EnrollFlags>();
  auto* enroll = app.add_subcommand(
      "enroll",
      "Register this node with the coordinator using the one-time code from "
      "its operator; writes node.yaml (after `init`).");
  auto c =
      AddCommonOptions(*enroll, /*with_key=*/true, /*with_instrument=*/false);
  enroll->add_option("--coordinator", f->coordinator,
                     "Coordinator address, host:port");
  enroll->add_option("--code", f->code, "One-time enrollment code")->required();
  enroll->add_option("--ca", f->ca,
                     "The coordinator's CA certificate (PEM), for TLS");
  enroll->add_flag("--insecure-loopback", f->insecure_loopback,
                   "Plaintext, only to a coordinator on this machine");
  enroll
      ->add_option("--approver-key", f->approver_keys,
                   "Public key (file or text) of an approver this school "
                   "trusts; repeat for each")
      ->required();
  enroll->add_option("--municipality-key", f->municipality_keys,
                     "Key of your municipality's user whose own approval is "
                     "enough for its queries about your municipality only "
                     "(pre-approval); repeat for each");
  enroll
      ->add_option("--approvals-required", f->approvals_required,
                   "How many of those approvers must sign a query")
      ->check(CLI::Range(1u, 100u));
  enroll->callback(
      [c, f, &chosen] { chosen = [c, f] { return RunEnroll(*c, *f); }; });
}

}  // namespace kring::node
