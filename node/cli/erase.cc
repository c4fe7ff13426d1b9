// `kring-node erase` and `readmit`: erasing a pupil's or a wave's records,
// and lifting a pupil's erasure.

#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/support.h"
#include "node/cli/commands.h"
#include "survey/record.h"
#include "util/str_cat.h"

namespace kring::node {
namespace {

using cli::kExitOk;
using cli::kExitUsage;

struct EraseFlags {
  std::string pupil;
  std::string wave;
  bool yes = false;
};

// Checks the flags and, without --yes, asks on the terminal. Returns the
// exit code to stop with, or nullopt to go on and erase.
std::optional<int> ConfirmErase(const EraseFlags& f) {
  if (f.pupil.empty() == f.wave.empty()) {
    std::cerr << "kring-node erase: give exactly one of --pupil or --wave\n";
    return kExitUsage;
  }
  if (!f.wave.empty()) {
    if (auto s = survey::ValidateWave(f.wave); !s.ok()) return Fail(s);
  }
  if (!f.yes) {
    if (!isatty(0)) {
      std::cerr << "kring-node erase: add --yes to erase without asking\n";
      return kExitUsage;
    }
    std::cout << "Erase every record of "
              << (f.pupil.empty() ? "wave " + f.wave
                                  : std::string("this pupil"))
              << "? This cannot be undone. Type yes: " << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    if (answer != "yes") {
      std::cout << "Nothing erased.\n";
      return kExitOk;
    }
  }
  return std::nullopt;
}

int RunErase(const Common& c, const EraseFlags& f) {
  if (std::optional<int> rc = ConfirmErase(f)) return *rc;
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  auto n =
      f.pupil.empty() ? store->EraseWave(f.wave) : store->ErasePupil(f.pupil);
  if (!n.ok()) return Fail(n.status());
  // Never the pupil number: the log says only that one pupil was erased.
  AuditFields fields = {{"records", std::to_string(*n)},
                        {"scope", f.pupil.empty() ? "wave" : "pupil"}};
  if (!f.wave.empty()) fields.emplace_back("wave", f.wave);
  if (int rc =
          Audited(*audit, "erase",
                  f.pupil.empty() ? StrCat("Erased ", Records(*n), " of wave ",
                                           f.wave, " (retention)")
                                  : StrCat("Erased ", Records(*n),
                                           " of one pupil (right to erasure)"),
                  std::move(fields));
      rc != kExitOk) {
    return rc;
  }
  std::cout << "Erased " << *n << " record(s); they cannot be recovered "
            << "from the data directory.";
  if (!f.pupil.empty()) {
    std::cout << " Later imports leave this pupil out until `kring-node "
                 "readmit`.";
  }
  std::cout << "\n";
  return kExitOk;
}

int RunReadmit(const Common& c, const std::string& pupil) {
  auto store = OpenStore(c);
  if (!store.ok()) return Fail(store.status());
  auto audit = OpenAudit(c, *store, /*new_store=*/false);
  if (!audit.ok()) return Fail(audit.status());
  auto lifted = store->ReadmitPupil(pupil);
  if (!lifted.ok()) return Fail(lifted.status());
  if (!*lifted) {
    std::cout << "This pupil was not erased; nothing changed.\n";
    return kExitOk;
  }
  // Never the pupil number, as with erase.
  if (int rc =
          Audited(*audit, "readmit", "One erased pupil may be imported again",
                  {{"scope", "pupil"}});
      rc != kExitOk) {
    return rc;
  }
  std::cout << "Lifted the erasure: later imports take this pupil in again. "
               "Nothing erased was restored.\n";
  return kExitOk;
}

}  // namespace

void AddEraseCommands(CLI::App& app, cli::Command& chosen) {
  auto f = std::make_shared<EraseFlags>();
  auto* erase = app.add_subcommand(
      "erase",
      "Erase records: one pupil's (right to erasure) or a whole "
      "wave's (retention). Erased data cannot be recovered.");
  auto c =
      AddCommonOptions(*erase, /*with_key=*/true, /*with_instrument=*/false);
  erase->add_option("--pupil", f->pupil, "Pupil number to erase");
  erase->add_option("--wave", f->wave, "Wave to erase, e.g. 2023-24");
  erase->add_flag("--yes", f->yes, "Do not ask for confirmation");
  erase->callback(
      [c, f, &chosen] { chosen = [c, f] { return RunErase(*c, *f); }; });

  auto pupil = std::make_shared<std::string>();
  auto* readmit = app.add_subcommand(
      "readmit",
      "Lift a pupil's erasure, so that later imports take the pupil in "
      "again (for example after new consent). Nothing erased is restored.");
  auto readmit_common =
      AddCommonOptions(*readmit, /*with_key=*/true, /*with_instrument=*/false);
  readmit->add_option("--pupil", *pupil, "Pupil number to readmit")->required();
  readmit->callback([readmit_common, pupil, &chosen] {
    chosen = [readmit_common, pupil] {
      return RunReadmit(*readmit_common, *pupil);
    };
  });
}

}  // namespace kring::node
