// manifold-mds over loopback: a real server (namespace in a temp RocksDB, state, backchannel)
// on a real TCP socket, driven by the project's NFSv4.1 client library and by hand-built
// compounds. Failures print status names (NFS4ERR_SHARE_DENIED, not 10015).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>

#include "meta/namespace.h"
#include "nfs4/backchannel.h"
#include "nfs4/data_store.h"
#include "nfs4/mds.h"
#include "nfs4/nfs4_program.h"
#include "nfs4client/session.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "rpc/xdr_codec.h"
#include "state/client_record_store.h"
#include "state/state_manager.h"
#include "state/status_names.h"

namespace manifold {
namespace {

using nfs4client::CompoundBuilder;
using nfs4client::Nfs4Client;

#define EXPECT_NFS4(expected, actual) \
  EXPECT_STREQ(state::Nfs4StatName(expected), state::Nfs4StatName(actual))

class MdsNfs4Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("manifold-mds-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    auto ns = meta::Namespace::Open(dir_.string(), meta::NamespaceOptions{});
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    ns_ = std::move(*ns);
    data_ = std::make_unique<nfs4::DataStore>(*ns_, nfs4::kExtentBytesDefault);
    state::StateConfig sc;
    sc.boot_epoch = 7;
    sc.identity.so_major_id = "manifold-test";
    sc.identity.server_scope = "manifold-test";
    state_ = std::make_unique<state::StateManager>(sc, clock_, store_);
    ASSERT_TRUE(state_->Recover().ok());
    backchannel_ = std::make_unique<nfs4::Backchannel>(*state_, nfs4::HandlesOf(*ns_));
    nfs4::MdsOptions mo;
    mo.meta_dir = dir_.string();
    mds_ = std::make_unique<nfs4::Mds>(*ns_, *state_, *data_, *backchannel_, clock_, mo);
    auto dispatcher = std::make_shared<rpc::Dispatcher>();
    dispatcher->Add(std::make_shared<nfs4::Nfs4Program>(*mds_));
    server_ = std::make_unique<rpc::Server>(rpc::ServerOptions{}, dispatcher);
    ASSERT_TRUE(server_->Start().ok());
    server_->RunInBackground();
  }
  void TearDown() override {
    server_->Stop();
    server_.reset();
    mds_.reset();
    backchannel_.reset();
    state_.reset();
    data_.reset();
    ns_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<Nfs4Client> Connect(uint32_t minor = 1) {
    nfs4client::ClientOptions o;
    o.minor_version = minor;
    o.retries_max = 0;
    auto c = Nfs4Client::Connect("127.0.0.1", server_->port(), o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }

  // A raw COMPOUND (no session), as bytes: tag "", minor version, then the op words.
  Result<rpc::ClientReply> RawCompound(uint32_t minor, std::vector<uint32_t> words) {
    auto client = rpc::Client::Connect("127.0.0.1", server_->port());
    if (!client.ok()) return client.status();
    std::vector<uint8_t> args;
    rpc::XdrWriter w(args);
    w.U32(0);  // tag: empty
    w.U32(minor);
    for (uint32_t v : words) w.U32(v);
    return (*client)->Call(NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, rpc::AuthSysCred(0, 0), args);
  }

  std::filesystem::path dir_;
  state::SteadyClock clock_;
  state::InMemoryClientRecordStore store_;
  std::unique_ptr<meta::Namespace> ns_;
  std::unique_ptr<nfs4::DataStore> data_;
  std::unique_ptr<state::StateManager> state_;
  std::unique_ptr<nfs4::Backchannel> backchannel_;
  std::unique_ptr<nfs4::Mds> mds_;
  std::unique_ptr<rpc::Server> server_;
};

TEST_F(MdsNfs4Test, MinorVersionZeroIsMismatchWithNoResults) {
  auto reply = RawCompound(0, {0});
  ASSERT_TRUE(reply.ok());
  rpc::XdrReader r(reply->results());
  EXPECT_NFS4(NFS4ERR_MINOR_VERS_MISMATCH, nfsstat4(r.U32()));
  r.Opaque(1024);                 // tag
  EXPECT_EQ(0u, r.U32());         // no results
}

TEST_F(MdsNfs4Test, UnknownOpcodeIsOpIllegal) {
  auto reply = RawCompound(1, {1, 9999});
  ASSERT_TRUE(reply.ok());
  rpc::XdrReader r(reply->results());
  EXPECT_NFS4(NFS4ERR_OP_ILLEGAL, nfsstat4(r.U32()));
  r.Opaque(1024);
  ASSERT_EQ(1u, r.U32());
  EXPECT_EQ(uint32_t(OP_ILLEGAL), r.U32());
  EXPECT_NFS4(NFS4ERR_OP_ILLEGAL, nfsstat4(r.U32()));
}

TEST_F(MdsNfs4Test, FirstOpMustBeSequenceOrSessionless) {
  auto reply = RawCompound(1, {1, OP_PUTROOTFH});
  ASSERT_TRUE(reply.ok());
  rpc::XdrReader r(reply->results());
  EXPECT_NFS4(NFS4ERR_OP_NOT_IN_SESSION, nfsstat4(r.U32()));
}

TEST_F(MdsNfs4Test, NamespaceRoundTripAndStaleHandle) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  auto root = c->LookupPath("/");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  auto d = c->Mkdir(*root, "d", 0755);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  auto f = c->OpenCreate(*d, "f", 0644);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(c->Close(*f).ok());
  auto entries = c->Readdir(*d);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(1u, entries->size());
  EXPECT_EQ("f", (*entries)[0].name);
  ASSERT_TRUE(c->Rename(*d, "f", *root, "g").ok());
  auto moved = c->LookupPath("/g");
  ASSERT_TRUE(moved.ok());
  ASSERT_TRUE(c->Remove(*root, "g").ok());
  CompoundBuilder b;
  b.PutFh(*moved).GetAttr({FATTR4_SIZE});
  auto r = c->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_NFS4(NFS4ERR_STALE, r->FirstError()) << r->Describe();
}

TEST_F(MdsNfs4Test, ShareDenyConflictsAcrossClients) {
  auto a = Connect();
  auto b = Connect();
  ASSERT_TRUE(a && b);
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto f = a->OpenCreate(*root, "shared", 0666);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(a->Close(*f).ok());
  // a opens for reading and denies writers; b may read but not write.
  nfs4client::OpenArgs deny = nfs4client::OpenArgs::Existing(a->open_owner(), "shared",
                                                              OPEN4_SHARE_ACCESS_READ);
  deny.share_deny = OPEN4_SHARE_DENY_WRITE;
  CompoundBuilder ca;
  ca.PutFh(*root).Open(deny);
  auto ra = a->Run(ca);
  ASSERT_TRUE(ra.ok());
  ASSERT_EQ(NFS4_OK, ra->status()) << ra->Describe();
  CompoundBuilder cw;
  cw.PutFh(*root).Open(nfs4client::OpenArgs::Existing(b->open_owner(), "shared",
                                                      OPEN4_SHARE_ACCESS_WRITE));
  auto rw = b->Run(cw);
  ASSERT_TRUE(rw.ok());
  EXPECT_NFS4(NFS4ERR_SHARE_DENIED, rw->status()) << rw->Describe();
  CompoundBuilder cr;
  cr.PutFh(*root).Open(nfs4client::OpenArgs::Existing(b->open_owner(), "shared",
                                                      OPEN4_SHARE_ACCESS_READ));
  auto rr = b->Run(cr);
  ASSERT_TRUE(rr.ok());
  EXPECT_NFS4(NFS4_OK, rr->status()) << rr->Describe();
}

TEST_F(MdsNfs4Test, NamesAreChecked) {
  auto c = Connect();
  ASSERT_TRUE(c);
  auto root = c->LookupPath("/");
  ASSERT_TRUE(root.ok());
  for (auto [name, expected] : std::vector<std::pair<std::string, nfsstat4>>{
           {"..", NFS4ERR_BADNAME}, {"a/b", NFS4ERR_BADNAME}, {std::string(256, 'x'), NFS4ERR_NAMETOOLONG},
           {"\xff\xfe", NFS4ERR_INVAL}, {"absent", NFS4ERR_NOENT}}) {
    CompoundBuilder b;
    b.PutFh(*root).Lookup(name);
    auto r = c->Run(b);
    ASSERT_TRUE(r.ok());
    EXPECT_NFS4(expected, r->FirstError()) << "name of " << name.size() << " bytes";
  }
}

}  // namespace
// RFC 8881 10.2, 10.4: a reader with a working back channel gets a read delegation; another
// client's write open waits (NFS4ERR_DELAY, retried by the library) while the MDS sends
// CB_RECALL on the holder's back channel and the holder returns the delegation (DELEGRETURN).
TEST_F(MdsNfs4Test, AConflictingOpenRecallsAReadDelegationAndTheHolderReturnsIt) {
  auto a = Connect();
  nfs4client::ClientOptions retrying;  // NFS4ERR_DELAY is retried with backoff
  auto b = Nfs4Client::Connect("127.0.0.1", server_->port(), retrying);
  nfs4client::ClientOptions no_back;
  no_back.backchannel = false;
  auto c = Nfs4Client::Connect("127.0.0.1", server_->port(), no_back);
  ASSERT_TRUE(a && b.ok() && c.ok());
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto f = a->OpenCreate(*root, "delegated", 0666);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(a->Close(*f).ok());

  // Without a back channel no delegation can be recalled, so none is granted.
  CompoundBuilder cc;
  cc.PutFh(*root).Open(nfs4client::OpenArgs::Existing((*c)->open_owner(), "delegated",
                                                      OPEN4_SHARE_ACCESS_READ));
  auto rc = (*c)->Run(cc);
  ASSERT_TRUE(rc.ok());
  ASSERT_EQ(NFS4_OK, rc->status()) << rc->Describe();
  EXPECT_EQ(OPEN_DELEGATE_NONE, rc->Open()->delegation.delegation_type);

  CompoundBuilder ca;
  ca.PutFh(*root).Open(nfs4client::OpenArgs::Existing(a->open_owner(), "delegated",
                                                      OPEN4_SHARE_ACCESS_READ));
  auto ra = a->Run(ca);
  ASSERT_TRUE(ra.ok());
  ASSERT_EQ(NFS4_OK, ra->status()) << ra->Describe();
  ASSERT_EQ(OPEN_DELEGATE_READ, ra->Open()->delegation.delegation_type);

  auto fb = (*b)->Open(*root, "delegated", OPEN4_SHARE_ACCESS_WRITE);
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  EXPECT_EQ(1u, a->callbacks().cb_recall);
  EXPECT_EQ(1u, a->delegations_returned());
  EXPECT_EQ(1u, backchannel_->stats().recalls_answered);
  EXPECT_FALSE(state_->AnyDelegations());
  ASSERT_TRUE((*b)->Close(*fb).ok());
}

// REMOVE of a delegated file by another client waits for the holder to return it.
TEST_F(MdsNfs4Test, RemoveByAnotherClientWaitsForTheDelegationToBeReturned) {
  auto a = Connect();
  nfs4client::ClientOptions retrying;
  auto b = Nfs4Client::Connect("127.0.0.1", server_->port(), retrying);
  ASSERT_TRUE(a && b.ok());
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto f = a->OpenCreate(*root, "doomed", 0666);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(a->Close(*f).ok());
  CompoundBuilder ca;
  ca.PutFh(*root).Open(nfs4client::OpenArgs::Existing(a->open_owner(), "doomed",
                                                      OPEN4_SHARE_ACCESS_READ));
  auto ra = a->Run(ca);
  ASSERT_TRUE(ra.ok());
  ASSERT_EQ(OPEN_DELEGATE_READ, ra->Open()->delegation.delegation_type);
  auto broot = (*b)->LookupPath("/");
  ASSERT_TRUE(broot.ok());
  ASSERT_TRUE((*b)->Remove(*broot, "doomed").ok());  // DELAY, recall, return, then done
  EXPECT_EQ(1u, a->callbacks().cb_recall);
  EXPECT_EQ(1u, a->delegations_returned());
  EXPECT_FALSE(a->LookupPath("/doomed").ok());
}

// RFC 8881 10.4.3: another client's GETATTR of a file under a write delegation asks the holder
// with CB_GETATTR. This library cannot answer one (it holds no cached writes: BADHANDLE), so
// the MDS falls back to recalling the delegation; the GETATTR waits and then succeeds.
TEST_F(MdsNfs4Test, GetattrUnderAnotherClientsWriteDelegationAsksTheHolder) {
  auto a = Connect();
  nfs4client::ClientOptions retrying;
  auto b = Nfs4Client::Connect("127.0.0.1", server_->port(), retrying);
  ASSERT_TRUE(a && b.ok());
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto f = a->OpenCreate(*root, "written", 0666);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(a->Close(*f).ok());
  CompoundBuilder ca;
  ca.PutFh(*root).Open(nfs4client::OpenArgs::Existing(
      a->open_owner(), "written",
      OPEN4_SHARE_ACCESS_BOTH | OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG));
  auto ra = a->Run(ca);
  ASSERT_TRUE(ra.ok());
  ASSERT_EQ(NFS4_OK, ra->status()) << ra->Describe();
  ASSERT_EQ(OPEN_DELEGATE_WRITE, ra->Open()->delegation.delegation_type);
  // The holder's own GETATTR needs no callback.
  ASSERT_TRUE(a->GetAttr(f->fh, nfs4client::MakeBitmap({FATTR4_SIZE})).ok());
  EXPECT_EQ(0u, backchannel_->stats().getattrs_sent);

  auto got = (*b)->GetAttr(f->fh, nfs4client::MakeBitmap({FATTR4_CHANGE, FATTR4_SIZE}));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(1u, backchannel_->stats().getattrs_sent);
  EXPECT_EQ(0u, backchannel_->stats().getattrs_answered);
  EXPECT_EQ(1u, a->callbacks().cb_recall);
  EXPECT_EQ(1u, a->delegations_returned());
  // A GETATTR of neither change nor size does not ask.
  EXPECT_TRUE((*b)->GetAttr(f->fh, nfs4client::MakeBitmap({FATTR4_MODE})).ok());
}

// READDIR answers type and fileid from the directory entries alone, and attributes that need
// the inode from the inode: both must agree with what GETATTR says of each object.
TEST_F(MdsNfs4Test, ReaddirAttributesAgreeWithGetattr) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  auto root = c->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto d = c->Mkdir(*root, "list", 0755);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(c->Mkdir(*d, "sub", 0700).ok());
  auto f = c->OpenCreate(*d, "file", 0640);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(c->Close(*f).ok());
  const auto mask = nfs4client::MakeBitmap({FATTR4_TYPE, FATTR4_FILEID, FATTR4_MODE});
  for (bool with_mode : {false, true}) {
    auto entries =
        c->Readdir(*d, with_mode ? mask : nfs4client::MakeBitmap({FATTR4_TYPE, FATTR4_FILEID}));
    ASSERT_TRUE(entries.ok()) << entries.status().ToString();
    ASSERT_EQ(2u, entries->size());
    for (const auto& e : *entries) {
      auto fh = c->LookupPath("/list/" + e.name);
      ASSERT_TRUE(fh.ok());
      auto want = c->GetAttr(*fh, mask);
      ASSERT_TRUE(want.ok());
      EXPECT_EQ(want->type, e.attrs.type) << e.name;
      EXPECT_EQ(want->fileid, e.attrs.fileid) << e.name;
      if (with_mode) {
        EXPECT_EQ(want->mode, e.attrs.mode) << e.name;
      } else {
        EXPECT_FALSE(e.attrs.mode.has_value()) << e.name;
      }
    }
  }
}

}  // namespace manifold
