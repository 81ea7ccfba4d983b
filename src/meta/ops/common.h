// Helpers shared by the namespace mutations in meta/ops/. Each works inside the caller's
// transaction and never commits. Lock order, to keep deadlocks rare (RocksDB detects the rest
// and the runner retries them): sys/"rename_lock", then directory inodes in ascending fileid
// order, then dirents, then the child inodes they name.
#pragma once

#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "meta/kv.h"
#include "meta/macros.h"
#include "meta/namespace.h"
#include "meta/schema.h"

namespace manifold::meta::ops {

// What a mutation needs besides its transaction. `now` is read once per attempt.
struct OpContext {
  Timespec now;
  std::function<Result<FileId>()> next_fileid;
  std::function<uint32_t()> next_generation;  // random, nonzero
};

// kInvalid: empty, ".", "..", contains '/' or NUL. kTooBig: over kNameBytesMax.
Status ValidateName(std::string_view name);

// Plain read / locked read of an inode. kStale when it does not exist.
Result<Inode> ReadInode(Txn& txn, FileId fileid);
Result<Inode> LockInode(Txn& txn, FileId fileid);
// LockInode + kNotDir unless a directory.
Result<Inode> LockDir(Txn& txn, FileId fileid);
Status WriteInode(Txn& txn, const Inode& inode);

// The dirent for (parent, name), or nullopt. Locked: the name stays as read until commit.
Result<std::optional<Dirent>> ReadDirent(Txn& txn, FileId parent, std::string_view name);
Result<std::optional<Dirent>> LockDirent(Txn& txn, FileId parent, std::string_view name);

// Adds name -> child to `dir` with the directory's next cookie (dirent + dircookie), counts
// it in dir->size_bytes. Does not write `dir` itself.
Status AddEntry(Txn& txn, Inode* dir, std::string_view name, const Inode& child);
// Deletes the dirent and dircookie of `entry`, uncounts it. Does not write `dir`.
Status DropEntry(Txn& txn, Inode* dir, std::string_view name, const Dirent& entry);
// True when `dir` has no entries (reads the first dirent key; the caller holds dir's lock).
Result<bool> DirIsEmpty(Txn& txn, FileId dir);

// Directory entries changed: mtime = ctime = now, change + 1.
void TouchDir(Inode* dir, Timespec now);
// Inode attributes changed: ctime = now, change + 1.
void TouchInode(Inode* inode, Timespec now);

// Drops one link of a non-directory (ctime and change bump). At nlink 0 a regular file that
// `keep` says is open becomes an orphan (the inode is written back with nlink 0 and its orphans
// key is put); any other file is deleted with DropInode, its extents returned. Otherwise the
// inode is written back.
Result<Unlinked> DropLink(Txn& txn, Inode inode, Timespec now, const KeepOrphan& keep);
// Deletes a non-directory's inode, its xattrs and every extent of it; returns the extents. The
// caller holds the inode's lock.
Result<std::vector<Extent>> DropInode(Txn& txn, const Inode& inode);
// Deletes an empty directory's inode and its xattrs (the caller checked emptiness and fixes
// the parent's nlink).
Result<Unlinked> DropDir(Txn& txn, Inode dir, Timespec now);

// Deletes every xattr of `inode` (the last link is going; xattrs.cc). The caller holds the
// inode's lock, which every xattr writer also takes.
Status DropXattrs(Txn& txn, const Inode& inode);

// Every extent of `fileid`, in index order (extents.cc). The caller holds the inode's lock,
// which every extent writer also takes.
Result<std::vector<Extent>> ScanExtents(Txn& txn, FileId fileid);

// A directory inode's change counter as DirChange.before, with `after` filled in later.
inline DirChange ChangeOf(const Inode& dir) { return DirChange{dir.change, dir.change}; }

}  // namespace manifold::meta::ops
