// Per-file state and every stateid (RFC 8881 8.2, chapter 9, 10.2, 12.5): opens with their share
// reservations, byte-range locks, and the registry of delegation and layout stateids. Files are
// named by fileid (the namespace's u64); the namespace itself is not here.
//
// Thread safety: guarded by mu(); every method requires it held. Methods never call out (no
// RecallSink, no store): recalls they want are returned to the caller, which makes them after
// unlocking. Lock order: see state_manager.h.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "state/client_live.h"
#include "state/limits.h"
#include "state/lock_ranges.h"
#include "state/stateid.h"
#include "state/types.h"

namespace manifold::state {

class GracePeriod;

// Why a stateid was revoked; it stays known (for TEST_STATEID) until FREE_STATEID.
enum class RevokeReason : uint8_t {
  kNone = 0,
  kAdmin,    // NFS4ERR_ADMIN_REVOKED, SEQ4_STATUS_ADMIN_STATE_REVOKED
  kExpired,  // NFS4ERR_EXPIRED, SEQ4_STATUS_EXPIRED_SOME_STATE_REVOKED
  kRecall,   // a recall the client did not answer: NFS4ERR_DELEG_REVOKED,
             // SEQ4_STATUS_RECALLABLE_STATE_REVOKED
};

// A recall the caller must pass to the RecallSink after unlocking.
struct RecallRequest {
  clientid4 clientid = 0;
  uint64_t fileid = 0;
  StateidType type = StateidType::kDelegation;
  stateid4 stateid{};
  uint32_t kind = 0;  // open_delegation_type4 or layouttype4
};

// ---- operation inputs and results ----

struct OpenRequest {
  clientid4 clientid = 0;  // the session's client (18.16.3: the owner's clientid is ignored)
  std::string_view owner;  // open_owner4.owner
  uint64_t fileid = 0;
  uint32_t share_access = 0;  // OPEN4_SHARE_ACCESS_* with any OPEN4_SHARE_ACCESS_WANT_* bits
  uint32_t share_deny = 0;
  bool reclaim = false;  // CLAIM_PREVIOUS (and CLAIM_DELEGATE_PREV / CLAIM_DELEG_PREV_FH)
  // Delegations (RFC 8881 10.4, delegations.cc). The MDS sets may_delegate when the client's
  // back channel works, so a recall could reach it.
  bool may_delegate = false;
  // CLAIM_PREVIOUS: the delegation the client held before the restart (delegate_type).
  open_delegation_type4 reclaim_delegation = OPEN_DELEGATE_NONE;
  // CLAIM_DELEGATE_CUR / CLAIM_DELEG_CUR_FH: the delegation this open is made under.
  std::optional<stateid4> delegation;
};

// The delegation part of an OPEN's answer (open_delegation4).
struct DelegationGrant {
  open_delegation_type4 type = OPEN_DELEGATE_NONE;  // NONE, NONE_EXT, READ or WRITE
  why_no_delegation4 why = WND4_NOT_WANTED;         // NONE_EXT
  stateid4 stateid{};                               // READ, WRITE
  bool recall = false;  // READ, WRITE: a reclaimed delegation the client must return at once
};

// An upgraded open as it was before the upgrade: what UndoUpgrade puts back.
struct OpenBefore {
  uint32_t share_access = 0;
  uint32_t share_deny = 0;
  uint16_t share_pairs = 0;
  uint32_t seqid = 0;
  bool reclaimed = false;
};

struct OpenResult {
  OpenResult() = default;
  OpenResult(nfsstat4 s) : status(s) {}  // NOLINT: implicit by design, like Result<T>
  nfsstat4 status = NFS4_OK;
  stateid4 stateid{};
  bool upgraded = false;  // an existing open of the owner was widened (9.9)
  OpenBefore before;      // when upgraded: the open as it was
  DelegationGrant delegation;
  std::vector<RecallRequest> recalls;
};

struct StateidResult {
  StateidResult() = default;
  StateidResult(nfsstat4 s, stateid4 id = {}) : status(s), stateid(id) {}  // NOLINT: implicit
  nfsstat4 status = NFS4_OK;
  stateid4 stateid{};
};

// LOCK4denied with the owner bytes owned.
struct LockDenied {
  offset4 offset = 0;
  length4 length = 0;
  nfs_lock_type4 locktype = READ_LT;
  clientid4 clientid = 0;
  std::string owner;
};

struct LockResult {
  LockResult() = default;
  LockResult(nfsstat4 s) : status(s) {}  // NOLINT: implicit by design
  nfsstat4 status = NFS4_OK;
  stateid4 lock_stateid{};  // NFS4_OK
  LockDenied denied;        // NFS4ERR_DENIED
};

// A delegation or layout stateid as the registry holds it.
struct RecallableInfo {
  stateid4 stateid{};
  StateidType type = StateidType::kDelegation;
  clientid4 clientid = 0;
  uint64_t fileid = 0;
  uint32_t kind = 0;  // open_delegation_type4 or layouttype4
  bool recall_requested = false;
  RevokeReason revoked = RevokeReason::kNone;
};

// What dropping a client released (ExpireClients reports it).
struct DroppedState {
  uint32_t opens = 0;
  uint32_t lock_stateids = 0;
  uint32_t lock_ranges = 0;
  uint32_t delegations = 0;
  uint32_t layouts = 0;
};

class FileStateTable {
 public:
  FileStateTable(uint32_t boot_epoch, const StateLimits& limits, GracePeriod& grace);
  ~FileStateTable();

