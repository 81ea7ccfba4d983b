// manifold-mds configuration: a good file parses; every kind of bad file gets an error that
// names the file, the place and the key, and nothing is silently ignored.
#include <gtest/gtest.h>

#include "nfs4/config.h"

namespace manifold::nfs4 {
namespace {

constexpr const char* kGood = R"(
[server]
listen = "127.0.0.1:2049"
meta_dir = "/var/lib/manifold/meta"
lease_time_s = 30

[export]
root_squash = true

[[volume]]
id = 1
url = "nfs://127.0.0.1:2050/srv/a?dir=data"
labels = { tier = "fast", site = "a" }

[[volume]]
id = 2
url = "nfs://127.0.0.1:2051/srv/b"
)";

TEST(MdsConfigTest, ParsesEveryKey) {
  auto c = ParseConfig(kGood, "good.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->listen, "127.0.0.1:2049");
  EXPECT_EQ(c->lease_time_s, 30u);
  EXPECT_TRUE(c->root_squash);
  ASSERT_EQ(c->volumes.size(), 2u);
  EXPECT_EQ(c->volumes[0].labels.size(), 2u);
  EXPECT_EQ(c->volumes[1].id, 2u);
}

TEST(MdsConfigTest, TruncatedFileIsAnErrorWithItsPlace) {
  std::string text = kGood;
  text = text.substr(0, text.find("labels = { tier") + 20);  // cut inside an inline table
  auto c = ParseConfig(text, "cut.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("cut.toml:"), std::string::npos) << c.status().message();
}

TEST(MdsConfigTest, UnknownKeyIsAnError) {
  auto c = ParseConfig("[server]\nmeta_dir = \"/m\"\nlease_tme_s = 10\n", "typo.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("lease_tme_s"), std::string::npos);
}

TEST(MdsConfigTest, WrongTypesAndRangesAreErrors) {
  EXPECT_FALSE(ParseConfig("[server]\nmeta_dir = \"/m\"\nlease_time_s = \"ten\"\n", "t").ok());
  EXPECT_FALSE(ParseConfig("[server]\nmeta_dir = \"/m\"\nlease_time_s = 1\n", "t").ok());
  EXPECT_FALSE(ParseConfig("[server]\nmeta_dir = \"/m\"\nextent_size_bytes = 4096\n", "t").ok());
  EXPECT_FALSE(ParseConfig("[server]\nlisten = \"x:1\"\n", "t").ok());  // meta_dir required
}

TEST(MdsConfigTest, VolumesNeedUniquePositiveIdsAndUrls) {
  const char* dup = "[server]\nmeta_dir=\"/m\"\n[[volume]]\nid=1\nurl=\"nfs://a/x\"\n[[volume]]\nid=1\nurl=\"nfs://b/y\"\n";
  EXPECT_FALSE(ParseConfig(dup, "t").ok());
  EXPECT_FALSE(ParseConfig("[server]\nmeta_dir=\"/m\"\n[[volume]]\nid=0\nurl=\"nfs://a/x\"\n", "t").ok());
  EXPECT_FALSE(ParseConfig("[server]\nmeta_dir=\"/m\"\n[[volume]]\nid=3\n", "t").ok());
}

TEST(MdsConfigTest, MissingFileIsNotFound) {
  auto c = LoadConfig("/nonexistent/manifold/mds.toml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Code::kNotFound);
}

}  // namespace
}  // namespace manifold::nfs4
