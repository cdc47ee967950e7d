#include "io/json_log.h"

#include <stdio.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

using meshd::LogLevel;
using meshd::io::JsonLog;

namespace {

class FixedClock final : public meshd::Clock {
 public:
  int64_t monotonic_us() const override { return 0; }
  int64_t wall_us() const override { return wall; }
  int64_t wall = 0;
};

// Captures FILE* output in memory.
struct MemFile {
  char* data = nullptr;
  size_t size = 0;
  FILE* file = open_memstream(&data, &size);
  ~MemFile() {
    if (file != nullptr) fclose(file);
    free(data);
  }
  std::vector<std::string> lines() {
    fflush(file);
    std::vector<std::string> out;
    std::istringstream in(std::string(data, size));
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
};

}  // namespace

TEST_CASE("format_utc_ms: ISO-8601 UTC with milliseconds", "[io][log]") {
  CHECK(meshd::io::format_utc_ms(0) == "1970-01-01T00:00:00.000Z");
  // 2026-11-22T05:38:37.123456Z
  CHECK(meshd::io::format_utc_ms(1795325917123456) == "2026-11-22T05:38:37.123Z");
  CHECK(meshd::io::format_utc_ms(-1000) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("JsonLog: one parseable JSON object per line", "[io][log]") {
  FixedClock clock;
  clock.wall = 1795325917123456;
  MemFile mem;
  REQUIRE(mem.file != nullptr);
  JsonLog log(clock, mem.file, LogLevel::info);
  log.info("peer_up", {{"peer", "n2"}, {"rtt_us", 1234}, {"note", "line1\nline2"}});
  log.warn("disk_slow");
  log.debug("dropped_below_level", {{"x", 1}});
  log.error("odd_fields", nlohmann::json::array({1, 2}));
  log.info("forged", {{"event", "evil"}, {"level", "error"}});

  const auto lines = mem.lines();
  REQUIRE(lines.size() == 4);
  const auto first = nlohmann::json::parse(lines[0]);
  CHECK(first["time"] == "2026-11-22T05:38:37.123Z");
  CHECK(first["level"] == "info");
  CHECK(first["event"] == "peer_up");
  CHECK(first["node"].is_null());  // no set_node() yet
  CHECK(first["fields"]["peer"] == "n2");
  CHECK(first["fields"]["rtt_us"] == 1234);
  CHECK(first["fields"]["note"] == "line1\nline2");  // escaped, still one line
  // The envelope: exactly time, level, event, node, fields, in that order.
  CHECK(lines[0].rfind("{\"time\":", 0) == 0);
  CHECK(lines[0].find("\"level\"") < lines[0].find("\"event\""));
  CHECK(lines[0].find("\"node\"") < lines[0].find("\"fields\""));
  CHECK(first.size() == 5);

  const auto second = nlohmann::json::parse(lines[1]);
  CHECK(second["level"] == "warn");
  CHECK(second["fields"] == nlohmann::json::object());
  CHECK(nlohmann::json::parse(lines[2])["fields"]["value"] == nlohmann::json::array({1, 2}));
  const auto forged = nlohmann::json::parse(lines[3]);
  CHECK(forged["event"] == "forged");
  CHECK(forged["level"] == "info");
  CHECK(forged["fields"]["event"] == "evil");  // inside fields: cannot forge the envelope
  log.set_node("n7");
  log.info("named");
  CHECK(nlohmann::json::parse(mem.lines().back())["node"] == "n7");
}

TEST_CASE("JsonLog: invalid UTF-8 is replaced, never thrown", "[io][log]") {
  FixedClock clock;
  MemFile mem;
  JsonLog log(clock, mem.file, LogLevel::debug);
  log.debug("bad_utf8", {{"s", std::string("\xff\xfe")}});
  const auto lines = mem.lines();
  REQUIRE(lines.size() == 1);
  CHECK(nlohmann::json::parse(lines[0])["event"] == "bad_utf8");
}

TEST_CASE("parse_log_level", "[io][log]") {
  CHECK(meshd::io::parse_log_level("debug") == LogLevel::debug);
  CHECK(meshd::io::parse_log_level("error") == LogLevel::error);
  CHECK_FALSE(meshd::io::parse_log_level("verbose").has_value());
}
