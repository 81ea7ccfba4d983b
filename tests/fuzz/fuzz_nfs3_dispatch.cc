// libFuzzer target: NFSv3 and MOUNTv3 procedures through the RPC Dispatcher, against a real
// export in a throwaway directory.
//
// Input layout (all of it is the fuzzer's):
//   [0]    procedure = byte % 22 (NFS has 0..21; MOUNT 0..5, the rest is PROC_UNAVAIL)
//   [1]    flags:
//            bits 0-1  handle put in front of the arguments (XDR nfs_fh3 / fhandle3):
//                      0 none, 1 export root, 2 fixture file, 3 fixture directory
//            bit 2     MOUNT (100005) instead of NFS (100003)
//            bit 3     AUTH_NONE instead of AUTH_SYS
//            bit 4     version off by one (PROG_MISMATCH path)
//            bit 5     the server's default options (sync_metadata: fsync of every change);
//                      otherwise sync_metadata is off, so that most inputs do no disk flush
//   [2..3] AUTH_SYS uid, little endian (gid is the same; 0 is root)
//   [4..]  procedure arguments. Every "\xfe\xfe" followed by an index byte i is replaced by
//          the XDR of fixture handle i % 5 (root, file, dir, symlink, a forged handle), so
//          that procedures with two handles or a handle after other fields (RENAME, LINK)
//          reach their bodies too.
//
// Handles are sealed with a per-export key, so a fuzzer can never guess one: the fixtures
// above are the only way in, which is why they are spliced in at run time rather than kept
// as bytes in the corpus (the key changes with each run's directory).
//
// The server really performs the operations, with the caller's uid, in the export
// directory, a fresh mkdtemp directory under $TMPDIR (or /tmp), named after the process id
// so that the next run removes what a crashed run left behind. Handles cannot leave it
// (sealed, mount-checked) and every namespace operation is *at() on a resolved directory.
// Every kCheckEvery inputs the directory is checked; when it holds too many entries or bytes,
// or a fixture is gone, its contents are wiped (never following symlinks) and the fixtures
// made again. The directory is removed at exit.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "ds/creds.h"
#include "ds/export.h"
#include "ds/mount_program.h"
#include "ds/nfs3_program.h"
#include "rpc/message.h"
#include "rpc/program.h"
#include "rpc/record.h"
#include "rpc/xdr_codec.h"

namespace fs = std::filesystem;

namespace {

#define FUZZ_CHECK(cond)                                                                       \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "fuzz_nfs3_dispatch: check failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

constexpr uint32_t kNfsProgram = 100003;
constexpr uint32_t kMountProgram = 100005;
constexpr uint32_t kNfsProcCount = 22;
constexpr const char* kMountPath = "/export";
constexpr const char* kPeer = "192.0.2.1:700";
constexpr const char* kDirPrefix = "manifold-fuzz-nfs3-";
constexpr std::array<const char*, 3> kFixtureNames = {"file", "dir", "link"};

constexpr size_t kCheckEvery = 256;
constexpr size_t kEntriesMax = 512;
constexpr uintmax_t kBytesMax = 64ull << 20;  // allocated blocks, not apparent sizes

struct Env {
  std::string dir;
  std::unique_ptr<manifold::ds::Export> exp;
  manifold::rpc::Dispatcher dispatcher;       // sync_metadata off: no fsync per call
  manifold::rpc::Dispatcher sync_dispatcher;  // the server's default, fsync of changes
  std::vector<std::string> handles;  // root, file, dir, symlink, forged
  std::array<ino_t, 3> fixture_inodes{};  // of kFixtureNames, at the last reset
  size_t iterations = 0;
  size_t resets = 0;
  bool verbose = false;  // FUZZ_NFS3_VERBOSE=1: one line per input (reply status)
};

Env* g_env = nullptr;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "fuzz_nfs3_dispatch: %s\n", what.c_str());
  std::exit(1);
}

void MustSucceed(int rc, const std::string& what) {
  if (rc != 0) Die(what + ": " + std::strerror(errno));
}

void WriteFile(int dir_fd, const char* name, const std::string& content, mode_t mode) {
  int fd = ::openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) Die(std::string("create fixture ") + name + ": " + std::strerror(errno));
  if (::write(fd, content.data(), content.size()) != ssize_t(content.size())) Die("write fixture");
  ::fchmod(fd, mode);  // umask-proof
  ::close(fd);
}

