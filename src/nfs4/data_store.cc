#include "nfs4/data_store.h"

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "meta/limits.h"

namespace manifold::nfs4 {

namespace {

volume::Stability ToStability(Stable s) {
  switch (s) {
    case Stable::kUnstable: return volume::Stability::kUnstable;
    case Stable::kDataSync: return volume::Stability::kDataSync;
    case Stable::kFileSync: return volume::Stability::kFileSync;
  }
  return volume::Stability::kFileSync;
}

Stable FromStability(volume::Stability s) {
  switch (s) {
    case volume::Stability::kUnstable: return Stable::kUnstable;
    case volume::Stability::kDataSync: return Stable::kDataSync;
    case volume::Stability::kFileSync: return Stable::kFileSync;
  }
  return Stable::kUnstable;
}

const meta::Instance* ValidInstance(const meta::Extent& e) {
  for (const auto& i : e.instances) {
    if (i.state == meta::InstanceState::kValid) return &i;
  }
  return nullptr;
}

}  // namespace

DataStore::DataStore(meta::Namespace& ns, uint64_t extent_size_bytes)
    : ns_(ns), extent_bytes_(extent_size_bytes) {
  RAND_bytes(boot_verifier_.data(), int(boot_verifier_.size()));
}

void DataStore::AddVolume(uint64_t volume_id, std::unique_ptr<volume::Volume> volume) {
  std::lock_guard lock(mu_);
  volumes_[volume_id] = std::move(volume);
}

size_t DataStore::volume_count() const {
  std::lock_guard lock(mu_);
  return volumes_.size();
}

volume::Volume* DataStore::FindVolume(uint64_t volume_id) const {
  std::lock_guard lock(mu_);
  auto it = volumes_.find(volume_id);
  return it == volumes_.end() ? nullptr : it->second.get();
}

std::string DataStore::DataName(uint64_t fileid, uint64_t index) {
  return "f" + std::to_string(fileid) + "." + std::to_string(index);
}

volume::DataHandle DataStore::HandleOf(const meta::Instance& i, uint64_t fileid, uint64_t index) {
  return volume::DataHandle{std::vector<uint8_t>(i.locator.begin(), i.locator.end()),
                            DataName(fileid, index)};
}

// The simple placement rule until objectives exist: the volume with the most free space, from
// figures at most kVolumeSpaceRefresh old.
Result<uint64_t> DataStore::PickVolume() {
  auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<uint64_t, volume::Volume*>> stale;
  std::map<uint64_t, uint64_t> available;
  {
    std::lock_guard lock(mu_);
    if (volumes_.empty()) return Status(Code::kNoSpace, "no volume is configured");
    for (auto& [id, v] : volumes_) {
      auto seen = space_.find(id);
      if (seen != space_.end() && now - seen->second.at < kVolumeSpaceRefresh) {
        available[id] = seen->second.available_bytes;
      } else {
        stale.emplace_back(id, v.get());
      }
    }
  }
  for (auto [id, v] : stale) {  // without the lock: each is an RPC
    auto space = v->Space();
    if (!space.ok()) continue;  // a volume that does not answer gets no new data
    available[id] = space->available_bytes;
    std::lock_guard lock(mu_);
    space_[id] = SpaceSeen{space->available_bytes, now};
  }
  if (available.empty()) return Status(Code::kUnavailable, "no volume answers");
  auto best = std::max_element(available.begin(), available.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; });
  return best->first;
}

