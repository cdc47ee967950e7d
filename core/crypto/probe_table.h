// ProbeTable: our first-contact handshakes by address (XXpsk3 with
// destination NodeId zero, HandshakeManager::connect_address), keyed two
// ways — by address (one probe per address) and by the local index the
// responder's reply names. The one owner of both maps: every change keeps
// them in step and asserts it (each probe's index maps back to its
// address; both maps have one entry per probe).
//
// Bounded by `max_probes` (kProbesMax): insert() beyond it is a
// programmer error — callers check full() and refuse with a Status.
// Iteration order is the address order (std::map): deterministic.
#pragma once

#include <map>
#include <optional>
#include <vector>

#include "core/crypto/pending_initiation.h"
#include "core/env/address.h"

namespace meshd::crypto {

constexpr size_t kProbesMax = 1024;  // first-contact handshakes by address

struct Probe {
  PendingInitiation pending;
  CookieJar jar;
};

class ProbeTable {
 public:
  explicit ProbeTable(size_t max_probes = kProbesMax);

  size_t size() const { return probes_.size(); }
  bool full() const { return probes_.size() >= max_probes_; }
  bool contains(const Address& address) const { return probes_.count(address) != 0; }
  Probe* find(const Address& address);
  const Probe* find(const Address& address) const;
  // The probe whose initiation used `local_index`.
  std::optional<Address> address_of(uint32_t local_index) const;
  bool owns_index(uint32_t local_index) const { return by_index_.count(local_index) != 0; }
  // Addresses in order (a snapshot: callers may erase while walking it).
  std::vector<Address> addresses() const;

  // A new probe. Preconditions: none to `address` yet, !full(), index unused.
  void insert(const Address& address, PendingInitiation pending, CookieJar jar);
  // A new attempt of the probe to `address` (a retry or a cookie resend):
  // its old index is released, the new one maps here.
  void replace(const Address& address, PendingInitiation pending);
  // Removes and returns the probe (promotion to a peer). Precondition: present.
  Probe take(const Address& address);
  // Removes the probe if present; returns whether it was.
  bool erase(const Address& address);

  // Earliest retry or timeout of any probe; INT64_MAX if none.
  int64_t next_deadline_us(int64_t handshake_timeout_us) const;

 private:
  void check(const Address& address) const;  // the entry and the map sizes agree

  size_t max_probes_;
  std::map<Address, Probe> probes_;
  std::map<uint32_t, Address> by_index_;  // our probe's local index -> address
};

}  // namespace meshd::crypto
