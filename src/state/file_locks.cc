// FileStateTable: byte-range locks (RFC 8881 9.2-9.6, 18.10 LOCK, 18.11 LOCKT, 18.12 LOCKU).
#include "common/check.h"
#include "state/file_state.h"
#include "state/file_state_internal.h"
#include "state/grace.h"

namespace manifold::state {
namespace {

// 9.6: the blocking types are answered like the non-blocking ones (NFS4ERR_DENIED on
// conflict; no CB_NOTIFY_LOCK). Anything else is not a lock type: NFS4ERR_INVAL.
bool NormalizeLockType(const nfs_lock_type4& in, nfs_lock_type4* out) {
  switch (RawEnum(in)) {
    case READ_LT:
    case READW_LT:
      *out = READ_LT;
      return true;
    case WRITE_LT:
    case WRITEW_LT:
      *out = WRITE_LT;
      return true;
  }
  return false;
}

std::string OwnerBytes(const lock_owner4& o) {
  return std::string(OpaqueView(o.owner.owner_val, o.owner.owner_len));
}

}  // namespace

void FileStateTable::SetOwnerRanges(FileState& f, const OwnerKey& owner,
                                    std::vector<HeldRange> ranges) {
  auto it = f.locks.find(owner);
  uint32_t old_count = it == f.locks.end() ? 0 : static_cast<uint32_t>(it->second.size());
  MANIFOLD_CHECK(f.lock_ranges >= old_count);
  f.lock_ranges = f.lock_ranges - old_count + static_cast<uint32_t>(ranges.size());
  if (ranges.empty()) {
    if (it != f.locks.end()) f.locks.erase(it);
    return;
  }
  f.locks[owner] = std::move(ranges);
}

// 9.2: a lock conflicts with another owner's lock on overlapping bytes unless both are read
// locks. The first conflict found becomes LOCK4denied (18.10.4).
bool FileStateTable::FindConflict(const FileState& f, const OwnerKey& owner, const ByteRange& r,
                                  nfs_lock_type4 type, LockDenied* denied) const {
  for (const auto& [holder, ranges] : f.locks) {
    if (holder == owner) continue;
    for (const HeldRange& h : ranges) {
      if (!Overlaps(h.range, r) || !TypesConflict(h.type, type)) continue;
      *denied = LockDenied{h.range.first, LengthOf(h.range), h.type, holder.clientid, holder.owner};
      return true;
    }
  }
  return false;
}

// 18.10.3: new_lock_owner TRUE names an open stateid and a lock-owner (open_to_lock_owner4);
// FALSE names the lock stateid the lock-owner already has (exist_lock_owner4). In 4.1 the
// seqids in both are ignored (sessions give exactly-once) and so is the client ID inside the
// lock-owner: the session's client is the owner's client. A lock-owner that already has a lock
// stateid for that open gets it back.
FileStateTable::Locker FileStateTable::ResolveLocker(clientid4 clientid, uint64_t fileid,
                                                     const locker4& locker) {
  Locker lk;
  if (locker.new_lock_owner) {
    const open_to_lock_owner4& o = locker.locker4_u.open_owner;
    Found open = Lookup(clientid, o.open_stateid, {TypeBit(StateidType::kOpen), fileid});
    if (open.status != NFS4_OK) return {open.status};
    lk.open = open.entry;
    lk.lock_owner = OwnerKey{clientid, OwnerBytes(o.lock_owner)};
    auto f = files_.find(fileid);
    if (f != files_.end()) {
      auto it = f->second->lock_states.find({lk.lock_owner, lk.open->id});
      if (it != f->second->lock_states.end()) lk.lock = entries_.at(it->second).get();
    }
    return lk;
  }
  const exist_lock_owner4& e = locker.locker4_u.lock_owner;
  Found lock = Lookup(clientid, e.lock_stateid, {TypeBit(StateidType::kLock), fileid});
  if (lock.status != NFS4_OK) return {lock.status};
  lk.lock = lock.entry;
  lk.lock_owner = OwnerKey{clientid, lk.lock->owner};
  auto open = entries_.find(lk.lock->open_id);
  if (open == entries_.end()) return {NFS4ERR_BAD_STATEID};
  if (open->second->revoked != RevokeReason::kNone) return {RevokedStatus(*open->second)};
  lk.open = open->second.get();
  return lk;
}

// Reclaims are allowed only in the grace period to clients on stable storage (8.4.2.1); a lock
// reclaim on an open that was not itself reclaimed could not have existed before the restart:
// NFS4ERR_RECLAIM_BAD (15.1). (Defence in depth: such an open cannot arise today, since a client
// may not open without reclaim before its RECLAIM_COMPLETE, after which it may not reclaim.)
// Non-reclaims wait for the grace period and for the client's RECLAIM_COMPLETE (18.51.3).
nfsstat4 FileStateTable::CheckLockGrace(clientid4 clientid, bool reclaim, const Locker& lk,
                                        Instant now) {
  if (!reclaim) return grace_.CheckNonReclaim(clientid);
  nfsstat4 st = grace_.CheckReclaim(clientid, now);
  if (st != NFS4_OK) return st;
  return lk.open->reclaimed ? NFS4_OK : NFS4ERR_RECLAIM_BAD;
}

FileStateTable::Entry& FileStateTable::MakeLockEntry(const Locker& lk, uint64_t fileid) {
  Entry& e = NewEntry(StateidType::kLock, lk.lock_owner.clientid, fileid);
  e.owner = lk.lock_owner.owner;
  e.open_id = lk.open->id;
  lk.open->lock_ids.push_back(e.id);
  File(fileid).lock_states[{lk.lock_owner, lk.open->id}] = e.id;
  return e;
}

LockResult FileStateTable::ApplyLockRanges(clientid4 clientid, uint64_t fileid, const Locker& lk,
                                           const ByteRange& r, nfs_lock_type4 type, bool reclaim) {
  FileState& f = File(fileid);
  LockResult res;
  if (FindConflict(f, lk.lock_owner, r, type, &res.denied)) {
    MaybeEraseFile(fileid);
    res.status = reclaim ? NFS4ERR_RECLAIM_CONFLICT : NFS4ERR_DENIED;
    return res;
  }
  auto held_it = f.locks.find(lk.lock_owner);
  static const std::vector<HeldRange> kNone;
  const std::vector<HeldRange>& held = held_it == f.locks.end() ? kNone : held_it->second;
  std::vector<HeldRange> next = ApplyLock(held, r, type);
  if (f.lock_ranges - held.size() + next.size() > limits_.locks_per_file_max) {
    MaybeEraseFile(fileid);
    return {kLocksPerFileMaxStatus};
  }
  ClientFiles* cf = FindClient(clientid);
  if (lk.lock == nullptr && cf->lock_stateids >= limits_.lock_stateids_per_client_max) {
    MaybeEraseFile(fileid);
    return {kLockStateidsPerClientMaxStatus};
  }
  Entry& lock = lk.lock ? *lk.lock : MakeLockEntry(lk, fileid);
  if (lk.lock) lock.seqid = NextSeqid(lock.seqid);  // 9.4: every LOCK/LOCKU bumps the seqid
  SetOwnerRanges(f, lk.lock_owner, std::move(next));
  res.lock_stateid = StateidOf(lock);
  return res;
}

LockResult FileStateTable::Lock(clientid4 clientid, uint64_t fileid, const LOCK4args& args,
                                Instant now) {
  nfs_lock_type4 type;
  if (!NormalizeLockType(args.locktype, &type)) return {NFS4ERR_INVAL};
  ByteRange r;
  nfsstat4 st = RangeFromOffsetLength(args.offset, args.length, &r);
  if (st != NFS4_OK) return {st};
  if (FindClient(clientid) == nullptr) return {NFS4ERR_EXPIRED};
  Locker lk = ResolveLocker(clientid, fileid, args.locker);
  if (lk.status != NFS4_OK) return {lk.status};
  // 18.10.4: a lock type the open's access does not allow is NFS4ERR_OPENMODE (POSIX: a read
  // lock needs the file open for reading, a write lock for writing).
  uint32_t need = type == WRITE_LT ? OPEN4_SHARE_ACCESS_WRITE : OPEN4_SHARE_ACCESS_READ;
  if ((lk.open->share_access & need) == 0) return {NFS4ERR_OPENMODE};
  st = CheckLockGrace(clientid, args.reclaim, lk, now);
  if (st != NFS4_OK) return {st};
  return ApplyLockRanges(clientid, fileid, lk, r, type, args.reclaim);
}

// 18.11.4: LOCKT tests for a conflict as LOCK would and never creates state; the lock-owner
// need not exist. During the grace period the answer could miss locks still to be reclaimed:
// NFS4ERR_GRACE.
LockResult FileStateTable::LockTest(clientid4 clientid, uint64_t fileid,
                                    const LOCKT4args& args) {
  nfs_lock_type4 type;
  if (!NormalizeLockType(args.locktype, &type)) return {NFS4ERR_INVAL};
  ByteRange r;
  nfsstat4 st = RangeFromOffsetLength(args.offset, args.length, &r);
  if (st != NFS4_OK) return {st};
  if (grace_.InGrace()) return {NFS4ERR_GRACE};
  LockResult res;
  auto f = files_.find(fileid);
  if (f == files_.end()) return res;
  OwnerKey owner{clientid, OwnerBytes(args.owner)};
  if (FindConflict(*f->second, owner, r, type, &res.denied)) res.status = NFS4ERR_DENIED;
  return res;
}

// 18.12.4: LOCKU releases the bytes in range whatever type they are locked with (splitting a
// lock that extends past them); unlocking bytes that are not locked is not an error.
StateidResult FileStateTable::Unlock(clientid4 clientid, uint64_t fileid, const LOCKU4args& args) {
  nfs_lock_type4 type;
  if (!NormalizeLockType(args.locktype, &type)) return {NFS4ERR_INVAL};
  ByteRange r;
  nfsstat4 st = RangeFromOffsetLength(args.offset, args.length, &r);
  if (st != NFS4_OK) return {st};
  Found found = Lookup(clientid, args.lock_stateid, {TypeBit(StateidType::kLock), fileid});
  if (found.status != NFS4_OK) return {found.status};
  Entry& lock = *found.entry;
  OwnerKey owner{clientid, lock.owner};
  FileState& f = File(fileid);
  auto held_it = f.locks.find(owner);
  if (held_it != f.locks.end()) {
    std::vector<HeldRange> next = ApplyUnlock(held_it->second, r);
    if (f.lock_ranges - held_it->second.size() + next.size() > limits_.locks_per_file_max) {
      return {kLocksPerFileSplitStatus};
    }
    SetOwnerRanges(f, owner, std::move(next));
  }
  lock.seqid = NextSeqid(lock.seqid);
  return {NFS4_OK, StateidOf(lock)};
}

}  // namespace manifold::state
