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
  ASSERT_EQ(c->export_rules.size(), 2u);  // [export] keys: one rule for every address
  EXPECT_TRUE(c->export_rules[0].root_squash);
  EXPECT_TRUE(c->export_rules[1].root_squash);
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
  EXPECT_FALSE(ParseConfig("[server]\nmeta_dir = \"/m\"\nio_spin_us = -1\n", "t").ok());
  EXPECT_FALSE(ParseConfig("[server]\nmeta_dir = \"/m\"\nio_spin_us = 10001\n", "t").ok());
  auto spin = ParseConfig("[server]\nmeta_dir = \"/m\"\nio_spin_us = 0\n", "t");
  ASSERT_TRUE(spin.ok()) << spin.status().ToString();
  EXPECT_EQ(spin->io_spin_us, 0u);
  EXPECT_EQ(ParseConfig("[server]\nmeta_dir = \"/m\"\n", "t")->io_spin_us, rpc::kIoSpinUsDefault);
}

TEST(MdsConfigTest, CommitModeIsDeferredUnlessSaidOtherwise) {
  auto deflt = ParseConfig("[server]\nmeta_dir = \"/m\"\n", "t");
  ASSERT_TRUE(deflt.ok()) << deflt.status().ToString();
  EXPECT_TRUE(deflt->commit_deferred);
  auto synced = ParseConfig("[server]\nmeta_dir = \"/m\"\ncommit = \"synced\"\n", "t");
  ASSERT_TRUE(synced.ok()) << synced.status().ToString();
  EXPECT_FALSE(synced->commit_deferred);
  auto bad = ParseConfig("[server]\nmeta_dir = \"/m\"\ncommit = \"sometimes\"\n", "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("commit"), std::string::npos) << bad.status().message();
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


// ---- export rules per client network -------------------------------------------------------

std::string WithExport(const std::string& export_text) {
  return "[server]\nmeta_dir = \"/m\"\n" + export_text;
}

Result<MdsConfig> ParseRule(const std::string& body) {
  return ParseConfig(WithExport("[[export.client]]\n" + body), "rules.toml");
}

TEST(ExportRulesConfigTest, ParsesClientTablesInFileOrder) {
  auto c = ParseConfig(WithExport(R"(
[[export.client]]
network = "10.0.0.0/8"
access = "ro"
root_squash = true
auth = ["none", "sys"]

[[export.client]]
network = "fd00::/8"

[[export.client]]
network = "192.168.1.7"
)"), "rules.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(3u, c->export_rules.size());
  const ExportRule& a = c->export_rules[0];
  EXPECT_EQ("10.0.0.0/8", a.network.ToString());
  EXPECT_TRUE(a.read_only);
  EXPECT_TRUE(a.root_squash);
  EXPECT_EQ((std::vector<rpc::AuthFlavor>{rpc::AuthFlavor::kNone, rpc::AuthFlavor::kSys}),
            a.flavors);
  const ExportRule& b = c->export_rules[1];  // the defaults: rw, no squash, AUTH_SYS only
  EXPECT_EQ("fd00::/8", b.network.ToString());
  EXPECT_FALSE(b.read_only);
  EXPECT_FALSE(b.root_squash);
  EXPECT_EQ(std::vector<rpc::AuthFlavor>{rpc::AuthFlavor::kSys}, b.flavors);
  EXPECT_EQ("192.168.1.7/32", c->export_rules[2].network.ToString());  // one host
}

TEST(ExportRulesConfigTest, WithoutClientTablesOneRuleCoversEveryAddress) {
  auto none = ParseConfig(WithExport(""), "t");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  ASSERT_EQ(2u, none->export_rules.size());  // as before rules existed: everyone, rw, sys+none
  EXPECT_EQ("0.0.0.0/0", none->export_rules[0].network.ToString());
  EXPECT_EQ("::/0", none->export_rules[1].network.ToString());
  for (const ExportRule& r : none->export_rules) {
    EXPECT_FALSE(r.read_only);
    EXPECT_TRUE(r.Allows(rpc::AuthFlavor::kNone));
  }
  auto old = ParseConfig(WithExport("[export]\nread_only = true\nallow_auth_none = false\n"), "t");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  ASSERT_EQ(2u, old->export_rules.size());
  for (const ExportRule& r : old->export_rules) {
    EXPECT_TRUE(r.read_only);
    EXPECT_EQ(std::vector<rpc::AuthFlavor>{rpc::AuthFlavor::kSys}, r.flavors);
  }
}

TEST(ExportRulesConfigTest, OldKeysBesideClientTablesSayWhatToWrite) {
  auto c = ParseConfig(WithExport("[export]\nread_only = true\n[[export.client]]\n"
                                  "network = \"10.0.0.0/8\"\n"),
                       "mixed.toml");
  ASSERT_FALSE(c.ok());
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("mixed.toml [export]: 'read_only'"), std::string::npos) << m;
  EXPECT_NE(m.find("access = \"ro\""), std::string::npos) << m;
}

TEST(ExportRulesConfigTest, BadNetworksAreErrorsThatNameThem) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0/8", "10.0.0.0/", "10.0.0.0/8x", "10.0.0.0/-1",
                          "fd00::/129", "fd00::/", "nonsense", "10.0.0.0/8/8", "fe80::1%eth0/64",
                          "::ffff:10.0.0.0/104"}) {
    auto c = ParseRule(std::string("network = \"") + bad + "\"\n");
    ASSERT_FALSE(c.ok()) << bad;
    const std::string& m = c.status().message();
    EXPECT_NE(m.find("rules.toml [[export.client]] #1: network '" + std::string(bad) + "'"),
              std::string::npos)
        << m;
  }
  auto host_bits = ParseRule("network = \"10.1.2.3/8\"\n");
  ASSERT_FALSE(host_bits.ok());
  EXPECT_NE(host_bits.status().message().find("write '10.0.0.0/8'"), std::string::npos)
      << host_bits.status().message();
  auto v6_bits = ParseRule("network = \"fd00::1/64\"\n");
  ASSERT_FALSE(v6_bits.ok());
  EXPECT_NE(v6_bits.status().message().find("write 'fd00::/64'"), std::string::npos)
      << v6_bits.status().message();
}

