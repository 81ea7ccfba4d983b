// Client records, for reboot recovery: after an MDS restart only a client whose owner is
// recorded here may reclaim (DESIGN.md section 4). Keyed by the co_ownerid bytes.
#include "meta/limits.h"
#include "meta/ops/ops.h"

namespace manifold::meta::ops {
namespace {

Status ValidateOwner(std::string_view owner) {
  if (owner.empty()) return Status(Code::kInvalid, "empty client owner");
  if (owner.size() > kClientOwnerBytesMax) return Status(Code::kTooBig, "client owner too long");
  return Status::Ok();
}

}  // namespace

Status PutClient(Txn& txn, const ClientRecord& client) {
  META_RETURN_IF_ERROR(ValidateOwner(client.owner));
  if (client.principal.size() > kPrincipalBytesMax) {
    return Status(Code::kTooBig, "principal too long");
  }
  return txn.Put(Cf::kClients, ClientKey(client.owner), EncodeClient(client));
}

Result<ClientRecord> GetClient(Txn& txn, std::string_view owner) {
  META_RETURN_IF_ERROR(ValidateOwner(owner));
  META_ASSIGN_OR_RETURN(std::string value, txn.Get(Cf::kClients, ClientKey(owner)));
  return DecodeClient(owner, value);
}

Result<std::vector<ClientRecord>> ListClients(Txn& txn, std::string_view after_owner,
                                              uint32_t max) {
  if (max == 0 || max > kListPageEntriesMax) return Status(Code::kInvalid, "bad page size");
  // The smallest key after `after_owner` is after_owner + '\0'.
  std::string lower(after_owner);
  if (!after_owner.empty()) lower.push_back('\0');
  std::vector<ClientRecord> out;
  std::unique_ptr<KvIterator> it = txn.NewIterator(Cf::kClients, lower, "");
  for (; it->Valid() && out.size() < max; it->Next()) {
    META_ASSIGN_OR_RETURN(ClientRecord c, DecodeClient(it->key(), it->value()));
    out.push_back(std::move(c));
  }
  META_RETURN_IF_ERROR(it->status());
  return out;
}

Status DeleteClient(Txn& txn, std::string_view owner) {
  META_RETURN_IF_ERROR(ValidateOwner(owner));
  META_ASSIGN_OR_RETURN(std::string value, txn.GetForUpdate(Cf::kClients, ClientKey(owner)));
  return txn.Delete(Cf::kClients, ClientKey(owner));
}

}  // namespace manifold::meta::ops
