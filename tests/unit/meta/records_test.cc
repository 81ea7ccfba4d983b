// Extents and instances (with the mover's guards), volume and client records.
#include <gtest/gtest.h>

#include "meta/limits.h"
#include "namespace_fixture.h"

namespace manifold::meta {
namespace {

class RecordsTest : public testing::NamespaceFixture {
 protected:
  Extent TwoCopies(FileId f, uint64_t index) {
    return Extent{f,
                  index,
                  {{1, "fh-1", InstanceState::kValid, 0xaa, 0, 100},
                   {2, "obj/key", InstanceState::kCopying, 0, 0, 0}}};
  }
};

TEST_F(RecordsTest, ExtentsComeBackInIndexOrderAndDoNotTouchChange) {
  FileId f = MakeFile(kRootFileId, "f");
  Inode before = Get(f);
  for (uint64_t i : {300u, 2u, 256u}) ASSERT_OK(ns_->PutExtent(TwoCopies(f, i)));
  ASSIGN_OR_FAIL(std::vector<Extent> all, ns_->GetExtents(f));
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].index, 2u);
  EXPECT_EQ(all[1].index, 256u);
  EXPECT_EQ(all[2].index, 300u);
  ASSIGN_OR_FAIL(Extent one, ns_->GetExtent(f, 256));
  EXPECT_EQ(one, TwoCopies(f, 256));
  EXPECT_CODE(ns_->GetExtent(f, 3), Code::kNotFound);
  EXPECT_EQ(Get(f), before);  // moving data is not a change clients must see
}

TEST_F(RecordsTest, ExtentErrors) {
  FileId f = MakeFile(kRootFileId, "f");
  FileId d = MakeDir(kRootFileId, "d");
  EXPECT_CODE(ns_->PutExtent(TwoCopies(d, 0)), Code::kInvalid);
  EXPECT_CODE(ns_->PutExtent(TwoCopies(123456, 0)), Code::kStale);
  EXPECT_CODE(ns_->PutExtent(TwoCopies(f, kExtentsPerFileMax)), Code::kFileTooBig);
  Extent dup = TwoCopies(f, 0);
  dup.instances[1].volume_id = 1;
  EXPECT_CODE(ns_->PutExtent(dup), Code::kInvalid);
  Extent many{f, 0, {}};
  for (uint64_t v = 0; v <= kInstancesPerExtentMax; v++) many.instances.push_back({v, "x"});
  EXPECT_CODE(ns_->PutExtent(many), Code::kTooBig);
  Extent long_locator{f, 0, {{1, std::string(kLocatorBytesMax + 1, 'x')}}};
  EXPECT_CODE(ns_->PutExtent(long_locator), Code::kTooBig);
}

TEST_F(RecordsTest, UpdateInstanceHonoursStateAndDataGenerationGuards) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(ns_->PutExtent(TwoCopies(f, 0)));
  const uint64_t g0 = Get(f).data_generation;
  InstanceUpdate commit;
  commit.volume_id = 2;
  commit.new_state = InstanceState::kValid;
  commit.expected_state = InstanceState::kCopying;
  commit.expected_data_generation = g0;
  commit.checksum = 0xbeef;
  commit.generation = g0;
  // A write lands while the mover copies: the commit must not switch (DESIGN.md 5, step 3).
  ASSERT_OK(ns_->RecordWrite(f, 50));
  EXPECT_CODE(ns_->UpdateInstance(f, 0, commit), Code::kPrecondition);
  commit.expected_data_generation = Get(f).data_generation;
  ASSIGN_OR_FAIL(Extent e, ns_->UpdateInstance(f, 0, commit));
  EXPECT_EQ(e.instances[1].state, InstanceState::kValid);
  EXPECT_EQ(e.instances[1].checksum, 0xbeefu);
  EXPECT_CODE(ns_->UpdateInstance(f, 0, commit), Code::kPrecondition);  // no longer copying
  commit.volume_id = 9;
  EXPECT_CODE(ns_->UpdateInstance(f, 0, commit), Code::kNotFound);
  EXPECT_CODE(ns_->UpdateInstance(f, 7, commit), Code::kNotFound);
}

