// File data for I/O through the MDS (DESIGN.md section 4): a file is cut into extents of
// extent_size_bytes; each extent that holds data has an instance, a DS file on a volume. Reads
// use a valid instance (a missing extent reads as zeros: the file is sparse there); writes
// create the instance on first write, on the volume with the most free space, and go to every
// valid instance (mirrors). Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "common/status.h"
#include "meta/namespace.h"
#include "volume/volume.h"

namespace manifold::nfs4 {

inline constexpr uint64_t kExtentBytesDefault = 1ull << 30;
// How old a volume's free-space figure may be when placing a new extent: placement must not
// cost an FSSTAT to every volume for every new file.
inline constexpr std::chrono::milliseconds kVolumeSpaceRefresh{5000};

// Stripes of the per-file data guard (FileGuards below). Two files that share a stripe only
// wait for each other while one of them changes size or is under ALLOCATE or DEALLOCATE.
inline constexpr size_t kFileGuardStripes = 1024;
// The largest WRITE of zeros (and READ when ALLOCATE checks for holes) sent to a volume at once;
// a volume with a smaller limit gets its own.
inline constexpr uint32_t kSpaceChunkBytes = 1u << 20;
// ALLOCATE reads what it keeps and writes zeros where the data server may have a hole, so one
// call costs I/O in proportion to its length: longer ranges get NFS4ERR_NOSPC (RFC 7862 15.1.3:
// the server cannot guarantee the reservation) instead of holding a worker and the file for
// minutes.
inline constexpr uint64_t kAllocateBytesMax = 1ull << 30;
// COPYs running at once (DataStore::TryStartCopy); one past it is answered NFS4ERR_DELAY.
inline constexpr uint32_t kCopiesInFlightMax = 2;
// The smallest hole a data server's file system keeps (a page): ALLOCATE rewrites an aligned
// block of this size only when it reads back all zeros, since a block holding any other byte
// is backed already.
inline constexpr uint32_t kHoleBlockBytes = 4096;

enum class Stable { kUnstable, kDataSync, kFileSync };

// Slots of CheckedFiles below: 512 KiB. A file that loses its slot to another is checked again
// on its next WRITE past its end, which is always safe.
inline constexpr size_t kCheckedFilesSlots = 1u << 16;

// The files whose data past the recorded size is known to hold nothing since this MDS started:
// checked (CutLeftovers) or cut (a shrink's cut) under the exclusive guard, with no WRITE
// failing since. A WRITE past the end that leaves a gap would show, in that gap, whatever a
// WRITE left there that reached a data server but was never recorded (the MDS died first, or
// the WRITE failed halfway). Such a WRITE checks first, about once per file per MDS start: a
// client's parallel writeback sends most WRITEs past the end, and must not take the exclusive
// guard for each. Direct-mapped by fileid, lock-free; fileid 0 is never marked.
//
// Not covered, both about a WRITE that failed, in the range it was sent to: a gap WRITE that
// passed Has() before the failing WRITE's Forget() may show its bytes; and a data-server WRITE
// that timed out may still land after the next check (its bytes then show once a later WRITE
// leaves a gap over them).
class CheckedFiles {
 public:
  bool Has(uint64_t fileid) const {
    return fileid != 0 && Slot(fileid).load(std::memory_order_acquire) == fileid;
  }
  void Mark(uint64_t fileid) { Slot(fileid).store(fileid, std::memory_order_release); }
  void Forget(uint64_t fileid) {
    uint64_t expected = fileid;
    Slot(fileid).compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
  }

 private:
  std::atomic<uint64_t>& Slot(uint64_t fileid) const { return slots_[fileid % kCheckedFilesSlots]; }
  // On the heap: the MDS keeps its DataStore on main's stack.
  std::unique_ptr<std::atomic<uint64_t>[]> slots_ =
      std::make_unique<std::atomic<uint64_t>[]>(kCheckedFilesSlots);
};

// Per-file exclusion between the MDS's own changes to a file's data. WRITEs hold a file's
// stripe shared and run side by side. Size changes (SETATTR, OPEN with a size), ALLOCATE and
// DEALLOCATE hold it exclusive, because they change or read the file (its size, what is a hole)
// and then cut or write zeros on that basis: a WRITE landing between the two would be lost.
// Clients writing straight to data servers (flexfile layouts) are not covered: ALLOCATE and
// DEALLOCATE must recall write layouts first (docs/protocol.md).
class FileGuards {
 public:
  std::shared_lock<std::shared_mutex> Shared(uint64_t fileid) {
    return std::shared_lock(stripes_[fileid % kFileGuardStripes]);
  }
  std::unique_lock<std::shared_mutex> Exclusive(uint64_t fileid) {
    return std::unique_lock(stripes_[fileid % kFileGuardStripes]);
  }

