// Client records on stable storage, for reboot recovery (RFC 8881 8.4.2.1: after a restart the
// server must be able to tell which clients held state before, and allow reclaims only to them).
//
// The state module writes one opaque record per client owner (key = co_ownerid bytes) through
// ClientRecordStore; the MDS implements it over its RocksDB (the `clients` column family,
// docs/schema.md), tests use InMemoryClientRecordStore. When records are written:
//   - Put on a client's first successful CREATE_SESSION (confirmation), reclaim_complete = false
//     (kept true when the owner was already allowed to reclaim and the grace period is running);
//   - Put again on RECLAIM_COMPLETE, reclaim_complete = true;
//   - Delete on DESTROY_CLIENTID and lease expiry;
//   - at the end of a grace period: Delete for owners that never came back, Put with
//     reclaim_complete = false for owners that came back but did not finish reclaiming.
// Only records with reclaim_complete = true let their owner reclaim after the next restart
// (8.4.3: a client that did not finish reclaiming may have lost locks to others since).
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "state/types.h"

namespace manifold::state {

struct StoredClientRecord {
  std::string key;
  std::string record;
};

class ClientRecordStore {
 public:
  virtual ~ClientRecordStore() = default;
  // Durable when it returns: the reply that depends on it is sent after.
  virtual Status Put(std::string_view key, std::string_view record) = 0;
  // Deleting an absent key is Ok.
  virtual Status Delete(std::string_view key) = 0;
  // Every record, at most `max` of them (more is kCorruption: the store never holds more than
  // clients_max records).
  virtual Result<std::vector<StoredClientRecord>> List(size_t max) = 0;
};

// For tests: a map, with switches that make writes fail.
class InMemoryClientRecordStore final : public ClientRecordStore {
 public:
  Status Put(std::string_view key, std::string_view record) override;
  Status Delete(std::string_view key) override;
  Result<std::vector<StoredClientRecord>> List(size_t max) override;

  void set_fail_writes(bool fail);
  // Runs at the start of each Delete, without the store's lock (a test can act meanwhile).
  void set_delete_hook(std::function<void(std::string_view key)> hook);
  size_t size() const;
  bool Contains(std::string_view key) const;
  std::string Get(std::string_view key) const;  // empty when absent

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::string, std::less<>> records_;
  bool fail_writes_ = false;
  std::function<void(std::string_view)> delete_hook_;  // guarded by mu_
};

// What the state module keeps per client owner.
struct ClientRecord {
  std::string owner;  // co_ownerid: the store key
  clientid4 clientid = 0;
  Verifier verifier{};
  std::string principal;
  bool reclaim_complete = false;
  friend bool operator==(const ClientRecord&, const ClientRecord&) = default;
};

inline constexpr uint8_t kClientRecordVersion = 1;

std::string EncodeClientRecord(const ClientRecord& record);
// kCorruption for a value this code did not write.
Result<ClientRecord> DecodeClientRecord(std::string_view key, std::string_view value);

}  // namespace manifold::state
