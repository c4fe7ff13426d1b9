#ifndef KRING_SURVEY_REGISTRY_H_
#define KRING_SURVEY_REGISTRY_H_

// The instruments a process knows, by id. A query spec names its
// instrument (`instrument`, default kring-belonging-v1); every party —
// node, coordinator, client — resolves it here instead of assuming one.

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "survey/instrument.h"

namespace kring::survey {

// The instrument a spec means when it names none.
inline constexpr std::string_view kDefaultInstrumentId = "kring-belonging-v1";

// A set of instruments with distinct ids. Copyable (copies share the
// immutable instruments); not thread-safe for Add, safe for concurrent
// Find once built. Pointers returned by Find stay valid as long as any
// copy of the registry that holds the instrument lives.
class InstrumentRegistry {
 public:
  // The instruments shipped in the binary (kring-belonging-v1 and
  // kring-belonging-v1-pisa).
  static InstrumentRegistry Builtin();

  // Adds `instrument`. ALREADY_EXISTS when another instrument with the same
  // id is registered (the same id must always mean the same questions).
  absl::Status Add(Instrument instrument);

  // The instrument `id` names; an empty id means kDefaultInstrumentId.
  // NOT_FOUND names the known ids and how to add one.
  absl::StatusOr<const Instrument*> Find(std::string_view id) const;

  // Registered ids, sorted.
  std::vector<std::string> ids() const;

 private:
  std::map<std::string, std::shared_ptr<const Instrument>, std::less<>> by_id_;
};

}  // namespace kring::survey

#endif  // KRING_SURVEY_REGISTRY_H_
