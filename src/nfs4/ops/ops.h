// One handler per NFSv4 operation (RFC 8881 section 18, RFC 7862 section 15, RFC 8276),
// each in its own file (or a tight group). The op table (op_table.cc) lists them.
#pragma once

#include "nfs4/compound.h"

namespace manifold::nfs4::ops {

#define MANIFOLD_NFS4_OP(Name) nfsstat4 Name(CompoundContext& ctx, nfs_argop4& arg, nfs_resop4& res)

// Filehandles: putfh.cc
MANIFOLD_NFS4_OP(PutFh);
MANIFOLD_NFS4_OP(PutRootFh);
MANIFOLD_NFS4_OP(GetFh);
MANIFOLD_NFS4_OP(SaveFh);
MANIFOLD_NFS4_OP(RestoreFh);
// Namespace
MANIFOLD_NFS4_OP(Lookup);   // lookup.cc
MANIFOLD_NFS4_OP(LookupP);  // lookup.cc
MANIFOLD_NFS4_OP(GetAttr);  // getattr.cc
MANIFOLD_NFS4_OP(SetAttr);  // setattr.cc
MANIFOLD_NFS4_OP(Verify);   // verify.cc
MANIFOLD_NFS4_OP(NVerify);  // verify.cc
MANIFOLD_NFS4_OP(Access);   // access.cc
MANIFOLD_NFS4_OP(Create);   // create.cc
MANIFOLD_NFS4_OP(Remove);   // remove.cc
MANIFOLD_NFS4_OP(Rename);   // rename.cc
MANIFOLD_NFS4_OP(Link);     // link.cc
MANIFOLD_NFS4_OP(ReadDir);  // readdir.cc
MANIFOLD_NFS4_OP(ReadLink);  // readlink.cc
MANIFOLD_NFS4_OP(SecInfo);        // secinfo.cc
MANIFOLD_NFS4_OP(SecInfoNoName);  // secinfo.cc
// Sessions and clients: session.cc
MANIFOLD_NFS4_OP(ExchangeId);
MANIFOLD_NFS4_OP(CreateSession);
MANIFOLD_NFS4_OP(DestroySession);
MANIFOLD_NFS4_OP(Sequence);
MANIFOLD_NFS4_OP(BindConnToSession);
MANIFOLD_NFS4_OP(BackchannelCtl);
MANIFOLD_NFS4_OP(DestroyClientId);
MANIFOLD_NFS4_OP(ReclaimComplete);
// Open, lock and stateid state
MANIFOLD_NFS4_OP(Open);           // open.cc
MANIFOLD_NFS4_OP(OpenDowngrade);  // open.cc
MANIFOLD_NFS4_OP(Close);          // open.cc
MANIFOLD_NFS4_OP(Lock);           // lock.cc
MANIFOLD_NFS4_OP(LockT);          // lock.cc
MANIFOLD_NFS4_OP(LockU);          // lock.cc
MANIFOLD_NFS4_OP(TestStateid);    // session.cc
MANIFOLD_NFS4_OP(FreeStateid);    // session.cc
MANIFOLD_NFS4_OP(DelegReturn);    // session.cc
// I/O through the MDS: io.cc
MANIFOLD_NFS4_OP(Read);
MANIFOLD_NFS4_OP(Write);
MANIFOLD_NFS4_OP(Commit);
// NFSv4.2 (RFC 7862)
MANIFOLD_NFS4_OP(Copy);        // copy.cc
MANIFOLD_NFS4_OP(Seek);        // sparse.cc
MANIFOLD_NFS4_OP(ReadPlus);    // sparse.cc
MANIFOLD_NFS4_OP(Allocate);    // space.cc
MANIFOLD_NFS4_OP(Deallocate);  // space.cc
// Extended attributes (RFC 8276): xattr.cc
MANIFOLD_NFS4_OP(GetXattr);
MANIFOLD_NFS4_OP(SetXattr);
MANIFOLD_NFS4_OP(ListXattrs);
MANIFOLD_NFS4_OP(RemoveXattr);
#undef MANIFOLD_NFS4_OP

}  // namespace manifold::nfs4::ops