Result<meta::Instance> DataStore::InstanceForWrite(const meta::Inode& inode, uint64_t index) {
  auto extent = ns_.GetExtent(inode.fileid, index);
  if (extent.ok()) {
    if (const meta::Instance* i = ValidInstance(*extent)) return *i;
  } else if (extent.status().code() != Code::kNotFound) {
    return extent.status();
  }
  std::lock_guard lock(create_mu_);
  extent = ns_.GetExtent(inode.fileid, index);  // another writer may have made it meanwhile
  if (extent.ok()) {
    if (const meta::Instance* i = ValidInstance(*extent)) return *i;
  }
  auto volume_id = PickVolume();
  if (!volume_id.ok()) return volume_id.status();
  volume::Volume* v = FindVolume(*volume_id);
  const std::string name = DataName(inode.fileid, index);
  auto handle = v->Create(name);
  if (!handle.ok() && handle.status().code() == Code::kExists) {
    // No extent records this name (checked above, under create_mu_), so the DS file is what a
    // crash left: created, or a CREATE still on its way to the data server, when the MDS died
    // before recording it. Nobody's data: emptied and used, or every write of this extent
    // would fail from now on.
    handle = v->Lookup(name);
    if (handle.ok()) {
      if (Status s = v->Truncate(*handle, 0); !s.ok()) return s;
      spdlog::info("data of file {} extent {}: reused {} on volume {}, left by a crash", inode.fileid,
                   index, name, *volume_id);
    }
  }
  if (!handle.ok()) return handle.status();
  meta::Instance inst;
  inst.volume_id = *volume_id;
  inst.locator.assign(handle->fh.begin(), handle->fh.end());
  inst.state = meta::InstanceState::kValid;  // an empty new extent is trivially complete
  inst.generation = inode.data_generation;
  meta::Extent e;
  e.fileid = inode.fileid;
  e.index = index;
  e.instances.push_back(inst);
  if (Status s = ns_.PutExtent(e); !s.ok()) {
    // Not recorded (the file went meanwhile: a REMOVE, the purge of an orphan): the DS file is
    // nobody's. Removed now, not later, so that a retried write can create it again.
    if (Status r = v->Remove(HandleOf(inst, inode.fileid, index)); !r.ok()) {
      spdlog::warn("data of file {} extent {} on volume {} left behind: {}", inode.fileid, index,
                   inst.volume_id, r.ToString());
    }
    return s;
  }
  return inst;
}

Result<std::vector<uint8_t>> DataStore::Read(const meta::Inode& inode, uint64_t offset,
                                             uint32_t count) {
  std::vector<uint8_t> out;
  if (offset >= inode.size_bytes) return out;
  const uint64_t start = offset;
  uint64_t end = std::min<uint64_t>(inode.size_bytes, offset + count);
  out.resize(end - offset);  // holes read as zeros
  while (offset < end) {
    uint64_t index = offset / extent_bytes_;
    uint64_t in_extent = offset % extent_bytes_;
    uint32_t chunk = uint32_t(std::min<uint64_t>(end - offset, extent_bytes_ - in_extent));
    auto extent = ns_.GetExtent(inode.fileid, index);
    if (extent.ok()) {
      const meta::Instance* inst = ValidInstance(*extent);
      if (inst == nullptr) return Status(Code::kIo, "extent has no valid instance");
      volume::Volume* v = FindVolume(inst->volume_id);
      if (v == nullptr) return Status(Code::kUnavailable, "the extent's volume is not configured");
      if (uint32_t most = v->io_limits().read_bytes_max; most != 0) chunk = std::min(chunk, most);
      auto data = v->Read(HandleOf(*inst, inode.fileid, index), in_extent, chunk);
      if (!data.ok()) return data.status();
      const size_t got = std::min<size_t>(data->data.size(), chunk);
      std::memcpy(out.data() + (offset - start), data->data.data(), got);
      // Short of the data server's file end (its own limit): the rest comes in the next call.
      // At its end, the rest of the chunk is a hole past what was written: zeros.
      if (got < chunk && !data->eof) {
        if (got == 0) return Status(Code::kIo, "the data server read nothing before its end");
        chunk = uint32_t(got);
      }
    } else if (extent.status().code() != Code::kNotFound) {
      return extent.status();
    }
    offset += chunk;
  }
  return out;
}

