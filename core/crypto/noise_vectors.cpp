#include "core/crypto/noise_vectors.h"

#include <sodium.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <optional>

#include "core/crypto/handshake_state.h"

namespace meshd::crypto {

namespace {

using json = nlohmann::json;
using Bytes = std::vector<uint8_t>;

// Throws nothing: returns nullopt on odd length or a non-hex digit.
std::optional<Bytes> from_hex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  Bytes out(hex.size() / 2);
  size_t written = 0;
  if (sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written, nullptr) != 0 ||
      written != out.size()) {
    return std::nullopt;
  }
  return out;
}

std::string to_hex(std::span<const uint8_t> bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();
  return out;
}

struct VectorError {
  std::string reason;
};

Bytes field_bytes(const json& v, const char* key) {
  if (!v.contains(key)) return {};
  if (!v[key].is_string()) throw VectorError{std::string(key) + " is not a string"};
  auto bytes = from_hex(v[key].get<std::string>());
  if (!bytes) throw VectorError{std::string(key) + " is not hex"};
  return *bytes;
}

template <size_t N>
std::optional<std::array<uint8_t, N>> field_key(const json& v, const char* key) {
  if (!v.contains(key)) return std::nullopt;
  Bytes b = field_bytes(v, key);
  if (b.size() != N) throw VectorError{std::string(key) + " has the wrong length"};
  std::array<uint8_t, N> out{};
  std::copy(b.begin(), b.end(), out.begin());
  return out;
}

HandshakeConfig side_config(const json& v, bool initiator) {
  const std::string p = initiator ? "init_" : "resp_";
  HandshakeConfig c;
  c.protocol_name = v.at("protocol_name").get<std::string>();
  c.initiator = initiator;
  c.prologue = field_bytes(v, (p + "prologue").c_str());
  c.local_static = field_key<kDhBytes>(v, (p + "static").c_str());
  c.fixed_ephemeral = field_key<kDhBytes>(v, (p + "ephemeral").c_str());
  c.remote_static = field_key<kDhBytes>(v, (p + "remote_static").c_str());
  c.remote_ephemeral = field_key<kDhBytes>(v, (p + "remote_ephemeral").c_str());
  if (v.contains(p + "psks")) {
    for (const auto& psk : v[p + "psks"]) {
      auto bytes = from_hex(psk.get<std::string>());
      if (!bytes || bytes->size() != kPskBytes) throw VectorError{"bad psk"};
      Psk k{};
      std::copy(bytes->begin(), bytes->end(), k.begin());
      c.psks.push_back(k);
    }
  }
  return c;
}

struct Transport {
  CipherState send;
  CipherState recv;
};

// Returns an empty string on success, else the failure reason.
std::string run_one(const json& v) {
  auto init = HandshakeState::create(side_config(v, true));
  if (!init) return "initiator: " + init.status().to_string();
  auto resp = HandshakeState::create(side_config(v, false));
  if (!resp) return "responder: " + resp.status().to_string();
  const bool one_way = init->pattern().one_way;
  const Bytes expected_hash = field_bytes(v, "handshake_hash");
  std::optional<Transport> ti, tr;
  size_t index = 0;
  for (const auto& msg : v.at("messages")) {
    const std::string where = "message " + std::to_string(index);
    const Bytes payload = field_bytes(msg, "payload");
    const Bytes expected_ct = field_bytes(msg, "ciphertext");
    const bool init_sends = one_way || index % 2 == 0;
    Bytes ct, pt;
    if (!ti) {
      HandshakeState& sender = init_sends ? *init : *resp;
      HandshakeState& receiver = init_sends ? *resp : *init;
      if (Status s = sender.write_message(payload, ct); !s) return where + " write: " + s.to_string();
      if (ct != expected_ct) return where + ": ciphertext " + to_hex(ct) + " != " + to_hex(expected_ct);
      if (Status s = receiver.read_message(ct, pt); !s) return where + " read: " + s.to_string();
      if (pt != payload) return where + ": payload mismatch";
      if (init->is_complete() != resp->is_complete()) return where + ": completion disagrees";
      if (init->is_complete()) {
        if (init->handshake_hash() != resp->handshake_hash()) return "handshake hashes differ";
        if (!expected_hash.empty() &&
            !std::equal(expected_hash.begin(), expected_hash.end(), init->handshake_hash().begin(),
                        init->handshake_hash().end())) {
          return "handshake_hash " + to_hex(init->handshake_hash()) + " != " + to_hex(expected_hash);
        }
        auto [is, ir] = init->split();
        auto [rs, rr] = resp->split();
        ti = Transport{is, ir};
        tr = Transport{rs, rr};
      }
    } else {
      CipherState& send = init_sends ? ti->send : tr->send;
      CipherState& recv = init_sends ? tr->recv : ti->recv;
      ct.resize(payload.size() + kAeadTagBytes);
      auto n = send.encrypt_with_ad({}, payload, ct);
      if (!n) return where + " encrypt: " + n.status().to_string();
      if (ct != expected_ct) return where + ": transport ciphertext mismatch";
      pt.resize(ct.size());
      auto m = recv.decrypt_with_ad({}, ct, pt);
      if (!m) return where + " decrypt: " + m.status().to_string();
      pt.resize(*m);
      if (pt != payload) return where + ": transport payload mismatch";
    }
    ++index;
  }
  if (!ti) return "handshake did not complete within the vector's messages";
  return {};
}

}  // namespace

NoiseVectorReport run_noise_vectors_json(std::string_view json_text) {
  NoiseVectorReport report;
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  const json* vectors = nullptr;
  if (doc.is_object() && doc.contains("vectors") && doc["vectors"].is_array()) {
    vectors = &doc["vectors"];
  } else if (doc.is_array()) {
    vectors = &doc;
  }
  if (vectors == nullptr || vectors->size() > kNoiseVectorsMax) {
    report.failed = 1;
    report.failures.push_back("file: not a cacophony vector file (or too many vectors)");
    return report;
  }
  size_t index = 0;
  for (const json& v : *vectors) {
    std::string name = "?";
    std::string reason;
    try {
      name = v.at("protocol_name").get<std::string>();
      reason = run_one(v);
    } catch (const VectorError& e) {
      reason = "malformed vector: " + e.reason;
    } catch (const json::exception& e) {
      reason = std::string("malformed vector: ") + e.what();
    }
    const bool expect_fail = v.is_object() && v.value("fail", false);
    if (expect_fail) reason = reason.empty() ? "expected a failure, got success" : std::string();
    if (reason.empty()) {
      ++report.passed;
    } else {
      ++report.failed;
      report.failures.push_back(std::to_string(index) + " " + name + ": " + reason);
    }
    ++index;
  }
  return report;
}

}  // namespace meshd::crypto
