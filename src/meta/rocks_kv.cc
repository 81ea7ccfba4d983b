#include "meta/rocks_kv.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/transaction.h>
#include <rocksdb/utilities/transaction_db.h>

#include <algorithm>
#include <chrono>
#include <future>

#include <spdlog/spdlog.h>

#include "common/check.h"

namespace manifold::meta {
namespace {

// Bounds on RocksDB's own info log (limits on everything, STYLE.md 7).
constexpr size_t kInfoLogFileBytesMax = 16u << 20;
constexpr size_t kInfoLogFilesKept = 4;
constexpr double kBloomBitsPerKey = 10;
// Share of each memtable's size given to its bloom filter (RocksDB suggests up to 0.25).
constexpr double kMemtableBloomRatio = 0.02;

Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::Ok();
  Code code = Code::kInternal;
  if (s.IsNotFound()) {
    code = Code::kNotFound;
  } else if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    code = Code::kConflict;  // lock timeout, deadlock, or snapshot validation failure
  } else if (s.IsNoSpace()) {
    code = Code::kNoSpace;
  } else if (s.IsIOError()) {
    code = Code::kIo;
  } else if (s.IsCorruption()) {
    code = Code::kCorruption;
  } else if (s.IsInvalidArgument()) {
    code = Code::kInvalid;
  }
  return Status(code, std::string(what) + ": " + s.ToString());
}

// Iterates [lower, upper). The bounds are also checked here, not only by RocksDB, because the
// transaction's write-batch iterator does not apply ReadOptions bounds to its own writes.
class RocksIterator final : public KvIterator {
 public:
  RocksIterator(std::string lower, std::string upper)
      : lower_(std::move(lower)),
        upper_(std::move(upper)),
        lower_slice_(lower_),
        upper_slice_(upper_) {}

  rocksdb::ReadOptions MakeReadOptions(const rocksdb::Snapshot* snapshot) const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    ro.iterate_lower_bound = &lower_slice_;
    if (!upper_.empty()) ro.iterate_upper_bound = &upper_slice_;
    return ro;
  }
  void Start(rocksdb::Iterator* it) {
    it_.reset(it);
    it_->Seek(lower_slice_);
  }

  bool Valid() const override {
    return it_->Valid() && (upper_.empty() || it_->key().compare(upper_slice_) < 0);
  }
  void Next() override { it_->Next(); }
  std::string_view key() const override { return it_->key().ToStringView(); }
  std::string_view value() const override { return it_->value().ToStringView(); }
  Status status() const override { return FromRocks(it_->status(), "iterate"); }

 private:
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// A read-write transaction (txn_ set) or a read-only snapshot view (snapshot_ set).
class RocksTxn final : public Txn {
 public:
  // `kv` non-null: early lock release, Commit waits for a covering WAL sync. `marks` non-null:
  // deferred durability, reads and writes keep the change marks.
  RocksTxn(rocksdb::TransactionDB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
           rocksdb::Transaction* txn, RocksKv* kv, ChangeMarks* marks)
      : db_(db), handles_(handles), txn_(txn), early_release_kv_(kv), marks_(marks) {}
  RocksTxn(rocksdb::TransactionDB* db, const std::vector<rocksdb::ColumnFamilyHandle*>& handles,
           ChangeMarks* marks)
      : db_(db), handles_(handles), snapshot_(db->GetSnapshot()), marks_(marks) {}
  ~RocksTxn() override {
    if (txn_ && !finished_) txn_->Rollback().PermitUncheckedError();
    EndChanges();
    if (snapshot_) db_->ReleaseSnapshot(snapshot_);
  }

  Result<std::string> Get(Cf cf, std::string_view key) override {
    std::string value;
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot_;
    rocksdb::Status s =
        txn_ ? txn_->Get(ro, Handle(cf), key, &value) : db_->Get(ro, Handle(cf), key, &value);
    NoteRead(ChangeMarks::SlotOf(cf, key));  // an absence tells of a change too
    if (!s.ok()) return FromRocks(s, "get");
    return value;
  }

  Result<std::string> GetForUpdate(Cf cf, std::string_view key) override {
    if (!txn_) return Get(cf, key);
    std::string value;
    rocksdb::Status s = txn_->GetForUpdate(rocksdb::ReadOptions(), Handle(cf), key, &value);
    NoteRead(ChangeMarks::SlotOf(cf, key));
    if (!s.ok()) return FromRocks(s, "get for update");
    return value;
  }

