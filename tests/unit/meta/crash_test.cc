// kill -9: a child process runs a create/rename/remove storm on a store (sync on) from several
// threads and, for each operation, writes its intent and then its acknowledgement to a pipe.
// The parent SIGKILLs it at a random moment (seeded), reopens the store and checks that every
// acknowledged operation is there and nothing else is, except the operation each thread had
// in flight, which may or may not have committed. Repeated on the same store.
//
// The child is this binary again (fork + exec of /proc/self/exe, gtest filter CrashChild.*),
// so that it starts with fresh RocksDB threads rather than a forked copy of the parent's.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

constexpr int kStormThreads = 4;
constexpr int kCrashRounds = 3;
constexpr const char* kChildEnv = "MANIFOLD_META_CRASH_CHILD";  // "<dir> <fd> <seed> <round>"

// ---------------------------------------------------------------------------------------------
// Child side.

void Emit(int fd, const std::string& line) {
  std::string l = line + "\n";  // < PIPE_BUF: one atomic write
  if (::write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) _exit(3);
}

// One thread's storm in its own directory. Intent lines: "I <t> C <name>", "I <t> R <from> <to>",
// "I <t> U <name>"; acknowledgements: "A <t>".
void StormThread(Namespace& ns, FileId dir, int t, uint64_t seed, int fd) {
  std::mt19937_64 rng(seed * 31 + t);
  std::vector<std::string> live;
  for (uint64_t i = 0;; i++) {
    std::string op;
    Status s;
    const std::string fresh = "n" + std::to_string(rng() % 1000000000);
    const int pick = live.size() < 8 ? 0 : static_cast<int>(rng() % 4);
    const size_t victim = live.empty() ? 0 : rng() % live.size();
    if (pick <= 1) {
      Emit(fd, "I " + std::to_string(t) + " C " + fresh);
      s = ns.Create(dir, fresh, testing::FileArgs()).status();
      if (s.ok()) live.push_back(fresh);
    } else if (pick == 2) {
      // Half the renames go over another live name (replacing it).
      const bool over = rng() % 2 == 0 && live.size() > 1;
      const size_t target = over ? (victim + 1) % live.size() : 0;
      const std::string to = over ? live[target] : fresh;
      Emit(fd, "I " + std::to_string(t) + " R " + live[victim] + " " + to);
      s = ns.Rename(dir, live[victim], dir, to).status();
      if (s.ok()) {
        live[victim] = to;
        if (over) live.erase(live.begin() + target);
      }
    } else {
      Emit(fd, "I " + std::to_string(t) + " U " + live[victim]);
      s = ns.Remove(dir, live[victim]).status();
      if (s.ok()) live.erase(live.begin() + victim);
    }
    if (!s.ok()) {
      Emit(fd, "E " + std::to_string(t) + " " + s.ToString());
      _exit(4);
    }
    Emit(fd, "A " + std::to_string(t));
  }
}

TEST(CrashChild, Storm) {
  const char* env = ::getenv(kChildEnv);
  if (!env) GTEST_SKIP() << "runs only as the child of CrashTest";
  std::istringstream in(env);
  std::string dir;
  int fd = -1, round = 0;
  uint64_t seed = 0;
  in >> dir >> fd >> seed >> round;
  Result<std::unique_ptr<Namespace>> ns = Namespace::Open(dir, NamespaceOptions{});
  if (!ns.ok()) _exit(5);
  std::vector<FileId> dirs;
  for (int t = 0; t < kStormThreads; t++) {
    std::string name = "r" + std::to_string(round) + "t" + std::to_string(t);
    Result<CreateResult> d = (*ns)->Create(kRootFileId, name, testing::DirArgs());
    if (!d.ok()) _exit(6);
    dirs.push_back(d->inode.fileid);
  }
  Emit(fd, "READY");
  std::vector<std::thread> threads;
  for (int t = 0; t < kStormThreads; t++) {
    threads.emplace_back(StormThread, std::ref(**ns), dirs[t], t, seed, fd);
  }
  for (std::thread& t : threads) t.join();  // never: the parent kills us
}

// ---------------------------------------------------------------------------------------------
// Parent side.

struct ThreadLog {
  std::set<std::string> names;  // after every acknowledged op
  std::string pending;          // intent without acknowledgement ("" if none)
  uint64_t acked = 0;
};

void Apply(std::set<std::string>& names, const std::string& op) {
  std::istringstream in(op);
  std::string kind, a, b;
  in >> kind >> a >> b;
  if (kind == "C") names.insert(a);
  if (kind == "U") names.erase(a);
  if (kind == "R") {
    names.erase(a);
    names.insert(b);
  }
}

