// JsonFields: JSON documents whose errors name the field and the line.
//
// nlohmann::json forgets where a value came from, so a config or scenario
// loader could only say "bad value". JsonDoc parses the text twice: once
// with nlohmann (values), once with a small bounded scanner that records
// the 1-based line of every key path ("peers[1].address"). The typed
// getters below then produce errors such as
//   line 7: field 'peers[1].address': expected "a.b.c.d:port", got "x"
//
// Limits: text up to kJsonTextBytesMax, nesting up to kJsonDepthMax (the
// scanner is iterative: no recursion on untrusted input). Unknown fields
// are errors too (a typo must not be silently ignored): call
// reject_unknown() with the allowed keys of each object.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>

#include "core/env/address.h"
#include "core/env/status.h"

namespace meshd {

constexpr size_t kJsonTextBytesMax = 4 * 1024 * 1024;
constexpr size_t kJsonDepthMax = 64;

class JsonDoc {
 public:
  // Parses `text`; errors carry "line N: ..." from the parser.
  static Result<JsonDoc> parse(std::string_view text, std::string_view what);

  const nlohmann::json& root() const { return root_; }
  // Line of the key (or array element) at `path`; 0 if unknown.
  int line_of(const std::string& path) const;
  // "<what>: line N: field 'path': message"
  Status error(const std::string& path, std::string_view message) const;

  // Typed access. `path` is the full path of the field, `obj` the object
  // containing it. Missing optional fields leave `out` unchanged.
  Status get_string(const nlohmann::json& obj, const std::string& path, std::string_view key,
                    std::string& out, bool required) const;
  Status get_int(const nlohmann::json& obj, const std::string& path, std::string_view key,
                 int64_t& out, int64_t min, int64_t max, bool required) const;
  Status get_double(const nlohmann::json& obj, const std::string& path, std::string_view key,
                    double& out, double min, double max, bool required) const;
  Status get_bool(const nlohmann::json& obj, const std::string& path, std::string_view key,
                  bool& out, bool required) const;
  Status get_address(const nlohmann::json& obj, const std::string& path, std::string_view key,
                     Address& out, bool required) const;
  // Errors on any key of `obj` not in `allowed`.
  Status reject_unknown(const nlohmann::json& obj, const std::string& path,
                        std::initializer_list<std::string_view> allowed) const;
  Status expect_object(const nlohmann::json& value, const std::string& path) const;
  Status expect_array(const nlohmann::json& value, const std::string& path) const;

  static std::string join(const std::string& path, std::string_view key);
  static std::string index(const std::string& path, size_t i);

 private:
  std::string what_;
  nlohmann::json root_;
  std::map<std::string, int> lines_;
};

}  // namespace meshd
