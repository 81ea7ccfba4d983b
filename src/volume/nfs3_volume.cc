// The NFSv3 Volume driver: each operation builds one libnfs raw RPC (libnfs-raw.h), runs it on
// the volume's Nfs3Loop, and turns the decoded reply into the Volume's types.
#include "volume/nfs3_volume.h"

// libnfs-raw.h needs libnfs.h first (for EXTERN); the raw-*.h headers define the XDR types.
#include <nfsc/libnfs.h>
// (separate block: include order matters)
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>
#include <nfsc/libnfs-raw.h>

#include <algorithm>
#include <cstring>
#include <future>
#include <utility>

#include "common/check.h"
#include "volume/nfs3_loop.h"
#include "volume/nfs3_status.h"

namespace manifold::volume {
namespace {

using internal::Call;
using internal::Nfs3Loop;

// libnfs 4.0 refuses a reply record over 1 MiB + 4 KiB (NFS_MAX_XFER_SIZE in its private
// header): READs must stay at or under 1 MiB whatever the server offers. WRITEs too, so that
// a volume's limits do not depend on the direction.
constexpr uint32_t kLibnfsIoBytesMax = 1u << 20;
// RFC 1813 leaves name length to the server; every server we know limits names to 255 bytes.
constexpr size_t kNameBytesMax = 255;
// Mode of a data directory the driver creates.
constexpr uint32_t kDataDirMode = 0755;
constexpr int kAuthSys = 1;  // RFC 5531 AUTH_SYS (AUTH_UNIX)

struct Empty {};

nfs_fh3 Fh3(const std::vector<uint8_t>& fh) {
  nfs_fh3 f{};
  f.data.data_len = static_cast<u_int>(fh.size());
  f.data.data_val = reinterpret_cast<char*>(const_cast<uint8_t*>(fh.data()));
  return f;
}

std::vector<uint8_t> FhBytes(const char* data, u_int len) {
  return std::vector<uint8_t>(data, data + len);
}

Status CheckName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > kNameBytesMax ||
      name.find('/') != std::string::npos || name.find('\0') != std::string::npos) {
    return Status(Code::kInvalid, "bad DS file name '" + name + "' (1-" +
                                      std::to_string(kNameBytesMax) + " bytes, no '/')");
  }
  return Status::Ok();
}

Status CheckHandle(const DataHandle& h) {
  if (h.fh.empty() || h.fh.size() > kFileHandleBytesMax)
    return Status(Code::kInvalid, "DS filehandle of " + std::to_string(h.fh.size()) +
                                      " bytes for '" + h.name + "' (1-64 bytes)");
  return Status::Ok();
}

Callback<Empty> ToEmpty(StatusCallback done) {
  return [done = std::move(done)](Result<Empty> r) { done(r.ok() ? Status::Ok() : r.status()); };
}

// Submits one NFSv3 RPC whose reply type is Res. `start` issues it on the loop thread;
// `decode` turns an NFS3_OK reply into the result; any other nfsstat3 goes through the one
// mapping function, and the loop's own failures (unavailable, rejected) pass through.
template <typename Res, typename T, typename StartFn, typename DecodeFn>
void Issue(Nfs3Loop& loop, const char* proc, std::string what, StartFn start, DecodeFn decode,
           Callback<T> done) {
  auto call = std::make_unique<Call>();
  call->proc_name = proc;
  call->start = std::move(start);
  call->finish = [proc, what = std::move(what), decode = std::move(decode), done = std::move(done)](
                     const Status& status, void* reply) {
    std::string context = std::string(proc) + " " + what;
    if (!status.ok()) return done(Status(status.code(), context + ": " + status.message()));
    auto* res = static_cast<Res*>(reply);
    if (res->status != NFS3_OK) return done(internal::StatusFromNfsstat3(res->status, context));
    done(decode(*res));
  };
  loop.Submit(std::move(call));
}