 private:
  std::array<std::shared_mutex, kFileGuardStripes> stripes_;
};

struct DataWrite {
  uint32_t count_bytes = 0;
  Stable committed = Stable::kUnstable;
  std::array<uint8_t, 8> verifier{};
};

class DataStore {
 public:
  DataStore(meta::Namespace& ns, uint64_t extent_size_bytes);

  // The largest size a file can have: kExtentsPerFileMax extents (64 TiB with 1 GiB extents),
  // at most INT64_MAX. The maxfilesize attribute; past it WRITE, ALLOCATE and size changes get
  // NFS4ERR_FBIG.
  uint64_t file_bytes_max() const;

  // Registers a volume the MDS can place data on (from the configuration).
  void AddVolume(uint64_t volume_id, std::unique_ptr<volume::Volume> volume);
  size_t volume_count() const;

  // Reads [offset, offset+count) of a regular file; stops at the file's size.
  Result<std::vector<uint8_t>> Read(const meta::Inode& inode, uint64_t offset_bytes,
                                    uint32_t count_bytes);
  // Writes and records the write in the namespace (size, change, data generation; the set-id
  // bits go when `drop_set_id`: a writer without privilege). Holds the file's guard shared.
  Result<DataWrite> Write(const meta::Inode& inode, uint64_t offset_bytes,
                          std::span<const uint8_t> data, Stable stable, bool drop_set_id);
  // RFC 7862 15.4 DEALLOCATE: [offset, offset+length) reads back as zeros and the size does not
  // change; the part past the end of file is ignored. Volumes speak NFSv3, which cannot punch
  // holes: a range reaching the end of a data-server file cuts that file short (a real hole),
  // any other part is overwritten with zeros. Everything is stable on return, and the change
  // is recorded in the namespace when a data-server file changed. Holds the file's guard
  // exclusive.
  Status Deallocate(uint64_t fileid, uint64_t offset_bytes, uint64_t length_bytes,
                    bool drop_set_id);
  // RFC 7862 15.1 ALLOCATE: after return, writes in [offset, offset+length) do not run out of
  // space, and the size is at least offset+length. What may be a hole on a data server (a
  // missing extent, the part past a data-server file's end, an aligned block that reads back
  // as zeros) is written with zeros; no other byte is touched. Stable on return. The caller
  // checks length against kAllocateBytesMax. Holds the file's guard exclusive.
  Status Allocate(uint64_t fileid, uint64_t offset_bytes, uint64_t length_bytes,
                  bool drop_set_id);
  // Makes every instance of the file stable; returns the write verifier.
  Result<std::array<uint8_t, 8>> Commit(const meta::Inode& inode);
  // The same for the extents that hold [offset, offset+length) only (COPY's written range).
  Result<std::array<uint8_t, 8>> CommitRange(const meta::Inode& inode, uint64_t offset_bytes,
                                             uint64_t length_bytes);
  // COPY (ops/copy.cc) holds a worker for up to 16 MiB of volume I/O: at most
  // kCopiesInFlightMax run at once, so that copies never take every worker. TryStartCopy is
  // false when that many run; EndCopy after each one that started.
  bool TryStartCopy();
  void EndCopy() { copies_in_flight_--; }
  // If the file's data may reach past its size (meta::Inode::data_past_size: a shrink whose
  // cut has not reached the volumes), cuts it to the size, once that size is durable, and
  // clears the mark. The caller holds ExclusiveFile(fileid); WRITE and ALLOCATE call it before
  // the file grows, SETATTR after a shrink. Marks the file in CheckedFiles when it leaves
  // nothing past the size.
  //
  // `growing_to`: the caller is about to make the size this (SETATTR, ALLOCATE). If it is past
  // the size, the data past the size is cut even without the mark: a WRITE whose data reached
  // a data server but whose size was not recorded when the MDS died leaves bytes there, which
  // the larger size would show instead of zeros. Under the exclusive guard no WRITE through
  // the MDS is under way, so whatever lies past the recorded size is such a leftover
  // (CutLeftovers: only the extent holding the end and those past it are asked, and only a
  // file longer than the size allows is cut). A data server that does not answer fails the
  // grow, as a pending cut does. A WRITE that leaves a gap passes its offset here when the
  // file is not in CheckedFiles. (Clients writing straight to data servers are not
  // covered by the guard: once layouts are granted, write layouts must be recalled first, as
  // for ALLOCATE and DEALLOCATE; see FileGuards.)
  Status CutPastSizeLocked(uint64_t fileid, std::optional<uint64_t> growing_to = std::nullopt);
  // The file's guard, exclusive (see FileGuards): for size changes, made in two steps.
  std::unique_lock<std::shared_mutex> ExclusiveFile(uint64_t fileid) {
    return guards_.Exclusive(fileid);
  }
  // Deletes the DS files of a file whose last name is gone. Failures are logged (the files
  // are orphans then, found by a later scan), never reported to the client, whose REMOVE has
  // already succeeded.
  void Release(const std::vector<meta::Extent>& extents);
  // The verifier for writes through the MDS: changes whenever the MDS or a DS restarts.
  std::array<uint8_t, 8> verifier() const;

