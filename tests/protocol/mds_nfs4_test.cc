// manifold-mds over loopback: a real server (namespace in a temp RocksDB, state, backchannel)
// on a real TCP socket, driven by the project's NFSv4.1 client library and by hand-built
// compounds. Failures print status names (NFS4ERR_SHARE_DENIED, not 10015).
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <random>
#include <span>
#include <tuple>

#include "meta/limits.h"
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
#define ASSERT_NFS4_OK(actual) ASSERT_STREQ("NFS4_OK", state::Nfs4StatName(actual))

class MdsNfs4Test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("manifold-mds-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir_);
    Start(nfs4::MdsOptions{});
  }
  void TearDown() override {
    Stop();
    std::filesystem::remove_all(dir_);
  }
  // A server over the namespace in dir_ (made on the first start, reopened after a Stop).
  void Start(nfs4::MdsOptions mo) {
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
    backchannel_ = std::make_unique<nfs4::Backchannel>(*state_);
    mo.meta_dir = dir_.string();
    mds_ = std::make_unique<nfs4::Mds>(*ns_, *state_, *data_, *backchannel_, clock_, mo);
    auto dispatcher = std::make_shared<rpc::Dispatcher>();
    dispatcher->Add(std::make_shared<nfs4::Nfs4Program>(*mds_));
    server_ = std::make_unique<rpc::Server>(rpc::ServerOptions{}, dispatcher);
    ASSERT_TRUE(server_->Start().ok());
    server_->RunInBackground();
  }
  void Stop() {
    if (server_) server_->Stop();
    server_.reset();
    mds_.reset();
    backchannel_.reset();
    state_.reset();
    data_.reset();
    ns_.reset();
  }

  std::unique_ptr<Nfs4Client> Connect(uint32_t minor = 1, uint32_t uid = 0) {
    nfs4client::ClientOptions o;
    o.minor_version = minor;
    o.uid = uid;
    o.gid = uid;
    return ConnectWith(o);
  }
  std::unique_ptr<Nfs4Client> ConnectWith(nfs4client::ClientOptions o) {
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

// ---- extended attributes (RFC 8276) ------------------------------------------------------

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Text(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

// One file, made by `owner` with `mode`, in a world-writable directory /d, and its handle.
nfs4client::FileHandle MakeXattrFile(Nfs4Client& root, Nfs4Client& owner, std::string_view name,
                                     uint32_t mode) {
  auto top = root.LookupPath("/");
  EXPECT_TRUE(top.ok());
  auto d = root.LookupPath("/d");
  if (!d.ok()) d = root.Mkdir(*top, "d", 0777);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  auto f = owner.OpenCreate(*d, name, mode);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  if (!f.ok()) return {};
  EXPECT_TRUE(owner.Close(*f).ok());
  return f->fh;
}

TEST_F(MdsNfs4Test, XattrSupportIsAdvertisedIn42) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  auto root = c->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto a =
      c->GetAttr(*root, nfs4client::MakeBitmap({FATTR4_SUPPORTED_ATTRS, FATTR4_XATTR_SUPPORT}));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(a->xattr_support.has_value());
  EXPECT_TRUE(*a->xattr_support);
  ASSERT_TRUE(a->supported_attrs.has_value());
  EXPECT_TRUE(nfs4client::BitmapHas(*a->supported_attrs, FATTR4_XATTR_SUPPORT));
  // In NFSv4.1 the xattr operations do not exist.
  auto c41 = Connect(1);
  ASSERT_TRUE(c41);
  CompoundBuilder b;
  b.PutFh(*root).GetXattr("user.x");
  auto r = c41->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_NFS4(NFS4ERR_OP_ILLEGAL, r->FirstError()) << r->Describe();
}

TEST_F(MdsNfs4Test, XattrSetGetListRemoveWithChangeInfo) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  nfs4client::FileHandle f = MakeXattrFile(*c, *c, "f", 0644);
  auto before = c->GetAttr(f, nfs4client::MakeBitmap({FATTR4_CHANGE}));
  ASSERT_TRUE(before.ok());
  auto set = c->SetXattr(f, "colour", Bytes("blue"), SETXATTR4_CREATE);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  auto after = c->GetAttr(f, nfs4client::MakeBitmap({FATTR4_CHANGE}));
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(set->atomic);
  EXPECT_EQ(*before->change, set->before);
  EXPECT_EQ(*after->change, set->after);
  EXPECT_GT(set->after, set->before);
  ASSERT_TRUE(c->SetXattr(f, "empty", Bytes("")).ok());
  auto last = c->SetXattr(f, "binary", Bytes(std::string("\0\1\xff", 3)));
  ASSERT_TRUE(last.ok());
  auto v = c->GetXattr(f, "colour");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ("blue", Text(*v));
  auto bin = c->GetXattr(f, "binary");
  ASSERT_TRUE(bin.ok());
  EXPECT_EQ(std::string("\0\1\xff", 3), Text(*bin));
  auto empty = c->GetXattr(f, "empty");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto names = c->ListXattrs(f);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ((std::vector<std::string>{"colour", "empty", "binary"}), *names);
  auto removed = c->RemoveXattr(f, "colour");
  ASSERT_TRUE(removed.ok()) << removed.status().ToString();
  EXPECT_EQ(last->after, removed->before);  // nothing else changed the file in between
  EXPECT_GT(removed->after, removed->before);
  CompoundBuilder b;
  b.PutFh(f).GetXattr("colour");
  auto r = c->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_NFS4(NFS4ERR_NOXATTR, r->FirstError()) << r->Describe();
  CompoundBuilder rm;
  rm.PutFh(f).RemoveXattr("colour");
  auto rr = c->Run(rm);
  ASSERT_TRUE(rr.ok());
  EXPECT_NFS4(NFS4ERR_NOXATTR, rr->FirstError()) << rr->Describe();
}

