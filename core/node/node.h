// Node: one mesh node — wires the subsystems to its Env.
//
// The same Node runs under meshsim (sim/ builds the Env) and under meshd
// (io/ builds it). Lifecycle: construct, start() (persists a new
// incarnation, then begins speaking), stop() (graceful: fibers cancelled,
// nothing more sent). A crash is simply destroying the Node after the
// runtime killed its fibers; start() on a new Node is the restart.
//
// Security (docs/crypto.md): unless the config says "plaintext", start()
// loads or creates the node's identity (KeyStore: 0600 key file through the
// Disk, clone detection policy, or an in-memory ephemeral key), loads the
// key archive, and builds a SecureTransport over the Env's network. Upper
// layers get an Env whose network is that transport (mesh_env()), so SWIM
// runs unchanged over encrypted sessions. A refused identity (clone
// policy, exposed or corrupt key file) makes start() fail.
//
// Datagram dispatch: the node owns the raw Network's receive handler
// (feeding the transport) and the transport's (plaintext) handler, and
// routes each authenticated datagram by its protocol magic; anything
// unrecognised is dropped and counted
// (meshd_node_dropped_total{reason="unknown_protocol"}).
//
// Membership (docs/membership.md, "Node integration"): SWIM is the node's
// one failure detector and source of membership truth; it always runs (a
// config without a "membership" block gets SwimConfig's defaults), as a
// SwimService over mesh_env(); datagrams starting with the SWIM magic
// "MS" go to it. Its identity is
// the transport's (NodeId, public key; in plaintext mode the configured or
// name-derived NodeId and a zero key), hostname = node name, address = the
// listen address, incarnation = boot count << kSwimIncarnationShift (so a
// restart always announces more than any refutation of an earlier life).
// Identity rules: the transport's authenticated NodeId per address and
// the key -> NodeId derivation are handed to the SwimService.
// stop() is graceful: the extension (below) stops at once, SWIM gossips
// `left` until drained (or kLeaveDrainMaxUs), then the transport stops;
// stopped() turns true then. A second stop() finishes at once.
//
// Extension (set_extension): a protocol the embedder runs beside SWIM over
// mesh_env() — the simulator's pairwise reachability probe
// (sim/scenario/node_service.h); meshd sets none. Datagrams no Node
// subsystem recognises are offered to it before they are counted as
// unknown_protocol; its on_stop runs once when the node stops speaking
// (leave begins, stop, stand-down).
//
// Control API (handle_control): JSON requests {"cmd": "..."}:
//   status  -> {"name","incarnation","listen","peers":[...],"membership"} (see status())
//   peers   -> the peers array alone: SWIM's members joined with transport
//              facts (core/node/peer_view.h)
//   members -> the SWIM status (SwimService::status())
//   announce -> re-announce (optional "capabilities": [names]); {"result":
//               changed|refreshed|throttled|not_running, "incarnation", ...}
//   transport -> the transport's status (sessions, drops by reason)
//   why     -> {"name": N}: why() below
//   unknown -> {"error": "unknown command ..."}
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <set>

#include "core/crypto/key_archive.h"
#include "core/env/env.h"
#include "core/membership/swim_service.h"
#include "core/node/config.h"
#include "core/node/reload.h"

namespace meshd {

class NodeJournal;

// SWIM incarnation = boot count << this: each life has 2^20 refutations.
constexpr unsigned kSwimIncarnationShift = 20;
// Distinct twin holders a standby remembers having logged (bounded).
constexpr size_t kTwinHoldersLoggedMax = 16;

class Node {
 public:
  // Datagrams no subsystem recognised (typed key: tests and status read it).
  static constexpr CounterKey kDroppedUnknownProtocol{"meshd_node_dropped_total{reason=\"unknown_protocol\"}",
                                                      "datagrams no subsystem recognised"};
  Node(Env& env, NodeConfig config);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Receives datagrams no Node subsystem recognised; false: not ours either.
  using ExtensionHandler = std::function<bool(const Address&, std::span<const uint8_t>)>;

  Status start();
  void stop();
  bool started() const { return started_; }
  bool stopped() const { return stopped_; }
  bool leaving() const { return leaving_; }
  // We yielded our identity to a twin (membership.identity_policy) and
  // stood down: no mesh traffic; the control socket still answers.
  bool displaced() const { return displaced_; }

