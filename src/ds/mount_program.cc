#include "ds/mount_program.h"

#include <spdlog/spdlog.h>

#include "xdr/mount3.h"

namespace manifold::ds {

namespace {

std::string HostOf(const std::string& peer) {
  auto colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

}  // namespace

MountProgram::MountProgram(Export& exp, std::string export_path)
    : export_(exp), export_path_(std::move(export_path)) {
  while (export_path_.size() > 1 && export_path_.back() == '/') export_path_.pop_back();
}

uint32_t MountProgram::number() const { return MOUNT_PROGRAM; }
uint32_t MountProgram::version_low() const { return MOUNT_V3; }
uint32_t MountProgram::version_high() const { return MOUNT_V3; }

bool MountProgram::Matches(const char* path) const {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p == export_path_;
}

rpc::AcceptStat MountProgram::Call(const rpc::CallContext& ctx, std::span<const uint8_t> args,
                                   std::vector<uint8_t>& out) {
  switch (ctx.header.proc) {
    case MOUNTPROC3_NULL:
      return rpc::AcceptStat::kSuccess;
    case MOUNTPROC3_MNT:
      return rpc::RunXdrProc<dirpath, mountres3>(
          args, out, xdrproc_t(xdr_dirpath), xdrproc_t(xdr_mountres3),
          [&](dirpath& path, mountres3& res, rpc::Arena& arena) {
            if (!Matches(path)) {
              spdlog::info("mount {}: '{}' is not exported", ctx.peer, path);
              res.fhs_status = MNT3ERR_NOENT;
              return;
            }
            res.fhs_status = MNT3_OK;
            auto& ok = res.mountres3_u.mountinfo;
            const FileHandle& fh = export_.root_handle();
            ok.fhandle.fhandle3_len = u_int(fh.size());
            ok.fhandle.fhandle3_val = static_cast<char*>(arena.Alloc(fh.size()));
            std::memcpy(ok.fhandle.fhandle3_val, fh.data(), fh.size());
            auto* flavors = static_cast<int*>(arena.Alloc(sizeof(int)));
            flavors[0] = int(rpc::AuthFlavor::kSys);
            ok.auth_flavors.auth_flavors_len = 1;
            ok.auth_flavors.auth_flavors_val = flavors;
            std::lock_guard lock(mu_);
            if (mounts_.size() < kMountListEntriesMax) {
              mounts_.emplace(HostOf(ctx.peer), export_path_);
            }
          });
    case MOUNTPROC3_DUMP:
      return rpc::RunXdrProc<char, mountlist>(
          {}, out, xdrproc_t(rpc::XdrVoid), xdrproc_t(xdr_mountlist),
          [&](char&, mountlist& res, rpc::Arena& arena) {
            std::lock_guard lock(mu_);
            mountbody** tail = &res;
            for (const auto& [host, path] : mounts_) {
              auto* m = arena.Make<mountbody>();
              m->ml_hostname = arena.CopyString(host.substr(0, MNTNAMLEN));
              m->ml_directory = arena.CopyString(path);
              *tail = m;
              tail = &m->ml_next;
            }
          });
    case MOUNTPROC3_UMNT: {
      rpc::XdrDecoded<dirpath> path{xdrproc_t(xdr_dirpath)};
      if (!path.Decode(args)) return rpc::AcceptStat::kGarbageArgs;
      std::lock_guard lock(mu_);
      mounts_.erase({HostOf(ctx.peer), export_path_});
      return rpc::AcceptStat::kSuccess;
    }
    case MOUNTPROC3_UMNTALL: {
      std::lock_guard lock(mu_);
      std::erase_if(mounts_, [&](const auto& m) { return m.first == HostOf(ctx.peer); });
      return rpc::AcceptStat::kSuccess;
    }
    case MOUNTPROC3_EXPORT:
      return rpc::RunXdrProc<char, exports>(
          {}, out, xdrproc_t(rpc::XdrVoid), xdrproc_t(xdr_exports),
          [&](char&, exports& res, rpc::Arena& arena) {
            auto* e = arena.Make<exportnode>();
            e->ex_dir = arena.CopyString(export_path_);
            e->ex_groups = nullptr;  // every client may mount
            res = e;
          });
    default:
      return rpc::AcceptStat::kProcUnavail;
  }
}

}  // namespace manifold::ds
