// Extents and their instances (DESIGN.md sections 2 and 5). Writers lock the file's inode
// first, as Remove does before it deletes the extents, so an extent can never be written for a
// file that is being (or has been) removed. Instance changes move data, not content: they do
// not touch the file's change counter or times, so clients keep their caches.
#include <algorithm>

#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

Status ValidateExtent(const Extent& extent) {
  if (extent.index >= kExtentsPerFileMax) {
    return Status(Code::kFileTooBig, "extent index " + std::to_string(extent.index) + " exceeds " +
                                     std::to_string(kExtentsPerFileMax));
  }
  if (extent.instances.size() > kInstancesPerExtentMax) {
    return Status(Code::kTooBig,
                  "more than " + std::to_string(kInstancesPerExtentMax) + " instances");
  }
  for (const Instance& i : extent.instances) {
    if (i.locator.size() > kLocatorBytesMax) return Status(Code::kTooBig, "locator too long");
    for (const Instance& j : extent.instances) {
      if (&i != &j && i.volume_id == j.volume_id) {
        return Status(Code::kInvalid, "two instances on volume " + std::to_string(i.volume_id));
      }
    }
  }
  return Status::Ok();
}

Result<Inode> LockRegularFile(Txn& txn, FileId fileid) {
  META_ASSIGN_OR_RETURN(Inode inode, LockInode(txn, fileid));
  if (inode.type != FileType::kReg) return Status(Code::kInvalid, "extents need a regular file");
  return inode;
}

Result<Extent> LockExtent(Txn& txn, FileId fileid, uint64_t index) {
  Result<std::string> value = txn.GetForUpdate(Cf::kExtents, ExtentKey(fileid, index));
  if (!value.ok()) return value.status();
  return DecodeExtent(ExtentKey(fileid, index), *value);
}

Instance* FindInstance(Extent& extent, uint64_t volume_id) {
  for (Instance& i : extent.instances) {
    if (i.volume_id == volume_id) return &i;
  }
  return nullptr;
}

Status CheckGuards(const Inode& inode, const Instance& instance, const InstanceUpdate& u) {
  if (u.expected_state && instance.state != *u.expected_state) {
    return Status(Code::kPrecondition,
                  std::string("instance is ") + InstanceStateName(instance.state));
  }
  if (u.expected_data_generation && inode.data_generation != *u.expected_data_generation) {
    return Status(Code::kPrecondition,
                  "data generation moved on to " + std::to_string(inode.data_generation));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<Extent>> ScanExtents(Txn& txn, FileId fileid) {
  std::vector<Extent> out;
  std::unique_ptr<KvIterator> it = NewPrefixIterator(txn, Cf::kExtents, ExtentPrefix(fileid));
  for (; it->Valid(); it->Next()) {
    if (out.size() >= kExtentsPerFileMax) {
      return Status(Code::kCorruption, "file has more than kExtentsPerFileMax extents");
    }
    META_ASSIGN_OR_RETURN(Extent extent, DecodeExtent(it->key(), it->value()));
    out.push_back(std::move(extent));
  }
  META_RETURN_IF_ERROR(it->status());
  return out;
}

Status PutExtent(Txn& txn, const Extent& extent) {
  META_RETURN_IF_ERROR(ValidateExtent(extent));
  META_ASSIGN_OR_RETURN(Inode inode, LockRegularFile(txn, extent.fileid));
  return txn.Put(Cf::kExtents, ExtentKey(extent.fileid, extent.index), EncodeExtent(extent));
}

Result<Extent> GetExtent(Txn& txn, FileId fileid, uint64_t index) {
  META_ASSIGN_OR_RETURN(Inode inode, ReadInode(txn, fileid));
  Result<std::string> value = txn.Get(Cf::kExtents, ExtentKey(fileid, index));
  if (!value.ok()) return value.status();
  return DecodeExtent(ExtentKey(fileid, index), *value);
}

Result<std::vector<Extent>> GetExtents(Txn& txn, FileId fileid) {
  META_ASSIGN_OR_RETURN(Inode inode, ReadInode(txn, fileid));
  return ScanExtents(txn, fileid);
}

Result<Extent> UpdateInstance(Txn& txn, FileId fileid, uint64_t index,
                              const InstanceUpdate& update) {
  META_ASSIGN_OR_RETURN(Inode inode, LockRegularFile(txn, fileid));
  META_ASSIGN_OR_RETURN(Extent extent, LockExtent(txn, fileid, index));
  Instance* instance = FindInstance(extent, update.volume_id);
  if (!instance) {
    return Status(Code::kNotFound, "no instance on volume " + std::to_string(update.volume_id));
  }
  META_RETURN_IF_ERROR(CheckGuards(inode, *instance, update));
  instance->state = update.new_state;
  if (update.checksum) instance->checksum = *update.checksum;
  if (update.generation) instance->generation = *update.generation;
  META_RETURN_IF_ERROR(txn.Put(Cf::kExtents, ExtentKey(fileid, index), EncodeExtent(extent)));
  return extent;
}

Status DeleteInstance(Txn& txn, FileId fileid, uint64_t index, uint64_t volume_id) {
  META_ASSIGN_OR_RETURN(Inode inode, LockRegularFile(txn, fileid));
  META_ASSIGN_OR_RETURN(Extent extent, LockExtent(txn, fileid, index));
  auto& v = extent.instances;
  auto it =
      std::find_if(v.begin(), v.end(), [&](const Instance& i) { return i.volume_id == volume_id; });
  if (it == v.end())
    return Status(Code::kNotFound, "no instance on volume " + std::to_string(volume_id));
  v.erase(it);
  if (v.empty()) return txn.Delete(Cf::kExtents, ExtentKey(fileid, index));
  return txn.Put(Cf::kExtents, ExtentKey(fileid, index), EncodeExtent(extent));
}

}  // namespace manifold::meta::ops