void ParseLine(const std::string& line, bool* ready, std::map<int, ThreadLog>* logs) {
  if (line == "READY") {
    *ready = true;
    return;
  }
  ASSERT_NE(line[0], 'E') << "child failed: " << line;
  std::istringstream in(line);
  std::string tag;
  int t = -1;
  in >> tag >> t;
  ThreadLog& log = (*logs)[t];
  if (tag == "I") {
    ASSERT_TRUE(log.pending.empty()) << "two intents in flight: " << line;
    std::getline(in, log.pending);
  } else if (tag == "A") {
    ASSERT_FALSE(log.pending.empty()) << "ack without intent";
    Apply(log.names, log.pending);
    log.pending.clear();
    log.acked++;
  }
}

// Reads the child's lines until `deadline` (then kills it) or EOF.
void RunChild(const std::string& dir, uint64_t seed, int round, int kill_after_ms, bool* ready,
              std::map<int, ThreadLog>* logs) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::freopen("/dev/null", "w", stdout);  // the child's gtest chatter; stderr stays
    std::string env = dir + " " + std::to_string(fds[1]) + " " + std::to_string(seed) + " " +
                      std::to_string(round);
    ::setenv(kChildEnv, env.c_str(), 1);
    ::execl("/proc/self/exe", "meta_crash_child", "--gtest_filter=CrashChild.Storm", nullptr);
    _exit(7);
  }
  ::close(fds[1]);
  std::string buffer;
  std::optional<std::chrono::steady_clock::time_point> ready_at;
  bool killed = false;
  for (;;) {
    auto now = std::chrono::steady_clock::now();
    if (!killed && ready_at && now >= *ready_at + std::chrono::milliseconds(kill_after_ms)) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    pollfd p{fds[0], POLLIN, 0};
    ::poll(&p, 1, 5);
    char chunk[4096];
    ssize_t n = (p.revents & (POLLIN | POLLHUP)) ? ::read(fds[0], chunk, sizeof chunk) : -1;
    if (n == 0) break;  // EOF: the child is gone
    if (n < 0) continue;
    buffer.append(chunk, n);
    for (size_t nl; (nl = buffer.find('\n')) != std::string::npos; buffer.erase(0, nl + 1)) {
      ParseLine(buffer.substr(0, nl), ready, logs);
      if (*ready && !ready_at) ready_at = now;
    }
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "child ended by itself, status " << status;
}

void CheckRecovered(Namespace& ns, int round, std::map<int, ThreadLog>& logs) {
  for (auto& [t, log] : logs) {
    std::string dir_name = "r" + std::to_string(round) + "t" + std::to_string(t);
    ASSIGN_OR_FAIL(Inode dir, ns.Lookup(kRootFileId, dir_name));
    ASSIGN_OR_FAIL(std::vector<DirEntry> entries, testing::ListAll(ns, dir.fileid));
    std::set<std::string> present;
    for (const DirEntry& e : entries) present.insert(e.name);
    std::set<std::string> with_pending = log.names;
    if (!log.pending.empty()) Apply(with_pending, log.pending);
    EXPECT_TRUE(present == log.names || present == with_pending)
        << dir_name << ": " << present.size() << " names present, " << log.names.size()
        << " acknowledged; in flight: '" << log.pending << "'";
  }
}

TEST(CrashTest, AcknowledgedOpsSurviveKill9) {
  const uint64_t seed = testing::TestSeed();
  std::mt19937_64 rng(seed);
  testing::TempDir dir;
  for (int round = 0; round < kCrashRounds; round++) {
    const int kill_after_ms = 50 + static_cast<int>(rng() % 500);
    bool ready = false;
    std::map<int, ThreadLog> logs;
    RunChild(dir.path(), seed + round, round, kill_after_ms, &ready, &logs);
    ASSERT_TRUE(ready) << "the child died before it started its storm";
    NamespaceOptions o;
    ASSIGN_OR_FAIL(std::unique_ptr<Namespace> ns, Namespace::Open(dir.path(), o));
    CheckRecovered(*ns, round, logs);
    ASSIGN_OR_FAIL(FsckCounts counts, ns->Check(testing::kFsckInodesMax));
    uint64_t acked = 0;
    for (auto& [t, log] : logs) acked += log.acked;
    std::fprintf(stderr,
                 "[ figures  ] round %d: killed after %d ms, %llu ops acknowledged, "
                 "%llu inodes after recovery\n",
                 round, kill_after_ms, static_cast<unsigned long long>(acked),
                 static_cast<unsigned long long>(counts.inodes));
    EXPECT_GT(acked, 0u);
  }
}

}  // namespace
}  // namespace manifold::meta
