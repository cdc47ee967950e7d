// The twin rule alone (core/crypto/twin_rule.h): its decision table over a
// liveness view, without a handshake manager.
#include <catch2/catch.hpp>

#include "core/crypto/twin_rule.h"

using namespace meshd;
using namespace meshd::crypto;

namespace {
constexpr int64_t kGraceUs = 5'000'000;
constexpr int64_t kNowUs = 100'000'000;
const Address kHolder{0x0a000001, 5000};
const Address kOther{0x0a000002, 5000};

LivenessView view(bool live, HandshakeFreshness last = {1, 100}) {
  LivenessView v;
  v.holder = kHolder;
  v.last_opened_us = live ? kNowUs - 1'000 : kNowUs - kGraceUs;
  v.last_opened_from = kHolder;
  v.last_opened_from_us = v.last_opened_us;
  v.last_freshness = last;
  return v;
}
TwinVerdict judge(const LivenessView& v, const Address& from, HandshakeFreshness f, TwinPolicy policy) {
  return judge_initiation(v, from, f, policy, kNowUs, kGraceUs);
}
constexpr HandshakeFreshness kFresher{1, 200};
constexpr HandshakeFreshness kStale{1, 50};
}  // namespace

TEST_CASE("twin rule: liveness and twin detection", "[crypto][twins][twin_rule]") {
  CHECK(holder_live(view(true), kNowUs, kGraceUs));
  CHECK_FALSE(holder_live(view(false), kNowUs, kGraceUs));  // exactly stale_grace_us of silence
  CHECK_FALSE(holder_live(LivenessView{}, kNowUs, kGraceUs));  // never opened
  CHECK(twin_at(view(true), kOther, kNowUs, kGraceUs));
  CHECK_FALSE(twin_at(view(true), kHolder, kNowUs, kGraceUs));
  CHECK_FALSE(twin_at(view(false), kOther, kNowUs, kGraceUs));
  // A peer that now speaks from kOther (it moved) is no twin of itself there.
  LivenessView moved = view(true);
  moved.last_opened_from = kOther;
  CHECK_FALSE(twin_at(moved, kOther, kNowUs, kGraceUs));
}

TEST_CASE("twin rule: the decision table", "[crypto][twins][twin_rule]") {
  struct Row {
    bool live;
    Address from;
    HandshakeFreshness freshness;
    TwinPolicy policy;
    TwinVerdict verdict;
  };
  using P = TwinPolicy;
  using V = TwinVerdict;
  const Row rows[] = {
      // Live holder, initiation from its own address: freshness decides; stale is a replay.
      {true, kHolder, kFresher, P::prefer_newest, V::accept},
      {true, kHolder, kStale, P::prefer_newest, V::replay},
      {true, kHolder, kFresher, P::prefer_oldest, V::accept},
      {true, kHolder, kStale, P::allow_concurrent, V::replay},
      // Live holder, initiation from elsewhere: a twin.
      {true, kOther, kFresher, P::prefer_newest, V::accept},
      {true, kOther, kStale, P::prefer_newest, V::twin_stale},
      {true, kOther, kFresher, P::prefer_oldest, V::twin_refused},
      {true, kOther, kFresher, P::allow_concurrent, V::twin_refused},
      {true, kOther, kStale, P::prefer_oldest, V::twin_refused},
      // Silent holder: anything authenticated takes over, whatever its freshness.
      {false, kOther, kStale, P::prefer_oldest, V::accept},
      {false, kOther, kStale, P::prefer_newest, V::accept},
      {false, kHolder, kStale, P::allow_concurrent, V::accept},
  };
  for (const Row& row : rows) {
    INFO("live=" << row.live << " from_holder=" << (row.from == kHolder) << " fresher=" << (row.freshness == kFresher)
                 << " policy=" << static_cast<int>(row.policy));
    CHECK(judge(view(row.live), row.from, row.freshness, row.policy) == row.verdict);
  }
  CHECK(judge(view(true), kHolder, HandshakeFreshness{1, 100}, P::prefer_newest) == V::replay);  // equal is stale
}

TEST_CASE("twin rule: refusals map to drop reasons and notices", "[crypto][twins][twin_rule]") {
  CHECK(refusal_drop(TwinVerdict::twin_refused) == wire::DropReason::twin_refused);
  CHECK(refusal_drop(TwinVerdict::twin_stale) == wire::DropReason::stale_handshake);
  CHECK(refusal_drop(TwinVerdict::replay) == wire::DropReason::stale_handshake);
  CHECK(refusal_notifies(TwinVerdict::twin_refused));
  CHECK(refusal_notifies(TwinVerdict::twin_stale));
  CHECK_FALSE(refusal_notifies(TwinVerdict::replay));
}