TEST_F(MdsNfs4Test, XattrCreateAndReplaceOptions) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  nfs4client::FileHandle f = MakeXattrFile(*c, *c, "f", 0644);
  auto run = [&](std::string_view value, setxattr_option4 option) {
    CompoundBuilder b;
    b.PutFh(f).SetXattr("k", Bytes(value), option);
    auto r = c->Run(b);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->FirstError() : NFS4ERR_SERVERFAULT;
  };
  EXPECT_NFS4(NFS4ERR_NOXATTR, run("1", SETXATTR4_REPLACE));
  EXPECT_NFS4(NFS4_OK, run("1", SETXATTR4_CREATE));
  EXPECT_NFS4(NFS4ERR_EXIST, run("2", SETXATTR4_CREATE));
  EXPECT_NFS4(NFS4_OK, run("3", SETXATTR4_REPLACE));
  EXPECT_NFS4(NFS4_OK, run("4", SETXATTR4_EITHER));
  EXPECT_NFS4(NFS4ERR_INVAL, run("5", setxattr_option4(7)));
  auto v = c->GetXattr(f, "k");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ("4", Text(*v));
}

TEST_F(MdsNfs4Test, XattrListPagesByCookieAndMaxcount) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  nfs4client::FileHandle f = MakeXattrFile(*c, *c, "f", 0644);
  std::vector<std::string> want;
  for (int i = 0; i < 30; i++) {
    want.push_back("name-" + std::to_string(i));
    ASSERT_TRUE(c->SetXattr(f, want.back(), Bytes("v")).ok());
  }
  // resok is 16 bytes + 4 + pad4(name) per name: 40 bytes hold two 6- or 7-byte names.
  auto paged = c->ListXattrs(f, 40);
  ASSERT_TRUE(paged.ok()) << paged.status().ToString();
  EXPECT_EQ(want, *paged);
  CompoundBuilder first;
  first.PutFh(f).ListXattrs(0, 40);
  auto r = c->Run(first);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(NFS4_OK, r->status()) << r->Describe();
  const LISTXATTRS4resok* page = r->ListXattrs();
  EXPECT_EQ(2u, page->lxr_names.lxr_names_len);
  EXPECT_FALSE(page->lxr_eof);
  // Not even one name fits, and a cookie the file never issued.
  for (auto [cookie, maxcount, expected] :
       std::vector<std::tuple<uint64_t, uint32_t, nfsstat4>>{{0, 16, NFS4ERR_TOOSMALL},
                                                             {0, 27, NFS4ERR_TOOSMALL},
                                                             {0, 0, NFS4ERR_TOOSMALL},
                                                             {999, 4096, NFS4ERR_BAD_COOKIE}}) {
    CompoundBuilder b;
    b.PutFh(f).ListXattrs(cookie, maxcount);
    auto rb = c->Run(b);
    ASSERT_TRUE(rb.ok());
    EXPECT_NFS4(expected, rb->FirstError()) << "cookie " << cookie << " maxcount " << maxcount;
  }
  // A file with no xattrs: an empty list and eof, even in the smallest reply.
  nfs4client::FileHandle bare = MakeXattrFile(*c, *c, "bare", 0644);
  CompoundBuilder b;
  b.PutFh(bare).ListXattrs(0, 16);
  auto rb = c->Run(b);
  ASSERT_TRUE(rb.ok());
  ASSERT_EQ(NFS4_OK, rb->status()) << rb->Describe();
  EXPECT_EQ(0u, rb->ListXattrs()->lxr_names.lxr_names_len);
  EXPECT_TRUE(rb->ListXattrs()->lxr_eof);
}

