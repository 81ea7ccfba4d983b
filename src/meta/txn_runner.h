// TxnRunner: the one driver that begins, commits and retries transactions (STYLE.md 6).
//
// A mutation is a function of a transaction, fn(Txn&) -> Result<T> (or Status). It reads and
// writes through the Txn and never commits. Run() begins a transaction, calls fn, commits, and
// when fn or the commit returns kConflict it discards the transaction and calls fn again on a
// fresh one, up to txn_attempts_max attempts (then kConflict: the protocol layer answers "try
// later"). fn must therefore be a pure function of what it reads: no side effects outside the
// Txn, and its result is returned to the caller only after a successful commit, so nothing is
// published before commit. Reads and refusals are returned only after Kv::WaitDurable, so that
// no answer rests on a commit that a crash could still take back.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include "common/status.h"
#include "meta/kv.h"
#include "meta/limits.h"

namespace manifold::meta {

struct TxnRunnerOptions {
  uint32_t txn_attempts_max = kTxnAttemptsMaxDefault;
  // Sleep before retry n (n >= 1): uniform in [0, min(base << (n-1), max)].
  uint32_t retry_backoff_base_us = 100;
  uint32_t retry_backoff_max_us = 10000;
};

// Counters for /metrics. Monotonic.
struct TxnRunnerStats {
  std::atomic<uint64_t> commits{0};    // successful read-write commits
  std::atomic<uint64_t> conflicts{0};  // attempts that ended in kConflict
  std::atomic<uint64_t> gave_up{0};    // Run() calls that exhausted txn_attempts_max
  std::atomic<uint64_t> failed{0};     // Run() calls that ended in another error
};

class TxnRunner {
 public:
  // `kv` is not owned and must outlive the runner.
  TxnRunner(Kv* kv, const TxnRunnerOptions& options) : kv_(kv), options_(options) {}

  // Read-write: see the file comment.
  template <typename Fn>
  std::invoke_result_t<Fn&, Txn&> Run(Fn&& fn) {
    return Drive(fn, /*read_only=*/false);
  }

  // Read-only, against one snapshot: no commit, no retry (a snapshot read cannot conflict).
  template <typename Fn>
  std::invoke_result_t<Fn&, Txn&> Read(Fn&& fn) {
    return Drive(fn, /*read_only=*/true);
  }

  const TxnRunnerStats& stats() const { return stats_; }
  const TxnRunnerOptions& options() const { return options_; }

 private:
  template <typename Fn>
  std::invoke_result_t<Fn&, Txn&> Drive(Fn& fn, bool read_only) {
    using R = std::invoke_result_t<Fn&, Txn&>;
    if constexpr (std::is_same_v<R, Status>) {
      return read_only ? ReadOnce(fn) : RunLoop(fn);
    } else {
      std::optional<R> out;
      std::function<Status(Txn&)> body = [&](Txn& txn) -> Status {
        out.emplace(fn(txn));
        return out->status();
      };
      Status s = read_only ? ReadOnce(body) : RunLoop(body);
      if (!s.ok()) return s;
      return std::move(*out);
    }
  }

  Status RunLoop(const std::function<Status(Txn&)>& body);
  Status ReadOnce(const std::function<Status(Txn&)>& body);
  void Backoff(uint32_t retry);

  Kv* kv_;
  TxnRunnerOptions options_;
  TxnRunnerStats stats_;
};

}  // namespace manifold::meta
