// manifold-ds: the NFSv3 data server over one local directory.
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/log.h"
#include "ds/export.h"
#include "ds/mount_program.h"
#include "ds/nfs3_program.h"
#include "ds/rpcbind.h"
#include "rpc/server.h"
#include "xdr/mount3.h"
#include "xdr/nfs3.h"

namespace {

// Descriptors beside the connections and the descriptor caches: the export, epoll and event
// descriptors, the log, rpcbind's socket.
constexpr uint64_t kFdsReserved = 64;
// The smallest descriptor cache manifold-ds starts with.
constexpr size_t kFdCacheEntriesMin = 16;

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

}  // namespace

int main(int argc, char** argv) {
  using namespace manifold;
  CLI::App app{"manifold-ds: NFSv3 data server for one local directory"};
  std::string export_dir, listen = "127.0.0.1:2050", export_path, log_file, log_level = "info";
  std::string pid_file, rpcbind_mode = "auto";
  bool root_squash = false, unsafe_async = false;
  size_t threads = 0, fd_cache = ds::kFdCacheEntriesMaxDefault;
  uint32_t io_spin_us = rpc::kIoSpinUsDefault;
  app.add_option("--export", export_dir, "directory to export")->required();
  app.add_option("--listen", listen, "address:port for NFS v3 and MOUNT v3 (TCP)");
  app.add_option("--export-path", export_path, "path clients mount (default: the directory)");
  app.add_flag("--root-squash", root_squash, "map uid 0 to nobody");
  app.add_flag("--unsafe-async-metadata", unsafe_async,
               "reply to namespace and attribute changes before they are on disk (RFC 1813 "
               "requires them stable: a crash may lose acknowledged creates)");
  app.add_option("--threads", threads, "procedure threads (default: 4 per core)");
  app.add_option("--fd-cache", fd_cache, "open files kept for I/O");
  app.add_option("--io-spin-us", io_spin_us,
                 "microseconds an idle I/O thread polls before it sleeps (0: never)")
      ->check(CLI::Range(uint32_t(0), rpc::kIoSpinUsMax));
  app.add_option("--log-file", log_file, "log file (default: stderr)");
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error");
  app.add_option("--pid-file", pid_file, "write the process id here");
  app.add_option("--rpcbind", rpcbind_mode, "auto|off: register with a local rpcbind")
      ->check(CLI::IsMember({"auto", "off"}));
  CLI11_PARSE(app, argc, argv);

  // SIGTERM/SIGINT are blocked before any thread exists (threads inherit the mask) and taken
  // by one thread with sigwait, which stops the server.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  if (Status s = InitLogging("ds", log_file, log_level); !s.ok()) {
    std::fprintf(stderr, "manifold-ds: %s\n", s.ToString().c_str());
    return 2;
  }
  if (::geteuid() != 0) {
    spdlog::error("manifold-ds must run as root: it serves each request with the caller's ids");
    return 2;
  }
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(listen, host, port)) {
    spdlog::error("--listen must be address:port, got '{}'", listen);
    return 2;
  }
  char real[PATH_MAX];
  if (::realpath(export_dir.c_str(), real) == nullptr) {
    spdlog::error("export directory '{}': {}", export_dir, std::strerror(errno));
    return 2;
  }
  if (export_path.empty()) export_path = real;
  ::umask(0);  // clients send the mode they want, their umask already applied
  // Descriptors: two caches of --fd-cache entries each, one per connection, and a few more.
  // Raise the soft limit to the hard one; if they still do not all fit, connections get half
  // of what is left and the caches the rest.
  const uint64_t fd_limit = rpc::RaiseOpenFileLimit();
  size_t connections_max = rpc::kConnectionsMaxDefault;
  if (2 * fd_cache + connections_max + kFdsReserved > fd_limit) {
    const uint64_t room = fd_limit > kFdsReserved ? fd_limit - kFdsReserved : 0;
    connections_max = std::min<uint64_t>(connections_max, room / 2);
    fd_cache = std::min<uint64_t>(fd_cache, (room - connections_max) / 2);
    if (connections_max < rpc::kConnectionsMin || fd_cache < kFdCacheEntriesMin) {
      spdlog::error("open file limit {} is too low; raise it (ulimit -n) to at least {}",
                    fd_limit, kFdsReserved + 2 * (rpc::kConnectionsMin + kFdCacheEntriesMin));
      return 2;
    }
    spdlog::warn("open file limit {}: {} connections and descriptor caches of {} entries each",
                 fd_limit, connections_max, fd_cache);
  }

  auto exp = ds::Export::Open(real, fd_cache);
  if (!exp.ok()) {
    spdlog::error("cannot export {}: {}", real, exp.status().ToString());
    return 1;
  }
  ds::DsOptions options;
  options.root_squash = root_squash;
  options.sync_metadata = !unsafe_async;
  auto dispatcher = std::make_shared<rpc::Dispatcher>();
  dispatcher->Add(std::make_shared<ds::Nfs3Program>(**exp, options));
  dispatcher->Add(std::make_shared<ds::MountProgram>(**exp, export_path));

  rpc::ServerOptions server_options;
  server_options.address = host;
  server_options.port = port;
  server_options.worker_threads = threads;
  server_options.io_spin_us = io_spin_us;
  server_options.connections_max = connections_max;
  // A WRITE of io_bytes_max plus its headers must fit in one record.
  server_options.record_bytes_max = options.io_bytes_max + (64u << 10);
  rpc::Server server(server_options, dispatcher);
  if (Status s = server.Start(); !s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  std::vector<std::pair<uint32_t, uint32_t>> programs = {{NFS_PROGRAM, NFS_V3},
                                                         {MOUNT_PROGRAM, MOUNT_V3}};
  bool registered = rpcbind_mode == "auto" && ds::RegisterWithRpcbind(programs, server.port());
  if (!pid_file.empty()) std::ofstream(pid_file) << ::getpid() << "\n";

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("signal {}: stopping", sig);
    server.Stop();
  });
  spdlog::info("manifold-ds serving {} as {} on {}:{} (NFS v3 + MOUNT v3, TCP)", real,
               export_path, host, server.port());
  server.RunInBackground();
  waiter.join();
  if (registered) ds::UnregisterFromRpcbind(programs);
  if (!pid_file.empty()) ::unlink(pid_file.c_str());
  spdlog::info("stopped");
  spdlog::shutdown();
  return 0;
}
