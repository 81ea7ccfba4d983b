// CompoundBuilder and CompoundResult: what the builder encodes decodes back (with the stock
// rpcgen xdr_COMPOUND4args) to the ops and arguments that were put in; results decode into
// typed views and describe themselves by RFC names.

#include "nfs4client/compound.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "nfs4client/names.h"
#include "rpc/xdr_codec.h"

namespace manifold::nfs4client {
namespace {

using Decoded = rpc::XdrDecoded<COMPOUND4args>;

std::string Str(const utf8string& s) { return std::string(s.utf8string_val, s.utf8string_len); }

std::vector<uint8_t> Bytes(const char* p, u_int n) {
  return std::vector<uint8_t>(reinterpret_cast<const uint8_t*>(p),
                              reinterpret_cast<const uint8_t*>(p) + n);
}

// Encodes `c` (with `first` in front), then decodes it with the generated routine.
void RoundTrip(const CompoundBuilder& c, Decoded& out, const nfs_argop4* first = nullptr,
               uint32_t minor = 1) {
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(c.Encode(bytes, minor, first).ok());
  ASSERT_TRUE(out.Decode(bytes)) << "xdr_COMPOUND4args rejected the builder's encoding";
}

SessionId TestSession() {
  SessionId id;
  for (size_t i = 0; i < id.size(); i++) id[i] = uint8_t(0xa0 + i);
  return id;
}

TEST(CompoundBuilder, EncodesOpsAndArgsThatDecodeBackWithTheGeneratedRoutine) {
  const FileHandle fh = {1, 2, 3, 4, 5};
  const std::vector<uint8_t> data(5000, 0x5a);
  CompoundBuilder c("tag-1");
  c.PutFh(fh).Lookup("dir").GetAttr(MakeBitmap({FATTR4_TYPE, FATTR4_SIZE, FATTR4_MODE}));
  c.Write(CurrentStateid(), 4096, data, DATA_SYNC4).GetFh();

  Decoded d{xdrproc_t(xdr_COMPOUND4args)};
  RoundTrip(c, d, nullptr, 2);
  EXPECT_EQ(Str(d->tag), "tag-1");
  EXPECT_EQ(d->minorversion, 2u);
  ASSERT_EQ(d->argarray.argarray_len, 5u);
  const nfs_argop4* ops = d->argarray.argarray_val;
  EXPECT_EQ(ops[0].argop, OP_PUTFH);
  const nfs_fh4& got_fh = ops[0].nfs_argop4_u.opputfh.object;
  EXPECT_EQ(Bytes(got_fh.nfs_fh4_val, got_fh.nfs_fh4_len), fh);
  EXPECT_EQ(ops[1].argop, OP_LOOKUP);
  EXPECT_EQ(Str(ops[1].nfs_argop4_u.oplookup.objname), "dir");
  EXPECT_EQ(ops[2].argop, OP_GETATTR);
  const bitmap4& bm = ops[2].nfs_argop4_u.opgetattr.attr_request;
  ASSERT_EQ(bm.bitmap4_len, 2u);  // FATTR4_MODE is 33: second word
  EXPECT_EQ(bm.bitmap4_val[0], (1u << FATTR4_TYPE) | (1u << FATTR4_SIZE));
  EXPECT_EQ(bm.bitmap4_val[1], 1u << (FATTR4_MODE - 32));
  const WRITE4args& w = ops[3].nfs_argop4_u.opwrite;
  EXPECT_EQ(ops[3].argop, OP_WRITE);
  EXPECT_TRUE(SameStateid(w.stateid, CurrentStateid()));
  EXPECT_EQ(w.offset, 4096u);
  EXPECT_EQ(w.stable, DATA_SYNC4);
  EXPECT_EQ(Bytes(w.data.data_val, w.data.data_len), data);
  EXPECT_EQ(ops[4].argop, OP_GETFH);
}

TEST(CompoundBuilder, FirstOpGoesBeforeTheBuilderOps) {
  CompoundBuilder seq;
  seq.Sequence(TestSession(), 7, 3, 5, true);
  CompoundBuilder c;
  c.PutRootFh().GetFh();

  Decoded d{xdrproc_t(xdr_COMPOUND4args)};
  RoundTrip(c, d, &seq.at(0));
  ASSERT_EQ(d->argarray.argarray_len, 3u);
  const SEQUENCE4args& s = d->argarray.argarray_val[0].nfs_argop4_u.opsequence;
  EXPECT_EQ(d->argarray.argarray_val[0].argop, OP_SEQUENCE);
  EXPECT_EQ(std::memcmp(s.sa_sessionid, TestSession().data(), NFS4_SESSIONID_SIZE), 0);
  EXPECT_EQ(s.sa_sequenceid, 7u);
  EXPECT_EQ(s.sa_slotid, 3u);
  EXPECT_EQ(s.sa_highest_slotid, 5u);
  EXPECT_TRUE(s.sa_cachethis);
  EXPECT_EQ(d->argarray.argarray_val[1].argop, OP_PUTROOTFH);
}

TEST(CompoundBuilder, OpenCarriesEveryCreateModeAndClaim) {
  Verifier v = {1, 2, 3, 4, 5, 6, 7, 8};
  StateOwner owner{0x1122334455667788ull, "open-owner"};
  CompoundBuilder c;
  OpenArgs excl = OpenArgs::Create(owner, "f", {});
  excl.how = OpenHow::Exclusive41(v, AttrSet{.mode = 0640});
  c.Open(excl);
  OpenArgs guarded = OpenArgs::Create(owner, "g", AttrSet{.size = 0});
  guarded.how.mode = GUARDED4;
  guarded.share_deny = OPEN4_SHARE_DENY_WRITE;
  c.Open(guarded);
  OpenArgs by_fh = OpenArgs::Existing(owner, "", OPEN4_SHARE_ACCESS_READ);
  by_fh.claim = OpenClaim::Fh();
  c.Open(by_fh);
  stateid4 deleg = CurrentStateid();
  OpenArgs cur = OpenArgs::Existing(owner, "h");
  cur.claim = OpenClaim::DelegateCur(deleg, "h");
  c.Open(cur);

  Decoded d{xdrproc_t(xdr_COMPOUND4args)};
  RoundTrip(c, d);
  ASSERT_EQ(d->argarray.argarray_len, 4u);
  const OPEN4args& a0 = d->argarray.argarray_val[0].nfs_argop4_u.opopen;
  EXPECT_EQ(a0.owner.clientid, owner.clientid);
  EXPECT_EQ(Bytes(a0.owner.owner.owner_val, a0.owner.owner.owner_len),
            std::vector<uint8_t>(owner.owner.begin(), owner.owner.end()));
  EXPECT_EQ(a0.openhow.opentype, OPEN4_CREATE);
  EXPECT_EQ(a0.openhow.openflag4_u.how.mode, EXCLUSIVE4_1);
  const creatverfattr& both = a0.openhow.openflag4_u.how.createhow4_u.ch_createboth;
  EXPECT_EQ(std::memcmp(both.cva_verf, v.data(), v.size()), 0);
  Attrs attrs = DecodeAttrs(both.cva_attrs);
  EXPECT_EQ(attrs.mode, 0640u);
  EXPECT_EQ(a0.claim.claim, CLAIM_NULL);
  EXPECT_EQ(Str(a0.claim.open_claim4_u.file), "f");

  const OPEN4args& a1 = d->argarray.argarray_val[1].nfs_argop4_u.opopen;
  EXPECT_EQ(a1.openhow.openflag4_u.how.mode, GUARDED4);
  EXPECT_EQ(a1.share_deny, uint32_t(OPEN4_SHARE_DENY_WRITE));
  EXPECT_EQ(DecodeAttrs(a1.openhow.openflag4_u.how.createhow4_u.createattrs).size, 0u);

  const OPEN4args& a2 = d->argarray.argarray_val[2].nfs_argop4_u.opopen;
  EXPECT_EQ(a2.openhow.opentype, OPEN4_NOCREATE);
  EXPECT_EQ(a2.claim.claim, CLAIM_FH);
  EXPECT_EQ(a2.share_access, uint32_t(OPEN4_SHARE_ACCESS_READ));

  const OPEN4args& a3 = d->argarray.argarray_val[3].nfs_argop4_u.opopen;
  EXPECT_EQ(a3.claim.claim, CLAIM_DELEGATE_CUR);
  EXPECT_TRUE(SameStateid(a3.claim.open_claim4_u.delegate_cur_info.delegate_stateid, deleg));
  EXPECT_EQ(Str(a3.claim.open_claim4_u.delegate_cur_info.file), "h");
}

TEST(CompoundBuilder, SessionOpsCarryTheirArguments) {
  ExchangeIdArgs ex;
  ex.owner_id = "client-owner-1";
  ex.verifier = {9, 9, 9, 9, 1, 1, 1, 1};
  ex.flags = EXCHGID4_FLAG_USE_NON_PNFS;
  CreateSessionArgs cs;
  cs.clientid = 42;
  cs.sequence = 1;
  cs.flags = CREATE_SESSION4_FLAG_CONN_BACK_CHAN;
  cs.fore = {0, 1 << 20, 1 << 20, 4096, 16, 8};
  cs.back = {0, 4096, 4096, 0, 2, 1};
  cs.cb_sys_uid_gid = std::pair<uint32_t, uint32_t>(1000, 100);
  CompoundBuilder c;
  c.ExchangeId(ex).CreateSession(cs).DestroySession(TestSession()).DestroyClientid(42);

  Decoded d{xdrproc_t(xdr_COMPOUND4args)};
  RoundTrip(c, d);
  ASSERT_EQ(d->argarray.argarray_len, 4u);
  const EXCHANGE_ID4args& e = d->argarray.argarray_val[0].nfs_argop4_u.opexchange_id;
  const auto& owner = e.eia_clientowner.co_ownerid;
  EXPECT_EQ(std::string(owner.co_ownerid_val, owner.co_ownerid_len), "client-owner-1");
  EXPECT_EQ(e.eia_flags, uint32_t(EXCHGID4_FLAG_USE_NON_PNFS));
  EXPECT_EQ(e.eia_state_protect.spa_how, SP4_NONE);
  ASSERT_EQ(e.eia_client_impl_id.eia_client_impl_id_len, 1u);
  EXPECT_EQ(Str(e.eia_client_impl_id.eia_client_impl_id_val[0].nii_name), "manifold-nfs4client");
  const CREATE_SESSION4args& s = d->argarray.argarray_val[1].nfs_argop4_u.opcreate_session;
  EXPECT_EQ(s.csa_clientid, 42u);
  EXPECT_EQ(s.csa_flags, uint32_t(CREATE_SESSION4_FLAG_CONN_BACK_CHAN));
  EXPECT_EQ(s.csa_fore_chan_attrs.ca_maxrequests, 8u);
  EXPECT_EQ(s.csa_back_chan_attrs.ca_maxoperations, 2u);
  EXPECT_EQ(s.csa_cb_program, uint32_t(NFS4_CALLBACK));
  ASSERT_EQ(s.csa_sec_parms.csa_sec_parms_len, 1u);
  EXPECT_EQ(s.csa_sec_parms.csa_sec_parms_val[0].cb_secflavor, uint32_t(AUTH_SYS));
  EXPECT_EQ(s.csa_sec_parms.csa_sec_parms_val[0].callback_sec_parms4_u.cbsp_sys_cred.aup_uid,
            1000u);
  EXPECT_EQ(d->argarray.argarray_val[3].nfs_argop4_u.opdestroy_clientid.dca_clientid, 42u);
}

// Every helper, in one compound: the decoded opnums match in order, and re-encoding what was
// decoded gives the same bytes (nothing the builder wrote was dropped or misplaced).
TEST(CompoundBuilder, EveryHelperRoundTripsByteForByte) {
  StateOwner lo{7, "lock-owner"};
  stateid4 s = CurrentStateid();
  CompoundBuilder c;
  c.PutRootFh()
      .PutPubFh()
      .SaveFh()
      .RestoreFh()
      .LookupP()
      .Access(ACCESS4_READ)
      .SetAttr(s, AttrSet{.mode = 0600, .owner = "1000", .time_modify_set = SetToServerTime()})
      .Verify(AttrSet{.type = NF4REG})
      .NVerify(AttrSet{.size = 1})
      .Secinfo("x")
      .SecinfoNoName(SECINFO_STYLE4_PARENT)
      .CreateDir("d", AttrSet{.mode = 0755})
      .CreateSymlink("l", "/target")
      .CreateDevice("b", NF4BLK, {8, 1})
      .CreateDevice("p", NF4FIFO)
      .Remove("r")
      .Rename("a", "b")
      .Link("n")
      .Readdir({.attrs = MakeBitmap({FATTR4_FILEID})})
      .Readlink()
      .OpenDowngrade(s, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE)
      .Close(s)
      .DelegReturn(s)
      .LockNew(WRITE_LT, 0, 10, s, lo)
      .LockExisting(READ_LT, 10, 10, s)
      .LockT(WRITE_LT, 0, NFS4_UINT64_MAX, lo)
      .LockU(WRITE_LT, s, 0, 10)
      .Read(s, 0, 100)
      .Commit()
      .LayoutGet({})
      .GetDeviceInfo({}, LAYOUT4_FLEX_FILES)
      .LayoutReturn({.body = {1, 2, 3}})
      .LayoutCommit({.last_write_offset = 99})
      .Seek(s, 0, NFS4_CONTENT_HOLE)
      .Allocate(s, 0, 4096)
      .Deallocate(s, 0, 4096)
      .ReadPlus(s, 0, 4096)
      .GetXattr("user.a")
      .SetXattr("user.a", std::vector<uint8_t>{1})
      .ListXattrs()
      .RemoveXattr("user.a")
      .TestStateid(std::vector<stateid4>{s, s})
      .FreeStateid(s)
      .ReclaimComplete(true)
      .BindConnToSession(TestSession(), CDFC4_BACK_OR_BOTH);
  const std::vector<nfs_opnum4> want = {OP_PUTROOTFH,
                                        OP_PUTPUBFH,
                                        OP_SAVEFH,
                                        OP_RESTOREFH,
                                        OP_LOOKUPP,
                                        OP_ACCESS,
                                        OP_SETATTR,
                                        OP_VERIFY,
                                        OP_NVERIFY,
                                        OP_SECINFO,
                                        OP_SECINFO_NO_NAME,
                                        OP_CREATE,
                                        OP_CREATE,
                                        OP_CREATE,
                                        OP_CREATE,
                                        OP_REMOVE,
                                        OP_RENAME,
                                        OP_LINK,
                                        OP_READDIR,
                                        OP_READLINK,
                                        OP_OPEN_DOWNGRADE,
                                        OP_CLOSE,
                                        OP_DELEGRETURN,
                                        OP_LOCK,
                                        OP_LOCK,
                                        OP_LOCKT,
                                        OP_LOCKU,
                                        OP_READ,
                                        OP_COMMIT,
                                        OP_LAYOUTGET,
                                        OP_GETDEVICEINFO,
                                        OP_LAYOUTRETURN,
                                        OP_LAYOUTCOMMIT,
                                        OP_SEEK,
                                        OP_ALLOCATE,
                                        OP_DEALLOCATE,
                                        OP_READ_PLUS,
                                        OP_GETXATTR,
                                        OP_SETXATTR,
                                        OP_LISTXATTRS,
                                        OP_REMOVEXATTR,
                                        OP_TEST_STATEID,
                                        OP_FREE_STATEID,
                                        OP_RECLAIM_COMPLETE,
                                        OP_BIND_CONN_TO_SESSION};

  std::vector<uint8_t> bytes;
  ASSERT_TRUE(c.Encode(bytes, 2).ok());
  Decoded d{xdrproc_t(xdr_COMPOUND4args)};
  ASSERT_TRUE(d.Decode(bytes));
  ASSERT_EQ(d->argarray.argarray_len, want.size());
  for (size_t i = 0; i < want.size(); i++) {
    EXPECT_EQ(d->argarray.argarray_val[i].argop, want[i])
        << "op " << i << ": " << Nfs4OpName(d->argarray.argarray_val[i].argop);
  }
  std::vector<uint8_t> again;
  ASSERT_TRUE(rpc::XdrEncode(again, xdrproc_t(xdr_COMPOUND4args), d.get()));
  EXPECT_EQ(again, bytes);
  // One pass with a room guess: too small (then sized), exact or larger, after other bytes.
  for (size_t guess : {size_t(0), size_t(7), bytes.size() - 1, bytes.size(), bytes.size() * 3}) {
    std::vector<uint8_t> guessed = {0xAB, 0xCD};
    ASSERT_TRUE(rpc::XdrEncode(guessed, xdrproc_t(xdr_COMPOUND4args), d.get(), guess)) << guess;
    ASSERT_EQ(guessed.size(), bytes.size() + 2) << guess;
    EXPECT_EQ(std::vector<uint8_t>(guessed.begin() + 2, guessed.end()), bytes) << guess;
    EXPECT_EQ(guessed[0], 0xAB);
  }

  const createtype4& dev = d->argarray.argarray_val[13].nfs_argop4_u.opcreate.objtype;
  EXPECT_EQ(dev.type, NF4BLK);
  EXPECT_EQ(dev.createtype4_u.devdata.specdata1, 8u);
  const linktext4& link =
      d->argarray.argarray_val[12].nfs_argop4_u.opcreate.objtype.createtype4_u.linkdata;
  EXPECT_EQ(std::string(link.linktext4_val, link.linktext4_len), "/target");
  const LOCK4args& lock = d->argarray.argarray_val[23].nfs_argop4_u.oplock;
  EXPECT_TRUE(lock.locker.new_lock_owner);
  EXPECT_EQ(lock.locker.locker4_u.open_owner.lock_owner.clientid, 7u);
  EXPECT_EQ(d->argarray.argarray_val[32]
                .nfs_argop4_u.oplayoutcommit.loca_last_write_offset.newoffset4_u.no_offset,
            99u);
}

TEST(CompoundBuilder, RawOpIsSentAsGiven) {
  CompoundBuilder c;
  nfs_argop4 op{};
  op.argop = OP_RENEW;  // NFSv4.0-only: a 4.1 server must answer NFS4ERR_NOTSUPP
  op.nfs_argop4_u.oprenew.clientid = 99;
  c.Raw(op);
  Decoded d{xdrproc_t(xdr_COMPOUND4args)};
  RoundTrip(c, d);
  ASSERT_EQ(d->argarray.argarray_len, 1u);
  EXPECT_EQ(d->argarray.argarray_val[0].nfs_argop4_u.oprenew.clientid, 99u);
}

TEST(CompoundBuilder, MinorVersionOverrideWins) {
  CompoundBuilder c;
  c.PutRootFh();
  c.set_minor_version(7);
  Decoded d{xdrproc_t(xdr_COMPOUND4args)};
  RoundTrip(c, d, nullptr, 1);
  EXPECT_EQ(d->minorversion, 7u);
}

TEST(CompoundBuilder, OverTheOpsBoundIsAnEncodeErrorNotACrash) {
  CompoundBuilder c;
  for (size_t i = 0; i <= kCompoundOpsMax; i++) c.GetFh();
  std::vector<uint8_t> bytes;
  Status s = c.Encode(bytes, 1);
  EXPECT_EQ(s.code(), Code::kInvalid) << s.ToString();
}

TEST(CompoundBuilder, ArgumentsOutliveTheCallersBuffers) {
  CompoundBuilder c;
  {
    std::string name = "temporary-name";
    std::vector<uint8_t> fh = {9, 8, 7};
    c.PutFh(fh).Lookup(name);
    name.assign(name.size(), 'X');
    fh.assign(3, 0);
  }
  Decoded d{xdrproc_t(xdr_COMPOUND4args)};
  RoundTrip(c, d);
  EXPECT_EQ(Str(d->argarray.argarray_val[1].nfs_argop4_u.oplookup.objname), "temporary-name");
}

// ---- attributes -----------------------------------------------------------------------------

TEST(Attrs, AttrSetEncodesInAttributeOrderAndDecodesBack) {
  AttrSet in{.type = NF4DIR,
             .change = 5,
             .size = 1 << 20,
             .fileid = 77,
             .mode = 0751,
             .owner = "1234",
             .owner_group = "100",
             .time_modify_set = SetToClientTime(10, 20)};
  std::vector<uint8_t> vals;
  Bitmap mask = in.Encode(vals);
  Attrs out = DecodeAttrs(mask, vals);
  // time_modify_set is write-only: the decoder does not know its shape and stops there.
  EXPECT_FALSE(out.complete);
  EXPECT_EQ(out.stopped_at, uint32_t(FATTR4_TIME_MODIFY_SET));
  EXPECT_EQ(out.type, NF4DIR);
  EXPECT_EQ(out.change, 5u);
  EXPECT_EQ(out.size, 1u << 20);
  EXPECT_EQ(out.fileid, 77u);
  EXPECT_EQ(out.mode, 0751u);
  EXPECT_EQ(out.owner, "1234");
  EXPECT_EQ(out.owner_group, "100");
}

TEST(Attrs, DecoderSkipsAttributesItDoesNotKeep) {
  std::vector<uint8_t> vals;
  rpc::XdrWriter w(vals);
  Bitmap mask =
      MakeBitmap({FATTR4_SIZE, FATTR4_CANSETTIME, FATTR4_FILES_FREE, FATTR4_MIMETYPE, FATTR4_MODE});
  w.U64(100);        // size
  w.U32(1);          // cansettime (skipped)
  w.U64(5);          // files_free (skipped)
  w.String("text");  // mimetype (skipped)
  w.U32(0644);       // mode
  Attrs a = DecodeAttrs(mask, vals);
  EXPECT_TRUE(a.complete);
  EXPECT_EQ(a.size, 100u);
  EXPECT_EQ(a.mode, 0644u);
}

TEST(Attrs, TruncatedValuesStopTheDecoderWithoutCrashing) {
  std::vector<uint8_t> vals = {0, 0, 0};
  Attrs a = DecodeAttrs(MakeBitmap({FATTR4_SIZE}), vals);
  EXPECT_FALSE(a.complete);
  EXPECT_FALSE(a.size.has_value());
  std::vector<uint8_t> huge_count = {0xff, 0xff, 0xff, 0xff};
  a = DecodeAttrs(MakeBitmap({FATTR4_SUPPORTED_ATTRS}), huge_count);
  EXPECT_FALSE(a.complete);
}

// ---- results --------------------------------------------------------------------------------

// Encodes a COMPOUND4res of SEQUENCE OK, PUTFH OK, then `last` (OPEN with `last_status`).
std::vector<uint8_t> EncodeResult(nfsstat4 last_status, bool with_getfh = false) {
  std::vector<nfs_resop4> ops(with_getfh ? 4 : 3);
  std::memset(ops.data(), 0, ops.size() * sizeof(nfs_resop4));
  ops[0].resop = OP_SEQUENCE;
  ops[0].nfs_resop4_u.opsequence.SEQUENCE4res_u.sr_resok4.sr_sequenceid = 12;
  ops[1].resop = OP_PUTFH;
  ops[2].resop = OP_OPEN;
  ops[2].nfs_resop4_u.opopen.status = last_status;
  char fh[] = {1, 2, 3};
  if (with_getfh) {
    ops[3].resop = OP_GETFH;
    ops[3].nfs_resop4_u.opgetfh.GETFH4res_u.resok4.object = {3, fh};
  }
  COMPOUND4res res{};
  res.status = with_getfh ? NFS4_OK : last_status;
  res.resarray = {u_int(ops.size()), ops.data()};
  std::vector<uint8_t> bytes;
  EXPECT_TRUE(rpc::XdrEncode(bytes, xdrproc_t(xdr_COMPOUND4res), &res));
  return bytes;
}

TEST(CompoundResult, DescribeNamesEveryOpAndStatus) {
  auto r = CompoundResult::Decode(EncodeResult(NFS4ERR_SHARE_DENIED));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Describe(), "SEQUENCE OK, PUTFH OK, OPEN NFS4ERR_SHARE_DENIED");
  EXPECT_EQ(r->status(), NFS4ERR_SHARE_DENIED);
  EXPECT_EQ(r->FirstError(), NFS4ERR_SHARE_DENIED);
  EXPECT_EQ(r->StatusOf(OP_OPEN), NFS4ERR_SHARE_DENIED);
  EXPECT_FALSE(r->StatusOf(OP_GETFH).has_value());
  EXPECT_EQ(r->Open(), nullptr);  // failed: no typed result
  ASSERT_NE(r->Sequence(), nullptr);
  EXPECT_EQ(r->Sequence()->sr_sequenceid, 12u);
}

TEST(CompoundResult, TypedResultsOfSuccessfulOps) {
  auto r = CompoundResult::Decode(EncodeResult(NFS4_OK, true));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->ok());
  EXPECT_NE(r->Open(), nullptr);
  EXPECT_EQ(r->Fh(), (FileHandle{1, 2, 3}));
  EXPECT_TRUE(r->Fh(1).empty());  // there is no second GETFH
}

