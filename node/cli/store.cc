// `kring-node init`, `status` and `rotate-key`: the school's encrypted
// store.

#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "cli/support.h"
#include "nlohmann/json.hpp"
#include "node/cli/commands.h"
#include "survey/record.h"
#include "survey/registry.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using cli::kExitOk;

void PrintInitDone(const Common& c, bool special) {
  std::cout << "Created the kring node store in " << c.data_dir << "\n";
  if (!c.key_file.empty()) {
    std::cout << "The data key is protected by the key file " << c.key_file
              << ". Keep a backup of it in a safe place: without it the "
                 "data cannot be read.\n";
  } else {
    std::cout << "The data key is protected by your passphrase. Without it "
                 "the data cannot be read; nobody can recover it.\n";
  }
  std::cout << "Special-category attributes (migration background, "
               "financial strain): "
            << (special ? "enabled" : "disabled (not stored)") << "\n";
}

int RunInit(const Common& c, bool special) {
  auto key = KeyFor(c, /*confirm=*/true);
  if (!key.ok()) return Fail(key.status());
  StoreOptions options;
  options.special_categories = special;
  auto store = Store::Init(c.data_dir, *key, options);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/true);
  if (!audit.ok()) return Fail(audit.status());
  const std::string protection = c.key_file.empty() ? "passphrase" : "key file";
  if (int rc =
          Audited(*audit, "init",
                  StrCat("Created the store; the data key is protected by a ",
                         protection, "; special-category attributes ",
                         special ? "enabled" : "disabled"),
                  {{"key_protection", protection},
                   {"special_categories", special ? "enabled" : "disabled"}});
      rc != kExitOk) {
    return rc;
  }
  PrintInitDone(c, special);
  return kExitOk;
}

// Records of one wave: in all, per grade and per track.
struct WaveCounts {
  size_t total = 0;
  // Records per instrument, and per component asked ("perceptions").
  std::map<std::string, size_t> instrument;
  std::map<std::string, size_t> component;
  std::map<uint32_t, size_t> grade;
  std::map<std::string, size_t> track;
};
using Waves = std::map<std::string, WaveCounts>;

void PrintStatusJson(const Common& c, const Store& store, const Waves& waves,
                     size_t erased) {
  nlohmann::json out;
  out["data_dir"] = c.data_dir;
  out["special_categories"] = store.options().special_categories;
  out["erased_pupils"] = erased;
  nlohmann::json jw = nlohmann::json::object();
  for (const auto& [wave, w] : waves) {
    nlohmann::json g = nlohmann::json::object(), t = nlohmann::json::object();
    for (const auto& [k, v] : w.grade) g[std::to_string(k)] = v;
    for (const auto& [k, v] : w.track) t[k] = v;
    jw[wave] = {{"records", w.total},
                {"by_grade", g},
                {"by_track", t},
                {"by_instrument", w.instrument},
                {"components_asked", w.component}};
  }
  out["waves"] = jw;
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
            << "\n";
}

void PrintStatusText(const Common& c, const Waves& waves, size_t erased) {
  std::cout << "kring node store: " << c.data_dir << "\n";
  if (waves.empty()) std::cout << "No records yet. Use `kring-node import`.\n";
  for (const auto& [wave, w] : waves) {
    std::cout << "\nWave " << wave << ": " << w.total << " records\n";
    std::cout << "  by grade:";
    for (const auto& [k, v] : w.grade) std::cout << "  " << k << ": " << v;
    std::cout << "\n  by track:";
    for (const auto& [k, v] : w.track) std::cout << "  " << k << ": " << v;
    std::cout << "\n  instrument:";
    for (const auto& [k, v] : w.instrument) std::cout << "  " << k << ": " << v;
    std::cout << "\n  components asked:";
    for (const auto& [k, v] : w.component) std::cout << "  " << k << ": " << v;
    std::cout << "\n";
  }
  if (erased > 0) {
    std::cout << "\n"
              << erased
              << " erased pupil(s) are kept out of imports (see `kring-node "
                 "readmit`).\n";
  }
}

