// The state module's client records, kept in the namespace's RocksDB (clients column family),
// so that after a restart only known clients may reclaim (RFC 8881 8.4.2.1).
#pragma once

#include "meta/namespace.h"
#include "state/client_record_store.h"

namespace manifold::nfs4 {

class MetaClientRecordStore final : public state::ClientRecordStore {
 public:
  explicit MetaClientRecordStore(meta::Namespace& ns) : ns_(ns) {}
  Status Put(std::string_view key, std::string_view record) override;
  Status Delete(std::string_view key) override;
  Result<std::vector<state::StoredClientRecord>> List(size_t max) override;

 private:
  meta::Namespace& ns_;
};

// A number distinct for every start of the MDS, kept in DIR/boot_epoch (written durably
// before it is used). Never 0 or 0xffffffff.
Result<uint32_t> NextBootEpoch(const std::string& dir);

}  // namespace manifold::nfs4