  nlohmann::json status() const;
  nlohmann::json handle_control(const nlohmann::json& request);

  const NodeConfig& config() const { return config_; }
  uint64_t incarnation() const { return incarnation_; }
  // The Env protocols above the transport speak through (the transport as
  // network in encrypted mode, else the node's own); nullptr before start().
  Env* mesh_env() { return started_ ? (upper_env_ ? upper_env_.get() : &base_env()) : nullptr; }
  // The durable event journal (core/node/journal.h); nullptr when the
  // config disables it or before start().
  const NodeJournal* journal() const { return journal_.get(); }
  // See "Extension" above. At most one; set after start(), before traffic.
  void set_extension(ExtensionHandler on_datagram, std::function<void()> on_stop);
  // `meshctl peers`: core/node/peer_view.h ([] before start()).
  nlohmann::json peers() const;
  // nullptr before start().
  membership::SwimService* swim() { return swim_.get(); }
  const membership::SwimService* swim() const { return swim_.get(); }
  // nullptr before start() and in plaintext mode.
  transport::SecureTransport* transport() { return transport_.get(); }
  const transport::SecureTransport* transport() const { return transport_.get(); }
  // Rotates the identity key (KeyArchive keeps the old one for the grace
  // period); Errc::invalid in plaintext mode or before start().
  Status rotate_key();
  // Live reload (core/node/reload.h): applies what can change while
  // running; Errc::invalid naming the first field that cannot (nothing is
  // applied then). The host applies log_level to its Log.
  Status reload(const NodeConfig& next);
  // `meshctl why NAME`: the member's state and the evidence behind its
  // last verdict (SwimService::verdict_evidence); NAME is a configured
  // peer name, a hostname or a NodeId in hex.
  nlohmann::json why(std::string_view name) const;

 private:
  void on_datagram(const Address& from, std::span<const uint8_t> bytes);
  Status start_security();
  Status start_membership(Env& upper);
  // Opens (recovers) the journal; Errc::corrupt refuses to start past a
  // corrupt one (journal_corrupt is logged with the operator's remedy).
  Status start_journal();
  // env_ with the journal as its log once it is open: what subsystems get.
  Env& base_env() { return journal_env_ ? *journal_env_ : env_; }
  Log& log() { return base_env().log; }
  // The "announce" control command: re-announce, optionally with a new
  // capability list ({"capabilities": [...]}); answers the result.
  nlohmann::json announce(const nlohmann::json& request);
  void finish_stop();
  void stop_extension();
  void stand_down(const membership::IdentityConflict& conflict);
  // A peer's transport refused our handshake: our identity is live at
  // notice.holder (crypto::HandshakeManager, "Twins"). Under prefer_newest
  // and prefer_oldest the responder's policy decided we lost: stand down.
  // Under allow_concurrent we are the standby: log once per holder and
  // keep retrying (the handshake succeeds once the holder falls silent).
  void on_twin_notice(const crypto::TwinNotice& notice);
  membership::IdentityPolicy identity_policy() const;  // prefer_newest without membership
  static crypto::TwinPolicy twin_policy_of(membership::IdentityPolicy policy);

  Env& env_;
  NodeConfig config_;
  uint64_t incarnation_ = 0;
  std::unique_ptr<NodeJournal> journal_;  // declared before its users: destroyed after them
  std::unique_ptr<Env> journal_env_;
  std::unique_ptr<crypto::KeyArchive> archive_;
  std::unique_ptr<RandomStream> rotation_rng_;  // one stream per process: successive keys differ
  std::unique_ptr<transport::SecureTransport> transport_;
  std::unique_ptr<Env> upper_env_;  // env_ with network = *transport_
  std::unique_ptr<membership::SwimService> swim_;
  ExtensionHandler extension_;
  std::function<void()> extension_stop_;
  std::vector<std::string> capabilities_;  // what our capability digest covers
  bool started_ = false;
  bool stopped_ = false;
  bool leaving_ = false;
  bool displaced_ = false;
  std::optional<Runtime::FiberId> stand_down_fiber_;
  uint64_t& dropped_unknown_protocol_;
  uint64_t& identity_conflicts_;  // shared with SwimService's series
  std::set<Address> standby_for_;  // holders we logged as standby (allow_concurrent)
};

}  // namespace meshd
