#include "nfs4client/slot_table.h"

#include <algorithm>

namespace manifold::nfs4client {

SlotTable::SlotTable(uint32_t slots)
    : slots_(std::clamp<uint32_t>(slots, 1, kSlotsMax)), target_highest_(slotid4(size() - 1)) {}

slotid4 SlotTable::HighestBusy() const {
  slotid4 highest = 0;
  for (slotid4 i = 0; i < slots_.size(); i++) {
    if (slots_[i].busy) highest = i;
  }
  return highest;
}

Result<SlotTable::Ticket> SlotTable::Acquire(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool any_usable = false;
    for (slotid4 i = 0; i < slots_.size(); i++) {
      Slot& s = slots_[i];
      if (s.retired) continue;
      any_usable = true;
      // Slot 0 stays usable whatever the target, so a shrinking server cannot starve us.
      if (s.busy || (i > target_highest_ && i != 0)) continue;
      s.busy = true;
      return Ticket{i, s.seqid + 1, HighestBusy()};
    }
    if (!any_usable) return Status(Code::kUnavailable, "every slot retired after lost replies");
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      return Status(Code::kUnavailable, "no free session slot within the timeout");
    }
  }
}

void SlotTable::Release(slotid4 slot, Outcome outcome) {
  {
    std::lock_guard lock(mu_);
    Slot& s = slots_.at(slot);
    s.busy = false;
    if (outcome == Outcome::kDone) s.seqid++;
    if (outcome == Outcome::kLost) s.retired = true;
  }
  freed_.notify_all();
}

void SlotTable::SetTargetHighest(slotid4 target) {
  {
    std::lock_guard lock(mu_);
    target_highest_ = std::min<slotid4>(target, slotid4(slots_.size() - 1));
  }
  freed_.notify_all();
}

uint32_t SlotTable::in_use() const {
  std::lock_guard lock(mu_);
  return uint32_t(std::count_if(slots_.begin(), slots_.end(), [](auto& s) { return s.busy; }));
}

uint32_t SlotTable::retired() const {
  std::lock_guard lock(mu_);
  return uint32_t(std::count_if(slots_.begin(), slots_.end(), [](auto& s) { return s.retired; }));
}

}  // namespace manifold::nfs4client
