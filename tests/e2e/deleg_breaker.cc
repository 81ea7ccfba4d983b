// deleg_breaker: a second NFSv4.1 client (the project's client library) that breaks the Linux
// client's read delegation in tests/e2e/mds_linux_client.sh. It waits for READY_PATH to exist
// (the guest holds FILE_PATH open for reading by then, so it holds a read delegation), then
// opens FILE_PATH for writing -- the MDS answers NFS4ERR_DELAY and recalls the delegation with
// CB_RECALL; the library retries until the guest has returned it -- and writes CONTENT over it
// with FILE_SYNC.
//
// Usage: deleg_breaker HOST PORT READY_PATH FILE_PATH CONTENT
// Exit status: 0 written, 1 a step failed, 2 usage.
#include <chrono>
#include <memory>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "nfs4client/session.h"

namespace manifold::nfs4client {
namespace {

// How long the guest may take to get to its delegation step (it runs the rest of the workload
// first) and how long the open may wait for the recall to complete.
constexpr std::chrono::seconds kReadyWaitMax{900};
constexpr std::chrono::seconds kOpenWaitMax{120};

std::pair<std::string, std::string> SplitPath(const std::string& path) {
  auto slash = path.rfind('/');
  return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

int Run(const std::string& host, uint16_t port, const std::string& ready,
        const std::string& file, const std::string& content) {
  ClientOptions options;
  options.retry_time_max = kOpenWaitMax;
  options.retries_max = 1000;
  // A client per look: the MDS is killed and restarted while the guest works, and a client of
  // this library does not survive the loss of its session.
  std::unique_ptr<Nfs4Client> client;
  auto deadline = std::chrono::steady_clock::now() + kReadyWaitMax;
  for (;;) {
    auto c = Nfs4Client::Connect(host, port, options);
    if (c.ok() && (*c)->LookupPath(ready).ok()) {
      client = std::move(*c);
      break;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::printf("FAIL %s never appeared (%s)\n", ready.c_str(),
                  c.ok() ? "not found" : c.status().ToString().c_str());
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::printf("INFO %s exists: opening %s for writing\n", ready.c_str(), file.c_str());
  auto [dir_path, name] = SplitPath(file);
  auto dir = client->LookupPath(dir_path);
  if (!dir.ok()) {
    std::printf("FAIL lookup %s: %s\n", dir_path.c_str(), dir.status().ToString().c_str());
    return 1;
  }
  auto started = std::chrono::steady_clock::now();
  auto f = client->Open(*dir, name, OPEN4_SHARE_ACCESS_WRITE);
  if (!f.ok()) {
    std::printf("FAIL open %s for writing: %s\n", file.c_str(), f.status().ToString().c_str());
    return 1;
  }
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  std::printf("INFO the write open took %lld ms\n", static_cast<long long>(waited.count()));
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(content.data()), content.size());
  auto written = client->Write(*f, 0, bytes, FILE_SYNC4);
  if (!written.ok() || *written != content.size()) {
    std::printf("FAIL write: %s\n",
                written.ok() ? "short write" : written.status().ToString().c_str());
    return 1;
  }
  CompoundBuilder truncate("truncate");
  AttrSet size;
  size.size = content.size();
  truncate.PutFh(f->fh).SetAttr(f->stateid, size);
  auto t = client->Run(truncate);
  if (!t.ok() || !t->ok()) {
    std::printf("FAIL setattr size: %s\n", t.ok() ? t->Describe().c_str() : t.status().ToString().c_str());
    return 1;
  }
  if (Status s = client->Close(*f); !s.ok()) {
    std::printf("FAIL close: %s\n", s.ToString().c_str());
    return 1;
  }
  std::printf("PASS wrote %zu bytes to %s\n", content.size(), file.c_str());
  return 0;
}

}  // namespace
}  // namespace manifold::nfs4client

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s HOST PORT READY_PATH FILE_PATH CONTENT\n", argv[0]);
    return 2;
  }
  return manifold::nfs4client::Run(argv[1], static_cast<uint16_t>(std::atoi(argv[2])), argv[3],
                                   argv[4], argv[5]);
}
