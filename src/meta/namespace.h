// Namespace: the metadata server's file namespace, stored in a Kv (RocksDB by default).
//
// It speaks Status / Result<T> (common/status.h), never NFS types; the protocol layer maps the
// codes: kNotFound, kExists, kNotDir, kIsDir, kNotEmpty, kStale (the fileid is gone or its
// generation differs), kInvalid (bad name, bad cookie, rename into own subtree), kTooBig (name
// or record over its limit in limits.h), kTooManyLinks (kLinksMax), kFileTooBig (an extent
// index past kExtentsPerFileMax), kPrecondition (a guard did not hold), kConflict (contention
// outlasted txn_attempts_max: answer "try later").
//
// Every mutation is one transaction (one file in meta/ops/), committed and retried by the
// TxnRunner, and durable before the call returns. Every mutation bumps the change counter and
// ctime of each inode it changes and mtime of each directory whose entries it changes (POSIX).
// Thread-safe: any number of threads may call any method concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/identity.h"
#include "common/status.h"
#include "meta/fileid_allocator.h"
#include "meta/fsck.h"
#include "meta/kv.h"
#include "meta/rocks_kv.h"
#include "meta/schema.h"
#include "meta/txn_runner.h"

namespace manifold::meta {

namespace ops {
struct OpContext;
}  // namespace ops

struct NamespaceOptions {
  RocksKvOptions kv;  // used by Open(dir, ...) only
  TxnRunnerOptions runner;
  uint32_t fileid_block_size = kFileIdBlockSizeDefault;
  std::function<Timespec()> clock;  // empty: CLOCK_REALTIME
};

// A directory's change counter just before and just after a mutation (NFSv4 change_info4;
// always atomic here, since both are read inside the mutation's transaction).
struct DirChange {
  uint64_t before = 0;
  uint64_t after = 0;
};

enum class CreateMode {
  kGuarded,    // name exists: kExists
  kUnchecked,  // name exists as a regular file and a regular file is asked for: return it
  kExclusive,  // name exists with the same create verifier: return it (a retransmission)
};

struct CreateArgs {
  FileType type = FileType::kReg;
  uint32_t mode = 0644;  // permission bits (07777)
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string symlink_target;             // kSymlink: 1..kSymlinkTargetBytesMax bytes
  DeviceNumber rdev;                      // kBlk, kChr
  CreateMode how = CreateMode::kGuarded;  // kUnchecked/kExclusive only for kReg
  uint64_t verifier = 0;                  // kExclusive
};

struct CreateResult {
  Inode inode;
  bool created = false;  // false: an existing file was returned (kUnchecked / kExclusive)
  DirChange dir;
};

// Asked, with the file's inode locked, when a regular file is about to lose its last name (or,
// in PurgeOrphan, about to be deleted): true keeps it as an orphan because a client still has
// it open (docs/schema.md, "Orphans"). May be called on every transaction attempt, so it must
// be a cheap read of state outside the store, and must not call into the Namespace. Empty:
// nothing is open, the file goes at once.
using KeepOrphan = std::function<bool(FileId)>;

// One name removed from an inode (by REMOVE, RMDIR or RENAME over an existing target), or an
// orphan purged (PurgeOrphan).
struct Unlinked {
  Inode inode;           // after the unlink: nlink already decremented
  bool dropped = false;  // the inode, its xattrs and its extents are gone from the store
  // nlink reached 0 but KeepOrphan said the file is open: the inode (nlink 0), its extents and
  // xattrs stay, listed in `orphans`, until PurgeOrphan.
  bool orphaned = false;
  std::vector<Extent> extents;  // when dropped: what the caller must delete on the volumes
};

struct RemoveResult {
  Unlinked unlinked;
  DirChange dir;
};

struct RenameResult {
  DirChange src_dir;
  DirChange dst_dir;                 // same as src_dir when the parents are the same directory
  std::optional<Unlinked> replaced;  // the target that was overwritten, if any
  bool noop = false;  // source and target were already the same file: nothing changed
};

struct LinkResult {
  Inode inode;
  DirChange dir;
};

struct SetTime {
  bool server_time = true;  // true: the server's clock (SET_TO_SERVER_TIME4)
  Timespec time;            // otherwise this
};

struct SetAttrArgs {
  std::optional<uint32_t> mode;
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
  std::optional<uint64_t> size_bytes;  // regular files only; bumps data_generation
  std::optional<SetTime> atime;
  std::optional<SetTime> mtime;
  std::optional<Timespec> crtime;  // the birth time (NFSv4 time_create is settable)
  // Apply only if the inode's change counter still equals this, else kPrecondition.
  std::optional<uint64_t> guard_change;
  // Who asks, for the rules that clear the set-user-ID and set-group-ID bits, as Linux applies
  // them (ops/setattr.cc); null for the MDS's own changes, which clear nothing.
  const Identity* caller = nullptr;
};

struct SetAttrResult {
  Inode before;
  Inode after;
};

struct DirEntry {
  std::string name;
  FileId fileid = 0;
  FileType type = FileType::kReg;
  uint64_t cookie = 0;         // pass back to ReadDir to continue after this entry
  std::optional<Inode> attrs;  // when asked for, from the same snapshot
};

// Called for each entry of a directory scan; returns false to stop. It may move from the entry
// (the scan refills it for the next one).
using DirVisitor = std::function<bool(DirEntry& entry)>;

struct ReadDirResult {
  std::vector<DirEntry> entries;
  bool eof = false;
  uint64_t dir_change = 0;  // the directory's change counter in the listing's snapshot
};

// SETXATTR's option (RFC 8276 8.4.2): create or replace, only create (kExists when the name is
// there), only replace (kNotFound when it is not).
enum class XattrSetMode { kEither, kCreate, kReplace };

struct XattrName {
  std::string name;
  uint64_t cookie = 0;  // pass back to ListXattrs to continue after this name
};

struct XattrListResult {
  std::vector<XattrName> names;  // in cookie order (the order the names were first set)
  bool eof = false;
};

// Guards for UpdateInstance (the mover commit, DESIGN.md section 5).
struct InstanceUpdate {
  uint64_t volume_id = 0;
  InstanceState new_state = InstanceState::kValid;
  std::optional<InstanceState> expected_state;       // else kPrecondition
  std::optional<uint64_t> expected_data_generation;  // the file's, else kPrecondition
  std::optional<uint64_t> checksum;                  // set when given
  std::optional<uint64_t> generation;                // set when given
};

class Namespace {
 public:
  // Opens the RocksDB store in `dir`; on first open creates the root directory (fileid 1) and
  // the format version. Refuses a store of another format version (kCorruption).
  static Result<std::unique_ptr<Namespace>> Open(const std::string& dir,
                                                 const NamespaceOptions& options);
  // The same over any Kv (tests wrap RocksKv to inject faults).
  static Result<std::unique_ptr<Namespace>> OpenKv(std::unique_ptr<Kv> kv,
                                                   const NamespaceOptions& options);
  ~Namespace();

