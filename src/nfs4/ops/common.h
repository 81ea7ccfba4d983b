// Helpers the operation handlers share.
#pragma once

#include <string_view>

#include "meta/namespace.h"
#include "nfs4/compound.h"
#include "nfs4/filehandle.h"
#include "nfs4/mds.h"

namespace manifold::nfs4::ops {

// Loads the inode the current filehandle names: NFS4ERR_NOFILEHANDLE, NFS4ERR_BADHANDLE,
// NFS4ERR_STALE.
nfsstat4 CurrentInode(CompoundContext& ctx, meta::Inode& out);
nfsstat4 SavedInode(CompoundContext& ctx, meta::Inode& out);
nfsstat4 InodeOf(CompoundContext& ctx, const FileHandle& fh, meta::Inode& out);
// The current filehandle must be a regular file (the I/O operations): NFS4ERR_ISDIR,
// NFS4ERR_SYMLINK, and `other_status` for any other type (RFC 7862 says NFS4ERR_WRONG_TYPE
// for its operations).
nfsstat4 CurrentRegularFile(CompoundContext& ctx, meta::Inode& out, nfsstat4 other_status);
// The current filehandle must be a directory (NFS4ERR_NOTDIR; symlinks: NFS4ERR_SYMLINK
// where the RFC says so, passed as `symlink_status`).
nfsstat4 CurrentDir(CompoundContext& ctx, meta::Inode& out, nfsstat4 symlink_status = NFS4ERR_NOTDIR);

void SetCurrentFh(CompoundContext& ctx, const meta::Inode& inode);
// The same for LOOKUP and LOOKUPP, which keep the inode for the next operation
// (CompoundContext::looked_up).
void SetCurrentFhLookedUp(CompoundContext& ctx, const meta::Inode& inode);

// RFC 3629 UTF-8: no overlong forms, no surrogates, at most U+10FFFF.
bool IsUtf8(std::string_view s);

// RFC 8881 18.x: a name a client may create or look up. Zero length: NFS4ERR_INVAL; "." and
// "..": NFS4ERR_BADNAME; over maxname: NFS4ERR_NAMETOOLONG; '/' or NUL: NFS4ERR_BADNAME;
// not UTF-8: NFS4ERR_INVAL (RFC 8881 14.4).
nfsstat4 CheckName(const component4& name, std::string_view& out);

// The object `name` in `dir` is about to lose that name (REMOVE, RENAME's source, the target a
// RENAME replaces): other clients' delegations on it are recalled first (RFC 8881 10.4:
// NFS4ERR_DELAY until they are returned), and a sticky directory's rule applies
// (CheckSticky). One lookup serves both, and none is made when neither applies. A missing
// name is the answer only when `required` and the directory is sticky; otherwise the
// operation itself reports it.
nfsstat4 CheckNameLoss(CompoundContext& ctx, const meta::Inode& dir, std::string_view name,
                       bool required);

bool MayAccessInode(const CompoundContext& ctx, const meta::Inode& inode, uint32_t want,
                    bool owner_override = false);
// RFC 8276 user xattrs, as Linux grants them (xattr_permission): reading and listing need read
// permission; setting and removing need write permission, and on a sticky directory ownership
// (or root). Only regular files and directories carry them.
bool XattrTypeAllowed(const meta::Inode& inode);
bool MayReadXattrs(const CompoundContext& ctx, const meta::Inode& inode);
bool MayWriteXattrs(const CompoundContext& ctx, const meta::Inode& inode);
// May the caller change entries of `dir` (write + search)?
nfsstat4 CheckDirWrite(const CompoundContext& ctx, const meta::Inode& dir);
// RENAME of a directory into another parent rewrites its "..": the caller needs write
// permission on the directory moved, as Linux's vfs_rename asks (the Linux client leaves
// directory write checks to the server). No lookup is made when neither applies.
nfsstat4 CheckDirMove(CompoundContext& ctx, const meta::Inode& src_dir, std::string_view name,
                      const meta::Inode& dst_dir);
// The mode of a new object in `dir` whose group is `gid`, with the set-group-ID rules of Linux's
// inode_init_owner: in a setgid directory a new directory is setgid too, and a setgid
// group-executable file made by a caller outside `gid` without privilege is not.
uint32_t NewObjectMode(const CompoundContext& ctx, const meta::Inode& dir, meta::FileType type,
                       uint32_t mode, uint32_t gid);
// Sticky directories (POSIX): only the owner of the entry or of the directory, or root, may
// remove or rename the entry.
nfsstat4 CheckSticky(const CompoundContext& ctx, const meta::Inode& dir,
                     const meta::Inode& victim);

// The fileid the current filehandle names, without requiring the file to still exist: CLOSE,
// LOCKU and OPEN_DOWNGRADE must work on an open file whose last name was removed (RFC 8881
// 9.9, pynfs RNM21).
nfsstat4 CurrentFileId(const CompoundContext& ctx, uint64_t& fileid);

void FillChangeInfo(const meta::DirChange& change, change_info4& out);
void* ArenaAlloc(CompoundContext& ctx, size_t bytes);
// Bytes the session still allows this operation's result (RFC 8881 18.46.3,
// ca_maxresponsesize): the slot's maximum less the reply so far and the result's opnum and
// status. Unbounded without a session. `within_cache`: also within ca_maxresponsesize_cached
// when the reply is cached (for results sized to fit, not refused when too big).
uint64_t ResultBytesLeft(const CompoundContext& ctx, bool within_cache = false);

}  // namespace manifold::nfs4::ops