int RunStatus(const Common& c, bool json) {
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  Waves waves;
  const survey::InstrumentRegistry instruments =
      survey::InstrumentRegistry::Builtin();
  auto s = store->ForEach([&](const v1::PupilRecord& r) {
    WaveCounts& w = waves[r.wave()];
    ++w.total;
    ++w.instrument[r.instrument_id()];
    if (auto ins = instruments.Find(r.instrument_id()); ins.ok()) {
      for (survey::Component c : survey::ComponentsAsked(r, **ins)) {
        ++w.component[std::string(survey::ComponentName(c))];
      }
    }
    ++w.grade[r.grade()];
    ++w.track[std::string(survey::Name(r.track()))];
  });
  if (!s.ok()) return Fail(s);
  auto erased = store->ErasedPupils();
  if (!erased.ok()) return Fail(erased.status());
  if (json) {
    PrintStatusJson(c, *store, waves, *erased);
  } else {
    PrintStatusText(c, waves, *erased);
  }
  return kExitOk;
}

int RunRotate(const Common& c, const std::string& new_key_file) {
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  KeySource next;
  if (!new_key_file.empty()) {
    next = KeySource::KeyFile(new_key_file);
  } else {
    auto pass = Passphrase("KRING_NODE_NEW_PASSPHRASE", /*is_new=*/true,
                           "New passphrase for the school's data: ");
    if (!pass.ok()) return Fail(pass.status());
    next = KeySource::Passphrase(*std::move(pass));
  }
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  if (auto s = store->RotateKey(next); !s.ok()) return Fail(s);
  AuditFields fields = {
      {"key_protection", new_key_file.empty() ? "passphrase" : "key file"}};
  if (!new_key_file.empty()) fields.emplace_back("key_file", new_key_file);
  if (int rc = Audited(
          *audit, "rotate-key",
          new_key_file.empty()
              ? "Protected the data key with a new passphrase"
              : "Protected the data key with a new key file, " + new_key_file,
          std::move(fields));
      rc != kExitOk) {
    return rc;
  }
  std::cout << "The data key is now protected by "
            << (new_key_file.empty() ? std::string("the new passphrase")
                                     : "the key file " + new_key_file)
            << "; the old one no longer opens the store.\n";
  return kExitOk;
}

}  // namespace

void AddInitCommand(CLI::App& app, cli::Command& chosen) {
  auto special = std::make_shared<bool>(false);
  auto* init = app.add_subcommand(
      "init", "Create the encrypted store for this school (once).");
  auto c =
      AddCommonOptions(*init, /*with_key=*/true, /*with_instrument=*/false);
  init->add_flag("--special-categories", *special,
                 "Also store migration background and financial strain "
                 "(special-category data; only with your privacy officer's "
                 "approval)");
  init->callback([c, special, &chosen] {
    chosen = [c, special] { return RunInit(*c, *special); };
  });
}

void AddStatusCommand(CLI::App& app, cli::Command& chosen) {
  auto json = std::make_shared<bool>(false);
  auto* status = app.add_subcommand(
      "status",
      "Show how many records are stored per wave, grade and track "
      "(never individual rows).");
  auto c =
      AddCommonOptions(*status, /*with_key=*/true, /*with_instrument=*/false);
  status->add_flag("--json", *json, "Machine-readable output");
  status->callback([c, json, &chosen] {
    chosen = [c, json] { return RunStatus(*c, *json); };
  });
}

void AddRotateKeyCommand(CLI::App& app, cli::Command& chosen) {
  auto new_key_file = std::make_shared<std::string>();
  auto* rotate = app.add_subcommand(
      "rotate-key",
      "Protect the data key with a new passphrase "
      "(KRING_NODE_NEW_PASSPHRASE or prompt) or a new key file.");
  auto c =
      AddCommonOptions(*rotate, /*with_key=*/true, /*with_instrument=*/false);
  rotate->add_option("--new-key-file", *new_key_file,
                     "Switch to a new key file (created, mode 0600)");
  rotate->callback([c, new_key_file, &chosen] {
    chosen = [c, new_key_file] { return RunRotate(*c, *new_key_file); };
  });
}

}  // namespace kring::node