TEST_F(MdsNfs4Test, XattrRightsFollowTheModeBitsOfTheCaller) {
  auto root = Connect(2);
  auto owner = Connect(2, 1000);
  auto other = Connect(2, 2000);
  ASSERT_TRUE(root && owner && other);
  nfs4client::FileHandle f = MakeXattrFile(*root, *owner, "f", 0644);
  nfs4client::FileHandle secret = MakeXattrFile(*root, *owner, "secret", 0600);
  ASSERT_TRUE(owner->SetXattr(f, "k", Bytes("v")).ok());
  ASSERT_TRUE(owner->SetXattr(secret, "k", Bytes("v")).ok());
  auto status = [](Nfs4Client& c, const nfs4client::FileHandle& fh, auto&& add) {
    CompoundBuilder b;
    b.PutFh(fh);
    add(b);
    auto r = c.Run(b);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->FirstError() : NFS4ERR_SERVERFAULT;
  };
  auto get = [](CompoundBuilder& b) { b.GetXattr("k"); };
  auto list = [](CompoundBuilder& b) { b.ListXattrs(); };
  auto set = [](CompoundBuilder& b) { b.SetXattr("k", Bytes("w")); };
  auto remove = [](CompoundBuilder& b) { b.RemoveXattr("k"); };
  // Another user may read a 0644 file's xattrs but not change them.
  EXPECT_NFS4(NFS4_OK, status(*other, f, get));
  EXPECT_NFS4(NFS4_OK, status(*other, f, list));
  EXPECT_NFS4(NFS4ERR_ACCESS, status(*other, f, set));
  EXPECT_NFS4(NFS4ERR_ACCESS, status(*other, f, remove));
  EXPECT_NFS4(NFS4ERR_ACCESS, status(*other, secret, get));
  EXPECT_NFS4(NFS4ERR_ACCESS, status(*other, secret, list));
  EXPECT_NFS4(NFS4_OK, status(*root, secret, set));  // root may
  // ACCESS answers the same (the Linux client asks before it uses xattrs).
  const uint32_t xa = ACCESS4_XAREAD | ACCESS4_XAWRITE | ACCESS4_XALIST;
  auto access = [&](Nfs4Client& c, const nfs4client::FileHandle& fh) -> uint32_t {
    CompoundBuilder b;
    b.PutFh(fh).Access(xa);
    auto r = c.Run(b);
    EXPECT_TRUE(r.ok() && r->ok());
    if (!r.ok() || !r->ok()) return ~0u;
    EXPECT_EQ(xa, r->Access()->supported);
    return r->Access()->access;
  };
  EXPECT_EQ(xa, access(*owner, f));
  EXPECT_EQ(ACCESS4_XAREAD | ACCESS4_XALIST, access(*other, f));
  EXPECT_EQ(0u, access(*other, secret));
  ASSERT_TRUE(owner->RemoveXattr(f, "k").ok());
}

TEST_F(MdsNfs4Test, XattrBoundsGetTheirRfcErrors) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  nfs4client::FileHandle f = MakeXattrFile(*c, *c, "f", 0644);
  auto set = [&](const std::string& name, size_t value_bytes) {
    std::string value(value_bytes, 'v');
    CompoundBuilder b;
    b.PutFh(f).SetXattr(name, Bytes(value));
    auto r = c->Run(b);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->FirstError() : NFS4ERR_SERVERFAULT;
  };
  EXPECT_NFS4(NFS4_OK, set("big", meta::kXattrValueBytesMax));
  EXPECT_NFS4(NFS4ERR_XATTR2BIG, set("bigger", meta::kXattrValueBytesMax + 1));
  EXPECT_NFS4(NFS4_OK, set(std::string(meta::kXattrNameBytesMax, 'n'), 1));
  EXPECT_NFS4(NFS4ERR_NAMETOOLONG, set(std::string(meta::kXattrNameBytesMax + 1, 'n'), 1));
  EXPECT_NFS4(NFS4ERR_INVAL, set("", 1));
  EXPECT_NFS4(NFS4ERR_INVAL, set(std::string("a\0b", 3), 1));
  EXPECT_NFS4(NFS4ERR_INVAL, set("\xff\xfe", 1));
  // The per-file bounds: bytes of names and values, then the count.
  for (int i = 0; i < 14; i++) {
    ASSERT_NFS4_OK(set("fill" + std::to_string(i), meta::kXattrValueBytesMax));
  }
  EXPECT_NFS4(NFS4ERR_NOSPC, set("fill14", meta::kXattrValueBytesMax));
  auto got = c->GetXattr(f, "big");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(meta::kXattrValueBytesMax, got->size());
}