  std::mutex& mu() { return mu_; }

  // ---- clients ----
  void RegisterClient(std::shared_ptr<ClientLive> client);
  bool HasState(clientid4 clientid) const;
  DroppedState DropClient(clientid4 clientid);
  // Revokes every stateid of the client (administrative revocation, 8.2.4): locks and share
  // reservations go, the stateids stay until FREE_STATEID.
  uint32_t RevokeClient(clientid4 clientid, RevokeReason reason);
  nfsstat4 Revoke(const stateid4& stateid, RevokeReason reason);

  // ---- opens (9.7, 9.9, 18.16, 18.18, 18.2) ----
  OpenResult Open(const OpenRequest& req, Instant now);
  StateidResult OpenDowngrade(clientid4 clientid, uint64_t fileid, const OPEN_DOWNGRADE4args& args);
  // Puts an upgraded open back as it was (`before`), when the OPEN that upgraded it fails after
  // the upgrade: the client never learns of the upgrade and goes on with the stateid it had.
  // Only while `upgraded` is still the open's stateid (nothing changed the open since); false
  // otherwise, and then nothing is changed.
  bool UndoUpgrade(clientid4 clientid, uint64_t fileid, const stateid4& upgraded,
                   const OpenBefore& before);
  StateidResult Close(clientid4 clientid, uint64_t fileid, const CLOSE4args& args);

  // ---- byte-range locks (9.2-9.6, 18.10-18.12) ----
  LockResult Lock(clientid4 clientid, uint64_t fileid, const LOCK4args& args, Instant now);
  LockResult LockTest(clientid4 clientid, uint64_t fileid, const LOCKT4args& args);
  StateidResult Unlock(clientid4 clientid, uint64_t fileid, const LOCKU4args& args);

  // ---- stateids (8.2, 18.48, 18.38) ----
  nfsstat4 TestStateid(clientid4 clientid, const stateid4& stateid);
  nfsstat4 FreeStateid(clientid4 clientid, const stateid4& stateid);
  // I/O through the MDS (READ, WRITE, SETATTR of size): see CheckIo in state_manager.h.
  nfsstat4 CheckIo(clientid4 clientid, const stateid4& stateid, uint64_t fileid, bool want_write);

  // ---- delegations and layouts: registry only ----
  StateidResult RecordRecallable(clientid4 clientid, uint64_t fileid, StateidType type,
                                 uint32_t kind);
  std::optional<RecallableInfo> FindRecallable(const stateid4& stateid);
  std::vector<RecallableInfo> RecallablesOnFile(uint64_t fileid, StateidType type);
  StateidResult BumpRecallable(clientid4 clientid, const stateid4& stateid);
  nfsstat4 RemoveRecallable(clientid4 clientid, const stateid4& stateid);
  // Marks it recall-requested; returns the request for the sink (nullopt: unknown or already).
  std::optional<RecallRequest> RequestRecall(const stateid4& stateid, Instant now);

  // ---- delegation conflicts (10.4, delegations.cc) ----
  // Another client's operation on the file (`write`: it changes the file or its name, e.g.
  // REMOVE, RENAME, LINK, SETATTR, WRITE; otherwise it reads, e.g. READ, GETATTR) meets the
  // delegations of other clients it conflicts with: NFS4ERR_DELAY while they are recalled (a
  // recall is added for each not asked yet), NFS4_OK when there are none.
  nfsstat4 BreakDelegations(clientid4 caller, uint64_t fileid, bool write, Instant now,
                            std::vector<RecallRequest>* recalls);
  // Revokes the delegations whose recall the client left unanswered for a lease period
  // (10.4.6 / 10.2: RevokeReason::kRecall). Returns how many.
  uint32_t RevokeOverdueRecalls(Instant now);
  // Delegations not revoked, on all files (a lock-free hint: 0 means no conflict can exist).
  uint64_t live_delegations() const { return live_delegations_.load(std::memory_order_relaxed); }
  uint64_t live_write_delegations() const {
    return live_write_delegations_.load(std::memory_order_relaxed);
  }

  // Live (not revoked) opens of the file, by any client (a file removed while open stays until
  // this is false: docs/protocol.md, "Files removed while open").
  bool HasOpens(uint64_t fileid) const;

