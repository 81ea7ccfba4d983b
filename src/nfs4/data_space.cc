// DEALLOCATE and ALLOCATE (RFC 7862 15.4, 15.1) over volumes that speak NFSv3, which can neither
// punch holes nor reserve space: a hole is made by cutting a data-server file short, and space is
// reserved by writing zeros where a data server may have a hole. The rules are in data_store.h; the
// file's guard (FileGuards) is held exclusive throughout.
#include "nfs4/data_store.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

namespace manifold::nfs4 {

namespace {

const std::vector<uint8_t>& ZeroChunk() {
  static const std::vector<uint8_t> zeros(kSpaceChunkBytes, 0);
  return zeros;
}

bool AllZero(const uint8_t* p, size_t n) {
  return std::all_of(p, p + n, [](uint8_t b) { return b == 0; });
}

}  // namespace

// Writes zeros UNSTABLE and, in Finish, commits every data-server file it wrote or cut short. A
// data server that restarted in between may have lost the zeros: its verifier tells, and the call
// fails with kUnavailable (NFS4ERR_DELAY: the client retries, and zeros are idempotent).
class DataStore::ZeroWriter {
 public:
  explicit ZeroWriter(DataStore& store) : store_(store) {}

  Status Write(uint64_t volume_id, volume::Volume& v, const volume::DataHandle& h, uint64_t offset,
               uint64_t length) {
    const uint32_t chunk = std::min(kSpaceChunkBytes, v.io_limits().write_bytes_max);
    if (chunk == 0) return Status(Code::kIo, "volume " + v.url() + " takes no writes");
    while (length > 0) {
      auto n = uint32_t(std::min<uint64_t>(length, chunk));
      auto wrote = v.Write(h, offset, {ZeroChunk().data(), n}, volume::Stability::kUnstable);
      if (!wrote.ok()) return wrote.status();
      if (wrote->count_bytes == 0) return Status(Code::kIo, "the data server wrote nothing");
      if (Status s = Note(volume_id, v, h, &wrote->verifier); !s.ok()) return s;
      offset += wrote->count_bytes;
      length -= std::min<uint64_t>(length, wrote->count_bytes);
    }
    return Status::Ok();
  }

  // A data-server file cut short (NFSv3 SETATTR): committed in Finish like the zeros.
  Status Truncated(uint64_t volume_id, volume::Volume& v, const volume::DataHandle& h) {
    return Note(volume_id, v, h, nullptr);
  }

  Status Finish() {
    for (Touched& t : touched_) {
      auto verf = t.volume->Commit(t.handle, 0, 0);
      if (!verf.ok()) return verf.status();
      if (t.verifier && *t.verifier != *verf) {
        return Status(Code::kUnavailable, "data server of " + t.handle.name +
                                              " restarted before its zeros were committed");
      }
      store_.NoteVerifier(t.volume_id, *verf);
    }
    return Status::Ok();
  }

  bool touched() const { return !touched_.empty(); }

 private:
  struct Touched {
    uint64_t volume_id;
    volume::Volume* volume;
    volume::DataHandle handle;
    std::optional<volume::Verifier> verifier;  // of the first unstable write
  };

  Status Note(uint64_t volume_id, volume::Volume& v, const volume::DataHandle& h,
              const volume::Verifier* verifier) {
    auto it = std::find_if(touched_.begin(), touched_.end(), [&](const Touched& t) {
      return t.volume_id == volume_id && t.handle.name == h.name;
    });
    if (it == touched_.end()) {
      touched_.push_back({volume_id, &v, h, std::nullopt});
      it = touched_.end() - 1;
    }
    if (verifier == nullptr) return Status::Ok();
    if (!it->verifier) {
      it->verifier = *verifier;
    } else if (*it->verifier != *verifier) {
      return Status(Code::kUnavailable, "data server of " + h.name + " restarted during the call");
    }
    return Status::Ok();
  }

