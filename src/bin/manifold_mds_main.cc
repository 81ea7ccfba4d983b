// manifold-mds: the NFSv4.1/4.2 metadata server. Reads its TOML configuration, opens the
// namespace, connects the volumes, recovers client records, serves.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "meta/namespace.h"
#include "nfs4/client_store.h"
#include "nfs4/config.h"
#include "nfs4/data_store.h"
#include "nfs4/mds.h"
#include "nfs4/nfs4_program.h"
#include "rpc/server.h"
#include "state/state_manager.h"
#include "volume/nfs3_volume.h"

namespace {

using namespace manifold;

// Descriptors beside RocksDB's table files, the volumes' and the connections: RocksDB's WAL,
// manifest and logs, epoll and event descriptors, the log file.
constexpr uint64_t kFdsReserved = 128;
// A volume's libnfs socket (two while it reconnects) and its loop's eventfd.
constexpr uint64_t kFdsPerVolume = 4;

// Exit status after a failed WAL sync (EX_IOERR in sysexits.h): a supervisor restarts the MDS.
constexpr int kExitStoreFailed = 74;

bool SplitHostPort(const std::string& s, std::string& host, uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  host = s.substr(0, colon);
  char* end = nullptr;
  long p = std::strtol(s.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) return false;
  port = uint16_t(p);
  return true;
}

// Every second, until stopped: expires clients whose lease ran out, then purges the files
// removed while open that nobody has open any more (their last opener closed, expired, was
// revoked or restarted; after a restart of the MDS, once the grace period is over).
class Expirer {
 public:
  Expirer(state::StateManager& state, nfs4::Mds& mds, const state::Clock& clock) {
    thread_ = std::thread([this, &state, &mds, &clock] {
      std::unique_lock lock(mu_);
      while (!stop_) {
        cv_.wait_for(lock, std::chrono::seconds(1));
        for (const auto& c : state.ExpireClients(clock.Now())) {
          spdlog::info("client {:#x} lease expired: its state is released", c.clientid);
        }
        if (uint32_t n = mds.SweepOrphans(); n > 0) {
          spdlog::debug("purged {} files removed while open, now closed", n);
        }
      }
    });
  }
  ~Expirer() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"manifold-mds: NFSv4.1/4.2 metadata server"};
  std::string config_path, pid_file;
  app.add_option("--config", config_path, "TOML configuration file")->required();
  app.add_option("--pid-file", pid_file, "write the process id here");
  CLI11_PARSE(app, argc, argv);

  sigset_t set;  // blocked before any thread starts; one thread takes them with sigwait
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  auto config = nfs4::LoadConfig(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "manifold-mds: %s\n", config.status().ToString().c_str());
    return 2;
  }
  if (Status s = InitLogging("mds", config->log_file, config->log_level); !s.ok()) {
    std::fprintf(stderr, "manifold-mds: %s\n", s.ToString().c_str());
    return 2;
  }
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(config->listen, host, port)) {
    spdlog::error("listen must be address:port, got '{}'", config->listen);
    return 2;
  }
  meta::NamespaceOptions ns_options;
  ns_options.kv.defer_durability = config->commit_deferred;
  // Deferred durability: a failed WAL sync is final (meta::RocksKv::SyncUpTo), and every later
  // reply would fail. The MDS stops at once, as after a crash: every change it acknowledged is
  // durable, and a restart recovers the store and lets clients reclaim. (With commit = "synced"
  // each commit is synced before it is visible: a failed one is seen by no one, RocksDB refuses
  // later writes, and reads go on.)
  ns_options.kv.on_sync_failure = [](const Status& s) {
    spdlog::critical("the namespace's WAL could not be synced ({}); stopping (exit {})",
                     s.ToString(), kExitStoreFailed);
    spdlog::default_logger_raw()->flush();
    std::_Exit(kExitStoreFailed);
  };
  // Descriptors: RocksDB's table files, a few per volume, a few more, and one per connection.
  const uint64_t fd_limit = rpc::RaiseOpenFileLimit();
  const uint64_t fds_reserved = uint64_t(ns_options.kv.open_files_max) + kFdsReserved +
                                kFdsPerVolume * config->volumes.size();
  const size_t connections_max =
      rpc::ConnectionsThatFit(fd_limit, fds_reserved, rpc::kConnectionsMaxDefault);
  if (connections_max == 0) {
    spdlog::error("open file limit {} is too low; raise it (ulimit -n) to at least {}", fd_limit,
                  fds_reserved + rpc::kConnectionsMin);
    return 2;
  }
  if (connections_max < rpc::kConnectionsMaxDefault) {
    spdlog::warn("open file limit {}: at most {} connections", fd_limit, connections_max);
  }
  auto ns = meta::Namespace::Open(config->meta_dir, ns_options);
  if (!ns.ok()) {
    spdlog::error("cannot open the namespace in {}: {}", config->meta_dir, ns.status().ToString());
    return 1;
  }
  nfs4::DataStore data(**ns, config->extent_size_bytes);
  for (const auto& v : config->volumes) {
    auto volume = volume::Nfs3Volume::Open(v.url);
    if (!volume.ok()) {
      spdlog::error("volume {} ({}): {}", v.id, v.url, volume.status().ToString());
      return 1;
    }
    data.AddVolume(v.id, std::move(*volume));
    spdlog::info("volume {}: {}", v.id, v.url);
  }
  auto epoch = nfs4::NextBootEpoch(config->meta_dir);
  if (!epoch.ok()) {
    spdlog::error("{}", epoch.status().ToString());
    return 1;
  }
  state::SteadyClock clock;
  nfs4::MetaClientRecordStore store(**ns);
  state::StateConfig state_config;
  state_config.boot_epoch = *epoch;
  state_config.identity.so_major_id = "manifold-mds";
  state_config.identity.server_scope = "manifold";
  state_config.identity.impl_domain = "manifold";
  state_config.identity.impl_name = "manifold-mds";
  state_config.limits.lease_time_s = config->lease_time_s;
  state::StateManager state(state_config, clock, store);
  if (Status s = state.Recover(); !s.ok()) {
    spdlog::error("cannot recover client records: {}", s.ToString());
    return 1;
  }
  nfs4::MdsOptions options;
  options.lease_time_s = config->lease_time_s;
  options.exports = nfs4::ExportRules(config->export_rules);
  options.meta_dir = config->meta_dir;
  nfs4::Backchannel backchannel(state, nfs4::HandlesOf(**ns));
  nfs4::Mds mds(**ns, state, data, backchannel, clock, options);

  auto dispatcher = std::make_shared<rpc::Dispatcher>();
  dispatcher->Add(std::make_shared<nfs4::Nfs4Program>(mds));
  rpc::ServerOptions server_options;
  server_options.address = host;
  server_options.port = port;
  server_options.record_bytes_max = MANIFOLD_NFS4_IO_MAX + (64u << 10);
  server_options.io_spin_us = config->io_spin_us;
  server_options.connections_max = connections_max;
  rpc::Server server(server_options, dispatcher);
  if (Status s = server.Start(); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  if (!pid_file.empty()) std::ofstream(pid_file) << ::getpid() << "\n";
  Expirer expirer(state, mds, clock);
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {}: stopping", sig);
    server.Stop();
  });
  spdlog::info("manifold-mds serving NFSv4.1/4.2 on {}:{} (boot epoch {}, {} volumes)", host,
               server.port(), *epoch, config->volumes.size());
  server.RunInBackground();
  waiter.join();
  if (!pid_file.empty()) ::unlink(pid_file.c_str());
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}
