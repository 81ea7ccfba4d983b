// The services NFSv4 operations use: the namespace, the export rules, filesystem-wide
// attributes. Client/session/open state and volumes join here as they land. One Mds per
// server; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <memory>
#include <string>
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

class Mds {
 public:
  Mds(meta::Namespace& ns, state::StateManager& state, DataStore& data, Backchannel& backchannel,
      const state::Clock& clock, MdsOptions options);
  virtual ~Mds() = default;

  meta::Namespace& ns() { return ns_; }
  state::StateManager& state() { return state_; }
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
};

// Protocol view of an inode.
ObjectAttrs ToObjectAttrs(const meta::Inode& inode);
// What a directory entry alone says of its object: type, fileid, mounted_on_fileid, fsid.
ObjectAttrs DirentAttrs(uint64_t fileid, meta::FileType type);

}  // namespace manifold::nfs4
