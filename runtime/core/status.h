// runtime/core/status.h — Status and StatusOr for user mistakes (bad config, data, checkpoint,
// flag). Broken invariants use glog CHECK instead; a Status always names what is wrong and where.
#pragma once

#include <glog/logging.h>

#include <optional>
#include <string>
#include <utility>

namespace tigerfg {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }

  bool ok() const { return !message_.has_value(); }
  const std::string& message() const {
    static const std::string kOk = "OK";
    return message_ ? *message_ : kOk;
  }
  // Prefixes the message with where it happened: "config.prototxt: " + message.
  Status WithContext(const std::string& where) const {
    return ok() ? *this : Status(where + ": " + *message_);
  }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
};

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    CHECK(!status_.ok()) << "StatusOr built from an OK status without a value";
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & {
    CHECK(ok()) << status_.message();
    return *value_;
  }
  const T& value() const& {
    CHECK(ok()) << status_.message();
    return *value_;
  }
  T&& value() && {
    CHECK(ok()) << status_.message();
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace tigerfg

// Returns early from a function returning Status or StatusOr when `expr` failed.
#define TIGERFG_RETURN_IF_ERROR(expr)          \
  do {                                         \
    ::tigerfg::Status _tigerfg_st = (expr);    \
    if (!_tigerfg_st.ok()) return _tigerfg_st; \
  } while (0)

#define TIGERFG_CONCAT_INNER(a, b) a##b
#define TIGERFG_CONCAT(a, b) TIGERFG_CONCAT_INNER(a, b)
#define TIGERFG_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
// TIGERFG_ASSIGN_OR_RETURN(auto x, MakeX()); returns the error status when MakeX failed.
#define TIGERFG_ASSIGN_OR_RETURN(lhs, expr) \
  TIGERFG_ASSIGN_OR_RETURN_IMPL(TIGERFG_CONCAT(_tigerfg_so_, __LINE__), lhs, expr)
