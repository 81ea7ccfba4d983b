// MOUNT version 3 (RFC 1813 section 5) for the one export, served on the NFS port so that a
// client needs no rpcbind. The mount list (DUMP) is advisory, in memory, and bounded.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "ds/export.h"
#include "rpc/program.h"

namespace manifold::ds {

inline constexpr size_t kMountListEntriesMax = 1024;

class MountProgram : public rpc::Program {
 public:
  // `export_path` is the path clients mount (by default the export directory's own path).
  MountProgram(Export& exp, std::string export_path);
  uint32_t number() const override;
  uint32_t version_low() const override;
  uint32_t version_high() const override;
  rpc::AcceptStat Call(const rpc::CallContext& ctx, std::span<const uint8_t> args,
                       std::vector<uint8_t>& out) override;

 private:
  bool Matches(const char* path) const;

  Export& export_;
  std::string export_path_;
  std::mutex mu_;
  std::set<std::pair<std::string, std::string>> mounts_;  // (client host, path); guarded by mu_
};

}  // namespace manifold::ds
