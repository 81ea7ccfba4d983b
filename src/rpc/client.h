// ONC RPC client over TCP on Boost.Asio. Thread-safe: many threads may have calls in flight
// on one connection; replies are matched by xid. One background thread runs the socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "rpc/message.h"
#include "rpc/xdr_codec.h"

namespace manifold::rpc {

struct ClientReply {
  ReplyHeader header;
  std::vector<uint8_t> record;  // the whole reply record
  size_t results_offset = 0;    // results start here in `record`
  std::span<const uint8_t> results() const {
    return std::span<const uint8_t>(record).subspan(results_offset);
  }
};

// A connected TCP socket (close-on-exec, TCP_NODELAY) to `host`, a name or an IPv4 or IPv6
// address, at `port`: every address the name resolves to is tried in turn. Errors: kInvalid
// (the name does not resolve), kUnavailable (no address accepted the connection).
Result<int> ConnectTcp(const std::string& host, uint16_t port);

class Client {
 public:
  // `host`: as for ConnectTcp.
  static Result<std::unique_ptr<Client>> Connect(const std::string& host, uint16_t port,
                                                 size_t record_bytes_max = 4u << 20);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends a call and waits for its reply. Errors: kUnavailable (connection lost or timeout).
  Result<ClientReply> Call(uint32_t prog, uint32_t vers, uint32_t proc, const Credential& cred,
                           std::span<const uint8_t> args,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Typed call: encodes `args` with xargs; on an accepted SUCCESS decodes the results into
  // `res` (zeroed by the caller, freed by the caller with XdrFree(xres, res)).
  // Returns the accept status, or an error for a denied reply or a lost connection.
  Result<AcceptStat> CallXdr(uint32_t prog, uint32_t vers, uint32_t proc, const Credential& cred,
                             xdrproc_t xargs, void* args, xdrproc_t xres, void* res);

  // Sends raw bytes (the caller's own record marks) and waits for the reply with `xid`.
  // For tests of record marking and malformed input.
  Result<ClientReply> CallRaw(uint32_t xid, std::vector<uint8_t> bytes,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));

  // Calls the server sends on this connection (the NFSv4.1 backchannel: CB_SEQUENCE,
  // CB_LAYOUTRECALL, ...) go to `handler`, which runs on the connection's thread and returns
  // the whole reply record (with its record mark) or nullopt to send nothing. Without a
  // handler such calls are dropped.
  using CallHandler = std::function<std::optional<std::vector<uint8_t>>(std::span<const uint8_t>)>;
  void SetCallHandler(CallHandler handler);

  // True while the server has not closed the connection.
  bool connected() const;
  uint32_t NextXid();

 private:
  Client();
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

Credential AuthSysCred(uint32_t uid, uint32_t gid, std::vector<uint32_t> gids = {},
                       std::string machine = "manifold");

}  // namespace manifold::rpc