Result<DataWrite> DataStore::Write(const meta::Inode& caller_inode, uint64_t offset,
                                   std::span<const uint8_t> data, Stable stable, bool drop_set_id) {
  DataWrite result;
  result.committed = Stable::kFileSync;
  if (data.empty()) {  // RFC 8881 18.32.3: succeeds, writes nothing, changes nothing
    result.verifier = verifier();
    return result;
  }
  const uint64_t fileid = caller_inode.fileid;
  auto guard = guards_.Shared(fileid);  // size changes, ALLOCATE and DEALLOCATE wait (FileGuards)
  // Read again under the guard: a shrink that ran since the caller looked may have left data
  // past the new size (its cut failed), which this write must not let show.
  // And a WRITE that leaves a gap past the end must not show, in the gap, bytes a WRITE left
  // that was never recorded (CheckedFiles).
  auto fresh = ns_.GetInode(fileid);
  if (!fresh.ok()) return fresh.status();
  if (fresh->data_past_size || (offset > fresh->size_bytes && !checked_.Has(fileid))) {
    guard.unlock();
    {
      auto exclusive = guards_.Exclusive(fileid);
      // Another WRITE queued here may have checked the file meanwhile: a pending shrink's cut
      // is all that is left to do then.
      std::optional<uint64_t> growing_to;
      if (!checked_.Has(fileid)) growing_to = offset;
      if (Status s = CutPastSizeLocked(fileid, growing_to); !s.ok()) return s;
    }
    guard.lock();
    fresh = ns_.GetInode(fileid);
    if (!fresh.ok()) return fresh.status();
    if (fresh->data_past_size) return Status(Code::kUnavailable, "a size cut is still under way");
  }
  const meta::Inode& inode = *fresh;
  // A failure may leave bytes past the size that nothing records (once a request has gone to
  // a data server): the file must be checked again before a gap shows them. Under the shared
  // guard, so no check runs meanwhile.
  struct ForgetOnFailure {
    CheckedFiles& checked;
    uint64_t fileid;
    bool done = false;
    ~ForgetOnFailure() {
      if (!done) checked.Forget(fileid);
    }
  } forget{checked_, fileid};
  size_t done = 0;
  while (done < data.size()) {
    uint64_t pos = offset + done;
    uint64_t index = pos / extent_bytes_;
    uint64_t in_extent = pos % extent_bytes_;
    size_t chunk = std::min<uint64_t>(data.size() - done, extent_bytes_ - in_extent);
    auto inst = InstanceForWrite(inode, index);
    if (!inst.ok()) return inst.status();
    volume::Volume* v = FindVolume(inst->volume_id);
    if (v == nullptr) return Status(Code::kUnavailable, "the extent's volume is not configured");
    if (uint32_t most = v->io_limits().write_bytes_max; most != 0) chunk = std::min<size_t>(chunk, most);
    auto wrote = v->Write(HandleOf(*inst, inode.fileid, index), in_extent,
                          data.subspan(done, chunk), ToStability(stable));
    if (!wrote.ok()) return wrote.status();
    if (wrote->count_bytes == 0) return Status(Code::kIo, "the data server wrote nothing");
    NoteVerifier(inst->volume_id, wrote->verifier);
    Stable got = FromStability(wrote->committed);
    if (int(got) < int(result.committed)) result.committed = got;
    done += wrote->count_bytes;
  }
  auto recorded = ns_.RecordWrite(inode.fileid, offset + done, std::nullopt, drop_set_id);
  if (!recorded.ok()) {
    return recorded.status();
  }
  forget.done = true;
  result.count_bytes = uint32_t(done);
  result.verifier = verifier();
  return result;
}

Result<std::array<uint8_t, 8>> DataStore::Commit(const meta::Inode& inode) {
  return CommitRange(inode, 0, UINT64_MAX);
}

Result<std::array<uint8_t, 8>> DataStore::CommitRange(const meta::Inode& inode,
                                                      uint64_t offset_bytes,
                                                      uint64_t length_bytes) {
  if (length_bytes == 0) return verifier();
  auto extents = ns_.GetExtents(inode.fileid);
  if (!extents.ok()) return extents.status();
  const uint64_t first = offset_bytes / extent_bytes_;
  const uint64_t end = length_bytes > UINT64_MAX - offset_bytes ? UINT64_MAX
                                                                : offset_bytes + length_bytes;
  for (const meta::Extent& e : *extents) {
    if (e.index < first || e.index * extent_bytes_ >= end) continue;  // outside the range
    const meta::Instance* inst = ValidInstance(e);
    if (inst == nullptr) continue;
    volume::Volume* v = FindVolume(inst->volume_id);
    if (v == nullptr) return Status(Code::kUnavailable, "the extent's volume is not configured");
    auto verf = v->Commit(HandleOf(*inst, inode.fileid, e.index), 0, 0);
    if (!verf.ok()) return verf.status();
    NoteVerifier(inst->volume_id, *verf);
  }
  return verifier();
}

bool DataStore::TryStartCopy() {
  uint32_t now = copies_in_flight_.load();
  do {
    if (now >= kCopiesInFlightMax) return false;
  } while (!copies_in_flight_.compare_exchange_weak(now, now + 1));
  return true;
}

uint64_t DataStore::file_bytes_max() const {
  const uint64_t most = uint64_t(INT64_MAX);
  return extent_bytes_ > most / meta::kExtentsPerFileMax ? most
                                                         : extent_bytes_ * meta::kExtentsPerFileMax;
}

