#include "core/node/json_fields.h"

#include <algorithm>

#include <fmt/format.h>

#include <vector>

#include "core/env/assert.h"

namespace meshd {

namespace {

// Records the line of every key path. Runs only on text nlohmann accepted,
// so it can assume well-formed JSON; it still never reads out of bounds.
class LineScanner {
 public:
  explicit LineScanner(std::string_view text) : text_(text) {}

  Status run(std::map<std::string, int>& lines) {
    struct Frame {
      std::string path;
      bool is_array;
      size_t next_index;
      std::string pending_key;  // object: key whose value comes next
    };
    std::vector<Frame> stack;
    int line = 1;
    auto value_path = [&](Frame& f) {
      return f.is_array ? JsonDoc::index(f.path, f.next_index++) : JsonDoc::join(f.path, f.pending_key);
    };
    bool expect_key = false;
    for (size_t i = 0; i < text_.size(); ++i) {
      const char c = text_[i];
      if (c == '\n') {
        ++line;
        continue;
      }
      if (c == '"') {
        std::string s;
        size_t j = i + 1;
        for (; j < text_.size() && text_[j] != '"'; ++j) {
          if (text_[j] == '\\' && j + 1 < text_.size()) {
            s += text_[j];
            ++j;
          }
          s += text_[j];
        }
        i = j;
        if (!stack.empty() && !stack.back().is_array && expect_key) {
          stack.back().pending_key = s;
          lines[JsonDoc::join(stack.back().path, s)] = line;
          expect_key = false;
        } else if (!stack.empty() && stack.back().is_array) {
          lines[value_path(stack.back())] = line;
        }
        continue;
      }
      if (c == '{' || c == '[') {
        if (stack.size() >= kJsonDepthMax) return Status(Errc::too_large, "nesting too deep");
        std::string path;
        if (!stack.empty()) {
          Frame& parent = stack.back();
          path = value_path(parent);
          if (parent.is_array) lines[path] = line;
        }
        stack.push_back(Frame{path, c == '[', 0, {}});
        MESHD_ASSERT(stack.size() <= kJsonDepthMax);
        expect_key = (c == '{');
        continue;
      }
      if (c == '}' || c == ']') {
        if (!stack.empty()) stack.pop_back();
        expect_key = false;
        continue;
      }
      if (c == ',') {
        expect_key = !stack.empty() && !stack.back().is_array;
        continue;
      }
      // Scalars inside arrays: numbers, true, false, null.
      if (!stack.empty() && stack.back().is_array && c != ' ' && c != '\t' && c != '\r' &&
          c != ':') {
        lines[value_path(stack.back())] = line;
        while (i + 1 < text_.size() && text_[i + 1] != ',' && text_[i + 1] != ']' &&
               text_[i + 1] != '\n') {
          ++i;
        }
      }
    }
    // nlohmann accepted the text, so every bracket was closed.
    MESHD_ASSERT_MSG(stack.empty(), "line scanner: unbalanced brackets in text the parser accepted");
    MESHD_ASSERT(line >= 1);
    return Status::ok();
  }

 private:
  std::string_view text_;
};

std::string type_name(const nlohmann::json& v) { return v.type_name(); }

}  // namespace

std::string JsonDoc::join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string JsonDoc::index(const std::string& path, size_t i) {
  return fmt::format("{}[{}]", path, i);
}

Result<JsonDoc> JsonDoc::parse(std::string_view text, std::string_view what) {
  JsonDoc doc;
  doc.what_ = std::string(what);
  if (text.size() > kJsonTextBytesMax) {
    return Status(Errc::too_large, fmt::format("{}: larger than {} bytes", what, kJsonTextBytesMax));
  }
  try {
    doc.root_ = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's own "at line N, column M" counts from where it stopped:
    // keep only its description so one line number is given.
    std::string why = e.what();
    if (const size_t at = why.find("column "); at != std::string::npos) {
      if (const size_t colon = why.find(": ", at); colon != std::string::npos) why = why.substr(colon + 2);
    }
    // e.byte is the 1-based index of the last byte read. A well-formed
    // token in the wrong place ("unexpected ...": a missing or trailing
    // comma) is detected on the token after the mistake, often on the next
    // line: name the line of the token before it. A malformed token
    // ("invalid literal", ...) is the mistake itself: name its line.
    size_t i = std::min<size_t>(e.byte, text.size());
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    if (why.find("unexpected") != std::string::npos) {
      while (i > 0 && !space(text[i - 1])) --i;
      while (i > 0 && space(text[i - 1])) --i;
    }
    int line = 1;
    for (size_t k = 0; k + 1 < i; ++k) line += (text[k] == '\n');
    return Status(Errc::invalid, fmt::format("{}: line {}: not valid JSON: {}", what, line, why));
  } catch (const nlohmann::json::exception& e) {
    // Valid syntax the parser still refuses, e.g. a number overflowing a
    // double ("1e999", found by the config_json fuzz corpus). No offset.
    return Status(Errc::invalid, fmt::format("{}: not valid JSON ({})", what, e.what()));
  }
  if (Status s = LineScanner(text).run(doc.lines_); !s) {
    return Status(s.code(), fmt::format("{}: {}", what, s.message()));
  }
  // Every key has a line (a JSON text has at most one key per byte).
  MESHD_ASSERT(doc.lines_.size() <= text.size());
  return doc;
}

int JsonDoc::line_of(const std::string& path) const {
  auto it = lines_.find(path);
  return it == lines_.end() ? 0 : it->second;
}

Status JsonDoc::error(const std::string& path, std::string_view message) const {
  // A missing field has no line of its own: name the line of the nearest
  // enclosing object that has one (the top-level object: line 1), so every
  // error says "line N: field 'x'".
  int line = line_of(path);
  for (std::string parent = path; line == 0 && !parent.empty();) {
    const size_t cut = parent.find_last_of(".[");
    parent = cut == std::string::npos ? "" : parent.substr(0, cut);
    line = parent.empty() ? 1 : line_of(parent);
  }
  if (line == 0) line = 1;
  MESHD_ASSERT(line >= 1);
  return Status(Errc::invalid, fmt::format("{}: line {}: field '{}': {}", what_, line, path, message));
}

Status JsonDoc::expect_object(const nlohmann::json& value, const std::string& path) const {
  if (value.is_object()) return Status::ok();
  return error(path.empty() ? "(top level)" : path, "expected an object, got " + type_name(value));
}

Status JsonDoc::expect_array(const nlohmann::json& value, const std::string& path) const {
  if (value.is_array()) return Status::ok();
  return error(path, "expected an array, got " + type_name(value));
}

Status JsonDoc::reject_unknown(const nlohmann::json& obj, const std::string& path,
                               std::initializer_list<std::string_view> allowed) const {
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || (a == key);
    if (!known) return error(join(path, key), "unknown field (typo?)");
  }
  return Status::ok();
}

