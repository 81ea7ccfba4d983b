#include "nfs4/mds.h"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <cstring>

#include "meta/change_marks.h"
#include "nfs4/compound.h"
#include "nfs4/filehandle.h"
#include "state/stateid.h"

namespace manifold::nfs4 {

Backchannel::HandleOf HandlesOf(meta::Namespace& ns) {
  return [&ns](uint64_t fileid) -> std::optional<std::string> {
    auto inode = ns.GetInode(fileid);
    if (!inode.ok()) return std::nullopt;
    return EncodeHandle(fileid, inode->generation);
  };
}

Mds::Mds(meta::Namespace& ns, state::StateManager& state, DataStore& data,
         Backchannel& backchannel, const state::Clock& clock, MdsOptions options)
    : ns_(ns),
      state_(state),
      data_(data),
      backchannel_(backchannel),
      clock_(clock),
      options_(std::move(options)) {}

nfsstat4 Mds::CheckIoStateid(CompoundContext& ctx, const stateid4& stateid, uint64_t fileid,
                             bool write) {
  stateid4 id = stateid;
  if (nfsstat4 s = ResolveCurrentStateid(ctx, id); s != NFS4_OK) return s;
  // I/O under a special stateid is checked against other clients' share reservations and
  // delegations now, which rest on client records a lease expiry or the end of grace may have
  // changed without a sync: a read-only compound's reply then waits for every change.
  if (state::IsSpecialStateid(id)) meta::ReadMarks::Note(ns_.DurabilityMark());
  return state_.CheckIo(ctx.clientid, id, fileid, write);
}

Result<meta::SetAttrResult> Mds::SetAttr(uint64_t fileid, const meta::SetAttrArgs& args) {
  if (!args.size_bytes) return ns_.SetAttr(fileid, args);
  if (*args.size_bytes > data_.file_bytes_max()) {
    return Status(Code::kFileTooBig, "size " + std::to_string(*args.size_bytes) +
                                         " is over maxfilesize " +
                                         std::to_string(data_.file_bytes_max()));
  }
  // Exclusive: a WRITE landing between the new size and the cut would be cut away.
  auto guard = data_.ExclusiveFile(fileid);
  // What an earlier shrink or a crash left past the end goes before the file can grow over it.
  if (Status s = data_.CutPastSizeLocked(fileid, *args.size_bytes); !s.ok()) return s;
  auto done = ns_.SetAttr(fileid, args);
  if (!done.ok() || !done->after.data_past_size) return done;
  // A shrink: the new size is committed with data_past_size set. Once it is durable it stands
  // whatever the cut does: a failed cut is done again before the file next grows
  // (docs/schema.md), so the client is told of success.
  if (Status s = ns_.WaitDurable(ns_.DurabilityMark()); !s.ok()) return s;
  if (Status s = data_.CutPastSizeLocked(fileid); !s.ok()) {
    spdlog::warn("file {}: data past its new size {} not cut yet: {}", fileid,
                 *args.size_bytes, s.ToString());
  }
  return done;
}

void Mds::ReleaseData(const meta::Unlinked& unlinked) {
  if (unlinked.dropped) ReleaseWhenDurable(unlinked.extents);
}

void Mds::ReleaseWhenDurable(std::vector<meta::Extent> extents) {
  if (extents.empty()) return;
  ns_.WhenDurable(ns_.DurabilityMark(), [this, extents = std::move(extents)](Status s) {
    if (!s.ok()) {
      spdlog::error("data of file {} kept: the change that drops it may not be durable: {}",
                    extents.front().fileid, s.ToString());
      return;
    }
    data_.Release(extents);
  });
}

Mds::~Mds() { ns_.QuiesceDurabilityCallbacks(); }

void NamespaceReplyGate::WhenDurable(uint64_t mark, std::function<void(bool)> done) {
  // A failed sync is logged once by the namespace's syncer and once per connection it closes.
  ns_.WhenDurable(mark, [done = std::move(done)](Status s) { done(s.ok()); });
}

Identity Mds::IdentityOf(const rpc::Credential& cred, const ExportRule& rule) {
  Identity id;
  if (cred.flavor != rpc::AuthFlavor::kSys) return id;  // AUTH_NONE: anonymous
  id.uid = cred.sys.uid;
  id.gid = cred.sys.gid;
  id.gids = cred.sys.gids;
  if (rule.root_squash) SquashRoot(id);
  return id;
}

FsAttrs Mds::fs_attrs() const {
  std::lock_guard lock(fs_mu_);
  auto now = std::chrono::steady_clock::now();
  if (fs_valid_ && now - fs_read_at_ < kFsAttrsRefresh) return fs_;
  FsAttrs fs;
  fs.lease_time_s = options_.lease_time_s;
  fs.layout_types = {};  // no layouts are handed out yet: clients do I/O through the MDS
  fs.maxfilesize_bytes = data_.file_bytes_max();
  fs.xattr_support = true;  // RFC 8276: GETXATTR, SETXATTR, LISTXATTRS, REMOVEXATTR
  struct statvfs vfs;
  if (!options_.meta_dir.empty() && ::statvfs(options_.meta_dir.c_str(), &vfs) == 0) {
    fs.space_total_bytes = uint64_t(vfs.f_blocks) * vfs.f_frsize;
    fs.space_free_bytes = uint64_t(vfs.f_bfree) * vfs.f_frsize;
    fs.space_avail_bytes = uint64_t(vfs.f_bavail) * vfs.f_frsize;
    fs.files_total = vfs.f_files;
    fs.files_free = vfs.f_ffree;
    fs.files_avail = vfs.f_favail;
  }
  fs_ = fs;
  fs_read_at_ = now;
  fs_valid_ = true;
  return fs;
}

namespace {

nfs_ftype4 ToFtype(meta::FileType t) {
  switch (t) {
    case meta::FileType::kReg: return NF4REG;
    case meta::FileType::kDir: return NF4DIR;
    case meta::FileType::kSymlink: return NF4LNK;
    case meta::FileType::kBlk: return NF4BLK;
    case meta::FileType::kChr: return NF4CHR;
    case meta::FileType::kFifo: return NF4FIFO;
    case meta::FileType::kSock: return NF4SOCK;
  }
  return NF4REG;
}

Timestamp ToTs(const meta::Timespec& t) { return Timestamp{t.sec, t.nsec}; }

}  // namespace

ObjectAttrs ToObjectAttrs(const meta::Inode& inode) {
  ObjectAttrs a;
  a.type = ToFtype(inode.type);
  a.mode = inode.mode & 07777;
  a.nlink = inode.nlink;
  a.uid = inode.uid;
  a.gid = inode.gid;
  a.size_bytes = inode.size_bytes;
  a.space_used_bytes = inode.space_used_bytes;
  a.fileid = inode.fileid;
  a.mounted_on_fileid = inode.fileid;
  a.fsid_major = kFsidMajor;
  a.fsid_minor = kFsidMinor;
  a.rdev_major = inode.rdev.major;
  a.rdev_minor = inode.rdev.minor;
  a.atime = ToTs(inode.atime);
  a.mtime = ToTs(inode.mtime);
  a.ctime = ToTs(inode.ctime);
  a.crtime = ToTs(inode.crtime);
  a.change = inode.change;
  return a;
}

ObjectAttrs DirentAttrs(uint64_t fileid, meta::FileType type) {
  ObjectAttrs a;
  a.type = ToFtype(type);
  a.fileid = fileid;
  a.mounted_on_fileid = fileid;
  a.fsid_major = kFsidMajor;
  a.fsid_minor = kFsidMinor;
  return a;
}

}  // namespace manifold::nfs4
