#ifndef KRING_CLIENT_CLI_OUTPUT_H_
#define KRING_CLIENT_CLI_OUTPUT_H_

// How `kring` shows queries: state names, tables padded for a terminal, and
// the JSON of --json. Text from the coordinator is printed through
// cli::OneLine, so it cannot move the cursor or forge lines.

#include <cstdint>
#include <string>
#include <vector>

#include "kring/v1/service.pb.h"
#include "nlohmann/json.hpp"

namespace kring::client {

// "awaiting approval", "released", ...; "unknown" for other values.
std::string StateName(v1::QueryState s);

// StateName with '_' for ' ' (the --json spelling).
std::string StateKey(v1::QueryState s);

// "1 school", "2 schools".
std::string Schools(uint64_t n);

// "1 of 2": the approvals given and required.
std::string Approvals(const v1::QueryInfo& q);

// Prints `rows` on stdout, columns padded to their widest cell (counting
// UTF-8 characters), each cell through cli::OneLine.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

// The spec as JSON with the proto field names; null if it cannot be printed.
nlohmann::ordered_json SpecJson(const v1::QuerySpec& spec);

// A query as `--json` prints it (times in UTC).
nlohmann::ordered_json QueryJson(const v1::QueryInfo& q);

// Prints `j` indented on stdout; invalid UTF-8 is replaced.
void PrintJson(const nlohmann::ordered_json& j);

// Prints a query for people (`kring query show`).
void PrintQuery(const v1::QueryInfo& q);

}  // namespace kring::client

#endif  // KRING_CLIENT_CLI_OUTPUT_H_
