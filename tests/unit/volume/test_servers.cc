#include "test_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#ifndef MANIFOLD_DS_BIN
#error "MANIFOLD_DS_BIN must name the manifold-ds binary"
#endif

namespace manifold::volume::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(20);

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

}  // namespace

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + ".XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

uint16_t FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa = Loopback(0);
  socklen_t len = sizeof(sa);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
    port = ntohs(sa.sin_port);
  }
  ::close(fd);
  return port;
}

bool WaitForListener(uint16_t port, pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa = Loopback(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
    ::close(fd);
    if (ok) return true;
    if (pid > 0 && ::waitpid(pid, nullptr, WNOHANG) == pid) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

Result<std::unique_ptr<DsProcess>> DsProcess::Start(const std::string& export_dir,
                                                    const std::string& log_path) {
  std::unique_ptr<DsProcess> ds(new DsProcess());
  ds->export_dir_ = export_dir;
  ds->log_path_ = log_path;
  ds->port_ = FreeLoopbackPort();
  if (ds->port_ == 0) return Status(Code::kUnavailable, "no free loopback port");
  if (Status s = ds->Spawn(); !s.ok()) return s;
  return ds;
}

Status DsProcess::Spawn() {
  std::string listen = "127.0.0.1:" + std::to_string(port_);
  std::vector<std::string> args = {MANIFOLD_DS_BIN, "--export",    export_dir_, "--listen",
                                   listen,          "--rpcbind",   "off",       "--log-file",
                                   log_path_,       "--log-level", "warn"};
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "fork");
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  if (!WaitForListener(port_, pid_, kStartTimeout)) {
    Kill();
    return Status(Code::kUnavailable,
                  "manifold-ds did not listen on " + listen + " (log: " + log_path_ + ")");
  }
  return Status::Ok();
}

DsProcess::~DsProcess() { Kill(); }

void DsProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Status DsProcess::Restart() {
  Kill();
  return Spawn();
}

// SIGSTOP takes effect on each thread when it next runs: until every thread shows state 'T'
// in /proc, a request sent now may still be answered.
static bool AllThreadsStopped(pid_t pid) {
  std::error_code ec;
  for (const auto& task :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos || paren + 2 >= stat.size()) return false;
    if (stat[paren + 2] != 'T' && stat[paren + 2] != 't') return false;
  }
  return !ec;
}

void DsProcess::Freeze() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGSTOP);
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!AllThreadsStopped(pid_) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void DsProcess::Unfreeze() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

std::string DsUrl(const DsProcess& ds, const std::string& export_dir, const std::string& dir) {
  return "nfs://127.0.0.1:" + std::to_string(ds.port()) + export_dir + "?dir=" + dir;
}

}  // namespace manifold::volume::testing