  // ---- reads (one snapshot each) ----
  Result<Inode> Lookup(FileId parent, std::string_view name);
  // For a caller that has just read `dir` and found a directory: Lookup without reading `dir`
  // again. A directory removed meanwhile has no entries: kNotFound.
  Result<Inode> LookupChild(FileId dir, std::string_view name);
  // The fileid `name` names in `dir`, from the entry alone (kNotFound: none).
  Result<FileId> EntryOf(FileId dir, std::string_view name);
  Result<Inode> LookupParent(FileId dir);  // ".."; the root's parent is the root
  // kStale when the fileid is gone or `generation` is not the inode's generation.
  Result<Inode> GetAttr(FileId fileid, uint32_t generation);
  Result<Inode> GetInode(FileId fileid);  // no generation check (internal callers)
  // Entries after `cookie` (0: from the start) in cookie order, at most max_entries
  // (<= kReadDirEntriesMax). kInvalid for a cookie this directory never issued.
  Result<ReadDirResult> ReadDir(FileId dir, uint64_t cookie, uint32_t max_entries,
                                bool with_attrs = false);
  // The same entries handed to `visit` one at a time from one snapshot and one iterator, until
  // it returns false (the caller's reply is full) or the directory ends (*eof = true). Nothing
  // is read past the entry the visitor refused.
  Status ScanDir(FileId dir, uint64_t cookie, bool with_attrs, const DirVisitor& visit, bool* eof);

