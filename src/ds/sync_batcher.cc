#include "ds/sync_batcher.h"

namespace manifold::ds {

int SyncBatcher::Sync(dev_t dev, ino_t ino, const std::function<int()>& sync) {
  std::unique_lock lock(mu_);
  stats_.requests++;
  auto& slot = states_[{dev, ino}];
  if (!slot) slot = std::make_unique<State>();
  State& s = *slot;
  s.users++;
  // The caller's change is complete: any sync that starts from now on covers it.
  uint64_t ticket = ++s.requested;
  while (s.done < ticket && s.error == 0) {
    if (s.running) {
      s.cv.wait(lock);
      continue;
    }
    s.running = true;
    uint64_t target = s.requested;  // every ticket handed out so far: their changes are done
    lock.unlock();
    int err = sync();
    lock.lock();
    stats_.syncs++;
    s.running = false;
    if (err != 0) {
      s.error = err;
    } else {
      s.done = target;
    }
    s.cv.notify_all();
  }
  int result = s.done >= ticket ? 0 : s.error;
  if (--s.users == 0) states_.erase({dev, ino});
  return result;
}

SyncBatcher::Stats SyncBatcher::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace manifold::ds