template <typename T, typename Start>
Result<T> Wait(Start&& start) {
  auto promise = std::make_shared<std::promise<Result<T>>>();
  auto future = promise->get_future();
  start([promise](Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

internal::LoopOptions LoopFor(const Nfs3Address& a, const Nfs3VolumeOptions& o, uint16_t port) {
  internal::LoopOptions lo;
  lo.host = a.host;
  lo.port = port;
  lo.uid = a.uid;
  lo.gid = a.gid;
  lo.inflight_max = o.inflight_max;
  lo.queue_max = o.queue_max;
  lo.request_timeout = o.request_timeout;
  lo.connect_timeout = o.connect_timeout;
  return lo;
}

Result<std::vector<uint8_t>> DecodeMount(const Status& status, const mountres3* res,
                                         const std::string& context) {
  if (!status.ok()) return Status(status.code(), context + ": " + status.message());
  if (res->fhs_status != MNT3_OK) return internal::StatusFromMountstat3(res->fhs_status, context);
  const mountres3_ok& ok = res->mountres3_u.mountinfo;
  const auto& flavors = ok.auth_flavors;
  bool sys =
      flavors.auth_flavors_len == 0 ||
      std::find(flavors.auth_flavors_val, flavors.auth_flavors_val + flavors.auth_flavors_len,
                kAuthSys) != flavors.auth_flavors_val + flavors.auth_flavors_len;
  if (!sys) return Status(Code::kPermission, context + ": the export does not accept AUTH_SYS");
  if (ok.fhandle.fhandle3_len == 0 || ok.fhandle.fhandle3_len > kFileHandleBytesMax)
    return Status(Code::kIo, context + ": bad root filehandle length");
  return FhBytes(ok.fhandle.fhandle3_val, ok.fhandle.fhandle3_len);
}

// MOUNT v3 MNT on the mount port, on a loop of its own that lives for this one call.
Result<std::vector<uint8_t>> MountExport(const Nfs3Address& a, const Nfs3VolumeOptions& o) {
  auto loop = Nfs3Loop::Start(LoopFor(a, o, a.mount_port));
  if (!loop.ok()) return loop.status();
  std::string context =
      "MNT " + a.export_path + " on " + a.host + ":" + std::to_string(a.mount_port);
  return Wait<std::vector<uint8_t>>([&](Callback<std::vector<uint8_t>> done) {
    auto call = std::make_unique<Call>();
    call->proc_name = "MNT";
    call->start = [path = a.export_path](rpc_context* rpc, rpc_cb cb, void* p) {
      return rpc_mount3_mnt_async(rpc, cb, const_cast<char*>(path.c_str()), p);
    };
    call->finish = [context, done = std::move(done)](const Status& s, void* reply) {
      done(DecodeMount(s, static_cast<const mountres3*>(reply), context));
    };
    (*loop)->Submit(std::move(call));
  });
}

DataAttrs AttrsFrom(const fattr3& f) {
  DataAttrs a;
  a.size_bytes = f.size;
  a.used_bytes = f.used;
  a.mtime_ns = int64_t(f.mtime.seconds) * 1000000000 + f.mtime.nseconds;
  a.uid = f.uid;
  a.gid = f.gid;
  a.mode = f.mode & 07777;
  return a;
}

Verifier VerifierFrom(const char* verf) {
  Verifier v;
  std::memcpy(v.data(), verf, v.size());
  return v;
}

}  // namespace

Nfs3Volume::Nfs3Volume(Nfs3Address address, std::unique_ptr<internal::Nfs3Loop> loop)
    : address_(std::move(address)), loop_(std::move(loop)) {}

Nfs3Volume::~Nfs3Volume() {
  MANIFOLD_CHECK(!OnCompletionThread());  // a callback may not destroy its volume
  loop_.reset();
}

bool Nfs3Volume::OnCompletionThread() const { return loop_->OnLoopThread(); }

Nfs3VolumeStats Nfs3Volume::stats() const { return loop_->stats(); }

Result<std::unique_ptr<Nfs3Volume>> Nfs3Volume::Open(std::string_view url,
                                                     Nfs3VolumeOptions options) {
  auto address = Nfs3Address::Parse(url);
  if (!address.ok()) return address.status();
  auto root = MountExport(*address, options);
  if (!root.ok()) return root.status();
  auto loop = Nfs3Loop::Start(LoopFor(*address, options, address->port));
  if (!loop.ok()) return loop.status();
  std::unique_ptr<Nfs3Volume> v(new Nfs3Volume(std::move(*address), std::move(*loop)));
  v->root_fh_ = std::move(*root);
  if (Status s = v->Init(); !s.ok()) return s;
  return v;
}

// FSINFO for the I/O limits, then the data directory, one component at a time.
Status Nfs3Volume::Init() {
  auto fsinfo = Wait<IoLimits>([&](Callback<IoLimits> done) {
    Issue<FSINFO3res, IoLimits>(
        *loop_, "FSINFO", address_.export_path,
        [this](rpc_context* rpc, rpc_cb cb, void* p) {
          FSINFO3args a{};
          a.fsroot = Fh3(root_fh_);
          return rpc_nfs3_fsinfo_async(rpc, cb, &a, p);
        },
        [](FSINFO3res& r) -> Result<IoLimits> {
          const FSINFO3resok& ok = r.FSINFO3res_u.resok;
          auto cap = [](u_int v) {
            return v == 0 ? kLibnfsIoBytesMax : std::min(v, kLibnfsIoBytesMax);
          };
          return IoLimits{cap(ok.rtmax), cap(ok.wtmax)};
        },
        std::move(done));
  });
  if (!fsinfo.ok()) return fsinfo.status();
  limits_ = *fsinfo;
  std::vector<uint8_t> dir = root_fh_;
  size_t start = 0;
  while (start < address_.data_dir.size()) {
    size_t slash = std::min(address_.data_dir.find('/', start), address_.data_dir.size());
    auto child = LookupOrMakeDir(dir, address_.data_dir.substr(start, slash - start));
    if (!child.ok()) return child.status();
    dir = std::move(*child);
    start = slash + 1;
  }
  data_dir_fh_ = std::move(dir);
  return Status::Ok();
}

void Nfs3Volume::LookupIn(const std::vector<uint8_t>& dir_fh, const std::string& name,
                          Callback<std::vector<uint8_t>> done) {
  Issue<LOOKUP3res, std::vector<uint8_t>>(
      *loop_, "LOOKUP", name,
      [dir_fh, name](rpc_context* rpc, rpc_cb cb, void* p) {
        LOOKUP3args a{};
        a.what.dir = Fh3(dir_fh);
        a.what.name = const_cast<char*>(name.c_str());
        return rpc_nfs3_lookup_async(rpc, cb, &a, p);
      },
      [](LOOKUP3res& r) -> Result<std::vector<uint8_t>> {
        const nfs_fh3& fh = r.LOOKUP3res_u.resok.object;
        return FhBytes(fh.data.data_val, fh.data.data_len);
      },
      std::move(done));
}

// LOOKUP, and MKDIR when missing (LOOKUP again if another MDS made it meanwhile).
Result<std::vector<uint8_t>> Nfs3Volume::LookupOrMakeDir(const std::vector<uint8_t>& parent_fh,
                                                         const std::string& name) {
  using Fh = std::vector<uint8_t>;
  auto lookup = [&] {
    return Wait<Fh>([&](Callback<Fh> done) { LookupIn(parent_fh, name, std::move(done)); });
  };
  auto found = lookup();
  if (found.ok() || found.status().code() != Code::kNotFound) return found;
  auto made = Wait<Fh>([&](Callback<Fh> done) {
    Issue<MKDIR3res, Fh>(
        *loop_, "MKDIR", name,
        [&parent_fh, name](rpc_context* rpc, rpc_cb cb, void* p) {
          MKDIR3args a{};
          a.where.dir = Fh3(parent_fh);
          a.where.name = const_cast<char*>(name.c_str());
          a.attributes.mode.set_it = 1;
          a.attributes.mode.set_mode3_u.mode = kDataDirMode;
          return rpc_nfs3_mkdir_async(rpc, cb, &a, p);
        },
        [](MKDIR3res& r) -> Result<Fh> {
          const post_op_fh3& obj = r.MKDIR3res_u.resok.obj;
          if (!obj.handle_follows) return Fh{};  // RFC 1813 allows it: LOOKUP below
          return FhBytes(obj.post_op_fh3_u.handle.data.data_val,
                         obj.post_op_fh3_u.handle.data.data_len);
        },
        std::move(done));
  });
  if (made.ok() && !made->empty()) return made;
  if (!made.ok() && made.status().code() != Code::kExists) return made;
  return lookup();
}

void Nfs3Volume::CreateAsync(const std::string& name, Callback<DataHandle> done) {
  if (Status s = CheckName(name); !s.ok()) return done(s);
  // RFC 1813 3.3.8: a CREATE reply may omit the handle; then LOOKUP it (a second RPC, rare).
  Callback<DataHandle> then = [this, name, done = std::move(done)](Result<DataHandle> r) {
    if (r.ok() && r->fh.empty()) return LookupAsync(name, done);
    done(std::move(r));
  };
  Issue<CREATE3res, DataHandle>(
      *loop_, "CREATE", name,
      [this, name](rpc_context* rpc, rpc_cb cb, void* p) {
        CREATE3args a{};
        a.where.dir = Fh3(data_dir_fh_);
        a.where.name = const_cast<char*>(name.c_str());
        a.how.mode = GUARDED;  // names are unique: an existing file is an error, not reused
        sattr3& attrs = a.how.createhow3_u.g_obj_attributes;
        attrs.mode.set_it = 1;
        attrs.mode.set_mode3_u.mode = kDataFileMode;
        return rpc_nfs3_create_async(rpc, cb, &a, p);
      },
      [name](CREATE3res& r) -> Result<DataHandle> {
        const post_op_fh3& obj = r.CREATE3res_u.resok.obj;
        if (!obj.handle_follows) return DataHandle{{}, name};
        const nfs_fh3& fh = obj.post_op_fh3_u.handle;
        return DataHandle{FhBytes(fh.data.data_val, fh.data.data_len), name};
      },
      std::move(then));
}

void Nfs3Volume::LookupAsync(const std::string& name, Callback<DataHandle> done) {
  if (Status s = CheckName(name); !s.ok()) return done(s);
  LookupIn(data_dir_fh_, name, [name, done = std::move(done)](Result<std::vector<uint8_t>> r) {
    if (!r.ok()) return done(r.status());
    done(DataHandle{std::move(*r), name});
  });
}

void Nfs3Volume::ReadAsync(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes,
                           Callback<ReadResult> done) {
  if (Status s = CheckHandle(h); !s.ok()) return done(s);
  uint32_t count = std::min(count_bytes, limits_.read_bytes_max);  // a short read is allowed
  Issue<READ3res, ReadResult>(
      *loop_, "READ", h.name,
      [fh = h.fh, offset_bytes, count](rpc_context* rpc, rpc_cb cb, void* p) {
        READ3args a{};
        a.file = Fh3(fh);
        a.offset = offset_bytes;
        a.count = count;
        return rpc_nfs3_read_async(rpc, cb, &a, p);
      },
      [](READ3res& r) -> Result<ReadResult> {
        const READ3resok& ok = r.READ3res_u.resok;
        ReadResult out;
        out.data.assign(ok.data.data_val, ok.data.data_val + ok.data.data_len);
        out.eof = ok.eof != 0;
        return out;
      },
      std::move(done));
}

void Nfs3Volume::WriteAsync(const DataHandle& h, uint64_t offset_bytes,
                            std::span<const uint8_t> data, Stability stable,
                            Callback<WriteResult> done) {
  if (Status s = CheckHandle(h); !s.ok()) return done(s);
  if (data.size() > limits_.write_bytes_max)
    return done(Status(Code::kInvalid, "WRITE " + h.name + ": " + std::to_string(data.size()) +
                                           " bytes, over the volume's limit of " +
                                           std::to_string(limits_.write_bytes_max)));
  Issue<WRITE3res, WriteResult>(
      *loop_, "WRITE", h.name,
      [fh = h.fh, offset_bytes, data, stable](rpc_context* rpc, rpc_cb cb, void* p) {
        WRITE3args a{};
        a.file = Fh3(fh);
        a.offset = offset_bytes;
        a.count = static_cast<count3>(data.size());
        a.stable = static_cast<stable_how>(stable);
        a.data.data_len = static_cast<u_int>(data.size());
        a.data.data_val = reinterpret_cast<char*>(const_cast<uint8_t*>(data.data()));
        return rpc_nfs3_write_async(rpc, cb, &a, p);  // copies `data` into the request
      },
      [](WRITE3res& r) -> Result<WriteResult> {
        const WRITE3resok& ok = r.WRITE3res_u.resok;
        return WriteResult{ok.count, static_cast<Stability>(ok.committed), VerifierFrom(ok.verf)};
      },
      std::move(done));
}

void Nfs3Volume::CommitAsync(const DataHandle& h, uint64_t offset_bytes, uint32_t count_bytes,
                             Callback<Verifier> done) {
  if (Status s = CheckHandle(h); !s.ok()) return done(s);
  Issue<COMMIT3res, Verifier>(
      *loop_, "COMMIT", h.name,
      [fh = h.fh, offset_bytes, count_bytes](rpc_context* rpc, rpc_cb cb, void* p) {
        COMMIT3args a{};
        a.file = Fh3(fh);
        a.offset = offset_bytes;
        a.count = count_bytes;
        return rpc_nfs3_commit_async(rpc, cb, &a, p);
      },
      [](COMMIT3res& r) -> Result<Verifier> { return VerifierFrom(r.COMMIT3res_u.resok.verf); },
      std::move(done));
}

void Nfs3Volume::TruncateAsync(const DataHandle& h, uint64_t size_bytes, StatusCallback done) {
  if (Status s = CheckHandle(h); !s.ok()) return done(s);
  Issue<SETATTR3res, Empty>(
      *loop_, "SETATTR(size)", h.name,
      [fh = h.fh, size_bytes](rpc_context* rpc, rpc_cb cb, void* p) {
        SETATTR3args a{};
        a.object = Fh3(fh);
        a.new_attributes.size.set_it = 1;
        a.new_attributes.size.set_size3_u.size = size_bytes;
        return rpc_nfs3_setattr_async(rpc, cb, &a, p);
      },
      [](SETATTR3res&) -> Result<Empty> { return Empty{}; }, ToEmpty(std::move(done)));
}

void Nfs3Volume::GetAttrAsync(const DataHandle& h, Callback<DataAttrs> done) {
  if (Status s = CheckHandle(h); !s.ok()) return done(s);
  Issue<GETATTR3res, DataAttrs>(
      *loop_, "GETATTR", h.name,
      [fh = h.fh](rpc_context* rpc, rpc_cb cb, void* p) {
        GETATTR3args a{};
        a.object = Fh3(fh);
        return rpc_nfs3_getattr_async(rpc, cb, &a, p);
      },
      [](GETATTR3res& r) -> Result<DataAttrs> {
        return AttrsFrom(r.GETATTR3res_u.resok.obj_attributes);
      },
      std::move(done));
}

void Nfs3Volume::SetOwnerAsync(const DataHandle& h, uint32_t uid, uint32_t gid,
                               StatusCallback done) {
  if (Status s = CheckHandle(h); !s.ok()) return done(s);
  Issue<SETATTR3res, Empty>(
      *loop_, "SETATTR(owner)", h.name,
      [fh = h.fh, uid, gid](rpc_context* rpc, rpc_cb cb, void* p) {
        SETATTR3args a{};
        a.object = Fh3(fh);
        a.new_attributes.uid.set_it = 1;
        a.new_attributes.uid.set_uid3_u.uid = uid;
        a.new_attributes.gid.set_it = 1;
        a.new_attributes.gid.set_gid3_u.gid = gid;
        return rpc_nfs3_setattr_async(rpc, cb, &a, p);
      },
      [](SETATTR3res&) -> Result<Empty> { return Empty{}; }, ToEmpty(std::move(done)));
}

void Nfs3Volume::RemoveAsync(const DataHandle& h, StatusCallback done) {
  if (Status s = CheckName(h.name); !s.ok()) return done(s);
  Issue<REMOVE3res, Empty>(
      *loop_, "REMOVE", h.name,
      [this, name = h.name](rpc_context* rpc, rpc_cb cb, void* p) {
        REMOVE3args a{};
        a.object.dir = Fh3(data_dir_fh_);
        a.object.name = const_cast<char*>(name.c_str());
        return rpc_nfs3_remove_async(rpc, cb, &a, p);
      },
      [](REMOVE3res&) -> Result<Empty> { return Empty{}; }, ToEmpty(std::move(done)));
}

void Nfs3Volume::SpaceAsync(Callback<VolumeSpace> done) {
  Issue<FSSTAT3res, VolumeSpace>(
      *loop_, "FSSTAT", address_.export_path,
      [this](rpc_context* rpc, rpc_cb cb, void* p) {
        FSSTAT3args a{};
        a.fsroot = Fh3(data_dir_fh_);
        return rpc_nfs3_fsstat_async(rpc, cb, &a, p);
      },
      [](FSSTAT3res& r) -> Result<VolumeSpace> {
        const FSSTAT3resok& ok = r.FSSTAT3res_u.resok;
        return VolumeSpace{ok.tbytes, ok.fbytes, ok.abytes};
      },
      std::move(done));
}

}  // namespace manifold::volume
