#include "meta/namespace.h"

#include <time.h>

#include "meta/ops/ops.h"

namespace manifold::meta {
namespace {

Timespec RealtimeNow() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return Timespec{ts.tv_sec, static_cast<uint32_t>(ts.tv_nsec)};
}

}  // namespace

Result<std::unique_ptr<Namespace>> Namespace::Open(const std::string& dir,
                                                   const NamespaceOptions& options) {
  Result<std::unique_ptr<RocksKv>> kv = RocksKv::Open(dir, options.kv);
  if (!kv.ok()) return kv.status();
  return OpenKv(std::move(*kv), options);
}

Result<std::unique_ptr<Namespace>> Namespace::OpenKv(std::unique_ptr<Kv> kv,
                                                     const NamespaceOptions& options) {
  if (options.runner.txn_attempts_max == 0 || options.fileid_block_size == 0) {
    return Status(Code::kInvalid, "txn_attempts_max and fileid_block_size must be positive");
  }
  std::unique_ptr<Namespace> ns(new Namespace(std::move(kv), options));
  Status s = ns->Init();
  if (!s.ok()) return s;
  return ns;
}

Namespace::Namespace(std::unique_ptr<Kv> kv, const NamespaceOptions& options)
    : kv_(std::move(kv)),
      runner_(kv_.get(), options.runner),
      fileids_(&runner_, options.fileid_block_size),
      clock_(options.clock ? options.clock : RealtimeNow),
      generation_rng_(std::random_device{}()) {}

Namespace::~Namespace() = default;

Status Namespace::Init() {
  return runner_.Run([&](Txn& txn) { return ops::EnsureFormat(txn, Context()); });
}

ops::OpContext Namespace::Context() {
  return ops::OpContext{clock_(), [this] { return fileids_.Next(); },
                        [this] { return NewGeneration(); }};
}

uint32_t Namespace::NewGeneration() {
  std::lock_guard<std::mutex> lock(generation_mu_);
  uint32_t g = 0;
  while (g == 0) g = static_cast<uint32_t>(generation_rng_());
  return g;
}

// ---- reads ----

Result<Inode> Namespace::Lookup(FileId parent, std::string_view name) {
  return runner_.Read([&](Txn& txn) { return ops::Lookup(txn, parent, name); });
}

Result<Inode> Namespace::LookupChild(FileId dir, std::string_view name) {
  return runner_.Read([&](Txn& txn) { return ops::LookupChild(txn, dir, name); });
}

Result<FileId> Namespace::EntryOf(FileId dir, std::string_view name) {
  return runner_.Read([&](Txn& txn) { return ops::EntryOf(txn, dir, name); });
}

Result<Inode> Namespace::LookupParent(FileId dir) {
  return runner_.Read([&](Txn& txn) { return ops::LookupParent(txn, dir); });
}

Result<Inode> Namespace::GetAttr(FileId fileid, uint32_t generation) {
  return runner_.Read([&](Txn& txn) { return ops::GetAttr(txn, fileid, generation); });
}

Result<Inode> Namespace::GetInode(FileId fileid) {
  return runner_.Read([&](Txn& txn) { return ops::GetAttr(txn, fileid, std::nullopt); });
}

Result<ReadDirResult> Namespace::ReadDir(FileId dir, uint64_t cookie, uint32_t max_entries,
                                         bool with_attrs) {
  return runner_.Read(
      [&](Txn& txn) { return ops::ReadDir(txn, dir, cookie, max_entries, with_attrs); });
}

Status Namespace::ScanDir(FileId dir, uint64_t cookie, bool with_attrs, const DirVisitor& visit,
                          bool* eof) {
  return runner_.Read(
      [&](Txn& txn) { return ops::ScanDir(txn, dir, cookie, with_attrs, visit, eof); });
}

// ---- namespace mutations ----

Result<CreateResult> Namespace::Create(FileId parent, std::string_view name,
                                       const CreateArgs& args) {
  return runner_.Run([&](Txn& txn) {
    return args.type == FileType::kDir ? ops::Mkdir(txn, Context(), parent, name, args)
                                       : ops::Create(txn, Context(), parent, name, args);
  });
}

Result<RemoveResult> Namespace::Remove(FileId parent, std::string_view name,
                                       const KeepOrphan& keep) {
  return runner_.Run([&](Txn& txn) {
    return ops::Remove(txn, Context(), parent, name, ops::RemoveKind::kNonDir, keep);
  });
}

Result<RemoveResult> Namespace::RmDir(FileId parent, std::string_view name) {
  return runner_.Run([&](Txn& txn) { return ops::RmDir(txn, Context(), parent, name); });
}

Result<RemoveResult> Namespace::Unlink(FileId parent, std::string_view name,
                                       const KeepOrphan& keep) {
  return runner_.Run([&](Txn& txn) {
    return ops::Remove(txn, Context(), parent, name, ops::RemoveKind::kAny, keep);
  });
}

Result<RenameResult> Namespace::Rename(FileId src_parent, std::string_view src_name,
                                       FileId dst_parent, std::string_view dst_name,
                                       const KeepOrphan& keep) {
  return runner_.Run([&](Txn& txn) {
    return ops::Rename(txn, Context(), src_parent, src_name, dst_parent, dst_name, keep);
  });
}