TEST(CompoundResult, DescribeShowsACompoundStatusWithNoResults) {
  COMPOUND4res res{};
  res.status = NFS4ERR_MINOR_VERS_MISMATCH;
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(rpc::XdrEncode(bytes, xdrproc_t(xdr_COMPOUND4res), &res));
  auto r = CompoundResult::Decode(bytes);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Describe(), "COMPOUND NFS4ERR_MINOR_VERS_MISMATCH");
}

TEST(CompoundResult, GarbageIsCorruptionNotACrash) {
  std::vector<uint8_t> junk = {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  auto r = CompoundResult::Decode(junk);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
}

TEST(Names, StatusAndOpNamesAreTheRfcSpelling) {
  EXPECT_STREQ(Nfs4StatName(NFS4_OK), "NFS4_OK");
  EXPECT_STREQ(Nfs4StatName(NFS4ERR_BAD_STATEID), "NFS4ERR_BAD_STATEID");
  EXPECT_STREQ(Nfs4StatName(NFS4ERR_XATTR2BIG), "NFS4ERR_XATTR2BIG");
  EXPECT_STREQ(Nfs4StatName(nfsstat4(123456)), "NFS4ERR_(unknown)");
  EXPECT_STREQ(Nfs4OpName(OP_SEQUENCE), "SEQUENCE");
  EXPECT_STREQ(Nfs4OpName(OP_REMOVEXATTR), "REMOVEXATTR");
  EXPECT_STREQ(Nfs4OpName(OP_ILLEGAL), "ILLEGAL");
  EXPECT_STREQ(Nfs4CbOpName(OP_CB_LAYOUTRECALL), "CB_LAYOUTRECALL");
}

}  // namespace
}  // namespace manifold::nfs4client