  Status Put(Cf cf, std::string_view key, std::string_view value) override {
    if (!txn_) return Status(Code::kInternal, "put in a read-only transaction");
    NoteWrite(cf, key);
    return FromRocks(txn_->Put(Handle(cf), key, value), "put");
  }

  Status Delete(Cf cf, std::string_view key) override {
    if (!txn_) return Status(Code::kInternal, "delete in a read-only transaction");
    NoteWrite(cf, key);
    return FromRocks(txn_->Delete(Handle(cf), key), "delete");
  }

  std::unique_ptr<KvIterator> NewIterator(Cf cf, std::string lower, std::string upper) override {
    const uint32_t slot = ChangeMarks::SlotOfRange(cf, lower, upper);
    auto it = std::make_unique<RocksIterator>(std::move(lower), std::move(upper));
    rocksdb::ReadOptions ro = it->MakeReadOptions(snapshot_);
    it->Start(txn_ ? txn_->GetIterator(ro, Handle(cf)) : db_->NewIterator(ro, Handle(cf)));
    NoteRead(slot);  // the iterator reads as of its creation
    return it;
  }

  Status Commit() override {
    if (!txn_) return Status::Ok();
    MANIFOLD_CHECK(!finished_);
    finished_ = true;
    Status s = FromRocks(txn_->Commit(), "commit");
    EndChanges();
    if (!s.ok() || !early_release_kv_) return s;
    // Committed and visible, locks released; durable once a sync covers it.
    return early_release_kv_->SyncUpTo(db_->GetLatestSequenceNumber());
  }

  void Rollback() override {
    if (!txn_ || finished_) return;
    finished_ = true;
    txn_->Rollback().PermitUncheckedError();
    EndChanges();
  }

 private:
  rocksdb::ColumnFamilyHandle* Handle(Cf cf) const { return handles_[1 + static_cast<size_t>(cf)]; }

  // After the read: a commit it saw was published before it, so its slot shows it (below).
  void NoteRead(uint32_t slot) {
    if (marks_ == nullptr || !ReadMarks::Open()) return;
    const uint64_t mark = marks_->MarkOf(slot);
    ReadMarks::Note(mark != ChangeMarks::kEverything ? mark : db_->GetLatestSequenceNumber());
  }
  // Before the write can become visible: each slot once per transaction.
  void NoteWrite(Cf cf, std::string_view key) {
    if (marks_ == nullptr) return;
    const uint32_t slot = ChangeMarks::SlotOf(cf, key);
    if (slot == ChangeMarks::kNoSlot ||
        std::find(written_slots_.begin(), written_slots_.end(), slot) != written_slots_.end()) {
      return;
    }
    marks_->BeginChange(slot);
    written_slots_.push_back(slot);
  }
  // After the commit (the latest sequence number is at or past its own) or the rollback.
  void EndChanges() {
    if (written_slots_.empty()) return;
    const uint64_t seq = db_->GetLatestSequenceNumber();
    for (uint32_t slot : written_slots_) marks_->EndChange(slot, seq);
    written_slots_.clear();
  }

  rocksdb::TransactionDB* db_;
  const std::vector<rocksdb::ColumnFamilyHandle*>& handles_;
  std::unique_ptr<rocksdb::Transaction> txn_;
  RocksKv* early_release_kv_ = nullptr;
  const rocksdb::Snapshot* snapshot_ = nullptr;
  bool finished_ = false;
  ChangeMarks* marks_ = nullptr;
  std::vector<uint32_t> written_slots_;  // counted pending in marks_ until EndChanges
};

rocksdb::ColumnFamilyOptions MakeCfOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = cache;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // A whole-key bloom filter in each memtable: a Get of a key the memtable does not hold (a
  // name being created, anything flushed to SST files) skips the skiplist search.
  cf.memtable_prefix_bloom_size_ratio = kMemtableBloomRatio;
  cf.memtable_whole_key_filtering = true;
  return cf;
}