  // ---- introspection (tests, metrics) ----
  size_t stateid_count() const { return entries_.size(); }
  size_t file_count() const { return files_.size(); }
  uint32_t lock_ranges_on_file(uint64_t fileid) const;

 private:
  struct Entry;
  struct FileState;
  struct ClientFiles;
  struct Found {
    nfsstat4 status = NFS4_OK;
    Entry* entry = nullptr;
  };
  // What a lookup accepts.
  struct LookupRule {
    LookupRule(uint32_t t, std::optional<uint64_t> f = std::nullopt) : types(t), fileid(f) {}
    uint32_t types = 0;  // bit (1 << StateidType)
    std::optional<uint64_t> fileid;
    bool allow_revoked = false;
    bool check_seqid = true;
  };

  Found Lookup(clientid4 clientid, const stateid4& stateid, const LookupRule& rule);
  Entry& NewEntry(StateidType type, clientid4 clientid, uint64_t fileid);
  stateid4 StateidOf(const Entry& e) const;
  ClientFiles* FindClient(clientid4 clientid);
  FileState& File(uint64_t fileid);
  void MaybeEraseFile(uint64_t fileid);
  uint32_t OwnerRangeCount(const Entry& lock) const;

  // Opens.
  nfsstat4 ShareConflict(const FileState& f, const Entry* own, uint32_t access,
                         uint32_t deny) const;
  void CountShares(FileState& f, uint32_t access, uint32_t deny, int delta);
  bool DelegationConflicts(FileState& f, clientid4 clientid, uint32_t access, uint32_t deny,
                           Instant now, std::vector<RecallRequest>* recalls);
  void AskRecall(Entry& d, Instant now, std::vector<RecallRequest>* recalls);
  DelegationGrant DecideDelegation(const OpenRequest& req, FileState& f, uint32_t access,
                                   ClientFiles& cf, std::vector<RecallRequest>* recalls, Instant now);
  OpenResult OpenExisting(Entry& e, FileState& f, uint32_t access, uint32_t deny, bool reclaim);
  OpenResult OpenNew(const OpenRequest& req, ClientFiles& cf, uint32_t access, uint32_t deny);
  bool OpenHasLocks(const Entry& open);

  // Locks.
  struct Locker {
    Locker() = default;
    Locker(nfsstat4 s) : status(s) {}  // NOLINT: implicit by design
    nfsstat4 status = NFS4_OK;
    Entry* open = nullptr;
    Entry* lock = nullptr;  // nullptr: a new lock stateid is to be made
    OwnerKey lock_owner;
  };
  Locker ResolveLocker(clientid4 clientid, uint64_t fileid, const locker4& locker);
  bool FindConflict(const FileState& f, const OwnerKey& owner, const ByteRange& r,
                    nfs_lock_type4 type, LockDenied* denied) const;
  nfsstat4 CheckLockGrace(clientid4 clientid, bool reclaim, const Locker& lk, Instant now);
  LockResult ApplyLockRanges(clientid4 clientid, uint64_t fileid, const Locker& lk,
                             const ByteRange& r, nfs_lock_type4 type, bool reclaim);
  Entry& MakeLockEntry(const Locker& lk, uint64_t fileid);
  void SetOwnerRanges(FileState& f, const OwnerKey& owner, std::vector<HeldRange> ranges);

  // Release and revocation.
  void ReleaseEntryState(Entry& e);
  void EraseEntry(uint64_t id);
  void CountRevoked(const Entry& e, int delta);
  void MarkRevoked(Entry& e, RevokeReason reason);
  nfsstat4 RevokedStatus(const Entry& e) const;

  std::mutex mu_;
  const uint32_t boot_epoch_;
  const StateLimits limits_;
  GracePeriod& grace_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Entry>> entries_;
  std::unordered_map<uint64_t, std::unique_ptr<FileState>> files_;
  std::unordered_map<clientid4, std::unique_ptr<ClientFiles>> clients_;
  // Delegations whose recall is under way (ids); RevokeOverdueRecalls walks them.
  std::set<uint64_t> recalls_pending_;
  // Files recently recalled, to no new delegation until the Instant (bounded by
  // limits_.recalled_files_max; the map by fileid, the queue in recall order to forget by age).
  std::unordered_map<uint64_t, Instant> recalled_until_;
  std::deque<std::pair<Instant, uint64_t>> recalled_order_;
  void NoteRecalled(uint64_t fileid, Instant now);
  bool RecentlyRecalled(uint64_t fileid, Instant now) const;
  std::atomic<uint64_t> live_delegations_{0};
  std::atomic<uint64_t> live_write_delegations_{0};  // of live_delegations_
  void CountLiveDelegation(const Entry& d, int delta);
};

}  // namespace manifold::state
