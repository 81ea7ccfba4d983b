#include "fault_fs.h"

#include <sys/stat.h>
#include <unistd.h>

namespace manifold::meta::testing {
namespace {

using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

IOStatus Off() { return IOStatus::IOError("power is off (PowerLossFs inactive)"); }

class TrackedFile final : public rocksdb::FSWritableFileOwnerWrapper {
 public:
  TrackedFile(PowerLossFs* fs, std::string fname, std::unique_ptr<rocksdb::FSWritableFile> f)
      : FSWritableFileOwnerWrapper(std::move(f)), fs_(fs), fname_(std::move(fname)) {}

  IOStatus Append(const Slice& data, const IOOptions& o, IODebugContext* dbg) override {
    if (!fs_->active()) return Off();
    IOStatus s = target()->Append(data, o, dbg);
    if (s.ok()) fs_->OnAppend(fname_, data.size());
    return s;
  }
  IOStatus Append(const Slice& data, const IOOptions& o, const rocksdb::DataVerificationInfo& v,
                  IODebugContext* dbg) override {
    if (!fs_->active()) return Off();
    IOStatus s = target()->Append(data, o, v, dbg);
    if (s.ok()) fs_->OnAppend(fname_, data.size());
    return s;
  }
  IOStatus PositionedAppend(const Slice&, uint64_t, const IOOptions&, IODebugContext*) override {
    return IOStatus::NotSupported("PowerLossFs: direct I/O");
  }
  IOStatus Truncate(uint64_t size, const IOOptions& o, IODebugContext* dbg) override {
    if (!fs_->active()) return Off();
    IOStatus s = target()->Truncate(size, o, dbg);
    if (s.ok()) fs_->OnTruncate(fname_, size);
    return s;
  }
  IOStatus Sync(const IOOptions& o, IODebugContext* dbg) override { return DoSync(o, dbg, false); }
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override { return DoSync(o, dbg, true); }
  IOStatus RangeSync(uint64_t, uint64_t, const IOOptions&, IODebugContext*) override {
    return IOStatus::OK();  // a hint to start writeback, never a durability point
  }
  // Close always reaches the real file (it must release the descriptor), but it makes nothing
  // durable.

 private:
  IOStatus DoSync(const IOOptions& o, IODebugContext* dbg, bool full) {
    if (uint32_t ms = fs_->sync_delay_ms()) ::usleep(ms * 1000);
    if (!fs_->active()) return Off();
    IOStatus s = full ? target()->Fsync(o, dbg) : target()->Sync(o, dbg);
    if (s.ok()) fs_->OnSync(fname_);
    return s;
  }

  PowerLossFs* fs_;
  std::string fname_;
};

class TrackedDir final : public rocksdb::FSDirectoryWrapper {
 public:
  TrackedDir(PowerLossFs* fs, std::string name, std::unique_ptr<rocksdb::FSDirectory> d)
      : FSDirectoryWrapper(std::move(d)), fs_(fs), name_(std::move(name)) {}
  IOStatus Fsync(const IOOptions& o, IODebugContext* dbg) override {
    if (!fs_->active()) return Off();
    IOStatus s = FSDirectoryWrapper::Fsync(o, dbg);
    if (s.ok()) fs_->OnDirSync(name_);
    return s;
  }
  IOStatus FsyncWithDirOptions(const IOOptions& o, IODebugContext* dbg,
                               const rocksdb::DirFsyncOptions& d) override {
    if (!fs_->active()) return Off();
    IOStatus s = FSDirectoryWrapper::FsyncWithDirOptions(o, dbg, d);
    if (s.ok()) fs_->OnDirSync(name_);
    return s;
  }

 private:
  PowerLossFs* fs_;
  std::string name_;
};

}  // namespace

IOStatus PowerLossFs::Track(const std::string& fname, bool reopened,
                            std::unique_ptr<rocksdb::FSWritableFile>* file) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!active_) return Off();
  auto [it, inserted] = files_.try_emplace(fname);
  if (!reopened || inserted) {
    it->second = FileState{};
    if (reopened) {  // existed before we saw it: count what is there as durable
      struct stat st;
      uint64_t size = ::stat(fname.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
      it->second = FileState{size, size, true};
    }
  }
  *file = std::make_unique<TrackedFile>(this, fname, std::move(*file));
  return IOStatus::OK();
}

