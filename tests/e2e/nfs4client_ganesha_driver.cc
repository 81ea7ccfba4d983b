// nfs4client_ganesha_driver: drives the project's NFSv4.1/4.2 client library against a real
// third-party server (NFS-Ganesha; run by tests/e2e/nfs4client_ganesha.sh). Prints one line per
// check ("PASS name", "FAIL name: why") and INFO lines for what the server may or may not
// support, then a summary of every op and the statuses it got.
//
// Usage: nfs4client_ganesha_driver HOST PORT EXPORT_PSEUDO_PATH MINOR_VERSION
// Exit status: 0 every check passed, 1 a check failed, 2 usage or no connection.

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "nfs4client/compound.h"
#include "nfs4client/names.h"
#include "nfs4client/session.h"

namespace manifold::nfs4client {
namespace {

// ---- bookkeeping ----------------------------------------------------------------------------

struct Checker {
  int failed = 0;
  int passed = 0;
  std::mutex mu;
  std::map<std::string, std::set<std::string>> op_statuses;  // "OPEN" -> {"OK", "NFS4ERR_..."}

  void Check(const std::string& name, bool ok, const std::string& why = "") {
    std::printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", name.c_str(), ok || why.empty() ? "" : ": ",
                ok ? "" : why.c_str());
    std::fflush(stdout);
    ok ? passed++ : failed++;
  }
  void Info(const std::string& name, const std::string& what) {
    std::printf("INFO %s: %s\n", name.c_str(), what.c_str());
    std::fflush(stdout);
  }
  void Note(const CompoundResult& r) {
    std::lock_guard lock(mu);
    for (size_t i = 0; i < r.size(); i++) {
      nfsstat4 s = r.op_status(i);
      op_statuses[Nfs4OpName(r.op(i))].insert(s == NFS4_OK ? "OK" : Nfs4StatName(s));
    }
  }
  void Summary() {
    std::printf("OPS %zu distinct ops sent:\n", op_statuses.size());
    for (auto& [op, statuses] : op_statuses) {
      std::string joined;
      for (auto& s : statuses) joined += (joined.empty() ? "" : " ") + s;
      std::printf("OP %-22s %s\n", op.c_str(), joined.c_str());
    }
    std::printf("RESULT %d passed, %d failed\n", passed, failed);
  }
};

Checker g;

// Runs `c`, records every op's status, and returns the result (or the transport error).
Result<CompoundResult> Run(Nfs4Client& client, const CompoundBuilder& c) {
  auto r = client.Run(c);
  if (r.ok()) g.Note(*r);
  return r;
}

// The result's description, or the transport error.
std::string Why(const Result<CompoundResult>& r) {
  return r.ok() ? r.value().Describe() : r.status().ToString();
}

bool StatusIs(const Result<CompoundResult>& r, nfsstat4 want) {
  return r.ok() && r.value().status() == want;
}

std::string Str(const Status& s) { return s.ToString(); }

std::string Hex(uint32_t v) {
  char h[16];
  std::snprintf(h, sizeof h, "0x%x", v);
  return h;
}

std::vector<uint8_t> Pattern(size_t bytes, uint8_t seed) {
  std::vector<uint8_t> v(bytes);
  for (size_t i = 0; i < bytes; i++) v[i] = uint8_t(seed + i * 31 + (i >> 12));
  return v;
}

struct Ctx {
  std::string host;
  uint16_t port = 0;
  uint32_t minor = 1;
  std::unique_ptr<Nfs4Client> a, b;  // two clients: conflicts need two
  FileHandle root, dir;
  std::string dir_name;
};

// ---- steps ----------------------------------------------------------------------------------

bool ConnectAndSetUp(Ctx& x, const std::string& export_path) {
  ClientOptions o;
  o.minor_version = x.minor;
  auto a = Nfs4Client::Connect(x.host, x.port, o);
  g.Check("connect A: EXCHANGE_ID, CREATE_SESSION, RECLAIM_COMPLETE", a.ok(),
          a.ok() ? "" : Str(a.status()));
  if (!a.ok()) return false;
  x.a = std::move(*a);
  auto b = Nfs4Client::Connect(x.host, x.port, o);
  g.Check("connect B (a second client)", b.ok(), b.ok() ? "" : Str(b.status()));
  if (!b.ok()) return false;
  x.b = std::move(*b);
  g.Check("two clients get two client IDs", x.a->clientid() != x.b->clientid());
  g.Info("session", "fore slots " + std::to_string(x.a->slots()) + ", maxrequestsize " +
                        std::to_string(x.a->fore_channel().maxrequestsize) + ", maxops " +
                        std::to_string(x.a->fore_channel().maxoperations) + ", lease " +
                        std::to_string(x.a->lease_time_s()) + " s, eir_flags " +
                        Hex(x.a->exchange_id_flags()));
  g.Check("backchannel granted (CREATE_SESSION4_FLAG_CONN_BACK_CHAN)", x.a->backchannel_granted());
  auto root = x.a->LookupPath(export_path);
  g.Check("LookupPath " + export_path, root.ok(), root.ok() ? "" : Str(root.status()));
  if (!root.ok()) return false;
  x.root = *root;
  x.dir_name = "nfs4client-" + std::to_string(getpid());
  auto dir = x.a->Mkdir(x.root, x.dir_name, 0755);
  g.Check("Mkdir (CREATE NF4DIR)", dir.ok(), dir.ok() ? "" : Str(dir.status()));
  if (!dir.ok()) return false;
  x.dir = *dir;
  auto attrs = x.a->GetAttr(x.dir, MakeBitmap({FATTR4_TYPE, FATTR4_MODE, FATTR4_NUMLINKS}));
  g.Check("GETATTR of the new directory: NF4DIR, mode 0755",
          attrs.ok() && attrs->type == NF4DIR && attrs->mode == 0755u);
  auto again = x.a->Mkdir(x.root, x.dir_name, 0755);
  g.Check("Mkdir again: NFS4ERR_EXIST (kExists)", again.status().code() == Code::kExists,
          Str(again.status()));
  return true;
}

void WriteReadClose(Ctx& x) {
  auto f = x.a->OpenCreate(x.dir, "file", 0644);
  g.Check("OpenCreate (OPEN4_CREATE UNCHECKED4)", f.ok(), f.ok() ? "" : Str(f.status()));
  if (!f.ok()) return;
  const uint32_t chunk = std::min<uint32_t>(1 << 20, x.a->fore_channel().maxrequestsize - 4096);
  const std::vector<uint8_t> data = Pattern(3 * chunk + 4097, 7);
  bool wrote = true;
  for (size_t off = 0; off < data.size(); off += chunk) {
    size_t n = std::min<size_t>(chunk, data.size() - off);
    auto w = x.a->Write(*f, off, std::span(data).subspan(off, n));
    wrote = wrote && w.ok() && *w == n;
    if (!w.ok()) g.Info("write", Str(w.status()));
  }
  g.Check("WRITE " + std::to_string(data.size()) + " bytes in " + std::to_string(chunk) +
              "-byte FILE_SYNC4 writes",
          wrote);
  std::vector<uint8_t> back;
  bool eof = false;
  while (!eof && back.size() <= data.size()) {
    auto r = x.a->Read(*f, back.size(), chunk);
    if (!r.ok()) break;
    back.insert(back.end(), r->data.begin(), r->data.end());
    eof = r->eof || r->data.empty();
  }
  g.Check("READ returns every byte written, then eof", back == data);
  auto size = x.a->GetAttr(f->fh, MakeBitmap({FATTR4_SIZE}));
  g.Check("GETATTR size matches", size.ok() && size->size == data.size());
  CompoundBuilder c;
  c.PutFh(f->fh).Write(f->stateid, data.size(), Pattern(8192, 3), UNSTABLE4).Commit();
  auto r = Run(*x.a, c);
  bool same_verf = r.ok() && r->Write() && r->Commit() &&
                   std::memcmp(r->Write()->writeverf, r->Commit()->writeverf, 8) == 0;
  g.Check("UNSTABLE4 WRITE then COMMIT: same write verifier", same_verf, Why(r));
  Status closed = x.a->Close(*f);
  g.Check("Close", closed.ok(), Str(closed));
}

void Readdir(Ctx& x) {
  std::set<std::string> want = {"file"};
  bool made = true;
  for (int i = 0; i < 40; i++) {
    std::string name = "entry-" + std::to_string(i);
    auto f = x.a->OpenCreate(x.dir, name, 0600);
    made = made && f.ok() && x.a->Close(*f).ok();
    want.insert(name);
  }
  g.Check("create and close 40 files", made);
  auto all = x.a->Readdir(x.dir);
  std::set<std::string> got;
  if (all.ok()) {
    for (auto& e : *all) got.insert(e.name);
  }
  g.Check("Readdir lists every entry", all.ok() && got == want,
          all.ok() ? std::to_string(got.size()) + " of " + std::to_string(want.size())
                   : Str(all.status()));
  // Small pages: the cookie and cookie verifier have to carry the listing across compounds.
  ReaddirArgs a;
  a.attrs = MakeBitmap({FATTR4_TYPE, FATTR4_FILEID});
  a.dircount = 256;
  a.maxcount = 1024;
  std::set<std::string> paged;
  int pages = 0;
  for (bool eof = false; !eof && pages < 1000; pages++) {
    CompoundBuilder c;
    c.PutFh(x.dir).Readdir(a);
    auto r = Run(*x.a, c);
    if (!r.ok() || !r->Readdir()) break;
    auto entries = r->Entries();
    for (auto& e : entries) paged.insert(e.name);
    eof = r->Readdir()->reply.eof;
    if (!entries.empty()) a.cookie = entries.back().cookie;
    std::memcpy(a.cookieverf.data(), r->Readdir()->cookieverf, 8);
  }
  g.Check("READDIR in " + std::to_string(pages) + " pages of 1 KiB lists every entry",
          paged == want && pages > 1);
  for (int i = 0; i < 40; i++) (void)x.a->Remove(x.dir, "entry-" + std::to_string(i));
}

void NamespaceOps(Ctx& x) {
  CompoundBuilder c;
  c.PutFh(x.dir).CreateSymlink("link", "file").GetFh().Readlink();
  auto r = Run(*x.a, c);
  const READLINK4resok* rl = r.ok() ? r->Readlink() : nullptr;
  g.Check("CREATE NF4LNK then READLINK gives the target",
          rl && std::string(rl->link.linktext4_val, rl->link.linktext4_len) == "file", Why(r));
  CompoundBuilder fifo;
  fifo.PutFh(x.dir).CreateDevice("fifo", NF4FIFO).GetAttr(MakeBitmap({FATTR4_TYPE}));
  r = Run(*x.a, fifo);
  g.Info("CREATE NF4FIFO", Why(r));
  CompoundBuilder link;
  link.PutFh(x.dir)
      .Lookup("file")
      .SaveFh()
      .PutFh(x.dir)
      .Link("hardlink")
      .RestoreFh()
      .GetAttr(MakeBitmap({FATTR4_NUMLINKS}));
  r = Run(*x.a, link);
  auto attrs = r.ok() ? r->Attributes() : std::nullopt;
  g.Check("LINK: numlinks becomes 2", attrs && attrs->numlinks == 2u, Why(r));
  Status renamed = x.a->Rename(x.dir, "file", x.dir, "renamed");
  g.Check("Rename (SAVEFH, PUTFH, RENAME)", renamed.ok(), Str(renamed));
  CompoundBuilder gone;
  gone.PutFh(x.dir).Lookup("file");
  r = Run(*x.a, gone);
  g.Check("LOOKUP of the old name: NFS4ERR_NOENT", StatusIs(r, NFS4ERR_NOENT), Why(r));
  CompoundBuilder nav;
  nav.PutFh(x.dir)
      .SaveFh()
      .LookupP()
      .GetFh()
      .RestoreFh()
      .GetFh()
      .Lookup("renamed")
      .GetFh()
      .PutFh(x.dir)
      .Access(ACCESS4_READ | ACCESS4_MODIFY | ACCESS4_LOOKUP)
      .Secinfo("renamed")
      .PutFh(x.dir)
      .SecinfoNoName(SECINFO_STYLE4_CURRENT_FH);
  r = Run(*x.a, nav);
  bool nav_ok = r.ok() && r->ok() && r->Fh(0) == x.root && r->Fh(1) == x.dir && !r->Fh(2).empty() &&
                r->Access() && r->Secinfo() && r->Secinfo()->SECINFO4resok_len > 0 &&
                r->SecinfoNoName();
  g.Check("SAVEFH/LOOKUPP/RESTOREFH/ACCESS/SECINFO/SECINFO_NO_NAME in one compound", nav_ok,
          Why(r));
  Status not_empty = x.a->Remove(x.root, x.dir_name);
  g.Check("REMOVE of a non-empty directory: NFS4ERR_NOTEMPTY", not_empty.code() == Code::kNotEmpty,
          Str(not_empty));
}

void SetattrVerify(Ctx& x) {
  auto f = x.a->Open(x.dir, "renamed");
  g.Check("Open an existing file (CLAIM_NULL, NOCREATE)", f.ok(), Str(f.status()));
  if (!f.ok()) return;
  CompoundBuilder c;
  c.PutFh(f->fh)
      .SetAttr(f->stateid, AttrSet{.size = 10, .mode = 0600})
      .Verify(AttrSet{.size = 10})
      .GetAttr(MakeBitmap({FATTR4_SIZE, FATTR4_MODE}));
  auto r = Run(*x.a, c);
  auto attrs = r.ok() ? r->Attributes() : std::nullopt;
  g.Check("SETATTR size+mode with the open stateid, VERIFY the size",
          attrs && attrs->size == 10u && attrs->mode == 0600u, Why(r));
  CompoundBuilder nv;
  nv.PutFh(f->fh).NVerify(AttrSet{.size = 10});
  r = Run(*x.a, nv);
  g.Check("NVERIFY of an equal size: NFS4ERR_SAME", StatusIs(r, NFS4ERR_SAME), Why(r));
  CompoundBuilder v;
  v.PutFh(f->fh).Verify(AttrSet{.size = 11});
  r = Run(*x.a, v);
  g.Check("VERIFY of a different size: NFS4ERR_NOT_SAME", StatusIs(r, NFS4ERR_NOT_SAME), Why(r));
  CompoundBuilder t;
  t.TestStateid(std::vector<stateid4>{f->stateid, BypassStateid()});
  r = Run(*x.a, t);
  const TEST_STATEID4resok* ts = r.ok() ? r->TestStateid() : nullptr;
  g.Check("TEST_STATEID: the open stateid is valid",
          ts && ts->tsr_status_codes.tsr_status_codes_len == 2 &&
              ts->tsr_status_codes.tsr_status_codes_val[0] == NFS4_OK,
          Why(r));
  if (ts && ts->tsr_status_codes.tsr_status_codes_len == 2) {
    g.Info("TEST_STATEID of the bypass stateid",
           Nfs4StatName(ts->tsr_status_codes.tsr_status_codes_val[1]));
  }
  (void)x.a->Close(*f);
}

void OpenModes(Ctx& x) {
  Verifier v1 = {1, 1, 1, 1, 2, 2, 2, 2}, v2 = {9, 9, 9, 9, 9, 9, 9, 9};
  auto excl = [&](const Verifier& v) {
    OpenArgs a = OpenArgs::Create(x.a->open_owner(), "excl", {});
    a.how = OpenHow::Exclusive41(v, AttrSet{.mode = 0640});
    CompoundBuilder c;
    c.PutFh(x.dir).Open(a).GetFh();
    return Run(*x.a, c);
  };
  auto r1 = excl(v1);
  g.Check("OPEN EXCLUSIVE4_1 creates", r1.ok() && r1->ok(), Why(r1));
  auto r2 = excl(v1);
  g.Check("OPEN EXCLUSIVE4_1 again with the same verifier: OK (a retry)", r2.ok() && r2->ok(),
          Why(r2));
  auto r3 = excl(v2);
  g.Check("OPEN EXCLUSIVE4_1 with another verifier: NFS4ERR_EXIST", StatusIs(r3, NFS4ERR_EXIST),
          Why(r3));
  OpenArgs guarded = OpenArgs::Create(x.a->open_owner(), "excl", AttrSet{.mode = 0600});
  guarded.how.mode = GUARDED4;
  CompoundBuilder gc;
  gc.PutFh(x.dir).Open(guarded);
  auto r4 = Run(*x.a, gc);
  g.Check("OPEN GUARDED4 of an existing file: NFS4ERR_EXIST", StatusIs(r4, NFS4ERR_EXIST), Why(r4));
  if (!r1.ok() || !r1->Open()) return;
  OpenArgs by_fh = OpenArgs::Existing(x.a->open_owner(), "", OPEN4_SHARE_ACCESS_READ);
  by_fh.claim = OpenClaim::Fh();
  CompoundBuilder fc;
  fc.PutFh(r1->Fh()).Open(by_fh);
  auto r5 = Run(*x.a, fc);
  g.Check("OPEN CLAIM_FH", r5.ok() && r5->ok(), Why(r5));
  // Same open-owner, same file: one open stateid, now BOTH; downgrade it back to READ.
  stateid4 s = r5.ok() && r5->Open() ? r5->Open()->stateid : r1->Open()->stateid;
  CompoundBuilder dg;
  dg.PutFh(r1->Fh()).OpenDowngrade(s, OPEN4_SHARE_ACCESS_READ, OPEN4_SHARE_DENY_NONE);
  auto r6 = Run(*x.a, dg);
  g.Check("OPEN_DOWNGRADE to READ", r6.ok() && r6->ok(), Why(r6));
  CompoundBuilder cl;
  cl.PutFh(r1->Fh()).Close(r6.ok() && r6->OpenDowngrade() ? r6->OpenDowngrade()->open_stateid : s);
  auto r7 = Run(*x.a, cl);
  g.Check("CLOSE after the downgrade", r7.ok() && r7->ok(), Why(r7));
}

void LocksAndShares(Ctx& x) {
  auto fa = x.a->Open(x.dir, "renamed");
  auto fb = x.b->Open(x.dir, "renamed");
  g.Check("A and B open the same file", fa.ok() && fb.ok());
  if (!fa.ok() || !fb.ok()) return;
  auto lock = x.a->Lock(*fa, WRITE_LT, 0, 100);
  g.Check("A: LOCK WRITE_LT [0,100) with a new lock-owner", lock.ok(), Str(lock.status()));
  StateOwner b_owner = x.b->NewLockOwner();
  CompoundBuilder t;
  t.PutFh(fb->fh).LockT(WRITE_LT, 50, 10, b_owner);
  auto r = Run(*x.b, t);
  const LOCK4denied* d = r.ok() ? r->LockTDenied() : nullptr;
  g.Check("B: LOCKT of an overlapping range: NFS4ERR_DENIED naming A's range",
          d && d->offset == 0 && d->length == 100 && d->owner.clientid == x.a->clientid(), Why(r));
  auto b_lock = x.b->Lock(*fb, READ_LT, 10, 10);
  g.Check("B: LOCK of an overlapping range: NFS4ERR_DENIED (kConflict)",
          b_lock.status().code() == Code::kConflict, Str(b_lock.status()));
  Status unlocked = x.a->Unlock(*fa, 0, 100);
  g.Check("A: LOCKU", unlocked.ok(), Str(unlocked));
  r = Run(*x.b, t);
  g.Check("B: LOCKT after A's LOCKU: OK", r.ok() && r->ok(), Why(r));
  b_lock = x.b->Lock(*fb, WRITE_LT, 0, NFS4_UINT64_MAX);
  g.Check("B: LOCK the whole file", b_lock.ok(), Str(b_lock.status()));
  g.Check("B: LOCKU", x.b->Unlock(*fb, 0, NFS4_UINT64_MAX).ok());
  OpenArgs deny = OpenArgs::Existing(x.b->open_owner(), "renamed", OPEN4_SHARE_ACCESS_READ);
  deny.share_deny = OPEN4_SHARE_DENY_WRITE;
  CompoundBuilder dc;
  dc.PutFh(x.dir).Open(deny);
  r = Run(*x.b, dc);
  g.Check("B: OPEN denying WRITE while A has it open for write: NFS4ERR_SHARE_DENIED",
          StatusIs(r, NFS4ERR_SHARE_DENIED), Why(r));
  if (r.ok()) g.Info("Describe() of that compound", r->Describe());
  Status ca = x.a->Close(*fa), cb = x.b->Close(*fb);
  g.Check("A and B close (FREE_STATEID of the lock stateid, CLOSE)", ca.ok() && cb.ok(),
          Str(ca) + " / " + Str(cb));
}

void Delegation(Ctx& x) {
  OpenArgs a = OpenArgs::Existing(x.a->open_owner(), "renamed",
                                  OPEN4_SHARE_ACCESS_READ | OPEN4_SHARE_ACCESS_WANT_READ_DELEG);
  CompoundBuilder c;
  c.PutFh(x.dir).Open(a).GetFh();
  auto r = Run(*x.a, c);
  const OPEN4resok* ok = r.ok() ? r->Open() : nullptr;
  if (!ok || ok->delegation.delegation_type != OPEN_DELEGATE_READ) {
    std::string why = Why(r);
    if (ok) {
      why += "; delegation_type " + std::to_string(ok->delegation.delegation_type);
      if (ok->delegation.delegation_type == OPEN_DELEGATE_NONE_EXT) {
        why += ", ond_why " + std::to_string(ok->delegation.open_delegation4_u.od_whynone.ond_why);
      }
    }
    g.Info("read delegation", "not granted: " + why);
    if (ok) {
      CompoundBuilder cl;
      cl.PutFh(r->Fh()).Close(ok->stateid);
      (void)Run(*x.a, cl);
    }
    return;
  }
  g.Check("A: OPEN with WANT_READ_DELEG gets a read delegation", true);
  FileHandle fh = r->Fh();
  stateid4 open_stateid = ok->stateid;
  // B opening for write makes the server recall A's delegation over A's backchannel; B's OPEN
  // gets NFS4ERR_DELAY until A returns it (Run retries DELAY).
  auto fb = x.b->Open(x.dir, "renamed", OPEN4_SHARE_ACCESS_WRITE);
  g.Check("B: OPEN for write succeeds once the delegation is returned", fb.ok(), Str(fb.status()));
  g.Check("A: served CB_RECALL on its backchannel", x.a->callbacks().cb_recall >= 1,
          "cb_recall " + std::to_string(x.a->callbacks().cb_recall));
  g.Check("A: returned the delegation (DELEGRETURN)", x.a->delegations_returned() >= 1);
  if (fb.ok()) (void)x.b->Close(*fb);
  CompoundBuilder cl;
  cl.PutFh(fh).Close(open_stateid);
  (void)Run(*x.a, cl);
}

void V42AndXattrs(Ctx& x) {
  auto f = x.a->OpenCreate(x.dir, "v42", 0644);
  if (!f.ok()) return g.Check("OpenCreate v42", false, Str(f.status()));
  (void)x.a->Write(*f, 0, Pattern(65536, 1));
  auto probe = [&](const std::string& name, auto add) {
    CompoundBuilder c;
    c.PutFh(f->fh);
    add(c);
    g.Info(name, Why(Run(*x.a, c)));
  };
  probe("ALLOCATE", [&](CompoundBuilder& c) { c.Allocate(f->stateid, 65536, 65536); });
  probe("DEALLOCATE", [&](CompoundBuilder& c) { c.Deallocate(f->stateid, 0, 4096); });
  probe("SEEK data", [&](CompoundBuilder& c) { c.Seek(f->stateid, 0, NFS4_CONTENT_DATA); });
  probe("SEEK hole", [&](CompoundBuilder& c) { c.Seek(f->stateid, 0, NFS4_CONTENT_HOLE); });
  probe("READ_PLUS", [&](CompoundBuilder& c) { c.ReadPlus(f->stateid, 0, 8192); });
  std::vector<uint8_t> value = {'v', '1'};
  probe("SETXATTR", [&](CompoundBuilder& c) { c.SetXattr("user.manifold", value); });
  probe("GETXATTR", [&](CompoundBuilder& c) { c.GetXattr("user.manifold"); });
  probe("LISTXATTRS", [&](CompoundBuilder& c) { c.ListXattrs(); });
  probe("REMOVEXATTR", [&](CompoundBuilder& c) { c.RemoveXattr("user.manifold"); });
  probe("LAYOUTGET flexfile", [&](CompoundBuilder& c) {
    c.LayoutGet({.iomode = LAYOUTIOMODE4_RW, .stateid = f->stateid});
  });
  probe("GETDEVICEINFO", [&](CompoundBuilder& c) { c.GetDeviceInfo({}, LAYOUT4_FLEX_FILES); });
  probe("LAYOUTCOMMIT", [&](CompoundBuilder& c) { c.LayoutCommit({.stateid = f->stateid}); });
  probe("LAYOUTRETURN all",
        [&](CompoundBuilder& c) { c.LayoutReturn({.return_type = LAYOUTRETURN4_ALL}); });
  (void)x.a->Close(*f);
  (void)x.a->Remove(x.dir, "v42");
}

void BindConnAndRawOps(Ctx& x) {
  CompoundBuilder bind;
  bind.BindConnToSession(x.a->sessionid(), CDFC4_FORE_OR_BOTH);
  auto r = x.a->RunWithoutSequence(bind);
  if (r.ok()) g.Note(*r);
  g.Info("BIND_CONN_TO_SESSION on the session's own connection", Why(r));
  nfs_argop4 renew{};
  renew.argop = OP_RENEW;  // NFSv4.0 only: RFC 8881 requires NFS4ERR_NOTSUPP in 4.1
  renew.nfs_argop4_u.oprenew.clientid = x.a->clientid();
  CompoundBuilder raw;
  raw.Raw(renew);
  r = Run(*x.a, raw);
  g.Check("Raw RENEW in a 4.1 compound: NFS4ERR_NOTSUPP", StatusIs(r, NFS4ERR_NOTSUPP), Why(r));
  CompoundBuilder bad_minor;
  bad_minor.PutRootFh();
  bad_minor.set_minor_version(99);
  r = x.a->RunWithoutSequence(bad_minor);
  g.Check("minor version 99: NFS4ERR_MINOR_VERS_MISMATCH", StatusIs(r, NFS4ERR_MINOR_VERS_MISMATCH),
          Why(r));
}

// Many threads, one session: each compound takes its own slot. The data proves that concurrent
// WRITE records were not interleaved on the connection.
void Concurrency(Ctx& x) {
  auto f = x.a->OpenCreate(x.dir, "concurrent", 0644);
  if (!f.ok()) return g.Check("OpenCreate concurrent", false, Str(f.status()));
  constexpr int kThreads = 8, kPerThread = 4;
  constexpr size_t kBlock = 256 * 1024;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; i++) {
        size_t block = size_t(t) * kPerThread + i;
        auto w = x.a->Write(*f, block * kBlock, Pattern(kBlock, uint8_t(block)));
        if (!w.ok() || *w != kBlock) errors++;
      }
    });
  }
  for (auto& th : threads) th.join();
  g.Check(std::to_string(kThreads * kPerThread) + " concurrent 256 KiB WRITEs on one session",
          errors == 0, std::to_string(errors.load()) + " failed");
  int bad = 0;
  for (size_t block = 0; block < kThreads * kPerThread; block++) {
    auto r = x.a->Read(*f, block * kBlock, kBlock);
    if (!r.ok() || r->data != Pattern(kBlock, uint8_t(block))) bad++;
  }
  g.Check("every concurrently written block reads back intact", bad == 0,
          std::to_string(bad) + " blocks differ");
  (void)x.a->Close(*f);
  (void)x.a->Remove(x.dir, "concurrent");
}

