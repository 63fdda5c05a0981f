#include <gtest/gtest.h>

#include "control/loader/yaml_tree.hpp"

using nfgate::loader::YamlTree;
using nfgate::loader::YNode;

namespace {

YamlTree parse_ok(const std::string& text) {
    YamlTree t;
    std::string err;
    int line = -1;
    EXPECT_TRUE(t.parse(text, err, line)) << err << " at line " << line;
    return t;
}

TEST(YamlTree, MappingsListsAndLineNumbers) {
    auto t = parse_ok("a: 1\nb:\n  - x\n  - {c: d}\n");
    ASSERT_EQ(t.documents().size(), 1u);
    YNode root = t.document(0);
    ASSERT_TRUE(root.is_map());
    EXPECT_EQ(root.size(), 2u);
    EXPECT_EQ(root.get("a").str(), "1");
    EXPECT_EQ(root.get("a").line(), 1);
    YNode b = root.get("b");
    ASSERT_TRUE(b.is_seq());
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b.item(0).str(), "x");
    EXPECT_EQ(b.item(0).line(), 3);
    EXPECT_EQ(b.item(1).get("c").str(), "d");
    EXPECT_EQ(b.item(1).line(), 4);
    EXPECT_FALSE(root.get("missing").present());
    EXPECT_FALSE(b.get("c").present()) << "lookup on a list finds nothing";
}

TEST(YamlTree, NullsAndQuotedScalars) {
    auto t = parse_ok("a:\nb: ~\nc: null\nd: \"null\"\ne: '7'\nf: 7\n");
    YNode root = t.document(0);
    EXPECT_TRUE(root.get("a").is_null());
    EXPECT_TRUE(root.get("b").is_null());
    EXPECT_TRUE(root.get("c").is_null());
    EXPECT_FALSE(root.get("d").is_null()) << "a quoted null is the string null";
    EXPECT_TRUE(root.get("e").is_quoted());
    EXPECT_FALSE(root.get("f").is_quoted());
    EXPECT_TRUE(root.get("absent").is_null());
}

TEST(YamlTree, SeveralDocumentsAndJson) {
    auto t = parse_ok("---\na: 1\n---\nb: 2\n---\n");
    ASSERT_EQ(t.documents().size(), 3u);
    EXPECT_EQ(t.document(1).get("b").str(), "2");
    EXPECT_EQ(t.document(1).get("b").line(), 4);
    EXPECT_TRUE(t.document(2).is_null());

    auto j = parse_ok("{\n  \"items\": [\n    {\"port\": 80},\n    {\"port\": \"http\"}\n  ]\n}\n");
    YNode items = j.document(0).get("items");
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items.item(0).get("port").str(), "80");
    EXPECT_FALSE(items.item(0).get("port").is_quoted());
    EXPECT_TRUE(items.item(1).get("port").is_quoted());
    EXPECT_EQ(items.item(1).line(), 4);
}

TEST(YamlTree, AliasesShareTheAnchoredNode) {
    auto t = parse_ok("a: &x {p: 1}\nb: *x\n");
    EXPECT_EQ(t.document(0).get("b").get("p").str(), "1");
}

TEST(YamlTree, MalformedInputReportsLibyamlMessageAndLine) {
    YamlTree t;
    std::string err;
    int line = 0;
    EXPECT_FALSE(t.parse("a: 1\nb: [1, 2\nc: 3\n", err, line));
    EXPECT_FALSE(err.empty());
    EXPECT_GE(line, 2);

    EXPECT_FALSE(t.parse("a: *nope\n", err, line));
    EXPECT_EQ(line, 1);
    EXPECT_NE(err.find("nope"), std::string::npos) << err;
}

TEST(YamlTree, ReparseReplacesTheOldTree) {
    YamlTree t;
    std::string err;
    int line;
    ASSERT_TRUE(t.parse("a: 1\n---\nb: 2\n", err, line));
    ASSERT_TRUE(t.parse("c: 3\n", err, line));
    ASSERT_EQ(t.documents().size(), 1u);
    EXPECT_EQ(t.document(0).get("c").str(), "3");
    EXPECT_FALSE(t.document(0).get("a").present());
}

}  // namespace
