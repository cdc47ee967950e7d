#include "sim/scenario/shrink.h"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

namespace meshd::sim {

namespace {

void sort_faults(std::vector<Fault>& faults) {
  std::stable_sort(faults.begin(), faults.end(), [](const Fault& a, const Fault& b) { return a.at_us < b.at_us; });
}

class Shrinker {
 public:
  Shrinker(const StillFails& fails, size_t runs_max, ShrinkStats& stats)
      : fails_(fails), runs_max_(runs_max), stats_(stats) {}

  bool budget_left() const { return stats_.runs < runs_max_; }

  // Tries a candidate; on success it becomes the current best.
  bool attempt(Scenario& best, Scenario candidate, const std::string& what) {
    if (!budget_left()) {
      stats_.budget_exhausted = true;
      return false;
    }
    ++stats_.runs;
    if (!fails_(candidate)) return false;
    ++stats_.accepted;
    stats_.log.push_back(fmt::format("{} -> {} faults, {} nodes, {:.3f} s", what, candidate.faults.size(),
                                     candidate.nodes, candidate.duration_us / 1e6));
    best = std::move(candidate);
    return true;
  }

  bool shorten_run(Scenario& best) {
    int64_t lo = 0, hi = best.duration_us;  // lo: known (assumed) passing, hi: failing
    bool changed = false;
    while (hi - lo > kShrinkDurationStepUs && budget_left()) {
      const int64_t mid = (lo + hi) / 2 / kShrinkDurationStepUs * kShrinkDurationStepUs;
      if (mid <= lo) break;
      if (attempt(best, with_duration(best, mid), fmt::format("run length {:.3f} s", mid / 1e6))) {
        hi = mid;
        changed = true;
      } else {
        lo = mid;
      }
    }
    return changed;
  }

  // ddmin over the fault list.
  bool drop_faults(Scenario& best) {
    bool changed = false;
    size_t chunks = 2;
    while (!best.faults.empty() && budget_left()) {
      const size_t n = best.faults.size();
      chunks = std::min(chunks, n);
      const size_t size = (n + chunks - 1) / chunks;
      bool removed = false;
      for (size_t start = 0; start < n && budget_left(); start += size) {
        Scenario cand = best;
        const size_t end = std::min(n, start + size);
        cand.faults.erase(cand.faults.begin() + static_cast<ptrdiff_t>(start),
                          cand.faults.begin() + static_cast<ptrdiff_t>(end));
        if (attempt(best, std::move(cand), fmt::format("drop faults [{}, {})", start, end))) {
          removed = changed = true;
          break;
        }
      }
      if (removed) {
        chunks = std::max<size_t>(2, chunks - 1);
        continue;
      }
      if (chunks >= n) break;  // single faults tried: 1-minimal
      chunks = std::min(n, chunks * 2);
    }
    return changed;
  }

  bool shorten_episodes(Scenario& best) {
    bool changed = false;
    for (size_t i = 0; i < best.faults.size() && budget_left(); ++i) {
      for (;;) {
        const auto opener = opener_of(best, i);
        if (!opener) break;
        const int64_t gap = best.faults[i].at_us - best.faults[*opener].at_us;
        if (gap < 2 * kShrinkEpisodeUsMin) break;
        Scenario cand = best;
        cand.faults[i].at_us = best.faults[*opener].at_us + gap / 2 / 1000 * 1000;
        const Fault moved = cand.faults[i];
        sort_faults(cand.faults);
        if (!attempt(best, std::move(cand), fmt::format("shorten {} episode to {:.3f} s",
                                                        fault_kind_name(moved.kind), gap / 2 / 1e6))) {
          break;
        }
        changed = true;
        // The moved fault may have a new index after sorting.
        for (size_t k = 0; k < best.faults.size(); ++k) {
          if (best.faults[k].at_us == moved.at_us && best.faults[k].kind == moved.kind &&
              best.faults[k].node == moved.node && best.faults[k].from == moved.from) {
            i = k;
            break;
          }
        }
      }
    }
    return changed;
  }

  // Node removal renumbers nodes, which moves every draw keyed by node
  // index (clock offsets, link streams), so the failure may now happen
  // later: candidates get the original run length back (shorten_run
  // trims it again afterwards).
  bool drop_nodes(Scenario& best, int64_t full_duration_us) {
    bool changed = false;
    for (size_t k = best.nodes; k-- > 0 && best.nodes > kShrinkNodesMin && budget_left();) {
      if (k >= best.nodes) continue;
      Scenario cand = without_node(best, k);
      cand.duration_us = std::max(cand.duration_us, full_duration_us);
      if (attempt(best, std::move(cand), fmt::format("remove node {}", k))) changed = true;
    }
    return changed;
  }

