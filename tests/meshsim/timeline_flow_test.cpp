// Message linkage in the trace (TraceEvent::msg), the Chrome trace's flow
// arrows, and `meshsim timeline` (the headless-browser check of the page is
// tests/meshsim/timeline_browser_test.py, ctest meshsim.timeline.browser).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "sim/world.h"
#include "tests/meshsim/meshsim_exec.h"
#include "tests/sim/test_services.h"

using namespace meshd;
using namespace meshd::sim;
using namespace meshd::test;

namespace {

struct FlowRun {
  uint64_t hash = 0;
  std::vector<TraceEvent> events;
};

// Five ping nodes over a lossy, duplicating, corrupting, reordering network
// with a partition, a clog, a pause and a crash; then every node crashes and
// the network heals, so every datagram still in flight (or held by the
// pause or the clog) reaches its end: delivered or dropped.
FlowRun flow_run(uint64_t seed, bool record) {
  World w(seed);
  w.trace().set_recording(record);
  LinkConfig cfg;
  cfg.loss = 0.05;
  cfg.duplicate = 0.05;
  cfg.reorder = 0.05;
  cfg.corrupt = 0.05;
  w.network().set_default_link(cfg);
  constexpr size_t kNodes = 5;
  for (size_t i = 0; i < kNodes; ++i) w.add_node(sim::test::ping_factory(kNodes), NodeOptions{0, static_cast<int64_t>(i) * 100});
  w.start_all();
  w.at(300'000, [&] { w.network().partition({0, 1}, {2, 3, 4}); });
  w.at(500'000, [&] { w.network().clog(3, 4); });
  w.at(600'000, [&] { w.network().heal_all(); });
  w.at(650'000, [&] { w.pause(1); });
  w.at(700'000, [&] { w.crash(2); });
  w.at(800'000, [&] { w.resume(1); });
  w.at(900'000, [&] { w.restart(2); });
  w.at(1'200'000, [&] { w.network().clog(0, 4); });
  w.at(1'400'000, [&] { w.pause(3); });
  w.at(2'000'000, [&] {
    for (size_t i = 0; i < kNodes; ++i) w.crash(i);
    w.network().heal_all();
  });
  w.run_until(3'000'000);
  return {w.trace().hash(), w.trace().recorded()};
}

}  // namespace

TEST_CASE("trace: every message start has exactly one deliver or drop with its id", "[meshsim][timeline]") {
  for (uint64_t seed : {1, 2, 3}) {
    const FlowRun r = flow_run(seed, true);
    std::map<uint64_t, int> starts, ends;
    std::map<uint64_t, int64_t> start_at;
    size_t sends = 0, dups = 0, corrupts = 0, drops = 0, delivers = 0;
    for (const TraceEvent& e : r.events) {
      switch (e.kind) {
        case TraceKind::send:
        case TraceKind::duplicate:
          (e.kind == TraceKind::send ? sends : dups)++;
          REQUIRE(e.msg != 0);
          REQUIRE(e.peer < 5);
          ++starts[e.msg];
          start_at[e.msg] = e.t_us;
          break;
        case TraceKind::deliver:
        case TraceKind::drop:
          (e.kind == TraceKind::deliver ? delivers : drops)++;
          REQUIRE(e.msg != 0);
          REQUIRE(starts.count(e.msg) == 1);  // the start came first
          CHECK(e.t_us >= start_at[e.msg]);
          ++ends[e.msg];
          break;
        case TraceKind::corrupt:
          ++corrupts;
          CHECK(e.msg != 0);
          break;
        default:
          CHECK(e.msg == 0);
      }
    }
    INFO("seed " << seed << ": " << sends << " sends, " << dups << " duplicates, " << corrupts << " corrupt, "
                 << delivers << " delivers, " << drops << " drops");
    CHECK(sends > 100);
    CHECK(dups > 0);
    CHECK(corrupts > 0);
    CHECK(drops > 0);
    for (const auto& [id, k] : starts) {
      INFO("message " << id);
      CHECK(k == 1);
      CHECK(ends[id] == 1);
    }
    CHECK(ends.size() == starts.size());
    // Recording, and the ids, leave the determinism hash alone.
    CHECK(flow_run(seed, false).hash == r.hash);
  }
}

TEST_CASE("meshsim run --trace: flow arrows link each send to its deliver or drop", "[meshsim][timeline]") {
  const std::string trace = temp_path("flow-trace.json");
  Exec e = meshsim("run " + source_path("scenarios/crash-restart.json") + " --seed 1 --trace " + trace);
  INFO(e.out);
  REQUIRE(e.code == 0);
  const auto j = nlohmann::json::parse(read_file(trace));
  REQUIRE(j.contains("traceEvents"));
  std::map<uint64_t, int> s, f;
  std::map<std::string, int> names;
  std::set<std::string> drop_reasons;
  for (const auto& ev : j["traceEvents"]) {
    const std::string ph = ev["ph"];
    if (ph == "s") ++s[ev["id"].get<uint64_t>()];
    if (ph == "f") {
      CHECK(ev["bp"] == "e");
      const uint64_t id = ev["id"];
      CHECK(s.count(id) == 1);  // finishes follow their start in the file
      ++f[id];
    }
    if (ph == "X" || ph == "i") ++names[ev["name"].get<std::string>()];
    if (ev.value("cat", "") == "drop") drop_reasons.insert(ev["args"]["reason"].get<std::string>());
  }
  CHECK(s.size() == static_cast<size_t>(names["send"] + names["duplicate"]));
  CHECK(f.size() == static_cast<size_t>(names["deliver"] + names["drop"]));
  for (const auto& [id, k] : s) CHECK(k == 1);
  for (const auto& [id, k] : f) CHECK(k == 1);
  // Crashes drop datagrams on arrival; faults are named by what happened.
  CHECK(drop_reasons.count("dropped_node_down") == 1);
  CHECK(names["node_crash"] == 5);  // 4 crashes + 1 wipe, on the node tracks...
  CHECK(names["node_crash node 1"] == 2);  // ...and mirrored on the world track
  CHECK(names.count("crash at 8.000s node 1") == 1);
}

TEST_CASE("meshsim timeline: writes a page whose embedded data matches the run", "[meshsim][timeline]") {
  const std::string html = temp_path("timeline.html");
  Exec e = meshsim("timeline " + source_path("scenarios/crash-restart.json") + " --seed 1 --html " + html);
  INFO(e.out);
  REQUIRE(e.code == 0);
  CHECK(e.has("PASS scenario=crash-restart seed=1 nodes=5"));
  CHECK(e.has("timeline: meshsim timeline: 5 nodes, "));
  const std::string page = read_file(html);
  const std::string open = "<script type=\"application/json\" id=\"meshsim-data\">";
  const size_t at = page.find(open);
  REQUIRE(at != std::string::npos);
  const size_t end = page.find("</script>", at);
  const auto d = nlohmann::json::parse(page.substr(at + open.size(), end - at - open.size()));
  CHECK(d["nodes"] == 5);
  CHECK(d["counts"]["crashes"] == 5);  // 4 crashes + 1 wipe
  CHECK(d["counts"]["pauses"] == 1);
  CHECK(d["truncated"] == false);
  CHECK(d["msgs"]["t0"].size() == d["counts"]["messages"].get<size_t>());
  // The run's hash is the same as `meshsim run`'s: the page shows that run.
  Exec r = meshsim("run " + source_path("scenarios/crash-restart.json") + " --seed 1");
  CHECK(d["trace_hash"] == trace_hash_of(r));
  size_t down = 0, paused = 0;
  for (const auto& b : d["bands"]) (b["kind"] == "down" ? down : paused)++;
  CHECK(down == 5);
  CHECK(paused == 1);
  CHECK(page.find("http://") == std::string::npos);  // self-contained
  CHECK(page.find("https://") == std::string::npos);

  Exec bad = meshsim("timeline " + source_path("scenarios/crash-restart.json") + " --seed 1 2>&1");
  CHECK(bad.code == 2);
  CHECK(bad.has("meshsim timeline: needs --html FILE"));
  Exec bad2 = meshsim("timeline " + source_path("scenarios/crash-restart.json") + " --html " + html + " --frobnicate 2>&1");
  CHECK(bad2.code == 2);
  CHECK(bad2.has("unknown option '--frobnicate'"));
}
