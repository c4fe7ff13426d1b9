#include "node/pending.h"

#include <algorithm>
#include <fstream>
#include <utility>

#include "nlohmann/json.hpp"
#include "util/file.h"
#include "util/str_cat.h"

namespace kring::node {

namespace {

std::filesystem::path PendingFile(const std::filesystem::path& data_dir,
                                  const std::string& query_id) {
  return data_dir / "pending" / (query_id + ".json");
}

}  // namespace

PendingDirectory::PendingDirectory(std::filesystem::path data_dir)
    : data_dir_(std::move(data_dir)) {}

absl::Status PendingDirectory::Put(const PendingTask& task) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir_ / "pending", ec);
  std::filesystem::create_directories(data_dir_ / "decisions", ec);
  nlohmann::json j = {{"query_id", task.query_id},
                      {"summary", task.summary},
                      {"requester", task.requester},
                      {"respond_by", task.respond_by_unix_millis}};
  std::ofstream out(PendingFile(data_dir_, task.query_id));
  out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
      << "\n";
  if (!out) return absl::InternalError("cannot write the pending task");
  return absl::OkStatus();
}

std::optional<ItDecision> PendingDirectory::TakeDecision(
    const std::string& query_id) {
  const auto decision = data_dir_ / "decisions" / query_id;
  std::error_code ec;
  if (!std::filesystem::exists(decision, ec)) return std::nullopt;
  auto text = ReadFileToString(decision);
  ItDecision out;
  out.accept = text.ok() && text->rfind("accept", 0) == 0;
  if (text.ok() && text->find('\n') != std::string::npos) {
    out.note = text->substr(text->find('\n') + 1);
  }
  while (!out.note.empty() &&
         (out.note.back() == '\n' || out.note.back() == '\r')) {
    out.note.pop_back();
  }
  std::filesystem::remove(decision, ec);
  Remove(query_id);
  return out;
}

void PendingDirectory::Remove(const std::string& query_id) {
  std::error_code ec;
  std::filesystem::remove(PendingFile(data_dir_, query_id), ec);
}

absl::StatusOr<std::vector<PendingTask>> ListPending(
    const std::filesystem::path& data_dir) {
  std::vector<PendingTask> out;
  std::error_code ec;
  const auto dir = data_dir / "pending";
  if (!std::filesystem::exists(dir, ec)) return out;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    auto text = ReadFileToString(e.path());
    if (!text.ok()) continue;
    try {
      auto j = nlohmann::json::parse(*text);
      out.push_back(
          {j["query_id"].get<std::string>(), j["summary"].get<std::string>(),
           j["requester"].get<std::string>(), j["respond_by"].get<int64_t>()});
    } catch (const nlohmann::json::exception&) {
      continue;
    }
  }
  std::sort(out.begin(), out.end(),
            [](const PendingTask& a, const PendingTask& b) {
              return a.query_id < b.query_id;
            });
  return out;
}

absl::Status DecidePending(const std::filesystem::path& data_dir,
                           std::string_view query_id, bool accept,
                           std::string_view reason) {
  const std::string id(query_id);
  std::error_code ec;
  if (id.empty() || id.find('/') != std::string::npos ||
      !std::filesystem::exists(PendingFile(data_dir, id), ec)) {
    return absl::NotFoundError(
        StrCat("no query ", id, " is waiting; see `kring-node pending`"));
  }
  std::ofstream out(data_dir / "decisions" / id);
  out << (accept ? "accept" : "decline") << "\n" << reason << "\n";
  if (!out) return absl::InternalError("cannot write the decision");
  return absl::OkStatus();
}

}  // namespace kring::node