rocksdb::DBOptions MakeDbOptions(const RocksKvOptions& options) {
  rocksdb::DBOptions db;
  db.create_if_missing = options.create_if_missing;
  db.create_missing_column_families = options.create_if_missing;
  // Replay the WAL up to the first damaged record: what was synced before a crash survives.
  db.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  db.max_log_file_size = kInfoLogFileBytesMax;
  db.db_write_buffer_size = options.memtable_bytes_max;
  db.max_total_wal_size = options.wal_bytes_max;
  db.keep_log_file_num = kInfoLogFilesKept;
  db.max_open_files = options.open_files_max;
  // Deferred durability: commits append to RocksDB's WAL buffer and the syncer writes and syncs
  // it once per round (FlushWAL), instead of one write(2) per commit. Nothing is lost that was
  // answered for: every reply waits for a sync that covers what it saw.
  db.manual_wal_flush = options.sync_commits && options.defer_durability;
  if (options.env) db.env = options.env;
  return db;
}

}  // namespace

Result<std::unique_ptr<RocksKv>> RocksKv::Open(const std::string& dir,
                                               const RocksKvOptions& options) {
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  rocksdb::ColumnFamilyOptions cf_options = MakeCfOptions(cache);
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  cfs.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_options);
  for (int i = 0; i < kCfCount; i++) cfs.emplace_back(CfName(static_cast<Cf>(i)), cf_options);

  rocksdb::TransactionDBOptions txn_db_options;
  txn_db_options.transaction_lock_timeout = options.lock_timeout_ms;
  txn_db_options.default_lock_timeout = options.lock_timeout_ms;

  std::unique_ptr<RocksKv> kv(new RocksKv(options));
  const rocksdb::DBOptions db_options = MakeDbOptions(options);
  // Change marks (change_marks.h) need commits published in sequence order.
  MANIFOLD_CHECK(!db_options.unordered_write && !db_options.two_write_queues);
  rocksdb::Status s = rocksdb::TransactionDB::Open(db_options, txn_db_options, dir, cfs,
                                                   &kv->handles_, &kv->db_);
  if (!s.ok()) return FromRocks(s, ("open " + dir).c_str());
  MANIFOLD_CHECK(kv->handles_.size() == cfs.size());
  kv->durable_seq_ = kv->db_->GetLatestSequenceNumber();  // recovered from disk
  if (kv->deferred()) {
    kv->marks_ = std::make_unique<ChangeMarks>();
    kv->syncer_ = std::thread([raw = kv.get()] { raw->SyncLoop(); });
  }
  return kv;
}

RocksKv::~RocksKv() {
  if (syncer_.joinable()) {
    {
      std::lock_guard lock(waiters_mu_);
      stop_ = true;
    }
    waiters_cv_.notify_all();
    syncer_.join();  // its last round syncs and answers every waiter
  }
  if (!db_) return;
  if (deferred()) {
    // Changes nobody waited for since the last round (lease expiry, sweeps) are still in the
    // WAL buffer.
    Status s = FromRocks(db_->FlushWAL(/*sync=*/true), "flush WAL");
    if (!s.ok()) spdlog::critical("meta: WAL flush at close failed: {}", s.ToString());
  }
  for (rocksdb::ColumnFamilyHandle* h : handles_)
    db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db_->Close().PermitUncheckedError();
  delete db_;
}

std::unique_ptr<Txn> RocksKv::BeginTxn() {
  const bool early_release = options_.sync_commits && options_.early_lock_release;
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync_commits && !early_release && !deferred();
  rocksdb::TransactionOptions to;
  to.lock_timeout = options_.lock_timeout_ms;
  to.deadlock_detect = true;
  return std::make_unique<RocksTxn>(db_, handles_, db_->BeginTransaction(wo, to),
                                    early_release ? this : nullptr, marks_.get());
}

std::unique_ptr<Txn> RocksKv::BeginRead() {
  return std::make_unique<RocksTxn>(db_, handles_, marks_.get());
}

Status RocksKv::WaitDurable() {
  if (!options_.sync_commits || !options_.early_lock_release) return Status::Ok();
  return SyncUpTo(db_->GetLatestSequenceNumber());
}

uint64_t RocksKv::DurabilityMark() { return deferred() ? db_->GetLatestSequenceNumber() : 0; }

bool RocksKv::IsDurable(uint64_t mark) { return durable_seq_.load() >= mark; }

void RocksKv::WhenDurable(uint64_t mark, std::function<void(Status)> done) {
  if (IsDurable(mark)) return done(Status::Ok());
  {
    std::lock_guard lock(waiters_mu_);
    if (!stop_) {
      waiters_.push_back(Waiter{mark, std::move(done)});
      if (waiters_.size() == notify_at_) waiters_cv_.notify_one();
      return;
    }
  }
  done(SyncUpTo(mark));  // closing: the syncer is gone or going; sync here
}

