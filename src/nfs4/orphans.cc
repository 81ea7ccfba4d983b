// Files removed while open (RFC 8881 18.16.4, OPEN4_RESULT_PRESERVE_UNLINKED; docs/protocol.md,
// "Files removed while open"). REMOVE and RENAME over a name keep a regular file that loses
// its last name as an orphan in the namespace (docs/schema.md, "Orphans") while a client has
// it open; the opens keep reading and writing it. When the last open goes (CLOSE here at once;
// lease expiry, revocation and a client's restart through the sweeper), the orphan is purged and
// its data released on the volumes. After a restart the orphans are still in the store;
// nothing is purged during the grace period, so that clients can reclaim their opens of them
// (CLAIM_PREVIOUS, by filehandle), and the sweeper purges the rest once it is over.
#include <spdlog/spdlog.h>

#include <algorithm>

#include "meta/limits.h"
#include "nfs4/mds.h"

namespace manifold::nfs4 {

bool Mds::StillOpen(uint64_t fileid) {
  // During the grace period any file may have an open a client has not reclaimed yet.
  return state_.InGrace() || state_.HasOpens(fileid);
}

void Mds::NoteUnlinked(const meta::Unlinked& unlinked) {
  if (unlinked.orphaned) {
    orphan_stats_.orphaned++;
    spdlog::debug("file {} lost its last name while open: kept as an orphan",
                  unlinked.inode.fileid);
  }
  ReleaseData(unlinked);
}

// The victim's guard is taken by the fileid its name has now. Should the name be replaced before
// the transaction reads it, the file it then removes is not the guarded one: that file is kept
// as an orphan whatever its opens (an OPEN of it may be between its re-read and recording its
// open), and the sweeper purges it if nobody has it open.
Result<meta::RemoveResult> Mds::Unlink(uint64_t dir, std::string_view name) {
  // A failed lookup guards nothing; the removal itself reports the error.
  auto victim = ns_.EntryOf(dir, name);
  const uint64_t guarded = victim.ok() ? *victim : 0;
  std::unique_lock guard = open_guards_.Exclusive(guarded);
  auto removed = ns_.Unlink(
      dir, name, [this, guarded](meta::FileId id) { return id != guarded || StillOpen(id); });
  guard.unlock();
  if (removed.ok()) NoteUnlinked(removed->unlinked);
  return removed;
}

Result<meta::RenameResult> Mds::Rename(uint64_t src_dir, std::string_view from, uint64_t dst_dir,
                                       std::string_view to) {
  auto victim = ns_.EntryOf(dst_dir, to);  // usually absent: nothing is replaced
  const uint64_t guarded = victim.ok() ? *victim : 0;
  std::unique_lock guard = open_guards_.Exclusive(guarded);
  auto renamed = ns_.Rename(src_dir, from, dst_dir, to, [this, guarded](meta::FileId id) {
    return id != guarded || StillOpen(id);
  });
  guard.unlock();
  if (renamed.ok() && renamed->replaced) NoteUnlinked(*renamed->replaced);
  return renamed;
}

bool Mds::Purge(uint64_t fileid) {
  std::unique_lock guard = open_guards_.Exclusive(fileid);
  auto purged = ns_.PurgeOrphan(fileid, [this](meta::FileId id) { return StillOpen(id); });
  guard.unlock();
  if (!purged.ok()) {
    orphan_stats_.purge_failures++;
    spdlog::error("orphan {}: purge failed (the sweeper retries): {}", fileid,
                  purged.status().ToString());
    return false;
  }
  if (!purged->dropped) return false;
  orphan_stats_.purged++;
  spdlog::debug("orphan {}: no open left, purged with {} extents", fileid, purged->extents.size());
  ReleaseWhenDurable(std::move(purged->extents));
  return true;
}

void Mds::ReapIfOrphan(uint64_t fileid) {
  if (StillOpen(fileid)) return;  // the common case: another open, no lookup
  // Under the guard: a REMOVE that asked whether the file is open before this CLOSE took the
  // open away (and so keeps the file as an orphan) has committed before this read, so the
  // orphan is seen here and does not wait for the sweeper.
  std::shared_lock guard = GuardOpen(fileid);
  auto inode = ns_.GetInode(fileid);
  guard.unlock();
  if (!inode.ok()) {
    if (inode.status().code() != Code::kStale) {
      spdlog::error("file {}: reading it after its last CLOSE failed (the sweeper retries): {}",
                    fileid, inode.status().ToString());
    }
    return;
  }
  if (inode->nlink == 0 && !inode->is_dir()) Purge(fileid);
}

uint32_t Mds::SweepOrphans() {
  if (state_.InGrace()) return 0;
  std::lock_guard lock(sweep_mu_);
  uint32_t seen = 0, purged = 0;
  const uint64_t started_after = sweep_after_;
  bool wrapped = started_after == 0;
  while (seen < kOrphansPerSweepMax) {
    const uint32_t page_max = std::min(meta::kListPageEntriesMax, kOrphansPerSweepMax - seen);
    auto page = ns_.ListOrphans(sweep_after_, page_max);
    if (!page.ok()) {
      spdlog::error("orphan sweep: listing failed: {}", page.status().ToString());
      break;
    }
    if (page->empty()) {
      sweep_after_ = 0;  // the end: the next page starts from the first orphan
      if (wrapped) break;
      wrapped = true;
      continue;
    }
    for (const meta::OrphanRecord& o : *page) {
      if (wrapped && started_after != 0 && o.fileid > started_after) return purged;  // all seen
      seen++;
      sweep_after_ = o.fileid;
      if (!state_.HasOpens(o.fileid) && Purge(o.fileid)) purged++;
    }
  }
  return purged;
}

}  // namespace manifold::nfs4