 private:
  volume::Volume* FindVolume(uint64_t volume_id) const;
  Result<uint64_t> PickVolume();
  // The instance of extent `index` to write to, created if there is none yet.
  Result<meta::Instance> InstanceForWrite(const meta::Inode& inode, uint64_t index);
  // Calls `visit` for each instance of the extents that reach past size_bytes, with its volume,
  // its handle and `keep`: the bytes of that extent below the size (0: wholly past it).
  using InstanceVisitor =
      std::function<Status(volume::Volume& v, const volume::DataHandle& h, const meta::Extent& e,
                           const meta::Instance& inst, uint64_t keep)>;
  Status ForInstancesPast(const meta::Inode& inode, uint64_t size_bytes,
                          const InstanceVisitor& visit);
  // Cuts the file's data on the volumes to size_bytes; extents wholly past it go.
  Status Truncate(const meta::Inode& inode, uint64_t size_bytes);
  // CutPastSizeLocked without the mark: asks each data-server file of the extent holding the
  // end, and of those past it, for its length, and cuts only one longer than the size allows.
  // Files are truncated, never removed, and no record changes, so a crash midway leaves
  // nothing to redo; and the common case (nothing left) sends no request that changes data.
  Status CutLeftovers(const meta::Inode& inode);
  static std::string DataName(uint64_t fileid, uint64_t index);
  static volume::DataHandle HandleOf(const meta::Instance& i, uint64_t fileid, uint64_t index);
  void NoteVerifier(uint64_t volume_id, const volume::Verifier& v);
  // data_space.cc: ALLOCATE's work in one extent, [begin, end) in the extent.
  class ZeroWriter;
  Status AllocateInExtent(ZeroWriter& zeros, const meta::Inode& inode, uint64_t index,
                          const meta::Extent* extent, uint64_t begin, uint64_t end);
  Status ZeroHoles(ZeroWriter& zeros, uint64_t volume_id, volume::Volume& v,
                   const volume::DataHandle& h, uint64_t begin, uint64_t end);

  meta::Namespace& ns_;
  uint64_t extent_bytes_;
  mutable std::mutex mu_;
  std::map<uint64_t, std::unique_ptr<volume::Volume>> volumes_;  // guarded by mu_ (map shape)
  std::map<uint64_t, volume::Verifier> ds_verifiers_;            // guarded by mu_
  struct SpaceSeen {
    uint64_t available_bytes = 0;
    std::chrono::steady_clock::time_point at;
  };
  std::map<uint64_t, SpaceSeen> space_;  // guarded by mu_
  std::array<uint8_t, 8> boot_verifier_{};
  std::mutex create_mu_;  // serializes creating an extent's first instance
  FileGuards guards_;
  CheckedFiles checked_;
  std::atomic<uint32_t> copies_in_flight_{0};
};

}  // namespace manifold::nfs4