Status RocksKv::WaitDurableUpTo(uint64_t mark) {
  if (IsDurable(mark)) return Status::Ok();
  return SyncUpTo(mark);
}

void RocksKv::Quiesce() {
  if (!deferred()) return;
  std::promise<void> ran;
  {
    std::lock_guard lock(waiters_mu_);
    if (stop_) return;  // the syncer answers everyone before it ends
    // Queued even though mark 0 is durable: the syncer answers in order, so when this runs
    // every earlier waiter has been answered.
    waiters_.push_back(Waiter{0, [&ran](Status) { ran.set_value(); }});
    waiters_cv_.notify_one();  // whatever the syncer waits for, it looks again
  }
  ran.get_future().wait();
}

void RocksKv::SyncLoop() {
  const auto idle = std::chrono::milliseconds(options_.idle_sync_interval_ms);
  const auto gather = std::chrono::microseconds(options_.sync_gather_us);
  size_t last_batch = 0;
  std::unique_lock lock(waiters_mu_);
  for (;;) {
    notify_at_ = 1;  // the first waiter wakes this thread
    waiters_cv_.wait_for(lock, idle, [this] { return stop_ || !waiters_.empty(); });
    // Under concurrent load (the last round answered several waiters) give the others a moment
    // to join this round: fewer syncs, each for more replies, and less CPU spent on syncs. A
    // lone client (rounds of one) never waits here.
    if (!stop_ && last_batch > 1 && waiters_.size() < last_batch) {
      notify_at_ = last_batch;  // woken once when as many wait as last time, or at the deadline
      waiters_cv_.wait_for(lock, gather, [&] { return stop_ || waiters_.size() >= last_batch; });
    }
    notify_at_ = SIZE_MAX;  // syncing: nobody needs to wake this thread
    std::vector<Waiter> batch;
    batch.swap(waiters_);
    const bool stopping = stop_;
    lock.unlock();
    // One sync for the whole batch (and everything committed before it starts); waiters that
    // arrive meanwhile wait for the next round.
    Status s = SyncUpTo(db_->GetLatestSequenceNumber());
    // (SyncUpTo logged the first failure; later rounds answer the same error.)
    for (Waiter& w : batch) w.done(s);  // ok: the sync covered every mark in the batch
    last_batch = batch.size();
    batch.clear();  // what the callbacks captured goes now, not under waiters_mu_
    lock.lock();
    if (stopping && waiters_.empty()) return;
  }
}

Status RocksKv::SyncUpTo(uint64_t seq) {
  std::unique_lock<std::mutex> lock(sync_mu_);
  // Group commit: while one WAL sync runs, later committers wait; when it ends, every waiter
  // it covered returns at once and one of the others starts the next sync for all of them.
  while (durable_seq_ < seq && sync_running_) sync_done_.wait(lock);
  if (durable_seq_ >= seq) return Status::Ok();
  if (!sync_failed_.ok()) return sync_failed_;
  sync_running_ = true;
  // Every sequence number <= target is already appended to the WAL (RocksDB publishes a
  // sequence number after its WAL write), so one sync makes all of them durable.
  const uint64_t target = db_->GetLatestSequenceNumber();
  lock.unlock();
  // With manual_wal_flush (deferred) the WAL buffer is written first, then synced.
  Status s = deferred() ? FromRocks(db_->FlushWAL(/*sync=*/true), "flush and sync WAL")
                        : FromRocks(db_->SyncWAL(), "sync WAL");
  lock.lock();
  sync_running_ = false;
  bool first_failure = false;
  if (s.ok()) {
    wal_syncs_++;
    durable_seq_ = std::max<uint64_t>(durable_seq_.load(), target);
  } else if (sync_failed_.ok()) {
    spdlog::critical("meta: a WAL sync failed ({}): no change past sequence number {} will "
                     "be reported durable until a restart recovers the store",
                     s.ToString(), durable_seq_.load());
    sync_failed_ = s;
    first_failure = true;
  }
  // Before the waiters go: a server that stops here stops before any of them answers.
  if (first_failure && options_.on_sync_failure) options_.on_sync_failure(s);
  sync_done_.notify_all();
  return s;
}

Status RocksKv::Flush() {
  rocksdb::FlushOptions fo;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(handles_.begin(), handles_.end());
  return FromRocks(db_->Flush(fo, cfs), "flush");
}

}  // namespace manifold::meta
