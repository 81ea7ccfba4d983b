// The services NFSv4 operations use: the namespace, the export rules, filesystem-wide
// attributes. Client/session/open state and volumes join here as they land. One Mds per
// server; thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/identity.h"
#include "meta/namespace.h"
#include "nfs4/attrs.h"
#include "nfs4/backchannel.h"
#include "nfs4/data_store.h"
#include "nfs4/export_rules.h"
#include "rpc/message.h"
#include "state/state_manager.h"

namespace manifold::nfs4 {

// The fsid every object of the namespace reports (one file system).
inline constexpr uint64_t kFsidMajor = 0x4d414e49;  // "MANI"
inline constexpr uint64_t kFsidMinor = 1;

// How long the file system figures (space, files) GETATTR and READDIR report may be reused:
// they come from a statvfs, which need not run for every attribute request.
inline constexpr std::chrono::milliseconds kFsAttrsRefresh{1000};

// Orphans one SweepOrphans call looks at, at most; the next call goes on where it stopped.
inline constexpr uint32_t kOrphansPerSweepMax = 16384;

// Files removed while open (docs/protocol.md, "Files removed while open"). Monotonic.
struct OrphanStats {
  std::atomic<uint64_t> orphaned{0};        // files kept when their last name went
  std::atomic<uint64_t> purged{0};          // orphans deleted, with their data
  std::atomic<uint64_t> purge_failures{0};  // purges that failed (the next sweep retries)
};

struct MdsOptions {
  uint32_t lease_time_s = 90;
  // Who may do what, by client network; the default serves everyone, read-write, AUTH_SYS and
  // AUTH_NONE (served as 65534).
  ExportRules exports = ExportRules::Everyone(false, false, true);
  // Where the namespace lives: its file system's free space is reported until volumes
  // report their own.
  std::string meta_dir;
};

struct CompoundContext;

// The filehandle of a file by fileid, as CB_RECALL carries it (Backchannel::HandleOf).
Backchannel::HandleOf HandlesOf(meta::Namespace& ns);

// Holds NFSv4 replies until the namespace changes they may rest on are durable (deferred
// durability, meta::Namespace::DurabilityMark). With commits synced before they return, every
// reply goes at once.
class NamespaceReplyGate final : public rpc::ReplyGate {
 public:
  explicit NamespaceReplyGate(meta::Namespace& ns) : ns_(ns) {}
  uint64_t Mark() override { return ns_.DurabilityMark(); }
  bool IsDurable(uint64_t mark) override { return ns_.IsDurable(mark); }
  void WhenDurable(uint64_t mark, std::function<void(bool)> done) override;
  void Quiesce() override { ns_.QuiesceDurabilityCallbacks(); }

 private:
  meta::Namespace& ns_;
};

class Mds {
 public:
  Mds(meta::Namespace& ns, state::StateManager& state, DataStore& data, Backchannel& backchannel,
      const state::Clock& clock, MdsOptions options);
  // Waits for the data releases it handed to the namespace's syncer.
  virtual ~Mds();

  meta::Namespace& ns() { return ns_; }
  state::StateManager& state() { return state_; }
  const state::StateManager& state() const { return state_; }
  DataStore& data() { return data_; }
  Backchannel& backchannel() { return backchannel_; }
  state::Instant Now() const { return clock_.Now(); }
  // The stateid of an I/O (READ, WRITE, SETATTR of size) must allow it (RFC 8881 8.2.2,
  // 9.1.2): special stateids when no share reservation denies it, else the client's open,
  // lock or delegation stateid for this file.
  nfsstat4 CheckIoStateid(CompoundContext& ctx, const stateid4& stateid, uint64_t fileid,
                          bool write);
  // Sets attributes in the namespace; a new size also cuts or extends the file's data on the
  // volumes, both under the file's shared data guard, so that ALLOCATE and DEALLOCATE (which
  // hold it exclusive) see either the old size everywhere or the new one.
  Result<meta::SetAttrResult> SetAttr(uint64_t fileid, const meta::SetAttrArgs& args);
  // A file whose last name went away: delete its data (REMOVE, RENAME over it).
  void ReleaseData(const meta::Unlinked& unlinked);
  // Whether namespace commits return before they are synced (the reply gate then holds each
  // reply until they are): changes may then run on the I/O threads (CompoundRunsInline).
  bool commits_deferred() const { return ns_.DefersDurability(); }
  rpc::ReplyGate& reply_gate() { return reply_gate_; }

