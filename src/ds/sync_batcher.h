// Group commit of fsyncs on the same object. A namespace change must be on stable storage
// before its reply (RFC 1813); when several requests change one directory at once, a single
// fsync that starts after all of their changes covers them all. The first caller to find no
// fsync running for the object becomes the leader and syncs; callers arriving meanwhile wait
// for the next fsync (started after their change), which one of them leads.
//
// On a file system where every fsync writes and flushes by itself (ext4 without a journal),
// this turns N concurrent directory fsyncs into about two.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace manifold::ds {

class SyncBatcher {
 public:
  struct Stats {
    uint64_t requests = 0;  // Sync calls
    uint64_t syncs = 0;     // fsyncs actually run
  };

  // Makes every change to the object (dev, ino) that completed before this call durable:
  // returns after a `sync` that started after the call has finished. `sync` returns 0 or an
  // errno; a failed sync fails every caller it covered (and, conservatively, every caller
  // waiting on the object while it failed). Thread-safe; blocks.
  int Sync(dev_t dev, ino_t ino, const std::function<int()>& sync);
  Stats stats() const;

 private:
  struct State {
    uint64_t requested = 0;  // changes announced (ticket numbers handed out)
    uint64_t done = 0;       // every ticket <= done is covered by a finished sync
    bool running = false;
    int error = 0;           // sticky while callers wait; the state goes with its last caller
    int users = 0;
    std::condition_variable cv;
  };
  mutable std::mutex mu_;
  std::map<std::pair<dev_t, ino_t>, std::unique_ptr<State>> states_;  // guarded by mu_
  Stats stats_;                                                        // guarded by mu_
};

}  // namespace manifold::ds
