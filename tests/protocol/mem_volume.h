// MemVolume: an in-memory Volume (the seam of volume/volume.h) for protocol tests of manifold-mds's
// data path. A file is bytes plus the set of kBlockBytes blocks a sparse file system would back
// (those a WRITE touched), so tests can see holes; it also remembers what was written UNSTABLE and
// not committed, so tests can check that a reply's promise of stability held. Every callback runs
// on the caller's thread, before the call returns.
#pragma once

#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "volume/volume.h"

namespace manifold::testlib {

class MemVolume final : public volume::Volume {
 public:
  static constexpr uint64_t kBlockBytes = 4096;
  static constexpr uint32_t kIoBytesMax = 1 << 20;

  // Runs after a READ took its snapshot of the bytes and before the reply goes back: a test can
  // make something happen between a reader's look at a file and its next step.
  using ReadHook = std::function<void(const std::string& name, uint64_t offset)>;
  void set_read_hook(ReadHook hook) {
    std::lock_guard lock(mu_);
    read_hook_ = std::move(hook);
  }
  // Runs after a CREATE made the file and before the reply goes back (a writer's first write
  // to an extent, between its look at the file and recording the new extent).
  using CreateHook = std::function<void(const std::string& name)>;
  void set_create_hook(CreateHook hook) {
    std::lock_guard lock(mu_);
    create_hook_ = std::move(hook);
  }

  // Runs before a SETATTR of the size (a cut) does anything; a status other than ok fails the
  // call with it (a data server that cannot be reached).
  using TruncateHook = std::function<Status(const std::string& name, uint64_t size)>;
  void set_truncate_hook(TruncateHook hook) {
    std::lock_guard lock(mu_);
    truncate_hook_ = std::move(hook);
  }

  // Runs before a WRITE does anything; a status other than ok fails the call with it.
  using WriteHook = std::function<Status(const std::string& name, uint64_t offset)>;
  void set_write_hook(WriteHook hook) {
    std::lock_guard lock(mu_);
    write_hook_ = std::move(hook);
  }

  // The largest READ and WRITE the volume reports (io_limits) and accepts (a larger WRITE is
  // kInvalid), and the most bytes one READ returns before the file's end (a data server may
  // return fewer than asked for without being at the end).
  void set_io_limits(uint32_t reported_bytes, uint32_t read_served_bytes) {
    std::lock_guard lock(mu_);
    io_reported_bytes_ = reported_bytes;
    read_served_bytes_ = read_served_bytes;
  }

  // ---- what tests look at (by the data-server file's name)
  bool Exists(const std::string& name) const {
    std::lock_guard lock(mu_);
    return by_name_.count(name) > 0;
  }
  uint64_t SizeOf(const std::string& name) const {
    std::lock_guard lock(mu_);
    return FileNamed(name).data.size();
  }
  // Every block overlapping [offset, offset+length) is backed (written, not a hole).
  bool Backed(const std::string& name, uint64_t offset, uint64_t length) const {
    std::lock_guard lock(mu_);
    const File& f = FileNamed(name);
    for (uint64_t b = offset / kBlockBytes; b * kBlockBytes < offset + length; ++b) {
      if (!f.blocks.count(b)) return false;
    }
    return true;
  }
  size_t FileCount() const {
    std::lock_guard lock(mu_);
    return files_.size();
  }
  // Some file holds bytes written UNSTABLE and not committed since.
  bool AnyUncommitted() const {
    std::lock_guard lock(mu_);
    for (const auto& [fh, f] : files_) {
      if (f.uncommitted) return true;
    }
    return false;
  }

  // ---- the Volume interface
  std::string url() const override { return "mem://test"; }
  volume::IoLimits io_limits() const override {
    std::lock_guard lock(mu_);
    return {io_reported_bytes_, io_reported_bytes_};
  }

