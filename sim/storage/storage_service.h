// StorageService: one simulated node of a storage scenario. On boot it
// opens the node's AppendLog on the node's SimDisk (recovery), hands it to
// the StorageOracle to read back and check, then runs `appenders` fibers
// that append payloads of random size and wait for durability under the
// scenario's policy, reporting every append and every durable point to
// the oracle. It stops appending once the log is failed or corrupt (a
// real node would raise the error and wait for its operator).
#pragma once

#include <memory>

#include "core/env/env.h"
#include "core/storage/append_log.h"
#include "sim/service.h"
#include "sim/storage/storage_oracle.h"
#include "sim/storage/storage_spec.h"

namespace meshd::sim {

class StorageService final : public Service {
 public:
  StorageService(Env& env, size_t node, const StorageSpec& spec, StorageOracle& oracle, bool planted_ack_before_fsync);
  ~StorageService() override;
  void start() override;
  nlohmann::json snapshot() const override;
  const storage::AppendLog* log() const { return log_.get(); }

 private:
  void open_and_check();
  void append_loop(size_t fiber);
  bool healthy() const { return log_ && log_->health() == storage::LogHealth::ok; }

  Env& env_;
  size_t node_;
  StorageSpec spec_;
  StorageOracle& oracle_;
  bool planted_;
  RandomStream rng_;
  std::unique_ptr<storage::AppendLog> log_;
  uint64_t appends_since_truncate_ = 0;
};

}  // namespace meshd::sim
