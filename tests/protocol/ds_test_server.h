// Test helpers for protocol tests against manifold-ds: an in-process server on a loopback
// port (the same wiring as src/bin/manifold_ds_main.cc), and owners for rpcgen results.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "common/status.h"
#include "ds/export.h"
#include "ds/mount_program.h"
#include "ds/nfs3_program.h"
#include "rpc/server.h"
#include "rpc/xdr_codec.h"
#include "xdr/mount3.h"
#include "xdr/nfs3.h"

namespace manifold::testlib {

// manifold-ds serving `export_dir` over NFSv3 + MOUNTv3 on 127.0.0.1, a free port. Stop (or
// the destructor) closes connections and waits for procedures in flight.
class DsTestServer {
 public:
  static Result<std::unique_ptr<DsTestServer>> Start(const std::string& export_dir,
                                                     ds::DsOptions options = {});
  ~DsTestServer();
  DsTestServer(const DsTestServer&) = delete;
  DsTestServer& operator=(const DsTestServer&) = delete;

  uint16_t port() const { return server_->port(); }
  const ds::Nfs3Program& nfs() const { return *nfs_; }
  const ds::Export& exp() const { return *export_; }
  const rpc::ServerStats& stats() const { return server_->stats(); }
  void Stop();

 private:
  DsTestServer() = default;
  std::unique_ptr<ds::Export> export_;
  std::shared_ptr<ds::Nfs3Program> nfs_;
  std::shared_ptr<ds::MountProgram> mount_;
  std::unique_ptr<rpc::Server> server_;
};

// The XDR routine of an rpcgen type, so calls can be written with the types alone.
template <typename T>
struct XdrProcOf;

#define MANIFOLD_TESTLIB_XDR(T) \
  template <>                   \
  struct XdrProcOf<T> {         \
    static xdrproc_t get() { return xdrproc_t(xdr_##T); } \
  };
#define MANIFOLD_TESTLIB_XDR_PROC(P) MANIFOLD_TESTLIB_XDR(P##3args) MANIFOLD_TESTLIB_XDR(P##3res)
MANIFOLD_TESTLIB_XDR_PROC(GETATTR)
MANIFOLD_TESTLIB_XDR_PROC(SETATTR)
MANIFOLD_TESTLIB_XDR_PROC(LOOKUP)
MANIFOLD_TESTLIB_XDR_PROC(ACCESS)
MANIFOLD_TESTLIB_XDR_PROC(READLINK)
MANIFOLD_TESTLIB_XDR_PROC(READ)
MANIFOLD_TESTLIB_XDR_PROC(WRITE)
MANIFOLD_TESTLIB_XDR_PROC(CREATE)
MANIFOLD_TESTLIB_XDR_PROC(MKDIR)
MANIFOLD_TESTLIB_XDR_PROC(SYMLINK)
MANIFOLD_TESTLIB_XDR_PROC(MKNOD)
MANIFOLD_TESTLIB_XDR_PROC(REMOVE)
MANIFOLD_TESTLIB_XDR_PROC(RMDIR)
MANIFOLD_TESTLIB_XDR_PROC(RENAME)
MANIFOLD_TESTLIB_XDR_PROC(LINK)
MANIFOLD_TESTLIB_XDR_PROC(READDIR)
MANIFOLD_TESTLIB_XDR_PROC(READDIRPLUS)
MANIFOLD_TESTLIB_XDR_PROC(FSSTAT)
MANIFOLD_TESTLIB_XDR_PROC(FSINFO)
MANIFOLD_TESTLIB_XDR_PROC(PATHCONF)
MANIFOLD_TESTLIB_XDR_PROC(COMMIT)
MANIFOLD_TESTLIB_XDR(dirpath)
MANIFOLD_TESTLIB_XDR(mountres3)
MANIFOLD_TESTLIB_XDR(mountlist)
MANIFOLD_TESTLIB_XDR(exports)
#undef MANIFOLD_TESTLIB_XDR_PROC
#undef MANIFOLD_TESTLIB_XDR

// Owns a decoded rpcgen result (zeroed until decoded; freed with xdr_free). Movable.
template <typename T>
class XdrOwned {
 public:
  XdrOwned() { std::memset(static_cast<void*>(&v_), 0, sizeof(v_)); }
  ~XdrOwned() { Reset(); }
  XdrOwned(XdrOwned&& o) noexcept : decoded_(o.decoded_) {
    std::memcpy(static_cast<void*>(&v_), &o.v_, sizeof(v_));
    o.decoded_ = false;
    std::memset(static_cast<void*>(&o.v_), 0, sizeof(o.v_));
  }
  XdrOwned& operator=(XdrOwned&& o) noexcept {
    if (this != &o) {
      Reset();
      std::memcpy(static_cast<void*>(&v_), &o.v_, sizeof(v_));
      decoded_ = o.decoded_;
      o.decoded_ = false;
      std::memset(static_cast<void*>(&o.v_), 0, sizeof(o.v_));
    }
    return *this;
  }
  T* get() { return &v_; }
  T* operator->() { return &v_; }
  const T* operator->() const { return &v_; }
  T& operator*() { return v_; }
  void set_decoded() { decoded_ = true; }

 private:
  void Reset() {
    if (decoded_) rpc::XdrFree(XdrProcOf<T>::get(), &v_);
    decoded_ = false;
  }
  T v_;
  bool decoded_ = false;
};

// A removable temporary directory (mkdtemp under /tmp), deleted with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace manifold::testlib