TEST(ExportRulesConfigTest, BadRuleFieldsAreErrors) {
  const std::string net = "network = \"10.0.0.0/8\"\n";
  for (const std::string& body :
       {net + "access = \"rwx\"\n", net + "auth = [\"krb5\"]\n", net + "auth = []\n",
        net + "auth = [\"sys\", \"sys\"]\n", net + "auth = \"sys\"\n", net + "acess = \"ro\"\n",
        net + "root_squash = \"yes\"\n", std::string("access = \"ro\"\n"),
        net + "[[export.client]]\nnetwork = \"10.0.0.0/8\"\n"}) {
    auto c = ParseRule(body);
    EXPECT_FALSE(c.ok()) << body;
    if (!c.ok()) {
      EXPECT_NE(c.status().message().find("[[export.client]] #"), std::string::npos)
          << c.status().message();
    }
  }
  EXPECT_FALSE(ParseConfig(WithExport("[export]\nclient = []\n"), "t").ok());
  EXPECT_FALSE(ParseConfig(WithExport("[export]\nclient = 1\n"), "t").ok());
}

ExportRule Rule(const char* network, bool read_only = false) {
  ExportRule r;
  r.network = Network::Parse(network).value();
  r.read_only = read_only;
  return r;
}

TEST(ExportRulesTest, TheMostSpecificNetworkHoldingThePeerApplies) {
  ExportRules rules({Rule("0.0.0.0/0"), Rule("10.0.0.0/8", true), Rule("10.1.0.0/16"),
                     Rule("::/0", true), Rule("fd00::/8"), Rule("10.1.2.3")});
  auto net = [&](const char* peer) {
    const ExportRule* r = rules.Match(peer);
    return r ? r->network.ToString() : std::string("refused");
  };
  EXPECT_EQ("10.1.2.3/32", net("10.1.2.3:700"));
  EXPECT_EQ("10.1.0.0/16", net("10.1.2.4:700"));
  EXPECT_EQ("10.0.0.0/8", net("10.2.0.1:1"));
  EXPECT_EQ("0.0.0.0/0", net("192.168.0.1:2049"));
  EXPECT_EQ("fd00::/8", net("fd00::1:700"));    // as asio prints it: address, ':', port
  EXPECT_EQ("fd00::/8", net("[fd00::1]:700"));  // bracketed
  EXPECT_EQ("::/0", net("2001:db8::1:9"));
  EXPECT_EQ("::/0", net("fe80::1%eth0:22"));       // a zone does not change the network
  EXPECT_EQ("10.1.0.0/16", net("::ffff:10.1.9.9:44"));  // IPv4 on a dual-stack socket
}

TEST(ExportRulesTest, AnAddressOutsideEveryRuleIsRefused) {
  ExportRules rules({Rule("10.0.0.0/8"), Rule("fd00::/8")});
  for (const char* peer : {"127.0.0.1:1", "11.0.0.0:5", "::1:1", "fe00::1:1", "unknown",
                           "not-an-address:1", ""}) {
    EXPECT_EQ(nullptr, rules.Match(peer)) << peer;
  }
  EXPECT_NE(nullptr, rules.Match("10.255.255.255:1"));
}

}  // namespace
}  // namespace manifold::nfs4
