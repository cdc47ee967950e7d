#include "sim/cost_oracle.h"

#include <fmt/format.h>

#include "core/crypto/identity.h"
#include "core/crypto/x25519.h"
#include "core/wire/header.h"
#include "sim/scenario/oracle.h"
#include "sim/world.h"

namespace meshd::sim {

namespace {
constexpr size_t kTypeByte = 3;   // header byte: packet type (core/wire/header.cpp)
constexpr size_t kFlagsByte = 4;  // header byte: flags
const CostOracle::Counts kNone{};
const std::map<size_t, CostOracle::Counts> kNoSources{};

bool uncookied_initiation(std::span<const uint8_t> bytes) {
  return bytes.size() >= wire::kHeaderBytes &&
         bytes[kTypeByte] == static_cast<uint8_t>(wire::PacketType::handshake_initiation) &&
         (bytes[kFlagsByte] & wire::kFlagCookieAttached) == 0;
}
}  // namespace

CostOracle::CostOracle(World& world, std::vector<AttackerSpec> attackers)
    : world_(world), attackers_(std::move(attackers)) {}

void CostOracle::on_receive(size_t node, const Address& from, std::span<const uint8_t> bytes,
                            const std::function<void()>& deliver) {
  const Forgery forgery = forgery_ ? forgery_(bytes) : Forgery::none;
  const bool uncookied = uncookied_initiation(bytes) || forgery == Forgery::bogus_cookie;
  const uint64_t dh0 = crypto::dh_operations_total();
  const uint64_t v0 = crypto::signature_verifications_total();
  deliver();
  const uint64_t dh = crypto::dh_operations_total() - dh0;
  const uint64_t v = crypto::signature_verifications_total() - v0;
  if (dh == 0 && v == 0) return;
  const auto src = world_.node_of(from);
  Counts& n = nodes_[node];
  Counts& s = sources_[node][src ? *src : SIZE_MAX];
  n.dh += dh;
  s.dh += dh;
  n.verifications += v;
  s.verifications += v;
  if (forgery == Forgery::wrong_psk) n.wrong_psk_dh += dh;
  if (!uncookied || dh == 0) return;
  n.uncookied_initiation_dh += dh;
  s.uncookied_initiation_dh += dh;
  const int64_t now = world_.now_us();
  for (size_t a = 0; a < attackers_.size(); ++a) {
    if (attackers_[a].uncookied_dh_max_per_node >= 0 && now >= attackers_[a].from_us && now < attackers_[a].until_us) {
      windows_[{a, node}] += dh;
    }
  }
}

const CostOracle::Counts& CostOracle::node(size_t i) const {
  auto it = nodes_.find(i);
  return it == nodes_.end() ? kNone : it->second;
}

const std::map<size_t, CostOracle::Counts>& CostOracle::by_source(size_t node) const {
  auto it = sources_.find(node);
  return it == sources_.end() ? kNoSources : it->second;
}

void CostOracle::finish(std::vector<std::string>& violations, uint64_t& violation_count,
                        std::map<std::string, uint64_t>& counters) const {
  for (const auto& [key, dh] : windows_) {
    const AttackerSpec& a = attackers_[key.first];
    if (dh <= static_cast<uint64_t>(a.uncookied_dh_max_per_node)) continue;
    ++violation_count;
    if (violations.size() < kViolationsMax) {
      violations.push_back(fmt::format(
          "[cost] node {} spent {} DH on handshake initiations without a cookie while attacker {} was active "
          "(t={:.3f}–{:.3f}s), bound {} (rule: under load an uncookied initiation gets a cookie reply, not DH; "
          "scenario line {})",
          key.second, dh, key.first, a.from_us / 1e6, a.until_us / 1e6, a.uncookied_dh_max_per_node, a.line));
    }
  }
  for (size_t i = 0; i < world_.node_count(); ++i) {
    const Counts& c = node(i);
    if (c.wrong_psk_dh > 0) {
      ++violation_count;
      if (violations.size() < kViolationsMax) {
        violations.push_back(fmt::format("[cost] node {} spent {} DH on handshake initiations under a wrong PSK (rule: "
                                         "an initiation that fails mac1 costs one hash, never DH)",
                                         i, c.wrong_psk_dh));
      }
    }
    const auto& disk = world_.disk(i).counters();
    const auto fs = disk.find("fsyncs");
    const auto sd = disk.find("sync_dirs");
    const uint64_t fsyncs = (fs == disk.end() ? 0 : fs->second) + (sd == disk.end() ? 0 : sd->second);
    counters[fmt::format("cost.dh_on_receive.node{}", i)] = c.dh;
    counters[fmt::format("cost.verifications_on_receive.node{}", i)] = c.verifications;
    counters[fmt::format("cost.fsyncs.node{}", i)] = fsyncs;
    counters["cost.dh_on_receive"] += c.dh;
    counters["cost.uncookied_initiation_dh"] += c.uncookied_initiation_dh;
    counters["cost.wrong_psk_dh"] += c.wrong_psk_dh;
    counters["cost.verifications_on_receive"] += c.verifications;
    counters["cost.fsyncs"] += fsyncs;
  }
}

}  // namespace meshd::sim
