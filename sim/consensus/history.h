// The client history of a Raft run, and its JSON-lines form
// (meshsim run … --history FILE; docs/consensus.md "History format").
//
// One logical operation per client request (a retry keeps its seq, so it
// is the same operation). Each operation gives two lines, in time order
// over the whole file (ties: invocations before completions, then by
// process):
//   {"type":"invoke","process":P,"time_us":T,"key":K,"op":"get|put|cas",
//    "value":V,"expected":E,"expected_absent":B}          (value/expected: put, cas)
//   {"type":"ok"|"unknown","process":P,"time_us":T,"key":K,"op":…,
//    "ok":B,"found":V|null}
// "ok": cas swapped (always true for get/put); "found": the value read (get)
// or found (cas), null when the key was absent. "unknown": the run ended
// before the client got an answer — the operation may or may not have taken
// effect (time_us is then the end of the run). meshd clients retry until
// answered, so there is no "fail". Times are the simulator's global virtual
// microseconds. Process = the client's node index.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/consensus/kv.h"

namespace meshd::sim {

struct HistoryOp {
  uint64_t process = 0;
  consensus::KvOp op = consensus::KvOp::get;
  std::string key{}, value{}, expected{};
  bool expected_absent = false;
  int64_t invoke_us = 0;
  int64_t complete_us = 0;           // when known
  bool known = false;                // answered (ok); false: unknown
  bool result_ok = true;
  std::optional<std::string> found{};
};

std::string history_json_lines(const std::vector<HistoryOp>& ops, int64_t end_us);

}  // namespace meshd::sim