TEST_F(RecordsTest, DeleteInstanceDropsTheExtentWithItsLastInstance) {
  FileId f = MakeFile(kRootFileId, "f");
  ASSERT_OK(ns_->PutExtent(TwoCopies(f, 0)));
  ASSERT_OK(ns_->DeleteInstance(f, 0, 1));
  ASSIGN_OR_FAIL(Extent e, ns_->GetExtent(f, 0));
  ASSERT_EQ(e.instances.size(), 1u);
  EXPECT_EQ(e.instances[0].volume_id, 2u);
  EXPECT_CODE(ns_->DeleteInstance(f, 0, 1), Code::kNotFound);
  ASSERT_OK(ns_->DeleteInstance(f, 0, 2));
  EXPECT_CODE(ns_->GetExtent(f, 0), Code::kNotFound);
}

TEST_F(RecordsTest, VolumesPutGetListDelete) {
  for (uint64_t id : {5u, 1u, 300u}) {
    Volume v{id,
             "nfs://127.0.0.1:20" + std::to_string(id) + "/x",
             {{"tier", "fast"}},
             VolumeState::kUp,
             "127.0.0.1"};
    ASSERT_OK(ns_->PutVolume(v));
  }
  ASSIGN_OR_FAIL(Volume v5, ns_->GetVolume(5));
  EXPECT_EQ(v5.labels.size(), 1u);
  v5.state = VolumeState::kDown;
  ASSERT_OK(ns_->PutVolume(v5));
  ASSIGN_OR_FAIL(Volume v5b, ns_->GetVolume(5));
  EXPECT_EQ(v5b.state, VolumeState::kDown);
  ASSIGN_OR_FAIL(std::vector<Volume> page1, ns_->ListVolumes(0, 2));
  ASSERT_EQ(page1.size(), 2u);
  EXPECT_EQ(page1[0].volume_id, 1u);
  EXPECT_EQ(page1[1].volume_id, 5u);
  ASSIGN_OR_FAIL(std::vector<Volume> page2, ns_->ListVolumes(5, 2));
  ASSERT_EQ(page2.size(), 1u);
  EXPECT_EQ(page2[0].volume_id, 300u);
  ASSERT_OK(ns_->DeleteVolume(5));
  EXPECT_CODE(ns_->GetVolume(5), Code::kNotFound);
  EXPECT_CODE(ns_->DeleteVolume(5), Code::kNotFound);
  Volume no_url;
  no_url.volume_id = 7;
  EXPECT_CODE(ns_->PutVolume(no_url), Code::kInvalid);
  EXPECT_CODE(ns_->ListVolumes(0, kListPageEntriesMax + 1), Code::kInvalid);
  Volume labels;
  labels.volume_id = 8;
  labels.url = "s3://e/b";
  for (size_t i = 0; i <= kVolumeLabelsMax; i++)
    labels.labels.push_back({"k" + std::to_string(i), "v"});
  EXPECT_CODE(ns_->PutVolume(labels), Code::kTooBig);
}

TEST_F(RecordsTest, ClientsPutGetListDelete) {
  for (const char* owner : {"linux-b", "linux-a", "linux-c"}) {
    ClientRecord c{owner, 100, 7, "root", 0, true, false};
    ASSERT_OK(ns_->PutClient(c));
  }
  ASSIGN_OR_FAIL(ClientRecord a, ns_->GetClient("linux-a"));
  EXPECT_TRUE(a.confirmed);
  a.reclaim_complete = true;
  ASSERT_OK(ns_->PutClient(a));
  ASSIGN_OR_FAIL(std::vector<ClientRecord> first, ns_->ListClients("", 2));
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].owner, "linux-a");
  EXPECT_TRUE(first[0].reclaim_complete);
  ASSIGN_OR_FAIL(std::vector<ClientRecord> rest, ns_->ListClients(first[1].owner, 2));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].owner, "linux-c");
  ASSERT_OK(ns_->DeleteClient("linux-b"));
  EXPECT_CODE(ns_->GetClient("linux-b"), Code::kNotFound);
  EXPECT_CODE(ns_->GetClient(""), Code::kInvalid);
  ClientRecord long_owner;
  long_owner.owner = std::string(kClientOwnerBytesMax + 1, 'o');
  EXPECT_CODE(ns_->PutClient(long_owner), Code::kTooBig);
  Reopen();
  ASSIGN_OR_FAIL(std::vector<ClientRecord> after, ns_->ListClients("", 10));
  EXPECT_EQ(after.size(), 2u);
}

}  // namespace
}  // namespace manifold::meta
