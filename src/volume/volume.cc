#include "volume/volume.h"

#include <future>
#include <utility>

#include "common/check.h"

namespace manifold::volume {
namespace {

// Runs `start(done)` and waits for `done`'s value. The promise is shared so that a `done`
// that runs late (after a bug made us stop waiting) still has somewhere to write.
template <typename R, typename Start>
R Wait(Start&& start) {
  auto promise = std::make_shared<std::promise<R>>();
  std::future<R> future = promise->get_future();
  start([promise](R r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace

const char* StabilityName(Stability s) {
  switch (s) {
    case Stability::kUnstable: return "UNSTABLE";
    case Stability::kDataSync: return "DATA_SYNC";
    case Stability::kFileSync: return "FILE_SYNC";
  }
  return "?";
}

Result<DataHandle> Volume::Create(const std::string& name) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Result<DataHandle>>([&](auto done) { CreateAsync(name, std::move(done)); });
}

Result<DataHandle> Volume::Lookup(const std::string& name) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Result<DataHandle>>([&](auto done) { LookupAsync(name, std::move(done)); });
}

Result<ReadResult> Volume::Read(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Result<ReadResult>>(
      [&](auto done) { ReadAsync(h, offset_bytes, count_bytes, std::move(done)); });
}

Result<WriteResult> Volume::Write(const DataHandle& h, uint64_t offset_bytes,
                                  std::span<const uint8_t> data, Stability stable) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Result<WriteResult>>(
      [&](auto done) { WriteAsync(h, offset_bytes, data, stable, std::move(done)); });
}

Result<Verifier> Volume::Commit(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Result<Verifier>>(
      [&](auto done) { CommitAsync(h, offset_bytes, count_bytes, std::move(done)); });
}

Status Volume::Truncate(const DataHandle& h, uint64_t size_bytes) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Status>([&](auto done) { TruncateAsync(h, size_bytes, std::move(done)); });
}

Result<DataAttrs> Volume::GetAttr(const DataHandle& h) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Result<DataAttrs>>([&](auto done) { GetAttrAsync(h, std::move(done)); });
}

Status Volume::SetOwner(const DataHandle& h, uint32_t uid, uint32_t gid) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Status>([&](auto done) { SetOwnerAsync(h, uid, gid, std::move(done)); });
}

Status Volume::Remove(const DataHandle& h) {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Status>([&](auto done) { RemoveAsync(h, std::move(done)); });
}

Result<VolumeSpace> Volume::Space() {
  MANIFOLD_CHECK(!OnCompletionThread());
  return Wait<Result<VolumeSpace>>([&](auto done) { SpaceAsync(std::move(done)); });
}

}  // namespace manifold::volume
