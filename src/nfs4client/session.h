// Nfs4Client: one NFSv4.1/4.2 client with one session on one TCP connection.
//
//   auto client = Nfs4Client::Connect("127.0.0.1", 2049, {.minor_version = 2});
//   auto root = (*client)->LookupPath("/export");
//   CompoundBuilder c;
//   c.PutFh(*root).GetAttr(MakeBitmap({FATTR4_SIZE}));
//   auto res = (*client)->Run(c);            // SEQUENCE is prepended, slot and seqid chosen
//
// Connect does EXCHANGE_ID, CREATE_SESSION (asking for a backchannel on the same connection,
// CREATE_SESSION4_FLAG_CONN_BACK_CHAN) and RECLAIM_COMPLETE (unless told not to). A background thread renews the
// lease with a SEQUENCE-only compound when the client has been idle for a third of the lease,
// and returns recalled delegations. Destroy() (or the destructor) sends DESTROY_SESSION and
// DESTROY_CLIENTID.
//
// Thread-safe: any number of threads may call Run and the helpers at once; each compound takes
// a free slot of the session's slot table. The client does not recover from a lost session
// (BADSESSION, a dropped connection): a test client reports what happened, it does not hide it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/status.h"
#include "nfs4client/backchannel.h"
#include "nfs4client/compound.h"
#include "nfs4client/slot_table.h"
#include "nfs4client/transport.h"
#include "rpc/message.h"

namespace manifold::nfs4client {

struct ClientOptions {
  uint32_t minor_version = 1;  // 1 or 2
  std::string owner_id{};      // co_ownerid; empty: unique per client object in this process
  uint32_t uid = 0;            // AUTH_SYS credential of every call
  uint32_t gid = 0;
  std::vector<uint32_t> gids{};
  std::string machine_name = "manifold";
  uint32_t exchange_id_flags = 0;      // EXCHGID4_FLAG_* to ask for (e.g. USE_PNFS_MDS)
  bool backchannel = true;             // ask for a backchannel and serve it
  CallbackHandler callback_handler{};  // optional; see backchannel.h

  uint32_t slots = 16;                             // fore channel slots to ask for
  uint32_t request_bytes_max = (1 << 20) + 65536;  // ca_maxrequestsize: a 1 MiB WRITE fits
  uint32_t response_bytes_max = (1 << 20) + 65536;
  std::chrono::milliseconds rpc_timeout{30000};

  // NFS4ERR_DELAY (and NFS4ERR_GRACE when retry_grace) make Run retry the whole compound with
  // a doubling backoff, at most retries_max times and for at most retry_time_max.
  uint32_t retries_max = 100;
  std::chrono::milliseconds retry_time_max{60000};
  std::chrono::milliseconds backoff_initial{10};
  std::chrono::milliseconds backoff_max{1000};
  bool retry_grace = true;

  bool renew_lease = true;  // the background SEQUENCE when idle
  // Connect ends with RECLAIM_COMPLETE; false leaves it to the caller, who reclaims first
  // (OPEN with CLAIM_PREVIOUS after a server restart).
  bool reclaim_complete = true;
};

// A file opened by the helpers. Only what the helpers need; tests that want more use Run.
struct OpenFile {
  FileHandle fh;
  stateid4 stateid{};
  std::optional<stateid4> lock_stateid;
  StateOwner lock_owner;
};

struct ReadResult {
  std::vector<uint8_t> data;
  bool eof = false;
};

class Nfs4Client {
 public:
  static Result<std::unique_ptr<Nfs4Client>> Connect(const std::string& host, uint16_t port,
                                                     ClientOptions options = {});
  ~Nfs4Client();
  Nfs4Client(const Nfs4Client&) = delete;
  Nfs4Client& operator=(const Nfs4Client&) = delete;

  // DESTROY_SESSION then DESTROY_CLIENTID, each alone in its compound (RFC 8881 18.37.3,
  // 18.50.3). Stops the renewal thread first. Idempotent. Errors name the failed compound.
  Status Destroy();

  // Sends SEQUENCE + the builder's ops. The result is returned whatever its nfsstat4; an error
  // Status means no usable reply (connection lost, timeout, RPC-level rejection, garbage).
  Result<CompoundResult> Run(const CompoundBuilder& c);
  // Sends the builder's ops as they are, without SEQUENCE (EXCHANGE_ID, CREATE_SESSION,
  // DESTROY_*, or a test of what a server does with a sessionless compound).
  Result<CompoundResult> RunWithoutSequence(const CompoundBuilder& c);

