// RocksKv: the Kv seam over rocksdb::TransactionDB (pessimistic concurrency control).
//
// Why pessimistic and not OptimisticTransactionDB: namespace mutations concentrate on a few hot
// keys (the parent directory inode is rewritten by every create/remove in that directory).
// Under optimistic control every concurrent mutation of a hot directory does all its work and
// then fails validation at commit, so N writers burn N-1 wasted attempts per success and a
// bounded retry budget is exhausted under load. With key locks the losers wait for the lock
// instead (bounded by lock_timeout_ms), conflicts surface at the first GetForUpdate rather than
// after the work, and deadlocks are detected and reported as kConflict. Commit itself never
// fails validation. The Kv contract (kv.h) is written so an optimistic engine also fits.
//
// Durability (sync_commits = true), two disciplines:
//  - Default: every commit is written with WriteOptions.sync = true, so it is in the fsync'ed
//    WAL when Commit returns. Concurrent committers are batched by RocksDB's write group: one
//    WAL append + one fsync for the whole group (group commit). But a transaction holds its key
//    locks across its fsync, so mutations of one hot key (a directory's inode: every create in
//    that directory) serialize at fsync latency, one commit per fsync.
//  - early_lock_release: the commit is written unsynced (its locks are released at once, the
//    next transaction on the same key proceeds) and Commit then waits for a WAL fsync that
//    covers it; one fsync covers every commit before it, so even one hot directory gets group
//    commit. The WAL is a single ordered log, so a commit that read another's data is durable
//    only if that one is too. Others may read a commit before it is durable: WaitDurable holds
//    back every answer that may rest on such a read (TxnRunner calls it), so no client sees
//    state a crash could take back. Measured in tests/unit/meta/bench_test.cc; see
//    docs/schema.md, "Durability and group commit".
//  - defer_durability: the commit is written unsynced and Commit returns at once; the caller
//    holds back its answer until WhenDurable says a sync covers it (the MDS holds each reply
//    so, and runs changes on its I/O threads, which then never wait for a disk). A syncer
//    thread syncs the WAL while anyone waits: one fsync covers every commit before it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "meta/change_marks.h"
#include "meta/kv.h"

namespace rocksdb {
class ColumnFamilyHandle;
class Env;
class TransactionDB;
}  // namespace rocksdb

namespace manifold::meta {

inline constexpr int kRocksOpenFilesMaxDefault = 512;

struct RocksKvOptions {
  // WriteOptions.sync for every commit. Only tests turn it off (to prove that the crash tests
  // can fail, and to populate large directories quickly).
  bool sync_commits = true;
  // See the file comment. Only meaningful with sync_commits; at most one of the two.
  bool early_lock_release = false;
  bool defer_durability = false;
  // defer_durability: the syncer also syncs this often when nobody waits, so that changes
  // nobody answers for (lease expiry, sweeps) do not stay unsynced for long.
  uint32_t idle_sync_interval_ms = 1000;
  // defer_durability: when the last sync answered several waiters, the next one waits at most
  // this long for as many to gather (rounds of one never wait).
  uint32_t sync_gather_us = 500;
  // How long a transaction waits for a key lock before its call returns kConflict.
  int64_t lock_timeout_ms = 1000;
  // One LRU block cache shared by all column families.
  size_t block_cache_bytes = 64u << 20;
  // Memtables of all column families together (DBOptions.db_write_buffer_size): past it the
  // largest is flushed. Without it each family may hold 2 x 64 MiB.
  size_t memtable_bytes_max = 256u << 20;
  // WAL files on disk (DBOptions.max_total_wal_size): past it the families that keep the oldest
  // WAL alive are flushed so it can go. Without it a family written rarely (client records)
  // pins every WAL since its last write: 1e6 creates left 224 MB of WAL behind 30 MB of tables.
  uint64_t wal_bytes_max = 128u << 20;
  // Called once, when a WAL sync first fails (see SyncUpTo), on the thread that saw it and under
  // the sync lock, so before any caller waiting for that sync returns. From then on no change
  // past it can be reported durable, so a server is of no more use until a restart recovers
  // what the WAL kept; manifold-mds ends itself here. Null: the error is only returned.
  std::function<void(const Status&)> on_sync_failure;
  // Not owned; must outlive the RocksKv. Null: rocksdb::Env::Default(). Tests pass an Env over
  // a fault-injecting FileSystem.
  rocksdb::Env* env = nullptr;
  bool create_if_missing = true;
  // Table files kept open (DBOptions.max_open_files); others are opened as needed. Without it
  // RocksDB keeps every table file open, a descriptor each, however large the namespace grows.
  int open_files_max = kRocksOpenFilesMaxDefault;
};

class RocksKv final : public Kv {
 public:
  // Opens (or creates) the database in `dir` with every column family of schema.h.
  static Result<std::unique_ptr<RocksKv>> Open(const std::string& dir,
                                               const RocksKvOptions& options);
  ~RocksKv() override;

  std::unique_ptr<Txn> BeginTxn() override;
  std::unique_ptr<Txn> BeginRead() override;
  Status WaitDurable() override;
  bool DefersDurability() const override { return deferred(); }
  uint64_t DurabilityMark() override;
  bool IsDurable(uint64_t mark) override;
  void WhenDurable(uint64_t mark, std::function<void(Status)> done) override;
  Status WaitDurableUpTo(uint64_t mark) override;
  void Quiesce() override;
  bool TracksReadMarks() const override { return marks_ != nullptr; }

  // Early lock release: returns once the WAL is synced past sequence number `seq`. Concurrent
  // callers share syncs (group commit). Thread-safe. Once a WAL sync has failed, every later
  // call for a sequence number past what was durable then fails with that error, for the life
  // of this RocksKv: a failed fsync may have dropped the unsynced pages, so a later sync that
  // succeeds proves nothing about the commits before it, which others may already have read.
  Status SyncUpTo(uint64_t seq);
  uint64_t wal_syncs() const { return wal_syncs_; }

  // Writes every memtable to SST files (tests: exercise reads from SSTs, compaction).
  Status Flush();

 private:
  RocksKv(const RocksKvOptions& options) : options_(options) {}
  bool deferred() const { return options_.sync_commits && options_.defer_durability; }
  void SyncLoop();  // the syncer thread (defer_durability)

  RocksKvOptions options_;
  std::mutex sync_mu_;
  std::condition_variable sync_done_;  // signalled when a WAL sync ends
  bool sync_running_ = false;          // guarded by sync_mu_
  Status sync_failed_;                 // guarded by sync_mu_: the first failed WAL sync
  // All <= this is on disk. Written under sync_mu_; read without it by IsDurable.
  std::atomic<uint64_t> durable_seq_{0};

  struct Waiter {
    uint64_t mark;
    std::function<void(Status)> done;
  };
  std::mutex waiters_mu_;
  std::condition_variable waiters_cv_;
  std::vector<Waiter> waiters_;  // guarded by waiters_mu_
  bool stop_ = false;            // guarded by waiters_mu_
  // A waiter that makes the queue this long wakes the syncer (guarded by waiters_mu_).
  size_t notify_at_ = 1;
  std::thread syncer_;
  std::atomic<uint64_t> wal_syncs_{0};
  // Deferred durability: the last change to each object (null otherwise: every commit is
  // durable when it is visible, so reads need no mark).
  std::unique_ptr<ChangeMarks> marks_;
  rocksdb::TransactionDB* db_ = nullptr;               // owned
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // owned; [0] is "default", then Cf order
};

}  // namespace manifold::meta
