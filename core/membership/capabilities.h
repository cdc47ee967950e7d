// The capability set a node announces in its membership entry, as a digest.
//
// Until the capability layer (signed capability announcements) exists, a
// node's capabilities are a configured list of names; the membership entry
// carries only their digest (MemberUpdate::capability_digest), so a change
// is visible to every member (and bypasses the re-announce throttle) while
// the entry stays small. Names: 1..kCapabilityNameBytesMax bytes of
// [a-z0-9._:/-]; at most kCapabilitiesMax of them; order and duplicates do
// not matter (the digest is over the sorted, de-duplicated set).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace meshd::membership {

constexpr size_t kCapabilitiesMax = 64;
constexpr size_t kCapabilityNameBytesMax = 64;

// Empty if the name is acceptable, else why not.
std::string capability_name_error(std::string_view name);
// The set's digest: the first 8 bytes (little-endian) of BLAKE2b-256 over
// "meshd-capabilities-v1" and the sorted names, each followed by '\n'.
// 0 for the empty set (the wire's "none"); never 0 otherwise.
uint64_t capability_digest(std::span<const std::string> names);

}  // namespace meshd::membership