  void CreateAsync(const std::string& name, volume::Callback<volume::DataHandle> done) override {
    std::unique_lock lock(mu_);
    if (by_name_.count(name)) return Unlock(lock, done, Status(Code::kExists, name));
    std::string fh = "mem" + std::to_string(++next_id_);
    files_[fh] = File{};
    by_name_[name] = fh;
    CreateHook hook = create_hook_;
    lock.unlock();
    if (hook) hook(name);
    done(volume::DataHandle{{fh.begin(), fh.end()}, name});
  }
  void LookupAsync(const std::string& name, volume::Callback<volume::DataHandle> done) override {
    std::unique_lock lock(mu_);
    auto it = by_name_.find(name);
    if (it == by_name_.end()) return Unlock(lock, done, Status(Code::kNotFound, name));
    const std::string& fh = it->second;
    Unlock(lock, done, volume::DataHandle{{fh.begin(), fh.end()}, name});
  }
  void ReadAsync(const volume::DataHandle& h, uint64_t offset, uint32_t count,
                 volume::Callback<volume::ReadResult> done) override {
    std::unique_lock lock(mu_);
    File* f = Find(h);
    if (f == nullptr) return Unlock(lock, done, Status(Code::kNotFound, "stale " + h.name));
    volume::ReadResult r;
    if (offset < f->data.size()) {
      uint64_t n = std::min<uint64_t>({count, read_served_bytes_, f->data.size() - offset});
      r.data.assign(f->data.begin() + offset, f->data.begin() + offset + n);
    }
    r.eof = offset + r.data.size() >= f->data.size();
    ReadHook hook = read_hook_;
    lock.unlock();
    if (hook) hook(h.name, offset);
    done(std::move(r));
  }
  void WriteAsync(const volume::DataHandle& h, uint64_t offset, std::span<const uint8_t> data,
                  volume::Stability stable, volume::Callback<volume::WriteResult> done) override {
    std::unique_lock lock(mu_);
    File* f = Find(h);
    if (f == nullptr) return Unlock(lock, done, Status(Code::kNotFound, "stale " + h.name));
    if (data.size() > io_reported_bytes_) {
      return Unlock(lock, done, Status(Code::kInvalid, "too big"));
    }
    if (WriteHook hook = write_hook_) {
      lock.unlock();
      if (Status s = hook(h.name, offset); !s.ok()) return done(s);
      lock.lock();
      f = Find(h);
      if (f == nullptr) return Unlock(lock, done, Status(Code::kNotFound, "stale " + h.name));
    }
    if (f->data.size() < offset + data.size()) f->data.resize(offset + data.size(), 0);
    std::memcpy(f->data.data() + offset, data.data(), data.size());
    for (uint64_t b = offset / kBlockBytes; b * kBlockBytes < offset + data.size(); ++b) {
      f->blocks.insert(b);
    }
    if (stable == volume::Stability::kUnstable) f->uncommitted = true;
    Unlock(lock, done, volume::WriteResult{uint32_t(data.size()), stable, kVerifier});
  }
  void CommitAsync(const volume::DataHandle& h, uint64_t, uint32_t,
                   volume::Callback<volume::Verifier> done) override {
    std::unique_lock lock(mu_);
    File* f = Find(h);
    if (f == nullptr) return Unlock(lock, done, Status(Code::kNotFound, "stale " + h.name));
    f->uncommitted = false;
    Unlock(lock, done, kVerifier);
  }
  void TruncateAsync(const volume::DataHandle& h, uint64_t size,
                     volume::StatusCallback done) override {
    std::unique_lock lock(mu_);
    if (TruncateHook hook = truncate_hook_) {
      lock.unlock();
      if (Status s = hook(h.name, size); !s.ok()) return done(s);
      lock.lock();
    }
    File* f = Find(h);
    if (f == nullptr) return Unlock(lock, done, Status(Code::kNotFound, "stale " + h.name));
    f->data.resize(size, 0);
    f->blocks.erase(f->blocks.lower_bound((size + kBlockBytes - 1) / kBlockBytes), f->blocks.end());
    Unlock(lock, done, Status::Ok());
  }
  void GetAttrAsync(const volume::DataHandle& h,
                    volume::Callback<volume::DataAttrs> done) override {
    std::unique_lock lock(mu_);
    File* f = Find(h);
    if (f == nullptr) return Unlock(lock, done, Status(Code::kNotFound, "stale " + h.name));
    volume::DataAttrs a;
    a.size_bytes = f->data.size();
    a.used_bytes = f->blocks.size() * kBlockBytes;
    Unlock(lock, done, a);
  }
  void SetOwnerAsync(const volume::DataHandle&, uint32_t, uint32_t,
                     volume::StatusCallback done) override {
    done(Status::Ok());
  }
  void RemoveAsync(const volume::DataHandle& h, volume::StatusCallback done) override {
    std::unique_lock lock(mu_);
    auto it = by_name_.find(h.name);
    if (it == by_name_.end()) return Unlock(lock, done, Status(Code::kNotFound, h.name));
    files_.erase(it->second);
    by_name_.erase(it);
    Unlock(lock, done, Status::Ok());
  }
  void SpaceAsync(volume::Callback<volume::VolumeSpace> done) override {
    done(volume::VolumeSpace{1ull << 40, 1ull << 40, 1ull << 40});
  }

