// FileStateTable: TEST_STATEID (18.48), FREE_STATEID (18.38), the I/O check (9.1.2, 9.7), and
// the delegation and layout registry (10.2, 12.5).
#include "state/file_state.h"
#include "state/file_state_internal.h"
#include "state/grace.h"

namespace manifold::state {
namespace {

constexpr uint32_t kAllTypes = (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4);
constexpr uint32_t kRecallableTypes = (1u << 3) | (1u << 4);

}  // namespace

// 18.48.3: per stateid NFS4_OK, NFS4ERR_BAD_STATEID (unknown, special, another client's),
// NFS4ERR_OLD_STATEID, or the revocation status (ADMIN_REVOKED, EXPIRED, DELEG_REVOKED).
nfsstat4 FileStateTable::TestStateid(clientid4 clientid, const stateid4& stateid) {
  return Lookup(clientid, stateid, {kAllTypes}).status;
}

// 18.38.3: FREE_STATEID forgets a stateid that no longer has locks of any kind: a revoked
// stateid, or a lock stateid whose lock-owner holds no byte ranges on the file. A stateid that
// still carries a lock (an open's share reservation, byte ranges, a delegation, a layout) is
// NFS4ERR_LOCKS_HELD and stays.
nfsstat4 FileStateTable::FreeStateid(clientid4 clientid, const stateid4& stateid) {
  LookupRule rule{kAllTypes};
  rule.allow_revoked = true;
  Found found = Lookup(clientid, stateid, rule);
  if (found.status != NFS4_OK) return found.status;
  Entry& e = *found.entry;
  if (e.revoked != RevokeReason::kNone) {
    EraseEntry(e.id);
    return NFS4_OK;
  }
  if (e.type != StateidType::kLock || OwnerRangeCount(e) != 0) return NFS4ERR_LOCKS_HELD;
  uint64_t id = e.id;
  ReleaseEntryState(e);
  EraseEntry(id);
  return NFS4_OK;
}

// I/O (READ, WRITE, SETATTR of size) through the MDS.
//  - The anonymous and READ-bypass stateids (8.2.3) are allowed unless another open's share
//    reservation denies the access (9.7): NFS4ERR_LOCKED, as Linux knfsd answers. READ with the
//    bypass stateid skips the deny check (that is its purpose); WRITE with it is treated as
//    anonymous. During the grace period deny reservations may still be reclaimed, so I/O with a
//    special stateid is NFS4ERR_GRACE.
//  - An open, lock or delegation stateid of this client and file must allow the access: WRITE
//    needs write access (NFS4ERR_OPENMODE). READ is allowed with a write-only open: 9.1.2 lets
//    the server allow it, and clients read to fill partial pages they write.
//  - Byte-range locks are advisory (POSIX): they never fail I/O (no NFS4ERR_LOCKED).
//  - A layout stateid is not an I/O stateid: NFS4ERR_BAD_STATEID.
nfsstat4 FileStateTable::CheckIo(clientid4 clientid, const stateid4& stateid, uint64_t fileid,
                                 bool want_write) {
  bool anonymous = IsAnonymousStateid(stateid);
  if (anonymous || IsReadBypassStateid(stateid)) {
    if (grace_.InGrace()) return NFS4ERR_GRACE;
    auto f = files_.find(fileid);
    if (f == files_.end()) return NFS4_OK;
    if (want_write) return f->second->deny_write ? NFS4ERR_LOCKED : NFS4_OK;
    return anonymous && f->second->deny_read ? NFS4ERR_LOCKED : NFS4_OK;
  }
  uint32_t types =
      TypeBit(StateidType::kOpen) | TypeBit(StateidType::kLock) | TypeBit(StateidType::kDelegation);
  Found found = Lookup(clientid, stateid, {types, fileid});
  if (found.status != NFS4_OK) return found.status;
  const Entry* e = found.entry;
  uint32_t access = 0;
  if (e->type == StateidType::kDelegation) {
    access = e->kind == OPEN_DELEGATE_WRITE ? OPEN4_SHARE_ACCESS_BOTH : OPEN4_SHARE_ACCESS_READ;
  } else {
    if (e->type == StateidType::kLock) {
      auto open = entries_.find(e->open_id);
      if (open == entries_.end()) return NFS4ERR_BAD_STATEID;
      e = open->second.get();
      if (e->revoked != RevokeReason::kNone) return RevokedStatus(*e);
    }
    access = e->share_access;
  }
  if (want_write && (access & OPEN4_SHARE_ACCESS_WRITE) == 0) return NFS4ERR_OPENMODE;
  return NFS4_OK;
}

// ---- delegations and layouts ----

// One delegation per client and file (10.2); one layout stateid per client, file and layout
// type (12.5.2), whose seqid each further grant bumps.
StateidResult FileStateTable::RecordRecallable(clientid4 clientid, uint64_t fileid,
                                               StateidType type, uint32_t kind) {
  ClientFiles* cf = FindClient(clientid);
  if (cf == nullptr) return {NFS4ERR_EXPIRED};
  if (type != StateidType::kDelegation && type != StateidType::kLayout) return {NFS4ERR_INVAL};
  FileState& f = File(fileid);
  for (uint64_t id : f.recallables) {
    Entry& e = *entries_.at(id);
    if (e.clientid != clientid || e.type != type) continue;
    if (type == StateidType::kDelegation) return {NFS4_OK, StateidOf(e)};
    if (e.kind != kind) continue;
    e.seqid = NextSeqid(e.seqid);
    return {NFS4_OK, StateidOf(e)};
  }
  bool full = type == StateidType::kDelegation
                  ? cf->delegations >= limits_.delegations_per_client_max
                  : cf->layouts >= limits_.layouts_per_client_max;
  if (full) {
    MaybeEraseFile(fileid);
    return {kRecallablePerClientMaxStatus};
  }
  Entry& e = NewEntry(type, clientid, fileid);
  e.kind = kind;
  f.recallables.insert(e.id);
  if (type == StateidType::kDelegation) CountLiveDelegation(e, +1);
  return {NFS4_OK, StateidOf(e)};
}

std::optional<RecallableInfo> FileStateTable::FindRecallable(const stateid4& stateid) {
  std::optional<StateidOther> other = ParseStateidOther(stateid);
  if (IsSpecialStateid(stateid) || !other || other->epoch != boot_epoch_) return std::nullopt;
  auto it = entries_.find(other->id);
  if (it == entries_.end()) return std::nullopt;
  const Entry& e = *it->second;
  if ((TypeBit(e.type) & kRecallableTypes) == 0 || e.type != other->type) return std::nullopt;
  return RecallableInfo{StateidOf(e),       e.type,   e.clientid, e.fileid, e.kind,
                        e.recall_requested, e.revoked};
}

std::vector<RecallableInfo> FileStateTable::RecallablesOnFile(uint64_t fileid, StateidType type) {
  std::vector<RecallableInfo> out;
  auto f = files_.find(fileid);
  if (f == files_.end()) return out;
  for (uint64_t id : f->second->recallables) {
    const Entry& e = *entries_.at(id);
    if (e.type != type) continue;
    out.push_back(
        {StateidOf(e), e.type, e.clientid, e.fileid, e.kind, e.recall_requested, e.revoked});
  }
  return out;
}

StateidResult FileStateTable::BumpRecallable(clientid4 clientid, const stateid4& stateid) {
  Found found = Lookup(clientid, stateid, {kRecallableTypes});
  if (found.status != NFS4_OK) return {found.status};
  found.entry->seqid = NextSeqid(found.entry->seqid);
  return {NFS4_OK, StateidOf(*found.entry)};
}

nfsstat4 FileStateTable::RemoveRecallable(clientid4 clientid, const stateid4& stateid) {
  Found found = Lookup(clientid, stateid, {kRecallableTypes});
  if (found.status != NFS4_OK) return found.status;
  uint64_t id = found.entry->id;
  ReleaseEntryState(*found.entry);
  EraseEntry(id);
  return NFS4_OK;
}

std::optional<RecallRequest> FileStateTable::RequestRecall(const stateid4& stateid, Instant now) {
  std::optional<StateidOther> other = ParseStateidOther(stateid);
  if (IsSpecialStateid(stateid) || !other || other->epoch != boot_epoch_) return std::nullopt;
  auto it = entries_.find(other->id);
  if (it == entries_.end()) return std::nullopt;
  Entry& e = *it->second;
  if ((TypeBit(e.type) & kRecallableTypes) == 0 || e.revoked != RevokeReason::kNone ||
      e.recall_requested) {
    return std::nullopt;
  }
  std::vector<RecallRequest> out;
  AskRecall(e, now, &out);
  return out.front();
}

}  // namespace manifold::state
