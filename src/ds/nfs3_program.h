// NFS version 3 (RFC 1813) over one exported directory. One method per procedure; the table
// in nfs3_program.cc maps procedure numbers to them.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "ds/creds.h"
#include "ds/export.h"
#include "ds/sync_batcher.h"
#include "rpc/program.h"
#include "xdr/nfs3.h"

namespace manifold::ds {

// Stripes of the per-file write lock (Nfs3Program::write_locks_): WRITEs to one file take turns
// in the server, where a waiting worker sleeps, instead of in the kernel, where writers to one
// file spin on its inode lock (rwsem_spin_on_owner took 22% of the server's CPU during a
// sequential write with 4 WRITEs in flight).
inline constexpr size_t kWriteLockStripes = 256;

struct DsOptions {
  bool root_squash = false;
  // Largest READ/WRITE this server offers in FSINFO (and accepts).
  uint32_t io_bytes_max = 1u << 20;
  // Preferred READDIR reply size offered in FSINFO.
  uint32_t readdir_bytes_pref = 64u << 10;
  // RFC 1813 (e.g. 3.3.8): namespace and attribute changes are on stable storage before the
  // reply. Off only with --unsafe-async-metadata (like knfsd's "async" export option).
  bool sync_metadata = true;
  // Makes a file's data stable for WRITE (DATA_SYNC, FILE_SYNC) and COMMIT: 0 or an errno.
  // Unset: fdatasync or fsync. Tests set it to inject the write-back errors a failing disk
  // gives.
  std::function<int(int fd, bool metadata_too)> sync_file_data;
};

class Nfs3Program : public rpc::Program {
 public:
  Nfs3Program(Export& exp, DsOptions options);
  uint32_t number() const override { return NFS_PROGRAM; }
  uint32_t version_low() const override { return NFS_V3; }
  uint32_t version_high() const override { return NFS_V3; }
  rpc::AcceptStat Call(const rpc::CallContext& ctx, std::span<const uint8_t> args,
                       std::vector<uint8_t>& out) override;
  bool RunsInline(const rpc::CallHeader& header, std::span<const uint8_t> args) const override;

  // The write verifier (RFC 1813 3.3.7): changes on every start of the server, and after a
  // write or sync of file data fails (as knfsd's does), so that clients resend UNSTABLE writes
  // that may be lost: the kernel reports a write-back error to one fsync only, and every
  // client's data in the file may have been in the pages that failed.
  std::array<char, NFS3_WRITEVERFSIZE> write_verifier() const;
  // Objects made durable (fsync, shared fsync or syncfs) after namespace and attribute
  // changes (tests).
  uint64_t metadata_syncs() const { return metadata_syncs_.load(std::memory_order_relaxed); }

  // Per-call state handed to each procedure.
  struct Req {
    const rpc::CallContext& ctx;
    Identity id;
    rpc::Arena& arena;
  };

  void GetAttr(Req& r, GETATTR3args& a, GETATTR3res& res);
  void SetAttr(Req& r, SETATTR3args& a, SETATTR3res& res);
  void Lookup(Req& r, LOOKUP3args& a, LOOKUP3res& res);
  void Access(Req& r, ACCESS3args& a, ACCESS3res& res);
  void ReadLink(Req& r, READLINK3args& a, READLINK3res& res);
  // READ encodes its own reply: the data is read straight into the reply buffer.
  rpc::AcceptStat ReadInto(Req& r, std::span<const uint8_t> args, std::vector<uint8_t>& out);
  void Write(Req& r, WRITE3args& a, WRITE3res& res);
  void Create(Req& r, CREATE3args& a, CREATE3res& res);
  void MkDir(Req& r, MKDIR3args& a, MKDIR3res& res);
  void Symlink(Req& r, SYMLINK3args& a, SYMLINK3res& res);
  void MkNod(Req& r, MKNOD3args& a, MKNOD3res& res);
  void Remove(Req& r, REMOVE3args& a, REMOVE3res& res);
  void RmDir(Req& r, RMDIR3args& a, RMDIR3res& res);
  void Rename(Req& r, RENAME3args& a, RENAME3res& res);
  void Link(Req& r, LINK3args& a, LINK3res& res);
  void ReadDir(Req& r, READDIR3args& a, READDIR3res& res);
  void ReadDirPlus(Req& r, READDIRPLUS3args& a, READDIRPLUS3res& res);
  void FsStat(Req& r, FSSTAT3args& a, FSSTAT3res& res);
  void FsInfo(Req& r, FSINFO3args& a, FSINFO3res& res);
  void PathConf(Req& r, PATHCONF3args& a, PATHCONF3res& res);
  void Commit(Req& r, COMMIT3args& a, COMMIT3res& res);

 private:
  // Applies sattr3 to an object (mode, owner, size, times) with the caller's credentials.
  nfsstat3 ApplySattr(Req& r, int path_fd, const struct stat& st, const sattr3& s);
  // Makes a namespace or attribute change durable unless sync_metadata is off: fsync of the
  // object that `fd` (from Export::Resolve) names, whose stat is `st`. NFS3_OK, or the error
  // fsync reported.
  nfsstat3 SyncObject(const PathFd& fd, const struct stat& st);
  // The same for any descriptor of the object: `readable` if it is open for reading (not
  // O_PATH). Directories are synced through dir_syncs_ (group commit).
  nfsstat3 SyncFd(int fd, const struct stat& st, bool readable);
  // Shared tail of CREATE/MKDIR/SYMLINK/MKNOD: handle and attributes of the new object, which
  // is synced (its inode is part of the change; the caller syncs the directory).
  nfsstat3 NewObjectResult(Req& r, int dir_fd, const char* name, post_op_fh3& fh,
                           post_op_attr& attrs);

  Export& export_;
  DsOptions options_;
  // A new write verifier, different from the last one.
  void NewVerifier();
  int SyncFileData(int fd, bool metadata_too);

  std::atomic<uint64_t> verifier_{0};
  std::atomic<uint64_t> metadata_syncs_{0};
  SyncBatcher dir_syncs_;
  SyncBatcher data_syncs_;  // DATA_SYNC WRITEs (fdatasync), by file
  SyncBatcher file_syncs_;  // FILE_SYNC WRITEs (fsync), by file
  std::array<std::mutex, kWriteLockStripes> write_locks_;  // by inode number
};

}  // namespace manifold::ds
