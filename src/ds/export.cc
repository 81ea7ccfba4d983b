#include "ds/export.h"

#include "common/check.h"
#include "ds/creds.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

namespace manifold::ds {

namespace {

constexpr uint8_t kHandleVersion = 1;
constexpr size_t kMacBytes = 8;
constexpr const char* kKeyXattr = "trusted.manifold.fhkey";

struct KernelHandle {
  struct file_handle h;
  unsigned char bytes[kKernelHandleBytesMax];
};

}  // namespace

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

Result<std::unique_ptr<Export>> Export::Open(const std::string& root_dir,
                                             size_t fd_cache_entries_max) {
  std::unique_ptr<Export> e(new Export());
  e->root_dir_ = root_dir;
  e->fd_cache_entries_max_ = fd_cache_entries_max;
  // A real open (not O_PATH): open_by_handle_at rejects O_PATH descriptors as mount_fd.
  e->root_fd_ = Fd(::open(root_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!e->root_fd_.valid()) return Status::FromErrno(errno, "open export " + root_dir);
  struct stat st;
  if (::fstat(e->root_fd_.get(), &st) != 0) return Status::FromErrno(errno, "stat export");
  e->root_ino_ = st.st_ino;
  e->root_dev_ = st.st_dev;

  // The handle key: created once per export and kept with it, so handles survive restarts.
  int rd = e->root_fd_.get();
  ssize_t n = ::fgetxattr(rd, kKeyXattr, e->key_.data(), e->key_.size());
  if (n != ssize_t(e->key_.size())) {
    if (n >= 0 || errno != ENODATA) {
      return Status(Code::kCorruption, std::string("export handle key xattr ") + kKeyXattr +
                                           " is damaged; refusing to guess");
    }
    if (RAND_bytes(e->key_.data(), int(e->key_.size())) != 1) {
      return Status(Code::kInternal, "no randomness for the handle key");
    }
    if (::fsetxattr(rd, kKeyXattr, e->key_.data(), e->key_.size(), XATTR_CREATE) != 0) {
      return Status::FromErrno(errno, std::string("store handle key xattr ") + kKeyXattr +
                                          " (manifold-ds needs root and a file system with "
                                          "trusted xattrs)");
    }
    ::fsync(rd);
  }

  KernelHandle kh;
  kh.h.handle_bytes = kKernelHandleBytesMax;
  if (::name_to_handle_at(e->root_fd_.get(), "", &kh.h, &e->mount_id_, AT_EMPTY_PATH) != 0) {
    return Status::FromErrno(errno, "file handles on " + root_dir +
                                        " (the file system must support name_to_handle_at)");
  }
  e->root_handle_ = e->Seal(kh.h.handle_type, {kh.h.f_handle, kh.h.handle_bytes});
  // fsid: stable for the export (derived from the key), distinct between exports.
  std::memcpy(&e->fsid_, e->key_.data(), sizeof(e->fsid_));
  return e;
}

FileHandle Export::Seal(int handle_type, std::span<const uint8_t> kernel_handle) const {
  FileHandle fh(kFileHandleHeaderBytes + kernel_handle.size(), '\0');
  auto* p = reinterpret_cast<uint8_t*>(fh.data());
  p[0] = kHandleVersion;
  p[1] = uint8_t(handle_type);
  p[2] = uint8_t(kernel_handle.size());
  p[3] = 0;
  std::memcpy(p + kFileHandleHeaderBytes, kernel_handle.data(), kernel_handle.size());
  uint8_t mac[EVP_MAX_MD_SIZE];
  // The MAC covers the header bytes 0..3 and the kernel handle (bytes 12..).
  uint8_t msg[4 + kKernelHandleBytesMax];
  std::memcpy(msg, p, 4);
  std::memcpy(msg + 4, kernel_handle.data(), kernel_handle.size());
  Mac({msg, 4 + kernel_handle.size()}, mac);
  std::memcpy(p + 4, mac, kMacBytes);
  return fh;
}

void Export::Mac(std::span<const uint8_t> msg, uint8_t* mac) const {
  // OpenSSL 3's one-shot HMAC() looks the algorithm up on every call; a context per thread,
  // keyed once, costs one SHA-256 of two blocks per handle; it is re-keyed when the export
  // (its key) differs from the last one this thread served.
  struct ThreadMac {
    EVP_MAC* mac = nullptr;
    EVP_MAC_CTX* ctx = nullptr;
    std::array<uint8_t, 32> key{};
    bool keyed = false;
    ~ThreadMac() {
      EVP_MAC_CTX_free(ctx);
      EVP_MAC_free(mac);
    }
  };
  thread_local ThreadMac t;
  if (!t.keyed || t.key != key_) {
    EVP_MAC_CTX_free(t.ctx);
    if (t.mac == nullptr) t.mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    MANIFOLD_CHECK(t.mac != nullptr);
    t.ctx = EVP_MAC_CTX_new(t.mac);
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                           OSSL_PARAM_construct_end()};
    MANIFOLD_CHECK(EVP_MAC_init(t.ctx, key_.data(), key_.size(), params) == 1);
    t.key = key_;
    t.keyed = true;
  } else {
    MANIFOLD_CHECK(EVP_MAC_init(t.ctx, nullptr, 0, nullptr) == 1);  // same key, fresh state
  }
  size_t len = 0;
  MANIFOLD_CHECK(EVP_MAC_update(t.ctx, msg.data(), msg.size()) == 1);
  MANIFOLD_CHECK(EVP_MAC_final(t.ctx, mac, &len, EVP_MAX_MD_SIZE) == 1);
}

bool Export::Verify(std::span<const uint8_t> fh) const {
  if (fh.size() < kFileHandleHeaderBytes || fh.size() > kFileHandleBytesMax) return false;
  if (fh[0] != kHandleVersion || fh[3] != 0) return false;
  size_t len = fh[2];
  if (len == 0 || len > kKernelHandleBytesMax || kFileHandleHeaderBytes + len != fh.size()) {
    return false;
  }
  FileHandle expect = Seal(fh[1], fh.subspan(kFileHandleHeaderBytes));
  return CRYPTO_memcmp(expect.data() + 4, fh.data() + 4, kMacBytes) == 0;
}

Result<FileHandle> Export::HandleAt(int dir_fd, const char* name) const {
  KernelHandle kh;
  kh.h.handle_bytes = kKernelHandleBytesMax;
  int mount_id = -1;
  if (::name_to_handle_at(dir_fd, name, &kh.h, &mount_id, 0) != 0) {
    return Status::FromErrno(errno, "name_to_handle_at");
  }
  if (mount_id != mount_id_) {
    return Status(Code::kPermission, "crosses into another mount, which is not exported");
  }
  return Seal(kh.h.handle_type, {kh.h.f_handle, kh.h.handle_bytes});
}

Result<FileHandle> Export::HandleOf(int fd) const {
  KernelHandle kh;
  kh.h.handle_bytes = kKernelHandleBytesMax;
  int mount_id = -1;
  if (::name_to_handle_at(fd, "", &kh.h, &mount_id, AT_EMPTY_PATH) != 0) {
    return Status::FromErrno(errno, "name_to_handle_at");
  }
  if (mount_id != mount_id_) {
    return Status(Code::kPermission, "crosses into another mount, which is not exported");
  }
  return Seal(kh.h.handle_type, {kh.h.f_handle, kh.h.handle_bytes});
}

HandleError Export::OpenHandle(std::span<const uint8_t> fh, Fd& out) const {
  if (!Verify(fh)) return HandleError::kBadHandle;
  KernelHandle kh;
  kh.h.handle_type = fh[1];
  kh.h.handle_bytes = fh[2];
  std::memcpy(kh.h.f_handle, fh.data() + kFileHandleHeaderBytes, fh[2]);
  BecomeRoot();  // CAP_DAC_READ_SEARCH
  int fd = ::open_by_handle_at(root_fd_.get(), &kh.h, O_PATH | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    return (errno == ESTALE || errno == ENOENT) ? HandleError::kStale : HandleError::kIo;
  }
  out = Fd(fd);
  return HandleError::kOk;
}

HandleError Export::Resolve(std::span<const uint8_t> fh, PathFd& out, struct stat& st) {
  FileHandle key(reinterpret_cast<const char*>(fh.data()), fh.size());
  out.fd_ = path_cache_.Find(key);
  if (!out.fd_) {
    Fd fd;
    HandleError err = OpenHandle(fh, fd);
    if (err != HandleError::kOk) return err;
    if (::fstat(fd.get(), &st) != 0) return HandleError::kIo;
    if (S_ISDIR(st.st_mode)) {
      // Directories are kept open for reading, not O_PATH: every namespace change fsyncs its
      // directory, and fsync needs a real descriptor. Still root here (OpenHandle).
      std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
      Fd dir(::open(proc.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!dir.valid()) {
        return (errno == ESTALE || errno == ENOENT) ? HandleError::kStale : HandleError::kIo;
      }
      fd = std::move(dir);
    }
    out.fd_ = path_cache_.Insert(key, std::make_shared<Fd>(std::move(fd)), fd_cache_entries_max_);
  }
  if (::fstat(out.get(), &st) != 0) return HandleError::kIo;
  // The inode may linger in memory after its last name is gone: a removed file is stale.
  if (st.st_nlink == 0) {
    Forget(key);
    return HandleError::kStale;
  }
  return HandleError::kOk;
}

HandleError Export::OpenForIo(std::span<const uint8_t> fh, std::shared_ptr<Fd>& out,
                              struct stat& st) {
  FileHandle key(reinterpret_cast<const char*>(fh.data()), fh.size());
  out = io_cache_.Find(key);
  if (out) {
    if (::fstat(out->get(), &st) != 0) return HandleError::kIo;
    if (st.st_nlink == 0) {
      Forget(key);
      return HandleError::kStale;
    }
    return HandleError::kOk;
  }
  PathFd path_fd;
  HandleError err = Resolve(fh, path_fd, st);
  if (err != HandleError::kOk) return err;
  if (!S_ISREG(st.st_mode)) return HandleError::kOk;  // caller reports the type error
  std::string proc = "/proc/self/fd/" + std::to_string(path_fd.get());
  BecomeRoot();  // the server checks each READ/WRITE against the caller itself
  int fd = ::open(proc.c_str(), O_RDWR | O_CLOEXEC);
  // Files that cannot be opened for writing are still read: a read-only file system, a
  // running binary, an immutable or append-only file (EPERM, even for root). A WRITE to them
  // then finds a read-only descriptor (Nfs3Program::Write tells PERM from ROFS).
  if (fd < 0 && (errno == EROFS || errno == ETXTBSY || errno == EACCES || errno == EPERM)) {
    fd = ::open(proc.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return errno == ESTALE ? HandleError::kStale : HandleError::kIo;
  out = io_cache_.Insert(key, std::make_shared<Fd>(fd), fd_cache_entries_max_);
  return HandleError::kOk;
}

int Export::SyncFileSystem() const { return ::syncfs(root_fd_.get()); }

void Export::Forget(const FileHandle& fh) {
  path_cache_.Erase(fh);
  io_cache_.Erase(fh);
}

std::shared_ptr<Fd> Export::FdLru::Find(const FileHandle& fh) {
  std::lock_guard lock(mu_);
  auto it = map_.find(fh);
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru_pos);
  return it->second.fd;
}

std::shared_ptr<Fd> Export::FdLru::Insert(const FileHandle& fh, std::shared_ptr<Fd> fd,
                                          size_t max) {
  std::lock_guard lock(mu_);
  auto [it, inserted] = map_.try_emplace(fh);
  if (!inserted) return it->second.fd;
  lru_.push_front(fh);
  it->second = Entry{std::move(fd), lru_.begin()};
  auto result = it->second.fd;
  while (map_.size() > max) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  return result;
}

void Export::FdLru::Erase(const FileHandle& fh) {
  std::lock_guard lock(mu_);
  auto it = map_.find(fh);
  if (it == map_.end()) return;
  lru_.erase(it->second.lru_pos);
  map_.erase(it);
}

}  // namespace manifold::ds
