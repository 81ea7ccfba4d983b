// manifold-mds over loopback: a real server (namespace in a temp RocksDB, state, backchannel)
// on a real TCP socket, driven by the project's NFSv4.1 client library and by hand-built
// compounds. Failures print status names (NFS4ERR_SHARE_DENIED, not 10015).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <random>
#include <thread>
#include <span>
#include <tuple>

#include "meta/limits.h"
#include "meta/namespace.h"
#include "nfs4/backchannel.h"
#include "nfs4/compound.h"
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
#include "mem_volume.h"

namespace manifold {
namespace {

using nfs4client::CompoundBuilder;
using nfs4client::Nfs4Client;

// Small extents, so that a few MiB of data cross extent boundaries.
constexpr uint64_t kTestExtentBytes = 1 << 20;

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
    auto ns = meta::Namespace::Open(dir_.string(), ns_options_ ? *ns_options_ : NamespaceOptions());
    ASSERT_TRUE(ns.ok()) << ns.status().ToString();
    ns_ = std::move(*ns);
    data_ = std::make_unique<nfs4::DataStore>(*ns_, kTestExtentBytes);
    if (!volume_store_) volume_store_ = std::make_unique<testlib::MemVolume>();
    volume_ = volume_store_.get();  // the same data across restarts, as a data server's
    data_->AddVolume(1, std::make_unique<testlib::VolumeRef>(*volume_store_));
    state::StateConfig sc;
    sc.limits = state_limits_;
    sc.boot_epoch = 7;
    sc.identity.so_major_id = "manifold-test";
    sc.identity.server_scope = "manifold-test";
    state_ = std::make_unique<state::StateManager>(sc, clock_, store_);
    ASSERT_TRUE(state_->Recover().ok());
    backchannel_ = std::make_unique<nfs4::Backchannel>(*state_, nfs4::HandlesOf(*ns_));
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

