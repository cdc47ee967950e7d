#include <catch2/catch.hpp>

#include "core/node/config.h"

using namespace meshd;

namespace {
const char* kGood = R"({
  "name": "alpha",
  "listen": "127.0.0.1:7001",
  "data_dir": "/tmp/alpha",
  "peers": [
    {"name": "beta", "address": "127.0.0.1:7002"},
    {"name": "gamma", "address": "127.0.0.1:7003"}
  ],
  "log_level": "info",
  "security": {"psk_hex": "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"}
})";

std::string error_of(const std::string& text) {
  auto c = parse_node_config(text);
  REQUIRE_FALSE(c.is_ok());
  return c.status().message();
}
}  // namespace

TEST_CASE("config: a good file parses with defaults filled in", "[config]") {
  auto c = parse_node_config(kGood);
  REQUIRE(c.is_ok());
  CHECK(c->name == "alpha");
  CHECK(c->listen == Address{0x7f000001, 7001});
  CHECK(c->control_socket == "/tmp/alpha/control.sock");
  REQUIRE(c->peers.size() == 2);
  CHECK(c->peers[1].name == "gamma");
  // No "membership" block: SWIM still runs, with its defaults.
  CHECK(c->membership.swim.protocol_period_us == membership::SwimConfig{}.protocol_period_us);
  CHECK(c->membership.seeds.empty());  // the node seeds from its peers
  CHECK(node_config_error(*c).empty());
}

TEST_CASE("config: errors name the field and the line", "[config]") {
  std::string bad = kGood;
  bad.replace(bad.find("127.0.0.1:7003"), 14, "127.0.0.1:99999");
  CHECK(error_of(bad) ==
        "config: line 7: field 'peers[1].address': expected \"a.b.c.d:port\", got \"127.0.0.1:99999\"");

  // A missing field names its enclosing object's line.
  CHECK(error_of(R"({"name": "a", "data_dir": "/x"})") == "config: line 1: field 'listen': required field missing");
  CHECK(error_of("{\"name\": \"a\", \"listen\": \"1.2.3.4:5\", \"data_dir\": \"/x\",\n\"peers\": [\n  {\"name\": \"b\"}]}") ==
        "config: line 3: field 'peers[0].address': required field missing");
  // Syntax errors name the line of the mistake: a missing comma at the end
  // of line 2 (found at line 3's key), a trailing comma on line 2, and a
  // malformed literal on its own line.
  CHECK(error_of("{\n\"name\": \"a\"\n\"listen\": \"1.2.3.4:5\"}").rfind("config: line 2: not valid JSON: ", 0) == 0);
  CHECK(error_of("{\n\"name\": \"a\",\n}").rfind("config: line 2: not valid JSON: ", 0) == 0);
  CHECK(error_of("{\n\"name\": \"a\",\n\"listen\": nope}").rfind("config: line 3: not valid JSON: ", 0) == 0);
  // A number overflowing a double is valid syntax nlohmann still rejects
  // (out_of_range, not parse_error): found by the config_json fuzz corpus.
  CHECK(error_of(R"({"name": "a", "x": -1e999})").rfind("config: not valid JSON (", 0) == 0);
  CHECK(error_of("{\n\"name\": \"a\",\n\"listen\": 7,\n\"data_dir\": \"/x\"}") ==
        "config: line 3: field 'listen': expected a string, got number");
  CHECK(error_of("{\n\"name\": \"a\", \"listen\": \"1.2.3.4:5\", \"data_dir\": \"/x\",\n\"lisen\": 1}") ==
        "config: line 3: field 'lisen': unknown field (typo?)");
  // The liveness protocol is gone from the node: say so, not "typo?".
  CHECK(error_of("{\"name\": \"a\", \"listen\": \"1.2.3.4:5\", \"data_dir\": \"/x\",\n"
                 "  \"liveness\": {\"ping_interval_ms\": 500}}") ==
        "config: line 2: field 'liveness': no longer supported: SWIM is the failure detector (tune it in the "
        "\"membership\" block, docs/operator.md)");
  CHECK(error_of("{\n\"name\": \"a\",\n  \"listen\": ").find("line 3: not valid JSON") != std::string::npos);
  CHECK(error_of("[1,2]") == "config: line 1: field '(top level)': expected an object, got array");
  CHECK(error_of(R"({"name": "a/b", "listen": "1.2.3.4:5", "data_dir": "/x"})")
            .find("field 'name'") != std::string::npos);
}

