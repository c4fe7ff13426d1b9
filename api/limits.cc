#include "api/limits.h"

#include <string>
#include <vector>

#include "util/str_cat.h"

namespace kring::api {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

std::string Path(std::string_view prefix, const FieldDescriptor& f) {
  return prefix.empty() ? f.name() : StrCat(prefix, ".", f.name());
}

absl::Status TooLong(const std::string& path, size_t size, size_t limit) {
  return absl::InvalidArgumentError(StrCat(path, " is ", size,
                                           " bytes; the limit is ", limit,
                                           " bytes. Shorten it"));
}

absl::Status CheckField(const Message& m, const FieldDescriptor& f,
                        std::string_view prefix) {
  const Reflection& r = *m.GetReflection();
  const std::string path = Path(prefix, f);
  if (f.is_repeated()) {
    const size_t n = static_cast<size_t>(r.FieldSize(m, &f));
    if (n > RepeatedLimit(f)) {
      return absl::InvalidArgumentError(
          StrCat(path, " has ", n, " entries; the limit is ", RepeatedLimit(f),
                 ". Send fewer"));
    }
    for (size_t i = 0; i < n; ++i) {
      const std::string item = StrCat(path, "[", i, "]");
      const int k = static_cast<int>(i);
      if (f.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
        std::string scratch;
        const size_t size =
            r.GetRepeatedStringReference(m, &f, k, &scratch).size();
        if (size > TextLimit(f)) return TooLong(item, size, TextLimit(f));
      } else if (f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        if (absl::Status s =
                CheckFieldLimits(r.GetRepeatedMessage(m, &f, k), item);
            !s.ok()) {
          return s;
        }
      }
    }
    return absl::OkStatus();
  }
  if (f.cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
    std::string scratch;
    const size_t size = r.GetStringReference(m, &f, &scratch).size();
    if (size > TextLimit(f)) return TooLong(path, size, TextLimit(f));
  } else if (f.cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE &&
             r.HasField(m, &f)) {
    return CheckFieldLimits(r.GetMessage(m, &f), path);
  }
  return absl::OkStatus();
}

}  // namespace

size_t TextLimit(const FieldDescriptor& field) {
  const std::string& name = field.full_name();
  if (name == "kring.v1.QuerySpec.purpose") return kMaxPurposeBytes;
  if (name == "kring.v1.RejectQueryRequest.reason" ||
      name == "kring.v1.TaskDecision.reason" ||
      name == "kring.v1.RunEnd.reason") {
    return kMaxReasonBytes;
  }
  return kMaxTextBytes;
}

size_t RepeatedLimit(const FieldDescriptor& field) {
  if (field.name() == "municipalities") return kMaxMunicipalities;
  return kMaxRepeated;
}

absl::Status CheckFieldLimits(const Message& message, std::string_view prefix) {
  // Vectors are bounded by the query's layout and checked by the protocol
  // (secure aggregation; the benchmark's plaintext vectors, which only
  // kring-coordinator-bench asks for).
  const std::string& type = message.GetDescriptor()->full_name();
  if (type == "kring.v1.SecAggMessage" ||
      type == "kring.v1.BenchmarkPlaintext") {
    return absl::OkStatus();
  }
  std::vector<const FieldDescriptor*> fields;
  message.GetReflection()->ListFields(message, &fields);
  for (const FieldDescriptor* f : fields) {
    if (absl::Status s = CheckField(message, *f, prefix); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status CheckRequestLimits(const Message& request) {
  if (absl::Status s = CheckFieldLimits(request); !s.ok()) return s;
  const size_t size = request.ByteSizeLong();
  if (size > kMaxRequestBytes) {
    return absl::InvalidArgumentError(StrCat("the request is ", size,
                                             " bytes; the limit is ",
                                             kMaxRequestBytes, " bytes"));
  }
  return absl::OkStatus();
}

}  // namespace kring::api
