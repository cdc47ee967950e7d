// Operator-facing renderings of a node's public key (meshd key show,
// meshctl status): the key as 64 hex digits (what a peer's config pins as
// "public_key") and a short fingerprint to compare by eye or over the
// phone: the first 16 bytes of BLAKE2b-256(public key), as 8 groups of 4
// hex digits separated by ':'.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace meshd::io {

std::string hex_of(std::span<const uint8_t> bytes);
std::string key_fingerprint(std::span<const uint8_t> public_key);

}  // namespace meshd::io
