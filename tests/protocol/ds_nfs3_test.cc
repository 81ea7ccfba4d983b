// NFSv3 (RFC 1813) and MOUNTv3 against a real manifold-ds in this process, over loopback, with
// rpc::Client and the rpcgen types. Every procedure, permission checks with AUTH_SYS
// identities (the server runs as root and takes the caller's identity per request), stale and
// forged handles, and malformed XDR. Status assertions compare names (NFS3ERR_ACCES, not 13).
//
// Needs root (the server switches fsuid per request; the tests chown files on the host).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ds/nfs3_util.h"
#include "ds_test_server.h"
#include "rpc/client.h"

namespace manifold {
namespace {

using testlib::DsTestServer;
using testlib::TempDir;
using testlib::XdrOwned;
using testlib::XdrProcOf;
using Fh = std::string;  // filehandle bytes
using Bytes = std::vector<uint8_t>;

// The uid and gid of AUTH_NONE callers and of squashed root ("nobody").
constexpr uint32_t kNobody = 65534;

// Status of a call that got no NFS reply at all (the failure is reported where it happened).
constexpr nfsstat3 kNoReply = nfsstat3(0x7fff0000);

const char* StatName(nfsstat3 s) { return s == kNoReply ? "<no NFS reply>" : ds::Nfs3StatName(s); }

const char* MntStatName(mountstat3 s) {
  switch (s) {
    case MNT3_OK: return "MNT3_OK";
    case MNT3ERR_PERM: return "MNT3ERR_PERM";
    case MNT3ERR_NOENT: return "MNT3ERR_NOENT";
    case MNT3ERR_IO: return "MNT3ERR_IO";
    case MNT3ERR_ACCES: return "MNT3ERR_ACCES";
    case MNT3ERR_NOTDIR: return "MNT3ERR_NOTDIR";
    case MNT3ERR_INVAL: return "MNT3ERR_INVAL";
    case MNT3ERR_NAMETOOLONG: return "MNT3ERR_NAMETOOLONG";
    case MNT3ERR_NOTSUPP: return "MNT3ERR_NOTSUPP";
    case MNT3ERR_SERVERFAULT: return "MNT3ERR_SERVERFAULT";
  }
  return "MNT3ERR_UNKNOWN";
}

#define EXPECT_NFS3(want, res) EXPECT_STREQ(StatName(want), StatName((res)->status))
#define ASSERT_NFS3(want, res) ASSERT_STREQ(StatName(want), StatName((res)->status))

rpc::Credential Root() { return rpc::AuthSysCred(0, 0); }
rpc::Credential User() { return rpc::AuthSysCred(1000, 1000); }
rpc::Credential Other() { return rpc::AuthSysCred(2000, 2000); }
rpc::Credential None() { return rpc::Credential{}; }

nfs_fh3 Fh3(const Fh& fh) {
  nfs_fh3 f{};
  f.data.data_len = u_int(fh.size());
  f.data.data_val = const_cast<char*>(fh.data());
  return f;
}

Fh FromFh3(const nfs_fh3& f) { return Fh(f.data.data_val, f.data.data_len); }

char* Name(const std::string& s) { return const_cast<char*>(s.c_str()); }

// sattr3 built field by field; unset fields are "don't change".
struct Sattr {
  sattr3 s{};
  Sattr& Mode(uint32_t m) {
    s.mode.set_it = TRUE;
    s.mode.set_mode3_u.mode = m;
    return *this;
  }
  Sattr& Uid(uint32_t u) {
    s.uid.set_it = TRUE;
    s.uid.set_uid3_u.uid = u;
    return *this;
  }
  Sattr& Gid(uint32_t g) {
    s.gid.set_it = TRUE;
    s.gid.set_gid3_u.gid = g;
    return *this;
  }
  Sattr& Size(uint64_t n) {
    s.size.set_it = TRUE;
    s.size.set_size3_u.size = n;
    return *this;
  }
  Sattr& Atime(time_how how, nfstime3 t = {}) {
    s.atime.set_it = how;
    s.atime.set_atime_u.atime = t;
    return *this;
  }
  Sattr& Mtime(time_how how, nfstime3 t = {}) {
    s.mtime.set_it = how;
    s.mtime.set_mtime_u.mtime = t;
    return *this;
  }
};

std::string DataOf(const READ3resok& ok) { return std::string(ok.data.data_val, ok.data.data_len); }

class DsNfs3Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root: the server switches fsuid per request";
    ::umask(0);  // as manifold_ds_main.cc: clients send the mode they want
    dir_ = std::make_unique<TempDir>("manifold-ds-proto");
    ASSERT_FALSE(dir_->path().empty()) << "mkdtemp failed";
    ASSERT_EQ(::chmod(dir_->path().c_str(), 0755), 0);
    StartServer();
  }

  void TearDown() override {
    client_.reset();
    server_.reset();
  }

  void StartServer(ds::DsOptions options = {}) {
    client_.reset();
    server_.reset();
    auto s = DsTestServer::Start(dir_->path(), options);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(*s);
    auto c = rpc::Client::Connect("127.0.0.1", server_->port());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
    root_ = Mount(dir_->path());
    ASSERT_FALSE(root_.empty());
  }

  // ---- host side -------------------------------------------------------------------------
  std::string Path(const std::string& rel) const { return dir_->path() + "/" + rel; }

  void HostFile(const std::string& rel, const std::string& content, mode_t mode = 0644,
                uid_t uid = 0, gid_t gid = 0) {
    int fd = ::open(Path(rel).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    ASSERT_GE(fd, 0) << rel << ": " << std::strerror(errno);
    ASSERT_EQ(::write(fd, content.data(), content.size()), ssize_t(content.size()));
    ASSERT_EQ(::fchmod(fd, mode), 0);
    ASSERT_EQ(::fchown(fd, uid, gid), 0);
    ::close(fd);
  }

  void HostDir(const std::string& rel, mode_t mode = 0755, uid_t uid = 0, gid_t gid = 0) {
    ASSERT_EQ(::mkdir(Path(rel).c_str(), mode), 0) << rel << ": " << std::strerror(errno);
    ASSERT_EQ(::chmod(Path(rel).c_str(), mode), 0);
    ASSERT_EQ(::chown(Path(rel).c_str(), uid, gid), 0);
  }

  struct stat HostStat(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat(Path(rel).c_str(), &st), 0) << rel << ": " << std::strerror(errno);
    return st;
  }

  bool HostExists(const std::string& rel) {
    struct stat st;
    return ::lstat(Path(rel).c_str(), &st) == 0;
  }

  std::string HostRead(const std::string& rel) {
    std::string out;
    int fd = ::open(Path(rel).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "<cannot open " + rel + ">";
    char buf[65536];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) out.append(buf, size_t(n));
    ::close(fd);
    return out;
  }

  // ---- calls -------------------------------------------------------------------------------
  template <typename Res, typename Args>
  XdrOwned<Res> Call(uint32_t proc, Args& args, const rpc::Credential& cred) {
    XdrOwned<Res> res;
    auto st = client_->CallXdr(NFS_PROGRAM, NFS_V3, proc, cred, XdrProcOf<Args>::get(), &args,
                               XdrProcOf<Res>::get(), res.get());
    if (!st.ok()) {
      ADD_FAILURE() << "NFS procedure " << proc << ": " << st.status().ToString();
      res->status = kNoReply;
    } else if (*st != rpc::AcceptStat::kSuccess) {
      ADD_FAILURE() << "NFS procedure " << proc << ": " << rpc::AcceptStatName(*st);
      res->status = kNoReply;
    } else {
      res.set_decoded();
    }
    return res;
  }

  // A call with hand-made argument bytes; returns the RPC accept status (or fails).
  rpc::AcceptStat RawCall(uint32_t prog, uint32_t vers, uint32_t proc, const Bytes& args,
                          const rpc::Credential& cred = Root()) {
    auto r = client_->Call(prog, vers, proc, cred, args, std::chrono::seconds(30));
    if (!r.ok()) {
      ADD_FAILURE() << "no reply: " << r.status().ToString();
      return rpc::AcceptStat::kSystemErr;
    }
    EXPECT_TRUE(r->header.accepted) << "call was denied";
    return r->header.accept_stat;
  }

  Fh Mount(const std::string& path) {
    dirpath p = Name(path);
    XdrOwned<mountres3> res;
    auto st = client_->CallXdr(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_MNT, Root(),
                               XdrProcOf<dirpath>::get(), &p, XdrProcOf<mountres3>::get(),
                               res.get());
    if (!st.ok() || *st != rpc::AcceptStat::kSuccess) {
      ADD_FAILURE() << "MNT " << path << " got no reply";
      return "";
    }
    res.set_decoded();
    if (res->fhs_status != MNT3_OK) return "";
    auto& fh = res->mountres3_u.mountinfo.fhandle;
    return Fh(fh.fhandle3_val, fh.fhandle3_len);
  }

  XdrOwned<GETATTR3res> GetAttr(const Fh& fh, const rpc::Credential& c = Root()) {
    GETATTR3args a{};
    a.object = Fh3(fh);
    return Call<GETATTR3res>(NFSPROC3_GETATTR, a, c);
  }

  XdrOwned<SETATTR3res> SetAttr(const Fh& fh, const Sattr& s, const rpc::Credential& c = Root(),
                                const nfstime3* guard = nullptr) {
    SETATTR3args a{};
    a.object = Fh3(fh);
    a.new_attributes = s.s;
    if (guard) {
      a.guard.check = TRUE;
      a.guard.sattrguard3_u.obj_ctime = *guard;
    }
    return Call<SETATTR3res>(NFSPROC3_SETATTR, a, c);
  }

  XdrOwned<LOOKUP3res> Lookup(const Fh& dir, const std::string& name,
                              const rpc::Credential& c = Root()) {
    LOOKUP3args a{};
    a.what.dir = Fh3(dir);
    a.what.name = Name(name);
    return Call<LOOKUP3res>(NFSPROC3_LOOKUP, a, c);
  }

  Fh LookupFh(const Fh& dir, const std::string& name) {
    auto r = Lookup(dir, name);
    if (r->status != NFS3_OK) {
      ADD_FAILURE() << "LOOKUP " << name << ": " << StatName(r->status);
      return "";
    }
    return FromFh3(r->LOOKUP3res_u.resok.object);
  }

  XdrOwned<ACCESS3res> Access(const Fh& fh, uint32_t bits, const rpc::Credential& c) {
    ACCESS3args a{};
    a.object = Fh3(fh);
    a.access = bits;
    return Call<ACCESS3res>(NFSPROC3_ACCESS, a, c);
  }

  XdrOwned<CREATE3res> Create(const Fh& dir, const std::string& name, createmode3 how,
                              const rpc::Credential& c = Root(), Sattr attrs = Sattr().Mode(0644),
                              const char* verf = nullptr) {
    CREATE3args a{};
    a.where.dir = Fh3(dir);
    a.where.name = Name(name);
    a.how.mode = how;
    if (how == EXCLUSIVE) {
      std::memcpy(a.how.createhow3_u.verf, verf, NFS3_CREATEVERFSIZE);
    } else {
      a.how.createhow3_u.obj_attributes = attrs.s;
    }
    return Call<CREATE3res>(NFSPROC3_CREATE, a, c);
  }

  Fh CreateFile(const Fh& dir, const std::string& name, uint32_t mode = 0644,
                const rpc::Credential& c = Root()) {
    auto r = Create(dir, name, GUARDED, c, Sattr().Mode(mode));
    if (r->status != NFS3_OK) {
      ADD_FAILURE() << "CREATE " << name << ": " << StatName(r->status);
      return "";
    }
    auto& ok = r->CREATE3res_u.resok;
    EXPECT_TRUE(ok.obj.handle_follows);
    return FromFh3(ok.obj.post_op_fh3_u.handle);
  }

  XdrOwned<MKDIR3res> MkDir(const Fh& dir, const std::string& name, uint32_t mode = 0755,
                            const rpc::Credential& c = Root()) {
    MKDIR3args a{};
    a.where.dir = Fh3(dir);
    a.where.name = Name(name);
    a.attributes = Sattr().Mode(mode).s;
    return Call<MKDIR3res>(NFSPROC3_MKDIR, a, c);
  }

