#include "sim/scenario/swarm.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "core/env/buggify.h"
#include "core/env/random.h"

namespace meshd::sim {

namespace {

constexpr std::string_view kCategoryNames[] = {"crash", "pause", "partition", "block", "clog",
                                               "lossy_link", "blackhole", "clock", "disk", "wipe", "attacker"};
static_assert(std::size(kCategoryNames) == static_cast<size_t>(SwarmCategory::count_));

constexpr int64_t kEpisodeUsMin = 200'000;       // shortest fault episode
constexpr int64_t kEpisodeUsMax = 10'000'000;    // longest fault episode
constexpr int64_t kQuietStartUs = 1'000'000;     // let the mesh form first
constexpr int64_t kQuietEndUs = 10'000'000;      // every episode is repaired this long before the end
constexpr int64_t kBoundMarginUs = 50'000;       // scheduling slack in every bound
constexpr double kRoundFailureTarget = 1e-9;     // detect_up: P(all rounds fail)
constexpr int64_t kDetectUpRoundsMax = 64;

int64_t ms_round(int64_t us) { return us / 1000 * 1000; }

struct Gen {
  Scenario& sc;
  RandomStream r;
  size_t node() { return static_cast<size_t>(r.below(sc.nodes)); }
  std::pair<size_t, size_t> pair() {
    const size_t a = node();
    size_t b = static_cast<size_t>(r.below(sc.nodes - 1));
    if (b >= a) ++b;
    return {a, b};
  }
  // Episodes start after the mesh formed and are repaired before the
  // quiet tail, so end-of-run checks (every reachable pair holds a
  // session) see a settled mesh.
  int64_t last_us() const { return std::max(kQuietStartUs, sc.duration_us - kQuietEndUs); }
  int64_t start_us() { return ms_round(r.range(kQuietStartUs, last_us())); }
  int64_t end_us(int64_t start) { return std::min(last_us(), ms_round(start + r.range(kEpisodeUsMin, kEpisodeUsMax))); }
  Fault make(int64_t at, FaultKind kind) {
    Fault f;
    f.at_us = at;
    f.kind = kind;
    return f;
  }
  Fault on_node(int64_t at, FaultKind kind, size_t n) {
    Fault f = make(at, kind);
    f.node = static_cast<int64_t>(n);
    return f;
  }
  Fault on_link(int64_t at, FaultKind kind, size_t from, size_t to) {
    Fault f = make(at, kind);
    f.from = static_cast<int64_t>(from);
    f.to = static_cast<int64_t>(to);
    return f;
  }
};

// Attack kinds a swarm attacker draws from (all of them).
constexpr AttackKind kSwarmAttackKinds[] = {AttackKind::replay, AttackKind::bitflip, AttackKind::truncate,
                                            AttackKind::reflect, AttackKind::forge_psk, AttackKind::forge_key,
                                            AttackKind::replay_initiation, AttackKind::garbage,
                                            AttackKind::handshake_storm};
constexpr int64_t kSwarmAttackRatePerSMax = 200;

// An attacker episode: a non-empty subset of kinds at a drawn rate.
AttackerSpec attacker_episode(Gen& g) {
  AttackerSpec a;
  while (a.kinds.empty()) {
    for (AttackKind k : kSwarmAttackKinds) {
      if (g.r.chance(0.3)) a.kinds.push_back(k);
    }
  }
  a.from_us = g.start_us();
  a.until_us = std::max(a.from_us + 1000, g.end_us(a.from_us));
  a.rate_per_s = g.r.range(10, kSwarmAttackRatePerSMax);
  return a;
}

// One episode of a category: the opening fault and (usually) its repair.
// Returns how long the episode may hold datagrams back (clog, pause): 0
// for faults that drop rather than delay.
int64_t episode(SwarmCategory c, Gen& g, std::vector<Fault>& out, int64_t drift_ppm_max, SwarmProfile& p) {
  const int64_t t0 = g.start_us();
  const int64_t t1 = g.end_us(t0);
  switch (c) {
    case SwarmCategory::crash: {
      const size_t n = g.node();
      out.push_back(g.on_node(t0, FaultKind::crash, n));
      if (!g.r.chance(0.2)) out.push_back(g.on_node(t1, FaultKind::restart, n));  // else stays down
      break;
    }
    case SwarmCategory::pause: {
      const size_t n = g.node();
      out.push_back(g.on_node(t0, FaultKind::pause, n));
      out.push_back(g.on_node(t1, FaultKind::resume, n));
      return t1 - t0;
    }
    case SwarmCategory::partition: {
      Fault f = g.make(t0, FaultKind::partition);
      // A random split with both sides non-empty: node 0 anchors side a.
      const uint64_t mask = 1 + g.r.below((uint64_t{1} << (g.sc.nodes - 1)) - 1);
      f.side_a.push_back(0);
      for (size_t i = 1; i < g.sc.nodes; ++i) ((mask >> (i - 1)) & 1 ? f.side_b : f.side_a).push_back(i);
      out.push_back(f);
      out.push_back(g.make(t1, FaultKind::heal));
      break;
    }
    case SwarmCategory::block: {
      const auto [a, b] = g.pair();
      out.push_back(g.on_link(t0, FaultKind::block, a, b));
      if (!g.r.chance(0.25)) {
        out.push_back(g.on_link(t1, FaultKind::unblock, a, b));
      } else {
        p.permanent_block = true;  // a sparse topology
      }
      break;
    }
    case SwarmCategory::clog: {
      const auto [a, b] = g.pair();
      out.push_back(g.on_link(t0, FaultKind::clog, a, b));
      out.push_back(g.on_link(t1, FaultKind::unclog, a, b));
      return t1 - t0;
    }
    case SwarmCategory::lossy_link:
    case SwarmCategory::blackhole: {
      const auto [a, b] = g.pair();
      Fault f = g.on_link(t0, FaultKind::link, a, b);
      f.link = g.sc.network;
      f.link.loss = c == SwarmCategory::blackhole ? 1.0 : static_cast<double>(g.r.range(5, 30)) / 100.0;
      out.push_back(f);
      Fault restore = g.on_link(t1, FaultKind::link, a, b);
      restore.link = g.sc.network;
      out.push_back(restore);
      break;
    }
    case SwarmCategory::clock: {
      const size_t n = g.node();
      if (g.r.chance(0.5) || drift_ppm_max == 0) {
        Fault f = g.on_node(t0, FaultKind::clock_jump, n);
        f.delta_us = g.r.range(-60'000, 60'000) * 1000;
        out.push_back(f);
      } else {
        Fault f = g.on_node(t0, FaultKind::drift, n);
        f.drift_ppm = g.r.range(-drift_ppm_max, drift_ppm_max);
        out.push_back(f);
      }
      break;
    }
    case SwarmCategory::disk: {
      // Break the disk, restart into it (the boot may fail: the node then
      // stays silent, which the oracle sees as down), then repair and reboot.
      const size_t n = g.node();
      Fault f = g.on_node(t0, FaultKind::disk, n);
      switch (g.r.below(3)) {
        case 0: f.disk.write_eio = 1.0; break;
        case 1: f.disk.fsync_eio = 1.0; break;
        default: f.disk.read_bitrot = 0.5; break;
      }
      out.push_back(f);
      out.push_back(g.on_node(t0 + 1000, FaultKind::restart, n));
      out.push_back(g.on_node(std::max(t1, t0 + 2000), FaultKind::disk, n));  // DiskFaults{}: healthy again
      out.push_back(g.on_node(std::max(t1, t0 + 2000) + 1000, FaultKind::restart, n));
      break;
    }
    case SwarmCategory::wipe:
      out.push_back(g.on_node(t0, FaultKind::wipe, g.node()));
      break;
    case SwarmCategory::attacker:
      if (g.sc.security.attackers.size() < kAttackersMax && !g.sc.security.plaintext) {
        g.sc.security.attackers.push_back(attacker_episode(g));
      }
      // With membership, half the episodes also get an insider speaking SWIM.
      if (g.sc.membership && g.sc.security.member_attackers.size() < kAttackersMax && g.r.chance(0.5)) {
        MemberAttackerSpec m;
        for (size_t k = 0; k < kMemberAttackKinds; ++k) {
          if (g.r.chance(0.5)) m.kinds.push_back(static_cast<MemberAttackKind>(k));
        }
        if (m.kinds.empty()) m.kinds.push_back(MemberAttackKind::suspect_spam);
        m.insider = g.node();
        m.from_us = g.start_us();
        m.until_us = std::max(m.from_us + 1000, g.end_us(m.from_us));
        m.rate_per_s = g.r.range(5, 40);
        g.sc.security.member_attackers.push_back(m);
      }
      break;
    case SwarmCategory::count_:
      break;
  }
  return 0;
}

// Rounds of ping/ack so that all failing has probability < target, given
// the per-datagram loss p (integer loop: no libm in a determinism path).
int64_t rounds_for_loss(double p) {
  const double round_ok = (1.0 - p) * (1.0 - p);
  const double q = 1.0 - round_ok;
  double all_fail = 1.0;
  int64_t rounds = 0;
  while (all_fail > kRoundFailureTarget && rounds < kDetectUpRoundsMax) {
    all_fail *= q;
    ++rounds;
  }
  return std::max<int64_t>(rounds, 1);
}

}  // namespace

std::string_view swarm_category_name(SwarmCategory c) {
  const size_t i = static_cast<size_t>(c);
  return i < std::size(kCategoryNames) ? kCategoryNames[i] : "unknown";
}

std::optional<SwarmCategory> parse_swarm_category(std::string_view name) {
  for (size_t c = 0; c < std::size(kCategoryNames); ++c) {
    if (kCategoryNames[c] == name) return static_cast<SwarmCategory>(c);
  }
  return std::nullopt;
}

SwarmRun swarm_scenario(const Scenario& base, uint64_t seed, SwarmCategoryMask forced_off) {
  SwarmRun run;
  Scenario& sc = run.scenario;
  SwarmProfile& p = run.profile;
  p.seed = seed;
  const Random root = Random::from_seed(seed);
  RandomStream r = root.stream("swarm", "profile");

  sc.name = base.name;
  sc.description = fmt::format("swarm profile of seed {} over scenario '{}'", seed, base.name);
  sc.duration_us = base.duration_us;
  sc.nodes = static_cast<size_t>(r.range(kSwarmNodesMin, kSwarmNodesMax));
  sc.membership = base.membership;  // SWIM on every node when the base runs it (no draw)

  // Liveness knobs.
  sc.liveness.ping_interval_ms = r.range(50, 300);
  sc.liveness.ping_jitter_percent = r.range(0, 20);
  sc.liveness.down_after_ms = sc.liveness.ping_interval_ms * r.range(3, 8);

  // Baseline network: each imperfection is on for about half the seeds.
  LinkConfig& net = sc.network;
  net.latency_us_min = r.range(50, 2000);
  net.reorder_delay_us = r.range(1000, 10'000);
  // Keep the worst one-way delay well inside a liveness period so a
  // correct node never times out a reachable peer on delay alone.
  const int64_t budget_us = (sc.liveness.down_after_ms * 1000 - sc.liveness.ping_interval_ms * 1250) / 3;
  const int64_t mean_max = std::max<int64_t>(0, (budget_us - net.latency_us_min - net.reorder_delay_us) / 64);
  net.latency_us_mean = r.range(0, std::min<int64_t>(mean_max, 2000));
  net.loss = r.chance(0.5) ? static_cast<double>(r.range(1, 50)) / 1000.0 : 0.0;
  net.duplicate = r.chance(0.5) ? static_cast<double>(r.range(1, 50)) / 1000.0 : 0.0;
  net.reorder = r.chance(0.5) ? static_cast<double>(r.range(1, 100)) / 1000.0 : 0.0;
  net.corrupt = r.chance(0.5) ? static_cast<double>(r.range(1, 20)) / 1000.0 : 0.0;

  sc.clock_offset_us_max = r.range(0, 10'000) * 1000;
  sc.clock_drift_ppm_max = r.range(0, 500);

  // Fault categories and their timelines, each from its own stream.
  const int64_t minutes_x1000 = sc.duration_us / 60'000;  // duration in milli-minutes
  for (size_t c = 0; c < static_cast<size_t>(SwarmCategory::count_); ++c) {
    SwarmCategoryProfile& cp = p.categories[c];
    cp.enabled = r.chance(0.5);
    cp.episodes_per_minute = cp.enabled ? r.range(1, kSwarmEpisodesPerMinuteMax) : 0;
    if (cp.enabled && ((forced_off >> c) & 1) != 0) {
      cp.enabled = false;
      cp.forced_off = true;
      cp.episodes_per_minute = 0;
    }
    if (!cp.enabled) continue;
    cp.episodes = static_cast<size_t>(std::max<int64_t>(1, cp.episodes_per_minute * minutes_x1000 / 1000));
    Gen g{sc, root.stream("swarm", fmt::format("faults:{}", kCategoryNames[c]))};
    for (size_t e = 0; e < cp.episodes && sc.faults.size() < kSwarmFaultsMax; ++e) {
      p.hold_us_max = std::max(p.hold_us_max, episode(static_cast<SwarmCategory>(c), g, sc.faults,
                                                      sc.clock_drift_ppm_max, p));
    }
  }
  std::stable_sort(sc.faults.begin(), sc.faults.end(),
                   [](const Fault& a, const Fault& b) { return a.at_us < b.at_us; });
  if (sc.faults.size() > kSwarmFaultsMax) sc.faults.resize(kSwarmFaultsMax);

  // In-code fault points (core/env/buggify.h) on about half the seeds,
  // from their own stream so the draws above stay as they were.
  RandomStream b = root.stream("swarm", "buggify");
  if (b.chance(0.5)) {
    sc.buggify.enable_percent = b.range(25, 75);
    sc.buggify.fire_percent = b.range(1, 20);
  }

  // Honest bounds from the drawn knobs.
  p.latency_us_max = net.latency_us_min + 64 * net.latency_us_mean + (net.reorder > 0 ? net.reorder_delay_us : 0);
  p.drift_ppm_bound = sc.clock_drift_ppm_max;
  const auto slack = [&](int64_t us) { return us + us * 4 * p.drift_ppm_bound / 1'000'000; };
  const bool lossy_links = p.categories[static_cast<size_t>(SwarmCategory::lossy_link)].enabled;
  double loss_max = net.loss + net.corrupt;
  if (lossy_links) loss_max = std::min(1.0, 0.30 + net.corrupt);
  // transport_initiation_lost drops our own initiations at fire_percent:
  // loss the handshake budget must cover like wire loss. (Found by swarm
  // seed 144 of smoke: with it left out, two nodes whose initiations
  // collided lost the winner's initiation four times running — the loser's
  // are dropped as collisions — and came up after the bound.)
  if (sc.buggify.on()) loss_max = std::min(1.0, loss_max + static_cast<double>(sc.buggify.fire_percent) / 100.0);
  p.detect_up_rounds = rounds_for_loss(loss_max);
  const int64_t period_us = sc.liveness.ping_interval_ms * (100 + sc.liveness.ping_jitter_percent) * 10;
  sc.invariants.detect_down_within_us =
      ms_round(slack(sc.liveness.down_after_ms * 1000 + p.latency_us_max + p.hold_us_max) + kBoundMarginUs + 999);
  // Coming back up may need a fresh session: a handshake whose retries
  // back off up to retry_max_ms (the round trip is 2 latencies more).
  const int64_t handshake_us = sc.security.retry_max_ms * 1000 + 2 * p.latency_us_max;
  sc.invariants.detect_up_within_us = ms_round(
      slack(p.detect_up_rounds * (period_us + 2 * p.latency_us_max + handshake_us)) + kBoundMarginUs + 999);
  if (net.loss > 0 || net.corrupt > 0 || lossy_links) {
    p.no_false_down_reason = net.loss > 0 ? "baseline loss" : net.corrupt > 0 ? "corruption" : "lossy links";
  } else if (sc.buggify.on()) {
    p.no_false_down_reason = "buggify";  // a lost handshake initiation is packet loss
  } else if (!sc.security.attackers.empty()) {
    p.no_false_down_reason = "attacker";  // a storm delays rekeys into the cookie regime
  }
  sc.invariants.no_false_down = p.no_false_down_reason.empty();

  // Membership over the same fault mix (see the header for the bounds).
  if (base.membership) {
    p.membership = true;
    const MembershipInvariants& bi = base.invariants.membership;
    MembershipInvariants& mi = sc.invariants.membership;
    mi = MembershipInvariants{};
    mi.derive_unset = false;  // only the bound below: the derivation does not model swarm's fault mixes
    if (!p.permanent_block && bi.converge_within_us > 0) {
      mi.converge_within_us = ms_round(slack(bi.detect_failed_within_us + bi.converge_within_us + p.hold_us_max +
                                             p.latency_us_max) + kBoundMarginUs + 999);
    }
  }
  return run;
}

namespace {
nlohmann::json attackers_json(const Scenario& sc) {
  nlohmann::json out = nlohmann::json::array();
  for (const AttackerSpec& a : sc.security.attackers) {
    nlohmann::json kinds = nlohmann::json::array();
    for (AttackKind k : a.kinds) kinds.push_back(std::string(attack_kind_name(k)));
    out.push_back({{"kinds", kinds}, {"from_us", a.from_us}, {"until_us", a.until_us}, {"rate_per_s", a.rate_per_s}});
  }
  return out;
}
}  // namespace

nlohmann::json swarm_profile_json(const SwarmRun& run) {
  const Scenario& sc = run.scenario;
  const SwarmProfile& p = run.profile;
  nlohmann::json cats = nlohmann::json::object();
  for (size_t c = 0; c < static_cast<size_t>(SwarmCategory::count_); ++c) {
    const auto& cp = p.categories[c];
    cats[std::string(kCategoryNames[c])] =
        cp.enabled ? nlohmann::json{{"per_minute", cp.episodes_per_minute}, {"episodes", cp.episodes}}
                   : nlohmann::json(false);
  }
  return {{"seed", p.seed}, {"nodes", sc.nodes}, {"faults", sc.faults.size()}, {"categories", cats},
          {"latency_us_max", p.latency_us_max}, {"hold_us_max", p.hold_us_max}, {"detect_up_rounds", p.detect_up_rounds},
          {"no_false_down_off_because", p.no_false_down_reason},
          {"membership", p.membership ? nlohmann::json{{"converge_within_us", sc.invariants.membership.converge_within_us},
                                                       {"permanent_block", p.permanent_block}}
                                      : nlohmann::json(false)},
          {"attackers", attackers_json(sc)},
          {"buggify", sc.buggify.on() ? nlohmann::json{{"enable_percent", sc.buggify.enable_percent},
                                                       {"fire_percent", sc.buggify.fire_percent}}
                                      : nlohmann::json(false)}};
}

namespace {
// The points the run will enable: the runner draws them from the seed's
// own "buggify"/"enable" stream (sim/scenario/runner.cpp), so the profile
// can name them before the run.
std::string buggify_points_text(const Scenario& sc, uint64_t seed) {
  RandomStream enable = Random::from_seed(seed).stream("buggify", "enable");
  const BuggifyPlan plan = BuggifyPlan::draw(enable, static_cast<uint32_t>(sc.buggify.enable_percent),
                                             static_cast<uint32_t>(sc.buggify.fire_percent));
  std::string out;
  for (size_t k = 0; k < kBuggifyPoints; ++k) {
    if (plan.enabled[k]) out += (out.empty() ? "" : ",") + std::string(buggify_point_name(static_cast<BuggifyPoint>(k)));
  }
  return out.empty() ? "none" : out;
}

// Every fault kind in the timeline with its count, in FaultKind order
// (clock_jump and drift are the clock category's two kinds).
std::string fault_kinds_text(const Scenario& sc) {
  std::map<FaultKind, size_t> counts;
  for (const Fault& f : sc.faults) ++counts[f.kind];
  std::string out;
  for (const auto& [kind, n] : counts) out += fmt::format("{}{}={}", out.empty() ? "" : " ", fault_kind_name(kind), n);
  return out.empty() ? "none" : out;
}
}  // namespace

std::string swarm_profile_text(const SwarmRun& run) {
  const Scenario& sc = run.scenario;
  const SwarmProfile& p = run.profile;
  const LinkConfig& n = sc.network;
  std::string s = fmt::format(
      "swarm: seed={} nodes={} duration_s={:.3f} ping_interval_ms={} jitter_percent={} down_after_ms={}\n"
      "swarm: network latency_us_min={} latency_us_mean={} loss={} duplicate={} reorder={} "
      "reorder_delay_us={} corrupt={} clock offset_ms_max={} drift_ppm_max={}\n",
      p.seed, sc.nodes, sc.duration_us / 1e6, sc.liveness.ping_interval_ms, sc.liveness.ping_jitter_percent,
      sc.liveness.down_after_ms, n.latency_us_min, n.latency_us_mean, n.loss, n.duplicate, n.reorder,
      n.reorder_delay_us, n.corrupt, sc.clock_offset_us_max / 1000, sc.clock_drift_ppm_max);
  s += "swarm: faults";
  for (size_t c = 0; c < static_cast<size_t>(SwarmCategory::count_); ++c) {
    const auto& cp = p.categories[c];
    if (cp.enabled) {
      s += fmt::format(" {}={}/min", kCategoryNames[c], cp.episodes_per_minute);
    } else {
      s += fmt::format(" {}={}", kCategoryNames[c], cp.forced_off ? "excluded" : "off");
    }
  }
  s += fmt::format(" (total {} faults)\n", sc.faults.size());
  for (const MemberAttackerSpec& a : sc.security.member_attackers) {
    std::string kinds;
    for (MemberAttackKind k : a.kinds) kinds += (kinds.empty() ? "" : ",") + std::string(member_attack_kind_name(k));
    s += fmt::format("swarm: member attacker insider={} kinds={} from_s={:.3f} until_s={:.3f} rate_per_s={}\n", a.insider,
                     kinds, a.from_us / 1e6, a.until_us / 1e6, a.rate_per_s);
  }
  for (const AttackerSpec& a : sc.security.attackers) {
    std::string kinds;
    for (AttackKind k : a.kinds) kinds += (kinds.empty() ? "" : ",") + std::string(attack_kind_name(k));
    s += fmt::format("swarm: attacker kinds={} from_s={:.3f} until_s={:.3f} rate_per_s={}\n", kinds, a.from_us / 1e6,
                     a.until_us / 1e6, a.rate_per_s);
  }
  s += p.membership ? fmt::format("swarm: membership on (SWIM) converge_within_ms={}{}\n",
                                  sc.invariants.membership.converge_within_us / 1000,
                                  p.permanent_block ? " (unbounded: a block stands)" : "")
                    : std::string("swarm: membership off\n");
  s += sc.buggify.on() ? fmt::format("swarm: buggify enable_percent={} fire_percent={} points={}\n",
                                     sc.buggify.enable_percent, sc.buggify.fire_percent, buggify_points_text(sc, p.seed))
                       : std::string("swarm: buggify off\n");
  s += "swarm: fault kinds " + fault_kinds_text(sc) + "\n";
  s += fmt::format("swarm: bounds detect_down_within_ms={} detect_up_within_ms={} (rounds={}, latency_us_max={}, "
                   "hold_us_max={}) no_false_down={}{}\n",
                   sc.invariants.detect_down_within_us / 1000, sc.invariants.detect_up_within_us / 1000,
                   p.detect_up_rounds, p.latency_us_max, p.hold_us_max, sc.invariants.no_false_down ? "on" : "off",
                   p.no_false_down_reason.empty() ? "" : " (" + p.no_false_down_reason + ")");
  return s;
}

}  // namespace meshd::sim
