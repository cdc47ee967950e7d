// meshlog: inspect, verify, repair and benchmark a storage log directory
// (docs/storage.md, "Operating it"). Point it at the data directory of a
// stopped meshd.
//
// Without --prefix the tool uses the one log in DIR: "log" if present, else
// the only prefix found (a meshd data directory holds "journal", the
// node's event journal, core/node/journal.h).
//
//   meshlog dump DIR [--from SEQ] [--json] [--prefix P]
//   meshlog verify DIR [--prefix P]
//   meshlog repair DIR --truncate-after-corruption [--prefix P]
//   meshlog bench DIR --records N --size B --sync every|group|none [--batch K]
//
// Exit codes: 0 ok / clean; 1 problems found (verify) or the operation
// failed; 2 usage error. dump and verify never modify the directory.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/storage/append_log.h"
#include "core/storage/inspect.h"
#include "io/build_info.h"
#include "io/posix_disk.h"

using namespace meshd;
using namespace meshd::storage;

namespace {

constexpr int kExitOk = 0, kExitProblem = 1, kExitUsage = 2;

int usage(const std::string& why = {}, FILE* out = stderr) {
  if (!why.empty()) std::fprintf(stderr, "meshlog: %s\n", why.c_str());
  std::fprintf(out,
               "usage: meshlog dump DIR [--from SEQ] [--json] [--prefix P]\n"
               "       meshlog verify DIR [--prefix P]\n"
               "       meshlog repair DIR --truncate-after-corruption [--prefix P]\n"
               "       meshlog bench DIR --records N --size B --sync every|group|none [--batch K]\n");
  return kExitUsage;
}

struct Args {
  std::string cmd, dir, prefix = "log", sync = "group";
  uint64_t from = 0, records = 100'000, size = 64, batch = 64;
  bool json = false, truncate_confirmed = false, prefix_given = false;
};

std::optional<uint64_t> parse_u64(const char* s) {
  if (*s == 0) return std::nullopt;
  uint64_t v = 0;
  for (const char* p = s; *p; ++p) {
    if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(*p - '0');
  }
  return v;
}

std::string hex(std::span<const uint8_t> b) {
  std::string s;
  s.reserve(b.size() * 2);
  for (uint8_t c : b) s += fmt::format("{:02x}", c);
  return s;
}

std::string json_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) < 0x20) { o += fmt::format("\\u{:04x}", c); continue; }
    o += c;
  }
  return o;
}

void print_problem(const Corruption& c) {
  std::printf("PROBLEM segment=%s offset=%llu seq=%llu: %s\n", c.segment.c_str(),
              static_cast<unsigned long long>(c.offset), static_cast<unsigned long long>(c.seq), c.what.c_str());
}

Result<std::unique_ptr<io::PosixDisk>> open_existing_dir(const std::string& dir) {
  if (FILE* f = std::fopen((dir + "/.").c_str(), "r"); f != nullptr) {
    std::fclose(f);
  } else {
    return Status(Errc::not_found, "no such directory: " + dir);
  }
  return io::PosixDisk::open(dir);
}

// The prefix of the one log in `disk` (see the top of this file), or why not.
Result<std::string> detect_prefix(Disk& disk) {
  auto names = disk.list();
  if (!names) return names.status();
  std::set<std::string> prefixes;
  for (const std::string& n : *names) {
    const size_t dash = n.rfind('-');
    if (dash == std::string::npos || dash == 0) continue;
    const std::string prefix = n.substr(0, dash);
    if (valid_segment_prefix(prefix) && parse_segment_name(prefix, n)) prefixes.insert(prefix);
  }
  if (prefixes.empty() || prefixes.count("log") != 0) return std::string("log");
  if (prefixes.size() == 1) return *prefixes.begin();
  std::string list;
  for (const std::string& p : prefixes) list += (list.empty() ? "" : ", ") + p;
  return Status(Errc::invalid, "several logs in this directory (" + list + "): choose one with --prefix");
}

