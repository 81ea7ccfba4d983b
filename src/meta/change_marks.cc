#include "meta/change_marks.h"

#include <utility>

#include "common/check.h"
#include "meta/codec.h"

namespace manifold::meta {
namespace {

constexpr size_t kObjectIdBytes = 8;  // be64(fileid) leads every object-keyed family's keys
constexpr int kSlotBits = 16;
static_assert(kChangeMarkSlots == 1u << kSlotBits);

thread_local ReadMarks* open_marks = nullptr;

bool KeyedByObject(Cf cf) {
  switch (cf) {
    case Cf::kInodes:
    case Cf::kDirents:
    case Cf::kDirCookies:
    case Cf::kExtents:
    case Cf::kXattrs:
    case Cf::kXattrCookies:
    case Cf::kOrphans:
      return true;
    case Cf::kVolumes:
    case Cf::kClients:
    case Cf::kSys:
      return false;
  }
  return false;
}

}  // namespace

ChangeMarks::ChangeMarks() : slots_(new Slot[kChangeMarkSlots]) {}

uint32_t ChangeMarks::SlotOf(Cf cf, std::string_view key) {
  if (!KeyedByObject(cf) || key.size() < kObjectIdBytes) return kNoSlot;
  const uint64_t id = GetFixed64BE(key);
  // Fibonacci hashing: consecutive fileids land far apart.
  return static_cast<uint32_t>((id * 0x9e3779b97f4a7c15ull) >> (64 - kSlotBits));
}

uint32_t ChangeMarks::SlotOfRange(Cf cf, std::string_view lower, std::string_view upper) {
  if (lower.size() < kObjectIdBytes) return kNoSlot;
  std::string_view object = lower.substr(0, kObjectIdBytes);
  // Either both bounds lie in one object's keys, or the upper bound is the first key past them
  // (an empty upper bound runs to the end of the family).
  const bool within =
      (upper.size() >= kObjectIdBytes && upper.substr(0, kObjectIdBytes) == object) ||
      (!upper.empty() && upper == PrefixSuccessor(object));
  return within ? SlotOf(cf, lower) : kNoSlot;
}

void ChangeMarks::BeginChange(uint32_t slot) {
  MANIFOLD_CHECK(slot < kChangeMarkSlots);
  slots_[slot].pending.fetch_add(1);
}

void ChangeMarks::EndChange(uint32_t slot, uint64_t seq) {
  MANIFOLD_CHECK(slot < kChangeMarkSlots);
  Slot& s = slots_[slot];
  uint64_t old = s.seq.load();
  while (old < seq && !s.seq.compare_exchange_weak(old, seq)) {
  }
  // Release: a reader that sees the count drop sees the sequence number stored above.
  s.pending.fetch_sub(1);
}

uint64_t ChangeMarks::MarkOf(uint32_t slot) const {
  if (slot >= kChangeMarkSlots) return kEverything;
  const Slot& s = slots_[slot];
  if (s.pending.load() != 0) return kEverything;
  return s.seq.load();
}

ReadMarks::ReadMarks() : outer_(std::exchange(open_marks, this)) {}

ReadMarks::~ReadMarks() {
  open_marks = outer_;
  // What was read inside may be part of the outer answer too: never let it lower that.
  if (outer_ != nullptr && mark_ > outer_->mark_) outer_->mark_ = mark_;
}

bool ReadMarks::Open() { return open_marks != nullptr; }

void ReadMarks::Note(uint64_t mark) {
  if (open_marks != nullptr && mark > open_marks->mark_) open_marks->mark_ = mark;
}

}  // namespace manifold::meta
