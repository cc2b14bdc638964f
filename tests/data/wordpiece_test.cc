// tests/data/wordpiece_test.cc — the WordPiece tokenizer against hand-checked cases.
#include "runtime/data/wordpiece.h"

#include <gtest/gtest.h>

#include <fstream>

#include "tests/data/test_data.h"

namespace tigerfg::data {
namespace {

using Words = std::vector<std::string>;

WordPieceTokenizer SmallVocab() {
  return WordPieceTokenizer::FromTokens({"[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "un",
                                         "##aff", "##able", "runn", "##ing", ",", "!", "cafe", "中",
                                         "a", "##a"})
      .value();
}

TEST(BasicTokenize, SplitsLowersAndStripsAccents) {
  EXPECT_EQ(BasicTokenize("Hello, WORLD!"), (Words{"hello", ",", "world", "!"}));
  EXPECT_EQ(BasicTokenize("  Café\tNaïve\n"), (Words{"cafe", "naive"}));
  EXPECT_EQ(BasicTokenize("ÅNGSTRÖM Łódź"), (Words{"angstrom", "łodz"}));
  EXPECT_EQ(BasicTokenize("e\xCC\x81t\xC3\xA9"), (Words{"ete"}));  // combining acute, then é
  EXPECT_EQ(BasicTokenize("ab中文cd"), (Words{"ab", "中", "文", "cd"}));
  EXPECT_EQ(BasicTokenize("a\x01"
                          "b t-shirt"),
            (Words{"ab", "t", "-", "shirt"}));
  EXPECT_EQ(BasicTokenize("ΑΒΓ Привет"), (Words{"αβγ", "привет"}));
  EXPECT_TRUE(BasicTokenize(" \n ").empty());
}

TEST(WordPiece, GreedyLongestMatchWithContinuations) {
  const WordPieceTokenizer t = SmallVocab();
  EXPECT_EQ(t.WordPieces("unaffable"), (Words{"un", "##aff", "##able"}));
  EXPECT_EQ(t.WordPieces("running"), (Words{"runn", "##ing"}));
  EXPECT_EQ(t.WordPieces("xyz"), (Words{"[UNK]"}));
  EXPECT_EQ(t.WordPieces("unaffablex"), (Words{"[UNK]"}));  // any unmatched part: whole word
  EXPECT_EQ(t.WordPieces(std::string(100, 'a')).size(), 100u);
  EXPECT_EQ(t.WordPieces(std::string(101, 'a')), (Words{"[UNK]"}));
}

TEST(WordPiece, EncodeAddsClsTruncatesAndPads) {
  const WordPieceTokenizer t = SmallVocab();
  EXPECT_EQ(t.cls_id(), 2);
  EXPECT_EQ(t.unk_id(), 1);
  EXPECT_EQ(t.Encode("Hello unaffable XYZ!", 9),
            (std::vector<int64_t>{2, 4, 6, 7, 8, 1, 12, 0, 0}));
  EXPECT_EQ(t.Encode("Hello unaffable", 3), (std::vector<int64_t>{2, 4, 6}));
  EXPECT_EQ(t.Encode("", 4), (std::vector<int64_t>{2, 0, 0, 0}));
  EXPECT_EQ(t.Encode("Café 中", 4), (std::vector<int64_t>{2, 13, 14, 0}));
}

TEST(WordPiece, LoadsVocabFileAndChecksSpecialTokens) {
  testing::TempDir dir;
  {
    std::ofstream out(dir / "vocab.txt");
    out << "[PAD]\r\n[UNK]\r\n[CLS]\r\nhello\r\n";
  }
  StatusOr<WordPieceTokenizer> t = WordPieceTokenizer::Load(dir / "vocab.txt");
  ASSERT_TRUE(t.ok()) << t.status().message();
  EXPECT_EQ(t->vocab_size(), 4);
  EXPECT_EQ(t->Id("hello"), 3);
  EXPECT_FALSE(WordPieceTokenizer::FromTokens({"[CLS]", "[PAD]", "[UNK]"}).ok());
  StatusOr<WordPieceTokenizer> no_unk = WordPieceTokenizer::FromTokens({"[PAD]", "[CLS]"}, "v.txt");
  ASSERT_FALSE(no_unk.ok());
  EXPECT_NE(no_unk.status().message().find("v.txt"), std::string::npos);
  EXPECT_FALSE(WordPieceTokenizer::Load(dir / "missing.txt").ok());
}

}  // namespace
}  // namespace tigerfg::data
