#include "core/membership/swim_wire.h"

#include <array>

#include "core/env/assert.h"
#include "core/wire/byte_io.h"

namespace meshd::membership {

std::string_view swim_type_name(SwimType type) {
  switch (type) {
    case SwimType::ping: return "ping";
    case SwimType::ack: return "ack";
    case SwimType::ping_req: return "ping_req";
    case SwimType::nack: return "nack";
    case SwimType::push_pull: return "push_pull";
    case SwimType::gossip: return "gossip";
  }
  return "invalid";
}

std::string_view swim_drop_name(SwimDrop reason) {
  switch (reason) {
    case SwimDrop::none: return "none";
    case SwimDrop::truncated: return "truncated";
    case SwimDrop::bad_magic: return "bad_magic";
    case SwimDrop::bad_version: return "bad_version";
    case SwimDrop::unknown_type: return "unknown_type";
    case SwimDrop::bad_flags: return "bad_flags";
    case SwimDrop::bad_status: return "bad_status";
    case SwimDrop::too_many_updates: return "too_many_updates";
    case SwimDrop::bad_hostname: return "bad_hostname";
    case SwimDrop::trailing_bytes: return "trailing_bytes";
    case SwimDrop::bad_endpoints: return "bad_endpoints";
    case SwimDrop::from_self: return "from_self";
    case SwimDrop::not_for_us: return "not_for_us";
    case SwimDrop::unexpected_ack: return "unexpected_ack";
    case SwimDrop::relay_full: return "relay_full";
    case SwimDrop::displaced: return "displaced";
    case SwimDrop::sender_mismatch: return "sender_mismatch";
    case SwimDrop::identity_rejected: return "identity_rejected";
    case SwimDrop::bad_signature: return "bad_signature";
  }
  return "unknown";
}

namespace {

bool hostname_ok(std::span<const uint8_t> bytes) {
  if (bytes.size() > kHostnameBytesMax) return false;
  for (uint8_t c : bytes) {
    if (c < 0x21 || c > 0x7E) return false;  // printable ASCII only: logs stay clean
  }
  return true;
}

void write_id(wire::Writer& w, const NodeId& id) { w.write_bytes(id.bytes); }
void write_address(wire::Writer& w, const Address& a) {
  w.write_u32(a.ipv4);
  w.write_u16(a.port);
}
bool read_id(wire::Reader& r, NodeId& id) { return r.read_bytes(id.bytes); }
bool read_address(wire::Reader& r, Address& a) { return r.read_u32(a.ipv4) && r.read_u16(a.port); }

// with_signature = false: the bytes the owner signs.
void write_update(wire::Writer& w, const MemberUpdate& u, bool with_signature = true) {
  w.write_u8(static_cast<uint8_t>(u.status));
  write_id(w, u.id);
  w.write_u64(u.incarnation);
  switch (u.status) {
    case MemberStatus::alive:
      w.write_u64(u.instance);
      w.write_u8(static_cast<uint8_t>(1 + u.alt_endpoints.count));
      write_address(w, u.address);
      for (const Address& a : u.alt_endpoints.view()) write_address(w, a);
      w.write_bytes(u.public_key);
      w.write_u8(static_cast<uint8_t>(u.hostname.size()));
      w.write_bytes(std::span(reinterpret_cast<const uint8_t*>(u.hostname.data()), u.hostname.size()));
      w.write_u64(u.fingerprint_digest);
      w.write_u64(u.capability_digest);
      if (with_signature) w.write_bytes(u.signature);
      break;
    case MemberStatus::suspect:
    case MemberStatus::failed: write_id(w, u.origin); break;
    case MemberStatus::left:
      w.write_bytes(u.public_key);
      if (with_signature) w.write_bytes(u.signature);
      break;
  }
}

SwimDrop read_update(wire::Reader& r, MemberUpdate& u) {
  uint8_t status = 0;
  if (!r.read_u8(status)) return SwimDrop::truncated;
  if (status < 1 || status > 4) return SwimDrop::bad_status;
  u.status = static_cast<MemberStatus>(status);
  if (!read_id(r, u.id) || !r.read_u64(u.incarnation)) return SwimDrop::truncated;
  switch (u.status) {
    case MemberStatus::alive: {
      uint8_t endpoints = 0;
      if (!r.read_u64(u.instance) || !r.read_u8(endpoints)) return SwimDrop::truncated;
      if (endpoints < 1 || endpoints > kEndpointsMax) return SwimDrop::bad_endpoints;
      if (!read_address(r, u.address)) return SwimDrop::truncated;
      for (uint8_t i = 1; i < endpoints; ++i) {
        Address a;
        if (!read_address(r, a)) return SwimDrop::truncated;
        u.alt_endpoints.push(a);
      }
      uint8_t len = 0;
      if (!r.read_bytes(u.public_key) || !r.read_u8(len)) return SwimDrop::truncated;
      if (len > kHostnameBytesMax) return SwimDrop::bad_hostname;
      std::span<const uint8_t> name;
      if (!r.read_span(len, name)) return SwimDrop::truncated;
      if (!hostname_ok(name)) return SwimDrop::bad_hostname;
      u.hostname.assign(name.begin(), name.end());
      if (!r.read_u64(u.fingerprint_digest) || !r.read_u64(u.capability_digest) ||
          !r.read_bytes(u.signature)) {
        return SwimDrop::truncated;
      }
      break;
    }
    case MemberStatus::suspect:
    case MemberStatus::failed:
      if (!read_id(r, u.origin)) return SwimDrop::truncated;
      break;
    case MemberStatus::left:
      if (!r.read_bytes(u.public_key) || !r.read_bytes(u.signature)) return SwimDrop::truncated;
      break;
  }
  return SwimDrop::none;
}

}  // namespace

size_t encoded_update_bytes(const MemberUpdate& u) {
  switch (u.status) {
    case MemberStatus::alive: return kUpdateAliveBytesMin + 6 * u.alt_endpoints.count + u.hostname.size();
    case MemberStatus::suspect:
    case MemberStatus::failed: return 1 + 16 + 8 + 16;
    case MemberStatus::left: return kUpdateLeftBytes;
  }
  return 0;
}

std::vector<uint8_t> update_signing_bytes(const MemberUpdate& u) {
  MESHD_ASSERT(u.status == MemberStatus::alive || u.status == MemberStatus::left);
  MESHD_ASSERT(u.hostname.size() <= kHostnameBytesMax);
  std::array<uint8_t, kSwimSignatureDomain.size() + kUpdateBytesMax> buffer{};
  wire::Writer w(buffer);
  w.write_bytes(std::span(reinterpret_cast<const uint8_t*>(kSwimSignatureDomain.data()),
                          kSwimSignatureDomain.size()));
  write_update(w, u, false);
  MESHD_ASSERT(w.ok());
  return std::vector<uint8_t>(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(w.size()));
}

size_t encoded_fixed_bytes(SwimType type) {
  size_t body = 0;
  switch (type) {
    case SwimType::ping: body = 8 + 16; break;
    case SwimType::ack:
    case SwimType::nack: body = 8; break;
    case SwimType::ping_req: body = 8 + 16 + 6; break;
    case SwimType::push_pull: body = 1; break;
    case SwimType::gossip: body = 0; break;
  }
  return kSwimHeaderBytes + body + 1;
}

std::vector<uint8_t> encode(const SwimMessage& m, std::span<const MemberUpdate> updates,
                            size_t* written, size_t max_bytes) {
  MESHD_ASSERT(max_bytes >= kSwimDatagramBytesMin && max_bytes <= kDatagramBytesMax);
  std::array<uint8_t, kDatagramBytesMax> storage{};
  const std::span<uint8_t> buffer(storage.data(), max_bytes);
  wire::Writer w(buffer);
  w.write_u8(kSwimMagic0);
  w.write_u8(kSwimMagic1);
  w.write_u8(kSwimVersion);
  w.write_u8(static_cast<uint8_t>(m.type));
  write_id(w, m.sender);
  switch (m.type) {
    case SwimType::ping:
      w.write_u64(m.seq);
      write_id(w, m.target);
      break;
    case SwimType::ack:
    case SwimType::nack: w.write_u64(m.seq); break;
    case SwimType::ping_req:
      w.write_u64(m.seq);
      write_id(w, m.target);
      write_address(w, m.target_address);
      break;
    case SwimType::push_pull: w.write_u8(m.flags); break;
    case SwimType::gossip: break;
  }
  const size_t count_at = w.size();
  w.write_u8(0);
  MESHD_ASSERT(w.ok() && w.size() == encoded_fixed_bytes(m.type));
  size_t n = 0;
  for (const MemberUpdate& u : updates) {
    MESHD_ASSERT(u.hostname.size() <= kHostnameBytesMax);
    if (n == kUpdatesPerMessageMax || encoded_update_bytes(u) > w.remaining()) break;
    write_update(w, u);
    ++n;
  }
  MESHD_ASSERT(w.ok());
  buffer[count_at] = static_cast<uint8_t>(n);
  if (written) *written = n;
  return std::vector<uint8_t>(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(w.size()));
}

std::vector<uint8_t> encode(const SwimMessage& m) {
  size_t written = 0;
  auto bytes = encode(m, m.updates, &written);
  MESHD_ASSERT_MSG(written == m.updates.size(), "swim message does not fit one datagram");
  return bytes;
}

std::optional<SwimType> swim_type_of(std::span<const uint8_t> bytes) {
  if (bytes.size() < 4 || !is_swim(bytes) || bytes[2] != kSwimVersion) return std::nullopt;
  if (bytes[3] < static_cast<uint8_t>(SwimType::ping) || bytes[3] > static_cast<uint8_t>(SwimType::gossip)) {
    return std::nullopt;
  }
  return static_cast<SwimType>(bytes[3]);
}

bool is_swim(std::span<const uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[0] == kSwimMagic0 && bytes[1] == kSwimMagic1;
}

std::optional<SwimMessage> decode_swim(std::span<const uint8_t> bytes, SwimDrop* reason) {
  auto fail = [&](SwimDrop r) {
    *reason = r;
    return std::nullopt;
  };
  if (bytes.size() < 4) return fail(bytes.size() >= 2 && !is_swim(bytes) ? SwimDrop::bad_magic
                                                                         : SwimDrop::truncated);
  if (!is_swim(bytes)) return fail(SwimDrop::bad_magic);
  if (bytes[2] != kSwimVersion) return fail(SwimDrop::bad_version);
  if (bytes[3] < 1 || bytes[3] > 6) return fail(SwimDrop::unknown_type);
  SwimMessage m;
  m.type = static_cast<SwimType>(bytes[3]);
  wire::Reader r(bytes.subspan(4));
  if (!read_id(r, m.sender)) return fail(SwimDrop::truncated);
  bool ok = true;
  switch (m.type) {
    case SwimType::ping: ok = r.read_u64(m.seq) && read_id(r, m.target); break;
    case SwimType::ack:
    case SwimType::nack: ok = r.read_u64(m.seq); break;
    case SwimType::ping_req:
      ok = r.read_u64(m.seq) && read_id(r, m.target) && read_address(r, m.target_address);
      break;
    case SwimType::push_pull: ok = r.read_u8(m.flags); break;
    case SwimType::gossip: break;
  }
  if (!ok) return fail(SwimDrop::truncated);
  if ((m.flags & ~kPushPullFlagsKnown) != 0) return fail(SwimDrop::bad_flags);
  uint8_t count = 0;
  if (!r.read_u8(count)) return fail(SwimDrop::truncated);
  if (count > kUpdatesPerMessageMax) return fail(SwimDrop::too_many_updates);
  m.updates.resize(count);
  for (MemberUpdate& u : m.updates) {
    if (SwimDrop d = read_update(r, u); d != SwimDrop::none) return fail(d);
  }
  if (!r.at_end()) return fail(SwimDrop::trailing_bytes);
  *reason = SwimDrop::none;
  return m;
}

}  // namespace meshd::membership