Result<LinkResult> Namespace::Link(FileId fileid, FileId new_parent, std::string_view new_name) {
  return runner_.Run(
      [&](Txn& txn) { return ops::Link(txn, Context(), fileid, new_parent, new_name); });
}

Result<SetAttrResult> Namespace::SetAttr(FileId fileid, const SetAttrArgs& args) {
  return runner_.Run([&](Txn& txn) { return ops::SetAttr(txn, Context(), fileid, args); });
}

Result<Inode> Namespace::RecordWrite(FileId fileid, uint64_t end_offset_bytes,
                                     std::optional<Timespec> mtime, bool drop_set_id) {
  return runner_.Run([&](Txn& txn) {
    return ops::RecordWrite(txn, Context(), fileid, end_offset_bytes, mtime, drop_set_id);
  });
}

Status Namespace::DataCut(FileId fileid, uint64_t size_bytes) {
  return runner_.Run([&](Txn& txn) { return ops::DataCut(txn, fileid, size_bytes); });
}

// ---- orphans ----

Result<Unlinked> Namespace::PurgeOrphan(FileId fileid, const KeepOrphan& keep) {
  return runner_.Run([&](Txn& txn) { return ops::PurgeOrphan(txn, fileid, keep); });
}

Result<std::vector<OrphanRecord>> Namespace::ListOrphans(FileId after_fileid, uint32_t max) {
  return runner_.Read([&](Txn& txn) { return ops::ListOrphans(txn, after_fileid, max); });
}

// ---- extended attributes ----

Result<std::string> Namespace::GetXattr(FileId fileid, std::string_view name) {
  return runner_.Read([&](Txn& txn) { return ops::GetXattr(txn, fileid, name); });
}

Result<DirChange> Namespace::SetXattr(FileId fileid, std::string_view name,
                                      std::string_view value, XattrSetMode mode) {
  return runner_.Run(
      [&](Txn& txn) { return ops::SetXattr(txn, Context(), fileid, name, value, mode); });
}

Result<DirChange> Namespace::RemoveXattr(FileId fileid, std::string_view name) {
  return runner_.Run([&](Txn& txn) { return ops::RemoveXattr(txn, Context(), fileid, name); });
}

Result<XattrListResult> Namespace::ListXattrs(FileId fileid, uint64_t cookie,
                                              uint32_t max_names) {
  return runner_.Read(
      [&](Txn& txn) { return ops::ListXattrs(txn, fileid, cookie, max_names); });
}

// ---- extents ----

Status Namespace::PutExtent(const Extent& extent) {
  return runner_.Run([&](Txn& txn) { return ops::PutExtent(txn, extent); });
}

Result<Extent> Namespace::GetExtent(FileId fileid, uint64_t index) {
  return runner_.Read([&](Txn& txn) { return ops::GetExtent(txn, fileid, index); });
}

Result<std::vector<Extent>> Namespace::GetExtents(FileId fileid) {
  return runner_.Read([&](Txn& txn) { return ops::GetExtents(txn, fileid); });
}

Result<Extent> Namespace::UpdateInstance(FileId fileid, uint64_t index,
                                         const InstanceUpdate& update) {
  return runner_.Run([&](Txn& txn) { return ops::UpdateInstance(txn, fileid, index, update); });
}

Status Namespace::DeleteInstance(FileId fileid, uint64_t index, uint64_t volume_id) {
  return runner_.Run([&](Txn& txn) { return ops::DeleteInstance(txn, fileid, index, volume_id); });
}

// ---- volumes and clients ----

Status Namespace::PutVolume(const Volume& volume) {
  return runner_.Run([&](Txn& txn) { return ops::PutVolume(txn, volume); });
}

Result<Volume> Namespace::GetVolume(uint64_t volume_id) {
  return runner_.Read([&](Txn& txn) { return ops::GetVolume(txn, volume_id); });
}

Result<std::vector<Volume>> Namespace::ListVolumes(uint64_t after_volume_id, uint32_t max) {
  return runner_.Read([&](Txn& txn) { return ops::ListVolumes(txn, after_volume_id, max); });
}

Status Namespace::DeleteVolume(uint64_t volume_id) {
  return runner_.Run([&](Txn& txn) { return ops::DeleteVolume(txn, volume_id); });
}

Status Namespace::PutClient(const ClientRecord& client) {
  return runner_.Run([&](Txn& txn) { return ops::PutClient(txn, client); });
}

Result<ClientRecord> Namespace::GetClient(std::string_view owner) {
  return runner_.Read([&](Txn& txn) { return ops::GetClient(txn, owner); });
}

Result<std::vector<ClientRecord>> Namespace::ListClients(std::string_view after_owner,
                                                         uint32_t max) {
  return runner_.Read([&](Txn& txn) { return ops::ListClients(txn, after_owner, max); });
}

Status Namespace::DeleteClient(std::string_view owner) {
  return runner_.Run([&](Txn& txn) { return ops::DeleteClient(txn, owner); });
}

Result<FsckCounts> Namespace::Check(uint64_t inodes_max) {
  return runner_.Read([&](Txn& txn) { return CheckNamespace(txn, inodes_max); });
}

}  // namespace manifold::meta