IOStatus PowerLossFs::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& o,
                                      std::unique_ptr<rocksdb::FSWritableFile>* result,
                                      IODebugContext* dbg) {
  if (!active()) return Off();
  IOStatus s = target()->NewWritableFile(fname, o, result, dbg);
  return s.ok() ? Track(fname, false, result) : s;
}

IOStatus PowerLossFs::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& o,
                                         std::unique_ptr<rocksdb::FSWritableFile>* result,
                                         IODebugContext* dbg) {
  if (!active()) return Off();
  IOStatus s = target()->ReopenWritableFile(fname, o, result, dbg);
  return s.ok() ? Track(fname, true, result) : s;
}

IOStatus PowerLossFs::NewDirectory(const std::string& name, const IOOptions& o,
                                   std::unique_ptr<rocksdb::FSDirectory>* result,
                                   IODebugContext* dbg) {
  IOStatus s = target()->NewDirectory(name, o, result, dbg);
  if (s.ok()) *result = std::make_unique<TrackedDir>(this, name, std::move(*result));
  return s;
}

IOStatus PowerLossFs::DeleteFile(const std::string& fname, const IOOptions& o,
                                 IODebugContext* dbg) {
  if (!active()) return Off();
  IOStatus s = target()->DeleteFile(fname, o, dbg);
  std::lock_guard<std::mutex> lock(mu_);
  if (s.ok()) files_.erase(fname);
  return s;
}

IOStatus PowerLossFs::RenameFile(const std::string& src, const std::string& dst, const IOOptions& o,
                                 IODebugContext* dbg) {
  if (!active()) return Off();
  IOStatus s = target()->RenameFile(src, dst, o, dbg);
  std::lock_guard<std::mutex> lock(mu_);
  if (!s.ok()) return s;
  files_.erase(dst);
  auto it = files_.find(src);
  if (it != files_.end()) {
    files_[dst] = it->second;
    files_.erase(src);
  }
  return s;
}

void PowerLossFs::SetActive(bool active) {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = active;
}

bool PowerLossFs::active() const {
  std::lock_guard<std::mutex> lock(mu_);
  return active_;
}

void PowerLossFs::OnAppend(const std::string& fname, uint64_t bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  files_[fname].size_bytes += bytes;
}

void PowerLossFs::OnSync(const std::string& fname) {
  syncs_++;
  std::lock_guard<std::mutex> lock(mu_);
  FileState& f = files_[fname];
  f.synced_bytes = f.size_bytes;
}

void PowerLossFs::OnTruncate(const std::string& fname, uint64_t size_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  FileState& f = files_[fname];
  f.size_bytes = size_bytes;
  f.synced_bytes = std::min(f.synced_bytes, size_bytes);
}

void PowerLossFs::OnDirSync(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string want = dir;
  while (want.size() > 1 && want.back() == '/') want.pop_back();
  for (auto& [name, f] : files_) {
    if (DirOf(name) == want) f.created_durably = true;
  }
}

uint64_t PowerLossFs::DropUnsyncedData() {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t dropped = 0;
  for (auto it = files_.begin(); it != files_.end();) {
    const FileState& f = it->second;
    if (!f.created_durably) {
      dropped += f.size_bytes;
      ::unlink(it->first.c_str());
      it = files_.erase(it);
      continue;
    }
    if (f.size_bytes > f.synced_bytes) {
      dropped += f.size_bytes - f.synced_bytes;
      if (::truncate(it->first.c_str(), static_cast<off_t>(f.synced_bytes)) != 0) std::abort();
      it->second.size_bytes = f.synced_bytes;
    }
    ++it;
  }
  return dropped;
}

}  // namespace manifold::meta::testing