  Fh MakeDir(const Fh& dir, const std::string& name, uint32_t mode = 0755) {
    auto r = MkDir(dir, name, mode);
    if (r->status != NFS3_OK) {
      ADD_FAILURE() << "MKDIR " << name << ": " << StatName(r->status);
      return "";
    }
    return FromFh3(r->MKDIR3res_u.resok.obj.post_op_fh3_u.handle);
  }

  XdrOwned<WRITE3res> Write(const Fh& fh, uint64_t offset, const std::string& data,
                            stable_how stable = FILE_SYNC, const rpc::Credential& c = Root(),
                            int64_t count = -1) {
    WRITE3args a{};
    a.file = Fh3(fh);
    a.offset = offset;
    a.count = count < 0 ? uint32_t(data.size()) : uint32_t(count);
    a.stable = stable;
    a.data.data_len = u_int(data.size());
    a.data.data_val = const_cast<char*>(data.data());
    return Call<WRITE3res>(NFSPROC3_WRITE, a, c);
  }

  XdrOwned<READ3res> Read(const Fh& fh, uint64_t offset, uint32_t count,
                          const rpc::Credential& c = Root()) {
    READ3args a{};
    a.file = Fh3(fh);
    a.offset = offset;
    a.count = count;
    return Call<READ3res>(NFSPROC3_READ, a, c);
  }

  XdrOwned<COMMIT3res> Commit(const Fh& fh, const rpc::Credential& c = Root()) {
    COMMIT3args a{};
    a.file = Fh3(fh);
    return Call<COMMIT3res>(NFSPROC3_COMMIT, a, c);
  }

  XdrOwned<REMOVE3res> Remove(const Fh& dir, const std::string& name,
                              const rpc::Credential& c = Root()) {
    REMOVE3args a{};
    a.object.dir = Fh3(dir);
    a.object.name = Name(name);
    return Call<REMOVE3res>(NFSPROC3_REMOVE, a, c);
  }

  XdrOwned<RMDIR3res> RmDir(const Fh& dir, const std::string& name) {
    RMDIR3args a{};
    a.object.dir = Fh3(dir);
    a.object.name = Name(name);
    return Call<RMDIR3res>(NFSPROC3_RMDIR, a, Root());
  }

  XdrOwned<RENAME3res> Rename(const Fh& from_dir, const std::string& from, const Fh& to_dir,
                              const std::string& to) {
    RENAME3args a{};
    a.from.dir = Fh3(from_dir);
    a.from.name = Name(from);
    a.to.dir = Fh3(to_dir);
    a.to.name = Name(to);
    return Call<RENAME3res>(NFSPROC3_RENAME, a, Root());
  }

  XdrOwned<LINK3res> Link(const Fh& file, const Fh& dir, const std::string& name,
                          const rpc::Credential& c = Root()) {
    LINK3args a{};
    a.file = Fh3(file);
    a.link.dir = Fh3(dir);
    a.link.name = Name(name);
    return Call<LINK3res>(NFSPROC3_LINK, a, c);
  }

  XdrOwned<SYMLINK3res> Symlink(const Fh& dir, const std::string& name,
                                const std::string& target) {
    SYMLINK3args a{};
    a.where.dir = Fh3(dir);
    a.where.name = Name(name);
    a.symlink.symlink_data = Name(target);
    return Call<SYMLINK3res>(NFSPROC3_SYMLINK, a, Root());
  }

  XdrOwned<READLINK3res> ReadLink(const Fh& fh) {
    READLINK3args a{};
    a.symlink = Fh3(fh);
    return Call<READLINK3res>(NFSPROC3_READLINK, a, Root());
  }

  XdrOwned<MKNOD3res> MkNod(const Fh& dir, const std::string& name, ftype3 type) {
    MKNOD3args a{};
    a.where.dir = Fh3(dir);
    a.where.name = Name(name);
    a.what.type = type;
    if (type == NF3CHR || type == NF3BLK) {
      a.what.mknoddata3_u.device.dev_attributes = Sattr().Mode(0644).s;
    } else if (type == NF3FIFO || type == NF3SOCK) {
      a.what.mknoddata3_u.pipe_attributes = Sattr().Mode(0644).s;
    }
    return Call<MKNOD3res>(NFSPROC3_MKNOD, a, Root());
  }

  XdrOwned<READDIR3res> ReadDir(const Fh& dir, uint64_t cookie, uint32_t count) {
    READDIR3args a{};
    a.dir = Fh3(dir);
    a.cookie = cookie;
    a.count = count;
    return Call<READDIR3res>(NFSPROC3_READDIR, a, Root());
  }

  XdrOwned<READDIRPLUS3res> ReadDirPlus(const Fh& dir, uint64_t cookie, uint32_t dircount,
                                        uint32_t maxcount, const rpc::Credential& c = Root()) {
    READDIRPLUS3args a{};
    a.dir = Fh3(dir);
    a.cookie = cookie;
    a.dircount = dircount;
    a.maxcount = maxcount;
    return Call<READDIRPLUS3res>(NFSPROC3_READDIRPLUS, a, c);
  }

  // The fileid (inode number) GETATTR reports, or 0.
  uint64_t FileId(const Fh& fh) {
    auto r = GetAttr(fh);
    return r->status == NFS3_OK ? r->GETATTR3res_u.resok.obj_attributes.fileid : 0;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<DsTestServer> server_;
  std::unique_ptr<rpc::Client> client_;
  Fh root_;
};

// =============================================================================================
// MOUNT v3 (RFC 1813 section 5)

TEST_F(DsNfs3Test, MountNullSucceeds) {
  EXPECT_STREQ(rpc::AcceptStatName(RawCall(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_NULL, {})),
               "SUCCESS");
}

TEST_F(DsNfs3Test, MountMntOfTheExportGivesTheRootHandleAndAuthSys) {
  std::string path = dir_->path() + "/";  // a trailing slash names the same export
  dirpath p = Name(path);
  XdrOwned<mountres3> res;
  auto st = client_->CallXdr(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_MNT, Root(),
                             XdrProcOf<dirpath>::get(), &p, XdrProcOf<mountres3>::get(),
                             res.get());
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  ASSERT_EQ(*st, rpc::AcceptStat::kSuccess);
  res.set_decoded();
  ASSERT_STREQ(MntStatName(res->fhs_status), "MNT3_OK");
  auto& ok = res->mountres3_u.mountinfo;
  EXPECT_EQ(Fh(ok.fhandle.fhandle3_val, ok.fhandle.fhandle3_len), root_);
  ASSERT_GE(ok.auth_flavors.auth_flavors_len, 1u);
  EXPECT_EQ(ok.auth_flavors.auth_flavors_val[0], int(rpc::AuthFlavor::kSys));
  // The handle is the export root's.
  auto attr = GetAttr(root_);
  ASSERT_NFS3(NFS3_OK, attr);
  EXPECT_EQ(attr->GETATTR3res_u.resok.obj_attributes.type, NF3DIR);
  EXPECT_EQ(attr->GETATTR3res_u.resok.obj_attributes.fileid, HostStat("").st_ino);
}

TEST_F(DsNfs3Test, MountMntOfAPathNotExportedIsNoent) {
  HostDir("sub");
  for (std::string path : {std::string("/nonexistent/export"), dir_->path() + "/sub",
                           std::string("/")}) {
    dirpath p = Name(path);
    XdrOwned<mountres3> res;
    auto st = client_->CallXdr(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_MNT, Root(),
                               XdrProcOf<dirpath>::get(), &p, XdrProcOf<mountres3>::get(),
                               res.get());
    ASSERT_TRUE(st.ok() && *st == rpc::AcceptStat::kSuccess) << path;
    res.set_decoded();
    EXPECT_STREQ(MntStatName(res->fhs_status), "MNT3ERR_NOENT") << path;
  }
}

// As for NFS names: MNT of "<export>\0x" must not mount "<export>".
TEST_F(DsNfs3Test, MountMntOfAPathWithANulInsideIsGarbageArgs) {
  auto mnt = [&](const std::string& path) {
    Bytes args;
    rpc::XdrWriter(args).String(path);
    return RawCall(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_MNT, args);
  };
  EXPECT_STREQ(rpc::AcceptStatName(mnt(dir_->path() + std::string("\0x", 2))), "GARBAGE_ARGS");
  EXPECT_STREQ(rpc::AcceptStatName(mnt(dir_->path())), "SUCCESS");
}

TEST_F(DsNfs3Test, MountExportListsTheExportDirectory) {
  XdrOwned<exports> res;
  auto st = client_->CallXdr(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_EXPORT, Root(),
                             xdrproc_t(rpc::XdrVoid), nullptr, XdrProcOf<exports>::get(),
                             res.get());
  ASSERT_TRUE(st.ok() && *st == rpc::AcceptStat::kSuccess);
  res.set_decoded();
  exportnode* e = *res;
  ASSERT_NE(e, nullptr);
  EXPECT_STREQ(e->ex_dir, dir_->path().c_str());
  EXPECT_EQ(e->ex_next, nullptr) << "one export only";
}

TEST_F(DsNfs3Test, MountDumpListsTheMountAndUmntRemovesIt) {
  auto dump = [&] {
    std::vector<std::pair<std::string, std::string>> out;
    XdrOwned<mountlist> res;
    auto st = client_->CallXdr(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_DUMP, Root(),
                               xdrproc_t(rpc::XdrVoid), nullptr, XdrProcOf<mountlist>::get(),
                               res.get());
    EXPECT_TRUE(st.ok() && *st == rpc::AcceptStat::kSuccess);
    if (!st.ok()) return out;
    res.set_decoded();
    for (mountbody* m = *res; m; m = m->ml_next) out.emplace_back(m->ml_hostname, m->ml_directory);
    return out;
  };
  // SetUp mounted once from 127.0.0.1.
  auto before = dump();
  ASSERT_EQ(before.size(), 1u);
  EXPECT_EQ(before[0].first, "127.0.0.1");
  EXPECT_EQ(before[0].second, dir_->path());

  Bytes args;
  rpc::XdrWriter(args).String(dir_->path());
  EXPECT_STREQ(rpc::AcceptStatName(RawCall(MOUNT_PROGRAM, MOUNT_V3, MOUNTPROC3_UMNT, args)),
               "SUCCESS");
  EXPECT_TRUE(dump().empty());
}

// =============================================================================================
// NFS v3: attributes

TEST_F(DsNfs3Test, NullSucceeds) {
  EXPECT_STREQ(rpc::AcceptStatName(RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_NULL, {})), "SUCCESS");
}

TEST_F(DsNfs3Test, GetAttrReportsWhatTheHostSees) {
  HostFile("f", "twelve bytes", 0640, 1000, 2000);
  Fh fh = LookupFh(root_, "f");
  auto r = GetAttr(fh);
  ASSERT_NFS3(NFS3_OK, r);
  const fattr3& a = r->GETATTR3res_u.resok.obj_attributes;
  struct stat st = HostStat("f");
  EXPECT_EQ(a.type, NF3REG);
  EXPECT_EQ(a.mode, 0640u);
  EXPECT_EQ(a.nlink, 1u);
  EXPECT_EQ(a.uid, 1000u);
  EXPECT_EQ(a.gid, 2000u);
  EXPECT_EQ(a.size, 12u);
  EXPECT_EQ(a.fileid, st.st_ino);
  EXPECT_EQ(a.mtime.seconds, uint32_t(st.st_mtim.tv_sec));
  EXPECT_EQ(a.mtime.nseconds, uint32_t(st.st_mtim.tv_nsec));
  EXPECT_EQ(a.ctime.seconds, uint32_t(st.st_ctim.tv_sec));
  auto root_attr = GetAttr(root_);
  ASSERT_NFS3(NFS3_OK, root_attr);
  EXPECT_EQ(root_attr->GETATTR3res_u.resok.obj_attributes.fsid, a.fsid) << "one file system";
}

TEST_F(DsNfs3Test, SetAttrChangesMode) {
  Fh fh = CreateFile(root_, "f", 0644);
  auto r = SetAttr(fh, Sattr().Mode(0600));
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ(HostStat("f").st_mode & 07777, 0600u);
  const wcc_data& wcc = r->SETATTR3res_u.resok.obj_wcc;
  ASSERT_TRUE(wcc.after.attributes_follow);
  EXPECT_EQ(wcc.after.post_op_attr_u.attributes.mode, 0600u);
}

