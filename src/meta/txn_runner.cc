#include "meta/txn_runner.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

namespace manifold::meta {

Status TxnRunner::RunLoop(const std::function<Status(Txn&)>& body) {
  Status last;
  for (uint32_t attempt = 1; attempt <= options_.txn_attempts_max; attempt++) {
    if (attempt > 1) Backoff(attempt - 1);
    std::unique_ptr<Txn> txn = kv_->BeginTxn();
    Status s = body(*txn);
    if (s.ok()) s = txn->Commit();
    if (s.ok()) {
      stats_.commits++;
      return s;
    }
    txn->Rollback();
    if (s.code() != Code::kConflict) {
      stats_.failed++;
      // The refusal may rest on another transaction's commit: answer once that is durable.
      Status durable = kv_->WaitDurable();
      return durable.ok() ? s : durable;
    }
    stats_.conflicts++;
    last = s;
  }
  stats_.gave_up++;
  return Status(Code::kConflict, "gave up after " + std::to_string(options_.txn_attempts_max) +
                                     " attempts (txn_attempts_max); last: " + last.message());
}

Status TxnRunner::ReadOnce(const std::function<Status(Txn&)>& body) {
  std::unique_ptr<Txn> txn = kv_->BeginRead();
  Status s = body(*txn);
  txn.reset();
  // What was read may be another transaction's commit that is not durable yet.
  Status durable = kv_->WaitDurable();
  return durable.ok() ? s : durable;
}

void TxnRunner::Backoff(uint32_t retry) {
  thread_local std::minstd_rand rng(std::random_device{}());
  uint32_t shift = std::min<uint32_t>(retry - 1, 20);
  uint64_t cap_us = std::min<uint64_t>(uint64_t{options_.retry_backoff_base_us} << shift,
                                       options_.retry_backoff_max_us);
  if (cap_us == 0) return;
  std::uniform_int_distribution<uint64_t> dist(0, cap_us);
  std::this_thread::sleep_for(std::chrono::microseconds(dist(rng)));
}

}  // namespace manifold::meta
