// The exported directory and its filehandles.
//
// A filehandle wraps the kernel's own handle for the inode (name_to_handle_at), which carries
// the inode's generation: it stays valid across restarts of manifold-ds, and a handle of a
// removed file never opens a new file that reuses the inode number (ESTALE). Kernel handles
// can name any inode on the file system, so each one is sealed with an HMAC under a per-export
// key kept in a trusted.* xattr of the export root (invisible to NFS clients): a client cannot
// forge a handle that reaches outside the export.
//
// Layout (at most NFS3_FHSIZE = 64 bytes):
//   [0] version (1)  [1] kernel handle_type  [2] kernel handle_bytes  [3] reserved (0)
//   [4..11] HMAC-SHA256(key, bytes 0..3 and the kernel handle), first 8 bytes
//   [12..]  kernel handle bytes
#pragma once

#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "common/status.h"

namespace manifold::ds {

inline constexpr size_t kFileHandleBytesMax = 64;
inline constexpr size_t kFileHandleHeaderBytes = 12;
inline constexpr size_t kKernelHandleBytesMax = kFileHandleBytesMax - kFileHandleHeaderBytes;
// Open regular-file descriptors kept for READ/WRITE/COMMIT.
inline constexpr size_t kFdCacheEntriesMaxDefault = 4096;

using FileHandle = std::string;  // opaque bytes

// An open file descriptor, closed when the last reference goes.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd();
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }

 private:
  int fd_;
};

// A cached descriptor of a resolved handle, shared by the requests using it: O_PATH, except
// for directories, which are open O_RDONLY (so that they can be fsynced and read).
class PathFd {
 public:
  int get() const { return fd_ ? fd_->get() : -1; }
  bool valid() const { return fd_ && fd_->valid(); }

 private:
  friend class Export;
  std::shared_ptr<Fd> fd_;
};

// Errors from handle resolution, in protocol-neutral terms.
enum class HandleError { kOk, kBadHandle, kStale, kIo };

class Export {
 public:
  // Opens `root_dir`, loads (or creates) the handle key. Errors: the directory is missing,
  // the file system does not support handles, or the key xattr cannot be stored.
  static Result<std::unique_ptr<Export>> Open(const std::string& root_dir,
                                              size_t fd_cache_entries_max);

  const std::string& root_dir() const { return root_dir_; }
  uint64_t fsid() const { return fsid_; }
  const FileHandle& root_handle() const { return root_handle_; }

  // Makes the handle of `name` inside the directory `dir_fd` (no symlink following). Runs
  // with the caller's credentials, so the kernel checks search permission on the directory.
  Result<FileHandle> HandleAt(int dir_fd, const char* name) const;
  Result<FileHandle> HandleOf(int fd) const;

  // Opens a handle as O_PATH, a directory O_RDONLY (root credentials: open_by_handle_at needs
  // CAP_DAC_READ_SEARCH), or finds it in the cache of resolved handles: a cached handle was
  // verified when it was first resolved, so a hit costs one fstat. Fills `st`. A removed file
  // (nlink 0) is stale.
  HandleError Resolve(std::span<const uint8_t> fh, PathFd& out, struct stat& st);
  // Opens a handle for I/O (O_RDWR, or O_RDONLY where writing is impossible), via the cache.
  HandleError OpenForIo(std::span<const uint8_t> fh, std::shared_ptr<Fd>& out,
                        struct stat& st);
  // Flushes the whole exported file system (syncfs): for objects that cannot be opened to be
  // fsynced on their own (symlinks, devices). 0, or -1 with errno.
  int SyncFileSystem() const;
  // Drops cached descriptors of a handle (after REMOVE, RMDIR, or RENAME over an entry).
  void Forget(const FileHandle& fh);
  bool IsRoot(const struct stat& st) const {
    return st.st_ino == root_ino_ && st.st_dev == root_dev_;
  }

 private:
  Export() = default;
  bool Verify(std::span<const uint8_t> fh) const;
  HandleError OpenHandle(std::span<const uint8_t> fh, Fd& out) const;
  FileHandle Seal(int handle_type, std::span<const uint8_t> kernel_handle) const;
  // HMAC-SHA256 of `msg` under key_, into mac (32 bytes).
  void Mac(std::span<const uint8_t> msg, uint8_t* mac) const;

  std::string root_dir_;
  Fd root_fd_;  // the export root, opened O_RDONLY: mount_fd for open_by_handle_at
  int mount_id_ = -1;
  ino_t root_ino_ = 0;
  dev_t root_dev_ = 0;
  uint64_t fsid_ = 0;
  std::array<uint8_t, 32> key_{};
  FileHandle root_handle_;

  // Two LRUs keyed by filehandle bytes: O_PATH descriptors of resolved handles, and
  // read-write descriptors of regular files for I/O. Each holds at most
  // fd_cache_entries_max_ entries.
  class FdLru {
   public:
    std::shared_ptr<Fd> Find(const FileHandle& fh);
    // Inserts unless present; returns the cached descriptor either way.
    std::shared_ptr<Fd> Insert(const FileHandle& fh, std::shared_ptr<Fd> fd, size_t max);
    void Erase(const FileHandle& fh);

   private:
    struct Entry {
      std::shared_ptr<Fd> fd;
      std::list<FileHandle>::iterator lru_pos;
    };
    std::mutex mu_;
    std::list<FileHandle> lru_;  // front = most recent; guarded by mu_
    std::unordered_map<FileHandle, Entry> map_;  // guarded by mu_
  };
  size_t fd_cache_entries_max_ = kFdCacheEntriesMaxDefault;
  FdLru path_cache_;
  FdLru io_cache_;
};

}  // namespace manifold::ds