TEST_F(DsNfs3Test, SetAttrChangesOwnerAsRoot) {
  Fh fh = CreateFile(root_, "f");
  ASSERT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Uid(1234).Gid(5678)));
  struct stat st = HostStat("f");
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
}

TEST_F(DsNfs3Test, SetAttrSizeTruncatesAndExtendsWithZeros) {
  Fh fh = CreateFile(root_, "f");
  ASSERT_NFS3(NFS3_OK, Write(fh, 0, "hello world"));
  ASSERT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Size(5)));
  EXPECT_EQ(HostRead("f"), "hello");
  ASSERT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Size(100)));
  EXPECT_EQ(HostStat("f").st_size, 100);
  auto r = Read(fh, 0, 200);
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ(DataOf(r->READ3res_u.resok), "hello" + std::string(95, '\0'));
}

// The server writes as itself, so it drops the set-id bits itself when the writer has no
// privilege, as write(2) and truncate(2) do on Linux (pjdfstest chmod/12).
TEST_F(DsNfs3Test, WriteAndTruncateWithoutPrivilegeDropTheSetIdBits) {
  for (auto [before, after] : {std::pair{04777u, 0777u}, {02777u, 0777u}, {06777u, 0777u},
                               {02767u, 02767u}}) {  // no group-execute: S_ISGID stays
    SCOPED_TRACE(before);
    HostFile("w", "", before);
    ASSERT_EQ(0, ::chmod(Path("w").c_str(), before));
    Fh fh = LookupFh(root_, "w");
    ASSERT_NFS3(NFS3_OK, Write(fh, 0, "x", FILE_SYNC, User()));
    EXPECT_EQ(after, HostStat("w").st_mode & 07777);
    ASSERT_EQ(0, ::chmod(Path("w").c_str(), before));
    ASSERT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Size(0), User()));
    EXPECT_EQ(after, HostStat("w").st_mode & 07777);
    ASSERT_EQ(0, ::unlink(Path("w").c_str()));
  }
  HostFile("r", "", 06777);
  ASSERT_EQ(0, ::chmod(Path("r").c_str(), 06777));
  ASSERT_NFS3(NFS3_OK, Write(LookupFh(root_, "r"), 0, "x"));  // root keeps them
  EXPECT_EQ(06777u, HostStat("r").st_mode & 07777);
}

// A write by root on a worker that last served another caller (identity switching is lazy)
// keeps the set-id bits, and a writer without privilege drops them as root does it, not as
// that caller (who may not own the file).
TEST_F(DsNfs3Test, WritesDropOrKeepTheSetIdBitsWhoeverTheWorkerServedLast) {
  HostFile("w", "", 04777);
  ASSERT_EQ(0, ::chmod(Path("w").c_str(), 04777));
  Fh fh = LookupFh(root_, "w");
  for (int round = 0; round < 4; ++round) {
    // REMOVE runs as its caller, who is then the identity of the worker that ran it: a few
    // of them reach every worker.
    for (int i = 0; i < 8; ++i) EXPECT_NFS3(NFS3ERR_NOENT, Remove(root_, "missing", Other()));
    ASSERT_EQ(0, ::chmod(Path("w").c_str(), 06777));
    ASSERT_NFS3(NFS3_OK, Write(fh, 0, "r", FILE_SYNC, Root()));
    EXPECT_EQ(06777u, HostStat("w").st_mode & 07777) << "round " << round;
    for (int i = 0; i < 8; ++i) EXPECT_NFS3(NFS3ERR_NOENT, Remove(root_, "missing", Other()));
    ASSERT_NFS3(NFS3_OK, Write(fh, 0, "u", FILE_SYNC, User()));
    EXPECT_EQ(0777u, HostStat("w").st_mode & 07777) << "round " << round;
  }
}

// O_TRUNC or ftruncate by a user who may write but does not own the file: the Linux client
// sends the size with mtime set to the server's time and atime left alone. Setting times to
// the server's clock needs write permission only (knfsd); a time the client gives needs
// ownership.
TEST_F(DsNfs3Test, AWriterWhoIsNotTheOwnerMayTruncateAndTouch) {
  HostFile("t", "data", 0666);
  ASSERT_EQ(0, ::chmod(Path("t").c_str(), 0666));
  Fh fh = LookupFh(root_, "t");
  EXPECT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Size(0).Mtime(SET_TO_SERVER_TIME), User()));
  EXPECT_EQ(0, HostStat("t").st_size);
  EXPECT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Atime(SET_TO_SERVER_TIME), User()));
  EXPECT_NFS3(NFS3ERR_PERM, SetAttr(fh, Sattr().Mtime(SET_TO_CLIENT_TIME, {1000, 0}), User()));
  ASSERT_EQ(0, ::chmod(Path("t").c_str(), 0644));  // no longer writable by others
  EXPECT_NFS3(NFS3ERR_ACCES, SetAttr(fh, Sattr().Mtime(SET_TO_SERVER_TIME), User()));
  EXPECT_NFS3(NFS3ERR_ACCES, Commit(fh, User()));  // nor may they sync it
  EXPECT_NFS3(NFS3_OK, Commit(fh, Root()));
}

// The kernel reports a write-back error to one fsync only, and the pages that failed may have
// held any client's UNSTABLE data in the file. So a failed sync changes the write verifier (as
// knfsd's does): every client's next COMMIT sees a new one and sends its data again.
TEST_F(DsNfs3Test, AFailedSyncChangesTheWriteVerifier) {
  std::atomic<bool> fail{false};
  ds::DsOptions o;
  o.sync_file_data = [&fail](int fd, bool metadata_too) {
    if (fail.load()) return EIO;
    return (metadata_too ? ::fsync(fd) : ::fdatasync(fd)) == 0 ? 0 : errno;
  };
  StartServer(o);
  Fh fh = CreateFile(root_, "f");
  auto verf = [](const char* v) { return std::string(v, NFS3_WRITEVERFSIZE); };
  auto w = Write(fh, 0, "abc", UNSTABLE);
  ASSERT_NFS3(NFS3_OK, w);
  const std::string before = verf(w->WRITE3res_u.resok.verf);
  fail = true;
  EXPECT_NFS3(NFS3ERR_IO, Commit(fh));
  EXPECT_NFS3(NFS3ERR_IO, Write(fh, 0, "abc", FILE_SYNC));
  fail = false;
  auto c = Commit(fh);
  ASSERT_NFS3(NFS3_OK, c);
  const std::string after = verf(c->COMMIT3res_u.resok.verf);
  EXPECT_NE(before, after) << "a COMMIT after a failed sync kept the verifier";
  auto again = Write(fh, 0, "abc", UNSTABLE);  // steady again until the next failure
  ASSERT_NFS3(NFS3_OK, again);
  EXPECT_EQ(after, verf(again->WRITE3res_u.resok.verf));
}

// Stable WRITEs to one file at once share their syncs (a client's O_DIRECT writes come many
// at a time): fewer syncs than writes, each write still on stable storage before its reply.
TEST_F(DsNfs3Test, StableWritesToOneFileAtOnceShareTheirSyncs) {
  std::atomic<int> syncs{0};
  ds::DsOptions o;
  o.sync_file_data = [&syncs](int fd, bool metadata_too) {
    syncs++;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a slow disk: writers gather
    return (metadata_too ? ::fsync(fd) : ::fdatasync(fd)) == 0 ? 0 : errno;
  };
  StartServer(o);
  Fh fh = CreateFile(root_, "f");
  constexpr int kWriters = 8;
  for (stable_how stable : {FILE_SYNC, DATA_SYNC}) {
    syncs = 0;
    std::atomic<int> stable_replies{0};
    std::vector<std::thread> writers;
    for (int i = 0; i < kWriters; ++i) {
      writers.emplace_back([&, i] {
        auto w = Write(fh, uint64_t(i) * 4, "abcd", stable);
        if (w->status == NFS3_OK && w->WRITE3res_u.resok.committed == stable) stable_replies++;
      });
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(kWriters, stable_replies.load()) << "stable_how " << int(stable);
    EXPECT_GE(syncs.load(), 1);
    EXPECT_LT(syncs.load(), kWriters) << "no sync was shared (stable_how " << int(stable) << ")";
  }
  std::string all;
  for (int i = 0; i < kWriters; ++i) all += "abcd";
  auto r = Read(fh, 0, uint32_t(all.size()));
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ(all, std::string(r->READ3res_u.resok.data.data_val, r->READ3res_u.resok.data.data_len));
}

// An immutable file (chattr +i) cannot be opened for writing, even by root; it is still read
// (as knfsd serves it), and a WRITE is refused with NFS3ERR_PERM (as knfsd) without changing it.
TEST_F(DsNfs3Test, AnImmutableFileIsReadAndNotWritten) {
  HostFile("i", "immutable bytes");
  int fd = ::open(Path("i").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) {
    ::close(fd);
    GTEST_SKIP() << "no file flags on this file system: " << std::strerror(errno);
  }
  flags |= FS_IMMUTABLE_FL;
  int set = ::ioctl(fd, FS_IOC_SETFLAGS, &flags);
  int set_errno = errno;
  if (set != 0) {
    ::close(fd);
    GTEST_SKIP() << "cannot set the immutable flag here: " << std::strerror(set_errno);
  }
  Fh fh = LookupFh(root_, "i");
  auto r = Read(fh, 0, 100);
  auto w = Write(fh, 0, "x", FILE_SYNC);
  flags &= ~FS_IMMUTABLE_FL;
  EXPECT_EQ(0, ::ioctl(fd, FS_IOC_SETFLAGS, &flags));  // or the temporary folder stays
  ::close(fd);
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ("immutable bytes", DataOf(r->READ3res_u.resok));
  ASSERT_NFS3(NFS3ERR_PERM, w);
  EXPECT_EQ("immutable bytes", HostRead("i"));
}

TEST_F(DsNfs3Test, SetAttrTimesFromClientAndServer) {
  Fh fh = CreateFile(root_, "f");
  nfstime3 at{1000000000, 5}, mt{1100000000, 7};
  ASSERT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Atime(SET_TO_CLIENT_TIME, at)
                                       .Mtime(SET_TO_CLIENT_TIME, mt)));
  struct stat st = HostStat("f");
  EXPECT_EQ(st.st_atim.tv_sec, 1000000000);
  EXPECT_EQ(st.st_atim.tv_nsec, 5);
  EXPECT_EQ(st.st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 7);

  time_t before = ::time(nullptr);
  ASSERT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Atime(SET_TO_SERVER_TIME).Mtime(SET_TO_SERVER_TIME)));
  st = HostStat("f");
  EXPECT_GE(st.st_atim.tv_sec, before - 1);
  EXPECT_LE(st.st_atim.tv_sec, ::time(nullptr) + 1);
  EXPECT_GE(st.st_mtim.tv_sec, before - 1);
  // Only mtime set: atime stays.
  ASSERT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Mtime(SET_TO_CLIENT_TIME, mt)));
  struct stat st2 = HostStat("f");
  EXPECT_EQ(st2.st_mtim.tv_sec, 1100000000);
  EXPECT_EQ(st2.st_atim.tv_sec, st.st_atim.tv_sec);
}

// RFC 1813 3.3.2: with guard.check, the server compares the object's ctime and answers
// NFS3ERR_NOT_SYNC on a mismatch without changing anything.
TEST_F(DsNfs3Test, SetAttrGuardMismatchIsNotSyncAndMatchApplies) {
  Fh fh = CreateFile(root_, "f", 0644);
  auto attr = GetAttr(fh);
  ASSERT_NFS3(NFS3_OK, attr);
  nfstime3 ctime = attr->GETATTR3res_u.resok.obj_attributes.ctime;
  nfstime3 wrong = ctime;
  wrong.seconds -= 10;
  EXPECT_NFS3(NFS3ERR_NOT_SYNC, SetAttr(fh, Sattr().Mode(0600), Root(), &wrong));
  EXPECT_EQ(HostStat("f").st_mode & 07777, 0644u) << "a failed guard changed the mode";
  EXPECT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Mode(0600), Root(), &ctime));
  EXPECT_EQ(HostStat("f").st_mode & 07777, 0600u);
}

// =============================================================================================
// LOOKUP and ACCESS