 private:
  // The fault that fault i repairs (the latest earlier matching opener).
  static std::optional<size_t> opener_of(const Scenario& sc, size_t i) {
    const Fault& f = sc.faults[i];
    auto opens = [&](const Fault& o) {
      switch (f.kind) {
        case FaultKind::restart: return (o.kind == FaultKind::crash || o.kind == FaultKind::disk) && o.node == f.node;
        case FaultKind::resume: return o.kind == FaultKind::pause && o.node == f.node;
        case FaultKind::heal: return o.kind == FaultKind::partition || o.kind == FaultKind::block ||
                                     o.kind == FaultKind::clog;
        case FaultKind::unblock: return o.kind == FaultKind::block && o.from == f.from && o.to == f.to;
        case FaultKind::unclog: return o.kind == FaultKind::clog && o.from == f.from && o.to == f.to;
        case FaultKind::link: return o.kind == FaultKind::link && o.from == f.from && o.to == f.to;
        case FaultKind::disk: return o.kind == FaultKind::disk && o.node == f.node;
        default: return false;
      }
    };
    for (size_t j = i; j-- > 0;) {
      if (opens(sc.faults[j])) return j;
    }
    return std::nullopt;
  }

  const StillFails& fails_;
  size_t runs_max_;
  ShrinkStats& stats_;
};

// Maps a node index across the removal of `gone`; nullopt for `gone`.
std::optional<int64_t> renumber(int64_t node, size_t gone) {
  if (node < 0) return node;
  if (static_cast<size_t>(node) == gone) return std::nullopt;
  return static_cast<size_t>(node) > gone ? node - 1 : node;
}

}  // namespace

Scenario with_duration(const Scenario& sc, int64_t duration_us) {
  Scenario out = sc;
  out.duration_us = duration_us;
  std::erase_if(out.faults, [&](const Fault& f) { return f.at_us > duration_us; });
  // Security timelines must also fit the run (the parser enforces it).
  auto late = [&](const KeyAction& a) { return a.at_us > duration_us; };
  std::erase_if(out.security.rotate_key, late);
  std::erase_if(out.security.copy_disk, late);
  std::erase_if(out.security.attackers, [&](const AttackerSpec& a) { return a.from_us > duration_us; });
  for (AttackerSpec& a : out.security.attackers) a.until_us = std::min(a.until_us, duration_us);
  return out;
}

Scenario without_node(const Scenario& sc, size_t gone) {
  Scenario out = sc;
  out.nodes = sc.nodes - 1;
  out.faults.clear();
  for (Fault f : sc.faults) {
    auto node = renumber(f.node, gone), from = renumber(f.from, gone), to = renumber(f.to, gone);
    if (!node || !from || !to) continue;  // the fault concerned the removed node
    f.node = *node;
    f.from = *from;
    f.to = *to;
    if (f.kind == FaultKind::partition) {
      auto side = [&](const std::vector<size_t>& in) {
        std::vector<size_t> o;
        for (size_t n : in) {
          if (auto m = renumber(static_cast<int64_t>(n), gone)) o.push_back(static_cast<size_t>(*m));
        }
        return o;
      };
      f.side_a = side(f.side_a);
      f.side_b = side(f.side_b);
      if (f.side_a.empty() || f.side_b.empty()) continue;  // no longer splits anything
    }
    out.faults.push_back(std::move(f));
  }
  // Key actions follow their nodes; those on the removed node go.
  auto remap = [&](std::vector<KeyAction>& actions, bool pair) {
    std::vector<KeyAction> kept;
    for (KeyAction a : actions) {
      auto node = renumber(static_cast<int64_t>(a.node), gone);
      auto from = pair ? renumber(static_cast<int64_t>(a.from), gone) : std::optional<int64_t>(0);
      if (!node || !from) continue;
      a.node = static_cast<size_t>(*node);
      if (pair) a.from = static_cast<size_t>(*from);
      kept.push_back(a);
    }
    actions = std::move(kept);
  };
  remap(out.security.rotate_key, false);
  remap(out.security.copy_disk, true);
  return out;
}

Scenario shrink_scenario(const Scenario& failing, const StillFails& still_fails, const ShrinkOptions& options,
                         ShrinkStats* stats) {
  ShrinkStats local;
  ShrinkStats& st = stats ? *stats : local;
  Shrinker s(still_fails, options.runs_max, st);
  Scenario best = failing;
  for (bool changed = true; changed && s.budget_left();) {
    changed = false;
    changed |= s.drop_faults(best);
    changed |= s.shorten_episodes(best);
    changed |= s.drop_nodes(best, failing.duration_us);
    if (options.shorten_run) changed |= s.shorten_run(best);
  }
  return best;
}

}  // namespace meshd::sim