TEST_CASE("config: duplicate and self peers are rejected", "[config]") {
  CHECK(error_of(R"({"name": "a", "listen": "1.2.3.4:5", "data_dir": "/x",
    "peers": [{"name": "b", "address": "1.2.3.4:5"}]})")
            .find("own listen address") != std::string::npos);
  CHECK(error_of(R"({"name": "a", "listen": "1.2.3.4:5", "data_dir": "/x",
    "peers": [{"name": "b", "address": "1.2.3.4:6"}, {"name": "b", "address": "1.2.3.4:7"}]})")
            .find("duplicate peer name") != std::string::npos);
}

TEST_CASE("config: every field is validated, errors name field and line", "[config]") {
  const std::string head = "{\"name\": \"a\", \"listen\": \"1.2.3.4:5\", \"data_dir\": \"/x\",\n";
  const std::string sec = ",\n \"security\": {\"plaintext\": true}}";
  CHECK(error_of(head + " \"peers\": [{\"name\": \"b c\", \"address\": \"1.2.3.4:6\"}]" + sec) ==
        "config: line 2: field 'peers[0].name': expected 1-64 characters of [A-Za-z0-9._-]");
  CHECK(error_of(head + " \"peers\": [{\"name\": \"b\", \"address\": \"0.0.0.0:6\"}]" + sec) ==
        "config: line 2: field 'peers[0].address': needs a host and a port (not 0.0.0.0 or port 0)");
  CHECK(error_of(head + " \"peers\": [{\"name\": \"b\", \"address\": \"1.2.3.4:0\"}]" + sec) ==
        "config: line 2: field 'peers[0].address': needs a host and a port (not 0.0.0.0 or port 0)");
  CHECK(error_of(head + " \"control_socket\": \"" + std::string(108, 's') + "\"" + sec) ==
        "config: line 2: field 'control_socket': longer than 107 bytes");
  CHECK(error_of(head + " \"control_socket\": \"\"" + sec) == "config: line 2: field 'control_socket': must not be empty");
  CHECK(error_of("{\"name\": \"a\", \"listen\": \"1.2.3.4:5\",\n \"data_dir\": \"/" + std::string(100, 'd') + "\"" + sec)
            .rfind("config: line 2: field 'data_dir': too long for the default control socket", 0) == 0);
  CHECK(error_of(head + " \"security\": {\"psk_file\": \"\"}}") ==
        "config: line 2: field 'security.psk_file': must not be empty");
  CHECK(error_of(head + " \"membership\": {\"seeds\": [\"0.0.0.0:7\"]}" + sec) ==
        "config: line 2: field 'membership.seeds[0]': needs a host and a port (not 0.0.0.0 or port 0)");
}

TEST_CASE("config: node_config_error holds configs built in code to the parser's rules", "[config]") {
  NodeConfig c;
  c.name = "a";
  c.listen = Address{0x01020304, 5};
  c.data_dir = "/x";
  c.security.plaintext = true;
  CHECK(node_config_error(c).empty());
  NodeConfig bad = c;
  bad.name = "a/b";
  CHECK(node_config_error(bad) == "name invalid");
  bad = c;
  bad.peers.push_back({"b", c.listen});
  CHECK(node_config_error(bad) == "peers[0].address invalid");
  bad = c;
  bad.peers = {{"b", Address{0x01020304, 6}}, {"b", Address{0x01020304, 7}}};
  CHECK(node_config_error(bad) == "peers[1] duplicate");
  bad = c;
  bad.membership.swim.probe_timeout_us = bad.membership.swim.protocol_period_us;
  CHECK(node_config_error(bad) == "membership.probe_timeout_ms must be in [1, protocol_period_ms)");
  bad = c;
  bad.membership.swim.members_max = 1;
  CHECK(node_config_error(bad) == "membership.members_max out of range");
  bad = c;
  bad.security.retry_max_ms = bad.security.retry_initial_ms - 1;
  CHECK(node_config_error(bad) == "security: retry_*_ms out of range");
}