TEST_F(DsNfs3Test, LookupFindsAnExistingName) {
  HostFile("present", "x");
  auto r = Lookup(root_, "present");
  ASSERT_NFS3(NFS3_OK, r);
  auto& ok = r->LOOKUP3res_u.resok;
  ASSERT_TRUE(ok.obj_attributes.attributes_follow);
  EXPECT_EQ(ok.obj_attributes.post_op_attr_u.attributes.fileid, HostStat("present").st_ino);
  EXPECT_TRUE(ok.dir_attributes.attributes_follow);
  EXPECT_EQ(FileId(FromFh3(ok.object)), HostStat("present").st_ino);
}

TEST_F(DsNfs3Test, LookupOfAMissingNameIsNoent) {
  auto r = Lookup(root_, "absent");
  EXPECT_NFS3(NFS3ERR_NOENT, r);
  EXPECT_TRUE(r->LOOKUP3res_u.resfail.dir_attributes.attributes_follow);
}

TEST_F(DsNfs3Test, LookupDotDotAtTheRootStaysAtTheRoot) {
  auto r = Lookup(root_, "..");
  ASSERT_NFS3(NFS3_OK, r);
  Fh up = FromFh3(r->LOOKUP3res_u.resok.object);
  EXPECT_EQ(FileId(up), HostStat("").st_ino) << "climbed out of the export";
  EXPECT_EQ(up, root_);
  // ".." of a subdirectory is the root; "." is the directory itself.
  HostDir("sub");
  Fh sub = LookupFh(root_, "sub");
  EXPECT_EQ(FileId(LookupFh(sub, "..")), HostStat("").st_ino);
  EXPECT_EQ(FileId(LookupFh(sub, ".")), HostStat("sub").st_ino);
}

TEST_F(DsNfs3Test, LookupOfANameWithASlashIsRejected) {
  HostDir("sub");
  HostFile("sub/file", "x");
  auto r = Lookup(root_, "sub/file");
  EXPECT_NE(r->status, NFS3_OK) << "a multi-component name was resolved";
  EXPECT_NE(r->status, kNoReply);
  EXPECT_NFS3(NFS3ERR_NOENT, Lookup(root_, ""));
}

// RFC 1813 3.3.4: ACCESS answers what the caller could do, from the mode bits.
TEST_F(DsNfs3Test, AccessBitsForOwnerGroupOtherAndRoot) {
  constexpr uint32_t kAll = ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND |
                            ACCESS3_DELETE | ACCESS3_EXECUTE;
  HostFile("f", "x", 0640, 1000, 1000);
  Fh f = LookupFh(root_, "f");
  auto owner = Access(f, kAll, User());
  ASSERT_NFS3(NFS3_OK, owner);
  EXPECT_EQ(owner->ACCESS3res_u.resok.access, ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND);
  auto group = Access(f, kAll, rpc::AuthSysCred(3000, 3000, {1000}));
  ASSERT_NFS3(NFS3_OK, group);
  EXPECT_EQ(group->ACCESS3res_u.resok.access, uint32_t(ACCESS3_READ));
  auto other = Access(f, kAll, Other());
  ASSERT_NFS3(NFS3_OK, other);
  EXPECT_EQ(other->ACCESS3res_u.resok.access, 0u);
  auto root = Access(f, kAll, Root());
  ASSERT_NFS3(NFS3_OK, root);
  EXPECT_EQ(root->ACCESS3res_u.resok.access, ACCESS3_READ | ACCESS3_MODIFY | ACCESS3_EXTEND)
      << "root may not execute a file with no execute bit";
  // Only the bits asked about are answered.
  auto some = Access(f, ACCESS3_READ, User());
  EXPECT_EQ(some->ACCESS3res_u.resok.access, uint32_t(ACCESS3_READ));

  // A root-owned 0755 directory, seen by another user: read and look up, not change.
  HostDir("d", 0755);
  auto dir = Access(LookupFh(root_, "d"), kAll, User());
  ASSERT_NFS3(NFS3_OK, dir);
  EXPECT_EQ(dir->ACCESS3res_u.resok.access, ACCESS3_READ | ACCESS3_LOOKUP);
  auto dir_root = Access(LookupFh(root_, "d"), kAll, Root());
  EXPECT_EQ(dir_root->ACCESS3res_u.resok.access,
            ACCESS3_READ | ACCESS3_LOOKUP | ACCESS3_MODIFY | ACCESS3_EXTEND | ACCESS3_DELETE);
}

// =============================================================================================
// READ, WRITE, COMMIT

TEST_F(DsNfs3Test, WriteAtEachStabilityAndReadBack) {
  Fh fh = CreateFile(root_, "f");
  struct Case {
    stable_how how;
    uint64_t offset;
    std::string data;
  };
  std::vector<std::array<char, NFS3_WRITEVERFSIZE>> verfs;
  for (const Case& c : {Case{UNSTABLE, 0, "abc"}, Case{DATA_SYNC, 3, "def"},
                        Case{FILE_SYNC, 6, "ghi"}}) {
    auto w = Write(fh, c.offset, c.data, c.how);
    ASSERT_NFS3(NFS3_OK, w);
    auto& ok = w->WRITE3res_u.resok;
    EXPECT_EQ(ok.count, c.data.size());
    // RFC 1813 3.3.7: committed is at least as stable as asked.
    EXPECT_GE(int(ok.committed), int(c.how));
    ASSERT_TRUE(ok.file_wcc.after.attributes_follow);
    EXPECT_EQ(ok.file_wcc.after.post_op_attr_u.attributes.size, c.offset + c.data.size());
    std::array<char, NFS3_WRITEVERFSIZE> v;
    std::memcpy(v.data(), ok.verf, v.size());
    verfs.push_back(v);
  }
  EXPECT_EQ(verfs[0], verfs[1]) << "the write verifier changed between calls";
  EXPECT_EQ(verfs[1], verfs[2]);
  EXPECT_EQ(verfs[0], server_->nfs().write_verifier());
  auto r = Read(fh, 0, 100);
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ(DataOf(r->READ3res_u.resok), "abcdefghi");
  EXPECT_EQ(r->READ3res_u.resok.count, 9u);
  EXPECT_EQ(HostRead("f"), "abcdefghi");
}

TEST_F(DsNfs3Test, CommitAfterUnstableWriteReturnsTheSameVerifier) {
  Fh fh = CreateFile(root_, "f");
  auto w = Write(fh, 0, std::string(10000, 'u'), UNSTABLE);
  ASSERT_NFS3(NFS3_OK, w);
  auto c = Commit(fh);
  ASSERT_NFS3(NFS3_OK, c);
  EXPECT_EQ(std::memcmp(c->COMMIT3res_u.resok.verf, w->WRITE3res_u.resok.verf,
                        NFS3_WRITEVERFSIZE),
            0);
  ASSERT_TRUE(c->COMMIT3res_u.resok.file_wcc.after.attributes_follow);
  EXPECT_EQ(c->COMMIT3res_u.resok.file_wcc.after.post_op_attr_u.attributes.size, 10000u);
  // COMMIT of a directory is not a file operation.
  EXPECT_NFS3(NFS3ERR_ISDIR, Commit(root_));
}

// RFC 1813 3.3.7: count is the number of bytes in data.
TEST_F(DsNfs3Test, WriteWithCountDifferentFromDataLengthIsInval) {
  Fh fh = CreateFile(root_, "f");
  EXPECT_NFS3(NFS3ERR_INVAL, Write(fh, 0, "12345", FILE_SYNC, Root(), 10));
  EXPECT_NFS3(NFS3ERR_INVAL, Write(fh, 0, "12345", FILE_SYNC, Root(), 2));
  EXPECT_EQ(HostStat("f").st_size, 0) << "a rejected WRITE wrote";
}

TEST_F(DsNfs3Test, ReadSetsEofOnlyAtTheEnd) {
  HostFile("f", "0123456789");
  Fh fh = LookupFh(root_, "f");
  struct Case {
    uint64_t offset;
    uint32_t count;
    std::string data;
    bool eof;
  };
  for (const Case& c : {Case{0, 4, "0123", false}, Case{4, 3, "456", false},
                        Case{0, 10, "0123456789", true}, Case{6, 100, "6789", true},
                        Case{10, 5, "", true}, Case{1000, 5, "", true}}) {
    SCOPED_TRACE("READ offset " + std::to_string(c.offset) + " count " +
                 std::to_string(c.count));
    auto r = Read(fh, c.offset, c.count);
    ASSERT_NFS3(NFS3_OK, r);
    auto& ok = r->READ3res_u.resok;
    EXPECT_EQ(DataOf(ok), c.data);
    EXPECT_EQ(ok.count, c.data.size());
    EXPECT_EQ(bool(ok.eof), c.eof);
  }
  EXPECT_NFS3(NFS3ERR_ISDIR, Read(root_, 0, 10));
}

// FSINFO promises rtmax/wtmax of 1 MiB: a 1 MiB WRITE works and a larger READ is cut to it.
TEST_F(DsNfs3Test, OneMebibyteWriteWorksAndLargerReadsAreCutToRtmax) {
  Fh fh = CreateFile(root_, "big");
  std::string mib(1u << 20, 'm');
  auto w = Write(fh, 0, mib, UNSTABLE);
  ASSERT_NFS3(NFS3_OK, w);
  EXPECT_EQ(w->WRITE3res_u.resok.count, 1u << 20);
  ASSERT_NFS3(NFS3_OK, Write(fh, 1u << 20, mib, UNSTABLE));
  auto r = Read(fh, 0, 2u << 20);
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ(r->READ3res_u.resok.count, 1u << 20);
  EXPECT_FALSE(r->READ3res_u.resok.eof);
}

// =============================================================================================
// CREATE, MKDIR, SYMLINK, READLINK, MKNOD

TEST_F(DsNfs3Test, CreateUncheckedMakesAFileAndKeepsAnExistingOne) {
  auto r = Create(root_, "f", UNCHECKED, Root(), Sattr().Mode(0640));
  ASSERT_NFS3(NFS3_OK, r);
  auto& ok = r->CREATE3res_u.resok;
  ASSERT_TRUE(ok.obj.handle_follows);
  ASSERT_TRUE(ok.obj_attributes.attributes_follow);
  EXPECT_EQ(ok.obj_attributes.post_op_attr_u.attributes.type, NF3REG);
  EXPECT_EQ(ok.obj_attributes.post_op_attr_u.attributes.mode, 0640u);
  EXPECT_EQ(HostStat("f").st_mode & 07777, 0640u);
  EXPECT_TRUE(ok.dir_wcc.after.attributes_follow);
  Fh fh = FromFh3(ok.obj.post_op_fh3_u.handle);
  ASSERT_NFS3(NFS3_OK, Write(fh, 0, "kept"));
  // UNCHECKED on an existing file succeeds and, without a size, leaves the data alone.
  auto again = Create(root_, "f", UNCHECKED, Root(), Sattr().Mode(0640));
  ASSERT_NFS3(NFS3_OK, again);
  EXPECT_EQ(FromFh3(again->CREATE3res_u.resok.obj.post_op_fh3_u.handle), fh);
  EXPECT_EQ(HostRead("f"), "kept");
  // With a size of 0 it truncates.
  ASSERT_NFS3(NFS3_OK, Create(root_, "f", UNCHECKED, Root(), Sattr().Size(0)));
  EXPECT_EQ(HostStat("f").st_size, 0);
}

TEST_F(DsNfs3Test, CreateGuardedOnAnExistingNameIsExist) {
  HostFile("f", "original");
  EXPECT_NFS3(NFS3ERR_EXIST, Create(root_, "f", GUARDED));
  EXPECT_EQ(HostRead("f"), "original");
}

