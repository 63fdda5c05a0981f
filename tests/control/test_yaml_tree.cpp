#include <gtest/gtest.h>

#include <algorithm>

#include "control/loader/document_split.hpp"
#include "control/loader/json_reader.hpp"
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

TEST(JsonReader, EscapesAndUnicode) {
    auto t = parse_ok("{\"a\": \"x\\\"y\\\\z\\n\", \"b\": \"\\u00e9\\ud83d\\ude00\", \"c\": -1.5e3, \"d\": [true, null]}");
    YNode root = t.document(0);
    EXPECT_EQ(root.get("a").str(), "x\"y\\z\n");
    EXPECT_EQ(root.get("b").str(), "\xc3\xa9\xf0\x9f\x98\x80");
    EXPECT_EQ(root.get("c").str(), "-1.5e3");
    EXPECT_FALSE(root.get("c").is_quoted());
    EXPECT_TRUE(root.get("d").item(1).is_null());
    EXPECT_FALSE(root.get("d").item(0).is_null());
}

TEST(JsonReader, YamlFlowStyleAndBadJsonFallBackToLibyaml) {
    auto flow = parse_ok("{a: b, c: [1, 2]}\n");
    EXPECT_EQ(flow.document(0).get("a").str(), "b");
    EXPECT_EQ(flow.document(0).get("c").size(), 2u);

    YamlTree t;
    std::string err;
    int line = 0;
    EXPECT_FALSE(t.parse("{\n  \"a\": 1,\n  \"b\": [1,\n}\n", err, line));
    EXPECT_FALSE(err.empty());
    EXPECT_GE(line, 3) << err;
}

TEST(JsonReader, LineNumbersFollowNewlines) {
    auto t = parse_ok("{\n\"items\": [\n\n  {\"x\": 1}\n]}\n");
    EXPECT_EQ(t.document(0).get("items").item(0).line(), 4);
    EXPECT_EQ(t.document(0).get("items").item(0).get("x").line(), 4);
}

// Text that is not exactly one JSON value never yields a JSON tree: libyaml decides (and these
// are not YAML either).
TEST(JsonReader, TrailingTextAndBadLiteralsAreNotJson) {
    for (const char* text : {"{\"a\": 1} x", "{\"a\": 1}}", "{\"a\": tru}", "[1, 2,]",
                             "{\"a\": \"x\" \"b\": 2}"}) {
        YamlTree t;
        EXPECT_FALSE(nfgate::loader::parse_json(t, text)) << text;
    }
    YamlTree t;
    EXPECT_TRUE(nfgate::loader::parse_json(t, "{\"a\": [1, {\"b\": null}]}  \n"));
    EXPECT_EQ(t.document(0).get("a").item(1).get("b").str(), "null");
}

// An API object has no file: line 0 everywhere, so a Diag leaves the line out.
TEST(JsonReader, FirstLineZeroLeavesLinesOut) {
    YamlTree t;
    ASSERT_TRUE(nfgate::loader::parse_json(t, "{\n\"a\":\n [1]}", 0));
    EXPECT_EQ(t.document(0).line(), 0);
    EXPECT_EQ(t.document(0).get("a").item(0).line(), 0);
}

std::string many_documents(int n) {
    std::string text = "# header\n";
    for (int i = 0; i < n; ++i)
        text += "---\nname: doc" + std::to_string(i) + "\nvalue: |\n  text\n  --- not a marker\n";
    return text;
}

TEST(DocumentSplit, CutsOnlyAtDocumentMarkers) {
    std::string text = many_documents(100);
    auto cuts = nfgate::loader::document_cut_points(text, 4);
    ASSERT_EQ(cuts.size(), 3u);
    for (size_t c : cuts) {
        EXPECT_EQ(text.compare(c, 4, "---\n"), 0) << c;
        EXPECT_EQ(text[c - 1], '\n');
    }
    EXPECT_TRUE(std::is_sorted(cuts.begin(), cuts.end()));
    EXPECT_TRUE(nfgate::loader::document_cut_points("%YAML 1.1\n" + text, 4).empty())
        << "directives bind to the next document: no cutting";
}

TEST(DocumentSplit, PiecesHoldTheSameDocumentsAndLinesAsOneParse) {
    // Big enough for several pieces where the machine has several cores.
    std::string text = many_documents(60000);
    auto whole = parse_ok(text);
    std::vector<YamlTree> pieces;
    std::string err;
    int line = 0;
    ASSERT_TRUE(nfgate::loader::parse_in_pieces(text, pieces, err, line)) << err;
    std::vector<std::pair<std::string, int>> seen, want;
    for (const auto& p : pieces)
        for (size_t i = 0; i < p.documents().size(); ++i)
            seen.emplace_back(std::string(p.document(i).get("name").str()), p.document(i).get("value").line());
    for (size_t i = 0; i < whole.documents().size(); ++i)
        want.emplace_back(std::string(whole.document(i).get("name").str()), whole.document(i).get("value").line());
    EXPECT_EQ(seen, want);
}

TEST(DocumentSplit, ReportsTheErrorWithItsFileLine) {
    std::string text = many_documents(60000) + "---\nbad: [\n";
    std::vector<YamlTree> pieces;
    std::string err;
    int line = 0;
    EXPECT_FALSE(nfgate::loader::parse_in_pieces(text, pieces, err, line));
    EXPECT_GE(line, 60000 * 5 + 2) << err;
}

}  // namespace
