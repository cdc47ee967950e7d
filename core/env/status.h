// Errors as values.
//
// Every operation that can fail for reasons outside the program (I/O, bad
// input, timeouts, cancellation) returns a Status or a Result<T>. Errors are
// never silent: callers must look at them ([[nodiscard]]).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/env/assert.h"

namespace meshd {

enum class Errc : uint8_t {
  ok = 0,
  io_error,      // EIO: the device failed; data may or may not be written
  no_space,      // ENOSPC: nothing was written
  not_found,     // file or entry does not exist
  exists,        // create-exclusive on an existing name
  short_read,    // fewer bytes than asked were available
  corrupt,       // data failed a checksum or a structural check
  invalid,       // malformed input or argument
  too_large,     // over a named limit
  timeout,       // a deadline passed
  cancelled,     // the waiting fiber was cancelled
  closed,        // the channel, socket or file was closed
  permission,    // access refused (e.g. a key file readable by others)
  unavailable,   // transiently unable (queue full, would block)
};

std::string_view errc_name(Errc code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Errc code, std::string message = {}) : code_(code), message_(std::move(message)) {}  // NOLINT
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == Errc::ok; }
  explicit operator bool() const { return is_ok(); }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string to_string() const;

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

// Result<T>: a value or a non-ok Status. (std::expected is C++23.)
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    MESHD_ASSERT_MSG(!std::get<Status>(v_).is_ok(), "Result from an ok Status has no value");
  }
  Result(Errc code, std::string message = {}) : Result(Status(code, std::move(message))) {}

  bool is_ok() const { return v_.index() == 0; }
  explicit operator bool() const { return is_ok(); }
  T& value() & { MESHD_ASSERT(is_ok()); return std::get<0>(v_); }
  const T& value() const& { MESHD_ASSERT(is_ok()); return std::get<0>(v_); }
  T&& value() && { MESHD_ASSERT(is_ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  Status status() const { return is_ok() ? Status() : std::get<1>(v_); }
  Errc code() const { return is_ok() ? Errc::ok : std::get<1>(v_).code(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace meshd
