#include "crypto/internal/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_format.h"
#include "util/str_cat.h"

namespace kring::crypto::internal {
namespace {

absl::Status ErrnoError(std::string_view what,
                        const std::filesystem::path& path, int err) {
  std::string msg = StrCat(what, " ", path.string(), ": ", std::strerror(err));
  if (err == ENOENT) return absl::NotFoundError(msg);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg);
  if (err == EEXIST) return absl::AlreadyExistsError(msg);
  return absl::InternalError(msg);
}

}  // namespace

absl::Status WriteFileAtomically(const std::filesystem::path& path,
                                 std::string_view contents, unsigned mode,
                                 bool exclusive) {
  struct stat st;
  if (exclusive && ::lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(StrCat(
        path.string(),
        " already exists; refusing to overwrite it (move it away first if "
        "you really mean to replace it)"));
  }
  std::filesystem::path tmp = path;
  tmp += absl::StrFormat(".tmp-%d", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("cannot create", tmp, errno);
  // The umask may have removed bits; never add more than `mode`.
  if (::fchmod(fd, mode) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return ErrnoError("cannot set permissions on", tmp, err);
  }
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return ErrnoError("cannot write", tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot flush", tmp, err);
  }
  if (exclusive) {
    // link() fails if the target exists, closing the race with lstat above.
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return ErrnoError("cannot create", path, err);
    }
    ::unlink(tmp.c_str());
    return absl::OkStatus();
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoError("cannot replace", path, err);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSmallFile(const std::filesystem::path& path,
                                          size_t max_bytes,
                                          bool require_private) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return ErrnoError("cannot stat", path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(
        StrCat(path.string(), " is not a regular file"));
  }
  if (require_private && (st.st_mode & 077) != 0) {
    ::close(fd);
    return absl::PermissionDeniedError(absl::StrFormat(
        "%s has permissions %04o, which let other users read or change it; "
        "a private key file must be readable by its owner only: run "
        "`chmod 600 %s`",
        path.string(), st.st_mode & 07777, path.string()));
  }
  if (static_cast<size_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return absl::InvalidArgumentError(StrCat(path.string(), " is ", st.st_size,
                                             " bytes; expected at most ",
                                             max_bytes));
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd, out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      ::close(fd);
      return ErrnoError("cannot read", path, err);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return out;
}

}  // namespace kring::crypto::internal
