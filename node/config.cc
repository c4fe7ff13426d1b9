#include "node/config.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/str_join.h"
#include "api/roles.h"
#include "query/statistics/statistic.h"
#include "util/file.h"
#include "util/str_cat.h"
#include "yaml-cpp/depthguard.h"
#include "yaml-cpp/yaml.h"

namespace kring::node {

namespace {

constexpr int kMinRespondents = 10;
constexpr int kMinSchools = 3;

// Where each setting was written: "approvers.required" -> line, and list
// items as "policy.statistics[1]". Empty for a configuration built in code.
class Lines {
 public:
  explicit Lines(std::string_view file) : file_(file) {}
  void Set(std::string key, const YAML::Node& node) {
    lines_[std::move(key)] = node.Mark().line + 1;
  }
  // "node.yaml:7: " for the first of `keys` that was written, else
  // "node.yaml: ".
  std::string Where(std::initializer_list<std::string> keys) const {
    for (const std::string& key : keys) {
      if (auto it = lines_.find(key); it != lines_.end()) {
        return StrCat(file_, ":", it->second, ": ");
      }
    }
    return StrCat(file_, ": ");
  }
  std::string Where(const std::string& list, size_t index) const {
    return Where({StrCat(list, "[", index, "]"), list});
  }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  std::map<std::string, int> lines_;
};

absl::Status Invalid(std::string_view where, std::string_view what) {
  return absl::InvalidArgumentError(StrCat(where, what));
}

absl::Status CheckThresholds(const NodeConfig& c, const Lines& at) {
  if (c.policy.min_respondents >= kMinRespondents &&
      c.policy.min_schools >= kMinSchools) {
    return absl::OkStatus();
  }
  const std::string key = c.policy.min_respondents < kMinRespondents
                              ? "policy.min_respondents"
                              : "policy.min_schools";
  return Invalid(at.Where({key, "policy"}),
                 StrCat("policy thresholds below kring's minimum (",
                        kMinRespondents, " respondents, ", kMinSchools,
                        " schools) are not allowed; raise ", key));
}

// Privacy settings: positive and finite; a query may not be allowed more
// than a whole wave's budget.
absl::Status CheckPrivacy(const NodeConfig& c, const Lines& at) {
  const NodePolicy& p = c.policy;
  for (auto [key, v] :
       {std::pair{"policy.max_rho_per_query", p.max_rho_per_query},
        std::pair{"policy.privacy_budget_per_wave",
                  p.privacy_budget_per_wave}}) {
    if (!std::isfinite(v) || v <= 0) {
      return Invalid(at.Where({key, "policy"}),
                     StrCat(key,
                            " must be a number above 0 (zCDP rho); "
                            "see docs/privacy.md for the defaults"));
    }
  }
  if (p.max_rho_per_query > p.privacy_budget_per_wave) {
    return Invalid(at.Where({"policy.max_rho_per_query", "policy"}),
                   "policy.max_rho_per_query is larger than "
                   "policy.privacy_budget_per_wave; lower it");
  }
  return absl::OkStatus();
}

absl::Status CheckTransport(const NodeConfig& c, const Lines& at) {
  if (c.tls_ca.empty() && !c.insecure_loopback) {
    return Invalid(at.Where({"coordinator"}),
                   "set tls_ca (the coordinator's CA certificate) or "
                   "insecure_loopback: true for a local test");
  }
  absl::Status s;
  for (const api::ChannelOptions& o : NodeChannelOptionsAll(c, "")) {
    s = api::CheckTransportPolicy(o);
    if (!s.ok()) break;
  }
  if (s.ok()) return s;
  const std::string where =
      c.coordinator.empty()
          ? at.Where({"coordinator"})
          : at.Where({"insecure_loopback", "tls_ca", "coordinator"});
  return Invalid(where, ToStd(s.message()));
}

absl::Status CheckApprovers(const NodeConfig& c, const Lines& at) {
  if (c.approvers.empty()) {
    return Invalid(at.Where({"approvers.keys", "approvers"}),
                   "approvers.keys lists no key: add the public key "
                   "(kring-ed25519-public-v1:...) of each approver this "
                   "school trusts, as `kring-node enroll --approver-key` "
                   "writes them");
  }
  if (c.approvals_required == 0) {
    return Invalid(at.Where({"approvers.required", "approvers"}),
                   "approvers.required must be at least 1 (with 0 a query "
                   "would need no approval at all)");
  }
  if (c.approvals_required > c.approvers.size()) {
    return Invalid(at.Where({"approvers.required", "approvers"}),
                   StrCat("approvers.required is ", c.approvals_required,
                          " but approvers.keys lists only ", c.approvers.size(),
                          " key(s): add keys or lower required"));
  }
  for (auto* list : {&c.approvers, &c.municipality_keys}) {
    const std::string name =
        list == &c.approvers ? "approvers.keys" : "approvers.municipality_keys";
    for (size_t i = 0; i < list->size(); ++i) {
      if (std::find(list->begin(), list->begin() + i, (*list)[i]) !=
          list->begin() + i) {
        return Invalid(at.Where(name, i),
                       StrCat(name,
                              " lists this key twice: remove the copy "
                              "(each approver counts once)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckPolicyNames(const NodeConfig& c, const Lines& at) {
  const auto& stats = c.policy.statistics;
  for (size_t i = 0; i < stats.size(); ++i) {
    if (query::statistics::FindStatistic(stats[i]) == nullptr) {
      return Invalid(
          at.Where("policy.statistics", i),
          StrCat("policy.statistics: unknown statistic `", stats[i],
                 "`; use some of: ", absl::StrJoin(AllStatisticNames(), ", ")));
    }
  }
  const auto& roles = c.policy.requester_roles;
  for (size_t i = 0; i < roles.size(); ++i) {
    if (!api::ParseRole(roles[i]).has_value()) {
      return Invalid(at.Where("policy.requester_roles", i),
                     StrCat("policy.requester_roles: unknown role `", roles[i],
                            "`; use researcher and/or "
                            "municipality"));
    }
  }
  return absl::OkStatus();
}

// Every check on the values, in the order their messages matter most.
absl::Status Check(const NodeConfig& c, const Lines& at) {
  if (c.school_id.empty()) {
    return Invalid(at.Where({"school_id"}),
                   "no school_id; run `kring-node enroll` first");
  }
  for (auto check : {CheckThresholds, CheckPrivacy, CheckTransport,
                     CheckApprovers, CheckPolicyNames}) {
    if (absl::Status s = check(c, at); !s.ok()) return s;
  }
  return absl::OkStatus();
}

// Reads node.yaml's settings into a NodeConfig, remembering their lines.
// yaml-cpp reports wrong types by exception; Parse turns them into errors.
class Reader {
 public:
  explicit Reader(std::string_view file_name) : lines_(file_name) {}

  absl::StatusOr<NodeConfig> Read(std::string_view yaml) {
    bool loaded = false;
    try {
      const YAML::Node root = YAML::Load(std::string(yaml));
      loaded = true;
      if (!root.IsMap()) return Fail(root, "expected a map of settings");
      for (const auto& kv : root) {
        if (absl::Status s = Top(kv.first, kv.second); !s.ok()) return s;
      }
    } catch (const YAML::DeepRecursion& e) {
      return absl::InvalidArgumentError(StrCat(
          lines_.file(), ":", e.mark.line + 1, ": nested more than ", e.depth(),
          " levels deep; node.yaml is a short map of "
          "settings"));
    } catch (const YAML::Exception& e) {
      return absl::InvalidArgumentError(
          StrCat(lines_.file(), ":", e.mark.line + 1,
                 loaded ? ": wrong type: " : ": not valid YAML: ", e.msg));
    }
    if (absl::Status s = Check(config_, lines_); !s.ok()) return s;
    return config_;
  }
  const Lines& lines() const { return lines_; }

 private:
  absl::Status Fail(const YAML::Node& n, std::string_view what) {
    return absl::InvalidArgumentError(
        StrCat(lines_.file(), ":", n.Mark().line + 1, ": ", what));
  }

  absl::Status Top(const YAML::Node& k, const YAML::Node& v) {
    const std::string key = k.as<std::string>();
    lines_.Set(key, v);
    NodeConfig& c = config_;
    if (key == "coordinator" && v.IsSequence()) {
      if (v.size() == 0) return Fail(v, "coordinator: the list is empty");
      c.coordinator = v[0].as<std::string>();
      c.standby_coordinators.clear();
      for (size_t i = 1; i < v.size(); ++i) {
        c.standby_coordinators.push_back(v[i].as<std::string>());
      }
    } else if (key == "coordinator") {
      c.coordinator = v.as<std::string>();
    } else if (key == "tls_ca") {
      c.tls_ca = v.as<std::string>();
    } else if (key == "insecure_loopback") {
      c.insecure_loopback = v.as<bool>();
    } else if (key == "school_id") {
      c.school_id = v.as<std::string>();
    } else if (key == "municipality") {
      c.municipality = v.as<std::string>();
    } else if (key == "identity_key") {
      c.identity_key = v.as<std::string>();
    } else if (key == "approvers") {
      return Approvers(v);
    } else if (key == "policy") {
      return Policy(v);
    } else {
      return Fail(k, StrCat("unknown setting `", key, "`"));
    }
    return absl::OkStatus();
  }

  absl::Status Approvers(const YAML::Node& v) {
    if (!v.IsMap()) return Fail(v, "approvers: expected required and keys");
    for (const auto& a : v) {
      const std::string k = a.first.as<std::string>();
      lines_.Set("approvers." + k, a.second);
      if (k == "required") {
        config_.approvals_required = a.second.as<uint32_t>();
      } else if (k == "keys" || k == "municipality_keys") {
        auto& into =
            k == "keys" ? config_.approvers : config_.municipality_keys;
        if (auto s = Keys(a.second, "approvers." + k, into); !s.ok()) return s;
      } else {
        return Fail(a.first, StrCat("approvers: unknown setting `", k,
                                    "` (required, keys, municipality_keys)"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status Keys(const YAML::Node& list, const std::string& name,
                    std::vector<crypto::IdentityPublicKey>& into) {
    if (list.IsNull()) return absl::OkStatus();
    if (!list.IsSequence()) {
      return Fail(list, StrCat(name, ": expected a list of public keys"));
    }
    for (const auto& text : list) {
      auto key = crypto::IdentityPublicKey::FromText(text.as<std::string>());
      if (!key.ok()) {
        return Fail(text, StrCat(name,
                                 ": not a public key "
                                 "(kring-ed25519-public-v1:...)"));
      }
      lines_.Set(StrCat(name, "[", into.size(), "]"), text);
      into.push_back(*key);
    }
    return absl::OkStatus();
  }

  std::vector<std::string> Names(const YAML::Node& list,
                                 const std::string& name) {
    size_t i = 0;
    for (const auto& item : list) lines_.Set(StrCat(name, "[", i++, "]"), item);
    return list.as<std::vector<std::string>>();
  }

  absl::Status Policy(const YAML::Node& v) {
    if (!v.IsMap()) return Fail(v, "policy: expected a map");
    NodePolicy& p = config_.policy;
    for (const auto& kv : v) {
      const std::string k = kv.first.as<std::string>();
      const YAML::Node& pv = kv.second;
      lines_.Set("policy." + k, pv);
      if (k == "statistics") {
        p.statistics = Names(pv, "policy.statistics");
      } else if (k == "requester_roles") {
        p.requester_roles = Names(pv, "policy.requester_roles");
      } else if (k == "min_respondents") {
        p.min_respondents = pv.as<uint64_t>();
      } else if (k == "min_schools") {
        p.min_schools = pv.as<uint64_t>();
      } else if (k == "special_categories") {
        p.special_categories = pv.as<bool>();
      } else if (k == "manual_accept") {
        p.manual_accept = pv.as<bool>();
      } else if (k == "max_rho_per_query") {
        p.max_rho_per_query = pv.as<double>();
      } else if (k == "privacy_budget_per_wave") {
        p.privacy_budget_per_wave = pv.as<double>();
      } else {
        return Fail(kv.first, StrCat("policy: unknown setting `", k,
                                     "` (statistics, requester_roles, "
                                     "min_respondents, min_schools, "
                                     "special_categories, manual_accept, "
                                     "max_rho_per_query, "
                                     "privacy_budget_per_wave)"));
      }
    }
    return absl::OkStatus();
  }

  Lines lines_;
  NodeConfig config_;
};

}  // namespace

std::vector<std::string> AllStatisticNames() {
  std::vector<std::string> out;
  for (const query::statistics::StatisticKind* kind :
       query::statistics::AllStatistics()) {
    out.emplace_back(kind->name());
  }
  return out;
}

absl::StatusOr<NodeConfig> NodeConfig::Parse(std::string_view yaml,
                                             std::string_view file_name) {
  return Reader(file_name).Read(yaml);
}

absl::StatusOr<NodeConfig> NodeConfig::Load(const std::filesystem::path& f) {
  auto text = ReadFileToString(f);
  if (!text.ok()) {
    return absl::NotFoundError(
        StrCat("no node configuration at ", f.string(),
               "; enroll this node first with `kring-node enroll`"));
  }
  Reader reader(f.filename().string());
  auto config = reader.Read(*text);
  if (!config.ok() || config->tls_ca.empty()) return config;
  const std::string ca = NodeChannelOptions(*config, f.parent_path()).ca_file;
  if (!ReadFileToString(ca).ok()) {
    return Invalid(reader.lines().Where({"tls_ca"}),
                   StrCat("cannot read tls_ca ", ca,
                          ": give the coordinator's CA certificate (PEM "
                          "file; a relative path is relative to the data "
                          "directory) and check its permissions"));
  }
  return config;
}

absl::Status NodeConfig::Validate() const {
  return Check(*this, Lines("node.yaml"));
}

std::string NodeConfig::ToYaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  if (standby_coordinators.empty()) {
    out << YAML::Key << "coordinator" << YAML::Value << coordinator;
  } else {
    out << YAML::Key << "coordinator" << YAML::Value << YAML::BeginSeq
        << coordinator;
    for (const std::string& a : standby_coordinators) out << a;
    out << YAML::EndSeq;
  }
  if (!tls_ca.empty()) out << YAML::Key << "tls_ca" << YAML::Value << tls_ca;
  if (insecure_loopback) {
    out << YAML::Key << "insecure_loopback" << YAML::Value << true;
  }
  out << YAML::Key << "school_id" << YAML::Value << school_id;
  out << YAML::Key << "municipality" << YAML::Value << municipality;
  out << YAML::Key << "identity_key" << YAML::Value << identity_key;
  out << YAML::Key << "approvers" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "required" << YAML::Value << approvals_required;
  out << YAML::Key << "keys" << YAML::Value << YAML::BeginSeq;
  for (const auto& k : approvers) out << k.ToText();
  out << YAML::EndSeq;
  if (!municipality_keys.empty()) {
    out << YAML::Key << "municipality_keys" << YAML::Value << YAML::BeginSeq;
    for (const auto& k : municipality_keys) out << k.ToText();
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  out << YAML::Key << "policy" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "statistics" << YAML::Value << YAML::Flow
      << policy.statistics;
  out << YAML::Key << "requester_roles" << YAML::Value << YAML::Flow
      << policy.requester_roles;
  out << YAML::Key << "min_respondents" << YAML::Value
      << policy.min_respondents;
  out << YAML::Key << "min_schools" << YAML::Value << policy.min_schools;
  out << YAML::Key << "special_categories" << YAML::Value
      << policy.special_categories;
  out << YAML::Key << "manual_accept" << YAML::Value << policy.manual_accept;
  out << YAML::Key << "max_rho_per_query" << YAML::Value
      << policy.max_rho_per_query;
  out << YAML::Key << "privacy_budget_per_wave" << YAML::Value
      << policy.privacy_budget_per_wave;
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

api::ChannelOptions NodeChannelOptions(const NodeConfig& config,
                                       const std::filesystem::path& data_dir) {
  api::ChannelOptions o;
  o.address = config.coordinator;
  o.insecure_loopback = config.insecure_loopback;
  o.ca_file = config.tls_ca;
  if (!o.ca_file.empty() && std::filesystem::path(o.ca_file).is_relative()) {
    o.ca_file = (data_dir / o.ca_file).string();
  }
  o.names = {.address = "coordinator in node.yaml",
             .ca_file = "tls_ca in node.yaml",
             .insecure_loopback = "insecure_loopback in node.yaml"};
  return o;
}

std::vector<api::ChannelOptions> NodeChannelOptionsAll(
    const NodeConfig& config, const std::filesystem::path& data_dir) {
  std::vector<api::ChannelOptions> out = {NodeChannelOptions(config, data_dir)};
  for (const std::string& address : config.standby_coordinators) {
    out.push_back(out.front());
    out.back().address = address;
  }
  return out;
}

}  // namespace kring::node
