// Nfs3Volume against a data server nobody here wrote: NFS-Ganesha 4.x (VFS FSAL) over NFSv3,
// with its MOUNT service on a separate port. Proves the driver does not lean on manifold-ds
// quirks. Ganesha runs in a network namespace of its own (loopback only) with rpcbind in a
// private /run (as tools/bench/ds-vs-ganesha does); the test's I/O thread joins that
// namespace with setns(2), and the volume's loop thread, created from it, inherits it.
//
// Skipped, with the reason, when not root, when Ganesha or rpcbind is not installed, or when
// another rpcbind is running on this machine (one rpcbind at a time: /work/shared/peers).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "test_servers.h"
#include "volume/nfs3_volume.h"

namespace manifold::volume {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr uint16_t kGaneshaNfsPort = 2049;
constexpr uint16_t kGaneshaMountPort = 20048;
constexpr auto kGaneshaStartTimeout = 60s;
// Ganesha answers NFS3ERR_JUKEBOX (kUnavailable) for some calls during its grace period.
constexpr auto kGraceRetryFor = 30s;

bool Installed(const std::string& program) {
  for (const char* dir : {"/usr/bin", "/usr/sbin", "/bin", "/sbin"}) {
    if (::access((std::string(dir) + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// The pid of a live (not zombie) process named `comm`, or 0.
pid_t RunningProcess(const std::string& comm) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!in || !std::getline(in, stat)) continue;
    size_t open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size())
      continue;
    if (stat.substr(open + 1, close - open - 1) == comm && stat[close + 2] != 'Z')
      return static_cast<pid_t>(std::atol(entry.path().filename().c_str()));
  }
  return 0;
}

int RunCommand(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto a : args) argv.push_back(strdup(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

pid_t ReadPid(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  return (in >> pid) ? static_cast<pid_t>(pid) : 0;
}

// Ganesha + rpcbind in network namespace `ns_`, each in a private mount namespace with a
// tmpfs on /run. The destructor kills both (by the pids they wrote) and deletes the namespace.
class GaneshaServer {
 public:
  explicit GaneshaServer(const std::string& work)
      : work_(work), ns_("mvol" + std::to_string(::getpid())) {}
  ~GaneshaServer() { Stop(); }

  const std::string& netns() const { return ns_; }
  std::string export_dir() const { return work_ + "/export"; }
  std::string log() const { return work_ + "/ganesha.log"; }

  bool Start() {
    fs::create_directories(work_ + "/recovery");
    fs::create_directories(export_dir());
    WriteConfig();
    if (RunCommand({"ip", "netns", "add", ns_}) != 0) return false;
    ns_made_ = true;
    if (RunCommand({"ip", "-n", ns_, "link", "set", "lo", "up"}) != 0) return false;
    helper_ = ::fork();
    if (helper_ == 0) {
      ::execlp("ip", "ip", "netns", "exec", ns_.c_str(), "unshare", "--mount", "--propagation",
               "private", "bash", (work_ + "/run.sh").c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (ReadPid(work_ + "/ganesha.nfsd.pid") == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(50ms);
    return ReadPid(work_ + "/ganesha.nfsd.pid") != 0;
  }

  void Stop() {
    for (const char* f : {"/ganesha.nfsd.pid", "/rpcbind.pid"}) {
      if (pid_t pid = ReadPid(work_ + f); pid > 0) ::kill(pid, SIGKILL);
    }
    if (helper_ > 0) {
      // The helper (bash) reaps both and exits; SIGKILL it only if it does not.
      auto deadline = std::chrono::steady_clock::now() + 5s;
      while (::waitpid(helper_, nullptr, WNOHANG) == 0) {
        if (std::chrono::steady_clock::now() > deadline) {
          ::kill(helper_, SIGKILL);
          ::waitpid(helper_, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(20ms);
      }
      helper_ = -1;
    }
    if (ns_made_) RunCommand({"ip", "netns", "del", ns_});
    ns_made_ = false;
  }

 private:
  void WriteConfig() {
    std::ofstream(work_ + "/ganesha.conf")
        << "NFS_CORE_PARAM { NFS_Port = " << kGaneshaNfsPort << "; MNT_Port = " << kGaneshaMountPort
        << "; Protocols = 3; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }\n"
        << "NFSv4 { RecoveryBackend = fs; RecoveryRoot = " << work_ << "/recovery;"
        << " Grace_Period = 10; Lease_Lifetime = 10; }\n"
        << "EXPORT { Export_Id = 1; Path = " << export_dir() << "; Pseudo = /export;"
        << " Access_Type = RW; Squash = none; SecType = sys; Protocols = 3; Transports = TCP;"
        << " FSAL { Name = VFS; } }\n"
        << "LOG { Default_Log_Level = EVENT; }\n";
    // rpcbind's socket lives in /run, which every namespace shares: give it a private one.
    std::ofstream(work_ + "/run.sh")
        << "mount -t tmpfs tmpfs /run || exit 1\n"
        << "rpcbind -f -w & echo $! >" << work_ << "/rpcbind.pid\n"
        << "for _ in $(seq 100); do [ -S /run/rpcbind.sock ] && break; sleep 0.05; done\n"
        << "ganesha.nfsd -F -f " << work_ << "/ganesha.conf -L " << log() << " -p " << work_
        << "/ganesha.pid -N NIV_EVENT &\n"
        << "echo $! >" << work_ << "/ganesha.nfsd.pid\n"
        << "wait\n";
  }

  std::string work_;
  std::string ns_;
  bool ns_made_ = false;
  pid_t helper_ = -1;
};

const Status& StatusOf(const Status& s) { return s; }
template <typename T>
const Status& StatusOf(const Result<T>& r) {
  return r.status();
}

// Retries `op` while it fails with kUnavailable (Ganesha in grace answers NFS3ERR_JUKEBOX).
template <typename Op>
auto RetryUnavailable(Op op) {
  auto deadline = std::chrono::steady_clock::now() + kGraceRetryFor;
  auto r = op();
  while (StatusOf(r).code() == Code::kUnavailable && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(500ms);
    r = op();
  }
  return r;
}

// Runs in a thread that has joined Ganesha's network namespace.
void CreateWriteReadRemove(const GaneshaServer& g) {
  ASSERT_TRUE(testing::WaitForListener(kGaneshaNfsPort, -1, kGaneshaStartTimeout))
      << "Ganesha did not listen; see " << g.log();
  ASSERT_TRUE(testing::WaitForListener(kGaneshaMountPort, -1, kGaneshaStartTimeout));
  std::string url = "nfs://127.0.0.1:" + std::to_string(kGaneshaNfsPort) + g.export_dir() +
                    "?dir=data&mountport=" + std::to_string(kGaneshaMountPort);
  auto v = RetryUnavailable([&] { return Nfs3Volume::Open(url); });
  ASSERT_TRUE(v.ok()) << v.status().ToString() << " (log: " << g.log() << ")";
  Nfs3Volume& vol = **v;
  std::printf("[ ganesha    ] %s: READ up to %u bytes, WRITE up to %u bytes\n", vol.url().c_str(),
              vol.io_limits().read_bytes_max, vol.io_limits().write_bytes_max);
  auto h = RetryUnavailable([&] { return vol.Create("g-file"); });
  ASSERT_TRUE(h.ok()) << h.status().ToString();

  std::vector<uint8_t> data(2u << 20);
  std::mt19937 rng(9);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  uint32_t chunk = std::min<uint32_t>(vol.io_limits().write_bytes_max, 1u << 20);
  for (size_t off = 0; off < data.size(); off += chunk) {
    size_t n = std::min<size_t>(chunk, data.size() - off);
    auto w = RetryUnavailable([&] {
      return vol.Write(*h, off, std::span<const uint8_t>(data.data() + off, n),
                       Stability::kUnstable);
    });
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_EQ(w->count_bytes, n);
  }
  ASSERT_TRUE(RetryUnavailable([&] { return vol.Commit(*h, 0, 0); }).ok());
  std::vector<uint8_t> back;
  while (back.size() < data.size()) {
    auto r = vol.Read(*h, back.size(), vol.io_limits().read_bytes_max);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_FALSE(r->data.empty());
    back.insert(back.end(), r->data.begin(), r->data.end());
  }
  EXPECT_TRUE(back == data);

  auto attrs = vol.GetAttr(*h);
  ASSERT_TRUE(attrs.ok()) << attrs.status().ToString();
  EXPECT_EQ(attrs->size_bytes, data.size());
  Status owned = RetryUnavailable([&] { return vol.SetOwner(*h, 40001, 40002); });
  ASSERT_TRUE(owned.ok()) << owned.ToString();
  struct stat st {};
  ASSERT_EQ(::stat((g.export_dir() + "/data/g-file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 40001u);
  EXPECT_EQ(st.st_gid, 40002u);
  auto space = vol.Space();
  ASSERT_TRUE(space.ok()) << space.status().ToString();
  EXPECT_GT(space->total_bytes, 0u);

  ASSERT_TRUE(vol.Remove(*h).ok());
  EXPECT_NE(::access((g.export_dir() + "/data/g-file").c_str(), F_OK), 0);
  auto gone = vol.Read(*h, 0, 1);
  ASSERT_FALSE(gone.ok());
  EXPECT_NE(gone.status().code(), Code::kUnavailable) << gone.status().ToString();
  std::printf("[ ganesha    ] read after remove: %s\n", gone.status().ToString().c_str());
  std::error_code ec;
  EXPECT_GT(fs::file_size(g.log(), ec), 0u) << "Ganesha wrote no log: was it Ganesha?";
}

TEST(Nfs3VolumeGanesha, CreateWriteReadRemoveAgainstAThirdPartyServer) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespace, Ganesha)";
  if (!Installed("ganesha.nfsd") || !Installed("rpcbind"))
    GTEST_SKIP() << "NFS-Ganesha (nfs-ganesha, nfs-ganesha-vfs) or rpcbind not installed";
  if (pid_t other = RunningProcess("rpcbind"); other != 0)
    GTEST_SKIP() << "another rpcbind is running (pid " << other
                 << "): only one rpcbind may run on this machine at a time";
  testing::TempDir work("volume-ganesha");
  GaneshaServer ganesha(work.path());
  ASSERT_TRUE(ganesha.Start()) << "could not start Ganesha; see " << work.path();
  std::thread io([&] {
    int fd = ::open(("/run/netns/" + ganesha.netns()).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0) << "open /run/netns/" << ganesha.netns();
    ASSERT_EQ(::setns(fd, CLONE_NEWNET), 0) << "setns: " << std::strerror(errno);
    ::close(fd);
    CreateWriteReadRemove(ganesha);
  });
  io.join();
}

}  // namespace
}  // namespace manifold::volume
