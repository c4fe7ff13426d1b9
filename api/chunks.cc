#include "api/chunks.h"

#include <algorithm>

#include "util/str_cat.h"

namespace kring::api {

std::vector<v1::NodeToCoordinator> Chunk(const v1::NodeToCoordinator& m) {
  if (m.ByteSizeLong() <= kChunkBytes) return {m};
  const std::string bytes = m.SerializeAsString();
  std::vector<v1::NodeToCoordinator> out;
  for (size_t at = 0; at < bytes.size(); at += kChunkBytes) {
    v1::MessageChunk* c = out.emplace_back().mutable_chunk();
    c->set_data(bytes.substr(at, kChunkBytes));
    c->set_last(at + kChunkBytes >= bytes.size());
  }
  return out;
}

ChunkAssembler::ChunkAssembler(size_t max_bytes) : max_bytes_(max_bytes) {}

absl::StatusOr<std::optional<v1::NodeToCoordinator>> ChunkAssembler::Add(
    v1::NodeToCoordinator m) {
  if (!m.has_chunk()) {
    if (open_) {
      return absl::InvalidArgumentError(
          "a whole message came between the chunks of another");
    }
    return std::optional<v1::NodeToCoordinator>(std::move(m));
  }
  const std::string& data = m.chunk().data();
  if (data.size() > max_bytes_ - std::min(max_bytes_, pending_.size())) {
    std::string().swap(pending_);
    open_ = false;
    return absl::ResourceExhaustedError(
        StrCat("a chunked message exceeds ", max_bytes_, " bytes"));
  }
  pending_ += data;
  open_ = !m.chunk().last();
  if (open_) return std::optional<v1::NodeToCoordinator>();
  v1::NodeToCoordinator whole;
  const bool parsed = whole.ParseFromString(pending_);
  std::string().swap(pending_);  // frees the buffer
  if (!parsed) {
    return absl::InvalidArgumentError("chunks that do not form a message");
  }
  if (whole.has_chunk()) {
    return absl::InvalidArgumentError("a chunk inside a chunked message");
  }
  return std::optional<v1::NodeToCoordinator>(std::move(whole));
}

}  // namespace kring::api