// Both clients sit idle for 1.5 leases: only the background SEQUENCE keeps their state.
void IdleLeaseRenewal(Ctx& x) {
  auto f = x.a->Open(x.dir, "renamed", OPEN4_SHARE_ACCESS_READ);
  if (!f.ok()) return g.Check("Open before idling", false, Str(f.status()));
  const uint32_t idle_ms = x.a->lease_time_s() * 1500;
  g.Info("idle", "both clients idle for " + std::to_string(idle_ms) + " ms");
  uint64_t before_a = x.a->renewals(), before_b = x.b->renewals();
  std::this_thread::sleep_for(std::chrono::milliseconds(idle_ms));
  g.Check("idle clients renewed their leases (SEQUENCE-only compounds)",
          x.a->renewals() > before_a && x.b->renewals() > before_b,
          "A " + std::to_string(x.a->renewals()) + ", B " + std::to_string(x.b->renewals()));
  CompoundBuilder t;
  t.TestStateid(std::vector<stateid4>{f->stateid});
  auto r = Run(*x.a, t);
  const TEST_STATEID4resok* ts = r.ok() ? r->TestStateid() : nullptr;
  g.Check("after the idle period the open stateid is still valid",
          ts && ts->tsr_status_codes.tsr_status_codes_len == 1 &&
              ts->tsr_status_codes.tsr_status_codes_val[0] == NFS4_OK,
          Why(r));
  const uint32_t lost = SEQ4_STATUS_EXPIRED_ALL_STATE_REVOKED |
                        SEQ4_STATUS_EXPIRED_SOME_STATE_REVOKED | SEQ4_STATUS_ADMIN_STATE_REVOKED;
  g.Check("no state revoked (sr_status_flags)", (x.a->last_status_flags() & lost) == 0,
          Hex(x.a->last_status_flags()));
  Status closed = x.a->Close(*f);
  g.Check("Close after the idle period", closed.ok(), Str(closed));
}