// Empties the export directory (never following a symlink: remove_all does not) and makes the
// fixtures again. The root directory itself stays, so its handle and key stay valid.
void ResetTree(Env& env) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(env.dir, ec)) {
    fs::remove_all(entry.path(), ec);
    if (ec) Die("wipe " + entry.path().string() + ": " + ec.message());
  }
  if (ec) Die("list " + env.dir + ": " + ec.message());
  // SETATTR on the root handle may have changed these.
  MustSucceed(::chown(env.dir.c_str(), 0, 0), "chown export");
  MustSucceed(::chmod(env.dir.c_str(), 0777), "chmod export");

  int root = ::open(env.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) Die("open export");
  WriteFile(root, "file", "hello, fuzzer\n", 0666);
  MustSucceed(::mkdirat(root, "dir", 0777), "mkdir fixture dir");
  ::fchmodat(root, "dir", 0777, 0);
  int dir = ::openat(root, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) Die("open fixture dir");
  WriteFile(dir, "inner", std::string(5000, 'x'), 0644);
  MustSucceed(::mkdirat(dir, "sub", 0755), "mkdir fixture dir/sub");
  ::close(dir);
  MustSucceed(::symlinkat("file", root, "link"), "symlink fixture");
  MustSucceed(::mkfifoat(root, "fifo", 0666), "mkfifo fixture");

  env.handles.clear();
  env.handles.push_back(env.exp->root_handle());
  for (size_t i = 0; i < kFixtureNames.size(); ++i) {
    const char* name = kFixtureNames[i];
    auto fh = env.exp->HandleAt(root, name);
    if (!fh.ok()) Die(std::string("handle of fixture ") + name + ": " + fh.status().ToString());
    env.handles.push_back(*fh);
    struct stat st;
    MustSucceed(::fstatat(root, name, &st, AT_SYMLINK_NOFOLLOW), "stat fixture");
    env.fixture_inodes[i] = st.st_ino;
  }
  // A well-formed handle with a wrong MAC: must be refused (BADHANDLE), never opened.
  std::string forged = env.handles[1];
  forged[5] = char(forged[5] ^ 0x5a);
  env.handles.push_back(forged);
  ::close(root);
}

bool TreeNeedsReset(Env& env) {
  size_t entries = 0;
  uintmax_t bytes = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(
           env.dir, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (++entries > kEntriesMax) return true;
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0) bytes += uintmax_t(st.st_blocks) * 512;
    if (bytes > kBytesMax) return true;
  }
  if (ec) return true;
  // A fixture renamed or removed would leave most inputs at STALE: start again.
  for (size_t i = 0; i < kFixtureNames.size(); ++i) {
    struct stat st;
    std::string path = env.dir + "/" + kFixtureNames[i];
    if (::lstat(path.c_str(), &st) != 0 || st.st_ino != env.fixture_inodes[i]) return true;
  }
  return false;
}

void RemoveDir() {
  if (g_env == nullptr || g_env->dir.empty()) return;
  std::fprintf(stderr, "fuzz_nfs3_dispatch: %zu inputs, export directory wiped %zu times\n",
               g_env->iterations, g_env->resets);
  std::error_code ec;
  fs::remove_all(g_env->dir, ec);
}

// A run that crashed (sanitizer report, abort) never reaches atexit: its directory stays.
// Directories are named <prefix><pid>-XXXXXX; remove those whose process is gone.
void ReclaimDeadRuns(const std::string& base) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(kDirPrefix, 0) != 0) continue;
    std::string rest = name.substr(std::strlen(kDirPrefix));
    size_t dash = rest.find('-');
    if (dash == 0 || dash == std::string::npos) continue;
    std::string pid = rest.substr(0, dash);
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    if (fs::exists("/proc/" + pid, ec)) continue;
    std::error_code rm_ec;
    if (entry.is_directory(rm_ec) && !entry.is_symlink(rm_ec)) fs::remove_all(entry.path(), rm_ec);
  }
}