// RFC 1813 3.3.8: an EXCLUSIVE create retried with the same verifier succeeds (the reply was
// lost); with another verifier the name belongs to someone else.
TEST_F(DsNfs3Test, CreateExclusiveRetryWithTheSameVerifierSucceedsAndAnotherIsExist) {
  const char verf_a[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const char verf_b[8] = {8, 7, 6, 5, 4, 3, 2, 1};
  auto first = Create(root_, "x", EXCLUSIVE, Root(), Sattr(), verf_a);
  ASSERT_NFS3(NFS3_OK, first);
  Fh fh = FromFh3(first->CREATE3res_u.resok.obj.post_op_fh3_u.handle);
  auto retry = Create(root_, "x", EXCLUSIVE, Root(), Sattr(), verf_a);
  ASSERT_NFS3(NFS3_OK, retry);
  EXPECT_EQ(FromFh3(retry->CREATE3res_u.resok.obj.post_op_fh3_u.handle), fh);
  EXPECT_NFS3(NFS3ERR_EXIST, Create(root_, "x", EXCLUSIVE, Root(), Sattr(), verf_b));
  // An ordinary existing file is not mistaken for an exclusive create.
  HostFile("plain", "p");
  EXPECT_NFS3(NFS3ERR_EXIST, Create(root_, "plain", EXCLUSIVE, Root(), Sattr(), verf_a));
  // A verifier with the top bits set (Linux's jiffies often have it) is kept as times a file
  // system with 32-bit signed seconds can hold, so its retry matches too.
  const char verf_high[8] = {'\xff', '\xff', '\xff', '\xff', '\x80', 0, 0, 1};
  ASSERT_NFS3(NFS3_OK, Create(root_, "high", EXCLUSIVE, Root(), Sattr(), verf_high));
  EXPECT_NFS3(NFS3_OK, Create(root_, "high", EXCLUSIVE, Root(), Sattr(), verf_high));
  struct stat st = HostStat("high");
  EXPECT_LE(st.st_atim.tv_sec, INT32_MAX);
  EXPECT_LE(st.st_mtim.tv_sec, INT32_MAX);
}

TEST_F(DsNfs3Test, CreateWithABadNameIsRejected) {
  EXPECT_NFS3(NFS3ERR_INVAL, Create(root_, "a/b", GUARDED));
  EXPECT_NFS3(NFS3ERR_EXIST, Create(root_, ".", GUARDED));
  EXPECT_NFS3(NFS3ERR_EXIST, Create(root_, "..", GUARDED));
}

TEST_F(DsNfs3Test, MkDirMakesADirectoryWithTheMode) {
  auto r = MkDir(root_, "d", 0750);
  ASSERT_NFS3(NFS3_OK, r);
  auto& ok = r->MKDIR3res_u.resok;
  ASSERT_TRUE(ok.obj.handle_follows);
  EXPECT_EQ(ok.obj_attributes.post_op_attr_u.attributes.type, NF3DIR);
  struct stat st = HostStat("d");
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  EXPECT_EQ(FileId(FromFh3(ok.obj.post_op_fh3_u.handle)), st.st_ino);
  EXPECT_NFS3(NFS3ERR_EXIST, MkDir(root_, "d"));
}

TEST_F(DsNfs3Test, SymlinkThenReadLinkReturnsTheTarget) {
  auto s = Symlink(root_, "link", "../some/where");
  ASSERT_NFS3(NFS3_OK, s);
  ASSERT_TRUE(s->SYMLINK3res_u.resok.obj.handle_follows);
  Fh fh = FromFh3(s->SYMLINK3res_u.resok.obj.post_op_fh3_u.handle);
  EXPECT_TRUE(S_ISLNK(HostStat("link").st_mode));
  auto r = ReadLink(fh);
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_STREQ(r->READLINK3res_u.resok.data, "../some/where");
  EXPECT_EQ(GetAttr(fh)->GETATTR3res_u.resok.obj_attributes.type, NF3LNK);
  // READLINK of something that is not a symlink.
  EXPECT_NFS3(NFS3ERR_INVAL, ReadLink(CreateFile(root_, "regular")));
}

TEST_F(DsNfs3Test, MkNodMakesAFifoAndRefusesARegularFile) {
  auto r = MkNod(root_, "fifo", NF3FIFO);
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_TRUE(S_ISFIFO(HostStat("fifo").st_mode));
  EXPECT_EQ(r->MKNOD3res_u.resok.obj_attributes.post_op_attr_u.attributes.type, NF3FIFO);
  // RFC 1813 3.3.11: regular files, directories and symlinks are not made by MKNOD.
  EXPECT_NFS3(NFS3ERR_BADTYPE, MkNod(root_, "reg", NF3REG));
  EXPECT_NFS3(NFS3ERR_BADTYPE, MkNod(root_, "dir", NF3DIR));
  EXPECT_FALSE(HostExists("reg"));
}

// =============================================================================================
// REMOVE, RMDIR, RENAME, LINK

TEST_F(DsNfs3Test, RemoveDeletesTheName) {
  CreateFile(root_, "f");
  auto r = Remove(root_, "f");
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_TRUE(r->REMOVE3res_u.resok.dir_wcc.after.attributes_follow);
  EXPECT_FALSE(HostExists("f"));
  EXPECT_NFS3(NFS3ERR_NOENT, Lookup(root_, "f"));
  EXPECT_NFS3(NFS3ERR_NOENT, Remove(root_, "f"));
}

TEST_F(DsNfs3Test, RmDirRemovesAnEmptyDirectoryAndRefusesANonEmptyOne) {
  Fh full = MakeDir(root_, "full");
  MakeDir(root_, "empty");
  CreateFile(full, "inside");
  EXPECT_NFS3(NFS3ERR_NOTEMPTY, RmDir(root_, "full"));
  EXPECT_TRUE(HostExists("full/inside"));
  EXPECT_NFS3(NFS3_OK, RmDir(root_, "empty"));
  EXPECT_FALSE(HostExists("empty"));
  CreateFile(root_, "file");
  EXPECT_NFS3(NFS3ERR_NOTDIR, RmDir(root_, "file"));
}

TEST_F(DsNfs3Test, RenameWithinADirectory) {
  Fh fh = CreateFile(root_, "a");
  ASSERT_NFS3(NFS3_OK, Write(fh, 0, "content"));
  ASSERT_NFS3(NFS3_OK, Rename(root_, "a", root_, "b"));
  EXPECT_FALSE(HostExists("a"));
  EXPECT_EQ(HostRead("b"), "content");
  EXPECT_EQ(FileId(fh), HostStat("b").st_ino) << "the handle follows the file";
}

TEST_F(DsNfs3Test, RenameAcrossDirectories) {
  Fh d1 = MakeDir(root_, "d1");
  Fh d2 = MakeDir(root_, "d2");
  CreateFile(d1, "x");
  auto r = Rename(d1, "x", d2, "y");
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_TRUE(r->RENAME3res_u.resok.fromdir_wcc.after.attributes_follow);
  EXPECT_TRUE(r->RENAME3res_u.resok.todir_wcc.after.attributes_follow);
  EXPECT_FALSE(HostExists("d1/x"));
  EXPECT_TRUE(HostExists("d2/y"));
}

TEST_F(DsNfs3Test, RenameOverAnExistingFileReplacesItAndStalesItsHandle) {
  Fh src = CreateFile(root_, "new");
  ASSERT_NFS3(NFS3_OK, Write(src, 0, "new data"));
  Fh victim = CreateFile(root_, "old");
  ASSERT_NFS3(NFS3_OK, Write(victim, 0, "old data"));  // the server caches a descriptor
  ASSERT_NFS3(NFS3_OK, Rename(root_, "new", root_, "old"));
  EXPECT_EQ(HostRead("old"), "new data");
  EXPECT_FALSE(HostExists("new"));
  EXPECT_NFS3(NFS3ERR_STALE, GetAttr(victim));
  EXPECT_NFS3(NFS3ERR_STALE, Write(victim, 0, "zombie"));
  EXPECT_EQ(HostRead("old"), "new data");
}

TEST_F(DsNfs3Test, LinkMakesASecondNameAndNlinkTwo) {
  Fh fh = CreateFile(root_, "f");
  Fh d = MakeDir(root_, "d");
  auto r = Link(fh, d, "g");
  ASSERT_NFS3(NFS3_OK, r);
  ASSERT_TRUE(r->LINK3res_u.resok.file_attributes.attributes_follow);
  EXPECT_EQ(r->LINK3res_u.resok.file_attributes.post_op_attr_u.attributes.nlink, 2u);
  EXPECT_EQ(HostStat("d/g").st_ino, HostStat("f").st_ino);
  EXPECT_EQ(HostStat("f").st_nlink, 2u);
  EXPECT_NFS3(NFS3ERR_EXIST, Link(fh, d, "g"));
  EXPECT_NFS3(NFS3ERR_ISDIR, Link(d, root_, "dirlink"));
}

// As on knfsd, LINK needs write and search permission on the directory only: the local
// fs.protected_hardlinks rule (link only files you own or may read and write) is not applied.
// The directory's permission still is.
TEST_F(DsNfs3Test, LinkOfAnotherUsersFileNeedsOnlyTheDirectorysPermission) {
  Fh fh = CreateFile(root_, "f", 0644);  // root's, not writable by User()
  Fh open_dir = MakeDir(root_, "open", 0777);
  Fh closed_dir = MakeDir(root_, "closed", 0755);
  EXPECT_NFS3(NFS3_OK, Link(fh, open_dir, "g", User()));
  EXPECT_EQ(HostStat("open/g").st_ino, HostStat("f").st_ino);
  EXPECT_NFS3(NFS3ERR_ACCES, Link(fh, closed_dir, "g", User()));
  // The raised capability is for that one call: the same thread, still as User(), cannot now
  // chmod a file it does not own (CAP_FOWNER would let it).
  EXPECT_NFS3(NFS3ERR_PERM, SetAttr(fh, Sattr().Mode(0666), User()));
  EXPECT_EQ(HostStat("f").st_mode & 07777, 0644u);
  // A caller with uid 0 keeps what it had: a LINK as root does not lower root's CAP_FOWNER.
  Fh users = CreateFile(open_dir, "u", 0644, User());
  EXPECT_NFS3(NFS3_OK, Link(users, open_dir, "u2", Root()));
  EXPECT_NFS3(NFS3_OK, SetAttr(users, Sattr().Mode(0600), Root()));
  EXPECT_EQ(HostStat("open/u").st_mode & 07777, 0600u);
}

// RFC 1813 (e.g. 3.3.8): a namespace or attribute change is on stable storage before the
// reply. The server counts the fsyncs it made; each change must have made at least one.
TEST_F(DsNfs3Test, EveryNamespaceAndAttributeChangeIsFsyncedBeforeTheReply) {
  auto syncs_of = [&](const char* what, auto&& change) {
    uint64_t before = server_->nfs().metadata_syncs();
    change();
    EXPECT_GE(server_->nfs().metadata_syncs(), before + 1) << what << " replied unsynced";
  };
  Fh d;
  Fh f;
  syncs_of("CREATE", [&] { f = CreateFile(root_, "f"); });
  syncs_of("MKDIR", [&] { d = MakeDir(root_, "d"); });
  syncs_of("SYMLINK", [&] { EXPECT_NFS3(NFS3_OK, Symlink(d, "l", "target")); });
  syncs_of("MKNOD", [&] { EXPECT_NFS3(NFS3_OK, MkNod(d, "fifo", NF3FIFO)); });
  syncs_of("LINK", [&] { EXPECT_NFS3(NFS3_OK, Link(f, d, "g")); });
  syncs_of("RENAME", [&] { EXPECT_NFS3(NFS3_OK, Rename(d, "g", root_, "h")); });
  syncs_of("SETATTR of a file", [&] { EXPECT_NFS3(NFS3_OK, SetAttr(f, Sattr().Mode(0600))); });
  syncs_of("SETATTR of a directory", [&] { EXPECT_NFS3(NFS3_OK, SetAttr(d, Sattr().Mode(0700))); });
  Fh l = LookupFh(d, "l");
  syncs_of("SETATTR of a symlink", [&] { EXPECT_NFS3(NFS3_OK, SetAttr(l, Sattr().Uid(0))); });
  syncs_of("REMOVE", [&] { EXPECT_NFS3(NFS3_OK, Remove(root_, "h")); });
  for (const char* name : {"l", "fifo"}) ASSERT_NFS3(NFS3_OK, Remove(d, name));
  syncs_of("RMDIR", [&] { EXPECT_NFS3(NFS3_OK, RmDir(root_, "d")); });
}

TEST_F(DsNfs3Test, UnsafeAsyncMetadataRepliesWithoutFsync) {
  ds::DsOptions options;
  options.sync_metadata = false;
  StartServer(options);
  Fh d = MakeDir(root_, "d");
  CreateFile(d, "f");
  ASSERT_NFS3(NFS3_OK, Remove(d, "f"));
  EXPECT_EQ(server_->nfs().metadata_syncs(), 0u);
}

// =============================================================================================
// READDIR, READDIRPLUS

class DsNfs3ReadDirTest : public DsNfs3Test {
 protected:
  static constexpr int kEntries = 1000;
  void SetUp() override {
    DsNfs3Test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    HostDir("big");
    for (int i = 0; i < kEntries; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "entry-%04d", i);
      HostFile(std::string("big/") + name, "");
    }
    big_ = LookupFh(root_, "big");
  }

  std::multiset<std::string> Expected() {
    std::multiset<std::string> want = {".", ".."};
    for (int i = 0; i < kEntries; ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "entry-%04d", i);
      want.insert(name);
    }
    return want;
  }

  Fh big_;
};

