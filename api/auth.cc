#include "api/auth.h"

#include <sodium.h>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "util/str_cat.h"

namespace kring::api {
namespace {

void AppendU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

void AppendPrefixed(std::string& out, std::string_view s) {
  AppendU64(out, s.size());
  out.append(s);
}

}  // namespace

std::string CanonicalBytes(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  coded.SetSerializationDeterministic(true);
  m.SerializeToCodedStream(&coded);
  coded.Trim();
  return out;
}

absl::StatusOr<std::string> RequestSigningBytes(
    std::string_view method, std::string_view user_id,
    const google::protobuf::Message& request, int64_t unix_millis,
    std::string_view nonce) {
  const google::protobuf::FieldDescriptor* auth =
      request.GetDescriptor()->FindFieldByName("auth");
  if (auth == nullptr ||
      auth->message_type() != v1::RequestAuth::descriptor()) {
    return absl::InvalidArgumentError(
        StrCat(request.GetTypeName(), " has no auth field"));
  }
  std::unique_ptr<google::protobuf::Message> copy(request.New());
  copy->CopyFrom(request);
  copy->GetReflection()->ClearField(copy.get(), auth);
  std::string out = "kring-request-v1";
  AppendPrefixed(out, method);
  AppendPrefixed(out, user_id);
  AppendU64(out, static_cast<uint64_t>(unix_millis));
  AppendPrefixed(out, nonce);
  AppendPrefixed(out, CanonicalBytes(*copy));
  return out;
}

absl::Status SignRequest(std::string_view method, std::string_view user_id,
                         const crypto::IdentityKeyPair& key,
                         google::protobuf::Message& request) {
  std::string nonce(kNonceBytes, '\0');
  randombytes_buf(nonce.data(), nonce.size());
  const int64_t now = NowMillis();
  auto bytes = RequestSigningBytes(method, user_id, request, now, nonce);
  if (!bytes.ok()) return bytes.status();
  auto signature = key.Sign(kRequestContext, *bytes);
  if (!signature.ok()) return signature.status();
  const google::protobuf::FieldDescriptor* field =
      request.GetDescriptor()->FindFieldByName("auth");
  auto* auth = static_cast<v1::RequestAuth*>(
      request.GetReflection()->MutableMessage(&request, field));
  auth->set_user_id(std::string(user_id));
  auth->set_unix_millis(now);
  auth->set_nonce(nonce);
  auth->set_signature(*signature);
  return absl::OkStatus();
}

std::string HelloSigningBytes(std::string_view school_id, int64_t unix_millis,
                              std::string_view nonce) {
  std::string out = "kring-hello-v1";
  AppendPrefixed(out, school_id);
  AppendU64(out, static_cast<uint64_t>(unix_millis));
  AppendPrefixed(out, nonce);
  return out;
}

int64_t NowMillis() { return SystemClock().NowUnixMillis(); }

absl::Status ReplayGuard::Check(std::string_view key, int64_t unix_millis,
                                std::string_view nonce) {
  const int64_t now = clock_.NowUnixMillis();
  if (unix_millis < now - kMaxClockSkewMillis ||
      unix_millis > now + kMaxClockSkewMillis) {
    return absl::UnauthenticatedError(
        "the request's timestamp is more than 5 minutes off; check the "
        "clock of the machine that sent it");
  }
  if (nonce.size() != kNonceBytes) {
    return absl::UnauthenticatedError("the request's nonce must be 16 bytes");
  }
  std::lock_guard lock(mu_);
  while (!order_.empty() &&
         order_.front().first < now - 2 * kMaxClockSkewMillis) {
    seen_.erase(order_.front().second);
    order_.pop_front();
  }
  std::string id = StrCat(key, std::string_view("\0", 1), nonce);
  if (!seen_.insert(id).second) {
    return absl::UnauthenticatedError(
        "this request was already received (replay refused)");
  }
  order_.emplace_back(now, std::move(id));
  return absl::OkStatus();
}

size_t ReplayGuard::remembered() const {
  std::lock_guard lock(mu_);
  return order_.size();
}

}  // namespace kring::api