  // ---- namespace mutations ----
  // Any type; kDir makes a directory (args.how must be kGuarded).
  Result<CreateResult> Create(FileId parent, std::string_view name, const CreateArgs& args);
  // Removes a non-directory name (kIsDir for a directory). A regular file losing its last name
  // becomes an orphan instead of going when `keep` says it is open (see KeepOrphan).
  Result<RemoveResult> Remove(FileId parent, std::string_view name, const KeepOrphan& keep = {});
  // Removes an empty directory (kNotDir for a non-directory, kNotEmpty).
  Result<RemoveResult> RmDir(FileId parent, std::string_view name);
  // Removes whatever the name is (NFSv4 REMOVE): Remove or RmDir in one transaction.
  Result<RemoveResult> Unlink(FileId parent, std::string_view name, const KeepOrphan& keep = {});
  // POSIX rename(2): see meta/ops/rename.cc for the rules. A replaced regular file that loses
  // its last name becomes an orphan when `keep` says it is open.
  Result<RenameResult> Rename(FileId src_parent, std::string_view src_name, FileId dst_parent,
                              std::string_view dst_name, const KeepOrphan& keep = {});
  // A new name for a non-directory. An orphan (nlink 0) cannot get one: kNotFound, as Linux
  // answers linkat(2) of an unlinked file (ENOENT).
  Result<LinkResult> Link(FileId fileid, FileId new_parent, std::string_view new_name);
  Result<SetAttrResult> SetAttr(FileId fileid, const SetAttrArgs& args);
  // Data was written up to end_offset_bytes (WRITE through the MDS, LAYOUTCOMMIT): size grows
  // to at least that, data_generation and change bump, mtime = `mtime` or now. A write by a
  // caller without privilege (`drop_set_id`) clears S_ISUID, and S_ISGID when group-execute is
  // set, as write(2) does on Linux.
  Result<Inode> RecordWrite(FileId fileid, uint64_t end_offset_bytes,
                            std::optional<Timespec> mtime = std::nullopt, bool drop_set_id = false);
  // The file's data on the volumes was cut to `size_bytes`: clears data_past_size unless the
  // file is shorter than that now. No attribute changes (the cut is not a change clients see).
  Status DataCut(FileId fileid, uint64_t size_bytes);

  // ---- orphans: regular files with no name left, kept while open (docs/schema.md) ----
  // Deletes the orphan `fileid` (its inode, xattrs, extents and orphans key, in one
  // transaction) and returns its extents for the caller to delete on the volumes
  // (dropped = true). A no-op (dropped = false) when the file is not an orphan (it has a name,
  // or is gone already) or `keep` says it is open again.
  Result<Unlinked> PurgeOrphan(FileId fileid, const KeepOrphan& keep = {});
  // Orphans with fileid > after_fileid, in fileid order, at most max (<= kListPageEntriesMax).
  Result<std::vector<OrphanRecord>> ListOrphans(FileId after_fileid, uint32_t max);

