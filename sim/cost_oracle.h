// CostOracle: accounts a run's expensive operations — X25519 (DH),
// signature verifications, disk fsyncs — per node and per claimed source,
// and checks the scenario's cost bounds (denial-of-service resistance:
// "an attacker cannot make a node do expensive work for free").
//
// DH and verifications are attributed to the delivery that caused them:
// NodeService's receive probe wraps every datagram handed to a node, and
// the process-wide counters (crypto::dh_operations_total(),
// crypto::signature_verifications_total()) are read before and after (the
// simulator is single-threaded, so the delta is that delivery's work). A
// datagram's source is the address it claims (an attacker spoofs members,
// so "per source" means per claimed sender). Work done outside a delivery
// (our own initiations, timers) is not attributed to anyone. fsyncs come
// from each node's SimDisk counters at the end.
//
// Bound (AttackerSpec::uncookied_dh_max_per_node): while that attacker is
// active, the DH a node spends on handshake initiations that carry no
// cookie (kFlagCookieAttached clear, or a mac2 the attacker made up: see
// set_bogus_cookie_check) stays within the bound. A working
// cookie gate spends DH only on the rate limiter's tokens (burst + rate ×
// window, ~4 DH each); a broken one on every initiation of the storm.
// Always checked: an initiation the attacker made under a wrong PSK costs
// no DH (mac1 fails first). Violations name the rule: "[cost] node 2 spent 312 DH on handshake
// initiations without a cookie while attacker 0 was active (t=8.000–
// 13.000s), bound 130 (rule: under load an uncookied initiation gets a
// cookie reply, not DH)".
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/env/address.h"
#include "sim/attacker_spec.h"

namespace meshd::sim {

class World;

class CostOracle {
 public:
  struct Counts {
    uint64_t dh = 0;
    uint64_t verifications = 0;
    uint64_t uncookied_initiation_dh = 0;
    uint64_t wrong_psk_dh = 0;
  };

  CostOracle(World& world, std::vector<AttackerSpec> attackers);

  // One delivery of `bytes` from `from` to `node`; `deliver` runs it.
  void on_receive(size_t node, const Address& from, std::span<const uint8_t> bytes,
                  const std::function<void()>& deliver);

  // Adds violations and the per-node counters ("cost.<what>.node<i>" and
  // totals "cost.<what>").
  void finish(std::vector<std::string>& violations, uint64_t& violation_count,
              std::map<std::string, uint64_t>& counters) const;

  // What the attacker knows about a datagram it injected.
  enum class Forgery : uint8_t { none, bogus_cookie, wrong_psk };
  // bogus_cookie initiations count as uncookied even with the cookie flag
  // set ("without a valid cookie"); wrong_psk initiations must cost no DH
  // at all, in every run (rule: mac1 is checked first, for one hash).
  void set_forgery_check(std::function<Forgery(std::span<const uint8_t>)> check) { forgery_ = std::move(check); }

  const Counts& node(size_t i) const;
  // Work done by `node` for datagrams claiming to come from `source` (a
  // node index; addresses that are no node's are under SIZE_MAX).
  const std::map<size_t, Counts>& by_source(size_t node) const;

 private:
  World& world_;
  std::vector<AttackerSpec> attackers_;
  std::function<Forgery(std::span<const uint8_t>)> forgery_;
  std::map<size_t, Counts> nodes_;
  std::map<size_t, std::map<size_t, Counts>> sources_;
  // (attacker index, node) -> uncookied-initiation DH in its window.
  std::map<std::pair<size_t, size_t>, uint64_t> windows_;
};

}  // namespace meshd::sim
