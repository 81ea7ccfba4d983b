// Test helpers for the volume drivers: a real manifold-ds process (started, killed, frozen and
// restarted by the test) and NFS-Ganesha in a network namespace of its own.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace manifold::volume::testing {

// A directory under /tmp, removed with its contents by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A TCP port on 127.0.0.1 that nobody listened on a moment ago.
uint16_t FreeLoopbackPort();
// Waits until 127.0.0.1:port accepts a TCP connection, or `pid` (if > 0) exits, or timeout.
bool WaitForListener(uint16_t port, pid_t pid, std::chrono::milliseconds timeout);

// manifold-ds (MANIFOLD_DS_BIN) exporting `export_dir` on 127.0.0.1:port, rpcbind off. The
// destructor kills it with SIGKILL. Needs root (manifold-ds refuses to run otherwise).
class DsProcess {
 public:
  static Result<std::unique_ptr<DsProcess>> Start(const std::string& export_dir,
                                                  const std::string& log_path);
  ~DsProcess();
  DsProcess(const DsProcess&) = delete;
  DsProcess& operator=(const DsProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0; }
  // SIGKILL and reap.
  void Kill();
  // Starts it again on the same port and directory.
  Status Restart();
  // SIGSTOP, returning once every thread has stopped: the server keeps its sockets (the
  // kernel still completes TCP handshakes) but answers nothing.
  void Freeze();
  void Unfreeze();  // SIGCONT

 private:
  DsProcess() = default;
  Status Spawn();

  std::string export_dir_;
  std::string log_path_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// The URL of `dir` inside the export of `ds`.
std::string DsUrl(const DsProcess& ds, const std::string& export_dir, const std::string& dir);

}  // namespace manifold::volume::testing
