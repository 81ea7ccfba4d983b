#include "meta/fileid_allocator.h"

#include "meta/macros.h"

namespace manifold::meta {

Result<FileId> FileIdAllocator::Next() {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_ == end_) META_RETURN_IF_ERROR(ReserveBlock());
  return next_++;
}

Status FileIdAllocator::ReserveBlock() {
  const uint32_t block_size = block_size_;
  Result<FileId> first = runner_->Run([block_size](Txn& txn) -> Result<FileId> {
    std::string key(kSysNextFileIdKey);
    META_ASSIGN_OR_RETURN(std::string value, txn.GetForUpdate(Cf::kSys, key));
    META_ASSIGN_OR_RETURN(uint64_t counter, DecodeSysU64(value));
    if (counter > UINT64_MAX - block_size) return Status(Code::kNoSpace, "fileids exhausted");
    META_RETURN_IF_ERROR(txn.Put(Cf::kSys, key, EncodeSysU64(counter + block_size)));
    return counter;
  });
  if (!first.ok()) return first.status();
  next_ = *first;
  end_ = *first + block_size;
  blocks_reserved_++;
  return Status::Ok();
}

}  // namespace manifold::meta
