// The Kv seam: a small transactional key-value interface, the only thing the namespace code
// knows about its store. RocksKv (rocks_kv.h) implements it over RocksDB; a distributed engine
// (TiKV, FoundationDB) can implement it later (DESIGN.md section 8), and tests wrap it to
// inject conflicts.
//
// Isolation contract, which every mutation in meta/ops/ relies on and every implementation
// must provide:
//  - A read-write Txn reads the latest committed data plus its own writes (no snapshot).
//  - GetForUpdate(k) guarantees that no other transaction that also read or wrote k commits a
//    change to k between this read and this Txn's commit. An engine may enforce it by a lock
//    held until commit (RocksDB pessimistic: contention waits, then kConflict on lock timeout or
//    deadlock) or by validation at commit (optimistic engines: Commit returns kConflict).
//    A mutation therefore reads every key whose value its decision depends on with
//    GetForUpdate; plain Get is for values it only copies or that a held key already protects.
//  - Put/Delete of a key conflict with concurrent GetForUpdate/Put/Delete of the same key.
//  - A read-only Txn (Kv::BeginRead) reads one consistent snapshot; it never commits.
//  - Commit is all-or-nothing and, when the Kv is configured durable, on stable storage when it
//    returns ok (see WaitDurable for engines that publish before they sync). Any call may
//    return kConflict; the transaction is then dead and the caller
//    (only TxnRunner) retries it from the start.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "meta/schema.h"

namespace manifold::meta {

// A forward iterator over the keys of one column family in [lower, upper), in byte order.
// It sees the Txn's own uncommitted writes. It must not outlive the Txn that made it.
class KvIterator {
 public:
  virtual ~KvIterator() = default;
  virtual bool Valid() const = 0;
  virtual void Next() = 0;
  virtual std::string_view key() const = 0;    // only while Valid()
  virtual std::string_view value() const = 0;  // only while Valid()
  // Not ok when iteration stopped on an error rather than at the bound.
  virtual Status status() const = 0;
};

class Txn {
 public:
  virtual ~Txn() = default;  // an uncommitted Txn is rolled back

  // kNotFound when absent.
  virtual Result<std::string> Get(Cf cf, std::string_view key) = 0;
  virtual Result<std::string> GetForUpdate(Cf cf, std::string_view key) = 0;
  virtual Status Put(Cf cf, std::string_view key, std::string_view value) = 0;
  virtual Status Delete(Cf cf, std::string_view key) = 0;
  // Keys in [lower, upper); an empty `upper` means "to the end of the column family".
  virtual std::unique_ptr<KvIterator> NewIterator(Cf cf, std::string lower, std::string upper) = 0;

  // Read-write: publishes every write atomically (durable on return when so configured) or
  // returns kConflict / an I/O error and publishes nothing. Read-only: ok, does nothing.
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
};

class Kv {
 public:
  virtual ~Kv() = default;
  virtual std::unique_ptr<Txn> BeginTxn() = 0;   // read-write
  virtual std::unique_ptr<Txn> BeginRead() = 0;  // read-only snapshot; writes return kInternal

  // Returns once everything committed so far is durable. For engines that make a commit
  // visible to other transactions before it is durable (RocksKv with early_lock_release), the
  // TxnRunner calls this before any answer that may rest on other transactions' commits (reads,
  // failed mutations) is returned, so that no client sees state a crash could take back.
  // No-op when every commit is durable before it is visible.
  virtual Status WaitDurable() { return Status::Ok(); }

  // Deferred durability (RocksKv with defer_durability): Commit returns once the change is
  // written and visible, unsynced, and WaitDurable does not wait; the caller holds back every
  // answer until a sync covers the mark it took after its work. DurabilityMark covers every
  // commit visible now; WhenDurable calls `done` once all of them are durable (at once if they
  // are; with the error if the sync failed), on any thread. Engines that are durable at commit
  // return 0 and call `done` at once.
  virtual bool DefersDurability() const { return false; }
  virtual uint64_t DurabilityMark() { return 0; }
  virtual bool IsDurable(uint64_t mark) { return true; }
  virtual void WhenDurable(uint64_t mark, std::function<void(Status)> done) { done(Status::Ok()); }
  // True when the engine raises the thread's open meta::ReadMarks on every read to the mark of
  // the last change to what was read (change_marks.h), so that an answer resting on reads
  // alone may wait for that mark instead of DurabilityMark().
  virtual bool TracksReadMarks() const { return false; }
  // Blocking form of WhenDurable.
  virtual Status WaitDurableUpTo(uint64_t mark) { return Status::Ok(); }
  // Returns once every `done` handed to WhenDurable before the call has run (an owner of
  // such callbacks calls it before it goes away).
  virtual void Quiesce() {}
};

// Every key of `cf` that starts with `prefix`.
inline std::unique_ptr<KvIterator> NewPrefixIterator(Txn& txn, Cf cf, std::string_view prefix) {
  return txn.NewIterator(cf, std::string(prefix), PrefixSuccessor(prefix));
}

}  // namespace manifold::meta