Status DataStore::CutPastSizeLocked(uint64_t fileid, std::optional<uint64_t> growing_to) {
  auto inode = ns_.GetInode(fileid);
  if (!inode.ok()) return inode.status();
  if (!inode->data_past_size) {
    if (!growing_to || *growing_to <= inode->size_bytes) return Status::Ok();
    if (Status s = CutLeftovers(*inode); !s.ok()) return s;
    checked_.Mark(fileid);
    return Status::Ok();
  }
  // Data is cut only under a durable size: a crash must not leave the old size over cut data.
  if (Status s = ns_.WaitDurable(ns_.DurabilityMark()); !s.ok()) return s;
  if (Status s = Truncate(*inode, inode->size_bytes); !s.ok()) return s;
  if (Status s = ns_.DataCut(fileid, inode->size_bytes); !s.ok()) return s;
  checked_.Mark(fileid);  // everything past the size is cut
  return Status::Ok();
}

Status DataStore::ForInstancesPast(const meta::Inode& inode, uint64_t size_bytes,
                                   const InstanceVisitor& visit) {
  auto extents = ns_.GetExtents(inode.fileid);
  if (!extents.ok()) return extents.status();
  for (const meta::Extent& e : *extents) {
    const uint64_t start = e.index * extent_bytes_;
    // An extent's data-server file never holds more than the extent: one wholly below the
    // size has nothing past it.
    if (start + extent_bytes_ <= size_bytes) continue;
    const uint64_t keep = size_bytes > start ? size_bytes - start : 0;
    for (const meta::Instance& inst : e.instances) {
      volume::Volume* v = FindVolume(inst.volume_id);
      if (v == nullptr) return Status(Code::kUnavailable, "the extent's volume is not configured");
      if (Status s = visit(*v, HandleOf(inst, inode.fileid, e.index), e, inst, keep); !s.ok()) {
        return s;
      }
    }
  }
  return Status::Ok();
}

Status DataStore::CutLeftovers(const meta::Inode& inode) {
  const uint64_t size = inode.size_bytes;
  return ForInstancesPast(inode, size, [&](volume::Volume& v, const volume::DataHandle& h,
                                           const meta::Extent& e, const meta::Instance& inst,
                                           uint64_t keep) {
    auto attrs = v.GetAttr(h);
    if (!attrs.ok()) {
      return attrs.status().code() == Code::kNotFound ? Status::Ok() : attrs.status();
    }
    if (attrs->size_bytes <= keep) return Status::Ok();  // the common case: nothing to cut
    spdlog::info("file {} extent {} on volume {}: {} bytes past the size {}, left by a crash "
                 "or a failed WRITE; cut",
                 inode.fileid, e.index, inst.volume_id, attrs->size_bytes - keep, size);
    return v.Truncate(h, keep);
  });
}

Status DataStore::Truncate(const meta::Inode& inode, uint64_t size_bytes) {
  return ForInstancesPast(inode, size_bytes, [&](volume::Volume& v, const volume::DataHandle& h,
                                                 const meta::Extent& e,
                                                 const meta::Instance& inst, uint64_t keep) {
    if (keep > 0) return v.Truncate(h, keep);
    if (Status s = v.Remove(h); !s.ok() && s.code() != Code::kNotFound) return s;
    return ns_.DeleteInstance(inode.fileid, e.index, inst.volume_id);
  });
}

void DataStore::Release(const std::vector<meta::Extent>& extents) {
  for (const meta::Extent& e : extents) {
    for (const meta::Instance& inst : e.instances) {
      volume::Volume* v = FindVolume(inst.volume_id);
      if (v == nullptr) continue;
      v->RemoveAsync(HandleOf(inst, e.fileid, e.index), [e, inst](Status s) {
        if (!s.ok() && s.code() != Code::kNotFound) {
          spdlog::warn("data of file {} extent {} on volume {} not removed: {}", e.fileid,
                       e.index, inst.volume_id, s.ToString());
        }
      });
    }
  }
}

void DataStore::NoteVerifier(uint64_t volume_id, const volume::Verifier& v) {
  std::lock_guard lock(mu_);
  ds_verifiers_[volume_id] = v;
}

std::array<uint8_t, 8> DataStore::verifier() const {
  // Unstable data lives on the data servers: if one restarts, its verifier changes, and so
  // must the one clients see, so that they resend what they have not committed.
  std::lock_guard lock(mu_);
  std::array<uint8_t, 8> v = boot_verifier_;
  for (const auto& [id, dv] : ds_verifiers_) {
    for (size_t i = 0; i < v.size(); ++i) v[i] ^= uint8_t(dv[i] + 31 * id);
  }
  return v;
}

}  // namespace manifold::nfs4