int cmd_dump(const Args& a, Disk& disk) {
  auto rep = verify_log(disk, a.prefix, [&](uint64_t seq, std::span<const uint8_t> p) {
    if (a.json) {
      // A payload that is itself JSON (the node journal's events) is shown as is.
      const bool is_json = !p.empty() && p[0] == '{' && nlohmann::json::accept(p.begin(), p.end());
      std::printf("{\"seq\":%llu,\"bytes\":%zu,\"hex\":\"%s\"%s%.*s}\n", static_cast<unsigned long long>(seq),
                  p.size(), hex(p).c_str(), is_json ? ",\"record\":" : "", is_json ? static_cast<int>(p.size()) : 0,
                  reinterpret_cast<const char*>(p.data()));
    } else {
      std::printf("seq=%llu bytes=%zu %s\n", static_cast<unsigned long long>(seq), p.size(),
                  hex(p.subspan(0, std::min<size_t>(p.size(), 32))).c_str());
    }
    return true;
  }, a.from);
  if (!rep) {
    std::fprintf(stderr, "meshlog: %s\n", rep.status().to_string().c_str());
    return kExitProblem;
  }
  for (const Corruption& c : rep->problems) {
    if (a.json) {
      std::printf("{\"problem\":{\"segment\":\"%s\",\"offset\":%llu,\"seq\":%llu,\"what\":\"%s\"}}\n", c.segment.c_str(),
                  static_cast<unsigned long long>(c.offset), static_cast<unsigned long long>(c.seq),
                  json_escape(c.what).c_str());
    } else {
      print_problem(c);
    }
  }
  return rep->clean() ? kExitOk : kExitProblem;
}

int cmd_verify(const Args& a, Disk& disk) {
  auto rep = verify_log(disk, a.prefix);
  if (!rep) {
    std::fprintf(stderr, "meshlog: %s\n", rep.status().to_string().c_str());
    return kExitProblem;
  }
  for (const SegmentSummary& s : rep->segments) {
    std::printf("segment %s first_seq=%llu bytes=%llu records=%llu\n", s.name.c_str(),
                static_cast<unsigned long long>(s.first_seq), static_cast<unsigned long long>(s.bytes),
                static_cast<unsigned long long>(s.records));
  }
  if (rep->torn_tail) {
    std::printf("note: torn tail in %s at offset %llu (unsynced at a crash; cut at the next open): %s\n",
                rep->torn.segment.c_str(), static_cast<unsigned long long>(rep->torn.offset), rep->torn.what.c_str());
  }
  for (const Corruption& c : rep->problems) print_problem(c);
  std::printf("%s: %zu segments, records [%llu, %llu), %zu problems\n", rep->clean() ? "CLEAN" : "CORRUPT",
              rep->segments.size(), static_cast<unsigned long long>(rep->first_seq),
              static_cast<unsigned long long>(rep->next_seq), rep->problems.size());
  if (!rep->clean()) {
    std::printf("remedy: seqs from %llu on cannot be trusted. Restore them from a replica or backup if you can;\n"
                "        otherwise `meshlog repair %s --truncate-after-corruption` keeps [%llu, %llu) and drops the rest.\n",
                static_cast<unsigned long long>(rep->problems.front().seq), a.dir.c_str(),
                static_cast<unsigned long long>(rep->first_seq), static_cast<unsigned long long>(rep->problems.front().seq));
  }
  return rep->clean() ? kExitOk : kExitProblem;
}

int cmd_repair(const Args& a, Disk& disk) {
  if (!a.truncate_confirmed) {
    return usage("repair drops every record from the first problem on; confirm with --truncate-after-corruption");
  }
  auto rep = repair_truncate_after_corruption(disk, a.prefix);
  if (!rep) {
    std::fprintf(stderr, "meshlog: repair failed: %s\n", rep.status().to_string().c_str());
    return kExitProblem;
  }
  if (!rep->changed) {
    std::printf("nothing to repair: the log is clean\n");
    return kExitOk;
  }
  std::printf("truncated %s at offset %llu\n", rep->truncated_segment.c_str(),
              static_cast<unsigned long long>(rep->truncated_at));
  for (const std::string& d : rep->deleted_segments) std::printf("deleted %s\n", d.c_str());
  std::printf("the log now ends before seq %llu\n", static_cast<unsigned long long>(rep->next_seq));
  return kExitOk;
}

