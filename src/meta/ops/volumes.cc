// Volume records: where the MDS may place data (DESIGN.md section 2). Put replaces the whole
// record. Deleting a volume that instances still name is the volume issue's to refuse (it needs
// an instance-by-volume index, not in format 1).
#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

Status ValidateVolume(const Volume& v) {
  if (v.url.empty()) return Status(Code::kInvalid, "volume url is empty");
  if (v.url.size() > kVolumeUrlBytesMax || v.mds_address.size() > kVolumeAddressBytesMax) {
    return Status(Code::kTooBig, "volume url or address too long");
  }
  if (v.labels.size() > kVolumeLabelsMax) return Status(Code::kTooBig, "too many labels");
  for (const auto& [key, value] : v.labels) {
    if (key.empty()) return Status(Code::kInvalid, "empty label key");
    if (key.size() > kVolumeLabelBytesMax || value.size() > kVolumeLabelBytesMax) {
      return Status(Code::kTooBig, "label too long");
    }
  }
  return Status::Ok();
}

}  // namespace

Status PutVolume(Txn& txn, const Volume& volume) {
  META_RETURN_IF_ERROR(ValidateVolume(volume));
  return txn.Put(Cf::kVolumes, VolumeKey(volume.volume_id), EncodeVolume(volume));
}

Result<Volume> GetVolume(Txn& txn, uint64_t volume_id) {
  std::string key = VolumeKey(volume_id);
  META_ASSIGN_OR_RETURN(std::string value, txn.Get(Cf::kVolumes, key));
  return DecodeVolume(key, value);
}

Result<std::vector<Volume>> ListVolumes(Txn& txn, uint64_t after_volume_id, uint32_t max) {
  if (max == 0 || max > kListPageEntriesMax) return Status(Code::kInvalid, "bad page size");
  std::vector<Volume> out;
  if (after_volume_id == UINT64_MAX) return out;
  std::unique_ptr<KvIterator> it =
      txn.NewIterator(Cf::kVolumes, VolumeKey(after_volume_id + 1), "");
  for (; it->Valid() && out.size() < max; it->Next()) {
    META_ASSIGN_OR_RETURN(Volume v, DecodeVolume(it->key(), it->value()));
    out.push_back(std::move(v));
  }
  META_RETURN_IF_ERROR(it->status());
  return out;
}

Status DeleteVolume(Txn& txn, uint64_t volume_id) {
  std::string key = VolumeKey(volume_id);
  META_ASSIGN_OR_RETURN(std::string value, txn.GetForUpdate(Cf::kVolumes, key));
  return txn.Delete(Cf::kVolumes, key);
}

}  // namespace manifold::meta::ops
