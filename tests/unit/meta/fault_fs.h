// PowerLossFs: a rocksdb::FileSystem that can simulate a power cut. Debian's librocksdb-dev 7.8
// does not ship RocksDB's FaultInjectionTestFS (it lives in the source tree's utilities/, not
// in /usr/include/rocksdb), so this is a small version of it for the meta tests.
//
// Model of what a disk keeps across a power cut:
//  - A file's bytes up to its last Sync/Fsync survive; bytes appended after it are lost.
//  - A file created since the last fsync of its directory is lost entirely.
//  - Renames and deletes are treated as durable at once (more lenient than a real disk;
//    RocksDB fsyncs the directory after each rename it depends on, CURRENT included).
//  - Files that existed before this FileSystem saw them are left alone.
//
// Use: SetActive(false) at the moment of the "power cut" (every later write or sync fails and
// reaches nothing), close the database, DropUnsyncedData(), SetActive(true), reopen.
#pragma once

#include <rocksdb/file_system.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace manifold::meta::testing {

class PowerLossFs final : public rocksdb::FileSystemWrapper {
 public:
  explicit PowerLossFs(std::shared_ptr<rocksdb::FileSystem> base)
      : rocksdb::FileSystemWrapper(base) {}

  static const char* kClassName() { return "ManifoldPowerLossFs"; }
  const char* Name() const override { return kClassName(); }

  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname,
                                       const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& options,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& src, const std::string& dst,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;

  // Inactive: appends and syncs fail with IOError and write nothing (the machine is "off").
  void SetActive(bool active);
  bool active() const;

  // The power cut: truncates every tracked file to its last synced length and deletes tracked
  // files whose creation was never made durable by a directory fsync. Returns the bytes
  // dropped. Call with the database closed.
  uint64_t DropUnsyncedData();

  // Every file sync first sleeps this long (a slow disk), then checks that power is still on.
  void set_sync_delay_ms(uint32_t ms) { sync_delay_ms_ = ms; }
  uint32_t sync_delay_ms() const { return sync_delay_ms_; }

  // File syncs (Sync + Fsync) that reached the disk so far: WAL syncs, mostly.
  uint64_t syncs() const { return syncs_; }

  // Called by the file and directory wrappers.
  void OnAppend(const std::string& fname, uint64_t bytes);
  void OnSync(const std::string& fname);
  void OnTruncate(const std::string& fname, uint64_t size_bytes);
  void OnDirSync(const std::string& dir);

 private:
  struct FileState {
    uint64_t size_bytes = 0;
    uint64_t synced_bytes = 0;
    bool created_durably = false;  // its directory was fsynced after it was created
  };
  rocksdb::IOStatus Track(const std::string& fname, bool reopened,
                          std::unique_ptr<rocksdb::FSWritableFile>* file);

  std::atomic<uint64_t> syncs_{0};
  std::atomic<uint32_t> sync_delay_ms_{0};
  mutable std::mutex mu_;
  bool active_ = true;                      // guarded by mu_
  std::map<std::string, FileState> files_;  // guarded by mu_; by full path
};

}  // namespace manifold::meta::testing