  // ---- extended attributes (RFC 8276), on any inode; the protocol layer decides which types
  // may have them. Names are 1..kXattrNameBytesMax bytes without NUL (kInvalid, kTooBig);
  // values at most kXattrValueBytesMax (kTooBig). kStale when the inode is gone.
  Result<std::string> GetXattr(FileId fileid, std::string_view name);  // kNotFound
  // Sets or replaces one xattr per `mode`. Over kXattrsPerInodeMax xattrs or
  // kXattrBytesPerInodeMax bytes of names and values on the inode: kNoSpace. Bumps the inode's
  // change and ctime; returns its change counter before and after (change_info4).
  Result<DirChange> SetXattr(FileId fileid, std::string_view name, std::string_view value,
                             XattrSetMode mode);
  Result<DirChange> RemoveXattr(FileId fileid, std::string_view name);  // kNotFound
  // Names after `cookie` (0: from the start), at most max_names (<= kListXattrsNamesMax).
  // kInvalid for a cookie this inode never issued.
  Result<XattrListResult> ListXattrs(FileId fileid, uint64_t cookie, uint32_t max_names);

  // ---- extents and instances (do not change the file's change counter) ----
  Status PutExtent(const Extent& extent);  // whole record; the file must be a regular file
  Result<Extent> GetExtent(FileId fileid, uint64_t index);
  Result<std::vector<Extent>> GetExtents(FileId fileid);  // index order, all of them
  Result<Extent> UpdateInstance(FileId fileid, uint64_t index, const InstanceUpdate& update);
  // Removes one instance; the extent record goes when its last instance does.
  Status DeleteInstance(FileId fileid, uint64_t index, uint64_t volume_id);

  // ---- volumes and client records ----
  Status PutVolume(const Volume& volume);
  Result<Volume> GetVolume(uint64_t volume_id);
  // Volumes with id > after_volume_id, in id order, at most max (<= kListPageEntriesMax).
  Result<std::vector<Volume>> ListVolumes(uint64_t after_volume_id, uint32_t max);
  Status DeleteVolume(uint64_t volume_id);
  Status PutClient(const ClientRecord& client);
  Result<ClientRecord> GetClient(std::string_view owner);
  // Clients whose owner sorts after `after_owner` (empty: from the start), at most max.
  Result<std::vector<ClientRecord>> ListClients(std::string_view after_owner, uint32_t max);
  Status DeleteClient(std::string_view owner);

  // Verifies every invariant of docs/schema.md over one snapshot (meta/fsck.h).
  Result<FsckCounts> Check(uint64_t inodes_max);

  // Deferred durability (RocksKvOptions::defer_durability, see Kv): a change is visible when
  // its call returns and durable once a sync covers it. Whoever answers for a change, or for a
  // read that may have seen one, takes a mark after it and answers only once it is durable.
  // With commits synced before they return, every mark is durable at once.
  bool DefersDurability() const { return kv_->DefersDurability(); }
  uint64_t DurabilityMark() { return kv_->DurabilityMark(); }
  bool IsDurable(uint64_t mark) { return kv_->IsDurable(mark); }
  void WhenDurable(uint64_t mark, std::function<void(Status)> done) {
    kv_->WhenDurable(mark, std::move(done));
  }
  Status WaitDurable(uint64_t mark) { return kv_->WaitDurableUpTo(mark); }
  // While a meta::ReadMarks is open on a thread, its reads raise it to the mark of the last
  // change to what they read: an answer resting on those reads alone may wait for that mark.
  bool TracksReadMarks() const { return kv_->TracksReadMarks(); }
  void QuiesceDurabilityCallbacks() { kv_->Quiesce(); }

  const TxnRunnerStats& runner_stats() const { return runner_.stats(); }
  uint64_t fileid_blocks_reserved() const { return fileids_.blocks_reserved(); }

 private:
  Namespace(std::unique_ptr<Kv> kv, const NamespaceOptions& options);
  Status Init();
  ops::OpContext Context();  // read per transaction attempt: the clock, id and generation sources
  uint32_t NewGeneration();

  std::unique_ptr<Kv> kv_;
  TxnRunner runner_;
  FileIdAllocator fileids_;
  std::function<Timespec()> clock_;
  std::mutex generation_mu_;
  std::mt19937_64 generation_rng_;  // guarded by generation_mu_
};

}  // namespace manifold::meta