TEST_CASE("address: parse rejects malformed text", "[config]") {
  CHECK(Address::parse("10.0.0.1:80").has_value());
  CHECK(Address::parse("10.0.0.1:80")->to_string() == "10.0.0.1:80");
  for (const char* bad : {"", ":", "10.0.0.1", "10.0.0:80", "10.0.0.1.2:80", "256.0.0.1:80",
                          "10.0.0.1:65536", "10.0.0.1:-1", "a.b.c.d:80", "10.0.0.1:80x", "10..0.1:80"}) {
    INFO(bad);
    CHECK_FALSE(Address::parse(bad).has_value());
  }
}

TEST_CASE("config: the membership block sets every SWIM knob in ms, with documented defaults", "[config][membership]") {
  auto plain = parse_node_config(kGood);
  REQUIRE(plain.is_ok());
  CHECK(plain->membership.advertise.empty());  // absent: SWIM with defaults

  std::string text = kGood;
  text.replace(text.find("  \"security\""), 0,
               "  \"membership\": {\"protocol_period_ms\": 500, \"probe_timeout_ms\": 200, \"indirect_probes\": 2,\n"
               "    \"suspicion_mult\": 5, \"suspicion_max_timeout_mult\": 3, \"retransmit_mult\": 2, \"health_max\": 4,\n"
               "    \"gossip_interval_ms\": 50, \"gossip_fanout\": 4, \"push_pull_interval_ms\": 10000,\n"
               "    \"join_retry_ms\": 700, \"reap_after_ms\": 60000, \"members_max\": 100,\n"
               "    \"reannounce_interval_ms\": 5000, \"identity_policy\": \"allow_concurrent\",\n"
               "    \"stale_view_repair\": false, \"suspicion_verify_pings\": 3,\n"
               "    \"advertise\": [\"203.0.113.7:7000\", \"127.0.0.1:7001\"], \"capabilities\": [\"gpu\", \"shell:v1\"],\n"
               "    \"seeds\": [\"127.0.0.1:7009\"]},\n");
  auto c = parse_node_config(text);
  REQUIRE(c.is_ok());
  const membership::SwimConfig& s = c->membership.swim;
  CHECK(s.protocol_period_us == 500'000);
  CHECK(s.probe_timeout_us == 200'000);
  CHECK(s.indirect_probes == 2);
  CHECK(s.suspicion_mult == 5);
  CHECK(s.suspicion_max_timeout_mult == 3);
  CHECK(s.retransmit_mult == 2);
  CHECK(s.health_max == 4);
  CHECK(s.gossip_interval_us == 50'000);
  CHECK(s.gossip_fanout == 4);
  CHECK(s.push_pull_interval_us == 10'000'000);
  CHECK(s.join_retry_us == 700'000);
  CHECK(s.reap_after_us == 60'000'000);
  CHECK(s.members_max == 100);
  CHECK(s.reannounce_interval_us == 5'000'000);
  CHECK(s.identity_policy == membership::IdentityPolicy::allow_concurrent);
  CHECK_FALSE(s.stale_view_repair);
  CHECK(s.suspicion_verify_pings == 3);
  CHECK(c->membership.advertise == std::vector<Address>{Address{0xCB007107, 7000}, Address{0x7f000001, 7001}});
  CHECK(c->membership.capabilities == std::vector<std::string>{"gpu", "shell:v1"});
  REQUIRE(c->membership.seeds.size() == 1);
  CHECK(c->membership.seeds[0] == Address{0x7f000001, 7009});

  std::string empty = kGood;
  empty.replace(empty.find("  \"security\""), 0, "  \"membership\": {},\n");
  auto d = parse_node_config(empty);
  REQUIRE(d.is_ok());
  const membership::SwimConfig defaults;
  CHECK(d->membership.swim.protocol_period_us == defaults.protocol_period_us);
  CHECK(d->membership.swim.suspicion_mult == defaults.suspicion_mult);
  CHECK(d->membership.seeds.empty());  // the node then seeds from its peers
  CHECK(d->membership.swim.reannounce_interval_us == 60'000'000);
  CHECK(d->membership.swim.identity_policy == membership::IdentityPolicy::prefer_newest);
  CHECK(d->membership.swim.stale_view_repair);
  CHECK(d->membership.swim.suspicion_verify_pings == 2);
  CHECK(d->membership.advertise.empty());  // the listen address
}

TEST_CASE("config: a bad membership field is an error naming the field and the line", "[config][membership]") {
  auto with = [](const std::string& block) {
    std::string text = kGood;
    text.replace(text.find("  \"security\""), 0, "  \"membership\": " + block + ",\n");
    return text;
  };
  CHECK(error_of(with("{\"protocol_period_ms\": 0}")) ==
        "config: line 10: field 'membership.protocol_period_ms': must be in [10, 600000], got 0");
  CHECK(error_of(with("{\"protocol_period_ms\": 100, \"probe_timeout_ms\": 100}")) ==
        "config: line 10: field 'membership.probe_timeout_ms': must be less than protocol_period_ms");
  CHECK(error_of(with("{\"indirect_probes\": 99}")).find("field 'membership.indirect_probes': must be in [0, 16]") !=
        std::string::npos);
  CHECK(error_of(with("{\"suspicion_mul\": 4}")) ==
        "config: line 10: field 'membership.suspicion_mul': unknown field (typo?)");
  CHECK(error_of(with("{\"seeds\": [\"1.2.3.4:5\", \"nope\"]}")) ==
        "config: line 10: field 'membership.seeds[1]': expected \"a.b.c.d:port\"");
  CHECK(error_of(with("{\"gossip_interval_ms\": \"fast\"}")).find("field 'membership.gossip_interval_ms'") !=
        std::string::npos);
  CHECK(error_of(with("{\"identity_policy\": \"prefer_loudest\"}")) ==
        "config: line 10: field 'membership.identity_policy': expected prefer_newest, prefer_oldest or allow_concurrent");
  CHECK(error_of(with("{\"advertise\": [\"1.2.3.4:5\", \"1.2.3.4:6\", \"1.2.3.4:7\", \"1.2.3.4:8\", \"1.2.3.4:9\"]}")) ==
        "config: line 10: field 'membership.advertise': too many addresses (limit 4)");
  CHECK(error_of(with("{\"advertise\": [\"1.2.3.4:5\", \"1.2.3.4:5\"]}")) ==
        "config: line 10: field 'membership.advertise[1]': listed twice");
  CHECK(error_of(with("{\"capabilities\": [\"gpu\", \"Bad Name\"]}")) ==
        "config: line 10: field 'membership.capabilities[1]': capability names use [a-z0-9._:/-] only");
  CHECK(error_of(with("{\"reannounce_interval_ms\": 5}")).find("field 'membership.reannounce_interval_ms': must be in [1000,") !=
        std::string::npos);
  CHECK(error_of(with("{\"suspicion_verify_pings\": 9}")).find("field 'membership.suspicion_verify_pings'") !=
        std::string::npos);
  CHECK(error_of(with("{\"stale_view_repair\": 1}")).find("field 'membership.stale_view_repair'") != std::string::npos);
  CHECK(error_of(with("{\"node_id\": \"00112233445566778899aabbccddeeff\"}")).find(
            "field 'membership.node_id': only for plaintext mode") != std::string::npos);
}
