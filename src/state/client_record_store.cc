#include "state/client_record_store.h"

namespace manifold::state {
namespace {

// A client owner is a non-empty opaque of at most NFS4_OPAQUE_LIMIT bytes; a principal is
// bounded the same way.
constexpr size_t kPrincipalBytesMax = NFS4_OPAQUE_LIMIT;

void PutU32(std::string& out, uint32_t v) {
  for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetBE(std::string_view in, size_t pos, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[pos + i]);
  return v;
}

}  // namespace

Status InMemoryClientRecordStore::Put(std::string_view key, std::string_view record) {
  std::lock_guard lock(mu_);
  if (fail_writes_) return Status(Code::kIo, "injected client record write failure");
  records_[std::string(key)] = std::string(record);
  return Status::Ok();
}

void InMemoryClientRecordStore::set_delete_hook(std::function<void(std::string_view)> hook) {
  std::lock_guard lock(mu_);
  delete_hook_ = std::move(hook);
}

Status InMemoryClientRecordStore::Delete(std::string_view key) {
  std::function<void(std::string_view)> hook;
  {
    std::lock_guard lock(mu_);
    hook = delete_hook_;
  }
  if (hook) hook(key);
  std::lock_guard lock(mu_);
  if (fail_writes_) return Status(Code::kIo, "injected client record write failure");
  auto it = records_.find(key);
  if (it != records_.end()) records_.erase(it);
  return Status::Ok();
}

Result<std::vector<StoredClientRecord>> InMemoryClientRecordStore::List(size_t max) {
  std::lock_guard lock(mu_);
  if (records_.size() > max) return Status(Code::kCorruption, "more client records than allowed");
  std::vector<StoredClientRecord> out;
  for (const auto& [k, v] : records_) out.push_back({k, v});
  return out;
}

void InMemoryClientRecordStore::set_fail_writes(bool fail) {
  std::lock_guard lock(mu_);
  fail_writes_ = fail;
}

size_t InMemoryClientRecordStore::size() const {
  std::lock_guard lock(mu_);
  return records_.size();
}

bool InMemoryClientRecordStore::Contains(std::string_view key) const {
  std::lock_guard lock(mu_);
  return records_.find(key) != records_.end();
}

std::string InMemoryClientRecordStore::Get(std::string_view key) const {
  std::lock_guard lock(mu_);
  auto it = records_.find(key);
  return it == records_.end() ? std::string() : it->second;
}

// version u8 | clientid u64 | verifier 8 | flags u8 (bit 0: reclaim_complete) |
// principal length u32 | principal bytes. All integers big-endian.
std::string EncodeClientRecord(const ClientRecord& record) {
  std::string out;
  out.push_back(static_cast<char>(kClientRecordVersion));
  PutU64(out, record.clientid);
  out.append(reinterpret_cast<const char*>(record.verifier.data()), record.verifier.size());
  out.push_back(static_cast<char>(record.reclaim_complete ? 1 : 0));
  PutU32(out, static_cast<uint32_t>(record.principal.size()));
  out.append(record.principal);
  return out;
}

Result<ClientRecord> DecodeClientRecord(std::string_view key, std::string_view value) {
  constexpr size_t kFixedBytes = 1 + 8 + NFS4_VERIFIER_SIZE + 1 + 4;
  if (key.empty() || key.size() > NFS4_OPAQUE_LIMIT) {
    return Status(Code::kCorruption, "client record key is not a client owner");
  }
  if (value.size() < kFixedBytes || static_cast<uint8_t>(value[0]) != kClientRecordVersion) {
    return Status(Code::kCorruption, "client record of unknown version or truncated");
  }
  ClientRecord r;
  r.owner = std::string(key);
  r.clientid = GetBE(value, 1, 8);
  for (size_t i = 0; i < r.verifier.size(); ++i) r.verifier[i] = static_cast<uint8_t>(value[9 + i]);
  uint8_t flags = static_cast<uint8_t>(value[17]);
  uint64_t principal_len = GetBE(value, 18, 4);
  if (flags > 1 || principal_len > kPrincipalBytesMax ||
      value.size() != kFixedBytes + principal_len) {
    return Status(Code::kCorruption, "client record malformed");
  }
  r.reclaim_complete = flags == 1;
  r.principal = std::string(value.substr(kFixedBytes));
  return r;
}

}  // namespace manifold::state
