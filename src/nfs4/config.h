// manifold-mds configuration (TOML). Every key, its default and its meaning: deploy/mds.toml.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "nfs4/export_rules.h"
#include "rpc/server.h"

namespace manifold::nfs4 {

struct VolumeConfig {
  uint64_t id = 0;
  std::string url;  // nfs://host:port/export/data-directory
  std::vector<std::pair<std::string, std::string>> labels;
};

struct MdsConfig {
  std::string listen = "127.0.0.1:2049";
  std::string meta_dir;  // required
  uint32_t lease_time_s = 90;
  uint64_t extent_size_bytes = 1ull << 30;
  std::string log_file;
  std::string log_level = "info";
  // "deferred": a change is written unsynced and its reply waits for a WAL sync shared by every
  // change before it (changes then run on the I/O threads); "synced": each commit is synced
  // before it returns (changes run on worker threads). Either way no reply goes out before
  // the changes it may rest on are durable.
  bool commit_deferred = true;
  // Microseconds an idle I/O thread polls before it sleeps (rpc::ServerOptions::io_spin_us).
  uint32_t io_spin_us = rpc::kIoSpinUsDefault;
  // [[export.client]] tables in file order; without any, one rule for every address from the
  // [export] keys root_squash, read_only and allow_auth_none (ExportRules::Everyone).
  std::vector<ExportRule> export_rules;
  std::vector<VolumeConfig> volumes;
};

// Parses a configuration file. Errors name the file, line and key: a missing or truncated
// file, a value of the wrong type, an unknown key (a typo must not be silently ignored).
Result<MdsConfig> LoadConfig(const std::string& path);
Result<MdsConfig> ParseConfig(std::string_view text, const std::string& source_name);

}  // namespace manifold::nfs4
