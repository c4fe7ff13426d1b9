#include "survey/registry.h"

#include <utility>

#include "absl/strings/str_join.h"
#include "util/str_cat.h"

namespace kring::survey {

InstrumentRegistry InstrumentRegistry::Builtin() {
  InstrumentRegistry r;
  // The embedded instrument has static storage: share it without owning.
  for (const Instrument* ins :
       {&Instrument::BelongingV1(), &Instrument::BelongingV1Pisa()}) {
    r.by_id_.emplace(ins->id(), std::shared_ptr<const Instrument>(
                                    std::shared_ptr<void>(), ins));
  }
  return r;
}

absl::Status InstrumentRegistry::Add(Instrument instrument) {
  if (by_id_.contains(instrument.id())) {
    return absl::AlreadyExistsError(
        StrCat("an instrument with id `", instrument.id(),
               "` is already known; give your own instrument its own id "
               "(docs/instruments.md)"));
  }
  std::string id = instrument.id();
  by_id_.emplace(std::move(id),
                 std::make_shared<const Instrument>(std::move(instrument)));
  return absl::OkStatus();
}

absl::StatusOr<const Instrument*> InstrumentRegistry::Find(
    std::string_view id) const {
  if (id.empty()) id = kDefaultInstrumentId;
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return absl::NotFoundError(
        StrCat("unknown instrument `", id,
               "` (known here: ", absl::StrJoin(ids(), ", "),
               "); a school's own instrument is loaded with --instrument"));
  }
  return it->second.get();
}

std::vector<std::string> InstrumentRegistry::ids() const {
  std::vector<std::string> out;
  out.reserve(by_id_.size());
  for (const auto& [id, instrument] : by_id_) out.push_back(id);
  return out;
}

}  // namespace kring::survey