  DataStore& store_;
  std::vector<Touched> touched_;  // a few per call: one per data-server file
};

Status DataStore::Deallocate(uint64_t fileid, uint64_t offset, uint64_t length,
                             bool drop_set_id) {
  auto guard = guards_.Exclusive(fileid);
  auto inode = ns_.GetInode(fileid);  // read under the guard: no size change can move it now
  if (!inode.ok()) return inode.status();
  const uint64_t end = std::min(inode->size_bytes, offset + length);  // caller checked overflow
  if (offset >= end) return Status::Ok();  // past the end of file: nothing to deallocate
  auto extents = ns_.GetExtents(fileid);   // only extents with data: the rest are holes already
  if (!extents.ok()) return extents.status();
  ZeroWriter zeros(*this);
  for (const meta::Extent& e : *extents) {
    const uint64_t base = e.index * extent_bytes_;
    if (base >= end || base + extent_bytes_ <= offset) continue;
    const uint64_t begin = std::max(offset, base) - base;
    const uint64_t stop = std::min(end, base + extent_bytes_) - base;
    for (const meta::Instance& inst : e.instances) {
      if (inst.state != meta::InstanceState::kValid) continue;
      volume::Volume* v = FindVolume(inst.volume_id);
      if (v == nullptr) return Status(Code::kUnavailable, "the extent's volume is not configured");
      volume::DataHandle h = HandleOf(inst, fileid, e.index);
      auto attrs = v->GetAttr(h);
      if (!attrs.ok()) return attrs.status();
      const uint64_t ds_size = attrs->size_bytes;
      Status s;
      if (begin >= ds_size) continue;  // past the data-server file's end: a hole already
      if (stop >= ds_size) {
        // The range reaches the file's end: cut it short, a real hole.
        s = v->Truncate(h, begin);
        if (s.ok()) s = zeros.Truncated(inst.volume_id, *v, h);
      } else {
        s = zeros.Write(inst.volume_id, *v, h, begin, stop - begin);
      }
      if (!s.ok()) return s;
    }
  }
  if (Status s = zeros.Finish(); !s.ok()) return s;
  if (!zeros.touched()) return Status::Ok();     // every byte of the range was a hole
  // end <= size: the size stays
  return ns_.RecordWrite(fileid, end, std::nullopt, drop_set_id).status();
}

Status DataStore::Allocate(uint64_t fileid, uint64_t offset, uint64_t length,
                           bool drop_set_id) {
  auto guard = guards_.Exclusive(fileid);
  // Before the size grows: what a shrink or a crash left past it must not show.
  if (Status s = CutPastSizeLocked(fileid, offset + length); !s.ok()) return s;
  auto inode = ns_.GetInode(fileid);
  if (!inode.ok()) return inode.status();
  auto extents = ns_.GetExtents(fileid);
  if (!extents.ok()) return extents.status();
  std::map<uint64_t, const meta::Extent*> by_index;
  for (const meta::Extent& e : *extents) by_index[e.index] = &e;
  const uint64_t end = offset + length;  // the caller checked overflow and kAllocateBytesMax
  ZeroWriter zeros(*this);
  for (uint64_t index = offset / extent_bytes_; index * extent_bytes_ < end; ++index) {
    const uint64_t base = index * extent_bytes_;
    const uint64_t begin = std::max(offset, base) - base;
    const uint64_t stop = std::min(end, base + extent_bytes_) - base;
    auto found = by_index.find(index);
    const meta::Extent* e = found == by_index.end() ? nullptr : found->second;
    if (Status s = AllocateInExtent(zeros, *inode, index, e, begin, stop); !s.ok()) return s;
  }
  if (Status s = zeros.Finish(); !s.ok()) return s;
  if (!zeros.touched() && end <= inode->size_bytes) return Status::Ok();  // all backed already
  // The size grows to end when it was smaller.
  return ns_.RecordWrite(fileid, end, std::nullopt, drop_set_id).status();
}

// [begin, end) of one extent (offsets in the extent): an extent with no data yet gets a new
// instance full of zeros; in an existing one, the client's bytes below the file's size are kept and
// only what may be a hole is written.
Status DataStore::AllocateInExtent(ZeroWriter& zeros, const meta::Inode& inode, uint64_t index,
                                   const meta::Extent* extent, uint64_t begin, uint64_t end) {
  const uint64_t base = index * extent_bytes_;
  const uint64_t kept_end =
      std::clamp(inode.size_bytes > base ? inode.size_bytes - base : 0, begin, end);
  if (extent == nullptr) {
    auto inst = InstanceForWrite(inode, index);
    if (!inst.ok()) return inst.status();
    volume::Volume* v = FindVolume(inst->volume_id);
    if (v == nullptr) return Status(Code::kUnavailable, "the extent's volume is not configured");
    return zeros.Write(inst->volume_id, *v, HandleOf(*inst, inode.fileid, index), begin,
                       end - begin);
  }
  bool any_valid = false;
  for (const meta::Instance& inst : extent->instances) {
    if (inst.state != meta::InstanceState::kValid) continue;
    any_valid = true;
    volume::Volume* v = FindVolume(inst.volume_id);
    if (v == nullptr) return Status(Code::kUnavailable, "the extent's volume is not configured");
    volume::DataHandle h = HandleOf(inst, inode.fileid, index);
    auto attrs = v->GetAttr(h);
    if (!attrs.ok()) return attrs.status();
    // Below the file's size and the data-server file's end: the client's bytes, where only all-zero
    // blocks may be holes. The rest (past either end) is written with zeros: past the file's size
    // any stale byte must read back as zero once the size covers it.
    const uint64_t checked_end = std::min(kept_end, attrs->size_bytes);
    if (Status s = ZeroHoles(zeros, inst.volume_id, *v, h, begin, checked_end); !s.ok()) return s;
    const uint64_t rest = std::max(begin, checked_end);
    if (rest < end) {
      if (Status s = zeros.Write(inst.volume_id, *v, h, rest, end - rest); !s.ok()) return s;
    }
  }
  if (!any_valid) return Status(Code::kIo, "extent has no valid instance");
  return Status::Ok();
}

// Reads [begin, end) of a data-server file and writes zeros over each aligned kHoleBlockBytes block
// (clipped to the range) that reads back as zeros: a block holding any other byte is backed
// already. Runs of such blocks go out as one write.
Status DataStore::ZeroHoles(ZeroWriter& zeros, uint64_t volume_id, volume::Volume& v,
                            const volume::DataHandle& h, uint64_t begin, uint64_t end) {
  const uint32_t chunk = std::min(kSpaceChunkBytes, v.io_limits().read_bytes_max);
  if (chunk == 0 && begin < end) return Status(Code::kIo, "volume " + v.url() + " takes no reads");
  uint64_t run_begin = begin, run_end = begin;  // zero blocks not written yet
  uint64_t pos = begin;
  while (pos < end) {
    auto n = uint32_t(std::min<uint64_t>(end - pos, chunk));
    auto read = v.Read(h, pos, n);
    if (!read.ok()) return read.status();
    const std::vector<uint8_t>& data = read->data;
    if (data.empty() && !read->eof) return Status(Code::kIo, "the data server read nothing");
    // A short read is only what the server sent, unless it is the end of the file: past that the
    // data-server file is a hole.
    const uint64_t span_end = pos + (read->eof ? n : std::min<uint64_t>(data.size(), n));
    const uint64_t data_end = pos + std::min<uint64_t>(data.size(), n);
    for (uint64_t b = pos; b < span_end;) {
      const uint64_t b_end = std::min(span_end, (b / kHoleBlockBytes + 1) * kHoleBlockBytes);
      if (AllZero(data.data() + (b - pos), std::clamp(data_end, b, b_end) - b)) {
        if (run_end != b) run_begin = b;
        run_end = b_end;
      } else {
        if (run_end > run_begin) {
          if (Status s = zeros.Write(volume_id, v, h, run_begin, run_end - run_begin); !s.ok()) {
            return s;
          }
        }
        run_begin = run_end = b_end;
      }
      b = b_end;
    }
    pos = span_end;
  }
  if (run_end > run_begin) return zeros.Write(volume_id, v, h, run_begin, run_end - run_begin);
  return Status::Ok();
}

}  // namespace manifold::nfs4
