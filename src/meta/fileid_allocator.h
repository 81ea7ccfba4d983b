// FileIdAllocator: unique, never-reused fileids without a per-create write to a shared counter.
//
// The durable counter sys/"next_fileid" is the first fileid not yet reserved. A block of
// `block_size` ids is reserved by one small transaction that advances the counter (durable
// before any id of the block is used); ids are then handed out from memory. Ids reserved but
// not used before a restart are skipped forever, so an id is never handed out twice, and the
// counter key is written once per block instead of once per create (no conflict hotspot).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "common/status.h"
#include "meta/schema.h"
#include "meta/txn_runner.h"

namespace manifold::meta {

class FileIdAllocator {
 public:
  // `runner` is not owned and must outlive the allocator.
  FileIdAllocator(TxnRunner* runner, uint32_t block_size)
      : runner_(runner), block_size_(block_size) {}

  // Thread-safe. May run (and wait for) one reservation transaction of its own; callable from
  // inside another transaction's function (it touches only sys/"next_fileid").
  Result<FileId> Next();

  uint64_t blocks_reserved() const { return blocks_reserved_; }

 private:
  Status ReserveBlock();  // requires mu_

  TxnRunner* runner_;
  const uint32_t block_size_;
  std::mutex mu_;
  FileId next_ = 0;  // guarded by mu_; next id to hand out
  FileId end_ = 0;   // guarded by mu_; one past the reserved block
  std::atomic<uint64_t> blocks_reserved_{0};
};

}  // namespace manifold::meta