namespace {
const nlohmann::json* find(const nlohmann::json& obj, std::string_view key) {
  auto it = obj.find(std::string(key));
  return it == obj.end() ? nullptr : &*it;
}
}  // namespace

Status JsonDoc::get_string(const nlohmann::json& obj, const std::string& path, std::string_view key,
                           std::string& out, bool required) const {
  const std::string p = join(path, key);
  const nlohmann::json* v = find(obj, key);
  if (v == nullptr) return required ? error(p, "required field missing") : Status::ok();
  if (!v->is_string()) return error(p, "expected a string, got " + type_name(*v));
  out = v->get<std::string>();
  return Status::ok();
}

Status JsonDoc::get_int(const nlohmann::json& obj, const std::string& path, std::string_view key,
                        int64_t& out, int64_t min, int64_t max, bool required) const {
  MESHD_ASSERT_MSG(min <= max, "get_int: empty range");
  const std::string p = join(path, key);
  const nlohmann::json* v = find(obj, key);
  if (v == nullptr) return required ? error(p, "required field missing") : Status::ok();
  if (!v->is_number_integer()) return error(p, "expected an integer, got " + type_name(*v));
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return error(p, fmt::format("must be in [{}, {}]", min, max));
  }
  const int64_t x = v->get<int64_t>();
  if (x < min || x > max) return error(p, fmt::format("must be in [{}, {}], got {}", min, max, x));
  out = x;
  MESHD_ASSERT(out >= min && out <= max);
  return Status::ok();
}

Status JsonDoc::get_double(const nlohmann::json& obj, const std::string& path, std::string_view key,
                           double& out, double min, double max, bool required) const {
  MESHD_ASSERT_MSG(min <= max, "get_double: empty range");
  const std::string p = join(path, key);
  const nlohmann::json* v = find(obj, key);
  if (v == nullptr) return required ? error(p, "required field missing") : Status::ok();
  if (!v->is_number()) return error(p, "expected a number, got " + type_name(*v));
  const double x = v->get<double>();
  if (!(x >= min && x <= max)) return error(p, fmt::format("must be in [{}, {}], got {}", min, max, x));
  out = x;  // NaN fails the range test above
  MESHD_ASSERT(out >= min && out <= max);
  return Status::ok();
}

Status JsonDoc::get_bool(const nlohmann::json& obj, const std::string& path, std::string_view key,
                         bool& out, bool required) const {
  const std::string p = join(path, key);
  const nlohmann::json* v = find(obj, key);
  if (v == nullptr) return required ? error(p, "required field missing") : Status::ok();
  if (!v->is_boolean()) return error(p, "expected true or false, got " + type_name(*v));
  out = v->get<bool>();
  return Status::ok();
}

Status JsonDoc::get_address(const nlohmann::json& obj, const std::string& path,
                            std::string_view key, Address& out, bool required) const {
  std::string text;
  if (Status s = get_string(obj, path, key, text, required); !s) return s;
  if (text.empty() && !required) return Status::ok();
  auto a = Address::parse(text);
  if (!a) return error(join(path, key), fmt::format("expected \"a.b.c.d:port\", got \"{}\"", text));
  out = *a;
  return Status::ok();
}

}  // namespace meshd