TEST_F(MdsNfs4Test, XattrReplyMustFitTheSession) {
  nfs4client::ClientOptions o;
  o.minor_version = 2;
  o.response_bytes_max = 8192;
  auto small = ConnectWith(o);
  auto c = Connect(2);
  ASSERT_TRUE(small && c);
  nfs4client::FileHandle f = MakeXattrFile(*c, *c, "f", 0644);
  ASSERT_TRUE(c->SetXattr(f, "large", Bytes(std::string(20000, 'v'))).ok());
  ASSERT_TRUE(c->SetXattr(f, "small", Bytes("v")).ok());
  CompoundBuilder b;
  b.PutFh(f).GetXattr("large");
  auto r = small->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_NFS4(NFS4ERR_XATTR2BIG, r->FirstError()) << r->Describe();
  auto v = small->GetXattr(f, "small");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  // LISTXATTRS keeps within the session even when lxa_maxcount asks for more.
  std::vector<std::string> want = {"large", "small"};
  for (int i = 0; i < 100; i++) {
    want.push_back(std::string(200, 'a' + i % 26) + std::to_string(i));
    ASSERT_TRUE(c->SetXattr(f, want.back(), Bytes("")).ok());
  }
  auto names = small->ListXattrs(f, 1 << 20);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_EQ(want, *names);
}

TEST_F(MdsNfs4Test, XattrsOnDirectoriesNotOnSymlinks) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  auto root = c->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto d = c->Mkdir(*root, "dir", 0755);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(c->SetXattr(*d, "on-dir", Bytes("yes")).ok());
  auto names = c->ListXattrs(*d);
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(std::vector<std::string>{"on-dir"}, *names);
  CompoundBuilder mk;
  mk.PutFh(*root).CreateSymlink("link", "dir").GetFh();
  auto made = c->Run(mk);
  ASSERT_TRUE(made.ok());
  ASSERT_EQ(NFS4_OK, made->status()) << made->Describe();
  CompoundBuilder b;
  b.PutFh(made->Fh()).SetXattr("k", Bytes("v"));
  auto r = c->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_NFS4(NFS4ERR_PERM, r->FirstError()) << r->Describe();
  CompoundBuilder g;
  g.PutFh(made->Fh()).GetXattr("k");
  auto rg = c->Run(g);
  ASSERT_TRUE(rg.ok());
  EXPECT_NFS4(NFS4ERR_NOXATTR, rg->FirstError()) << rg->Describe();
}

TEST_F(MdsNfs4Test, XattrsGoWithTheFileAndSurviveARestart) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  nfs4client::FileHandle gone = MakeXattrFile(*c, *c, "gone", 0644);
  nfs4client::FileHandle kept = MakeXattrFile(*c, *c, "kept", 0644);
  ASSERT_TRUE(c->SetXattr(gone, "k", Bytes("v")).ok());
  ASSERT_TRUE(c->SetXattr(kept, "k", Bytes("kept value")).ok());
  auto d = c->LookupPath("/d");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(c->Remove(*d, "gone").ok());
  CompoundBuilder b;
  b.PutFh(gone).GetXattr("k");
  auto r = c->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_NFS4(NFS4ERR_STALE, r->FirstError()) << r->Describe();
  auto counts = ns_->Check(1000);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(1u, counts->xattrs);  // only kept's: no orphan
  c.reset();
  Stop();
  Start(nfs4::MdsOptions{});
  auto again = Connect(2);
  ASSERT_TRUE(again);
  auto v = again->GetXattr(kept, "k");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ("kept value", Text(*v));
}

TEST_F(MdsNfs4Test, XattrChangesAreRofsOnAReadOnlyExport) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  nfs4client::FileHandle f = MakeXattrFile(*c, *c, "f", 0644);
  ASSERT_TRUE(c->SetXattr(f, "k", Bytes("v")).ok());
  c.reset();
  Stop();
  nfs4::MdsOptions ro;
  ro.read_only = true;
  Start(ro);
  auto r = Connect(2);
  ASSERT_TRUE(r);
  auto v = r->GetXattr(f, "k");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  for (int op = 0; op < 2; op++) {
    CompoundBuilder b;
    b.PutFh(f);
    if (op == 0) b.SetXattr("k", Bytes("w"));
    if (op == 1) b.RemoveXattr("k");
    auto res = r->Run(b);
    ASSERT_TRUE(res.ok());
    EXPECT_NFS4(NFS4ERR_ROFS, res->FirstError()) << res->Describe();
  }
  CompoundBuilder a;
  a.PutFh(f).Access(ACCESS4_XAREAD | ACCESS4_XAWRITE);
  auto ra = r->Run(a);
  ASSERT_TRUE(ra.ok() && ra->ok());
  EXPECT_EQ(uint32_t(ACCESS4_XAREAD), ra->Access()->access);
}

}  // namespace
}  // namespace manifold
