#include "nfs4/client_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

namespace manifold::nfs4 {

namespace {

uint64_t VerifierToU64(const state::Verifier& v) {
  uint64_t x = 0;
  for (uint8_t b : v) x = (x << 8) | b;
  return x;
}

state::Verifier U64ToVerifier(uint64_t x) {
  state::Verifier v;
  for (int i = 7; i >= 0; --i, x >>= 8) v[size_t(i)] = uint8_t(x);
  return v;
}

}  // namespace

Status MetaClientRecordStore::Put(std::string_view key, std::string_view record) {
  auto decoded = state::DecodeClientRecord(key, record);
  if (!decoded.ok()) return decoded.status();
  meta::ClientRecord m;
  m.owner = decoded->owner;
  m.clientid = decoded->clientid;
  m.verifier = VerifierToU64(decoded->verifier);
  m.principal = decoded->principal;
  m.confirmed = true;  // the state module stores confirmed clients only
  m.reclaim_complete = decoded->reclaim_complete;
  return ns_.PutClient(m);
}

Status MetaClientRecordStore::Delete(std::string_view key) {
  Status s = ns_.DeleteClient(key);
  return s.code() == Code::kNotFound ? Status::Ok() : s;
}

Result<std::vector<state::StoredClientRecord>> MetaClientRecordStore::List(size_t max) {
  std::vector<state::StoredClientRecord> out;
  std::string after;
  while (out.size() < max) {
    auto page = ns_.ListClients(after, uint32_t(std::min<size_t>(max - out.size(), 256)));
    if (!page.ok()) return page.status();
    if (page->empty()) break;
    for (const meta::ClientRecord& m : *page) {
      state::ClientRecord r;
      r.owner = m.owner;
      r.clientid = m.clientid;
      r.verifier = U64ToVerifier(m.verifier);
      r.principal = m.principal;
      r.reclaim_complete = m.reclaim_complete;
      out.push_back({m.owner, state::EncodeClientRecord(r)});
      after = m.owner;
    }
  }
  return out;
}

Result<uint32_t> NextBootEpoch(const std::string& dir) {
  std::string path = dir + "/boot_epoch";
  uint32_t epoch = 0;
  {
    std::ifstream in(path);
    if (in) in >> epoch;
  }
  epoch = epoch + 1;
  if (epoch == 0 || epoch == 0xffffffffu) epoch = 1;
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "write " + tmp);
  std::string text = std::to_string(epoch) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == ssize_t(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status::FromErrno(errno, "write " + path);
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return epoch;
}

}  // namespace manifold::nfs4