  // ---- common flows; an error Status carries the failed op's NFS4ERR name and Describe().
  Result<FileHandle> LookupPath(std::string_view path);  // "/a/b": PUTROOTFH, LOOKUP a, LOOKUP b
  Result<Attrs> GetAttr(const FileHandle& fh, const Bitmap& attrs);
  Result<FileHandle> Mkdir(const FileHandle& dir, std::string_view name, uint32_t mode);
  // OPEN4_CREATE UNCHECKED4 (creates or opens), share access BOTH, deny NONE.
  Result<OpenFile> OpenCreate(const FileHandle& dir, std::string_view name, uint32_t mode);
  Result<OpenFile> Open(const FileHandle& dir, std::string_view name,
                        uint32_t share_access = OPEN4_SHARE_ACCESS_BOTH);
  Result<uint32_t> Write(const OpenFile& f, uint64_t offset, std::span<const uint8_t> data,
                         stable_how4 stable = FILE_SYNC4);
  Result<ReadResult> Read(const OpenFile& f, uint64_t offset, uint32_t count);
  Status Close(OpenFile& f);  // frees the file's lock stateid too, if it has one
  Status Remove(const FileHandle& dir, std::string_view name);
  Status Rename(const FileHandle& src_dir, std::string_view oldname, const FileHandle& dst_dir,
                std::string_view newname);
  // Every entry, page by page, up to `entries_max`. Errors: kLimit beyond that.
  Result<std::vector<DirEntry>> Readdir(const FileHandle& dir, const Bitmap& attrs = {},
                                        size_t entries_max = 1 << 20);
  // NFSv4.2 (RFC 7862 15.1, 15.4, 15.10, 15.11), for a client of minor version 2.
  Result<seek_res4> Seek(const OpenFile& f, uint64_t offset, data_content4 what);
  // READ_PLUS with its segments laid out as bytes from `offset` (holes as zeros), clipped to
  // `count`. Errors: kCorruption for segments out of order or outside the request.
  Result<ReadResult> ReadPlus(const OpenFile& f, uint64_t offset, uint32_t count);
  Status Allocate(const OpenFile& f, uint64_t offset, uint64_t length);
  Status Deallocate(const OpenFile& f, uint64_t offset, uint64_t length);
  // Extended attributes (RFC 8276, NFSv4.2 sessions). The set and remove helpers return the
  // file's change_info4.
  Result<std::vector<uint8_t>> GetXattr(const FileHandle& fh, std::string_view name);
  Result<change_info4> SetXattr(const FileHandle& fh, std::string_view name,
                                std::span<const uint8_t> value,
                                setxattr_option4 option = SETXATTR4_EITHER);
  Result<change_info4> RemoveXattr(const FileHandle& fh, std::string_view name);
  // Every name, page by page (LISTXATTRS with the cookie, at most `maxcount` bytes a page),
  // up to `names_max`. Errors: kLimit beyond that.
  Result<std::vector<std::string>> ListXattrs(const FileHandle& fh, uint32_t maxcount = 65536,
                                              size_t names_max = 1 << 16);
  // A byte-range lock with the file's own lock-owner (new on the first lock, then existing).
  Result<stateid4> Lock(OpenFile& f, nfs_lock_type4 type, uint64_t offset, uint64_t length);
  Status Unlock(OpenFile& f, uint64_t offset, uint64_t length);

  // ---- session facts
  clientid4 clientid() const { return clientid_; }
  const SessionId& sessionid() const { return sessionid_; }
  uint32_t minor_version() const { return options_.minor_version; }
  uint32_t lease_time_s() const { return lease_time_s_; }
  bool backchannel_granted() const { return backchannel_granted_; }
  uint32_t slots() const { return slots_ ? slots_->size() : 0; }
  ChannelAttrs fore_channel() const { return fore_; }
  uint32_t exchange_id_flags() const { return eir_flags_; }
  uint32_t last_status_flags() const;  // sr_status_flags of the latest SEQUENCE
  uint64_t renewals() const;           // SEQUENCE-only compounds sent by the renewal thread
  uint64_t delegations_returned() const;
  CallbackCounts callbacks() const;
  StateOwner open_owner() const { return {clientid_, open_owner_}; }
  StateOwner NewLockOwner();  // unique per call
  Transport& transport() { return *transport_; }

 private:
  explicit Nfs4Client(ClientOptions options);
  Status ExchangeId();
  Status CreateSession();
  Status AfterSession();  // RECLAIM_COMPLETE and the lease time
  Result<CompoundResult> Call(const std::vector<uint8_t>& args);
  Result<CompoundResult> RunOnce(const CompoundBuilder& c);
  bool ShouldRetry(const CompoundResult& r) const;
  void NoteSequence(const CompoundResult& r);
  std::optional<nfsstat4> OnCallback(const nfs_cb_argop4& op);
  void RenewLoop();
  void ReturnDelegations();

  ClientOptions options_;
  rpc::Credential cred_;
  std::string open_owner_;
  clientid4 clientid_ = 0;
  sequenceid4 eir_sequenceid_ = 0;
  uint32_t eir_flags_ = 0;
  SessionId sessionid_{};
  ChannelAttrs fore_;
  bool backchannel_granted_ = false;
  uint32_t lease_time_s_ = 90;
  std::unique_ptr<SlotTable> slots_;
  std::unique_ptr<Backchannel> backchannel_;

  mutable std::mutex mu_;
  std::condition_variable wake_;  // the renewal thread: stop, or delegations to return
  bool stopping_ = false;         // guarded by mu_
  bool destroyed_ = false;        // guarded by mu_
  std::chrono::steady_clock::time_point last_reply_;      // guarded by mu_
  uint32_t last_status_flags_ = 0;                        // guarded by mu_
  uint64_t renewals_ = 0;                                 // guarded by mu_
  uint64_t delegations_returned_ = 0;                     // guarded by mu_
  uint64_t lock_owners_ = 0;                              // guarded by mu_
  std::deque<std::pair<FileHandle, stateid4>> recalled_;  // guarded by mu_
  std::thread renewer_;

  // Last: destroyed first, so its I/O thread (which calls into backchannel_) stops before
  // anything it uses goes away.
  std::unique_ptr<Transport> transport_;
};

// The Status for a failed compound: Code mapped from the first failed op's nfsstat4 and a
// message with that op, its NFS4ERR name and Describe().
Status CompoundStatus(const CompoundResult& r, std::string_view what);
// The Code an nfsstat4 means below the protocol line (NFS4ERR_NOENT -> kNotFound, ...).
Code CodeForNfs4Stat(nfsstat4 status);

// Named limit: recalled delegations waiting to be returned; beyond it recalls are answered
// but not returned (the server revokes them when the recall times out).
inline constexpr size_t kRecalledQueueMax = 1024;

}  // namespace manifold::nfs4client
