#ifndef KRING_NODE_QUERY_RECORDS_H_
#define KRING_NODE_QUERY_RECORDS_H_

// A school's records as a query reads them: the query names its
// instrument; records of that instrument take part as they are, records of
// another registered instrument that asks the query's items with the same
// answer options (e.g. kring-belonging-v1-pisa) are translated, and the
// rest are left out.

#include <map>
#include <optional>
#include <set>
#include <string>

#include "kring/v1/record.pb.h"
#include "query/spec.h"
#include "survey/registry.h"
#include "survey/translate.h"

namespace kring::node {

class QueryRecords {
 public:
  // Plans for `query` given the instrument ids of the school's records
  // (`instrument_ids`; "" means the default instrument). `registry` must
  // outlive the result.
  QueryRecords(const query::Query& query,
               const survey::InstrumentRegistry& registry,
               const std::set<std::string>& instrument_ids);

  // Why this school cannot take part: it has records, and none follow the
  // query's instrument or one that translates to it (naming what is
  // missing). nullopt when it can (or has no records at all).
  const std::optional<std::string>& refusal() const { return refusal_; }

  // `r` as the query reads it, or nullopt when its instrument cannot take
  // part.
  std::optional<v1::PupilRecord> Read(const v1::PupilRecord& r) const;

 private:
  std::string query_instrument_;
  std::map<std::string, survey::RecordTranslation> translations_;
  std::optional<std::string> refusal_;
};

}  // namespace kring::node

#endif  // KRING_NODE_QUERY_RECORDS_H_