TEST_F(DsNfs3ReadDirTest, ReadDirPagesThroughAThousandEntriesExactlyOnce) {
  constexpr uint32_t kCount = 1024;
  std::multiset<std::string> seen;
  uint64_t cookie = 0;
  int pages = 0;
  std::vector<uint64_t> page_cookies;
  for (bool eof = false; !eof;) {
    ASSERT_LT(++pages, 500) << "READDIR never reached eof";
    page_cookies.push_back(cookie);
    auto r = ReadDir(big_, cookie, kCount);
    ASSERT_NFS3(NFS3_OK, r);
    auto& ok = r->READDIR3res_u.resok;
    // RFC 1813 3.3.16: count bounds the whole READDIR3resok, XDR overhead included.
    EXPECT_LE(xdr_sizeof(XdrProcOf<READDIR3res>::get(), r.get()) - 4, kCount);
    int n = 0;
    for (entry3* e = ok.reply.entries; e; e = e->nextentry, ++n) {
      seen.insert(e->name);
      cookie = e->cookie;
    }
    eof = ok.reply.eof;
    if (!eof) {
      ASSERT_GT(n, 0) << "a page with no entries and no eof";
    }
  }
  EXPECT_GT(pages, 10) << "count did not limit the pages";
  EXPECT_EQ(seen, Expected());
  // A cookie resumes the same place every time.
  ASSERT_GT(page_cookies.size(), 3u);
  auto a = ReadDir(big_, page_cookies[2], kCount);
  auto b = ReadDir(big_, page_cookies[2], kCount);
  ASSERT_NFS3(NFS3_OK, a);
  ASSERT_NFS3(NFS3_OK, b);
  std::vector<std::string> na, nb;
  for (entry3* e = a->READDIR3res_u.resok.reply.entries; e; e = e->nextentry) na.push_back(e->name);
  for (entry3* e = b->READDIR3res_u.resok.reply.entries; e; e = e->nextentry) nb.push_back(e->name);
  EXPECT_FALSE(na.empty());
  EXPECT_EQ(na, nb);
}

TEST_F(DsNfs3ReadDirTest, ReadDirPlusPagesWithAttributesAndHandles) {
  constexpr uint32_t kDirCount = 1024, kMaxCount = 8192;
  std::multiset<std::string> seen;
  uint64_t cookie = 0;
  int pages = 0, checked = 0;
  for (bool eof = false; !eof;) {
    ASSERT_LT(++pages, 500) << "READDIRPLUS never reached eof";
    auto r = ReadDirPlus(big_, cookie, kDirCount, kMaxCount);
    ASSERT_NFS3(NFS3_OK, r);
    auto& ok = r->READDIRPLUS3res_u.resok;
    EXPECT_LE(xdr_sizeof(XdrProcOf<READDIRPLUS3res>::get(), r.get()) - 4, kMaxCount);
    int n = 0;
    for (entryplus3* e = ok.reply.entries; e; e = e->nextentry, ++n) {
      seen.insert(e->name);
      cookie = e->cookie;
      // Every entry has attributes and a handle, ".." too (the export's root here): a client
      // takes an entry's type (d_type) from them.
      EXPECT_TRUE(e->name_attributes.attributes_follow) << e->name;
      EXPECT_TRUE(e->name_handle.handle_follows) << e->name;
      if (e->name_attributes.attributes_follow) {
        EXPECT_EQ(e->name_attributes.post_op_attr_u.attributes.fileid, e->fileid) << e->name;
      }
      if (checked < 5 && e->name_handle.handle_follows && e->name[0] != '.') {
        EXPECT_EQ(FileId(FromFh3(e->name_handle.post_op_fh3_u.handle)), e->fileid) << e->name;
        ++checked;
      }
      if (std::strcmp(e->name, "..") == 0 && e->name_handle.handle_follows) {
        EXPECT_EQ(FromFh3(e->name_handle.post_op_fh3_u.handle), root_);
        EXPECT_EQ(NF3DIR, e->name_attributes.post_op_attr_u.attributes.type);
      }
    }
    eof = ok.reply.eof;
    if (!eof) {
      ASSERT_GT(n, 0) << "a page with no entries and no eof";
    }
  }
  EXPECT_GT(pages, 10);
  EXPECT_EQ(seen, Expected());
}

// ".." of the export's root is outside the export: no attributes and no handle.
TEST_F(DsNfs3ReadDirTest, ReadDirPlusOfTheRootGivesDotDotBare) {
  auto r = ReadDirPlus(root_, 0, 8192, 32768);
  ASSERT_NFS3(NFS3_OK, r);
  int dotdots = 0;
  for (entryplus3* e = r->READDIRPLUS3res_u.resok.reply.entries; e; e = e->nextentry) {
    if (std::strcmp(e->name, "..") != 0) continue;
    ++dotdots;
    EXPECT_FALSE(e->name_attributes.attributes_follow);
    EXPECT_FALSE(e->name_handle.handle_follows);
  }
  EXPECT_EQ(1, dotdots);
}

// RFC 1813 3.3.16: a count too small for even one entry is NFS3ERR_TOOSMALL.
TEST_F(DsNfs3ReadDirTest, CountTooSmallForOneEntryIsTooSmall) {
  EXPECT_NFS3(NFS3ERR_TOOSMALL, ReadDir(big_, 0, 64));
  EXPECT_NFS3(NFS3ERR_TOOSMALL, ReadDirPlus(big_, 0, 1024, 120));
}

TEST_F(DsNfs3Test, ReadDirOfAFileIsNotDir) {
  Fh f = CreateFile(root_, "f");
  EXPECT_NFS3(NFS3ERR_NOTDIR, ReadDir(f, 0, 4096));
  EXPECT_NFS3(NFS3ERR_NOTDIR, ReadDirPlus(f, 0, 4096, 4096));
}

// =============================================================================================
// FSSTAT, FSINFO, PATHCONF

TEST_F(DsNfs3Test, FsStatMatchesTheHostFileSystem) {
  FSSTAT3args a{};
  a.fsroot = Fh3(root_);
  auto r = Call<FSSTAT3res>(NFSPROC3_FSSTAT, a, Root());
  ASSERT_NFS3(NFS3_OK, r);
  auto& ok = r->FSSTAT3res_u.resok;
  struct statvfs vfs;
  ASSERT_EQ(::statvfs(dir_->path().c_str(), &vfs), 0);
  EXPECT_EQ(ok.tbytes, uint64_t(vfs.f_blocks) * vfs.f_frsize);
  EXPECT_EQ(ok.tfiles, uint64_t(vfs.f_files));
  EXPECT_LE(ok.abytes, ok.fbytes);
  EXPECT_LE(ok.fbytes, ok.tbytes);
  EXPECT_TRUE(ok.obj_attributes.attributes_follow);
}

TEST_F(DsNfs3Test, FsInfoOffersOneMebibyteReadsAndWrites) {
  FSINFO3args a{};
  a.fsroot = Fh3(root_);
  auto r = Call<FSINFO3res>(NFSPROC3_FSINFO, a, Root());
  ASSERT_NFS3(NFS3_OK, r);
  auto& ok = r->FSINFO3res_u.resok;
  EXPECT_EQ(ok.rtmax, 1u << 20);
  EXPECT_EQ(ok.wtmax, 1u << 20);
  EXPECT_LE(ok.rtpref, ok.rtmax);
  EXPECT_LE(ok.wtpref, ok.wtmax);
  EXPECT_GT(ok.dtpref, 0u);
  EXPECT_GT(ok.maxfilesize, uint64_t(1) << 40);
  EXPECT_EQ(ok.properties & (FSF3_LINK | FSF3_SYMLINK | FSF3_CANSETTIME),
            uint32_t(FSF3_LINK | FSF3_SYMLINK | FSF3_CANSETTIME));
}

TEST_F(DsNfs3Test, PathConfReportsNameMaxAndLinkMax) {
  PATHCONF3args a{};
  a.object = Fh3(root_);
  auto r = Call<PATHCONF3res>(NFSPROC3_PATHCONF, a, Root());
  ASSERT_NFS3(NFS3_OK, r);
  auto& ok = r->PATHCONF3res_u.resok;
  EXPECT_EQ(ok.name_max, 255u);
  EXPECT_GT(ok.linkmax, 1u);
  EXPECT_TRUE(ok.no_trunc);
  EXPECT_TRUE(ok.chown_restricted);
  EXPECT_FALSE(ok.case_insensitive);
  EXPECT_TRUE(ok.case_preserving);
}

// =============================================================================================
// Permissions: AUTH_SYS uid 1000 / gid 1000 against files owned by root and others.

TEST_F(DsNfs3Test, NonOwnerWriteOrTruncateOfARoot0644FileIsAcces) {
  HostFile("f", "root's data", 0644);
  Fh fh = LookupFh(root_, "f");
  EXPECT_NFS3(NFS3ERR_ACCES, Write(fh, 0, "mine", FILE_SYNC, User()));
  EXPECT_NFS3(NFS3ERR_ACCES, SetAttr(fh, Sattr().Size(0), User()));
  EXPECT_EQ(HostRead("f"), "root's data");
  // Reading is allowed by the mode.
  auto r = Read(fh, 0, 100, User());
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ(DataOf(r->READ3res_u.resok), "root's data");
}

TEST_F(DsNfs3Test, NonOwnerReadOfARoot0600FileIsAcces) {
  HostFile("secret", "root only", 0600);
  Fh fh = LookupFh(root_, "secret");
  EXPECT_NFS3(NFS3ERR_ACCES, Read(fh, 0, 100, User()));
  auto r = Read(fh, 0, 100, Root());
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ(DataOf(r->READ3res_u.resok), "root only");
}

TEST_F(DsNfs3Test, CreateInARootOwned0755DirectoryIsAcces) {
  HostDir("rootdir", 0755);
  Fh d = LookupFh(root_, "rootdir");
  EXPECT_NFS3(NFS3ERR_ACCES, Create(d, "f", GUARDED, User()));
  EXPECT_NFS3(NFS3ERR_ACCES, MkDir(d, "sub", 0755, User()));
  EXPECT_NFS3(NFS3ERR_ACCES, Create(root_, "f", GUARDED, User())) << "the export root is 0755";
  EXPECT_FALSE(HostExists("rootdir/f"));
}

TEST_F(DsNfs3Test, ChownToAnotherUidAsNonRootIsPerm) {
  HostFile("mine", "x", 0644, 1000, 1000);
  Fh fh = LookupFh(root_, "mine");
  EXPECT_NFS3(NFS3ERR_PERM, SetAttr(fh, Sattr().Uid(2000), User()));
  EXPECT_EQ(HostStat("mine").st_uid, 1000u);
  // Chmod of one's own file is fine; chmod of someone else's is not.
  EXPECT_NFS3(NFS3_OK, SetAttr(fh, Sattr().Mode(0600), User()));
  EXPECT_NFS3(NFS3ERR_PERM, SetAttr(fh, Sattr().Mode(0666), Other()));
}

// In a sticky directory only the file's owner (or the directory's, or root) may remove it.
// Linux refuses with EPERM; RFC 1813 2.6 defines NFS3ERR_PERM as exactly this kind of
// "not the owner" failure, while the REMOVE error list names NFS3ERR_ACCES. Either is a denial.
TEST_F(DsNfs3Test, RemoveOfAnotherUsersFileInAStickyDirectoryIsDenied) {
  HostDir("tmp", 01777);
  HostFile("tmp/theirs", "x", 0666, 2000, 2000);
  Fh tmp = LookupFh(root_, "tmp");
  auto r = Remove(tmp, "theirs", User());
  EXPECT_TRUE(r->status == NFS3ERR_ACCES || r->status == NFS3ERR_PERM)
      << "got " << StatName(r->status);
  EXPECT_TRUE(HostExists("tmp/theirs"));
  // One's own file there may be removed.
  CreateFile(tmp, "mine", 0644, User());
  EXPECT_NFS3(NFS3_OK, Remove(tmp, "mine", User()));
}

