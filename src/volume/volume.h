// The Volume seam: everything the MDS and the movers do to a file's data on one storage
// location (DESIGN §2: an NFSv3 export or an S3 bucket). The namespace lives in RocksDB; a
// Volume only holds data files ("DS files"), one per instance of an extent, named by the MDS
// and kept in the volume's data directory.
//
// Drivers: volume/nfs3_volume.h (NFSv3 through libnfs). Tests swap in a fake.
//
// Threading and lifetime contract, for every driver:
//  - Every operation has an asynchronous form (`XxxAsync`) that returns at once and calls
//    `done` exactly once, usually on the driver's own thread. `done` may also run before
//    XxxAsync returns, on the caller's thread, when the request is refused at once (queue
//    full, volume closed, bad argument). `done` must not block: it may start more async
//    operations but must not call a synchronous form of the same volume (that is a deadlock,
//    and a checked bug) nor destroy the volume.
//  - The synchronous forms wrap the async ones and block the calling thread.
//  - Buffers passed by std::span must stay valid until `done` runs; the driver copies them
//    before `done` and never touches them afterwards.
//  - Destroying a Volume fails every request still queued or in flight with kUnavailable
//    (their `done` runs during the destructor) and returns when none is left.
//
// Errors: kNotFound (no such file; also a handle the server no longer knows, with "stale" in
// the message, until common/status.h has a kStale code: then kStale), kExists, kPermission,
// kNoSpace, kInvalid (bad argument), kIo (the server failed or rejected the request),
// kUnavailable (the server cannot be reached, timed out, or the local queue is full: retry
// later or elsewhere).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace manifold::volume {

// RFC 1813 2.5: an NFSv3 filehandle is at most 64 bytes (NFS3_FHSIZE).
inline constexpr size_t kFileHandleBytesMax = 64;

// A DS file: the server's NFSv3 filehandle (opaque bytes, what a flexfile layout hands to
// clients in ffds_fh_vers) and its name in the volume's data directory (for Remove).
struct DataHandle {
  std::vector<uint8_t> fh;
  std::string name;
};

// RFC 1813 stable_how, in the same order.
enum class Stability : uint8_t { kUnstable = 0, kDataSync = 1, kFileSync = 2 };
const char* StabilityName(Stability s);

// RFC 1813 writeverf3: changes when the server may have lost UNSTABLE writes (a restart).
using Verifier = std::array<uint8_t, 8>;

struct ReadResult {
  std::vector<uint8_t> data;  // may be shorter than asked for (end of file, server limit)
  bool eof = false;
};

struct WriteResult {
  uint32_t count_bytes = 0;  // bytes written; a server may write fewer than sent
  Stability committed = Stability::kUnstable;
  Verifier verifier{};
};

struct DataAttrs {
  uint64_t size_bytes = 0;
  uint64_t used_bytes = 0;  // space the file takes on the server's disk
  int64_t mtime_ns = 0;     // since the Unix epoch
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0;  // permission bits
};

// FSSTAT of the volume's file system.
struct VolumeSpace {
  uint64_t total_bytes = 0;
  uint64_t free_bytes = 0;
  uint64_t available_bytes = 0;  // free to the credential the MDS uses (root)
};

// The largest single READ and WRITE the volume takes (the server's limits and the driver's).
struct IoLimits {
  uint32_t read_bytes_max = 0;
  uint32_t write_bytes_max = 0;
};

template <typename T>
using Callback = std::function<void(Result<T>)>;
using StatusCallback = std::function<void(Status)>;

class Volume {
 public:
  virtual ~Volume() = default;

  // A URL that names this volume (for logs and the admin API), e.g. nfs://host:port/export.
  virtual std::string url() const = 0;
  virtual IoLimits io_limits() const = 0;

  // Creates the DS file `name` in the data directory as root, owner 0:0, mode
  // kDataFileMode. kExists if it is already there (names are chosen by the MDS and unique; a
  // crash can leave one unrecorded, which the MDS then reuses: nfs4/data_store.cc).
  virtual void CreateAsync(const std::string& name, Callback<DataHandle> done) = 0;
  // Finds an existing DS file by name (for instance after a Create whose reply was lost).
  virtual void LookupAsync(const std::string& name, Callback<DataHandle> done) = 0;
  // Reads up to `count_bytes` (at most io_limits().read_bytes_max) at `offset_bytes`.
  virtual void ReadAsync(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes,
                         Callback<ReadResult> done) = 0;
  // Writes `data` (at most io_limits().write_bytes_max bytes, else kInvalid) at offset_bytes.
  virtual void WriteAsync(const DataHandle& h, uint64_t offset_bytes, std::span<const uint8_t> data,
                          Stability stable, Callback<WriteResult> done) = 0;
  // Makes UNSTABLE writes in [offset, offset+count) durable (count 0: to the end of file).
  // Compare the verifier with the writes' verifiers: a difference means the server restarted
  // and those writes must be sent again.
  virtual void CommitAsync(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes,
                           Callback<Verifier> done) = 0;
  virtual void TruncateAsync(const DataHandle& h, uint64_t size_bytes, StatusCallback done) = 0;
  virtual void GetAttrAsync(const DataHandle& h, Callback<DataAttrs> done) = 0;
  // Fencing (DESIGN §5 step 3, §11): a client's flexfile I/O runs as a synthetic uid/gid per
  // file; re-owning the DS file to new ids makes the server refuse the old ones.
  virtual void SetOwnerAsync(const DataHandle& h, uint32_t uid, uint32_t gid,
                             StatusCallback done) = 0;
  // Removes the DS file by its name in the data directory.
  virtual void RemoveAsync(const DataHandle& h, StatusCallback done) = 0;
  virtual void SpaceAsync(Callback<VolumeSpace> done) = 0;

  // Synchronous forms: block the calling thread until the async form completes.
  Result<DataHandle> Create(const std::string& name);
  Result<DataHandle> Lookup(const std::string& name);
  Result<ReadResult> Read(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes);
  Result<WriteResult> Write(const DataHandle& h, uint64_t offset_bytes,
                            std::span<const uint8_t> data, Stability stable);
  Result<Verifier> Commit(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes);
  Status Truncate(const DataHandle& h, uint64_t size_bytes);
  Result<DataAttrs> GetAttr(const DataHandle& h);
  Status SetOwner(const DataHandle& h, uint32_t uid, uint32_t gid);
  Status Remove(const DataHandle& h);
  Result<VolumeSpace> Space();

 protected:
  // True on the thread that runs `done` callbacks; a synchronous call there would deadlock.
  virtual bool OnCompletionThread() const { return false; }
};

// Mode of a new DS file: the synthetic owner (a client's write layouts) reads and writes, the
// synthetic group (read layouts) reads, everyone else nothing, so that re-owning the file
// fences every old id (DESIGN §11).
inline constexpr uint32_t kDataFileMode = 0640;

}  // namespace manifold::volume
