#include "io/node_host.h"

#include "io/entropy.h"

namespace meshd::io {

NodeHost::NodeHost(const NodeHostOptions& options)
    : log_(clock_, options.log_out, options.log_level),
      random_(entropy_key()),
      runtime_(std::make_unique<Runtime>(clock_)) {}

NodeHost::~NodeHost() {
  // Fibers may hold references into the network and disk: end them first.
  if (runtime_) runtime_->kill_all();
}

Result<std::unique_ptr<NodeHost>> NodeHost::create(const NodeHostOptions& options) {
  std::unique_ptr<NodeHost> host(new NodeHost(options));
  auto loop = EventLoop::create(*host->runtime_);
  if (!loop) return loop.status();
  host->loop_ = std::move(*loop);
  auto disk = PosixDisk::open(options.data_dir);
  if (!disk) return disk.status();
  host->disk_ = std::move(*disk);
  auto network = UdpNetwork::open(*host->loop_, options.listen, host->metrics_);
  if (!network) return network.status();
  host->network_ = std::move(*network);
  host->counting_disk_ = std::make_unique<CountingDisk>(*host->disk_, host->metrics_);
  host->env_.reset(new Env{host->clock_, *host->network_, *host->counting_disk_, host->random_,
                           *host->runtime_, host->log_, host->metrics_});
  return host;
}

}  // namespace meshd::io