TEST_F(DsNfs3Test, FileCreatedByUid1000IsOwnedBy1000OnDisk) {
  HostDir("shared", 0777);
  Fh d = LookupFh(root_, "shared");
  auto r = Create(d, "f", GUARDED, User(), Sattr().Mode(0640));
  ASSERT_NFS3(NFS3_OK, r);
  struct stat st = HostStat("shared/f");
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 1000u);
  EXPECT_EQ(r->CREATE3res_u.resok.obj_attributes.post_op_attr_u.attributes.uid, 1000u);
  ASSERT_NFS3(NFS3_OK, MkDir(d, "sub", 0755, User()));
  EXPECT_EQ(HostStat("shared/sub").st_uid, 1000u);
  EXPECT_EQ(HostStat("shared/sub").st_gid, 1000u);
}

TEST_F(DsNfs3Test, AuthNoneIsTreatedAsNobody) {
  HostDir("shared", 0777);
  Fh d = LookupFh(root_, "shared");
  ASSERT_NFS3(NFS3_OK, Create(d, "anon", GUARDED, None()));
  EXPECT_EQ(HostStat("shared/anon").st_uid, kNobody);
  EXPECT_EQ(HostStat("shared/anon").st_gid, kNobody);
  HostFile("secret", "x", 0600);
  EXPECT_NFS3(NFS3ERR_ACCES, Read(LookupFh(root_, "secret"), 0, 10, None()));
}

TEST_F(DsNfs3Test, RootSquashTurnsUid0Into65534) {
  HostDir("shared", 0777);
  HostFile("secret", "x", 0600);
  ds::DsOptions o;
  o.root_squash = true;
  StartServer(o);
  Fh d = LookupFh(root_, "shared");
  ASSERT_NFS3(NFS3_OK, Create(d, "squashed", GUARDED, Root()));
  EXPECT_EQ(HostStat("shared/squashed").st_uid, 65534u);
  EXPECT_EQ(HostStat("shared/squashed").st_gid, 65534u);
  EXPECT_NFS3(NFS3ERR_ACCES, Read(LookupFh(root_, "secret"), 0, 10, Root()));
  EXPECT_NFS3(NFS3ERR_ACCES, Create(root_, "f", GUARDED, Root())) << "root dir is root's 0755";
}

// The identity is per request: a denied request as uid 1000 leaves no trace on the worker
// thread that the next request, as root, could inherit (and the other way round).
TEST_F(DsNfs3Test, IdentityDoesNotLeakBetweenRequests) {
  HostDir("rootdir", 0755);
  Fh d = LookupFh(root_, "rootdir");
  for (int i = 0; i < 16; ++i) {
    std::string name = "f" + std::to_string(i);
    EXPECT_NFS3(NFS3ERR_ACCES, Create(d, name, GUARDED, User()));
    ASSERT_NFS3(NFS3_OK, Create(d, name, GUARDED, Root()));
    EXPECT_EQ(HostStat("rootdir/" + name).st_uid, 0u);
  }
}

// Root squash maps the root group too (exports(5): "map requests from uid/gid 0"): a caller
// claiming gid 0, or 0 among its groups, must not get the root group's access.
TEST_F(DsNfs3Test, RootSquashAlsoSquashesGidZero) {
  HostFile("group_secret", "root group only", 0640, 0, 0);
  ds::DsOptions o;
  o.root_squash = true;
  StartServer(o);
  Fh fh = LookupFh(root_, "group_secret");
  EXPECT_NFS3(NFS3ERR_ACCES, Read(fh, 0, 100, rpc::AuthSysCred(1000, 0)));
  EXPECT_NFS3(NFS3ERR_ACCES, Read(fh, 0, 100, rpc::AuthSysCred(1000, 1000, {0})));
}

TEST_F(DsNfs3Test, LookupInADirectoryWithoutSearchPermissionIsAcces) {
  HostDir("closed", 0700);
  HostFile("closed/inside", "x");
  Fh d = LookupFh(root_, "closed");
  EXPECT_NFS3(NFS3ERR_ACCES, Lookup(d, "inside", User()));
  EXPECT_NFS3(NFS3_OK, Lookup(d, "inside", Root()));
}

TEST_F(DsNfs3Test, WritePastTheLargestFileOffsetIsFbig) {
  Fh fh = CreateFile(root_, "f");
  EXPECT_NFS3(NFS3ERR_FBIG, Write(fh, uint64_t(INT64_MAX) - 2, "12345"));
  EXPECT_EQ(HostStat("f").st_size, 0);
}

// A symlink in the export that points outside it. Procedures on the symlink's handle act on
// the symlink itself, never on what it points to: the target is outside the export.
class DsNfs3SymlinkTest : public DsNfs3Test {
 protected:
  void SetUp() override {
    DsNfs3Test::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    outside_ = std::make_unique<TempDir>("manifold-ds-outside");
    ASSERT_FALSE(outside_->path().empty());
    target_ = outside_->path() + "/target";
    int fd = ::open(target_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, "outside", 7), 7);
    ::close(fd);
    ASSERT_EQ(::chmod(target_.c_str(), 0600), 0);
    struct timespec ts[2] = {{1000, 0}, {1000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, target_.c_str(), ts, 0), 0);
    ASSERT_EQ(::symlink(target_.c_str(), Path("esc").c_str()), 0);
    esc_ = LookupFh(root_, "esc");
    ASSERT_FALSE(esc_.empty());
    ASSERT_EQ(GetAttr(esc_)->GETATTR3res_u.resok.obj_attributes.type, NF3LNK);
  }

  struct stat TargetStat() {
    struct stat st {};
    EXPECT_EQ(::stat(target_.c_str(), &st), 0);
    return st;
  }

  std::unique_ptr<TempDir> outside_;
  std::string target_;
  Fh esc_;
};

TEST_F(DsNfs3SymlinkTest, SetAttrModeOnASymlinkLeavesItsTargetAlone) {
  auto r = SetAttr(esc_, Sattr().Mode(0666));
  EXPECT_EQ(TargetStat().st_mode & 07777, 0600u)
      << "SETATTR on a symlink's handle chmod-ed the file it points to, outside the export ("
      << StatName(r->status) << ")";
}

TEST_F(DsNfs3SymlinkTest, SetAttrTimesOnASymlinkLeaveItsTargetAlone) {
  auto r = SetAttr(esc_, Sattr().Mtime(SET_TO_SERVER_TIME).Atime(SET_TO_SERVER_TIME));
  EXPECT_EQ(TargetStat().st_mtim.tv_sec, 1000)
      << "SETATTR on a symlink's handle changed the times of the file it points to ("
      << StatName(r->status) << ")";
}

TEST_F(DsNfs3SymlinkTest, SetAttrOwnerOnASymlinkLeavesItsTargetAlone) {
  auto r = SetAttr(esc_, Sattr().Uid(1000));
  EXPECT_EQ(TargetStat().st_uid, 0u) << StatName(r->status);
}

TEST_F(DsNfs3SymlinkTest, LinkOfASymlinkLinksTheSymlinkNotItsTarget) {
  auto r = Link(esc_, root_, "hard");
  if (r->status == NFS3_OK) {
    struct stat st = HostStat("hard");
    EXPECT_TRUE(S_ISLNK(st.st_mode))
        << "LINK of a symlink's handle hard-linked the file outside the export into it";
    EXPECT_NE(st.st_ino, TargetStat().st_ino);
  }
}

TEST_F(DsNfs3SymlinkTest, ReadAndWriteOfASymlinkAreInvalAndLeaveItsTargetAlone) {
  EXPECT_NFS3(NFS3ERR_INVAL, Read(esc_, 0, 100));
  EXPECT_NFS3(NFS3ERR_INVAL, Write(esc_, 0, "overwrite"));
  EXPECT_NFS3(NFS3ERR_INVAL, SetAttr(esc_, Sattr().Size(0)));
  EXPECT_EQ(TargetStat().st_size, 7);
}

TEST_F(DsNfs3Test, ReadDirOfADirectoryWithoutReadPermissionIsAcces) {
  HostDir("locked", 0711);
  Fh d = LookupFh(root_, "locked");
  EXPECT_NFS3(NFS3_OK, ReadDir(d, 0, 4096)) << "root may list it";
  READDIRPLUS3args a{};
  a.dir = Fh3(d);
  a.dircount = 4096;
  a.maxcount = 4096;
  EXPECT_NFS3(NFS3ERR_ACCES, Call<READDIRPLUS3res>(NFSPROC3_READDIRPLUS, a, User()));
  READDIR3args b{};
  b.dir = Fh3(d);
  b.count = 4096;
  EXPECT_NFS3(NFS3ERR_ACCES, Call<READDIR3res>(NFSPROC3_READDIR, b, User()));
}

