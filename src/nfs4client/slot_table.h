// The fore channel slot table of one session (RFC 8881 2.10.6). A slot carries one request at
// a time; every new request on a slot carries the slot's next sequence id. Thread-safe: many
// threads run compounds at once, each on its own slot.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "common/status.h"
#include "xdr/nfs4.h"

namespace manifold::nfs4client {

// Named limit: we never ask for more fore channel slots than this.
inline constexpr uint32_t kSlotsMax = 256;

class SlotTable {
 public:
  // `slots` is what CREATE_SESSION granted (ca_maxrequests), clamped to [1, kSlotsMax].
  explicit SlotTable(uint32_t slots);

  struct Ticket {
    slotid4 slot = 0;
    sequenceid4 seqid = 0;     // sa_sequenceid for this request
    slotid4 highest_slot = 0;  // sa_highest_slotid: highest slot in use, this one included
  };
  // Takes the lowest free slot, waiting up to `timeout`. Errors: kUnavailable (no slot freed
  // in time, or every slot was retired after lost replies).
  Result<Ticket> Acquire(std::chrono::milliseconds timeout);

  enum class Outcome {
    kDone,     // the server executed SEQUENCE (it returned NFS4_OK): the slot's seqid advances
    kNotSeen,  // the server answered without using the slot (SEQUENCE failed): seqid stays
    kLost,     // no reply: the server's view of the slot is unknown, so it is retired
  };
  void Release(slotid4 slot, Outcome outcome);

  // RFC 8881 18.46.3: sr_target_highest_slotid asks the client to use slots up to it only.
  void SetTargetHighest(slotid4 target);

  uint32_t size() const { return uint32_t(slots_.size()); }
  uint32_t in_use() const;
  uint32_t retired() const;

 private:
  struct Slot {
    sequenceid4 seqid = 0;  // RFC 8881 2.10.6.1: 0 at CREATE_SESSION; the first request uses 1
    bool busy = false;
    bool retired = false;
  };
  slotid4 HighestBusy() const;  // requires mu_

  mutable std::mutex mu_;
  std::condition_variable freed_;
  std::vector<Slot> slots_;  // guarded by mu_
  slotid4 target_highest_;   // guarded by mu_
};

}  // namespace manifold::nfs4client
