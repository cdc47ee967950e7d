// rapidcheck properties for Raft's log-matching repair (issue 15,
// "Properties ... for log-matching repair"): two voters with a common
// prefix and divergent suffixes of any length and entry size, a third voter
// cut off, lossy delivery for a while. Whoever wins, the two logs end
// identical, the more up-to-date log survives entry for entry (§5.4.1: only
// it can win), and both commit everything.
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

#include "core/consensus/raft.h"
#include "tests/consensus/raft_cluster.h"

using namespace meshd;
using namespace meshd::consensus;

namespace {

// Appends `len` entries with non-decreasing terms drawn from `terms`.
void grow(RaftLog& log, size_t len, const std::vector<uint64_t>& terms) {
  size_t t = 0;
  for (size_t i = 0; i < len; ++i) {
    t = std::min(terms.size() - 1, t + (*rc::gen::inRange(0, 4) == 0 ? 1 : 0));
    const auto bytes = *rc::gen::inRange<size_t>(0, 600);
    log.append(Entry{log.last_index() + 1, std::max(terms[t], log.last_term()),
                     std::vector<uint8_t>(bytes, static_cast<uint8_t>(i))});
  }
}

}  // namespace

TEST_CASE("raft: divergent logs are repaired to the up-to-date one", "[raft]") {
  rc::prop("log-matching repair", [] {
    RaftLog a, b;
    const size_t prefix = *rc::gen::inRange<size_t>(0, 20);
    grow(a, prefix, {1, 2, 3});
    b = a;
    // Suffix terms never coincide (even vs odd): the suffixes conflict at
    // every index, as logs written by different leaders do.
    grow(a, *rc::gen::inRange<size_t>(0, 120), {4, 6, 8});
    grow(b, *rc::gen::inRange<size_t>(0, 120), {5, 7, 9});
    const bool a_wins = std::make_pair(a.last_term(), a.last_index()) >= std::make_pair(b.last_term(), b.last_index());
    const RaftLog winner = a_wins ? a : b;
    const uint64_t lossy_datagrams = *rc::gen::inRange<uint64_t>(0, 400);
    const uint64_t loss_seed = *rc::gen::arbitrary<uint64_t>();
    test::RaftCluster c(3, {HardState{a.last_term(), kNoVote}, HardState{b.last_term(), kNoVote}, HardState{}},
                        {a, b, RaftLog{}});
    c.cut[2] = true;
    c.drop = [&](uint64_t n) {  // ~20 % loss over the first datagrams, none after
      return n < lossy_datagrams && ((n * 0x9E3779B97F4A7C15ull) ^ loss_seed) % 5 == 0;
    };
    c.step_until(60'000'000);
    const auto leaders = c.leaders();
    RC_ASSERT(leaders.size() == 1u);
    const RaftLog& la = c.m[0]->log();
    const RaftLog& lb = c.m[1]->log();
    RC_ASSERT(la.last_index() == lb.last_index());
    for (uint64_t i = 1; i <= la.last_index(); ++i) RC_ASSERT(la.at(i) == lb.at(i));
    for (uint64_t i = 1; i <= winner.last_index(); ++i) RC_ASSERT(la.at(i) == winner.at(i));
    RC_ASSERT(c.m[0]->commit_index() == la.last_index());
    RC_ASSERT(c.m[1]->commit_index() == lb.last_index());
  });
}