  // MANIFOLD_TEST_COMMIT=deferred (CTest's protocol_mds_nfs4_deferred): commits are not
  // synced before they return; the server holds every reply until they are.
  static bool Deferred() {
    const char* mode = std::getenv("MANIFOLD_TEST_COMMIT");
    return mode != nullptr && std::string_view(mode) == "deferred";
  }
  static meta::NamespaceOptions NamespaceOptions() {
    meta::NamespaceOptions o;
    o.kv.defer_durability = Deferred();
    return o;
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

  // Restarts the server over a namespace whose commits are deferred and synced only when a
  // reply waits for one.
  void RestartUnsynced() {
    Stop();
    meta::NamespaceOptions o;
    o.kv.defer_durability = true;
    o.kv.idle_sync_interval_ms = 60'000;
    ns_options_ = o;
    Start(nfs4::MdsOptions{});
  }
  // The reply `dispatcher` makes for `call`, not sent (so no sync is waited for), decoded.
  struct Dispatched {
    bool gated = false;    // it has a reply gate
    bool at_once = false;  // it may go now: no gate, or its gate's mark is durable
    std::optional<nfs4client::CompoundResult> result;
  };
  static Dispatched Dispatch(rpc::Dispatcher& dispatcher, const std::vector<uint8_t>& call) {
    Dispatched out;
    auto reply = dispatcher.DispatchReply(call, "127.0.0.1:700", nullptr);
    EXPECT_TRUE(reply.has_value());
    if (!reply) return out;
    out.gated = reply->gate != nullptr;
    out.at_once = !out.gated || reply->gate->IsDurable(reply->gate_mark);
    rpc::ReplyHeader h;
    std::span<const uint8_t> results;
    std::span<const uint8_t> record(reply->head);
    EXPECT_TRUE(rpc::ParseReply(record.subspan(rpc::kRecordMarkBytes), h, results));
    auto decoded = nfs4client::CompoundResult::Decode(results);
    EXPECT_TRUE(decoded.ok());
    if (decoded.ok()) out.result = std::move(*decoded);
    return out;
  }
  static bool SentAtOnce(rpc::Dispatcher& dispatcher, const std::vector<uint8_t>& call,
                         nfsstat4* status) {
    Dispatched d = Dispatch(dispatcher, call);
    if (status && d.result) *status = d.result->status();
    return d.at_once;
  }

  // Another manifold-mds over the same namespace, state and data, with its own export rules,
  // so that a test decides which rule the loopback client falls under.
  struct RuledServer {
    std::unique_ptr<nfs4::Mds> mds;
    std::unique_ptr<rpc::Server> server;
    ~RuledServer() {
      if (server) server->Stop();
    }
  };
  std::unique_ptr<RuledServer> StartWithRules(std::vector<nfs4::ExportRule> rules) {
    auto rs = std::make_unique<RuledServer>();
    nfs4::MdsOptions mo;
    mo.meta_dir = dir_.string();
    mo.exports = nfs4::ExportRules(std::move(rules));
    rs->mds = std::make_unique<nfs4::Mds>(*ns_, *state_, *data_, *backchannel_, clock_, mo);
    auto dispatcher = std::make_shared<rpc::Dispatcher>();
    dispatcher->Add(std::make_shared<nfs4::Nfs4Program>(*rs->mds));
    rs->server = std::make_unique<rpc::Server>(rpc::ServerOptions{}, dispatcher);
    EXPECT_TRUE(rs->server->Start().ok());
    rs->server->RunInBackground();
    return rs;
  }
  static nfs4::ExportRule Rule(const char* network, bool read_only = false,
                               bool root_squash = false,
                               std::vector<rpc::AuthFlavor> flavors = {rpc::AuthFlavor::kSys}) {
    nfs4::ExportRule r;
    r.network = nfs4::Network::Parse(network).value();
    r.read_only = read_only;
    r.root_squash = root_squash;
    r.flavors = std::move(flavors);
    return r;
  }
  static Result<std::unique_ptr<Nfs4Client>> ConnectTo(uint16_t port, uint32_t uid = 0) {
    nfs4client::ClientOptions o;
    o.minor_version = 2;
    o.retries_max = 0;
    o.uid = o.gid = uid;
    return Nfs4Client::Connect("127.0.0.1", port, o);
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
  state::StateLimits state_limits_;  // read by Start
  std::optional<meta::NamespaceOptions> ns_options_;  // read by Start; unset: NamespaceOptions()
  std::unique_ptr<testlib::MemVolume> volume_store_;  // made by the first Start
  std::unique_ptr<meta::Namespace> ns_;
  std::unique_ptr<nfs4::DataStore> data_;
  testlib::MemVolume* volume_ = nullptr;  // volume_store_
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


// ---- NFSv4.2: SEEK, READ_PLUS, ALLOCATE, DEALLOCATE (RFC 7862) ------------------------------

std::vector<uint8_t> Pattern(size_t bytes, uint8_t seed) {
  std::vector<uint8_t> v(bytes);
  for (size_t i = 0; i < bytes; ++i) v[i] = uint8_t(1 + (i * 7 + seed) % 251);  // never zero
  return v;
}

class MdsNfs42Test : public MdsNfs4Test {
 protected:
  void SetUp() override {
    MdsNfs4Test::SetUp();
    if (HasFatalFailure()) return;
    c_ = Connect(2);
    ASSERT_TRUE(c_);
    auto root = c_->LookupPath("/");
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    root_ = *root;
  }
  void TearDown() override {
    c_.reset();
    MdsNfs4Test::TearDown();
  }

  // A new file holding `bytes` at each offset of `writes`, written in 1 MiB WRITEs.
  nfs4client::OpenFile MakeFile(const std::string& name,
                                std::vector<std::pair<uint64_t, std::vector<uint8_t>>> writes) {
    auto f = c_->OpenCreate(root_, name, 0644);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return {};
    for (const auto& [offset, bytes] : writes) {
      for (size_t done = 0; done < bytes.size();) {
        size_t n = std::min<size_t>(bytes.size() - done, 1 << 20);
        auto wrote = c_->Write(*f, offset + done, {bytes.data() + done, n});
        EXPECT_TRUE(wrote.ok()) << wrote.status().ToString();
        if (!wrote.ok() || *wrote == 0) return *f;
        done += *wrote;
      }
    }
    return *f;
  }

  // The whole of [offset, offset+length) by READ.
  std::vector<uint8_t> ReadAll(const nfs4client::OpenFile& f, uint64_t offset, uint64_t length) {
    std::vector<uint8_t> out;
    while (out.size() < length) {
      auto n = uint32_t(std::min<uint64_t>(length - out.size(), 1 << 20));
      auto r = c_->Read(f, offset + out.size(), n);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || r->data.empty()) break;
      out.insert(out.end(), r->data.begin(), r->data.end());
    }
    return out;
  }

  nfs4client::Attrs SizeAndChange(const nfs4client::OpenFile& f) {
    auto a = c_->GetAttr(f.fh, nfs4client::MakeBitmap({FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FILEID}));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? *a : nfs4client::Attrs{};
  }

  // The data-server file of `f`'s extent `index` (named by DataStore).
  std::string DataName(const nfs4client::OpenFile& f, uint64_t index) {
    return "f" + std::to_string(*SizeAndChange(f).fileid) + "." + std::to_string(index);
  }

  nfsstat4 StatusOf(CompoundBuilder& b) {
    auto r = c_->Run(b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->FirstError() : NFS4ERR_SERVERFAULT;
  }

  std::unique_ptr<Nfs4Client> c_;
  nfs4client::FileHandle root_;
};

TEST_F(MdsNfs42Test, SeekSeesDataBelowTheSizeAndTheHoleAtTheEnd) {
  auto f = MakeFile("f", {{0, Pattern(10000, 1)}});
  struct Case {
    uint64_t offset;
    data_content4 what;
    bool eof;
    uint64_t found;
  };
  for (const Case& k : std::vector<Case>{{0, NFS4_CONTENT_DATA, false, 0},
                                         {5000, NFS4_CONTENT_DATA, false, 5000},
                                         {9999, NFS4_CONTENT_DATA, false, 9999},
                                         {0, NFS4_CONTENT_HOLE, true, 10000},
                                         {9999, NFS4_CONTENT_HOLE, true, 10000}}) {
    auto r = c_->Seek(f, k.offset, k.what);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(k.eof, bool(r->sr_eof)) << "offset " << k.offset << " what " << k.what;
    EXPECT_EQ(k.found, r->sr_offset) << "offset " << k.offset << " what " << k.what;
  }
}

// A crash between creating an extent's data-server file and recording it in the namespace (or a
// CREATE still on its way when the MDS died) leaves a DS file that no extent names. The next
// write of that extent must use it, emptied: not fail on the name, and not show what it held.
TEST_F(MdsNfs42Test, AWriteReusesADataServerFileACrashLeftEmptied) {
  auto f = MakeFile("f", {});
  auto left = volume_->Create(DataName(f, 0));
  ASSERT_TRUE(left.ok()) << left.status().ToString();
  auto stale = Pattern(8192, 5);
  ASSERT_TRUE(volume_->Write(*left, 0, stale, volume::Stability::kFileSync).ok());

  auto bytes = Pattern(1000, 6);
  auto wrote = c_->Write(f, 0, bytes);
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  EXPECT_EQ(bytes.size(), *wrote);
  CompoundBuilder grow;  // the rest of the old DS file's length must read as zeros
  grow.PutFh(f.fh).SetAttr(f.stateid, {.size = stale.size()});
  EXPECT_NFS4(NFS4_OK, StatusOf(grow));
  auto expected = bytes;
  expected.resize(stale.size(), 0);
  EXPECT_TRUE(ReadAll(f, 0, stale.size()) == expected);
}

// A WRITE whose data reached the data server but whose size the MDS had not recorded when it
// died leaves bytes past the file's size. Growing the file, by SETATTR or by ALLOCATE, must
// show zeros there, not those bytes.
TEST_F(MdsNfs42Test, GrowingAFileShowsZerosNotBytesACrashLeftPastItsSize) {
  auto bytes = Pattern(1000, 6);
  auto f = MakeFile("f", {{0, bytes}});
  auto h = volume_->Lookup(DataName(f, 0));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto leave = [&](uint64_t offset) {  // what the crash left, written past the size
    ASSERT_TRUE(volume_->Write(*h, offset, Pattern(3000, 5), volume::Stability::kFileSync).ok());
  };
  leave(1000);
  CompoundBuilder grow;
  grow.PutFh(f.fh).SetAttr(f.stateid, {.size = 8000});
  EXPECT_NFS4(NFS4_OK, StatusOf(grow));
  auto expected = bytes;
  expected.resize(8000, 0);
  EXPECT_TRUE(ReadAll(f, 0, 8000) == expected) << "SETATTR showed bytes past the old size";

  leave(8000);
  CompoundBuilder allocate;
  allocate.PutFh(f.fh).Allocate(f.stateid, 8000, 4000);
  EXPECT_NFS4(NFS4_OK, StatusOf(allocate));
  expected.resize(12000, 0);
  EXPECT_TRUE(ReadAll(f, 0, 12000) == expected) << "ALLOCATE showed bytes past the old size";

  // A grow within what the file already holds cuts nothing.
  CompoundBuilder same;
  same.PutFh(f.fh).SetAttr(f.stateid, {.size = 12000});
  EXPECT_NFS4(NFS4_OK, StatusOf(same));
  EXPECT_TRUE(ReadAll(f, 0, 12000) == expected);
}

// The same leftover, and a WRITE past the end that leaves a gap: the gap must read as zeros.
// Only the first such WRITE of a file since the MDS started checks; bytes put past the size
// behind the MDS's back after that stand for nothing a real MDS could meet (a failed WRITE
// makes the file be checked again), so the test puts them there before the first.
TEST_F(MdsNfs42Test, AWriteLeavingAGapShowsZerosNotBytesACrashLeftPastTheSize) {
  auto bytes = Pattern(1000, 6);
  auto f = MakeFile("f", {{0, bytes}});
  auto h = volume_->Lookup(DataName(f, 0));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_TRUE(volume_->Write(*h, 1000, Pattern(3000, 5), volume::Stability::kFileSync).ok());

  auto tail = Pattern(500, 7);
  auto wrote = c_->Write(f, 6000, tail);
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  auto expected = bytes;
  expected.resize(6000, 0);
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_TRUE(ReadAll(f, 0, expected.size()) == expected) << "the gap showed bytes past the size";

  // Later WRITEs with gaps still land where they should.
  auto more = Pattern(100, 8);
  ASSERT_TRUE(c_->Write(f, 9000, more).ok());
  expected.resize(9000, 0);
  expected.insert(expected.end(), more.begin(), more.end());
  EXPECT_TRUE(ReadAll(f, 0, expected.size()) == expected);
}

// A WRITE that fails halfway leaves what reached the data server past the size; a later WRITE
// leaving a gap must check the file again, though it was checked before.
TEST_F(MdsNfs42Test, AfterAWriteFailsHalfwayAGapShowsZeros) {
  auto bytes = Pattern(1000, 6);
  auto f = MakeFile("f", {{0, bytes}});
  auto first = Pattern(100, 7);
  ASSERT_TRUE(c_->Write(f, 2000, first).ok());  // a gap: the file is checked now
  volume_->set_io_limits(4096, 4096);            // the MDS sends the next WRITE in two
  const uint64_t size = 2100;
  volume_->set_write_hook([&](const std::string&, uint64_t offset) {
    return offset >= size + 4096 ? Status(Code::kUnavailable, "down") : Status::Ok();
  });
  EXPECT_FALSE(c_->Write(f, size, Pattern(8192, 8)).ok());
  EXPECT_EQ(size, *SizeAndChange(f).size);
  volume_->set_write_hook(nullptr);

  auto tail = Pattern(10, 9);
  ASSERT_TRUE(c_->Write(f, 20000, tail).ok());
  auto expected = bytes;
  expected.resize(2000, 0);
  expected.insert(expected.end(), first.begin(), first.end());
  expected.resize(20000, 0);
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_TRUE(ReadAll(f, 0, expected.size()) == expected) << "the failed WRITE's bytes showed";
}

// At the end of file and past it there is neither data nor a hole to find: lseek(2) gives
// ENXIO there on a local file system, for an empty file too.
TEST_F(MdsNfs42Test, SeekAtOrBeyondTheEndIsNxio) {
  auto f = MakeFile("f", {{0, Pattern(10, 1)}});
  auto empty = MakeFile("empty", {});
  for (data_content4 what : {NFS4_CONTENT_DATA, NFS4_CONTENT_HOLE}) {
    for (auto [file, offset] : {std::pair{&f, 10}, std::pair{&f, 11}, std::pair{&empty, 0}}) {
      CompoundBuilder b;
      b.PutFh(file->fh).Seek(file->stateid, offset, what);
      EXPECT_NFS4(NFS4ERR_NXIO, StatusOf(b)) << "offset " << offset << " what " << what;
    }
  }
}

// COPY (RFC 7862 15.2) within the server: synchronous, committed, the destination reads back
// the source's bytes, and a count of 0 copies to the end of the source.
TEST_F(MdsNfs42Test, CopyMovesTheRangeOnTheServer) {
  auto bytes = Pattern(5 * kTestExtentBytes / 2 + 123, 4);  // across extent boundaries
  auto src = MakeFile("src", {{0, bytes}});
  auto dst = MakeFile("dst", {});
  const uint64_t count = 2 * kTestExtentBytes;
  CompoundBuilder b;
  b.PutFh(src.fh).SaveFh().PutFh(dst.fh).Copy(src.stateid, dst.stateid, 1000, 5000, count,
                                                /*synchronous=*/false);
  auto r = c_->Run(b);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const COPY4resok* copied = r->Copy();
  ASSERT_NE(nullptr, copied) << r->Describe();
  EXPECT_EQ(count, copied->cr_response.wr_count);
  EXPECT_EQ(0u, copied->cr_response.wr_callback_id.wr_callback_id_len);  // done: no callback
  EXPECT_EQ(FILE_SYNC4, copied->cr_response.wr_committed);
  EXPECT_TRUE(copied->cr_requirements.cr_synchronous);
  EXPECT_TRUE(copied->cr_requirements.cr_consecutive);
  EXPECT_FALSE(volume_->AnyUncommitted());  // FILE_SYNC4 means it
  EXPECT_EQ(5000 + count, *SizeAndChange(dst).size);
  auto back = ReadAll(dst, 0, 5000 + count);
  ASSERT_EQ(5000 + count, back.size());
  EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 5000, [](uint8_t x) { return x == 0; }));
  EXPECT_TRUE(std::equal(back.begin() + 5000, back.end(), bytes.begin() + 1000));

  auto whole = MakeFile("whole", {});
  CompoundBuilder all;
  all.PutFh(src.fh).SaveFh().PutFh(whole.fh).Copy(src.stateid, whole.stateid, 0, 0, 0);
  auto r2 = c_->Run(all);
  ASSERT_TRUE(r2.ok() && r2->Copy()) << (r2.ok() ? r2->Describe() : r2.status().ToString());
  EXPECT_EQ(bytes.size(), r2->Copy()->cr_response.wr_count);
  EXPECT_EQ(bytes, ReadAll(whole, 0, bytes.size()));

  // Within one file, to a range that does not overlap the source's.
  CompoundBuilder self;
  self.PutFh(src.fh).SaveFh().Copy(src.stateid, src.stateid, 0, bytes.size(), 4096);
  auto r3 = c_->Run(self);
  ASSERT_TRUE(r3.ok() && r3->Copy()) << (r3.ok() ? r3->Describe() : r3.status().ToString());
  auto tail = ReadAll(src, bytes.size(), 4096);
  EXPECT_TRUE(std::equal(tail.begin(), tail.end(), bytes.begin()));
}

// A copy longer than one call moves (16 MiB) is a short copy the client continues.
TEST_F(MdsNfs42Test, ALongCopyIsShortAndTheRestFollows) {
  const uint64_t size = (17u << 20) + 1;
  auto src = MakeFile("src", {{size - 1, {7}}});  // a hole, then one byte
  auto dst = MakeFile("dst", {});
  uint64_t done = 0;
  for (int call = 0; call < 2; ++call) {
    CompoundBuilder b;
    b.PutFh(src.fh).SaveFh().PutFh(dst.fh).Copy(src.stateid, dst.stateid, done, done, 0);
    auto r = c_->Run(b);
    ASSERT_TRUE(r.ok() && r->Copy()) << (r.ok() ? r->Describe() : r.status().ToString());
    done += r->Copy()->cr_response.wr_count;
    if (call == 0) {
      EXPECT_EQ(16u << 20, done);
    }
  }
  EXPECT_EQ(size, done);
  EXPECT_EQ(size, *SizeAndChange(dst).size);
  EXPECT_EQ(std::vector<uint8_t>({0, 7}), ReadAll(dst, size - 2, 2));
}

TEST_F(MdsNfs42Test, CopyRefusesWhatTheRfcForbids) {
  auto src = MakeFile("src", {{0, Pattern(10000, 5)}});
  auto dst = MakeFile("dst", {});
  auto copy = [&](const nfs4client::OpenFile& from, const nfs4client::OpenFile& to,
                  uint64_t src_offset, uint64_t dst_offset, uint64_t count) {
    CompoundBuilder b;
    b.PutFh(from.fh).SaveFh().PutFh(to.fh).Copy(from.stateid, to.stateid, src_offset,
                                                 dst_offset, count);
    return StatusOf(b);
  };
  EXPECT_NFS4(NFS4ERR_INVAL, copy(src, dst, 10001, 0, 0));      // past the source's end
  EXPECT_NFS4(NFS4ERR_INVAL, copy(src, dst, 5000, 0, 6000));    // runs past it
  EXPECT_NFS4(NFS4ERR_INVAL, copy(src, src, 0, 4000, 5000));    // overlaps, within one file
  EXPECT_NFS4(NFS4ERR_FBIG, copy(src, dst, 0, UINT64_MAX - 10, 100));
  CompoundBuilder nothing;  // nothing to copy: done at once, nothing changes
  nothing.PutFh(src.fh).SaveFh().PutFh(dst.fh).Copy(src.stateid, dst.stateid, 10000, 0, 0);
  auto none = c_->Run(nothing);
  ASSERT_TRUE(none.ok() && none->Copy()) << (none.ok() ? none->Describe() : "");
  EXPECT_EQ(0u, none->Copy()->cr_response.wr_count);
  EXPECT_EQ(0u, *SizeAndChange(dst).size);
  CompoundBuilder unsaved;  // no saved filehandle: nothing names the source
  unsaved.PutFh(dst.fh).Copy(src.stateid, dst.stateid, 0, 0, 0);
  EXPECT_NFS4(NFS4ERR_NOFILEHANDLE, StatusOf(unsaved));
  // RFC 7862 15.2.3: either side not a regular file is NFS4ERR_WRONG_TYPE.
  CompoundBuilder from_dir;
  from_dir.PutFh(root_).SaveFh().PutFh(dst.fh).Copy(src.stateid, dst.stateid, 0, 0, 0);
  EXPECT_NFS4(NFS4ERR_WRONG_TYPE, StatusOf(from_dir));
  CompoundBuilder to_dir;
  to_dir.PutFh(src.fh).SaveFh().PutFh(root_).Copy(src.stateid, dst.stateid, 0, 0, 0);
  EXPECT_NFS4(NFS4ERR_WRONG_TYPE, StatusOf(to_dir));
  // The destination's stateid must allow writing, the source's must be the source's.
  auto other = Connect(2);
  ASSERT_TRUE(other);
  auto made = other->OpenCreate(root_, "ro", 0666);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  ASSERT_TRUE(other->Close(*made).ok());
  auto read_only = c_->Open(root_, "ro", OPEN4_SHARE_ACCESS_READ);
  ASSERT_TRUE(read_only.ok()) << read_only.status().ToString();
  EXPECT_NFS4(NFS4ERR_OPENMODE, copy(src, *read_only, 0, 0, 0));
  nfs4client::OpenFile wrong_src = src;
  wrong_src.stateid = dst.stateid;
  EXPECT_NFS4(NFS4ERR_BAD_STATEID, copy(wrong_src, dst, 0, 0, 0));
  EXPECT_EQ(0u, *SizeAndChange(dst).size);
}

// Copies hold a worker each: past kCopiesInFlightMax at once, a COPY is asked to come back
// (NFS4ERR_DELAY), so other calls keep workers.
TEST_F(MdsNfs42Test, CopiesPastTheLimitAtOnceAreAskedToWait) {
  auto src = MakeFile("src", {{0, Pattern(4096, 2)}});
  struct Copier {
    std::unique_ptr<Nfs4Client> client;
    nfs4client::OpenFile src, dst;
  };
  std::vector<Copier> copiers(nfs4::kCopiesInFlightMax);
  for (size_t i = 0; i < copiers.size(); ++i) {
    copiers[i].client = Connect(2);
    ASSERT_TRUE(copiers[i].client);
    auto r = copiers[i].client->Open(root_, "src", OPEN4_SHARE_ACCESS_READ);
    auto d = copiers[i].client->OpenCreate(root_, "dst" + std::to_string(i), 0644);
    ASSERT_TRUE(r.ok() && d.ok());
    copiers[i].src = *r;
    copiers[i].dst = *d;
  }
  auto mine = MakeFile("mine", {});
  std::atomic<size_t> writing{0};
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  volume_->set_write_hook([&](const std::string&, uint64_t) {
    writing++;
    released.wait();
    return Status::Ok();
  });
  std::vector<std::thread> running;
  std::vector<nfsstat4> statuses(copiers.size(), NFS4ERR_SERVERFAULT);
  for (size_t i = 0; i < copiers.size(); ++i) {
    running.emplace_back([&, i] {
      CompoundBuilder b;
      b.PutFh(src.fh).SaveFh().PutFh(copiers[i].dst.fh).Copy(copiers[i].src.stateid,
                                                              copiers[i].dst.stateid, 0, 0, 0);
      auto r = copiers[i].client->Run(b);
      statuses[i] = r.ok() ? r->status() : NFS4ERR_SERVERFAULT;
    });
  }
  while (writing < copiers.size()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CompoundBuilder one_more;
  one_more.PutFh(src.fh).SaveFh().PutFh(mine.fh).Copy(src.stateid, mine.stateid, 0, 0, 0);
  EXPECT_NFS4(NFS4ERR_DELAY, StatusOf(one_more));
  release.set_value();
  for (std::thread& t : running) t.join();
  volume_->set_write_hook(nullptr);
  for (nfsstat4 st : statuses) EXPECT_NFS4(NFS4_OK, st);
  EXPECT_NFS4(NFS4_OK, StatusOf(one_more));  // a slot is free again
}

// RFC 7862 15.2.3: a copy that fails partway reports the bytes it copied; the client's next
// call, from there, gets the error.
TEST_F(MdsNfs42Test, ACopyThatFailsPartwayReportsWhatItCopied) {
  auto bytes = Pattern(3 * kTestExtentBytes, 6);
  auto src = MakeFile("src", {{0, bytes}});
  auto dst = MakeFile("dst", {});
  const std::string third = DataName(dst, 2);  // the destination's third extent
  volume_->set_write_hook([&](const std::string& name, uint64_t) {
    return name == third ? Status(Code::kIo, "disk error") : Status::Ok();
  });
  auto copy_from = [&](uint64_t offset) {
    CompoundBuilder b;
    b.PutFh(src.fh).SaveFh().PutFh(dst.fh).Copy(src.stateid, dst.stateid, offset, offset, 0);
    return c_->Run(b);
  };
  auto first = copy_from(0);
  ASSERT_TRUE(first.ok() && first->Copy()) << (first.ok() ? first->Describe() : "");
  EXPECT_EQ(2 * kTestExtentBytes, first->Copy()->cr_response.wr_count);
  EXPECT_EQ(FILE_SYNC4, first->Copy()->cr_response.wr_committed);
  EXPECT_FALSE(volume_->AnyUncommitted());
  auto rest = copy_from(2 * kTestExtentBytes);
  ASSERT_TRUE(rest.ok());
  EXPECT_NFS4(NFS4ERR_IO, rest->status());
  volume_->set_write_hook(nullptr);
  auto again = copy_from(2 * kTestExtentBytes);
  ASSERT_TRUE(again.ok() && again->Copy()) << (again.ok() ? again->Describe() : "");
  EXPECT_EQ(kTestExtentBytes, again->Copy()->cr_response.wr_count);
  EXPECT_EQ(bytes, ReadAll(dst, 0, bytes.size()));
}

TEST_F(MdsNfs42Test, ReadPlusGivesTheBytesAsOneDataSegmentWithEof) {
  auto bytes = Pattern(3 * kTestExtentBytes / 2, 3);  // across an extent boundary
  auto f = MakeFile("f", {{0, bytes}});
  CompoundBuilder b;
  b.PutFh(f.fh).ReadPlus(f.stateid, 1000, 1 << 20);
  auto r = c_->Run(b);
  ASSERT_TRUE(r.ok());
  const read_plus_res4* res = r->ReadPlus();
  ASSERT_NE(nullptr, res) << r->Describe();
  ASSERT_EQ(1u, res->rpr_contents.rpr_contents_len);
  const read_plus_content& seg = res->rpr_contents.rpr_contents_val[0];
  ASSERT_EQ(NFS4_CONTENT_DATA, seg.rpc_content);
  EXPECT_EQ(1000u, seg.read_plus_content_u.rpc_data.d_offset);
  const auto& d = seg.read_plus_content_u.rpc_data.d_data;
  ASSERT_EQ(1u << 20, d.d_data_len);
  EXPECT_EQ(0, std::memcmp(bytes.data() + 1000, d.d_data_val, d.d_data_len));
  EXPECT_FALSE(res->rpr_eof);

  auto last = c_->ReadPlus(f, bytes.size() - 10, 100);
  ASSERT_TRUE(last.ok()) << last.status().ToString();
  EXPECT_TRUE(last->eof);
  EXPECT_EQ(std::vector<uint8_t>(bytes.end() - 10, bytes.end()), last->data);
  auto past = c_->ReadPlus(f, bytes.size() + 5, 100);
  ASSERT_TRUE(past.ok()) << past.status().ToString();
  EXPECT_TRUE(past->eof);
  EXPECT_TRUE(past->data.empty());
  auto none = c_->ReadPlus(f, 0, 0);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->eof);
  EXPECT_TRUE(none->data.empty());
}

TEST_F(MdsNfs42Test, ReadPlusStaysWithinTheSessionReplySize) {
  auto f = MakeFile("f", {{0, Pattern(256 * 1024, 5)}});
  nfs4client::ClientOptions o;
  o.minor_version = 2;
  o.retries_max = 0;
  o.response_bytes_max = 16 * 1024;
  auto small = Nfs4Client::Connect("127.0.0.1", server_->port(), o);
  ASSERT_TRUE(small.ok()) << small.status().ToString();
  nfs4client::OpenFile anon{f.fh, nfs4client::AnonymousStateid(), {}, {}};
  auto r = (*small)->ReadPlus(anon, 0, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT(r->data.size(), 8u * 1024);
  EXPECT_LT(r->data.size(), 16u * 1024);
  EXPECT_FALSE(r->eof);
}

TEST_F(MdsNfs42Test, DeallocateZeroesTheRangeKeepsTheSizeAndIsStable) {
  auto bytes = Pattern(3 * kTestExtentBytes, 7);
  auto f = MakeFile("f", {{0, bytes}});
  auto before = SizeAndChange(f);
  const uint64_t offset = 300000, length = 2 * kTestExtentBytes;  // ends inside extent 2
  ASSERT_TRUE(c_->Deallocate(f, offset, length).ok());
  auto after = SizeAndChange(f);
  EXPECT_EQ(*before.size, *after.size);
  EXPECT_GT(*after.change, *before.change);
  auto expected = bytes;
  std::fill(expected.begin() + offset, expected.begin() + offset + length, 0);
  EXPECT_TRUE(ReadAll(f, 0, bytes.size()) == expected);
  EXPECT_FALSE(volume_->AnyUncommitted());
}

TEST_F(MdsNfs42Test, DeallocateToTheEndCutsTheDataServerFiles) {
  auto bytes = Pattern(3 * kTestExtentBytes / 2, 9);
  auto f = MakeFile("f", {{0, bytes}});
  ASSERT_TRUE(c_->Deallocate(f, 100000, bytes.size()).ok());  // runs past the end of file
  EXPECT_EQ(bytes.size(), *SizeAndChange(f).size);
  EXPECT_EQ(100000u, volume_->SizeOf(DataName(f, 0)));
  EXPECT_EQ(0u, volume_->SizeOf(DataName(f, 1)));
  auto expected = bytes;
  std::fill(expected.begin() + 100000, expected.end(), 0);
  EXPECT_TRUE(ReadAll(f, 0, bytes.size()) == expected);
  EXPECT_FALSE(volume_->AnyUncommitted());
}

TEST_F(MdsNfs42Test, DeallocatePastTheEndChangesNothing) {
  auto f = MakeFile("f", {{0, Pattern(5000, 2)}});
  auto before = SizeAndChange(f);
  ASSERT_TRUE(c_->Deallocate(f, 5000, 1 << 20).ok());
  auto after = SizeAndChange(f);
  EXPECT_EQ(5000u, *after.size);
  EXPECT_EQ(*before.change, *after.change);
  EXPECT_EQ(5000u, volume_->SizeOf(DataName(f, 0)));
}

TEST_F(MdsNfs42Test, AllocateExtendsTheSizeBacksHolesAndKeepsWrittenBytes) {
  auto head = Pattern(1000, 4), far = Pattern(5000, 6);
  const uint64_t far_at = 2 * kTestExtentBytes + 12345;  // extent 1 is never written
  auto f = MakeFile("f", {{0, head}, {far_at, far}});
  auto before = SizeAndChange(f);
  const uint64_t end = 4 * kTestExtentBytes;
  ASSERT_TRUE(c_->Allocate(f, 0, end).ok());
  auto after = SizeAndChange(f);
  EXPECT_EQ(end, *after.size);
  EXPECT_GT(*after.change, *before.change);
  std::vector<uint8_t> expected(end, 0);
  std::copy(head.begin(), head.end(), expected.begin());
  std::copy(far.begin(), far.end(), expected.begin() + far_at);
  EXPECT_TRUE(ReadAll(f, 0, end) == expected);
  for (uint64_t index = 0; index < 4; ++index) {
    EXPECT_TRUE(volume_->Backed(DataName(f, index), 0, kTestExtentBytes)) << "extent " << index;
  }
  EXPECT_FALSE(volume_->AnyUncommitted());
}

// RFC 7862 15.1: nothing a client wrote may be lost to ALLOCATE's zeros. A WRITE that arrives
// after ALLOCATE read a hole and before it wrote the zeros must wait for it.
// A WRITE another client sends from inside a volume hook, to see whether the step the hook
// interrupts holds it off. Fire (in the hook; the first call only) starts it and waits 300 ms,
// ample for a WRITE nothing holds; Join (on the test thread, after the hook fired) waits for it
// and says whether it finished inside the hook.
class WriteFromHook {
 public:
  WriteFromHook(Nfs4Client& client, const nfs4client::OpenFile& file, uint64_t offset,
                std::vector<uint8_t> data)
      : client_(client), file_(file), offset_(offset), data_(std::move(data)) {}
  ~WriteFromHook() {
    if (writer_.joinable()) writer_.join();
  }
  void Fire() {
    if (fired_.exchange(true)) return;
    writer_ = std::thread([this] {
      auto w = client_.Write(file_, offset_, data_);
      EXPECT_TRUE(w.ok()) << w.status().ToString();
      wrote_ = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    wrote_inside_ = wrote_.load();
    hook_done_ = true;  // after writer_ was set: the test thread may join it
  }
  bool fired() const { return hook_done_.load(); }
  bool Join() {
    writer_.join();
    return wrote_inside_.load();
  }

 private:
  Nfs4Client& client_;
  nfs4client::OpenFile file_;
  uint64_t offset_;
  std::vector<uint8_t> data_;
  std::atomic<bool> fired_{false}, hook_done_{false}, wrote_{false}, wrote_inside_{false};
  std::thread writer_;
};

TEST_F(MdsNfs42Test, AllocateHoldsOffAWriteBetweenItsReadAndItsZeros) {
  auto f = MakeFile("f", {{0, Pattern(4096, 1)}, {65536, Pattern(4096, 2)}});  // a hole between
  auto other = Connect(2);
  ASSERT_TRUE(other);
  nfs4client::OpenFile anon{f.fh, nfs4client::AnonymousStateid(), {}, {}};
  const auto ys = std::vector<uint8_t>(4096, 'y');
  WriteFromHook write(*other, anon, 8192, ys);
  volume_->set_read_hook([&](const std::string&, uint64_t) { write.Fire(); });
  ASSERT_TRUE(c_->Allocate(f, 0, 65536 + 4096).ok());
  volume_->set_read_hook(nullptr);
  ASSERT_TRUE(write.fired());
  EXPECT_FALSE(write.Join()) << "a WRITE ran inside ALLOCATE's read-check-write";
  EXPECT_TRUE(ReadAll(f, 8192, 4096) == ys);
}

// A shrink's cut of the data on the volumes runs after the new size is committed. A WRITE
// arriving in between must wait, or the cut would take its bytes (its size would stand over
// zeros).
TEST_F(MdsNfs42Test, AWriteWaitsForAShrinkToCutTheData) {
  auto f = MakeFile("f", {{0, Pattern(8192, 1)}});
  auto other = Connect(2);
  ASSERT_TRUE(other);
  nfs4client::OpenFile anon{f.fh, nfs4client::AnonymousStateid(), {}, {}};
  const auto ys = std::vector<uint8_t>(4096, 'y');
  WriteFromHook write(*other, anon, 0, ys);
  volume_->set_truncate_hook([&](const std::string&, uint64_t) {
    write.Fire();
    return Status::Ok();
  });
  CompoundBuilder shrink;
  shrink.PutFh(f.fh).SetAttr(f.stateid, {.size = 100});
  EXPECT_NFS4(NFS4_OK, StatusOf(shrink));
  volume_->set_truncate_hook(nullptr);
  ASSERT_TRUE(write.fired());
  EXPECT_FALSE(write.Join()) << "a WRITE ran between a shrink's new size and its cut";
  EXPECT_EQ(4096u, *SizeAndChange(f).size);
  EXPECT_TRUE(ReadAll(f, 0, 4096) == ys);
}

// Bytes a shrink cut off read as zeros when the file grows again, even when the data server
// could not make the cut at the time: the size stands, and the cut is made before the file
// grows (SETATTR or a WRITE past the end), which cannot happen until it succeeds.
TEST_F(MdsNfs42Test, BytesAFailedCutLeftNeverShowWhenTheFileGrows) {
  const auto old = Pattern(8192, 7);
  auto f = MakeFile("f", {{0, old}});
  volume_->set_truncate_hook(
      [](const std::string&, uint64_t) { return Status(Code::kIo, "the data server is down"); });
  CompoundBuilder shrink;
  shrink.PutFh(f.fh).SetAttr(f.stateid, {.size = 100});
  EXPECT_NFS4(NFS4_OK, StatusOf(shrink));
  EXPECT_EQ(100u, *SizeAndChange(f).size);
  CompoundBuilder grow;
  grow.PutFh(f.fh).SetAttr(f.stateid, {.size = 8192});
  EXPECT_NE(NFS4_OK, StatusOf(grow)) << "the file grew over bytes not cut";
  EXPECT_FALSE(c_->Write(f, 6000, Pattern(10, 8)).ok()) << "a WRITE left a gap over bytes not cut";
  EXPECT_EQ(100u, *SizeAndChange(f).size);

  volume_->set_truncate_hook(nullptr);
  const auto tail = Pattern(10, 8);
  auto wrote = c_->Write(f, 6000, tail);
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  std::vector<uint8_t> expected(old.begin(), old.begin() + 100);
  expected.resize(6000, 0);
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_TRUE(ReadAll(f, 0, 6010) == expected);
  CompoundBuilder grow_again;
  grow_again.PutFh(f.fh).SetAttr(f.stateid, {.size = 8192});
  EXPECT_NFS4(NFS4_OK, StatusOf(grow_again));
  expected.resize(8192, 0);
  EXPECT_TRUE(ReadAll(f, 0, 8192) == expected);
}

// A data server may take less than 1 MiB per call (its rtmax and wtmax), and may return a
// short READ before its file's end. WRITE and READ of 1 MiB through the MDS still move every
// byte.
TEST_F(MdsNfs42Test, DataServersWithSmallIoLimitsOrShortReadsLoseNoBytes) {
  const auto bytes = Pattern(1 << 20, 4);
  volume_->set_io_limits(64 << 10, 64 << 10);
  auto f = MakeFile("small", {{0, bytes}});
  auto r = c_->Read(f, 0, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->data == bytes) << "read back " << r->data.size() << " bytes, or other bytes";

  volume_->set_io_limits(1 << 20, 4096);
  auto g = MakeFile("short", {{0, bytes}});
  auto s = c_->Read(g, 0, 1 << 20);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->data == bytes) << "a short READ from the data server read as zeros";
}

// RFC 8881 18.32.3: a WRITE of zero bytes succeeds and changes nothing: not the size, not the
// change attribute.
TEST_F(MdsNfs42Test, AZeroLengthWriteChangesNothing) {
  auto f = MakeFile("f", {});
  auto before = SizeAndChange(f);
  auto wrote = c_->Write(f, 4096, {});
  ASSERT_TRUE(wrote.ok()) << wrote.status().ToString();
  EXPECT_EQ(0u, *wrote);
  auto after = SizeAndChange(f);
  EXPECT_EQ(0u, *after.size);
  EXPECT_EQ(*before.change, *after.change);
}

// maxfilesize is what the namespace can hold (kExtentsPerFileMax extents); past it WRITE,
// ALLOCATE and a size change are NFS4ERR_FBIG (RFC 8881 18.30, 18.32; RFC 7862 15.1).
TEST_F(MdsNfs42Test, PastMaxfilesizeIsFbig) {
  auto f = MakeFile("f", {});
  auto a = c_->GetAttr(f.fh, nfs4client::MakeBitmap({FATTR4_MAXFILESIZE}));
  ASSERT_TRUE(a.ok() && a->maxfilesize) << a.status().ToString();
  const uint64_t max = *a->maxfilesize;
  EXPECT_EQ(kTestExtentBytes * meta::kExtentsPerFileMax, max);
  CompoundBuilder at_max;
  at_max.PutFh(f.fh).SetAttr(f.stateid, {.size = max});
  EXPECT_NFS4(NFS4_OK, StatusOf(at_max));
  CompoundBuilder past;
  past.PutFh(f.fh).SetAttr(f.stateid, {.size = max + 1});
  EXPECT_NFS4(NFS4ERR_FBIG, StatusOf(past));
  CompoundBuilder huge;
  huge.PutFh(f.fh).SetAttr(f.stateid, {.size = UINT64_MAX});
  EXPECT_NFS4(NFS4ERR_FBIG, StatusOf(huge));
  CompoundBuilder write;
  const std::vector<uint8_t> one{1};
  write.PutFh(f.fh).Write(f.stateid, max, one);
  EXPECT_NFS4(NFS4ERR_FBIG, StatusOf(write));
  CompoundBuilder alloc;
  alloc.PutFh(f.fh).Allocate(f.stateid, max, 1);
  EXPECT_NFS4(NFS4ERR_FBIG, StatusOf(alloc));
}

// An OPEN that would set the size past maxfilesize is refused before any open state is made or
// changed: an open the owner has already is not upgraded behind its back (its stateid's seqid
// stays, so the owner's CLOSE still matches), and no new open is left.
TEST_F(MdsNfs42Test, AnOpenSettingASizePastMaxfilesizeIsFbigAndLeavesNoOpen) {
  auto f = MakeFile("f", {{0, Pattern(10, 1)}});
  const size_t stateids = state_->Stats().stateids;
  nfs4client::AttrSet huge;
  huge.size = uint64_t(INT64_MAX);
  CompoundBuilder b;
  b.PutFh(root_).Open(nfs4client::OpenArgs::Create(c_->open_owner(), "f", huge));
  EXPECT_NFS4(NFS4ERR_FBIG, StatusOf(b));
  EXPECT_EQ(stateids, state_->Stats().stateids);
  EXPECT_EQ(10u, *SizeAndChange(f).size);
  Status closed = c_->Close(f);
  EXPECT_TRUE(closed.ok()) << "the refused OPEN changed the owner's open: " << closed.ToString();
}

TEST_F(MdsNfs42Test, NonRegularFilesGetIsdirSymlinkOrWrongType) {
  auto fifo_fh = [&] {
    CompoundBuilder b;
    b.PutFh(root_).CreateDevice("fifo", NF4FIFO).GetFh();
    auto r = c_->Run(b);
    EXPECT_TRUE(r.ok() && r->ok());
    return r.ok() ? r->Fh() : nfs4client::FileHandle{};
  }();
  auto link_fh = [&] {
    CompoundBuilder b;
    b.PutFh(root_).CreateSymlink("link", "f").GetFh();
    auto r = c_->Run(b);
    EXPECT_TRUE(r.ok() && r->ok());
    return r.ok() ? r->Fh() : nfs4client::FileHandle{};
  }();
  const stateid4 anon = nfs4client::AnonymousStateid();
  for (auto [fh, expected] : std::vector<std::pair<nfs4client::FileHandle, nfsstat4>>{
           {root_, NFS4ERR_ISDIR}, {link_fh, NFS4ERR_SYMLINK}, {fifo_fh, NFS4ERR_WRONG_TYPE}}) {
    const std::vector<uint8_t> ten(10, 'x');
    for (int op = 0; op < 7; ++op) {
      CompoundBuilder b;
      b.PutFh(fh);
      if (op == 0) b.Seek(anon, 0, NFS4_CONTENT_DATA);
      if (op == 1) b.ReadPlus(anon, 0, 10);
      if (op == 2) b.Allocate(anon, 0, 10);
      if (op == 3) b.Deallocate(anon, 0, 10);
      if (op == 4) b.Read(anon, 0, 10);  // RFC 8881 18.22.3, 18.32.3, 18.3.3 for these three
      if (op == 5) b.Write(anon, 0, ten);
      if (op == 6) b.Commit(0, 0);
      EXPECT_NFS4(expected, StatusOf(b)) << "op " << op << " on type " << expected;
    }
  }
}

TEST_F(MdsNfs42Test, SpaceOpsCheckTheStateidAndTheRange) {
  auto f = MakeFile("f", {{0, Pattern(100, 1)}});
  stateid4 unknown = f.stateid;
  unknown.other[0] ^= 0x5a;
  auto other = Connect(2);  // its own open-owner: a read-only open, not an upgrade of f's
  ASSERT_TRUE(other);
  auto read_only = other->Open(root_, "f", OPEN4_SHARE_ACCESS_READ);
  ASSERT_TRUE(read_only.ok()) << read_only.status().ToString();
  struct Case {
    stateid4 stateid;
    uint64_t offset, length;
    nfsstat4 allocate, deallocate;
  };
  for (const Case& k : std::vector<Case>{
           {unknown, 0, 10, NFS4ERR_BAD_STATEID, NFS4ERR_BAD_STATEID},
           {f.stateid, 0, 0, NFS4ERR_INVAL, NFS4ERR_INVAL},
           {f.stateid, 10, UINT64_MAX - 5, NFS4ERR_INVAL, NFS4ERR_INVAL},
           {f.stateid, uint64_t(INT64_MAX), 10, NFS4ERR_FBIG, NFS4_OK},
           {f.stateid, 0, nfs4::kAllocateBytesMax + 1, NFS4ERR_NOSPC, NFS4_OK}}) {
    CompoundBuilder a;
    a.PutFh(f.fh).Allocate(k.stateid, k.offset, k.length);
    EXPECT_NFS4(k.allocate, StatusOf(a)) << k.offset << "+" << k.length;
    CompoundBuilder d;
    d.PutFh(f.fh).Deallocate(k.stateid, k.offset, k.length);
    EXPECT_NFS4(k.deallocate, StatusOf(d)) << k.offset << "+" << k.length;
  }
  for (bool allocate : {true, false}) {  // a stateid that allows reading only
    CompoundBuilder b;
    b.PutFh(f.fh);
    if (allocate) b.Allocate(read_only->stateid, 0, 10);
    if (!allocate) b.Deallocate(read_only->stateid, 0, 10);
    auto r = other->Run(b);
    ASSERT_TRUE(r.ok());
    EXPECT_NFS4(NFS4ERR_OPENMODE, r->FirstError()) << r->Describe();
  }
  CompoundBuilder s;
  s.PutFh(f.fh).Seek(unknown, 0, NFS4_CONTENT_DATA);
  EXPECT_NFS4(NFS4ERR_BAD_STATEID, StatusOf(s));
  EXPECT_EQ(100u, *SizeAndChange(f).size);
}

TEST_F(MdsNfs42Test, AccessNeedsWriteForSpaceAndReadForSeek) {
  auto shared = MakeFile("shared", {{0, Pattern(100, 1)}});  // 0644, owned by root
  auto secret = c_->OpenCreate(root_, "secret", 0600);
  ASSERT_TRUE(secret.ok());
  nfs4client::ClientOptions o;
  o.minor_version = 2;
  o.retries_max = 0;
  o.uid = o.gid = 1000;
  auto user = Nfs4Client::Connect("127.0.0.1", server_->port(), o);
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  const stateid4 anon = nfs4client::AnonymousStateid();
  auto status = [&](CompoundBuilder& b) {
    auto r = (*user)->Run(b);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->FirstError() : NFS4ERR_SERVERFAULT;
  };
  CompoundBuilder a, d, s, rp, ok;
  a.PutFh(shared.fh).Allocate(anon, 0, 10);
  d.PutFh(shared.fh).Deallocate(anon, 0, 10);
  s.PutFh(secret->fh).Seek(anon, 0, NFS4_CONTENT_DATA);
  rp.PutFh(secret->fh).ReadPlus(anon, 0, 10);
  ok.PutFh(shared.fh).Seek(anon, 0, NFS4_CONTENT_DATA).ReadPlus(anon, 0, 10);
  EXPECT_NFS4(NFS4ERR_ACCESS, status(a));
  EXPECT_NFS4(NFS4ERR_ACCESS, status(d));
  EXPECT_NFS4(NFS4ERR_ACCESS, status(s));
  EXPECT_NFS4(NFS4ERR_ACCESS, status(rp));
  EXPECT_NFS4(NFS4_OK, status(ok));
}

TEST_F(MdsNfs42Test, ReadOnlyExportRefusesAllocateAndDeallocate) {
  auto f = MakeFile("f", {{0, Pattern(100, 1)}});
  auto ro = StartWithRules({Rule("127.0.0.0/8", /*read_only=*/true)});
  auto c = ConnectTo(ro->server->port());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const stateid4 anon = nfs4client::AnonymousStateid();
  CompoundBuilder a, d, s;
  a.PutFh(f.fh).Allocate(anon, 0, 10);
  d.PutFh(f.fh).Deallocate(anon, 0, 10);
  s.PutFh(f.fh).Seek(anon, 0, NFS4_CONTENT_HOLE);
  for (auto [b, expected] : std::vector<std::pair<CompoundBuilder*, nfsstat4>>{
           {&a, NFS4ERR_ROFS}, {&d, NFS4ERR_ROFS}, {&s, NFS4_OK}}) {
    auto r = (*c)->Run(*b);
    ASSERT_TRUE(r.ok());
    EXPECT_NFS4(expected, r->FirstError()) << r->Describe();
  }
}

// ---- export rules per client network ---------------------------------------------------------

using MdsExportRulesTest = MdsNfs42Test;

TEST_F(MdsExportRulesTest, ANetworkWithoutARuleCannotMount) {
  auto rs = StartWithRules({Rule("10.0.0.0/8"), Rule("fd00::/8")});
  auto c = ConnectTo(rs->server->port());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("NFS4ERR_ACCESS"), std::string::npos)
      << c.status().ToString();
  // Whatever the first operation is.
  auto client = rpc::Client::Connect("127.0.0.1", rs->server->port());
  ASSERT_TRUE(client.ok());
  std::vector<uint8_t> args;
  rpc::XdrWriter w(args);
  for (uint32_t v : {0u, 1u, 1u, uint32_t(OP_PUTROOTFH)}) w.U32(v);  // tag, minor 1, one op
  auto reply = (*client)->Call(NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, rpc::AuthSysCred(0, 0),
                               args);
  ASSERT_TRUE(reply.ok());
  rpc::XdrReader r(reply->results());
  EXPECT_NFS4(NFS4ERR_ACCESS, nfsstat4(r.U32()));
  r.Opaque(1024);
  ASSERT_EQ(1u, r.U32());
  EXPECT_EQ(uint32_t(OP_PUTROOTFH), r.U32());
  EXPECT_NFS4(NFS4ERR_ACCESS, nfsstat4(r.U32()));
}

TEST_F(MdsExportRulesTest, AReadOnlyNetworkCannotWrite) {
  auto f = MakeFile("f", {{0, Pattern(100, 1)}});
  auto rs = StartWithRules({Rule("127.0.0.0/8", /*read_only=*/true)});
  auto c = ConnectTo(rs->server->port());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const stateid4 anon = nfs4client::AnonymousStateid();
  const std::vector<uint8_t> bytes(10, 'w');
  CompoundBuilder write, open_w, mkdir, setattr, read, access;
  write.PutFh(f.fh).Write(anon, 0, bytes);
  open_w.PutFh(root_).Open(nfs4client::OpenArgs::Existing((*c)->open_owner(), "f",
                                                          OPEN4_SHARE_ACCESS_WRITE));
  mkdir.PutFh(root_).CreateDir("d", {.mode = 0755});
  setattr.PutFh(f.fh).SetAttr(anon, {.size = 0});
  read.PutFh(f.fh).Read(anon, 0, 100);
  access.PutFh(f.fh).Access(ACCESS4_READ | ACCESS4_MODIFY);
  for (auto [b, expected] : std::vector<std::pair<CompoundBuilder*, nfsstat4>>{
           {&write, NFS4ERR_ROFS}, {&open_w, NFS4ERR_ROFS}, {&mkdir, NFS4ERR_ROFS},
           {&setattr, NFS4ERR_ROFS}, {&read, NFS4_OK}, {&access, NFS4_OK}}) {
    auto r = (*c)->Run(*b);
    ASSERT_TRUE(r.ok());
    EXPECT_NFS4(expected, r->FirstError()) << r->Describe();
    if (b == &access && r->Access()) {
      EXPECT_EQ(uint32_t(ACCESS4_READ), r->Access()->access);  // no MODIFY on a read-only rule
    }
  }
  EXPECT_TRUE(ReadAll(f, 0, 100) == Pattern(100, 1));
}

TEST_F(MdsExportRulesTest, TheMostSpecificRuleApplies) {
  auto secret = c_->OpenCreate(root_, "secret", 0600);  // root's, by the open server
  ASSERT_TRUE(secret.ok());
  auto f = MakeFile("f", {{0, Pattern(100, 1)}});
  auto rs = StartWithRules({Rule("127.0.0.0/8"), Rule("0.0.0.0/0"),
                            Rule("127.0.0.1", /*read_only=*/true, /*root_squash=*/true)});
  auto c = ConnectTo(rs->server->port());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const stateid4 anon = nfs4client::AnonymousStateid();
  CompoundBuilder write, read_secret;
  write.PutFh(f.fh).Write(anon, 0, std::vector<uint8_t>(10, 'w'));
  read_secret.PutFh(secret->fh).Read(anon, 0, 10);  // root squashed: 65534 may not read it
  auto w = (*c)->Run(write);
  ASSERT_TRUE(w.ok());
  EXPECT_NFS4(NFS4ERR_ROFS, w->FirstError()) << w->Describe();
  auto r = (*c)->Run(read_secret);
  ASSERT_TRUE(r.ok());
  EXPECT_NFS4(NFS4ERR_ACCESS, r->FirstError()) << r->Describe();
}

TEST_F(MdsExportRulesTest, AFlavorTheRuleDoesNotTakeGetsWrongsecAndSecinfoSaysWhich) {
  auto rs = StartWithRules({Rule("127.0.0.0/8", false, false, {rpc::AuthFlavor::kNone})});
  // By hand over a raw RPC client, AUTH_SYS throughout: the client library would stop at its
  // first filehandle operation.
  auto rpc_client = rpc::Client::Connect("127.0.0.1", rs->server->port());
  ASSERT_TRUE(rpc_client.ok());
  auto run = [&](const CompoundBuilder& b) -> Result<nfs4client::CompoundResult> {
    std::vector<uint8_t> args;
    if (Status st = b.Encode(args, 1); !st.ok()) return st;
    auto reply = (*rpc_client)->Call(NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND,
                                     rpc::AuthSysCred(0, 0), args);
    if (!reply.ok()) return reply.status();
    return nfs4client::CompoundResult::Decode(reply->results());
  };
  // Client and session operations do not use a filehandle: the flavor does not matter.
  CompoundBuilder eid;
  eid.ExchangeId({.owner_id = "wrongsec-test"});
  auto e = run(eid);
  ASSERT_TRUE(e.ok() && e->ExchangeId()) << (e.ok() ? e->Describe() : e.status().ToString());
  nfs4client::CreateSessionArgs csa;
  csa.clientid = e->ExchangeId()->eir_clientid;
  csa.sequence = e->ExchangeId()->eir_sequenceid;
  csa.fore = {0, 1 << 16, 1 << 16, 4096, 8, 1};
  csa.back = {0, 4096, 4096, 0, 2, 1};
  CompoundBuilder cs;
  cs.CreateSession(csa);
  auto session = run(cs);
  ASSERT_TRUE(session.ok() && session->CreateSession())
      << (session.ok() ? session->Describe() : session.status().ToString());
  nfs4client::SessionId sid;
  std::memcpy(sid.data(), session->CreateSession()->csr_sessionid, sid.size());
  sequenceid4 seq = 0;
  auto in_session = [&](CompoundBuilder& ops) {
    CompoundBuilder b;
    b.Sequence(sid, ++seq, 0, 0);
    for (size_t i = 0; i < ops.size(); ++i) b.Raw(ops.at(i));
    auto r = run(b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r;
  };
  CompoundBuilder getattr, lookup, secinfo;
  getattr.PutRootFh().GetAttr(nfs4client::MakeBitmap({FATTR4_SIZE}));
  lookup.PutRootFh().Lookup("f");
  secinfo.PutRootFh().SecinfoNoName();
  auto g = in_session(getattr);  // RFC 8881 2.6.3.1.1.7: WRONGSEC on the put operation
  ASSERT_TRUE(g.ok());
  EXPECT_NFS4(NFS4ERR_WRONGSEC, g->StatusOf(OP_PUTROOTFH).value_or(NFS4_OK)) << g->Describe();
  auto l = in_session(lookup);  // 2.6.3.1.1.3: on the LOOKUP, not the put before it
  ASSERT_TRUE(l.ok());
  EXPECT_NFS4(NFS4_OK, l->StatusOf(OP_PUTROOTFH).value_or(NFS4ERR_SERVERFAULT)) << l->Describe();
  EXPECT_NFS4(NFS4ERR_WRONGSEC, l->StatusOf(OP_LOOKUP).value_or(NFS4_OK)) << l->Describe();
  auto s = in_session(secinfo);  // 2.6.3.1.1.4: SECINFO_NO_NAME tells the flavors the rule takes
  ASSERT_TRUE(s.ok());
  const SECINFO4resok* flavors = s->SecinfoNoName();
  ASSERT_NE(nullptr, flavors) << s->Describe();
  ASSERT_EQ(1u, flavors->SECINFO4resok_len);
  EXPECT_EQ(uint32_t(AUTH_NONE), flavors->SECINFO4resok_val[0].flavor);
}

// A session over a raw RPC client with the fore channel attributes a test chooses
// (maxresponsesize, maxresponsesize_cached), AUTH_SYS root throughout.
class RawSession {
 public:
  static std::unique_ptr<RawSession> Open(uint16_t port, const std::string& owner,
                                          uint32_t maxresponsesize, uint32_t cached,
                                          uint32_t maxrequestsize = 1 << 16) {
    auto self = std::unique_ptr<RawSession>(new RawSession);
    auto c = rpc::Client::Connect("127.0.0.1", port);
    EXPECT_TRUE(c.ok());
    if (!c.ok()) return nullptr;
    self->rpc_ = std::move(*c);
    CompoundBuilder eid;
    eid.ExchangeId({.owner_id = owner});
    auto e = self->Run(eid);
    EXPECT_TRUE(e.ok() && e->ExchangeId()) << (e.ok() ? e->Describe() : e.status().ToString());
    if (!e.ok() || !e->ExchangeId()) return nullptr;
    self->clientid_ = e->ExchangeId()->eir_clientid;
    nfs4client::CreateSessionArgs csa;
    csa.clientid = e->ExchangeId()->eir_clientid;
    csa.sequence = e->ExchangeId()->eir_sequenceid;
    csa.fore = {0, maxrequestsize, maxresponsesize, cached, 16, 1};
    csa.back = {0, 4096, 4096, 0, 2, 1};
    CompoundBuilder cs;
    cs.CreateSession(csa);
    auto session = self->Run(cs);
    EXPECT_TRUE(session.ok() && session->CreateSession())
        << (session.ok() ? session->Describe() : session.status().ToString());
    if (!session.ok() || !session->CreateSession()) return nullptr;
    self->fore_ = session->CreateSession()->csr_fore_chan_attrs;
    std::memcpy(self->sid_.data(), session->CreateSession()->csr_sessionid, self->sid_.size());
    return self;
  }

  // The minor version of the compounds sent from now on (1 by default).
  void set_minor_version(uint32_t minor) { minor_ = minor; }

  Result<nfs4client::CompoundResult> Run(const CompoundBuilder& b) {
    std::vector<uint8_t> args;
    if (Status st = b.Encode(args, minor_); !st.ok()) return st;
    auto reply = rpc_->Call(NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND, rpc::AuthSysCred(0, 0), args);
    if (!reply.ok()) return reply.status();
    return nfs4client::CompoundResult::Decode(reply->results());
  }
  // SEQUENCE on slot 0, then `ops`.
  Result<nfs4client::CompoundResult> InSession(const CompoundBuilder& ops, bool cachethis) {
    CompoundBuilder b;
    b.Sequence(sid_, ++seq_, 0, 0, cachethis);
    for (size_t i = 0; i < ops.size(); ++i) b.Raw(ops.at(i));
    return Run(b);
  }
  // The whole RPC call (no record mark) InSession would send for `ops`, which takes the
  // slot's next sequence id: for a test that hands it to a Dispatcher itself.
  std::vector<uint8_t> Call(const CompoundBuilder& ops) {
    CompoundBuilder b;
    b.Sequence(sid_, ++seq_, 0, 0, false);
    for (size_t i = 0; i < ops.size(); ++i) b.Raw(ops.at(i));
    std::vector<uint8_t> args;
    EXPECT_TRUE(b.Encode(args, minor_).ok());
    std::vector<uint8_t> call;
    rpc::AppendCall(call, ++xid_, NFS4_PROGRAM, NFS_V4, NFSPROC4_COMPOUND,
                    rpc::AuthSysCred(0, 0));
    call.insert(call.end(), args.begin(), args.end());
    return call;
  }
  clientid4 clientid() const { return clientid_; }
  const channel_attrs4& fore() const { return fore_; }
  // The COMPOUND arguments InSession would send for `ops` (the RPC call header comes on top).
  size_t ArgsBytes(const CompoundBuilder& ops) const {
    CompoundBuilder b;
    b.Sequence(sid_, seq_ + 1, 0, 0, false);
    for (size_t i = 0; i < ops.size(); ++i) b.Raw(ops.at(i));
    std::vector<uint8_t> args;
    EXPECT_TRUE(b.Encode(args, 1).ok());
    return args.size();
  }

 private:
  RawSession() = default;
  std::unique_ptr<rpc::Client> rpc_;
  nfs4client::SessionId sid_{};
  clientid4 clientid_ = 0;
  sequenceid4 seq_ = 0;
  uint32_t xid_ = 0;
  uint32_t minor_ = 1;
  channel_attrs4 fore_{};
};

// A reply waits for the namespace's sync only when it may tell of a change (rpc::ReplyGate):
// a compound of operations on in-memory state alone (SEQUENCE, PUTFH, CLOSE, ...) that
// succeeds is answered at once, so that a CLOSE does not wait for other clients' creates to
// be synced. A failure, anything that reads the namespace, and a retry's cached reply wait.
TEST_F(MdsNfs4Test, OnlyRepliesThatMayTellOfAChangeWaitForTheSync) {
  auto s = RawSession::Open(server_->port(), "reply-gate-test", 1 << 16, 4096);
  ASSERT_TRUE(s);
  const nfs4client::StateOwner owner{s->clientid(), "gate-owner"};
  CompoundBuilder reclaimed;
  reclaimed.ReclaimComplete();
  ASSERT_TRUE(s->InSession(reclaimed, false).ok());
  CompoundBuilder create;
  create.PutRootFh().Open(nfs4client::OpenArgs::Create(owner, "f", {.mode = 0644})).GetFh();
  auto made = s->InSession(create, false);
  ASSERT_TRUE(made.ok() && made->Open()) << (made.ok() ? made->Describe() : "");
  const nfs4client::FileHandle fh = made->Fh();
  const stateid4 open_stateid = made->Open()->stateid;

  rpc::Dispatcher dispatcher;
  dispatcher.Add(std::make_shared<nfs4::Nfs4Program>(*mds_));
  std::vector<uint8_t> last_call;
  std::optional<nfs4client::CompoundResult> last;  // the decoded reply of the last call
  auto waits = [&](const CompoundBuilder& ops) {
    last.reset();
    last_call = s->Call(ops);
    Dispatched d = Dispatch(dispatcher, last_call);
    last = std::move(d.result);
    return d.gated;
  };
  CompoundBuilder getattr;
  getattr.PutFh(fh).GetAttr(nfs4client::MakeBitmap({FATTR4_SIZE}));
  EXPECT_TRUE(waits(getattr));
  CompoundBuilder lookup;
  lookup.PutRootFh().Lookup("f");
  EXPECT_TRUE(waits(lookup));
  CompoundBuilder putfh;
  putfh.PutFh(fh).GetFh();
  EXPECT_FALSE(waits(putfh));
  // A LOCK grants state and waits (it may conflict with a client dropped unsynced); a LOCKU
  // releases and does not.
  CompoundBuilder lock;
  lock.PutFh(fh).LockNew(WRITE_LT, 0, 10, open_stateid, {s->clientid(), "gate-locker"});
  EXPECT_TRUE(waits(lock));
  ASSERT_TRUE(last && last->Lock()) << (last ? last->Describe() : "");
  CompoundBuilder unlock;
  unlock.PutFh(fh).LockU(WRITE_LT, last->Lock()->lock_stateid, 0, 10);
  EXPECT_FALSE(waits(unlock));
  ASSERT_TRUE(last && last->ok()) << (last ? last->Describe() : "");
  CompoundBuilder close;
  close.PutFh(fh).Close(open_stateid);
  EXPECT_FALSE(waits(close));
  ASSERT_TRUE(last && last->ok()) << (last ? last->Describe() : "");
  // The same call again is a retry: its cached reply waits.
  auto retry = dispatcher.DispatchReply(last_call, "127.0.0.1:700", nullptr);
  ASSERT_TRUE(retry.has_value());
  EXPECT_NE(nullptr, retry->gate);
  EXPECT_TRUE(waits(close));  // closed already: an error, which waits
}

// A compound that only reads waits for the sync of the changes to what it read, not of every
// change made before it (meta::ReadMarks): a LOOKUP or GETATTR in one directory is answered
// while another directory's create is still unsynced, and one that read that create waits.
TEST_F(MdsNfs4Test, AReadOnlyReplyWaitsOnlyForChangesToWhatItRead) {
  RestartUnsynced();
  auto s = RawSession::Open(server_->port(), "read-marks-test", 1 << 16, 4096);
  ASSERT_TRUE(s);
  CompoundBuilder reclaimed;
  reclaimed.ReclaimComplete();
  ASSERT_TRUE(s->InSession(reclaimed, false).ok());
  CompoundBuilder setup;  // over TCP: its reply waits for the sync
  setup.PutRootFh().CreateDir("quiet").LookupP().CreateDir("busy");
  ASSERT_TRUE(s->InSession(setup, false).ok());

  rpc::Dispatcher dispatcher;  // replies handed back unsent, so nothing waits for a sync
  dispatcher.Add(std::make_shared<nfs4::Nfs4Program>(*mds_));
  auto answered_at_once = [&](const CompoundBuilder& ops, nfsstat4* status = nullptr) {
    return SentAtOnce(dispatcher, s->Call(ops), status);
  };
  const nfs4client::StateOwner owner{s->clientid(), "read-marks-owner"};
  CompoundBuilder create;
  create.PutRootFh().Lookup("busy").Open(nfs4client::OpenArgs::Create(owner, "fresh", {.mode = 0644}));
  nfsstat4 status = NFS4ERR_SERVERFAULT;
  EXPECT_FALSE(answered_at_once(create, &status));  // a change: it waits
  ASSERT_NFS4_OK(status);
  ASSERT_FALSE(ns_->IsDurable(ns_->DurabilityMark()));

  CompoundBuilder quiet_lookup;
  quiet_lookup.PutRootFh().Lookup("quiet").GetAttr(nfs4client::MakeBitmap({FATTR4_CHANGE}));
  EXPECT_TRUE(answered_at_once(quiet_lookup, &status));
  ASSERT_NFS4_OK(status);
  CompoundBuilder quiet_absent;
  quiet_absent.PutRootFh().Lookup("quiet").Lookup("fresh");
  EXPECT_TRUE(answered_at_once(quiet_absent, &status));  // an error resting on reads alone
  EXPECT_NFS4(NFS4ERR_NOENT, status);
  CompoundBuilder quiet_list;
  quiet_list.PutRootFh().Lookup("quiet").Readdir(
      {.cookie = 0, .dircount = 0, .maxcount = 1 << 14, .attrs = {}});
  EXPECT_TRUE(answered_at_once(quiet_list, &status));
  ASSERT_NFS4_OK(status);

  // The root's entries did not change either; "busy" did, and so did what is in it.
  CompoundBuilder busy_lookup;
  busy_lookup.PutRootFh().Lookup("busy").Lookup("fresh");
  EXPECT_FALSE(answered_at_once(busy_lookup, &status));
  ASSERT_NFS4_OK(status);
  CompoundBuilder busy_absent;
  busy_absent.PutRootFh().Lookup("busy").Lookup("other");
  EXPECT_FALSE(answered_at_once(busy_absent, &status));
  EXPECT_NFS4(NFS4ERR_NOENT, status);
  CompoundBuilder busy_list;
  busy_list.PutRootFh().Lookup("busy").Readdir(
      {.cookie = 0, .dircount = 0, .maxcount = 1 << 14, .attrs = {}});
  EXPECT_FALSE(answered_at_once(busy_list, &status));
  CompoundBuilder busy_getattr;
  busy_getattr.PutRootFh().Lookup("busy").GetAttr(nfs4client::MakeBitmap({FATTR4_SIZE}));
  EXPECT_FALSE(answered_at_once(busy_getattr, &status));
  // Several reads and an error among them; then a compound that changes something, and one
  // whose failure rests on in-memory state (PUTFH's check of the handle): both wait.
  CompoundBuilder quiet_reads;
  quiet_reads.PutRootFh().Lookup("quiet").GetAttr(nfs4client::MakeBitmap({FATTR4_MODE}));
  quiet_reads.Access(ACCESS4_READ).Lookup("nothing");
  EXPECT_TRUE(answered_at_once(quiet_reads, &status));
  EXPECT_NFS4(NFS4ERR_NOENT, status);
  CompoundBuilder bad_handle;
  bad_handle.PutFh(nfs4client::FileHandle{}).GetAttr(nfs4client::MakeBitmap({FATTR4_SIZE}));
  EXPECT_FALSE(answered_at_once(bad_handle, &status));
  EXPECT_NFS4(NFS4ERR_BADHANDLE, status);
  CompoundBuilder quiet_mkdir;
  quiet_mkdir.PutRootFh().Lookup("quiet").CreateDir("sub");
  EXPECT_FALSE(answered_at_once(quiet_mkdir, &status));
  ASSERT_NFS4_OK(status);
  EXPECT_FALSE(answered_at_once(quiet_lookup, &status));  // "quiet" has changed now

  // Once synced, the reads of "busy" are answered at once too.
  ASSERT_TRUE(ns_->WaitDurable(ns_->DurabilityMark()).ok());
  EXPECT_TRUE(answered_at_once(busy_lookup, &status));
  ASSERT_NFS4_OK(status);
  EXPECT_TRUE(answered_at_once(busy_list, &status));
  EXPECT_TRUE(answered_at_once(quiet_lookup, &status));
}

// READ, READ_PLUS and SEEK change nothing in the namespace; their replies rest on what they
// read of it (the file's record, its extents) and on the data the volume holds. So a read of a
// file nobody changed is answered while another directory's create is unsynced, and a read of
// a file whose size an unsynced WRITE changed waits for that WRITE's sync.
TEST_F(MdsNfs4Test, AReadOfDataWaitsOnlyForChangesToTheFileItRead) {
  RestartUnsynced();
  auto c = Connect(2);  // over TCP: the set-up's replies wait for their syncs
  ASSERT_TRUE(c);
  auto root = c->LookupPath("/");
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  auto quiet = c->Mkdir(*root, "quiet", 0755);
  auto busy = c->Mkdir(*root, "busy", 0755);
  ASSERT_TRUE(quiet.ok() && busy.ok());
  auto f = c->OpenCreate(*quiet, "data", 0644);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const std::vector<uint8_t> bytes = Pattern(5000, 7);
  auto wrote = c->Write(*f, 0, bytes);
  ASSERT_TRUE(wrote.ok() && *wrote == bytes.size());
  ASSERT_TRUE(c->Close(*f).ok());

  auto s = RawSession::Open(server_->port(), "read-marks-io", 1 << 16, 4096);
  ASSERT_TRUE(s);
  s->set_minor_version(2);
  CompoundBuilder reclaimed;
  reclaimed.ReclaimComplete();
  ASSERT_TRUE(s->InSession(reclaimed, false).ok());
  rpc::Dispatcher dispatcher;  // replies handed back unsent, so nothing waits for a sync
  dispatcher.Add(std::make_shared<nfs4::Nfs4Program>(*mds_));
  auto dispatch = [&](const CompoundBuilder& ops) { return Dispatch(dispatcher, s->Call(ops)); };

  const nfs4client::StateOwner owner{s->clientid(), "read-marks-io-owner"};
  CompoundBuilder create;
  create.PutFh(*busy).Open(nfs4client::OpenArgs::Create(owner, "fresh", {.mode = 0644}));
  auto created = dispatch(create);
  ASSERT_TRUE(created.result && created.result->ok());
  EXPECT_FALSE(created.at_once);
  ASSERT_FALSE(ns_->IsDurable(ns_->DurabilityMark()));

  // I/O under an open's stateid; one under a special stateid is checked against other
  // clients' state, which may rest on unsynced client records, and waits for everything.
  CompoundBuilder open;
  open.PutFh(*quiet).Open(nfs4client::OpenArgs::Existing(owner, "data"));
  auto opened = dispatch(open);
  ASSERT_TRUE(opened.result && opened.result->ok() && opened.result->Open())
      << (opened.result ? opened.result->Describe() : "");
  const stateid4 st = opened.result->Open()->stateid;
  const stateid4 anon = nfs4client::AnonymousStateid();
  CompoundBuilder anon_read;
  anon_read.PutFh(f->fh).Read(anon, 0, 10);
  auto ar = dispatch(anon_read);
  ASSERT_TRUE(ar.result && ar.result->ok()) << (ar.result ? ar.result->Describe() : "");
  EXPECT_FALSE(ar.at_once) << "a READ under a special stateid did not wait for everything";

  CompoundBuilder read;
  read.PutFh(f->fh).Read(st, 0, 8192);
  auto r = dispatch(read);
  ASSERT_TRUE(r.result && r.result->ok()) << (r.result ? r.result->Describe() : "");
  EXPECT_TRUE(r.at_once) << "a READ of a file nobody changed waited for another's create";
  ASSERT_TRUE(r.result->Read());
  const READ4resok* got = r.result->Read();
  EXPECT_EQ(std::vector<uint8_t>(got->data.data_val, got->data.data_val + got->data.data_len),
            bytes);
  EXPECT_TRUE(got->eof);
  CompoundBuilder read_plus;
  read_plus.PutFh(f->fh).ReadPlus(st, 100, 100);
  auto rp = dispatch(read_plus);
  ASSERT_TRUE(rp.result && rp.result->ok()) << (rp.result ? rp.result->Describe() : "");
  EXPECT_TRUE(rp.at_once);
  CompoundBuilder seek;
  seek.PutFh(f->fh).Seek(st, 0, NFS4_CONTENT_HOLE);
  auto sk = dispatch(seek);
  ASSERT_TRUE(sk.result && sk.result->ok()) << (sk.result ? sk.result->Describe() : "");
  EXPECT_TRUE(sk.at_once);
  CompoundBuilder past_end;  // an error that rests on the size it read
  past_end.PutFh(f->fh).Seek(st, 5000, NFS4_CONTENT_DATA);
  auto pe = dispatch(past_end);
  ASSERT_TRUE(pe.result);
  EXPECT_NFS4(NFS4ERR_NXIO, pe.result->status());
  EXPECT_TRUE(pe.at_once);

  // An unsynced WRITE past the end: reads of the file now rest on it.
  CompoundBuilder grow;
  const std::vector<uint8_t> more = Pattern(100, 8);
  grow.PutFh(f->fh).Write(st, 5000, more, UNSTABLE4);
  auto grew = dispatch(grow);
  ASSERT_TRUE(grew.result && grew.result->ok()) << (grew.result ? grew.result->Describe() : "");
  EXPECT_FALSE(grew.at_once);
  for (const CompoundBuilder* b : {&read, &read_plus, &seek}) {
    auto again = dispatch(*b);
    ASSERT_TRUE(again.result && again.result->ok());
    EXPECT_FALSE(again.at_once) << "a read of the grown file did not wait for the WRITE's sync";
  }
  ASSERT_TRUE(ns_->WaitDurable(ns_->DurabilityMark()).ok());
  auto synced = dispatch(read);
  ASSERT_TRUE(synced.result && synced.result->ok());
  EXPECT_TRUE(synced.at_once);
}

// What a read-only compound tells of a removal or a rename waits for it: a name gone (NOENT),
// a removed file's handle (STALE); a retry's cached reply waits for everything.
TEST_F(MdsNfs4Test, AReadOnlyReplyThatRestsOnARemovalOrRenameWaitsForIt) {
  RestartUnsynced();
  auto s = RawSession::Open(server_->port(), "read-marks-remove", 1 << 16, 4096);
  ASSERT_TRUE(s);
  CompoundBuilder reclaimed;
  reclaimed.ReclaimComplete();
  ASSERT_TRUE(s->InSession(reclaimed, false).ok());
  CompoundBuilder setup;
  setup.PutRootFh().CreateDir("d1").CreateDir("x").LookupP().LookupP().CreateDir("d2").LookupP()
      .CreateDir("d3");
  auto made = s->InSession(setup, false);
  ASSERT_TRUE(made.ok() && made->ok()) << (made.ok() ? made->Describe() : "");
  CompoundBuilder getfh;
  getfh.PutRootFh().Lookup("d1").Lookup("x").GetFh();
  auto got = s->InSession(getfh, false);
  ASSERT_TRUE(got.ok() && got->ok());
  const nfs4client::FileHandle x = got->Fh();
  ASSERT_TRUE(ns_->IsDurable(ns_->DurabilityMark()));

  rpc::Dispatcher dispatcher;
  dispatcher.Add(std::make_shared<nfs4::Nfs4Program>(*mds_));
  auto sent_at_once = [&](const std::vector<uint8_t>& call, nfsstat4* status) {
    return SentAtOnce(dispatcher, call, status);
  };
  nfsstat4 status = NFS4ERR_SERVERFAULT;
  CompoundBuilder rmdir;  // unsynced: nobody waits for its reply
  rmdir.PutRootFh().Lookup("d1").Remove("x");
  EXPECT_FALSE(sent_at_once(s->Call(rmdir), &status));
  ASSERT_NFS4_OK(status);
  CompoundBuilder absent;
  absent.PutRootFh().Lookup("d1").Lookup("x");
  EXPECT_FALSE(sent_at_once(s->Call(absent), &status));
  EXPECT_NFS4(NFS4ERR_NOENT, status);
  CompoundBuilder stale;
  stale.PutFh(x).GetAttr(nfs4client::MakeBitmap({FATTR4_SIZE}));
  EXPECT_FALSE(sent_at_once(s->Call(stale), &status));
  EXPECT_NFS4(NFS4ERR_STALE, status);
  CompoundBuilder elsewhere;
  elsewhere.PutRootFh().Lookup("d2").GetAttr(nfs4client::MakeBitmap({FATTR4_CHANGE}));
  EXPECT_TRUE(sent_at_once(s->Call(elsewhere), &status));

  ASSERT_TRUE(ns_->WaitDurable(ns_->DurabilityMark()).ok());
  CompoundBuilder rename;
  rename.PutRootFh().SaveFh().Rename("d2", "d2b");
  EXPECT_FALSE(sent_at_once(s->Call(rename), &status));
  ASSERT_NFS4_OK(status);
  CompoundBuilder old_name;
  old_name.PutRootFh().Lookup("d2");
  EXPECT_FALSE(sent_at_once(s->Call(old_name), &status));
  EXPECT_NFS4(NFS4ERR_NOENT, status);

  // A retry gets the reply cached for the call, which waits for everything then visible.
  ASSERT_TRUE(ns_->WaitDurable(ns_->DurabilityMark()).ok());
  CompoundBuilder quiet;
  quiet.PutRootFh().Lookup("d3").GetAttr(nfs4client::MakeBitmap({FATTR4_CHANGE}));
  const std::vector<uint8_t> call = s->Call(quiet);
  EXPECT_TRUE(sent_at_once(call, &status));
  auto other = RawSession::Open(server_->port(), "read-marks-remove-2", 1 << 16, 4096);
  ASSERT_TRUE(other);
  CompoundBuilder other_reclaimed;
  other_reclaimed.ReclaimComplete();
  ASSERT_TRUE(other->InSession(other_reclaimed, false).ok());
  CompoundBuilder unrelated;
  unrelated.PutRootFh().CreateDir("unrelated");
  EXPECT_FALSE(sent_at_once(other->Call(unrelated), &status));
  EXPECT_FALSE(sent_at_once(call, &status));
}

// A client may seek a directory to any position, as lseek(2) allows on a local file system;
// the Linux client sends it as the cookie. Cookies 1 and 2 are reserved (RFC 8881 18.23.3);
// one below the first the server issues is a position before the first entry, not the end
// of the directory; one past every cookie issued is NFS4ERR_BAD_COOKIE.
TEST_F(MdsNfs4Test, ReaddirFromACookieBeforeTheFirstEntryListsFromTheStart) {
  auto s = RawSession::Open(server_->port(), "readdir-cookie-test", 1 << 20, 1024);
  ASSERT_TRUE(s);
  CompoundBuilder mkdir;
  mkdir.PutRootFh().CreateDir("d").CreateDir("a").LookupP().CreateDir("b");
  ASSERT_TRUE(s->InSession(mkdir, false).ok());
  auto list = [&](nfs_cookie4 cookie, std::vector<nfs_cookie4>* cookies = nullptr) {
    CompoundBuilder b;
    b.PutRootFh().Lookup("d").Readdir({.cookie = cookie, .dircount = 0, .maxcount = 1 << 16,
                                       .attrs = nfs4client::MakeBitmap({FATTR4_TYPE})});
    auto r = s->InSession(b, false);
    std::vector<std::string> names;
    if (!r.ok() || r->FirstError() != NFS4_OK) {
      names.push_back(r.ok() ? std::string(state::Nfs4StatName(r->FirstError())) : "no reply");
      return names;
    }
    for (const entry4* e = r->Readdir()->reply.entries; e != nullptr; e = e->nextentry) {
      names.emplace_back(e->name.utf8string_val, e->name.utf8string_len);
      if (cookies) cookies->push_back(e->cookie);
    }
    return names;
  };
  std::vector<nfs_cookie4> cookies;
  const std::vector<std::string> all = {"a", "b"};
  ASSERT_EQ(all, list(0, &cookies));
  ASSERT_EQ(2u, cookies.size());
  for (nfs_cookie4 before = 3; before < cookies[0]; ++before) {
    EXPECT_EQ(all, list(before)) << "cookie " << before;
  }
  EXPECT_EQ(std::vector<std::string>{"b"}, list(cookies[0]));
  EXPECT_TRUE(list(cookies[1]).empty());
  for (nfs_cookie4 bad : {nfs_cookie4(1), nfs_cookie4(2), cookies[1] + 1000}) {
    EXPECT_EQ(std::vector<std::string>{"NFS4ERR_BAD_COOKIE"}, list(bad)) << "cookie " << bad;
  }
}

// RFC 8881 18.23.3: the server may return fewer entries than maxcount allows. A listing whose
// maxcount is more than the session's reply can carry stops where the room ends, instead of
// being built whole (on an I/O thread) and then refused as NFS4ERR_REP_TOO_BIG.
TEST_F(MdsNfs4Test, ReaddirStopsWhereTheSessionsReplyRoomEnds) {
  auto s = RawSession::Open(server_->port(), "readdir-room-test", 4096, 1024);
  ASSERT_TRUE(s);
  ASSERT_EQ(4096u, s->fore().ca_maxresponsesize);
  CompoundBuilder mkdir;
  mkdir.PutRootFh().CreateDir("d");
  ASSERT_TRUE(s->InSession(mkdir, false).ok());
  for (int i = 0; i < 300; ++i) {
    CompoundBuilder mk;
    mk.PutRootFh().Lookup("d").CreateDir("entry-with-a-longish-name-" + std::to_string(i));
    auto r = s->InSession(mk, false);
    ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->Describe() : r.status().ToString());
  }
  std::set<std::string> seen;
  nfs_cookie4 cookie = 0;
  for (int page = 0; page < 100; ++page) {
    CompoundBuilder list;
    list.PutRootFh().Lookup("d").Readdir(
        {.cookie = cookie, .dircount = 0, .maxcount = 1 << 20,
         .attrs = nfs4client::MakeBitmap({FATTR4_TYPE, FATTR4_FILEID})});
    auto r = s->InSession(list, false);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(NFS4_OK, r->FirstError()) << r->Describe();
    const READDIR4resok* ok = r->Readdir();
    ASSERT_NE(nullptr, ok);
    size_t n = 0;
    for (const entry4* e = ok->reply.entries; e != nullptr; e = e->nextentry, ++n) {
      seen.insert(std::string(e->name.utf8string_val, e->name.utf8string_len));
      cookie = e->cookie;
    }
    ASSERT_GT(n, 0u);
    if (ok->reply.eof) break;
  }
  EXPECT_EQ(300u, seen.size()) << "every entry, over pages the session can carry";
  // Cached replies have the cached size for room.
  CompoundBuilder cached;
  cached.PutRootFh().Lookup("d").Readdir(
      {.dircount = 0, .maxcount = 1 << 20, .attrs = nfs4client::MakeBitmap({FATTR4_TYPE})});
  auto c = s->InSession(cached, true);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_NFS4(NFS4_OK, c->FirstError()) << c->Describe();
  ASSERT_NE(nullptr, c->Readdir());
  EXPECT_FALSE(c->Readdir()->reply.eof);
}

// RFC 8881 18.36.3: ca_maxrequestsize counts the whole RPC call, its header and credential
// included (not the record mark). A call whose COMPOUND fits but whose AUTH_SYS header takes
// it over is NFS4ERR_REQ_TOO_BIG.
TEST_F(MdsNfs4Test, TheRequestSizeLimitCountsTheRpcHeader) {
  CompoundBuilder lookup;
  lookup.PutRootFh().Lookup(std::string(200, 'n'));
  // The call header: 40 bytes and the AUTH_SYS body (stamp, machine name "manifold", uid, gid,
  // no groups: 28 bytes), 68 in all. A limit 50 bytes over the arguments fits them (and the 40
  // bytes the old count assumed), not the call.
  size_t args = 0;
  {
    auto probe = RawSession::Open(server_->port(), "req-size-probe", 4096, 1024);
    ASSERT_TRUE(probe);
    args = probe->ArgsBytes(lookup);
  }
  auto s = RawSession::Open(server_->port(), "req-size-test", 4096, 1024, uint32_t(args + 50));
  ASSERT_TRUE(s);
  ASSERT_EQ(args + 50, s->fore().ca_maxrequestsize);
  auto r = s->InSession(lookup, false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NFS4(NFS4ERR_REQ_TOO_BIG, r->FirstError()) << r->Describe();
  auto bigger = RawSession::Open(server_->port(), "req-size-fits", 4096, 1024, uint32_t(args + 68));
  ASSERT_TRUE(bigger);
  auto ok = bigger->InSession(lookup, false);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_NFS4(NFS4ERR_NOENT, ok->FirstError()) << ok->Describe();  // it ran
}

// RFC 8881 2.10.6.4: NFS4ERR_REP_TOO_BIG_TO_CACHE means the operation was not done, so that
// the cached error tells the truth on a retry. An operation that changes state runs under
// sa_cachethis only if its result surely fits what the slot can cache; otherwise it is
// refused before it runs.
TEST_F(MdsNfs4Test, UnderCachethisAChangeThatMayNotFitTheCacheIsRefusedBeforeItRuns) {
  auto s = RawSession::Open(server_->port(), "cachethis-test", 1 << 16, 1024);
  ASSERT_TRUE(s);
  ASSERT_EQ(1024u, s->fore().ca_maxresponsesize_cached);  // 1 KiB of cached reply per slot
  auto in_session = [&](CompoundBuilder& ops, bool cachethis) {
    auto r = s->InSession(ops, cachethis);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r;
  };
  CompoundBuilder mkdir;
  mkdir.PutRootFh().CreateDir("d");
  auto m = in_session(mkdir, true);  // small: it fits
  ASSERT_TRUE(m.ok() && m->ok()) << m->Describe();

  // Results that fill the cacheable size but for less than a state change may need.
  const auto wide = nfs4client::MakeBitmap(
      {FATTR4_TYPE, FATTR4_CHANGE, FATTR4_SIZE, FATTR4_FILEID, FATTR4_MODE, FATTR4_NUMLINKS,
       FATTR4_OWNER, FATTR4_OWNER_GROUP, FATTR4_SPACE_USED, FATTR4_TIME_ACCESS,
       FATTR4_TIME_MODIFY, FATTR4_TIME_METADATA});
  CompoundBuilder padded_remove;
  padded_remove.PutRootFh();
  for (int i = 0; i < 5; ++i) padded_remove.GetAttr(wide);
  padded_remove.Remove("d");
  auto refused = in_session(padded_remove, true);
  ASSERT_TRUE(refused.ok());
  EXPECT_NFS4(NFS4ERR_REP_TOO_BIG_TO_CACHE, refused->StatusOf(OP_REMOVE).value_or(NFS4_OK))
      << refused->Describe();
  CompoundBuilder lookup;
  lookup.PutRootFh().Lookup("d");
  auto still = in_session(lookup, false);
  ASSERT_TRUE(still.ok());
  EXPECT_NFS4(NFS4_OK, still->FirstError()) << "refused, yet the directory went";

  // Not cached, the same compound runs.
  auto done = in_session(padded_remove, false);
  ASSERT_TRUE(done.ok());
  EXPECT_NFS4(NFS4_OK, done->FirstError()) << done->Describe();
  auto gone = in_session(lookup, false);
  ASSERT_TRUE(gone.ok());
  EXPECT_NFS4(NFS4ERR_NOENT, gone->FirstError());
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
  ro.exports = nfs4::ExportRules::Everyone(/*read_only=*/true, false, true);
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

// The delegations `holder` has counted as returned. A conflicting request may go through once
// the MDS has the DELEGRETURN, before the holder has read its reply and counted it: this waits
// up to 5 s for the first count.
uint64_t ReturnsCounted(const Nfs4Client& holder) {
  for (int i = 0; i < 500 && holder.delegations_returned() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return holder.delegations_returned();
}

}  // namespace
// Makes `name` in `root` with `c`, closes it, and opens it again with `share_access` (want bits
// included); returns the delegation type the OPEN answered (-1 if it failed) and the handle.
int OpenAgainForDelegation(Nfs4Client& c, const nfs4client::FileHandle& root,
                           const std::string& name, uint32_t share_access,
                           nfs4client::FileHandle* fh = nullptr) {
  auto f = c.OpenCreate(root, name, 0666);
  if (!f.ok() || !c.Close(*f).ok()) return -1;
  if (fh) *fh = f->fh;
  CompoundBuilder b;
  b.PutFh(root).Open(nfs4client::OpenArgs::Existing(c.open_owner(), name, share_access));
  auto r = c.Run(b);
  if (!r.ok() || r->status() != NFS4_OK) return -1;
  return r->Open()->delegation.delegation_type;
}

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
  // Without a back channel no delegation can be recalled, so none is granted.
  EXPECT_EQ(OPEN_DELEGATE_NONE,
            OpenAgainForDelegation(**c, *root, "undelegated", OPEN4_SHARE_ACCESS_READ));
  ASSERT_EQ(OPEN_DELEGATE_READ,
            OpenAgainForDelegation(*a, *root, "delegated", OPEN4_SHARE_ACCESS_READ));

  auto fb = (*b)->Open(*root, "delegated", OPEN4_SHARE_ACCESS_WRITE);
  ASSERT_TRUE(fb.ok()) << fb.status().ToString();
  EXPECT_EQ(1u, a->callbacks().cb_recall);
  EXPECT_EQ(1u, ReturnsCounted(*a));
  // The holder may return the delegation before the MDS has read its CB_RECALL reply, and the
  // open may go through in between: the count follows within moments.
  for (int i = 0; i < 500 && backchannel_->stats().recalls_answered == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
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
  ASSERT_EQ(OPEN_DELEGATE_READ,
            OpenAgainForDelegation(*a, *root, "doomed", OPEN4_SHARE_ACCESS_READ));
  auto broot = (*b)->LookupPath("/");
  ASSERT_TRUE(broot.ok());
  ASSERT_TRUE((*b)->Remove(*broot, "doomed").ok());  // DELAY, recall, return, then done
  EXPECT_EQ(1u, a->callbacks().cb_recall);
  EXPECT_EQ(1u, ReturnsCounted(*a));
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
  nfs4client::FileHandle fh;
  ASSERT_EQ(OPEN_DELEGATE_WRITE,
            OpenAgainForDelegation(*a, *root, "written",
                                   OPEN4_SHARE_ACCESS_BOTH | OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG,
                                   &fh));
  // The holder's own GETATTR needs no callback.
  ASSERT_TRUE(a->GetAttr(fh, nfs4client::MakeBitmap({FATTR4_SIZE})).ok());
  EXPECT_EQ(0u, backchannel_->stats().getattrs_sent);

  auto got = (*b)->GetAttr(fh, nfs4client::MakeBitmap({FATTR4_CHANGE, FATTR4_SIZE}));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(1u, backchannel_->stats().getattrs_sent);
  EXPECT_EQ(0u, backchannel_->stats().getattrs_answered);
  EXPECT_EQ(1u, a->callbacks().cb_recall);
  EXPECT_EQ(1u, ReturnsCounted(*a));
  // A GETATTR of neither change nor size does not ask.
  EXPECT_TRUE((*b)->GetAttr(fh, nfs4client::MakeBitmap({FATTR4_MODE})).ok());
}

// A COMPOUND as CompoundRunsInline sees it: tag "", minor version 2, the op count, the words.
std::vector<uint8_t> CompoundArgs(uint32_t op_count, std::vector<uint32_t> words) {
  std::vector<uint8_t> args;
  rpc::XdrWriter w(args);
  w.U32(0);
  w.U32(2);
  w.U32(op_count);
  for (uint32_t v : words) w.U32(v);
  return args;
}

std::vector<uint32_t> SequenceWords() {
  return {OP_SEQUENCE, 1, 2, 3, 4, 7, 0, 0, 0};  // sessionid (4 words), seqid, slot, highest, cachethis
}

std::vector<uint32_t> Concat(std::vector<std::vector<uint32_t>> parts) {
  std::vector<uint32_t> all;
  for (const auto& p : parts) all.insert(all.end(), p.begin(), p.end());
  return all;
}

// The operation right after a LOOKUP may use the inode the LOOKUP read; nothing later, nor an
// operation that put another filehandle, may: each GETATTR must describe its own current file.
TEST_F(MdsNfs4Test, AttributesAfterLookupDescribeTheCurrentFileOnly) {
  auto c = Connect(2);
  ASSERT_TRUE(c);
  auto root = c->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto d = c->Mkdir(*root, "d", 0755);
  ASSERT_TRUE(d.ok());
  auto f = c->OpenCreate(*d, "f", 0640);
  auto g = c->OpenCreate(*root, "g", 0604);
  ASSERT_TRUE(f.ok() && g.ok());
  const auto bits = nfs4client::MakeBitmap({FATTR4_FILEID, FATTR4_MODE});
  auto id_of = [&](const nfs4client::FileHandle& fh) {
    auto a = c->GetAttr(fh, bits);
    return a.ok() ? a->fileid.value_or(0) : 0;
  };
  const uint64_t d_id = id_of(*d), f_id = id_of(f->fh), g_id = id_of(g->fh);
  ASSERT_TRUE(d_id && f_id && g_id);

  CompoundBuilder b;  // LOOKUP d; LOOKUP f (uses d's inode as its directory); GETATTR of f
  b.PutRootFh().Lookup("d").Lookup("f").GetAttr(bits);
  auto r = c->Run(b);
  ASSERT_TRUE(r.ok() && r->ok()) << (r.ok() ? r->Describe() : r.status().ToString());
  EXPECT_EQ(f_id, r->Attributes()->fileid.value_or(0));
  EXPECT_EQ(0640u, r->Attributes()->mode.value_or(0));

  CompoundBuilder other;  // LOOKUP d; PUTFH g; GETATTR: g, not d
  other.PutRootFh().Lookup("d").PutFh(g->fh).GetAttr(bits);
  auto ro = c->Run(other);
  ASSERT_TRUE(ro.ok() && ro->ok()) << (ro.ok() ? ro->Describe() : ro.status().ToString());
  EXPECT_EQ(g_id, ro->Attributes()->fileid.value_or(0));

  CompoundBuilder changed;  // LOOKUP g; SETATTR mode; GETATTR sees the new mode
  nfs4client::AttrSet mode;
  mode.mode = 0600;
  stateid4 anon{};
  changed.PutRootFh().Lookup("g").SetAttr(anon, mode).GetAttr(bits);
  auto rc = c->Run(changed);
  ASSERT_TRUE(rc.ok() && rc->ok()) << (rc.ok() ? rc->Describe() : rc.status().ToString());
  EXPECT_EQ(0600u, rc->Attributes()->mode.value_or(0));
}

// The set-id bits and ownership rules a local file system applies, which the Linux client
// leaves to the server: pjdfstest's chmod/00, chmod/12, chown/00, chown/07 and rename/09 check
// them through the client.
class SetIdTest : public MdsNfs4Test {
 protected:
  void SetUp() override {
    MdsNfs4Test::SetUp();
    root_ = Connect(2);
    user_ = Connect(2, 65534);
    other_ = Connect(2, 65533);
    ASSERT_TRUE(root_ && user_ && other_);
    auto top = root_->LookupPath("/");
    ASSERT_TRUE(top.ok());
    auto d = root_->Mkdir(*top, "s", 0777);
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    dir_fh_ = *d;
  }
  // SETATTR by `c` on `fh`; the status of the SETATTR.
  nfsstat4 Set(Nfs4Client& c, const nfs4client::FileHandle& fh, const nfs4client::AttrSet& a) {
    CompoundBuilder b;
    stateid4 anon{};
    b.PutFh(fh).SetAttr(anon, a);
    auto r = c.Run(b);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->FirstError() : NFS4ERR_SERVERFAULT;
  }
  uint32_t ModeOf(const nfs4client::FileHandle& fh) {
    auto a = root_->GetAttr(fh, nfs4client::MakeBitmap({FATTR4_MODE}));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->mode.value_or(~0u) : ~0u;
  }
  // A file in the test directory owned by `uid`:`gid` with `mode`, made by root.
  nfs4client::FileHandle MakeFile(std::string_view name, uint32_t uid, uint32_t gid,
                                  uint32_t mode) {
    auto f = root_->OpenCreate(dir_fh_, name, 0644);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return {};
    EXPECT_TRUE(root_->Close(*f).ok());
    EXPECT_NFS4(NFS4_OK, Set(*root_, f->fh, {.owner = std::to_string(uid),
                                             .owner_group = std::to_string(gid)}));
    EXPECT_NFS4(NFS4_OK, Set(*root_, f->fh, {.mode = mode}));
    return f->fh;
  }

  std::unique_ptr<Nfs4Client> root_, user_, other_;
  nfs4client::FileHandle dir_fh_;
};

TEST_F(SetIdTest, AWriteWithoutPrivilegeDropsTheSetIdBits) {
  for (auto [before, after] : {std::pair{04777u, 0777u}, {02777u, 0777u}, {06777u, 0777u},
                               {02767u, 02767u}}) {  // no group-execute: S_ISGID stays
    SCOPED_TRACE(before);
    nfs4client::FileHandle fh = MakeFile("w" + std::to_string(before), 0, 0, before);
    auto f = user_->Open(dir_fh_, "w" + std::to_string(before), OPEN4_SHARE_ACCESS_WRITE);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    ASSERT_TRUE(user_->Write(*f, 0, Bytes("x")).ok());
    EXPECT_EQ(after, ModeOf(fh));
    ASSERT_TRUE(user_->Close(*f).ok());
  }
  // Root's writes keep them (CAP_FSETID).
  nfs4client::FileHandle fh = MakeFile("rootw", 0, 0, 06777);
  auto f = root_->Open(dir_fh_, "rootw", OPEN4_SHARE_ACCESS_WRITE);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE(root_->Write(*f, 0, Bytes("x")).ok());
  EXPECT_EQ(06777u, ModeOf(fh));
  ASSERT_TRUE(root_->Close(*f).ok());
}

TEST_F(SetIdTest, AllocateAndDeallocateWithoutPrivilegeDropTheSetIdBits) {
  for (bool allocate : {true, false}) {
    SCOPED_TRACE(allocate ? "ALLOCATE" : "DEALLOCATE");
    const std::string name = allocate ? "al" : "de";
    nfs4client::FileHandle fh = MakeFile(name, 0, 0, 0666);
    auto w = root_->Open(dir_fh_, name, OPEN4_SHARE_ACCESS_WRITE);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    ASSERT_TRUE(root_->Write(*w, 0, Bytes(std::string(8192, 'd'))).ok());
    ASSERT_TRUE(root_->Close(*w).ok());
    EXPECT_NFS4(NFS4_OK, Set(*root_, fh, {.mode = 06777}));
    auto f = user_->Open(dir_fh_, name, OPEN4_SHARE_ACCESS_WRITE);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    Status done = allocate ? user_->Allocate(*f, 0, 16384) : user_->Deallocate(*f, 0, 4096);
    ASSERT_TRUE(done.ok()) << done.ToString();
    EXPECT_EQ(0777u, ModeOf(fh));
    ASSERT_TRUE(user_->Close(*f).ok());
  }
}

TEST_F(SetIdTest, ATruncateWithoutPrivilegeDropsTheSetIdBits) {
  nfs4client::FileHandle fh = MakeFile("t", 65534, 65534, 06777);
  EXPECT_NFS4(NFS4_OK, Set(*user_, fh, {.size = 0}));
  EXPECT_EQ(0777u, ModeOf(fh));
}

TEST_F(SetIdTest, ChmodOutsideTheFilesGroupDropsSetGid) {
  nfs4client::FileHandle fh = MakeFile("m", 65534, 65534, 0755);
  EXPECT_NFS4(NFS4_OK, Set(*user_, fh, {.mode = 02755}));  // the owner, in the file's group
  EXPECT_EQ(02755u, ModeOf(fh));
  EXPECT_NFS4(NFS4_OK, Set(*root_, fh, {.owner_group = "65533"}));
  EXPECT_NFS4(NFS4_OK, Set(*user_, fh, {.mode = 02755}));  // the owner, not in group 65533
  EXPECT_EQ(0755u, ModeOf(fh));
  EXPECT_NFS4(NFS4_OK, Set(*root_, fh, {.mode = 02755}));  // root keeps it
  EXPECT_EQ(02755u, ModeOf(fh));
}

TEST_F(SetIdTest, ANewOwnerOrGroupDropsTheSetIdBitsOfAFileNotADirectory) {
  nfs4client::FileHandle fh = MakeFile("o", 65534, 65534, 06555);
  EXPECT_NFS4(NFS4_OK, Set(*user_, fh, {.owner_group = "65534"}));
  EXPECT_EQ(0555u, ModeOf(fh));
  EXPECT_NFS4(NFS4_OK, Set(*root_, fh, {.mode = 02545}));  // no group-execute: S_ISGID stays
  EXPECT_NFS4(NFS4_OK, Set(*root_, fh, {.owner = "65533"}));
  EXPECT_EQ(02545u, ModeOf(fh));
  auto d = root_->Mkdir(dir_fh_, "od", 06755);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_NFS4(NFS4_OK, Set(*root_, *d, {.mode = 06755}));
  EXPECT_NFS4(NFS4_OK, Set(*root_, *d, {.owner = "65533"}));
  EXPECT_EQ(06755u, ModeOf(*d));
}

TEST_F(SetIdTest, OnlyTheOwnerMayGiveAFileItsOwnOwnerOrGroup) {
  nfs4client::FileHandle fh = MakeFile("c", 65534, 65534, 0644);
  // Not the owner: even "changing" to the current owner and group is EPERM (chown_ok).
  EXPECT_NFS4(NFS4ERR_PERM, Set(*other_, fh, {.owner = "65534"}));
  EXPECT_NFS4(NFS4ERR_PERM, Set(*other_, fh, {.owner_group = "65534"}));
  EXPECT_NFS4(NFS4ERR_PERM, Set(*user_, fh, {.owner = "65533"}));
  EXPECT_NFS4(NFS4ERR_PERM, Set(*user_, fh, {.owner_group = "65533"}));
  EXPECT_NFS4(NFS4_OK, Set(*user_, fh, {.owner = "65534", .owner_group = "65534"}));
}

TEST_F(SetIdTest, ADirectoryMadeInASetGidDirectoryIsSetGid) {
  EXPECT_NFS4(NFS4_OK, Set(*root_, dir_fh_, {.mode = 02777}));
  auto sub = user_->Mkdir(dir_fh_, "sub", 0755);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_EQ(02755u, ModeOf(*sub));
  auto group_of = [&](const nfs4client::FileHandle& fh) {
    auto a = root_->GetAttr(fh, nfs4client::MakeBitmap({FATTR4_OWNER_GROUP}));
    EXPECT_TRUE(a.ok());
    return a.ok() ? a->owner_group.value_or("?") : "?";
  };
  EXPECT_EQ(group_of(dir_fh_), group_of(*sub));  // the directory's group, not the caller's
  // A setgid executable made there by a caller outside that group is not setgid.
  auto f = other_->OpenCreate(dir_fh_, "x", 02755);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(0755u, ModeOf(f->fh));
  ASSERT_TRUE(other_->Close(*f).ok());
}

TEST_F(SetIdTest, MovingADirectoryToAnotherParentNeedsWriteOnIt) {
  EXPECT_NFS4(NFS4_OK, Set(*root_, dir_fh_, {.mode = 0777}));
  auto a = root_->Mkdir(dir_fh_, "a", 0755);  // root's, not writable by the user
  auto b = user_->Mkdir(dir_fh_, "b", 0755);
  ASSERT_TRUE(a.ok() && b.ok());
  Status moved = user_->Rename(dir_fh_, "a", *b, "a");
  EXPECT_FALSE(moved.ok());
  EXPECT_NE(std::string::npos, moved.ToString().find("NFS4ERR_ACCESS")) << moved.ToString();
  EXPECT_TRUE(user_->Rename(dir_fh_, "a", dir_fh_, "a2").ok());  // same parent: ".." stays
  auto mine = user_->Mkdir(dir_fh_, "mine", 0755);
  ASSERT_TRUE(mine.ok());
  EXPECT_TRUE(user_->Rename(dir_fh_, "mine", *b, "mine").ok());
}

// Read-only compounds run on the I/O thread; one change, an unknown or undecodable operation,
// or too many operations sends the compound to the worker pool (which answers the error).
TEST_F(MdsNfs4Test, OnlyCompoundsOfReadingOperationsRunOnTheIoThread) {
  const std::vector<uint32_t> lookup_a = {OP_LOOKUP, 1, 0x61000000};
  const std::vector<uint32_t> getattr = {OP_GETATTR, 1, 1u << FATTR4_SIZE};
  auto inline_ok = [&](uint32_t n, std::vector<uint32_t> words) {
    return nfs4::CompoundRunsInline(CompoundArgs(n, std::move(words)), *mds_);
  };
  EXPECT_TRUE(inline_ok(4, Concat({SequenceWords(), {OP_PUTROOTFH}, lookup_a, getattr})));
  EXPECT_TRUE(inline_ok(4, Concat({SequenceWords(), {OP_PUTROOTFH}, {OP_READDIR, 0, 0, 0, 0, 4096,
                                   32768, 1, 1u << FATTR4_TYPE}, {OP_GETFH}})));
  // Changes run inline only when commits are deferred (their replies wait for the sync).
  EXPECT_EQ(Deferred(),
            inline_ok(3, Concat({SequenceWords(), {OP_PUTROOTFH}, {OP_REMOVE, 1, 0x61000000}})));
  const std::vector<uint32_t> stateid = {0, 0, 0, 0};
  EXPECT_EQ(Deferred(), inline_ok(3, Concat({SequenceWords(), {OP_PUTROOTFH}, {OP_SETATTR},
                                             stateid, {2, 0, 1u << (FATTR4_MODE - 32), 4, 0644}})));
  // A new size may cut data on a volume: never inline.
  EXPECT_FALSE(inline_ok(3, Concat({SequenceWords(), {OP_PUTROOTFH}, {OP_SETATTR}, stateid,
                                    {1, 1u << FATTR4_SIZE, 8, 0, 0}})));
  EXPECT_FALSE(inline_ok(4, Concat({SequenceWords(), {OP_PUTROOTFH}, lookup_a, {OP_WRITE}})));
  EXPECT_FALSE(inline_ok(2, Concat({SequenceWords(), {9999}})));
  EXPECT_FALSE(inline_ok(3, Concat({SequenceWords(), {OP_PUTROOTFH}, {OP_LOOKUP, 100}})));
  EXPECT_FALSE(inline_ok(0, {}));
  std::vector<uint32_t> many;
  for (uint32_t i = 0; i <= nfs4::kCompoundOpsMax; ++i) many.push_back(OP_PUTROOTFH);
  EXPECT_FALSE(inline_ok(nfs4::kCompoundOpsMax + 1, many));

  // Over TCP: a stat runs inline, a create does not.
  auto c = Connect();
  ASSERT_TRUE(c);
  auto root = c->LookupPath("/");
  ASSERT_TRUE(root.ok());
  uint64_t before = server_->stats().calls_inline.load();
  ASSERT_TRUE(c->GetAttr(*root, nfs4client::MakeBitmap({FATTR4_SIZE})).ok());
  EXPECT_EQ(before + 1, server_->stats().calls_inline.load());
  auto f = c->OpenCreate(*root, "made", 0644);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(Deferred(), server_->stats().calls_inline.load() > before + 1);

  // While a client holds a write delegation, GETATTR may need its CB_GETATTR answer, which
  // arrives on an I/O thread: it goes to a worker then. LOOKUP alone stays inline.
  nfs4client::FileHandle fh;
  ASSERT_EQ(OPEN_DELEGATE_WRITE,
            OpenAgainForDelegation(*c, *root, "delegated",
                                   OPEN4_SHARE_ACCESS_BOTH | OPEN4_SHARE_ACCESS_WANT_WRITE_DELEG,
                                   &fh));
  EXPECT_FALSE(inline_ok(4, Concat({SequenceWords(), {OP_PUTROOTFH}, lookup_a, getattr})));
  EXPECT_TRUE(inline_ok(3, Concat({SequenceWords(), {OP_PUTROOTFH}, lookup_a})));
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

// OPEN UNCHECKED4 with a size on an existing file is a write: it needs write access, meets other
// opens' DENY_WRITE before anything is cut, and then truncates.
TEST_F(MdsNfs4Test, TruncatingOpenHonoursDenyWriteBeforeCutting) {
  auto a = Connect(2);
  auto b = Connect(2);
  ASSERT_TRUE(a && b);
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto f = a->OpenCreate(*root, "kept", 0666);
  ASSERT_TRUE(f.ok());
  std::vector<uint8_t> bytes(1000, 'k');
  ASSERT_TRUE(a->Write(*f, 0, bytes).ok());
  ASSERT_TRUE(a->Close(*f).ok());
  // a holds it open with DENY_WRITE (and no delegation, which b's write would recall).
  nfs4client::OpenArgs deny = nfs4client::OpenArgs::Existing(
      a->open_owner(), "kept", OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_NO_DELEG);
  deny.share_deny = OPEN4_SHARE_DENY_WRITE;
  CompoundBuilder ca;
  ca.PutFh(*root).Open(deny);
  auto ra = a->Run(ca);
  ASSERT_TRUE(ra.ok() && ra->ok()) << (ra.ok() ? ra->Describe() : ra.status().ToString());
  auto size_of = [&]() {
    auto attrs = b->GetAttr(f->fh, nfs4client::MakeBitmap({FATTR4_SIZE}));
    return attrs.ok() && attrs->size ? *attrs->size : UINT64_MAX;
  };
  nfs4client::AttrSet zero;
  zero.size = 0;
  for (uint32_t access : {OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_ACCESS_READ}) {
    nfs4client::OpenArgs trunc = nfs4client::OpenArgs::Create(b->open_owner(), "kept", zero);
    trunc.share_access = access;
    CompoundBuilder cb;
    cb.PutFh(*root).Open(trunc);
    auto rb = b->Run(cb);
    ASSERT_TRUE(rb.ok());
    EXPECT_NFS4(access == OPEN4_SHARE_ACCESS_BOTH ? NFS4ERR_SHARE_DENIED : NFS4ERR_INVAL,
                rb->status())
        << rb->Describe();
    EXPECT_EQ(1000u, size_of());
  }
  // Without the deny, the same open cuts the file.
  CompoundBuilder close;
  close.PutFh(f->fh).Close(ra->Open()->stateid);
  auto rc = a->Run(close);
  ASSERT_TRUE(rc.ok() && rc->ok());
  CompoundBuilder cb;
  cb.PutFh(*root).Open(nfs4client::OpenArgs::Create(b->open_owner(), "kept", zero));
  auto rb = b->Run(cb);
  ASSERT_TRUE(rb.ok());
  EXPECT_NFS4(NFS4_OK, rb->status()) << rb->Describe();
  EXPECT_EQ(0u, size_of());
}

// ---- files removed while open (RFC 8881 18.16.4; docs/protocol.md) ---------------------------

class MdsOrphanTest : public MdsNfs4Test {
 protected:
  // A client with a fixed owner (so that it can come back after a restart and reclaim), which
  // retries NFS4ERR_DELAY (a REMOVE waits for delegations to be returned).
  std::unique_ptr<Nfs4Client> ConnectOwner(const std::string& owner, bool reclaim_complete = true) {
    nfs4client::ClientOptions o;
    o.owner_id = owner;
    o.reclaim_complete = reclaim_complete;
    o.retry_grace = false;
    auto c = Nfs4Client::Connect("127.0.0.1", server_->port(), o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? std::move(*c) : nullptr;
  }
  uint64_t FileIdOf(Nfs4Client& c, const nfs4client::FileHandle& fh) {
    auto a = c.GetAttr(fh, nfs4client::MakeBitmap({FATTR4_FILEID}));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->fileid.value_or(0) : 0;
  }
  uint32_t NumLinks(Nfs4Client& c, const nfs4client::FileHandle& fh) {
    auto a = c.GetAttr(fh, nfs4client::MakeBitmap({FATTR4_NUMLINKS}));
    EXPECT_TRUE(a.ok()) << a.status().ToString();
    return a.ok() ? a->numlinks.value_or(UINT32_MAX) : UINT32_MAX;
  }
  std::string ReadText(Nfs4Client& c, const nfs4client::OpenFile& f) {
    auto r = c.Read(f, 0, 4096);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? Text(r->data) : "";
  }
  // A opens /name (made here) and writes `text`; its fileid and the data-server file.
  nfs4client::OpenFile OpenAndWrite(Nfs4Client& a, const std::string& name,
                                    const std::string& text) {
    auto root = a.LookupPath("/");
    EXPECT_TRUE(root.ok());
    auto f = a.OpenCreate(*root, name, 0644);
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    if (!f.ok()) return {};
    auto wrote = a.Write(*f, 0, Bytes(text));
    EXPECT_TRUE(wrote.ok()) << wrote.status().ToString();
    fileid_ = FileIdOf(a, f->fh);
    data_name_ = "f" + std::to_string(fileid_) + ".0";
    EXPECT_TRUE(volume_->Exists(data_name_));
    return *f;
  }
  bool IsOrphan(uint64_t fileid) {
    auto list = ns_->ListOrphans(0, meta::kListPageEntriesMax);
    EXPECT_TRUE(list.ok()) << list.status().ToString();
    if (!list.ok()) return false;
    for (const auto& o : *list) {
      if (o.fileid == fileid) return true;
    }
    return false;
  }
  // The file and its data are gone, and the namespace is consistent.
  void ExpectPurged() {
    // With deferred durability the data goes once the purge is synced (no reply waited here).
    ns_->QuiesceDurabilityCallbacks();
    EXPECT_FALSE(IsOrphan(fileid_));
    EXPECT_EQ(Code::kStale, ns_->GetInode(fileid_).status().code());
    EXPECT_FALSE(volume_->Exists(data_name_));
    auto counts = ns_->Check(1000);
    EXPECT_TRUE(counts.ok()) << counts.status().ToString();
  }

  uint64_t fileid_ = 0;
  std::string data_name_;
};

// A keeps reading and writing a file B removed; numlinks is 0; A's CLOSE releases it.
TEST_F(MdsOrphanTest, AFileRemovedWhileOpenStaysUsableUntilItsLastClose) {
  auto a = ConnectOwner("orphan-a");
  auto b = ConnectOwner("orphan-b");
  ASSERT_TRUE(a && b);
  nfs4client::OpenFile f = OpenAndWrite(*a, "doomed", "hello world");
  // A second open of A's, by another owner: the file stays until both are closed.
  CompoundBuilder second;
  second.PutFh(f.fh).Open(nfs4client::OpenArgs{
      0, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE, {a->clientid(), "second-owner"},
      nfs4client::OpenHow::NoCreate(), nfs4client::OpenClaim::Fh()});
  auto rs = a->Run(second);
  ASSERT_TRUE(rs.ok());
  ASSERT_EQ(NFS4_OK, rs->status()) << rs->Describe();
  nfs4client::OpenFile f2{f.fh, rs->Open()->stateid, {}, {}};

  auto broot = b->LookupPath("/");
  ASSERT_TRUE(broot.ok());
  ASSERT_TRUE(b->Remove(*broot, "doomed").ok());
  EXPECT_FALSE(b->LookupPath("/doomed").ok());
  EXPECT_EQ(1u, mds_->orphan_stats().orphaned.load());
  EXPECT_TRUE(IsOrphan(fileid_));

  EXPECT_EQ("hello world", ReadText(*a, f));
  auto more = a->Write(f, 11, Bytes(", still here"));
  ASSERT_TRUE(more.ok()) << more.status().ToString();
  EXPECT_EQ("hello world, still here", ReadText(*a, f2));
  EXPECT_EQ(0u, NumLinks(*a, f.fh));
  EXPECT_EQ(0u, NumLinks(*b, f.fh));  // anyone with the handle sees the same file

  ASSERT_TRUE(a->Close(f).ok());
  EXPECT_TRUE(volume_->Exists(data_name_));  // f2 still has it open
  EXPECT_EQ("hello world, still here", ReadText(*a, f2));
  EXPECT_EQ(0u, mds_->SweepOrphans());
  ASSERT_TRUE(a->Close(f2).ok());
  EXPECT_EQ(1u, mds_->orphan_stats().purged.load());
  ExpectPurged();
  CompoundBuilder g;
  g.PutFh(f.fh).GetAttr(nfs4client::MakeBitmap({FATTR4_SIZE}));
  auto rg = a->Run(g);
  ASSERT_TRUE(rg.ok());
  EXPECT_NFS4(NFS4ERR_STALE, rg->FirstError()) << rg->Describe();
}

TEST_F(MdsOrphanTest, AFileRenamedOverWhileOpenStaysUsableUntilItsLastClose) {
  auto a = ConnectOwner("orphan-a");
  auto b = ConnectOwner("orphan-b");
  ASSERT_TRUE(a && b);
  nfs4client::OpenFile f = OpenAndWrite(*a, "target", "old bytes");
  auto broot = b->LookupPath("/");
  ASSERT_TRUE(broot.ok());
  auto other = b->OpenCreate(*broot, "source", 0644);
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(b->Write(*other, 0, Bytes("new bytes")).ok());
  ASSERT_TRUE(b->Close(*other).ok());
  ASSERT_TRUE(b->Rename(*broot, "source", *broot, "target").ok());
  EXPECT_TRUE(IsOrphan(fileid_));
  EXPECT_EQ("old bytes", ReadText(*a, f));  // the open still reads the file it opened
  ASSERT_TRUE(a->Write(f, 0, Bytes("OLD")).ok());
  EXPECT_EQ("OLD bytes", ReadText(*a, f));
  EXPECT_EQ(0u, NumLinks(*a, f.fh));
  auto named = b->LookupPath("/target");
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(1u, NumLinks(*b, *named));
  ASSERT_TRUE(a->Close(f).ok());
  ExpectPurged();
  auto still = b->Open(*broot, "target", OPEN4_SHARE_ACCESS_READ);
  ASSERT_TRUE(still.ok());
  EXPECT_EQ("new bytes", ReadText(*b, *still));
  ASSERT_TRUE(b->Close(*still).ok());
}

// Only open files are kept: a file nobody has open goes with its last name, as before.
TEST_F(MdsOrphanTest, AFileNobodyHasOpenGoesWithItsLastName) {
  auto a = ConnectOwner("orphan-a");
  ASSERT_TRUE(a);
  nfs4client::OpenFile f = OpenAndWrite(*a, "closed", "bytes");
  ASSERT_TRUE(a->Close(f).ok());
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(a->Remove(*root, "closed").ok());
  EXPECT_EQ(0u, mds_->orphan_stats().orphaned.load());
  ExpectPurged();
}

// RFC 8881 18.16.4: every OPEN says the file will outlive the removal of its last name.
TEST_F(MdsOrphanTest, OpenRepliesCarryPreserveUnlinked) {
  auto a = ConnectOwner("orphan-a");
  ASSERT_TRUE(a);
  CompoundBuilder b;
  b.PutRootFh().Open(nfs4client::OpenArgs::Create(a->open_owner(), "f", {}));
  auto r = a->Run(b);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(NFS4_OK, r->status()) << r->Describe();
  EXPECT_TRUE(r->Open()->rflags & OPEN4_RESULT_PRESERVE_UNLINKED);
  EXPECT_TRUE(r->Open()->rflags & OPEN4_RESULT_LOCKTYPE_POSIX);
}

// An orphan never gets a name again (Linux's linkat(2) of an unlinked file: ENOENT).
TEST_F(MdsOrphanTest, LinkToAFileRemovedWhileOpenIsNoent) {
  auto a = ConnectOwner("orphan-a");
  ASSERT_TRUE(a);
  nfs4client::OpenFile f = OpenAndWrite(*a, "doomed", "x");
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(a->Remove(*root, "doomed").ok());  // its own open keeps it
  CompoundBuilder b;
  b.PutFh(f.fh).SaveFh().PutFh(*root).Link("again");
  auto r = a->Run(b);
  ASSERT_TRUE(r.ok());
  EXPECT_NFS4(NFS4ERR_NOENT, r->FirstError()) << r->Describe();
  EXPECT_FALSE(a->LookupPath("/again").ok());
  ASSERT_TRUE(a->Close(f).ok());
  ExpectPurged();
}

// Opens also go without a CLOSE (here revoked; lease expiry and a client's restart alike): the
// sweeper purges the orphans nobody has open and leaves the others.
TEST_F(MdsOrphanTest, TheSweeperPurgesOrphansWhoseOpensWentWithoutAClose) {
  auto a = ConnectOwner("orphan-a");
  auto b = ConnectOwner("orphan-b");
  ASSERT_TRUE(a && b);
  nfs4client::OpenFile kept = OpenAndWrite(*b, "kept", "b's");
  const uint64_t kept_id = fileid_;
  nfs4client::OpenFile f = OpenAndWrite(*a, "revoked", "a's");
  auto root = b->LookupPath("/");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(b->Remove(*root, "revoked").ok());
  ASSERT_TRUE(b->Remove(*root, "kept").ok());
  EXPECT_EQ(0u, mds_->SweepOrphans());
  EXPECT_TRUE(IsOrphan(fileid_));
  EXPECT_LT(0u, state_->RevokeClientState(a->clientid(), state::RevokeReason::kAdmin));
  EXPECT_EQ(1u, mds_->SweepOrphans());
  ExpectPurged();
  EXPECT_TRUE(IsOrphan(kept_id));
  EXPECT_EQ("b's", ReadText(*b, kept));
  ASSERT_TRUE(b->Close(kept).ok());
  EXPECT_FALSE(IsOrphan(kept_id));
}

// After a restart the orphan is still in the store; nothing is purged while clients may
// reclaim. A client that does not reclaim its open loses the file when the grace period ends.
TEST_F(MdsOrphanTest, AfterARestartAnOrphanNobodyReclaimsGoesWhenTheGraceIsOver) {
  auto a = ConnectOwner("orphan-a");
  ASSERT_TRUE(a);
  OpenAndWrite(*a, "doomed", "bytes");
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(a->Remove(*root, "doomed").ok());
  a.reset();  // DESTROY_SESSION; DESTROY_CLIENTID is refused (its open): the record stays
  Stop();
  state_limits_.grace_time_s = 1;
  Start(nfs4::MdsOptions{});
  ASSERT_TRUE(state_->InGrace());
  EXPECT_EQ(0u, mds_->SweepOrphans());
  EXPECT_TRUE(IsOrphan(fileid_));
  EXPECT_TRUE(volume_->Exists(data_name_));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(state_->InGrace());  // its time is up, but only the expirer's tick ends it
  EXPECT_EQ(0u, mds_->SweepOrphans());
  state_->ExpireClients(clock_.Now());
  ASSERT_FALSE(state_->InGrace());
  EXPECT_EQ(1u, mds_->SweepOrphans());
  ExpectPurged();
}

// A client that reclaims its open of an orphan (CLAIM_PREVIOUS by filehandle) in the grace
// period keeps the file, with its data, until it closes it.
TEST_F(MdsOrphanTest, AfterARestartAReclaimedOrphanStaysUntilClosed) {
  auto a = ConnectOwner("orphan-a");
  ASSERT_TRUE(a);
  nfs4client::OpenFile f = OpenAndWrite(*a, "doomed", "reclaimed bytes");
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  ASSERT_TRUE(a->Remove(*root, "doomed").ok());
  a.reset();
  Stop();
  Start(nfs4::MdsOptions{});
  ASSERT_TRUE(state_->InGrace());
  auto again = ConnectOwner("orphan-a", /*reclaim_complete=*/false);
  ASSERT_TRUE(again);
  CompoundBuilder reclaim;
  reclaim.PutFh(f.fh).Open(nfs4client::OpenArgs{
      0, OPEN4_SHARE_ACCESS_BOTH, OPEN4_SHARE_DENY_NONE, again->open_owner(),
      nfs4client::OpenHow::NoCreate(), nfs4client::OpenClaim::Previous(OPEN_DELEGATE_NONE)});
  auto r = again->Run(reclaim);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(NFS4_OK, r->status()) << r->Describe();
  nfs4client::OpenFile reclaimed{f.fh, r->Open()->stateid, {}, {}};
  CompoundBuilder done;
  done.ReclaimComplete(false);
  auto rc = again->Run(done);
  ASSERT_TRUE(rc.ok() && rc->ok());
  ASSERT_FALSE(state_->InGrace());  // the only client that could reclaim has finished
  EXPECT_EQ(0u, mds_->SweepOrphans());
  EXPECT_EQ("reclaimed bytes", ReadText(*again, reclaimed));
  EXPECT_EQ(0u, NumLinks(*again, f.fh));
  ASSERT_TRUE(again->Close(reclaimed).ok());
  ExpectPurged();
}

// OPEN and REMOVE of the same file race, and so do the CLOSE and the REMOVE. Whichever wins,
// an OPEN that succeeds can use the file until its CLOSE (never NFS4ERR_STALE), and once every
// name is removed and every open closed nothing is left, without the sweeper: no orphan, no
// data-server file.
TEST_F(MdsOrphanTest, OpenCloseAndRemoveRacingLeaveNoStaleOpenAndNothingBehind) {
  constexpr int kRounds = 100;
  constexpr uint32_t kDelayMaxUs = 1000;  // about one OPEN or REMOVE over loopback
  const char* env = std::getenv("MANIFOLD_SEED");
  const uint32_t seed = env && *env ? uint32_t(std::strtoul(env, nullptr, 0))
                                    : std::random_device{}();
  std::fprintf(stderr, "[ seed     ] MANIFOLD_SEED=%u (timing-dependent: replays the delays)\n",
               seed);
  std::mt19937 rng(seed);
  auto a = ConnectOwner("orphan-a");
  auto b = ConnectOwner("orphan-b");
  ASSERT_TRUE(a && b);
  auto aroot = a->LookupPath("/");
  auto broot = b->LookupPath("/");
  ASSERT_TRUE(aroot.ok() && broot.ok());
  int opened = 0;
  for (int round = 0; round < kRounds; round++) {
    const std::string name = "race" + std::to_string(round);
    auto made = b->OpenCreate(*broot, name, 0644);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    ASSERT_TRUE(b->Write(*made, 0, Bytes("x")).ok());
    ASSERT_TRUE(b->Close(*made).ok());
    const auto remove_after = std::chrono::microseconds(rng() % kDelayMaxUs);
    const auto open_after = std::chrono::microseconds(rng() % kDelayMaxUs);
    Status removed;
    std::thread remover([&] {
      std::this_thread::sleep_for(remove_after);
      removed = b->Remove(*broot, name);
    });
    std::this_thread::sleep_for(open_after);
    auto f = a->Open(*aroot, name, OPEN4_SHARE_ACCESS_BOTH);
    if (f.ok()) {
      opened++;
      EXPECT_EQ("x", ReadText(*a, *f)) << name << " seed " << seed;
      EXPECT_TRUE(a->Write(*f, 1, Bytes("y")).ok()) << name << " seed " << seed;
      EXPECT_TRUE(a->Close(*f).ok()) << name << " seed " << seed;
    } else {
      EXPECT_EQ(Code::kNotFound, f.status().code()) << f.status().ToString();
    }
    remover.join();
    ASSERT_TRUE(removed.ok()) << removed.ToString();
  }
  std::fprintf(stderr, "[ figures  ] %d of %d opens won the race, %llu files were orphans\n",
               opened, kRounds,
               static_cast<unsigned long long>(mds_->orphan_stats().orphaned.load()));
  // With deferred durability an orphan's data goes once its purge is synced, and the last
  // CLOSE's reply does not wait for that sync (it tells of no namespace change).
  ns_->QuiesceDurabilityCallbacks();
  auto left = ns_->ListOrphans(0, meta::kListPageEntriesMax);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty()) << left->size() << " orphans left, seed " << seed;
  EXPECT_EQ(mds_->orphan_stats().orphaned.load(), mds_->orphan_stats().purged.load());
  EXPECT_EQ(0u, volume_->FileCount());
  auto counts = ns_->Check(1000);
  ASSERT_TRUE(counts.ok()) << counts.status().ToString();
  EXPECT_EQ(1u, counts->inodes);  // the root alone
}

// A write through the MDS creates a data-server file for a new extent, then records it. Should
// the file go in between (removed with nobody having it open, or an orphan purged, here by a
// write with the anonymous stateid), the new data-server file is removed too, not left behind.
TEST_F(MdsOrphanTest, AWriteRacingWithTheFilesRemovalLeavesNoDataBehind) {
  auto a = ConnectOwner("orphan-a");
  auto b = ConnectOwner("orphan-b");
  ASSERT_TRUE(a && b);
  auto root = a->LookupPath("/");
  ASSERT_TRUE(root.ok());
  auto made = a->OpenCreate(*root, "racing", 0666);
  ASSERT_TRUE(made.ok());
  ASSERT_TRUE(a->Close(*made).ok());
  auto broot = b->LookupPath("/");
  ASSERT_TRUE(broot.ok());
  Status removed(Code::kInternal, "the hook did not run");
  volume_->set_create_hook([&](const std::string&) { removed = b->Remove(*broot, "racing"); });
  nfs4client::OpenFile anon{made->fh, nfs4client::AnonymousStateid(), {}, {}};
  auto wrote = a->Write(anon, 0, Bytes("lost"));
  volume_->set_create_hook(nullptr);
  ASSERT_TRUE(removed.ok()) << removed.ToString();
  EXPECT_EQ(Code::kStale, wrote.status().code()) << wrote.status().ToString();
  EXPECT_EQ(0u, volume_->FileCount());
}

}  // namespace manifold