int cmd_bench(const Args& a, Disk& disk) {
  auto policy = parse_sync_policy(a.sync);
  if (!policy) return usage("--sync must be every, group or none");
  if (a.size > kRecordPayloadBytesMax) return usage("--size over the 1 MiB record limit");
  LogOptions o;
  o.sync = *policy;
  o.prefix = a.prefix;
  auto log = AppendLog::open(disk, nullptr, nullptr, o);
  if (!log) {
    std::fprintf(stderr, "meshlog: %s\n", log.status().to_string().c_str());
    return kExitProblem;
  }
  std::vector<uint8_t> payload(a.size, 0x5a);
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < a.records; ++i) {
    auto seq = (*log)->append(payload);
    if (!seq) {
      std::fprintf(stderr, "meshlog: append: %s\n", seq.status().to_string().c_str());
      return kExitProblem;
    }
    if (*policy == SyncPolicy::group && (i + 1) % a.batch == 0 && !(*log)->wait_durable(*seq)) return kExitProblem;
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (Status s = (*log)->sync(); !s) {
    std::fprintf(stderr, "meshlog: sync: %s\n", s.to_string().c_str());
    return kExitProblem;
  }
  const auto t2 = std::chrono::steady_clock::now();
  const double s = std::chrono::duration<double>(t1 - t0).count();
  const double s_sync = std::chrono::duration<double>(t2 - t0).count();
  std::printf("sync=%s records=%llu size=%llu batch=%llu: %.0f appends/s, %.1f MiB/s, %.3f s (%.3f s with the final "
              "sync), fsyncs=%llu\n",
              a.sync.c_str(), static_cast<unsigned long long>(a.records), static_cast<unsigned long long>(a.size),
              static_cast<unsigned long long>(a.batch), a.records / s, a.records * double(a.size) / s / (1 << 20), s,
              s_sync, static_cast<unsigned long long>((*log)->counters().fsyncs));
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  // The CLI convention (io/build_info.h): --version and VERB --help exit 0.
  if (io::argv_has(argc, argv, "--version", "-V")) {
    std::printf("%s\n", io::version_line("meshlog").c_str());
    return kExitOk;
  }
  if (io::argv_has(argc, argv, "--help", "-h")) {
    usage({}, stdout);
    return kExitOk;
  }
  if (argc < 3) return usage();
  Args a;
  a.cmd = argv[1];
  a.dir = argv[2];
  for (int i = 3; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto num = [&](uint64_t& out) {
      const char* v = value();
      auto n = v ? parse_u64(v) : std::nullopt;
      if (!n) return false;
      out = *n;
      return true;
    };
    if (f == "--json") a.json = true;
    else if (f == "--truncate-after-corruption") a.truncate_confirmed = true;
    else if (f == "--from") { if (!num(a.from)) return usage("--from needs a number"); }
    else if (f == "--records") { if (!num(a.records) || a.records == 0) return usage("--records needs a number > 0"); }
    else if (f == "--size") { if (!num(a.size)) return usage("--size needs a number"); }
    else if (f == "--batch") { if (!num(a.batch) || a.batch == 0) return usage("--batch needs a number > 0"); }
    else if (f == "--sync") { const char* v = value(); if (!v) return usage("--sync needs a value"); a.sync = v; }
    else if (f == "--prefix") {
      const char* v = value();
      if (!v) return usage("--prefix needs a value");
      a.prefix = v;
      a.prefix_given = true;
    }
    else return usage("unknown argument " + f);
  }
  if (!valid_segment_prefix(a.prefix)) return usage("invalid --prefix");
  if (a.cmd != "dump" && a.cmd != "verify" && a.cmd != "repair" && a.cmd != "bench") return usage("unknown command " + a.cmd);
  auto disk = a.cmd == "bench" ? io::PosixDisk::open(a.dir) : open_existing_dir(a.dir);
  if (!disk) {
    std::fprintf(stderr, "meshlog: %s\n", disk.status().to_string().c_str());
    return kExitProblem;
  }
  if (!a.prefix_given && a.cmd != "bench") {
    auto prefix = detect_prefix(**disk);
    if (!prefix) return usage(prefix.status().message());
    a.prefix = *prefix;
  }
  if (a.cmd == "dump") return cmd_dump(a, **disk);
  if (a.cmd == "verify") return cmd_verify(a, **disk);
  if (a.cmd == "repair") return cmd_repair(a, **disk);
  return cmd_bench(a, **disk);
}
