#ifndef KRING_API_LIMITS_H_
#define KRING_API_LIMITS_H_

// Every size limit of the wire contract, in one place. The coordinator
// checks them before it authenticates, stores or forwards anything, and
// refuses with INVALID_ARGUMENT naming the field and its limit.
//
//   Text and bytes fields            256 bytes unless listed below
//   QuerySpec.purpose                4 KiB
//   reasons (reject, decline, abort) 1 KiB
//   repeated fields                  256 entries unless listed below
//   municipalities (scope, spec)     512 entries (the Netherlands has ~350)
//   a whole user request             64 KiB (kMaxRequestBytes)
//   a message before authentication  64 KiB (kPreAuthMessageBytes)
//   any one message received         1 MiB (kMaxReceiveBytes, api/chunks.h)
//   a node's message after its hello 64 MiB (kMaxMessageBytes), in chunks
//   one ListQueries page             1 MiB of queries (kListPageBytes)
//
// Secure-aggregation payloads (SecAggMessage) are bounded by the message
// size and checked by the protocol itself, not here.

#include <cstddef>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/message.h"

namespace kring::api {

inline constexpr size_t kMaxTextBytes = 256;
inline constexpr size_t kMaxPurposeBytes = 4 << 10;
inline constexpr size_t kMaxReasonBytes = 1 << 10;
inline constexpr size_t kMaxRepeated = 256;
inline constexpr size_t kMaxMunicipalities = 512;
inline constexpr size_t kMaxRequestBytes = 64 << 10;
inline constexpr int kPreAuthMessageBytes = 64 << 10;
inline constexpr size_t kListPageBytes = 1 << 20;

// The byte limit of string or bytes field `field`.
size_t TextLimit(const google::protobuf::FieldDescriptor& field);
// The entry limit of repeated field `field`.
size_t RepeatedLimit(const google::protobuf::FieldDescriptor& field);

// OK when every field of `message` (recursively, except inside
// SecAggMessage) is within its limit; otherwise INVALID_ARGUMENT naming the
// first field over it as `prefix` + its path (e.g. "spec.purpose"), its
// size and the limit.
absl::Status CheckFieldLimits(const google::protobuf::Message& message,
                              std::string_view prefix = "");

// CheckFieldLimits, and the whole request within kMaxRequestBytes.
absl::Status CheckRequestLimits(const google::protobuf::Message& request);

}  // namespace kring::api

#endif  // KRING_API_LIMITS_H_
