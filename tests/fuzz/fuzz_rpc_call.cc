// libFuzzer target: ONC RPC call headers (rpc/message.h).
//
// The input is one whole record. ParseCall must never read outside it; on success the
// argument span must be the record's tail, the AUTH_SYS fields within their RFC 5531 bounds,
// and re-encoding the header with AppendCall and parsing it again must give the same header
// and the same arguments. ParseReply (the client side) runs over the same bytes.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "rpc/message.h"

namespace {

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "fuzz_rpc_call: check failed: %s (line %d)\n", #cond, __LINE__); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)

using manifold::rpc::AuthFlavor;
using manifold::rpc::CallHeader;
using manifold::rpc::ParseOutcome;

bool SameHeader(const CallHeader& a, const CallHeader& b) {
  if (a.xid != b.xid || a.rpcvers != b.rpcvers || a.prog != b.prog || a.vers != b.vers ||
      a.proc != b.proc || a.cred.flavor != b.cred.flavor) {
    return false;
  }
  if (a.cred.flavor != AuthFlavor::kSys) return true;
  const auto& x = a.cred.sys;
  const auto& y = b.cred.sys;
  return x.stamp == y.stamp && x.machinename == y.machinename && x.uid == y.uid &&
         x.gid == y.gid && x.gids == y.gids;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // A copy of exactly `size` bytes, so that ASan sees any read past the record's end.
  std::vector<uint8_t> record(data, data + size);
  std::span<const uint8_t> in(record);

  CallHeader header;
  std::span<const uint8_t> args;
  ParseOutcome outcome = manifold::rpc::ParseCall(in, header, args);
  if (outcome == ParseOutcome::kOk) {
    FUZZ_CHECK(header.rpcvers == manifold::rpc::kRpcVersion);
    FUZZ_CHECK(header.cred.flavor == AuthFlavor::kNone || header.cred.flavor == AuthFlavor::kSys);
    // 6 words of header, 2 + 2 words of credential and verifier at least.
    FUZZ_CHECK(in.size() >= 40);
    FUZZ_CHECK(args.size() <= in.size() - 40);
    FUZZ_CHECK(args.data() + args.size() == in.data() + in.size());
    if (header.cred.flavor == AuthFlavor::kSys) {
      FUZZ_CHECK(header.cred.sys.machinename.size() <= manifold::rpc::kAuthSysMachineNameMax);
      FUZZ_CHECK(header.cred.sys.gids.size() <= manifold::rpc::kAuthSysGidsMax);
    }

    // Round trip: the canonical encoding of what was parsed parses back to the same thing.
    std::vector<uint8_t> again;
    manifold::rpc::AppendCall(again, header.xid, header.prog, header.vers, header.proc,
                              header.cred);
    FUZZ_CHECK(again.size() <= in.size() - args.size());
    again.insert(again.end(), args.begin(), args.end());
    CallHeader header2;
    std::span<const uint8_t> args2;
    FUZZ_CHECK(manifold::rpc::ParseCall(again, header2, args2) == ParseOutcome::kOk);
    FUZZ_CHECK(SameHeader(header, header2));
    FUZZ_CHECK(args2.size() == args.size());
    FUZZ_CHECK(std::equal(args.begin(), args.end(), args2.begin()));
  } else if (outcome == ParseOutcome::kGarbage) {
    FUZZ_CHECK(in.size() < 24);
  }

  manifold::rpc::ReplyHeader reply;
  std::span<const uint8_t> results;
  if (manifold::rpc::ParseReply(in, reply, results) && !results.empty()) {
    FUZZ_CHECK(results.data() >= in.data());
    FUZZ_CHECK(results.data() + results.size() == in.data() + in.size());
  }
  return 0;
}
