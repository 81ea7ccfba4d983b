// FileStateTable: clients, stateid lookup, release and revocation, opens (9.7, 9.9, 18.16,
// 18.18, 18.2). Locks are in file_locks.cc, the registry and stateid operations in
// file_stateids.cc.
#include "state/file_state.h"

#include "common/check.h"
#include "state/file_state_internal.h"
#include "state/grace.h"

namespace manifold::state {
namespace {

// RFC 8881 8.2.2 / 15.1 (NFS4ERR_STALE_STATEID): in NFSv4.1 a stateid of an earlier server
// instance cannot arrive through a live session, and STALE_STATEID is in no 4.1 operation's
// list of errors (15.2), so one from an earlier boot is simply not a valid stateid here.
constexpr nfsstat4 kEarlierInstanceStateidStatus = NFS4ERR_BAD_STATEID;

constexpr uint32_t kAccessBits = OPEN4_SHARE_ACCESS_BOTH;
constexpr uint32_t kDenyBits = OPEN4_SHARE_DENY_BOTH;
// Want bits tolerated and ignored: the two "when" wishes of RFC 8881 18.16.3 (the MDS never
// signals or pushes), and RFC 9754's delegated timestamps and OPEN_XOR_DELEGATION, which
// open_arguments does not offer.
constexpr uint32_t kWhenBits = OPEN4_SHARE_ACCESS_WANT_SIGNAL_DELEG_WHEN_RESRC_AVAIL |
                               OPEN4_SHARE_ACCESS_WANT_PUSH_DELEG_WHEN_UNCONTENDED |
                               OPEN4_SHARE_ACCESS_WANT_DELEG_TIMESTAMPS |
                               OPEN4_SHARE_ACCESS_WANT_OPEN_XOR_DELEGATION;

// 18.16.3: share_access carries READ/WRITE/BOTH and, in 4.1, the OPEN4_SHARE_ACCESS_WANT_*
// delegation wishes (delegations.cc); share_deny is NONE..BOTH. Anything else is
// NFS4ERR_INVAL.
nfsstat4 ValidateShare(uint32_t share_access, uint32_t share_deny, uint32_t* access,
                       uint32_t* deny) {
  uint32_t a = share_access & kAccessBits;
  uint32_t rest = share_access & ~(kAccessBits | OPEN4_SHARE_ACCESS_WANT_DELEG_MASK | kWhenBits);
  if (a == 0 || rest != 0) return NFS4ERR_INVAL;
  if ((share_access & OPEN4_SHARE_ACCESS_WANT_DELEG_MASK) > OPEN4_SHARE_ACCESS_WANT_CANCEL) {
    return NFS4ERR_INVAL;
  }
  if ((share_deny & ~kDenyBits) != 0) return NFS4ERR_INVAL;
  *access = a;
  *deny = share_deny;
  return NFS4_OK;
}

uint16_t SharePair(uint32_t access, uint32_t deny) { return uint16_t(1u << (access * 4 + deny)); }

}  // namespace

FileStateTable::FileStateTable(uint32_t boot_epoch, const StateLimits& limits, GracePeriod& grace)
    : boot_epoch_(boot_epoch), limits_(limits), grace_(grace) {}

FileStateTable::~FileStateTable() = default;

// ---- clients ----

void FileStateTable::RegisterClient(std::shared_ptr<ClientLive> client) {
  auto cf = std::make_unique<ClientFiles>();
  clientid4 id = client->clientid();
  cf->live = std::move(client);
  clients_[id] = std::move(cf);
}

bool FileStateTable::HasState(clientid4 clientid) const {
  auto it = clients_.find(clientid);
  return it != clients_.end() && !it->second->ids.empty();
}

FileStateTable::ClientFiles* FileStateTable::FindClient(clientid4 clientid) {
  auto it = clients_.find(clientid);
  return it == clients_.end() ? nullptr : it->second.get();
}

DroppedState FileStateTable::DropClient(clientid4 clientid) {
  DroppedState out;
  ClientFiles* cf = FindClient(clientid);
  if (cf == nullptr) return out;
  out.opens = cf->opens;
  out.lock_stateids = cf->lock_stateids;
  out.delegations = cf->delegations;
  out.layouts = cf->layouts;
  std::vector<uint64_t> ids(cf->ids.begin(), cf->ids.end());
  for (uint64_t id : ids) {
    Entry& e = *entries_.at(id);
    if (e.revoked != RevokeReason::kNone) continue;
    if (e.type == StateidType::kLock) out.lock_ranges += OwnerRangeCount(e);
    ReleaseEntryState(e);
  }
  for (uint64_t id : ids) EraseEntry(id);
  clients_.erase(clientid);
  return out;
}

// ---- entries ----

FileStateTable::Entry& FileStateTable::NewEntry(StateidType type, clientid4 clientid,
                                                uint64_t fileid) {
  MANIFOLD_CHECK(next_id_ <= kStateidIdMax);  // 2^56 stateids in one boot: not reachable
  auto e = std::make_unique<Entry>();
  e->id = next_id_++;
  e->type = type;
  e->clientid = clientid;
  e->fileid = fileid;
  Entry& ref = *e;
  ClientFiles* cf = FindClient(clientid);
  MANIFOLD_CHECK(cf != nullptr);
  cf->ids.insert(ref.id);
  switch (type) {
    case StateidType::kOpen:
      cf->opens++;
      break;
    case StateidType::kLock:
      cf->lock_stateids++;
      break;
    case StateidType::kDelegation:
      cf->delegations++;
      break;
    case StateidType::kLayout:
      cf->layouts++;
      break;
  }
  entries_.emplace(ref.id, std::move(e));
  return ref;
}

stateid4 FileStateTable::StateidOf(const Entry& e) const {
  return MakeStateid(StateidOther{boot_epoch_, e.type, e.id}, e.seqid);
}

FileStateTable::FileState& FileStateTable::File(uint64_t fileid) {
  auto& f = files_[fileid];
  if (!f) f = std::make_unique<FileState>();
  return *f;
}

bool FileStateTable::HasOpens(uint64_t fileid) const {
  auto it = files_.find(fileid);
  return it != files_.end() && !it->second->opens.empty();
}

void FileStateTable::MaybeEraseFile(uint64_t fileid) {
  auto it = files_.find(fileid);
  if (it != files_.end() && it->second->empty()) files_.erase(it);
}

uint32_t FileStateTable::OwnerRangeCount(const Entry& lock) const {
  auto f = files_.find(lock.fileid);
  if (f == files_.end()) return 0;
  auto it = f->second->locks.find(OwnerKey{lock.clientid, lock.owner});
  return it == f->second->locks.end() ? 0 : static_cast<uint32_t>(it->second.size());
}

uint32_t FileStateTable::lock_ranges_on_file(uint64_t fileid) const {
  auto it = files_.find(fileid);
  return it == files_.end() ? 0 : it->second->lock_ranges;
}

// RFC 8881 8.2.2, 8.2.4: which stateids an operation accepts. Special stateids are for the
// caller to handle first; here they are NFS4ERR_BAD_STATEID like any unknown one.
FileStateTable::Found FileStateTable::Lookup(clientid4 clientid, const stateid4& stateid,
                                             const LookupRule& rule) {
  if (IsSpecialStateid(stateid)) return {NFS4ERR_BAD_STATEID};
  std::optional<StateidOther> other = ParseStateidOther(stateid);
  if (!other) return {NFS4ERR_BAD_STATEID};
  if (other->epoch != boot_epoch_) return {kEarlierInstanceStateidStatus};
  if ((rule.types & TypeBit(other->type)) == 0) return {NFS4ERR_BAD_STATEID};
  auto it = entries_.find(other->id);
  if (it == entries_.end()) return {NFS4ERR_BAD_STATEID};
  Entry& e = *it->second;
  // A stateid is only valid for the client it was given to, and for its own file.
  if (e.type != other->type || e.clientid != clientid) return {NFS4ERR_BAD_STATEID};
  if (rule.fileid && e.fileid != *rule.fileid) return {NFS4ERR_BAD_STATEID};
  if (e.revoked != RevokeReason::kNone && !rule.allow_revoked) return {RevokedStatus(e), &e};
  if (rule.check_seqid) {
    nfsstat4 st = CheckStateidSeqid(stateid.seqid, e.seqid);
    if (st != NFS4_OK) return {st, &e};
  }
  return {NFS4_OK, &e};
}

nfsstat4 FileStateTable::RevokedStatus(const Entry& e) const {
  switch (e.revoked) {
    case RevokeReason::kAdmin:
      return NFS4ERR_ADMIN_REVOKED;
    case RevokeReason::kExpired:
      return NFS4ERR_EXPIRED;
    case RevokeReason::kRecall:
      return NFS4ERR_DELEG_REVOKED;
    case RevokeReason::kNone:
      break;
  }
  return NFS4_OK;
}

// ---- release and revocation ----

// Detaches a live entry from its file: share reservation, locks, registry. The stateid itself
// stays in entries_.
void FileStateTable::ReleaseEntryState(Entry& e) {
  auto fit = files_.find(e.fileid);
  if (fit == files_.end()) return;
  FileState& f = *fit->second;
  OwnerKey owner{e.clientid, e.owner};
  switch (e.type) {
    case StateidType::kOpen: {
      auto it = f.opens.find(owner);
      if (it != f.opens.end() && it->second == e.id) {
        f.opens.erase(it);
        CountShares(f, e.share_access, e.share_deny, -1);
      }
      break;
    }
    case StateidType::kLock:
      f.lock_states.erase({owner, e.open_id});
      SetOwnerRanges(f, owner, {});
      break;
    case StateidType::kDelegation:
      if (f.recallables.erase(e.id)) CountLiveDelegation(e, -1);
      recalls_pending_.erase(e.id);
      break;
    case StateidType::kLayout:
      f.recallables.erase(e.id);
      break;
  }
  MaybeEraseFile(e.fileid);
}

void FileStateTable::EraseEntry(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = *it->second;
  if (e.revoked != RevokeReason::kNone) CountRevoked(e, -1);
  recalls_pending_.erase(id);
  if (e.type == StateidType::kLock) {
    auto open = entries_.find(e.open_id);
    if (open != entries_.end()) std::erase(open->second->lock_ids, id);
  }
  if (ClientFiles* cf = FindClient(e.clientid)) {
    cf->ids.erase(id);
    switch (e.type) {
      case StateidType::kOpen:
        cf->opens--;
        break;
      case StateidType::kLock:
        cf->lock_stateids--;
        break;
      case StateidType::kDelegation:
        cf->delegations--;
        break;
      case StateidType::kLayout:
        cf->layouts--;
        break;
    }
  }
  entries_.erase(it);
}

void FileStateTable::CountRevoked(const Entry& e, int delta) {
  ClientFiles* cf = FindClient(e.clientid);
  if (cf == nullptr) return;
  std::atomic<uint32_t>* counter = nullptr;
  switch (e.revoked) {
    case RevokeReason::kAdmin:
      counter = &cf->live->revoked_admin;
      break;
    case RevokeReason::kExpired:
      counter = &cf->live->revoked_expired;
      break;
    case RevokeReason::kRecall:
      counter = &cf->live->revoked_recallable;
      break;
    case RevokeReason::kNone:
      return;
  }
  counter->fetch_add(static_cast<uint32_t>(delta));
}

// Revoking an open revokes the lock stateids derived from it (their locks go with it).
void FileStateTable::MarkRevoked(Entry& e, RevokeReason reason) {
  if (e.revoked != RevokeReason::kNone) return;
  ReleaseEntryState(e);
  e.revoked = reason;
  CountRevoked(e, +1);
  if (e.type != StateidType::kOpen) return;
  for (uint64_t lock_id : e.lock_ids) {
    auto it = entries_.find(lock_id);
    if (it != entries_.end()) MarkRevoked(*it->second, reason);
  }
}

nfsstat4 FileStateTable::Revoke(const stateid4& stateid, RevokeReason reason) {
  std::optional<StateidOther> other = ParseStateidOther(stateid);
  if (IsSpecialStateid(stateid) || !other || other->epoch != boot_epoch_) {
    return NFS4ERR_BAD_STATEID;
  }
  auto it = entries_.find(other->id);
  if (it == entries_.end() || it->second->type != other->type) return NFS4ERR_BAD_STATEID;
  MarkRevoked(*it->second, reason);
  return NFS4_OK;
}

uint32_t FileStateTable::RevokeClient(clientid4 clientid, RevokeReason reason) {
  ClientFiles* cf = FindClient(clientid);
  if (cf == nullptr) return 0;
  uint32_t n = 0;
  std::vector<uint64_t> ids(cf->ids.begin(), cf->ids.end());
  for (uint64_t id : ids) {
    Entry& e = *entries_.at(id);
    if (e.revoked != RevokeReason::kNone) continue;
    MarkRevoked(e, reason);
    ++n;
  }
  return n;
}

// ---- opens ----

void FileStateTable::CountShares(FileState& f, uint32_t access, uint32_t deny, int delta) {
  f.access_read += (access & OPEN4_SHARE_ACCESS_READ) ? delta : 0;
  f.access_write += (access & OPEN4_SHARE_ACCESS_WRITE) ? delta : 0;
  f.deny_read += (deny & OPEN4_SHARE_DENY_READ) ? delta : 0;
  f.deny_write += (deny & OPEN4_SHARE_DENY_WRITE) ? delta : 0;
}

// RFC 8881 9.7: an OPEN conflicts with the opens of every other open-owner when its access
// meets their deny or its deny meets their access. `own` (the owner's current open, when it
// has one) is taken out of the counts: an owner never conflicts with itself.
nfsstat4 FileStateTable::ShareConflict(const FileState& f, const Entry* own, uint32_t access,
                                       uint32_t deny) const {
  uint32_t own_a = own ? own->share_access : 0;
  uint32_t own_d = own ? own->share_deny : 0;
  uint32_t others_access_read = f.access_read - ((own_a & OPEN4_SHARE_ACCESS_READ) ? 1 : 0);
  uint32_t others_access_write = f.access_write - ((own_a & OPEN4_SHARE_ACCESS_WRITE) ? 1 : 0);
  uint32_t others_deny_read = f.deny_read - ((own_d & OPEN4_SHARE_DENY_READ) ? 1 : 0);
  uint32_t others_deny_write = f.deny_write - ((own_d & OPEN4_SHARE_DENY_WRITE) ? 1 : 0);
  bool conflict = ((access & OPEN4_SHARE_ACCESS_READ) && others_deny_read) ||
                  ((access & OPEN4_SHARE_ACCESS_WRITE) && others_deny_write) ||
                  ((deny & OPEN4_SHARE_DENY_READ) && others_access_read) ||
                  ((deny & OPEN4_SHARE_DENY_WRITE) && others_access_write);
  return conflict ? NFS4ERR_SHARE_DENIED : NFS4_OK;
}

// RFC 8881 10.2, 10.4: an OPEN by another client that a delegation does not allow (any open
// against a write delegation; write access or read deny against a read delegation) must wait
// for the delegation to be recalled: NFS4ERR_DELAY, and a recall for each holder not asked yet.
bool FileStateTable::DelegationConflicts(FileState& f, clientid4 clientid, uint32_t access,
                                         uint32_t deny, Instant now,
                                         std::vector<RecallRequest>* recalls) {
  bool any = false;
  for (uint64_t id : f.recallables) {
    Entry& d = *entries_.at(id);
    if (d.type != StateidType::kDelegation || d.clientid == clientid) continue;
    bool conflicts = d.kind == OPEN_DELEGATE_WRITE || (access & OPEN4_SHARE_ACCESS_WRITE) ||
                     (deny & OPEN4_SHARE_DENY_READ);
    if (!conflicts) continue;
    any = true;
    AskRecall(d, now, recalls);
  }
  return any;
}

OpenResult FileStateTable::Open(const OpenRequest& req, Instant now) {
  uint32_t access = 0, deny = 0;
  nfsstat4 st = ValidateShare(req.share_access, req.share_deny, &access, &deny);
  if (st != NFS4_OK) return {st};
  ClientFiles* cf = FindClient(req.clientid);
  if (cf == nullptr) return {NFS4ERR_EXPIRED};  // dropped while this compound ran
  st = req.reclaim ? grace_.CheckReclaim(req.clientid, now)
                   : grace_.CheckNonReclaim(req.clientid);
  if (st != NFS4_OK) return {st};
  if (req.delegation) {
    // 18.16.3 CLAIM_DELEGATE_CUR: the client's own, live delegation on this very file.
    Found d = Lookup(req.clientid, *req.delegation,
                     {TypeBit(StateidType::kDelegation), req.fileid});
    if (d.status != NFS4_OK) return {d.status};
    if ((access & OPEN4_SHARE_ACCESS_WRITE) && d.entry->kind != OPEN_DELEGATE_WRITE) {
      return {NFS4ERR_OPENMODE};  // a read delegation covers no write open
    }
  }
  FileState& f = File(req.fileid);
  OwnerKey key{req.clientid, std::string(req.owner)};
  auto own_it = f.opens.find(key);
  Entry* own = own_it == f.opens.end() ? nullptr : entries_.at(own_it->second).get();
  if (ShareConflict(f, own, access, deny) != NFS4_OK) {
    MaybeEraseFile(req.fileid);
    // 15.1 (NFS4ERR_RECLAIM_CONFLICT): two reclaims that conflict mean one of them is not a
    // state the client really held; the server cannot tell which.
    return {req.reclaim ? NFS4ERR_RECLAIM_CONFLICT : NFS4ERR_SHARE_DENIED};
  }
  std::vector<RecallRequest> recalls;
  if (DelegationConflicts(f, req.clientid, access, deny, now, &recalls)) {
    OpenResult r(NFS4ERR_DELAY);
    r.recalls = std::move(recalls);
    return r;
  }
  OpenResult r =
      own ? OpenExisting(*own, f, access, deny, req.reclaim) : OpenNew(req, *cf, access, deny);
  if (r.status == NFS4_OK) {
    r.delegation = DecideDelegation(req, f, access, *cf, &r.recalls, now);
  }
  MaybeEraseFile(req.fileid);
  return r;
}

// 9.9: a second OPEN of the same file by the same open-owner widens the open to the union of
// both, keeps the stateid and bumps its seqid.
OpenResult FileStateTable::OpenExisting(Entry& e, FileState& f, uint32_t access, uint32_t deny,
                                        bool reclaim) {
  OpenResult r(NFS4_OK);
  r.before = {e.share_access, e.share_deny, e.share_pairs, e.seqid, e.reclaimed};
  e.reclaimed |= reclaim;
  CountShares(f, e.share_access, e.share_deny, -1);
  e.share_access |= access;
  e.share_deny |= deny;
  e.share_pairs |= SharePair(access, deny);
  CountShares(f, e.share_access, e.share_deny, +1);
  e.seqid = NextSeqid(e.seqid);
  r.stateid = StateidOf(e);
  r.upgraded = true;
  return r;
}

bool FileStateTable::UndoUpgrade(clientid4 clientid, uint64_t fileid, const stateid4& upgraded,
                                 const OpenBefore& before) {
  Found found = Lookup(clientid, upgraded, {TypeBit(StateidType::kOpen), fileid});
  if (found.status != NFS4_OK || found.entry->seqid != upgraded.seqid) return false;
  Entry& e = *found.entry;
  FileState& f = File(fileid);
  CountShares(f, e.share_access, e.share_deny, -1);
  e.share_access = before.share_access;
  e.share_deny = before.share_deny;
  e.share_pairs = before.share_pairs;
  CountShares(f, e.share_access, e.share_deny, +1);
  e.seqid = before.seqid;
  e.reclaimed = before.reclaimed;
  return true;
}

OpenResult FileStateTable::OpenNew(const OpenRequest& req, ClientFiles& cf, uint32_t access,
                                   uint32_t deny) {
  if (cf.opens >= limits_.opens_per_client_max) return {kOpensPerClientMaxStatus};
  Entry& e = NewEntry(StateidType::kOpen, req.clientid, req.fileid);
  e.owner = std::string(req.owner);
  e.share_access = access;
  e.share_deny = deny;
  e.share_pairs = SharePair(access, deny);
  e.reclaimed = req.reclaim;
  FileState& f = File(req.fileid);
  f.opens[OwnerKey{req.clientid, e.owner}] = e.id;
  CountShares(f, access, deny, +1);
  OpenResult r(NFS4_OK);
  r.stateid = StateidOf(e);
  return r;
}

// 18.18.3: share_access is READ, WRITE or BOTH (no delegation wishes: MUST be NFS4ERR_INVAL),
// and the new (access, deny) the union of some of the OPENs in effect for the owner (SHOULD;
// knfsd asks it too); otherwise NFS4ERR_INVAL. The OPENs it leaves out are no longer in effect.
StateidResult FileStateTable::OpenDowngrade(clientid4 clientid, uint64_t fileid,
                                            const OPEN_DOWNGRADE4args& args) {
  Found found = Lookup(clientid, args.open_stateid, {TypeBit(StateidType::kOpen), fileid});
  if (found.status != NFS4_OK) return {found.status};
  if ((args.share_access & ~kAccessBits) != 0) return {NFS4ERR_INVAL};
  uint32_t access = 0, deny = 0;
  nfsstat4 st = ValidateShare(args.share_access, args.share_deny, &access, &deny);
  if (st != NFS4_OK) return {st};
  Entry& e = *found.entry;
  // The OPENs within the new pair: if any of them unite to it, all of them do.
  uint16_t kept = 0;
  uint32_t kept_access = 0, kept_deny = 0;
  for (uint32_t a = 1; a <= kAccessBits; ++a) {
    for (uint32_t d = 0; d <= kDenyBits; ++d) {
      if ((e.share_pairs & SharePair(a, d)) == 0 || (a & ~access) != 0 || (d & ~deny) != 0) {
        continue;
      }
      kept |= SharePair(a, d);
      kept_access |= a;
      kept_deny |= d;
    }
  }
  if (kept_access != access || kept_deny != deny) return {NFS4ERR_INVAL};
  e.share_pairs = kept;
  FileState& f = File(fileid);
  CountShares(f, e.share_access, e.share_deny, -1);
  e.share_access = access;
  e.share_deny = deny;
  CountShares(f, access, deny, +1);
  e.seqid = NextSeqid(e.seqid);
  return {NFS4_OK, StateidOf(e)};
}

bool FileStateTable::OpenHasLocks(const Entry& open) {
  auto fit = files_.find(open.fileid);
  if (fit == files_.end()) return false;
  for (uint64_t lock_id : open.lock_ids) {
    const Entry& l = *entries_.at(lock_id);
    if (fit->second->locks.count(OwnerKey{l.clientid, l.owner})) return true;
  }
  return false;
}

// 18.2.4: the server MAY refuse a CLOSE while locks derived from the open are held; it does
// (NFS4ERR_LOCKS_HELD) rather than drop locks the client believes it holds. On success the
// open's lock stateids go too, and the reply carries the invalid special stateid.
StateidResult FileStateTable::Close(clientid4 clientid, uint64_t fileid, const CLOSE4args& args) {
  Found found = Lookup(clientid, args.open_stateid, {TypeBit(StateidType::kOpen), fileid});
  if (found.status != NFS4_OK) return {found.status};
  Entry& e = *found.entry;
  if (OpenHasLocks(e)) return {NFS4ERR_LOCKS_HELD};
  std::vector<uint64_t> locks = e.lock_ids;
  for (uint64_t lock_id : locks) {
    Entry& l = *entries_.at(lock_id);
    if (l.revoked == RevokeReason::kNone) ReleaseEntryState(l);
    EraseEntry(lock_id);
  }
  uint64_t id = e.id;
  ReleaseEntryState(e);
  EraseEntry(id);
  return {NFS4_OK, InvalidStateid()};
}

}  // namespace manifold::state
