#include "sim/sim_network.h"

#include "sim/world.h"

namespace meshd::sim {

Status SimNetwork::send(const Address& to, std::span<const uint8_t> bytes) {
  if (closed_) return Status(Errc::closed);
  if (bytes.size() > kDatagramBytesMax) return Status(Errc::too_large);
  return world_.transmit(node_, to, bytes);
}

bool SimNetwork::deliver(const Address& from, std::span<const uint8_t> bytes) {
  if (closed_ || !handler_) return false;
  handler_(from, bytes);
  return true;
}

}  // namespace meshd::sim
