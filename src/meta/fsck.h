// CheckNamespace: verifies every cross-record invariant of docs/schema.md ("Invariants") over
// one read-only snapshot. Tests run it after every scenario and after crash recovery; an admin
// command can run it on a small store. Memory grows with the number of inodes (one small entry
// each), so it refuses stores with more than `inodes_max` inodes (kLimit).
#pragma once

#include <cstdint>

#include "common/status.h"
#include "meta/kv.h"

namespace manifold::meta {

struct FsckCounts {
  uint64_t inodes = 0;
  uint64_t dirents = 0;
  uint64_t extents = 0;
  uint64_t xattrs = 0;
  uint64_t orphans = 0;
};

// kCorruption naming the first violated invariant.
Result<FsckCounts> CheckNamespace(Txn& snapshot, uint64_t inodes_max);

}  // namespace manifold::meta
