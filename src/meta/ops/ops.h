// The namespace operations, one file each under meta/ops/. Mutations are functions of a
// read-write transaction; reads are functions of a read-only snapshot. None commits: the
// TxnRunner does (meta/txn_runner.h). Namespace (meta/namespace.h) is the public face.
#pragma once

#include <string_view>
#include <vector>

#include "meta/namespace.h"
#include "meta/ops/common.h"

namespace manifold::meta::ops {

// format.cc
Status EnsureFormat(Txn& txn, const OpContext& ctx);

// Reads: lookup.cc, getattr.cc, readdir.cc
Result<Inode> Lookup(Txn& txn, FileId parent, std::string_view name);
// Lookup without reading `dir` (the caller knows it is a directory): kNotFound when it has no
// such entry, or is gone.
Result<Inode> LookupChild(Txn& txn, FileId dir, std::string_view name);
// The fileid `name` names in `dir`, from its entry alone (kNotFound: none).
Result<FileId> EntryOf(Txn& txn, FileId dir, std::string_view name);
Result<Inode> LookupParent(Txn& txn, FileId dir);
Result<Inode> GetAttr(Txn& txn, FileId fileid, std::optional<uint32_t> generation);
Result<ReadDirResult> ReadDir(Txn& txn, FileId dir, uint64_t cookie, uint32_t max_entries,
                              bool with_attrs);
Status ScanDir(Txn& txn, FileId dir, uint64_t cookie, bool with_attrs, const DirVisitor& visit,
               bool* eof, uint64_t* dir_change = nullptr);

// Namespace mutations
Result<CreateResult> Create(Txn& txn, const OpContext& ctx, FileId parent, std::string_view name,
                            const CreateArgs& args);  // create.cc: every type but kDir
Result<CreateResult> Mkdir(Txn& txn, const OpContext& ctx, FileId parent, std::string_view name,
                           const CreateArgs& args);  // mkdir.cc
enum class RemoveKind { kNonDir, kDirOnly, kAny };
Result<RemoveResult> Remove(Txn& txn, const OpContext& ctx, FileId parent, std::string_view name,
                            RemoveKind kind, const KeepOrphan& keep);  // remove.cc
// rmdir.cc: removes the directory entry `entry` (named `name` in `*parent_dir`, both locked).
Result<RemoveResult> RemoveDirEntry(Txn& txn, const OpContext& ctx, Inode* parent_dir,
                                    std::string_view name, const Dirent& entry);
Result<RemoveResult> RmDir(Txn& txn, const OpContext& ctx, FileId parent, std::string_view name);
Result<RenameResult> Rename(Txn& txn, const OpContext& ctx, FileId src_parent,
                            std::string_view src_name, FileId dst_parent,
                            std::string_view dst_name, const KeepOrphan& keep);  // rename.cc
Result<LinkResult> Link(Txn& txn, const OpContext& ctx, FileId fileid, FileId new_parent,
                        std::string_view new_name);  // link.cc
Result<SetAttrResult> SetAttr(Txn& txn, const OpContext& ctx, FileId fileid,
                              const SetAttrArgs& args);  // setattr.cc
Status DataCut(Txn& txn, FileId fileid, uint64_t size_bytes);  // setattr.cc
Result<Inode> RecordWrite(Txn& txn, const OpContext& ctx, FileId fileid, uint64_t end_offset_bytes,
                          std::optional<Timespec> mtime, bool drop_set_id);  // write.cc

// xattrs.cc
Result<std::string> GetXattr(Txn& txn, FileId fileid, std::string_view name);
Result<DirChange> SetXattr(Txn& txn, const OpContext& ctx, FileId fileid, std::string_view name,
                           std::string_view value, XattrSetMode mode);
Result<DirChange> RemoveXattr(Txn& txn, const OpContext& ctx, FileId fileid,
                              std::string_view name);
Result<XattrListResult> ListXattrs(Txn& txn, FileId fileid, uint64_t cookie, uint32_t max_names);

// orphans.cc
Result<Unlinked> PurgeOrphan(Txn& txn, FileId fileid, const KeepOrphan& keep);
Result<std::vector<OrphanRecord>> ListOrphans(Txn& txn, FileId after_fileid, uint32_t max);

// extents.cc
Status PutExtent(Txn& txn, const Extent& extent);
Result<Extent> GetExtent(Txn& txn, FileId fileid, uint64_t index);
Result<std::vector<Extent>> GetExtents(Txn& txn, FileId fileid);
Result<Extent> UpdateInstance(Txn& txn, FileId fileid, uint64_t index,
                              const InstanceUpdate& update);
Status DeleteInstance(Txn& txn, FileId fileid, uint64_t index, uint64_t volume_id);

// volumes.cc, clients.cc
Status PutVolume(Txn& txn, const Volume& volume);
Result<Volume> GetVolume(Txn& txn, uint64_t volume_id);
Result<std::vector<Volume>> ListVolumes(Txn& txn, uint64_t after_volume_id, uint32_t max);
Status DeleteVolume(Txn& txn, uint64_t volume_id);
Status PutClient(Txn& txn, const ClientRecord& client);
Result<ClientRecord> GetClient(Txn& txn, std::string_view owner);
Result<std::vector<ClientRecord>> ListClients(Txn& txn, std::string_view after_owner, uint32_t max);
Status DeleteClient(Txn& txn, std::string_view owner);

}  // namespace manifold::meta::ops