void AppendHandle(std::vector<uint8_t>& out, const std::string& fh) {
  manifold::rpc::XdrWriter w(out);
  w.Opaque({reinterpret_cast<const uint8_t*>(fh.data()), fh.size()});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  spdlog::set_level(spdlog::level::off);
  if (::geteuid() != 0) {
    Die("must run as root: the export needs a trusted.* xattr and per-call fsuid switching");
  }
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  ReclaimDeadRuns(base);
  std::string templ = base + "/" + kDirPrefix + std::to_string(::getpid()) + "-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) Die("mkdtemp " + templ + ": " + std::strerror(errno));

  g_env = new Env;
  g_env->dir = buf.data();
  g_env->verbose = std::getenv("FUZZ_NFS3_VERBOSE") != nullptr;
  std::atexit(RemoveDir);
  MustSucceed(::chmod(g_env->dir.c_str(), 0777), "chmod export");
  auto exp = manifold::ds::Export::Open(g_env->dir, 64);
  if (!exp.ok()) Die("Export::Open: " + exp.status().ToString());
  g_env->exp = std::move(*exp);
  manifold::ds::DsOptions fast;
  fast.sync_metadata = false;
  g_env->dispatcher.Add(std::make_shared<manifold::ds::Nfs3Program>(*g_env->exp, fast));
  g_env->sync_dispatcher.Add(
      std::make_shared<manifold::ds::Nfs3Program>(*g_env->exp, manifold::ds::DsOptions{}));
  auto mount = std::make_shared<manifold::ds::MountProgram>(*g_env->exp, kMountPath);
  g_env->dispatcher.Add(mount);
  g_env->sync_dispatcher.Add(mount);
  ResetTree(*g_env);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& env = *g_env;
  if (size < 4) return 0;
  if (++env.iterations % kCheckEvery == 0 && TreeNeedsReset(env)) {
    ResetTree(env);
    ++env.resets;
  }

  const uint32_t proc = data[0] % kNfsProcCount;
  const uint8_t flags = data[1];
  const uint32_t uid = uint32_t(data[2]) | uint32_t(data[3]) << 8;
  const bool mount = flags & 4;
  const uint32_t prog = mount ? kMountProgram : kNfsProgram;
  const uint32_t vers = (flags & 16) ? 4 : 3;
  const uint32_t xid = 0x6d616e69u ^ uint32_t(size);

  manifold::rpc::Credential cred;
  if (!(flags & 8)) {
    cred.flavor = manifold::rpc::AuthFlavor::kSys;
    cred.sys.stamp = 1;
    cred.sys.machinename = "fuzz";
    cred.sys.uid = uid;
    cred.sys.gid = uid;
    cred.sys.gids = {uid};
  }
  std::vector<uint8_t> record;
  manifold::rpc::AppendCall(record, xid, prog, vers, proc, cred);
  if (flags & 3) AppendHandle(record, env.handles[(flags & 3) - 1]);
  for (size_t i = 4; i < size; ++i) {
    if (data[i] == 0xfe && i + 2 < size && data[i + 1] == 0xfe) {
      AppendHandle(record, env.handles[data[i + 2] % env.handles.size()]);
      i += 2;
      continue;
    }
    record.push_back(data[i]);
  }

  const auto& dispatcher = (flags & 32) ? env.sync_dispatcher : env.dispatcher;
  auto reply = dispatcher.Dispatch(record, kPeer, nullptr);
  // Procedures leave the thread acting as their caller (ds/creds.h: switching is lazy, for
  // the server's workers); this harness is the server's only thread, and needs root back for
  // its own housekeeping of the export.
  manifold::ds::BecomeRoot();
  // Every well-formed call gets a reply, framed as one last fragment, for the same xid.
  FUZZ_CHECK(reply.has_value());
  FUZZ_CHECK(reply->size() >= manifold::rpc::kRecordMarkBytes);
  uint32_t mark = manifold::rpc::GetU32(reply->data());
  FUZZ_CHECK(mark == (manifold::rpc::kLastFragmentBit | uint32_t(reply->size() - 4)));
  manifold::rpc::ReplyHeader rh;
  std::span<const uint8_t> results;
  std::span<const uint8_t> body(reply->data() + 4, reply->size() - 4);
  FUZZ_CHECK(manifold::rpc::ParseReply(body, rh, results));
  FUZZ_CHECK(rh.xid == xid);
  FUZZ_CHECK(rh.accepted);
  if (vers != 3) FUZZ_CHECK(rh.accept_stat == manifold::rpc::AcceptStat::kProgMismatch);
  // XDR results are whole 4-byte words.
  FUZZ_CHECK(results.size() % 4 == 0);
  if (env.verbose) {
    std::fprintf(stderr, "%s proc %u uid %u: accept_stat %u, status %u, %zu result bytes\n",
                 mount ? "mount" : "nfs3", proc, uid, uint32_t(rh.accept_stat),
                 results.size() >= 4 ? manifold::rpc::GetU32(results.data()) : 0u,
                 results.size());
  }
  return 0;
}