// Requests of different users run at the same time on different worker threads; each runs
// with its own identity (fsuid, fsgid and groups are per thread).
TEST_F(DsNfs3Test, ConcurrentRequestsOfDifferentUsersEachGetTheirOwnIdentity) {
  HostDir("shared", 0777);
  Fh d = LookupFh(root_, "shared");
  constexpr int kThreads = 8, kFiles = 20;
  std::vector<std::unique_ptr<rpc::Client>> clients;
  for (int t = 0; t < kThreads; ++t) {
    auto c = rpc::Client::Connect("127.0.0.1", server_->port());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    clients.push_back(std::move(*c));
  }
  std::atomic<int> created{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      uint32_t uid = 1000 + uint32_t(t);
      for (int i = 0; i < kFiles; ++i) {
        std::string name = "u" + std::to_string(uid) + "-" + std::to_string(i);
        CREATE3args a{};
        a.where.dir = Fh3(d);
        a.where.name = Name(name);
        a.how.mode = GUARDED;
        a.how.createhow3_u.obj_attributes = Sattr().Mode(0644).s;
        XdrOwned<CREATE3res> res;
        auto st = clients[size_t(t)]->CallXdr(NFS_PROGRAM, NFS_V3, NFSPROC3_CREATE,
                                              rpc::AuthSysCred(uid, uid + 100, {uid + 200}),
                                              XdrProcOf<CREATE3args>::get(), &a,
                                              XdrProcOf<CREATE3res>::get(), res.get());
        if (st.ok() && *st == rpc::AcceptStat::kSuccess) {
          res.set_decoded();
          if (res->status == NFS3_OK) ++created;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), kThreads * kFiles);
  for (int t = 0; t < kThreads; ++t) {
    uint32_t uid = 1000 + uint32_t(t);
    for (int i = 0; i < kFiles; ++i) {
      std::string name = "shared/u" + std::to_string(uid) + "-" + std::to_string(i);
      struct stat st = HostStat(name);
      EXPECT_EQ(st.st_uid, uid) << name;
      EXPECT_EQ(st.st_gid, uid + 100) << name;
    }
  }
}

// =============================================================================================
// Stale, bad and forged handles.

TEST_F(DsNfs3Test, HandleOfARemovedFileIsStale) {
  Fh fh = CreateFile(root_, "f");
  ASSERT_NFS3(NFS3_OK, Write(fh, 0, "data"));  // caches an open descriptor on the server
  ASSERT_NFS3(NFS3_OK, Remove(root_, "f"));
  EXPECT_NFS3(NFS3ERR_STALE, GetAttr(fh));
  EXPECT_NFS3(NFS3ERR_STALE, Read(fh, 0, 10));
  EXPECT_NFS3(NFS3ERR_STALE, Write(fh, 0, "more"));
}

TEST_F(DsNfs3Test, HandleOfARemovedDirectoryIsStale) {
  Fh d = MakeDir(root_, "d");
  ASSERT_NFS3(NFS3_OK, RmDir(root_, "d"));
  EXPECT_NFS3(NFS3ERR_STALE, GetAttr(d));
  EXPECT_NFS3(NFS3ERR_STALE, Lookup(d, "x"));
  EXPECT_NFS3(NFS3ERR_STALE, Create(d, "x", GUARDED));
  EXPECT_NFS3(NFS3ERR_STALE, ReadDir(d, 0, 4096));
}

TEST_F(DsNfs3Test, HandleOfAFileRemovedOnTheHostIsStale) {
  Fh fh = CreateFile(root_, "f");
  ASSERT_NFS3(NFS3_OK, Write(fh, 0, "data"));
  ASSERT_EQ(::unlink(Path("f").c_str()), 0);
  EXPECT_NFS3(NFS3ERR_STALE, GetAttr(fh));
  EXPECT_NFS3(NFS3ERR_STALE, Read(fh, 0, 10));
  EXPECT_NFS3(NFS3ERR_STALE, Write(fh, 0, "more"));
}

// The server keeps resolved directories open (for fsync); that cache must follow what other
// processes do to the export behind its back.
TEST_F(DsNfs3Test, DirectoryHandleFollowsAHostRenameAndIsStaleAfterAHostRmdir) {
  Fh d = MakeDir(root_, "d");
  CreateFile(d, "f");  // the directory is resolved and cached
  ASSERT_EQ(::rename(Path("d").c_str(), Path("e").c_str()), 0);
  EXPECT_NFS3(NFS3_OK, GetAttr(d));
  CreateFile(d, "g");
  EXPECT_TRUE(HostExists("e/g")) << "a create through the old handle missed the renamed directory";
  EXPECT_EQ(LookupFh(root_, "e"), d);
  EXPECT_NFS3(NFS3ERR_NOENT, Lookup(root_, "d"));

  for (const char* f : {"e/f", "e/g"}) ASSERT_EQ(::unlink(Path(f).c_str()), 0);
  ASSERT_EQ(::rmdir(Path("e").c_str()), 0);
  ASSERT_EQ(::mkdir(Path("e").c_str(), 0755), 0);  // a new directory under the same name
  EXPECT_NFS3(NFS3ERR_STALE, GetAttr(d));
  EXPECT_NFS3(NFS3ERR_STALE, Create(d, "h", GUARDED));
  EXPECT_NFS3(NFS3ERR_STALE, Lookup(d, "x"));
  Fh e = LookupFh(root_, "e");
  EXPECT_NE(e, d);
  CreateFile(e, "h");
  EXPECT_TRUE(HostExists("e/h"));
}

// Inode numbers are reused; the handle's generation is not, so the old handle stays stale and
// never reaches the new file.
TEST_F(DsNfs3Test, HandleOfARemovedFileStaysStaleWhenItsInodeIsReused) {
  Fh old_fh = CreateFile(root_, "old");
  uint64_t old_ino = HostStat("old").st_ino;
  ASSERT_NFS3(NFS3_OK, Remove(root_, "old"));
  bool reused = false;
  for (int i = 0; i < 64 && !reused; ++i) {
    std::string name = "new" + std::to_string(i);
    CreateFile(root_, name);
    reused = HostStat(name).st_ino == old_ino;
    EXPECT_NFS3(NFS3ERR_STALE, GetAttr(old_fh)) << "after creating " << name;
  }
  if (!reused) std::printf("note: the file system did not reuse inode %lu\n", (unsigned long)old_ino);
  EXPECT_NFS3(NFS3ERR_STALE, Read(old_fh, 0, 10));
  EXPECT_NFS3(NFS3ERR_STALE, Write(old_fh, 0, "x"));
}

TEST_F(DsNfs3Test, FlippingAnyByteOfAHandleIsBadHandle) {
  Fh fh = CreateFile(root_, "f");
  ASSERT_FALSE(fh.empty());
  for (size_t i = 0; i < fh.size(); ++i) {
    for (uint8_t mask : {uint8_t(0x01), uint8_t(0x80)}) {
      Fh bad = fh;
      bad[i] = char(uint8_t(bad[i]) ^ mask);
      EXPECT_NFS3(NFS3ERR_BADHANDLE, GetAttr(bad))
          << "byte " << i << " of " << fh.size() << " xor " << int(mask);
    }
  }
  EXPECT_NFS3(NFS3ERR_BADHANDLE, GetAttr(fh.substr(0, fh.size() - 1)));
  EXPECT_NFS3(NFS3ERR_BADHANDLE, GetAttr(fh + '\0'));
  EXPECT_NFS3(NFS3ERR_BADHANDLE, GetAttr(""));
  EXPECT_NFS3(NFS3ERR_BADHANDLE, Read(fh.substr(0, 8), 0, 10));
  EXPECT_NFS3(NFS3_OK, GetAttr(fh)) << "the real handle still works";
}

// A client that knows the handle format builds one for /etc from the kernel's handle for it
// and a real handle's header and MAC: the MAC does not match, so it reaches nothing.
TEST_F(DsNfs3Test, ForgedHandleForAFileOutsideTheExportIsBadHandle) {
  Fh real = CreateFile(root_, "f");
  ASSERT_GE(real.size(), ds::kFileHandleHeaderBytes);
  struct {
    struct file_handle h;
    unsigned char bytes[ds::kKernelHandleBytesMax];
  } kh;
  kh.h.handle_bytes = ds::kKernelHandleBytesMax;
  int mount_id;
  ASSERT_EQ(::name_to_handle_at(AT_FDCWD, "/etc", &kh.h, &mount_id, 0), 0) << std::strerror(errno);
  Fh forged = real.substr(0, ds::kFileHandleHeaderBytes);
  forged[1] = char(kh.h.handle_type);
  forged[2] = char(kh.h.handle_bytes);
  forged.append(reinterpret_cast<const char*>(kh.h.f_handle), kh.h.handle_bytes);
  EXPECT_NFS3(NFS3ERR_BADHANDLE, GetAttr(forged));
  EXPECT_NFS3(NFS3ERR_BADHANDLE, Lookup(forged, "passwd"));
  EXPECT_NFS3(NFS3ERR_BADHANDLE, ReadDir(forged, 0, 4096));
}

TEST_F(DsNfs3Test, HandlesSurviveAServerRestart) {
  Fh d = MakeDir(root_, "d");
  Fh f = CreateFile(d, "f");
  ASSERT_NFS3(NFS3_OK, Write(f, 0, "before restart"));
  Fh old_root = root_;
  std::array<char, NFS3_WRITEVERFSIZE> old_verf = server_->nfs().write_verifier();
  StartServer();  // a new Export, program and server on the same directory
  EXPECT_EQ(root_, old_root) << "MNT gave a different root handle after the restart";
  EXPECT_NFS3(NFS3_OK, GetAttr(d));
  EXPECT_NFS3(NFS3_OK, GetAttr(f));
  auto r = Read(f, 0, 100);
  ASSERT_NFS3(NFS3_OK, r);
  EXPECT_EQ(DataOf(r->READ3res_u.resok), "before restart");
  EXPECT_EQ(FileId(LookupFh(d, "f")), FileId(f));
  // RFC 1813 3.3.7: the write verifier changes when the server restarts.
  EXPECT_NE(server_->nfs().write_verifier(), old_verf);
}

// =============================================================================================
// Malformed XDR: the RPC layer answers GARBAGE_ARGS and the server keeps going.

Bytes FhArg(const Fh& fh) {
  Bytes b;
  rpc::XdrWriter(b).Opaque({reinterpret_cast<const uint8_t*>(fh.data()), fh.size()});
  return b;
}

TEST_F(DsNfs3Test, GetAttrWithATruncatedArgumentIsGarbageArgs) {
  Bytes args = FhArg(root_);
  EXPECT_STREQ(rpc::AcceptStatName(RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, args)),
               "SUCCESS");
  args.resize(args.size() - 4);
  EXPECT_STREQ(rpc::AcceptStatName(RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, args)),
               "GARBAGE_ARGS");
  EXPECT_STREQ(rpc::AcceptStatName(RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, {})),
               "GARBAGE_ARGS");
  Bytes too_long = FhArg(std::string(NFS3_FHSIZE + 1, 'h'));  // nfs_fh3 is opaque<64>
  EXPECT_STREQ(rpc::AcceptStatName(RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_GETATTR, too_long)),
               "GARBAGE_ARGS");
  EXPECT_NFS3(NFS3_OK, GetAttr(root_));
}

TEST_F(DsNfs3Test, LookupWithANameOver255BytesIsGarbageArgs) {
  auto lookup = [&](size_t len) {
    Bytes args = FhArg(root_);
    rpc::XdrWriter(args).String(std::string(len, 'n'));
    return RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_LOOKUP, args);
  };
  EXPECT_STREQ(rpc::AcceptStatName(lookup(255)), "SUCCESS") << "255 bytes is a legal name";
  EXPECT_STREQ(rpc::AcceptStatName(lookup(256)), "GARBAGE_ARGS");
  EXPECT_STREQ(rpc::AcceptStatName(lookup(100000)), "GARBAGE_ARGS");
  EXPECT_NFS3(NFS3_OK, GetAttr(root_));
}

// libtirpc's xdr_string would hand "a\0b" to the server as "a": a name or symlink target with a
// NUL inside fails to decode instead (as knfsd answers), and nothing named "a" appears.
TEST_F(DsNfs3Test, ANameOrSymlinkTargetWithANulInsideIsGarbageArgs) {
  auto create = [&](const std::string& name) {
    Bytes args = FhArg(root_);
    rpc::XdrWriter w(args);
    w.String(name);
    w.U32(uint32_t(UNCHECKED));
    for (int i = 0; i < 6; ++i) w.U32(0);  // sattr3: nothing set
    return RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_CREATE, args);
  };
  EXPECT_STREQ(rpc::AcceptStatName(create(std::string("a\0b", 3))), "GARBAGE_ARGS");
  EXPECT_STREQ(rpc::AcceptStatName(create(std::string("a\0", 2))), "GARBAGE_ARGS");
  EXPECT_NFS3(NFS3ERR_NOENT, Lookup(root_, "a"));
  EXPECT_STREQ(rpc::AcceptStatName(create("a")), "SUCCESS");
  EXPECT_NFS3(NFS3_OK, Lookup(root_, "a"));

  auto symlink = [&](const std::string& target) {
    Bytes args = FhArg(root_);
    rpc::XdrWriter w(args);
    w.String("l");
    for (int i = 0; i < 6; ++i) w.U32(0);  // sattr3: nothing set
    w.String(target);
    return RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_SYMLINK, args);
  };
  EXPECT_STREQ(rpc::AcceptStatName(symlink(std::string("x\0y", 3))), "GARBAGE_ARGS");
  EXPECT_NFS3(NFS3ERR_NOENT, Lookup(root_, "l"));
  EXPECT_STREQ(rpc::AcceptStatName(symlink("x")), "SUCCESS");
  EXPECT_NFS3(NFS3_OK, Lookup(root_, "l"));
}

TEST_F(DsNfs3Test, WriteWithDataOverOneMebibyteIsGarbageArgs) {
  Fh fh = CreateFile(root_, "f");
  auto write = [&](size_t len) {
    Bytes args = FhArg(fh);
    rpc::XdrWriter w(args);
    w.U64(0);                 // offset
    w.U32(uint32_t(len));     // count
    w.U32(uint32_t(UNSTABLE));
    w.Opaque(Bytes(len, 'w'));
    return RawCall(NFS_PROGRAM, NFS_V3, NFSPROC3_WRITE, args);
  };
  EXPECT_STREQ(rpc::AcceptStatName(write(1u << 20)), "SUCCESS");
  EXPECT_STREQ(rpc::AcceptStatName(write((1u << 20) + 4)), "GARBAGE_ARGS");
  EXPECT_EQ(HostStat("f").st_size, 1 << 20);
  EXPECT_NFS3(NFS3_OK, GetAttr(fh));
}

TEST_F(DsNfs3Test, UnknownNfsProcedureIsProcUnavailAndOtherVersionsAreMismatched) {
  EXPECT_STREQ(rpc::AcceptStatName(RawCall(NFS_PROGRAM, NFS_V3, 22, {})), "PROC_UNAVAIL");
  auto r = client_->Call(NFS_PROGRAM, 2, NFSPROC3_NULL, Root(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_STREQ(rpc::AcceptStatName(r->header.accept_stat), "PROG_MISMATCH");
  EXPECT_EQ(r->header.mismatch_low, 3u);
  EXPECT_EQ(r->header.mismatch_high, 3u);
  EXPECT_NFS3(NFS3_OK, GetAttr(root_));
}

}  // namespace
}  // namespace manifold
