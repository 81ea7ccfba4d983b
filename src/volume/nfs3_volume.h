// Nfs3Volume: the Volume driver for an NFSv3 export (manifold-ds, knfsd, NFS-Ganesha, a filer),
// over libnfs's asynchronous raw RPC API: every operation is exactly one NFSv3 RPC on one TCP
// connection, with AUTH_SYS as the configured uid/gid (root by default: the MDS must be able
// to create, truncate and re-own any DS file, DESIGN §11).
//
// One thread per volume owns the libnfs context (libnfs contexts are not thread-safe) and
// polls its socket; requests from other threads reach it through a bounded queue and an
// eventfd. Limits (all in Nfs3VolumeOptions): requests in flight on the wire, requests
// waiting behind them, and a timeout per request. When the connection drops (server restart,
// a request timing out), every request in flight fails with kUnavailable and the next request
// reconnects; filehandles stay valid across server restarts (RFC 1813: handles are
// persistent), so callers keep using the DataHandles they hold.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "volume/volume.h"

namespace manifold::volume {

// Where an NFSv3 volume lives, parsed from its URL:
//
//   nfs://HOST[:PORT]/EXPORT[?dir=DATA_DIR][&mountport=PORT][&uid=N][&gid=N]
//
//   HOST       IPv4 address, DNS name, or [IPv6] in brackets.
//   PORT       TCP port of NFS v3; default 2049. No rpcbind is consulted.
//   EXPORT     the path the server's MOUNT v3 service exports (absolute, as in `showmount -e`).
//   dir        the data directory for DS files, relative to the export ("a/b" allowed, no
//              "." or ".." components); created (mode 0755, as the uid/gid below) when
//              missing. Default: the export's root.
//   mountport  TCP port of MOUNT v3; default: the same as PORT (manifold-ds serves both on
//              one port; NFS-Ganesha and knfsd use a separate one, 20048 by convention).
//   uid, gid   the AUTH_SYS identity of every call; default 0 and 0 (root).
//
// Percent-escapes (%2F) are decoded in EXPORT and in query values. Unknown query keys are
// errors (a misspelt option must not be silently ignored).
struct Nfs3Address {
  std::string host;
  uint16_t port = 2049;
  uint16_t mount_port = 2049;
  std::string export_path;  // absolute, no trailing '/' unless it is "/"
  std::string data_dir;     // relative, components joined by '/', empty = export root
  uint32_t uid = 0;
  uint32_t gid = 0;

  static Result<Nfs3Address> Parse(std::string_view url);
  // The canonical URL (Parse(ToUrl()) gives back the same address).
  std::string ToUrl() const;
};

inline constexpr uint16_t kNfsPortDefault = 2049;

struct Nfs3VolumeOptions {
  // RPCs on the wire at once. More wait in the queue.
  uint32_t inflight_max = 64;
  // Requests waiting for a slot (or for the connection). Beyond it: kUnavailable at once.
  uint32_t queue_max = 4096;
  // From submission to reply. A request in flight that times out fails with kUnavailable and
  // resets the connection (an NFS server that does not answer one call is not answering);
  // one still waiting in the queue just fails.
  std::chrono::milliseconds request_timeout{30000};
  // TCP connect to the server (Open's MOUNT, and each reconnection).
  std::chrono::milliseconds connect_timeout{10000};
};

// Counters for /metrics; read with relaxed loads, so only roughly consistent with each other.
struct Nfs3VolumeStats {
  uint64_t requests_started = 0;             // RPCs sent
  uint64_t requests_refused = 0;             // queue full or volume closed: failed at submission
  uint64_t requests_timed_out = 0;           // in the queue or in flight
  uint64_t requests_failed_unavailable = 0;  // any kUnavailable outcome, timeouts included
  uint64_t connects = 0;                     // successful TCP connections, the first one included
  uint64_t connect_failures = 0;
  uint64_t inflight = 0;  // gauge
  uint64_t queued = 0;    // gauge
};

namespace internal {
class Nfs3Loop;
}

class Nfs3Volume final : public Volume {
 public:
  // Parses `url`, mounts the export (MOUNT v3 MNT, straight to the mount port), asks FSINFO
  // for the I/O limits, and looks up (or creates) the data directory. kInvalid for a bad
  // URL, kUnavailable if the server cannot be reached, kNotFound/kPermission from MOUNT.
  static Result<std::unique_ptr<Nfs3Volume>> Open(std::string_view url,
                                                  Nfs3VolumeOptions options = {});
  ~Nfs3Volume() override;
  Nfs3Volume(const Nfs3Volume&) = delete;
  Nfs3Volume& operator=(const Nfs3Volume&) = delete;

  std::string url() const override { return address_.ToUrl(); }
  IoLimits io_limits() const override { return limits_; }
  const Nfs3Address& address() const { return address_; }
  Nfs3VolumeStats stats() const;

  void CreateAsync(const std::string& name, Callback<DataHandle> done) override;
  void LookupAsync(const std::string& name, Callback<DataHandle> done) override;
  void ReadAsync(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes,
                 Callback<ReadResult> done) override;
  void WriteAsync(const DataHandle& h, uint64_t offset_bytes, std::span<const uint8_t> data,
                  Stability stable, Callback<WriteResult> done) override;
  void CommitAsync(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes,
                   Callback<Verifier> done) override;
  void TruncateAsync(const DataHandle& h, uint64_t size_bytes, StatusCallback done) override;
  void GetAttrAsync(const DataHandle& h, Callback<DataAttrs> done) override;
  void SetOwnerAsync(const DataHandle& h, uint32_t uid, uint32_t gid, StatusCallback done) override;
  void RemoveAsync(const DataHandle& h, StatusCallback done) override;
  void SpaceAsync(Callback<VolumeSpace> done) override;

 protected:
  bool OnCompletionThread() const override;

 private:
  Nfs3Volume(Nfs3Address address, std::unique_ptr<internal::Nfs3Loop> loop);
  Status Init();
  Result<std::vector<uint8_t>> LookupOrMakeDir(const std::vector<uint8_t>& parent_fh,
                                               const std::string& name);
  void LookupIn(const std::vector<uint8_t>& dir_fh, const std::string& name,
                Callback<std::vector<uint8_t>> done);

  Nfs3Address address_;
  std::unique_ptr<internal::Nfs3Loop> loop_;
  std::vector<uint8_t> root_fh_;      // the export's root, from MOUNT
  std::vector<uint8_t> data_dir_fh_;  // where DS files live
  IoLimits limits_;
};

}  // namespace manifold::volume