 private:
  static constexpr volume::Verifier kVerifier{1, 2, 3, 4, 5, 6, 7, 8};
  struct File {
    std::vector<uint8_t> data;
    std::set<uint64_t> blocks;  // backed blocks (index = offset / kBlockBytes)
    bool uncommitted = false;
  };

  // Callbacks run without the lock, so that they may call back in.
  template <typename Done, typename Value>
  static void Unlock(std::unique_lock<std::mutex>& lock, Done& done, Value&& v) {
    lock.unlock();
    done(std::forward<Value>(v));
  }
  File* Find(const volume::DataHandle& h) {
    auto it = files_.find(std::string(h.fh.begin(), h.fh.end()));
    return it == files_.end() ? nullptr : &it->second;
  }
  const File& FileNamed(const std::string& name) const {
    static const File kNone;
    auto it = by_name_.find(name);
    return it == by_name_.end() ? kNone : files_.at(it->second);
  }

  mutable std::mutex mu_;
  std::map<std::string, File> files_;           // by handle; guarded by mu_
  std::map<std::string, std::string> by_name_;  // name -> handle; guarded by mu_
  uint64_t next_id_ = 0;                        // guarded by mu_
  ReadHook read_hook_;                          // guarded by mu_
  CreateHook create_hook_;                      // guarded by mu_
  TruncateHook truncate_hook_;                  // guarded by mu_
  WriteHook write_hook_;                        // guarded by mu_
  uint32_t io_reported_bytes_ = kIoBytesMax;    // guarded by mu_
  uint32_t read_served_bytes_ = kIoBytesMax;    // guarded by mu_
};

// A Volume that forwards to one it does not own, so that the data outlives the DataStore it is
// added to, as a data server's files outlive a restart of the MDS.
class VolumeRef final : public volume::Volume {
 public:
  explicit VolumeRef(volume::Volume& target) : v_(target) {}
  std::string url() const override { return v_.url(); }
  volume::IoLimits io_limits() const override { return v_.io_limits(); }
  void CreateAsync(const std::string& name, volume::Callback<volume::DataHandle> done) override {
    v_.CreateAsync(name, std::move(done));
  }
  void LookupAsync(const std::string& name, volume::Callback<volume::DataHandle> done) override {
    v_.LookupAsync(name, std::move(done));
  }
  void ReadAsync(const volume::DataHandle& h, uint64_t offset, uint32_t count,
                 volume::Callback<volume::ReadResult> done) override {
    v_.ReadAsync(h, offset, count, std::move(done));
  }
  void WriteAsync(const volume::DataHandle& h, uint64_t offset, std::span<const uint8_t> data,
                  volume::Stability stable, volume::Callback<volume::WriteResult> done) override {
    v_.WriteAsync(h, offset, data, stable, std::move(done));
  }
  void CommitAsync(const volume::DataHandle& h, uint64_t offset, uint32_t count,
                   volume::Callback<volume::Verifier> done) override {
    v_.CommitAsync(h, offset, count, std::move(done));
  }
  void TruncateAsync(const volume::DataHandle& h, uint64_t size,
                     volume::StatusCallback done) override {
    v_.TruncateAsync(h, size, std::move(done));
  }
  void GetAttrAsync(const volume::DataHandle& h,
                    volume::Callback<volume::DataAttrs> done) override {
    v_.GetAttrAsync(h, std::move(done));
  }
  void SetOwnerAsync(const volume::DataHandle& h, uint32_t uid, uint32_t gid,
                     volume::StatusCallback done) override {
    v_.SetOwnerAsync(h, uid, gid, std::move(done));
  }
  void RemoveAsync(const volume::DataHandle& h, volume::StatusCallback done) override {
    v_.RemoveAsync(h, std::move(done));
  }
  void SpaceAsync(volume::Callback<volume::VolumeSpace> done) override {
    v_.SpaceAsync(std::move(done));
  }

 private:
  volume::Volume& v_;
};

}  // namespace manifold::testlib
