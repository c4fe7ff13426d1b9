#ifndef KRING_API_CHUNKS_H_
#define KRING_API_CHUNKS_H_

// Node messages larger than the coordinator's receive limit travel as
// MessageChunks on the node's stream (after its hello): Chunk() splits on
// the node, a ChunkAssembler per stream joins them on the coordinator,
// bounded by kMaxMessageBytes in total. The receive limit applies to every
// message before authentication, so it stays small (kMaxReceiveBytes);
// only an authenticated node's stream ever holds more, one message at a
// time.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kring/v1/service.pb.h"

namespace kring::api {

// The coordinator's receive limit for any one gRPC message: far more than
// a hello or a signed request (kMaxRequestBytes) needs, and a chunk with
// room to spare.
inline constexpr int kMaxReceiveBytes = 1 << 20;
// The data in one chunk.
inline constexpr size_t kChunkBytes = 512 << 10;

// `m` itself if it fits in kChunkBytes serialized, otherwise its
// serialization in consecutive chunks (the last one marked). Pure.
std::vector<v1::NodeToCoordinator> Chunk(const v1::NodeToCoordinator& m);

// Joins the chunks of one stream. Not thread-safe (one per stream).
class ChunkAssembler {
 public:
  // At most `max_bytes` of one message are held.
  explicit ChunkAssembler(size_t max_bytes);

  // A message read from the stream: the message to handle (an unchunked one
  // as it is, or the whole message once its last chunk came), nullopt while
  // chunks are pending. RESOURCE_EXHAUSTED past max_bytes; INVALID_ARGUMENT
  // for a chunk that does not parse, a chunk within a chunk, or a whole
  // message between chunks. After an error the stream should end.
  absl::StatusOr<std::optional<v1::NodeToCoordinator>> Add(
      v1::NodeToCoordinator m);

 private:
  size_t max_bytes_;
  std::string pending_;
  bool open_ = false;  // chunks came, the last one not yet
};

}  // namespace kring::api

#endif  // KRING_API_CHUNKS_H_
