#include "ds_test_server.h"

#include <stdlib.h>

#include <filesystem>

namespace manifold::testlib {

Result<std::unique_ptr<DsTestServer>> DsTestServer::Start(const std::string& export_dir,
                                                          ds::DsOptions options) {
  std::unique_ptr<DsTestServer> s(new DsTestServer());
  auto exp = ds::Export::Open(export_dir, ds::kFdCacheEntriesMaxDefault);
  if (!exp.ok()) return exp.status();
  s->export_ = std::move(*exp);
  s->nfs_ = std::make_shared<ds::Nfs3Program>(*s->export_, options);
  s->mount_ = std::make_shared<ds::MountProgram>(*s->export_, export_dir);
  auto dispatcher = std::make_shared<rpc::Dispatcher>();
  dispatcher->Add(s->nfs_);
  dispatcher->Add(s->mount_);
  rpc::ServerOptions so;
  so.address = "127.0.0.1";
  so.port = 0;
  so.worker_threads = 4;
  // As manifold_ds_main.cc: a WRITE of io_bytes_max plus its headers fits in one record.
  so.record_bytes_max = options.io_bytes_max + (64u << 10);
  s->server_ = std::make_unique<rpc::Server>(so, dispatcher);
  if (Status st = s->server_->Start(); !st.ok()) return st;
  s->server_->RunInBackground();
  return s;
}

DsTestServer::~DsTestServer() { Stop(); }

void DsTestServer::Stop() {
  if (server_) server_->Stop();
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + ".XXXXXX";
  if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace manifold::testlib
