// The "security" parts of the node config and of scenario files: values,
// defaults and errors that name the field and the line.
#include <catch2/catch.hpp>

#include <fmt/format.h>

#include "core/node/config.h"
#include "sim/scenario/scenario.h"

using namespace meshd;

namespace {

const char* kPsk = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string node_config(const std::string& security, const std::string& peer_extra = "") {
  return std::string("{\n\"name\": \"a\",\n\"listen\": \"1.2.3.4:5\",\n\"data_dir\": \"/x\",\n") +
         "\"peers\": [{\"name\": \"b\", \"address\": \"1.2.3.4:6\"" + peer_extra + "}],\n" +
         "\"security\": " + security + "\n}";
}

std::string node_error(const std::string& text) {
  auto c = parse_node_config(text);
  REQUIRE_FALSE(c.is_ok());
  return c.status().message();
}

std::string scenario_error(const std::string& extra) {
  const std::string text = "{\n\"name\": \"s\",\n\"nodes\": 3,\n\"duration_s\": 10,\n" + extra + "\n}";
  auto s = sim::parse_scenario(text, "sc.json");
  REQUIRE_FALSE(s.is_ok());
  return s.status().message();
}

}  // namespace

TEST_CASE("config: security fields parse with defaults", "[transport][config]") {
  auto c = parse_node_config(node_config(std::string("{\"psk_hex\": \"") + kPsk + "\"}"));
  REQUIRE(c);
  const SecurityConfig& s = c->security;
  CHECK_FALSE(s.plaintext);
  CHECK_FALSE(s.ephemeral);
  CHECK(s.key_file == "node.key");
  REQUIRE(s.psk);
  CHECK((*s.psk)[31] == 0x1f);
  CHECK(s.clone_policy == crypto::ClonePolicy::refuse);
  CHECK(s.rekey_after_ms == 120'000);
  CHECK(s.peer_keys.empty());
  const auto t = transport_config_of(s);
  CHECK(t.handshake.session.rekey_after_us == 120 * kMicrosPerSecond);
  CHECK(t.handshake.session.reject_after_us == 180 * kMicrosPerSecond);

  Key32 k{};
  RandomStream rng(k);
  const auto id = crypto::Identity::generate(rng);
  std::string hex;
  for (uint8_t b : id.public_key()) hex += fmt::format("{:02x}", b);
  auto with_key = parse_node_config(node_config(
      "{\"psk_file\": \"/etc/meshd/psk\", \"identity\": \"ephemeral\", \"clone_policy\": \"warn\", "
      "\"rekey_after_s\": 30}",
      ", \"public_key\": \"" + hex + "\""));
  REQUIRE(with_key);
  CHECK(with_key->security.ephemeral);
  CHECK(with_key->security.psk_file == "/etc/meshd/psk");
  CHECK_FALSE(with_key->security.psk);
  CHECK(with_key->security.clone_policy == crypto::ClonePolicy::warn);
  REQUIRE(with_key->security.peer_keys.size() == 1);
  CHECK(with_key->security.peer_keys[0].key == id.public_key());
  CHECK(with_key->security.peer_keys[0].address == Address{0x01020304, 6});
  CHECK(parse_node_config(node_config("{\"plaintext\": true}")).is_ok());
}

TEST_CASE("config: security errors name the field and the line", "[transport][config]") {
  CHECK(node_error("{\"name\": \"a\", \"listen\": \"1.2.3.4:5\", \"data_dir\": \"/x\"}")
            .find("field 'security': required field missing") != std::string::npos);
  CHECK(node_error(node_config("{}")).find("line 6: field 'security': psk_hex or psk_file is required") !=
        std::string::npos);
  CHECK(node_error(node_config("{\"psk_hex\": \"abc\"}")).find("field 'security.psk_hex': expected 64 hex") !=
        std::string::npos);
  CHECK(node_error(node_config(std::string("{\"psk_hex\": \"") + kPsk + "\", \"clone_policy\": \"maybe\"}"))
            .find("field 'security.clone_policy'") != std::string::npos);
  CHECK(node_error(node_config(std::string("{\"psk_hex\": \"") + kPsk + "\", \"identity\": \"../k\"}"))
            .find("field 'security.identity'") != std::string::npos);
  CHECK(node_error(node_config(std::string("{\"psk_hex\": \"") + kPsk + "\", \"rekey\": 1}"))
            .find("field 'security.rekey': unknown field") != std::string::npos);
  CHECK(node_error(node_config(std::string("{\"psk_hex\": \"") + kPsk + "\"}", ", \"public_key\": \"zz\""))
            .find("line 5: field 'peers[0].public_key'") != std::string::npos);
  CHECK(node_error(node_config(std::string("{\"psk_hex\": \"") + kPsk + "\"}",
                               ", \"public_key\": \"" + std::string(64, '0') + "\""))
            .find("not a valid Ed25519 public key") != std::string::npos);
}

TEST_CASE("scenario: attackers and key actions parse; errors name the field and the line",
          "[transport][scenario]") {
  auto s = sim::parse_scenario(
      "{\"name\": \"s\", \"nodes\": 3, \"duration_s\": 10,\n"
      "\"security\": {\"rekey_after_s\": 20, \"rotate_key\": [{\"at_s\": 2, \"node\": 1}],\n"
      "  \"copy_disk\": [{\"at_s\": 3, \"from\": 0, \"to\": 2}], \"expect_clone_refusals\": 1},\n"
      "\"attackers\": [{\"kinds\": [\"replay\", \"forge_key\"], \"from_s\": 1, \"until_s\": 5}]}",
      "sc.json");
  REQUIRE(s);
  CHECK(s->security.rekey_after_s == 20);
  REQUIRE(s->security.rotate_key.size() == 1);
  CHECK(s->security.rotate_key[0].at_us == 2'000'000);
  REQUIRE(s->security.copy_disk.size() == 1);
  CHECK(s->security.copy_disk[0].from == 0);
  CHECK(s->security.copy_disk[0].node == 2);
  REQUIRE(s->security.attackers.size() == 1);
  CHECK(s->security.attackers[0].kinds.size() == 2);
  CHECK(s->security.attackers[0].until_us == 5'000'000);
  CHECK(s->security.attackers[0].rate_per_s == 200);

  CHECK(scenario_error("\"attackers\": [{\"kinds\": [\"telepathy\"], \"from_s\": 1, \"until_s\": 2}]")
            .find("line 5: field 'attackers[0].kinds[0]': unknown attack kind") != std::string::npos);
  CHECK(scenario_error("\"attackers\": [{\"kinds\": [\"replay\"], \"from_s\": 3, \"until_s\": 2}]")
            .find("field 'attackers[0].until_s': must be after from_s") != std::string::npos);
  CHECK(scenario_error("\"attackers\": [{\"kinds\": [\"replay\"], \"from_s\": 1, \"until_s\": 20}]")
            .find("field 'attackers[0].until_s'") != std::string::npos);
  CHECK(scenario_error("\"security\": {\"rotate_key\": [{\"at_s\": 1, \"node\": 9}]}")
            .find("field 'security.rotate_key[0].node'") != std::string::npos);
  CHECK(scenario_error("\"security\": {\"copy_disk\": [{\"at_s\": 1, \"from\": 1, \"to\": 1}]}")
            .find("field 'security.copy_disk[0].to': must differ") != std::string::npos);
  CHECK(scenario_error("\"security\": {\"plaintext\": true},\n\"attackers\": [{\"kinds\": [\"replay\"], "
                       "\"from_s\": 1, \"until_s\": 2}]")
            .find("need an encrypted mesh") != std::string::npos);
}
