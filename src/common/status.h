// Status and Result<T>: the error vocabulary below the protocol line.
// Protocol code (nfs3/nfs4) maps these to its own status codes in one place.
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace manifold {

enum class Code {
  kOk = 0,
  kNotFound,
  kExists,
  kConflict,
  kNoSpace,
  kUnavailable,
  kIo,
  kCorruption,
  kInvalid,
  kPermission,
  kLimit,
  kInternal,
  // Namespace outcomes (meta): precise so the protocol layer can map each to its own status.
  kNotDir,        // a path component or target is not a directory
  kIsDir,         // a non-directory operation was aimed at a directory
  kNotEmpty,      // rmdir or rename over a directory that still has entries
  kStale,         // the object a handle names no longer exists (or its generation differs)
  kTooBig,        // a name or record exceeds its named limit
  kPrecondition,  // a caller-supplied guard (change counter, expected state) did not hold
  kTooManyLinks,  // a link count would pass kLinksMax
  kFileTooBig,    // a file would grow past the largest size the namespace can hold
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  // Maps an errno value to a Code, keeping the errno text in the message.
  static Status FromErrno(int err, const std::string& what);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}            // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}     // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace manifold