void CleanUpAndDestroy(Ctx& x) {
  bool removed = true;
  for (const char* name : {"renamed", "hardlink", "link", "fifo", "excl"}) {
    Status s = x.a->Remove(x.dir, name);
    removed = removed && (s.ok() || s.code() == Code::kNotFound);
  }
  Status rmdir = x.a->Remove(x.root, x.dir_name);
  g.Check("REMOVE every test file, then the directory", removed && rmdir.ok(), Str(rmdir));
  g.Check("A: lease kept by SEQUENCE; no SEQ4_STATUS_CB_PATH_DOWN",
          (x.a->last_status_flags() &
           (SEQ4_STATUS_CB_PATH_DOWN | SEQ4_STATUS_CB_PATH_DOWN_SESSION)) == 0,
          "sr_status_flags " + Hex(x.a->last_status_flags()));
  CallbackCounts cb = x.a->callbacks();
  g.Info("A callbacks served", "CB_NULL " + std::to_string(cb.cb_null) + ", CB_COMPOUND " +
                                   std::to_string(cb.cb_compound) + ", CB_RECALL " +
                                   std::to_string(cb.cb_recall) + ", lease renewals " +
                                   std::to_string(x.a->renewals()));
  Status da = x.a->Destroy(), db = x.b->Destroy();
  g.Check("DESTROY_SESSION and DESTROY_CLIENTID (A and B)", da.ok() && db.ok(),
          Str(da) + " / " + Str(db));
}

}  // namespace
}  // namespace manifold::nfs4client

int main(int argc, char** argv) {
  using namespace manifold::nfs4client;
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s HOST PORT EXPORT_PSEUDO_PATH MINOR_VERSION\n", argv[0]);
    return 2;
  }
  Ctx x;
  x.host = argv[1];
  x.port = uint16_t(std::stoi(argv[2]));
  x.minor = uint32_t(std::stoi(argv[4]));
  if (!ConnectAndSetUp(x, argv[3])) {
    g.Summary();
    return 2;
  }
  WriteReadClose(x);
  Readdir(x);
  NamespaceOps(x);
  SetattrVerify(x);
  OpenModes(x);
  LocksAndShares(x);
  Delegation(x);
  if (x.minor >= 2) V42AndXattrs(x);
  BindConnAndRawOps(x);
  Concurrency(x);
  IdleLeaseRenewal(x);
  CleanUpAndDestroy(x);
  g.Summary();
  return g.failed == 0 ? 0 : 1;
}
