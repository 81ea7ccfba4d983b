// The records behind FileStateTable (file_state.h); shared by its .cc files only.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "state/file_state.h"

namespace manifold::state {

struct FileStateTable::Entry {
  uint64_t id = 0;
  StateidType type = StateidType::kOpen;
  uint32_t seqid = 1;  // 8.2.2: the first stateid of a kind carries seqid 1
  clientid4 clientid = 0;
  uint64_t fileid = 0;
  RevokeReason revoked = RevokeReason::kNone;
  std::string owner;               // open: the open-owner; lock: the lock-owner
  uint32_t share_access = 0;       // open: OPEN4_SHARE_ACCESS_{READ,WRITE} bits
  uint32_t share_deny = 0;         // open: OPEN4_SHARE_DENY_{READ,WRITE} bits
  // open: the (access, deny) pairs of the OPENs in effect, bit access * 4 + deny: what
  // OPEN_DOWNGRADE may go back to (18.18.3).
  uint16_t share_pairs = 0;
  bool reclaimed = false;          // open: obtained by CLAIM_PREVIOUS
  std::vector<uint64_t> lock_ids;  // open: lock stateids derived from it
  uint64_t open_id = 0;            // lock: the open it derives from
  uint32_t kind = 0;               // delegation: open_delegation_type4; layout: layouttype4
  bool recall_requested = false;   // delegation, layout
  Instant recall_deadline{};       // delegation: revoked when not returned by then
};

struct FileStateTable::FileState {
  // Live (not revoked) opens by open-owner, and the share counts over them (9.7): how many
  // opens have each access and deny bit.
  std::map<OwnerKey, uint64_t> opens;
  uint32_t access_read = 0;
  uint32_t access_write = 0;
  uint32_t deny_read = 0;
  uint32_t deny_write = 0;
  // Byte-range locks by lock-owner (POSIX owner identity), and their total count.
  std::map<OwnerKey, std::vector<HeldRange>> locks;
  uint32_t lock_ranges = 0;
  // Lock stateids: (lock-owner, open stateid id) -> lock stateid id (18.10.3).
  std::map<std::pair<OwnerKey, uint64_t>, uint64_t> lock_states;
  // Live delegation and layout stateids.
  std::set<uint64_t> recallables;

  bool empty() const {
    return opens.empty() && locks.empty() && lock_states.empty() && recallables.empty();
  }
};

struct FileStateTable::ClientFiles {
  std::shared_ptr<ClientLive> live;
  std::set<uint64_t> ids;  // every stateid of the client, revoked ones included
  uint32_t opens = 0;
  uint32_t lock_stateids = 0;
  uint32_t delegations = 0;
  uint32_t layouts = 0;
};

inline uint32_t TypeBit(StateidType t) { return 1u << static_cast<uint32_t>(t); }

}  // namespace manifold::state
