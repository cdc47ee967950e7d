#include "sim/consensus/linearizability.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "core/env/assert.h"

namespace meshd::sim {

namespace {

using Value = std::optional<std::string>;
constexpr int64_t kNever = INT64_MAX;

// The sequential model: apply `o` to `state`; false if o's known result
// contradicts it.
bool step(const Value& state, const HistoryOp& o, Value& next) {
  switch (o.op) {
    case consensus::KvOp::get:
      next = state;
      return !o.known || o.found == state;
    case consensus::KvOp::put:
      next = o.value;
      return true;
    case consensus::KvOp::cas: {
      const bool match = o.expected_absent ? !state.has_value() : (state.has_value() && *state == o.expected);
      next = match ? Value(o.value) : state;
      return !o.known || (o.result_ok == match && o.found == state);
    }
  }
  return false;
}

class KeySearch {
 public:
  explicit KeySearch(std::vector<const HistoryOp*> ops) : ops_(std::move(ops)) {
    std::stable_sort(ops_.begin(), ops_.end(),
                     [](const HistoryOp* a, const HistoryOp* b) { return a->invoke_us < b->invoke_us; });
    placed_.assign((ops_.size() + 63) / 64, 0);
    for (const HistoryOp* o : ops_) known_left_ += o->known ? 1 : 0;
  }
  // 1: linearizable, 0: not, -1: gave up.
  int run() {
    const bool found = dfs(Value{});
    if (steps_ > kSearchStepsMax) return -1;
    return found ? 1 : 0;
  }

 private:
  bool is_placed(size_t i) const { return (placed_[i / 64] >> (i % 64)) & 1; }
  void flip(size_t i) { placed_[i / 64] ^= uint64_t{1} << (i % 64); }
  static int64_t ret(const HistoryOp* o) { return o->known ? o->complete_us : kNever; }

  bool dfs(const Value& state) {
    if (known_left_ == 0) return true;
    if (++steps_ > kSearchStepsMax) return false;
    if (!seen_.insert({placed_, state}).second) return false;
    int64_t min_ret = kNever;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (!is_placed(i)) min_ret = std::min(min_ret, ret(ops_[i]));
    }
    for (size_t i = 0; i < ops_.size() && ops_[i]->invoke_us <= min_ret; ++i) {
      if (is_placed(i)) continue;
      Value next;
      if (!step(state, *ops_[i], next)) continue;
      flip(i);
      known_left_ -= ops_[i]->known ? 1 : 0;
      const bool ok = dfs(next);
      known_left_ += ops_[i]->known ? 1 : 0;
      flip(i);
      if (ok) return true;
      if (steps_ > kSearchStepsMax) return false;
    }
    return false;
  }

  std::vector<const HistoryOp*> ops_;
  std::vector<uint64_t> placed_;
  size_t known_left_ = 0;
  uint64_t steps_ = 0;
  std::set<std::pair<std::vector<uint64_t>, Value>> seen_;
};

}  // namespace

LinearizabilityReport check_linearizable(const std::vector<HistoryOp>& ops) {
  std::map<std::string, std::vector<const HistoryOp*>> by_key;
  for (const HistoryOp& o : ops) {
    MESHD_ASSERT(!o.known || o.complete_us >= o.invoke_us);
    by_key[o.key].push_back(&o);
  }
  LinearizabilityReport r;
  r.keys = by_key.size();
  r.operations = ops.size();
  for (auto& [key, list] : by_key) {
    const size_t n = list.size();
    KeySearch search(std::move(list));
    const int verdict = search.run();
    if (verdict < 0) {
      ++r.undecided_keys;
    } else if (verdict == 0) {
      r.violations.push_back(fmt::format("linearizability: key '{}': no order of its {} operations matches "
                                         "a register with compare-and-set in real time", key, n));
    }
  }
  return r;
}

}  // namespace meshd::sim
