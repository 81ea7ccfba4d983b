// Every nfsstat4 value defined in src/xdr/nfs4.x has its RFC name (status_names.h).
#include "state/status_names.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>

namespace manifold::state {
namespace {

TEST(StatusNames, EveryValueOfNfs4xHasItsRfcName) {
  std::ifstream in(std::string(MANIFOLD_SOURCE_DIR) + "/src/xdr/nfs4.x");
  ASSERT_TRUE(in) << "cannot read nfs4.x";
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  size_t begin = all.find("enum nfsstat4 {");
  ASSERT_NE(begin, std::string::npos);
  std::string body = all.substr(begin, all.find("};", begin) - begin);
  std::regex entry(R"((NFS4(?:ERR)?_[A-Z0-9_]+)\s*=\s*(\d+))");
  int count = 0;
  for (std::sregex_iterator it(body.begin(), body.end(), entry), end; it != end; ++it) {
    std::string name = (*it)[1];
    int value = std::stoi((*it)[2]);
    EXPECT_EQ(name, Nfs4StatName(static_cast<nfsstat4>(value))) << "value " << value;
    ++count;
  }
  EXPECT_GE(count, 110);  // RFC 7863 + RFC 8276: 113 values
}

TEST(StatusNames, UnknownValueHasAFixedName) {
  EXPECT_STREQ("NFS4ERR_(unknown)", Nfs4StatName(static_cast<nfsstat4>(4)));
  EXPECT_STREQ("NFS4ERR_(unknown)", Nfs4StatName(static_cast<nfsstat4>(99999)));
}

}  // namespace
}  // namespace manifold::state
