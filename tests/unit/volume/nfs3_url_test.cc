// The NFSv3 volume URL: what parses, to what, and the message for each kind of mistake.
#include <gtest/gtest.h>

#include "volume/nfs3_volume.h"

namespace manifold::volume {
namespace {

TEST(Nfs3AddressTest, ParsesEveryPart) {
  auto a = Nfs3Address::Parse(
      "nfs://ds1.example:2050/srv/export?dir=manifold/data&mountport=20048&uid=7&gid=8");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "ds1.example");
  EXPECT_EQ(a->port, 2050);
  EXPECT_EQ(a->mount_port, 20048);
  EXPECT_EQ(a->export_path, "/srv/export");
  EXPECT_EQ(a->data_dir, "manifold/data");
  EXPECT_EQ(a->uid, 7u);
  EXPECT_EQ(a->gid, 8u);
}

TEST(Nfs3AddressTest, DefaultsArePort2049MountOnTheSamePortRootAndTheExportRoot) {
  auto a = Nfs3Address::Parse("nfs://10.0.0.1/export/");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->port, kNfsPortDefault);
  EXPECT_EQ(a->mount_port, kNfsPortDefault);
  EXPECT_EQ(a->export_path, "/export");  // trailing '/' dropped
  EXPECT_EQ(a->data_dir, "");
  EXPECT_EQ(a->uid, 0u);
  EXPECT_EQ(a->gid, 0u);
  auto p = Nfs3Address::Parse("nfs://10.0.0.1:3049/x");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->mount_port, 3049) << "mountport follows the port";
}

TEST(Nfs3AddressTest, Ipv6PercentEscapesAndDirNormalisation) {
  auto a = Nfs3Address::Parse("nfs://[::1]:2050/exp%20one?dir=/a//b/");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 2050);
  EXPECT_EQ(a->export_path, "/exp one");
  EXPECT_EQ(a->data_dir, "a/b");
}

TEST(Nfs3AddressTest, ToUrlRoundTrips) {
  for (const char* url : {"nfs://h:2049/e", "nfs://[::1]:1/e%20x?dir=d/e&mountport=2&uid=3&gid=4",
                          "nfs://127.0.0.1:2050/tmp/x?dir=data"}) {
    auto a = Nfs3Address::Parse(url);
    ASSERT_TRUE(a.ok()) << url << ": " << a.status().ToString();
    EXPECT_EQ(a->ToUrl(), url);
    auto b = Nfs3Address::Parse(a->ToUrl());
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->ToUrl(), a->ToUrl());
  }
}

TEST(Nfs3AddressTest, MistakesAreInvalidWithAMessageThatNamesThem) {
  struct Case {
    const char* url;
    const char* says;
  } cases[] = {
      {"http://h/e", "not an nfs:// URL"},
      {"nfs:/h/e", "not an nfs:// URL"},
      {"nfs://h", "no export path"},
      {"nfs://h?dir=x", "no export path"},
      {"nfs:///e", "no host"},
      {"nfs://:2049/e", "no host"},
      {"nfs://h:/e", "empty port"},
      {"nfs://h:0/e", "port '0'"},
      {"nfs://h:65536/e", "port '65536'"},
      {"nfs://h:20x9/e", "port '20x9'"},
      {"nfs://[::1/e", "unterminated '['"},
      {"nfs://[::1]x/e", "junk after ']'"},
      {"nfs://user@h/e", "bad character in host"},
      {"nfs://h/e%zz", "bad %-escape"},
      {"nfs://h/e%00", "bad %-escape"},
      {"nfs://h/e#frag", "fragments"},
      {"nfs://h/e?dir=a/../b", "'.' or '..'"},
      {"nfs://h/e?mountport=x", "mountport 'x'"},
      {"nfs://h/e?uid=-1", "uid '-1'"},
      {"nfs://h/e?gid=99999999999", "gid '99999999999'"},
      {"nfs://h/e?readahead=1", "unknown option 'readahead'"},
      {"nfs://h/e?dir", "has no '='"},
      {"nfs://h/e?dir=a&dir=b", "given twice"},
  };
  for (const Case& c : cases) {
    auto a = Nfs3Address::Parse(c.url);
    ASSERT_FALSE(a.ok()) << c.url << " parsed";
    EXPECT_EQ(a.status().code(), Code::kInvalid) << c.url;
    EXPECT_NE(a.status().message().find(c.says), std::string::npos)
        << c.url << " -> " << a.status().message();
    EXPECT_NE(a.status().message().find("expected nfs://HOST"), std::string::npos) << c.url;
  }
}

// libnfs's nfsport (the DS URLs tools/local-cluster writes to cluster.env) works as the port.
TEST(Nfs3AddressTest, NfsportIsThePortAsLibnfsSpellsIt) {
  auto a = Nfs3Address::Parse("nfs://127.0.0.1/tmp/ds1/export?nfsport=23211&mountport=23211");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->port, 23211);
  EXPECT_EQ(a->mount_port, 23211);
  auto b = Nfs3Address::Parse("nfs://h/e?nfsport=3000");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->mount_port, 3000) << "mountport follows nfsport";
  EXPECT_TRUE(Nfs3Address::Parse("nfs://h:3000/e?nfsport=3000").ok());
  auto clash = Nfs3Address::Parse("nfs://h:2049/e?nfsport=3000");
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("disagrees"), std::string::npos)
      << clash.status().ToString();
  EXPECT_FALSE(Nfs3Address::Parse("nfs://h/e?nfsport=0").ok());
}

}  // namespace
}  // namespace manifold::volume