  // ---- files removed while open (orphans.cc; docs/protocol.md, "Files removed while open")
  // REMOVE and RENAME over a name: a regular file losing its last name while a client has it
  // open, or during the grace period (a client may still reclaim an open of it), becomes an
  // orphan that keeps its data; any other file that loses its last name is released on the
  // volumes.
  Result<meta::RemoveResult> Unlink(uint64_t dir, std::string_view name);
  Result<meta::RenameResult> Rename(uint64_t src_dir, std::string_view from, uint64_t dst_dir,
                                    std::string_view to);
  // OPEN holds this from its last read of the file until its open is recorded in the state
  // module (see open_guards_).
  std::shared_lock<std::shared_mutex> GuardOpen(uint64_t fileid) {
    return open_guards_.Shared(fileid);
  }
  // After a CLOSE: purges the file, with its data, if it is an orphan nobody has open any more
  // (never during the grace period).
  void ReapIfOrphan(uint64_t fileid);
  // Purges every orphan nobody has open (opens also go by lease expiry, revocation and a
  // client's restart), at most kOrphansPerSweepMax per call, going on where the last call
  // stopped; nothing during the grace period. manifold-mds calls it every second. Returns how
  // many it purged.
  uint32_t SweepOrphans();
  const OrphanStats& orphan_stats() const { return orphan_stats_; }
  const MdsOptions& options() const { return options_; }
  // The caller's identity under its export rule (root squash; AUTH_NONE is anonymous).
  static Identity IdentityOf(const rpc::Credential& cred, const ExportRule& rule);
  // File system attributes; the space figures are at most kFsAttrsRefresh old.
  FsAttrs fs_attrs() const;

 private:
  meta::Namespace& ns_;
  state::StateManager& state_;
  DataStore& data_;
  Backchannel& backchannel_;
  const state::Clock& clock_;
  MdsOptions options_;
  mutable std::mutex fs_mu_;
  mutable FsAttrs fs_;                                      // guarded by fs_mu_
  mutable std::chrono::steady_clock::time_point fs_read_at_;  // guarded by fs_mu_
  mutable bool fs_valid_ = false;                           // guarded by fs_mu_

  NamespaceReplyGate reply_gate_{ns_};
  // Deletes data on the volumes once the change that dropped it is durable: before, a crash
  // could bring the file back without its data.
  void ReleaseWhenDurable(std::vector<meta::Extent> extents);

  // Orphans (orphans.cc).
  bool StillOpen(uint64_t fileid);  // may a client (still) have it open?
  bool Purge(uint64_t fileid);      // PurgeOrphan under the exclusive guard, then the data
  void NoteUnlinked(const meta::Unlinked& unlinked);
  // Orders OPEN against the removal of a file's last name and the purge of an orphan, per
  // fileid (striped, the same shape as the data guards). OPEN holds the file's stripe shared
  // from re-reading the file until its open is recorded; REMOVE, RENAME over a name and a
  // purge hold the victim's stripe exclusive from asking the state module whether it is open
  // until the namespace change commits. So either the open is recorded first (and the file
  // becomes or stays an orphan), or the removal commits first (and the OPEN finds it gone).
  FileGuards open_guards_;
  OrphanStats orphan_stats_;
  std::mutex sweep_mu_;        // one sweep at a time
  uint64_t sweep_after_ = 0;   // guarded by sweep_mu_: the last fileid the sweep looked at
};

// Protocol view of an inode.
ObjectAttrs ToObjectAttrs(const meta::Inode& inode);
// What a directory entry alone says of its object: type, fileid, mounted_on_fileid, fsid.
ObjectAttrs DirentAttrs(uint64_t fileid, meta::FileType type);

}  // namespace manifold::nfs4
