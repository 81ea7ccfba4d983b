// Change marks: which commits a read may rest on, per object, so that an answer made only of
// reads waits for the sync of the changes it read and not for every change made before it
// (deferred durability, docs/schema.md "Durability and group commit").
//
// Every namespace object (an inode with its entries, cookies, extents, xattrs and orphan
// record: the families whose keys start with be64(fileid)) maps to one of kChangeMarkSlots
// slots. A transaction that writes a key of a slot counts itself pending there before its
// commit becomes visible, and after the commit raises the slot's sequence number to the
// store's latest (at or past its own) and stops counting. A read of a slot is covered by that sequence number while nothing is
// pending there; while something is, and for a key of no slot (volumes, clients, sys), by
// every commit visible at the time (the mark the whole store would give). Objects that share
// a slot only make each other's reads wait longer.
//
// Why the order suffices: a reader that sees a commit read it after the commit was published,
// which the writer did after counting itself pending, so the reader sees the slot pending or
// sees the decrement, and the sequence number stored before that decrement with it. This rests
// on the store publishing commits in sequence order and on its latest sequence number after a
// commit being at or past that commit's (RocksDB's write-committed transactions, without
// unordered_write or two_write_queues, as RocksKv opens it).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "meta/schema.h"

namespace manifold::meta {

// 64 Ki slots of 16 bytes: 1 MiB.
inline constexpr uint32_t kChangeMarkSlots = 1u << 16;

class ChangeMarks {
 public:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  ChangeMarks();

  // The slot of the object `key` of `cf` belongs to, or kNoSlot (families not keyed by fileid).
  static uint32_t SlotOf(Cf cf, std::string_view key);
  // The slot every key of [lower, upper) belongs to, or kNoSlot if the range spans objects.
  static uint32_t SlotOfRange(Cf cf, std::string_view lower, std::string_view upper);

  // Before a write of the slot's object becomes visible.
  void BeginChange(uint32_t slot);
  // After the commit or the rollback; `seq` is the store's latest sequence number then.
  void EndChange(uint32_t slot, uint64_t seq);
  // The mark a read of the slot's object rests on, or kEverything while a change of it is
  // under way (and for kNoSlot): the read then rests on the store's mark taken after it.
  static constexpr uint64_t kEverything = UINT64_MAX;
  uint64_t MarkOf(uint32_t slot) const;

 private:
  struct Slot {
    std::atomic<uint32_t> pending{0};
    std::atomic<uint64_t> seq{0};
  };
  std::unique_ptr<Slot[]> slots_;
};

// The highest mark the reads made on this thread rest on while it is open: a Kv that tracks
// change marks raises the innermost open one on every read, and one that closes raises the
// one it was opened in. For any other Kv it stays 0 and must not be used
// (Kv::TracksReadMarks). It is per thread, not per Kv: one process serves one store.
class ReadMarks {
 public:
  ReadMarks();
  ~ReadMarks();
  ReadMarks(const ReadMarks&) = delete;
  ReadMarks& operator=(const ReadMarks&) = delete;

  uint64_t mark() const { return mark_; }

  // True while a ReadMarks is open on this thread.
  static bool Open();
  // Raises the innermost open one's mark to `mark`.
  static void Note(uint64_t mark);

 private:
  uint64_t mark_ = 0;
  ReadMarks* outer_;  // open on this thread before this one, restored when this one closes
};

}  // namespace manifold::meta
