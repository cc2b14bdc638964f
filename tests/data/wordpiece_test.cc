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

// Scripts beyond Latin-1: the expected tokens follow BERT's BasicTokenizer rules (uncased),
// derived by hand: Ё -> ё -> NFD е + U+0308 (Mn, dropped); ά -> NFD α + U+0301; Ş -> ş -> s +
// U+0327; İ -> i; fullwidth Ｎ -> ｎ (lower-cased, not folded to ASCII: NFD, not NFKD); ・ (U+30FB)
// is category Po, a token of its own; U+F900 is a CJK compatibility ideograph, split off and
// NFD-mapped to U+8C48; € is Sc, not punctuation, so "€99" stays one word; U+2066/U+2069 are Cf
// (format controls), dropped; 한 decomposes into its three jamo; ở (U+1EDF) -> o + U+031B + U+0309.
TEST(BasicTokenize, FollowsBertOnEveryScript) {
  EXPECT_EQ(BasicTokenize("\u2066Ёлка Ελληνικά ŞİŞLİ ＮＩＫＥ・\uF900 €99\u2069"),
            (Words{"елка", "ελληνικα", "sisli", "ｎｉｋｅ", "・", "\u8C48", "€99"}));
  EXPECT_EQ(BasicTokenize("Phở Việt"), (Words{"pho", "viet"}));
  EXPECT_EQ(BasicTokenize("한"), (Words{"\u1112\u1161\u11AB"}));
  EXPECT_EQ(BasicTokenize("a\u2028b\u3000c"), (Words{"a", "b", "c"}));  // Zl and Zs separate
  EXPECT_EQ(BasicTokenize("x\xFFy"), (Words{"xy"}));  // invalid UTF-8: U+FFFD, dropped
}

// A small Chinese/Latin vocabulary; ids are line numbers.
WordPieceTokenizer MixedVocab() {
  return WordPieceTokenizer::FromTokens(
             {"[PAD]", "[UNK]",    "[CLS]",  "[SEP]",  "nike", "男",   "款",  "air",  "-",
              "max",   "90",       "红",     "色",     "连",   "衣",   "裙",  "（",   "xl",
              "）",    "creme",    "brulee", ",",      "pho",  "viet", "##s", "елка", "ελληνικα",
              "sisli", "ｎｉｋｅ", "・",     "\u8C48", "€9",   "##9"})
      .value();
}

TEST(WordPiece, EncodesChineseAccentedAndMixedTitles) {
  const WordPieceTokenizer t = MixedVocab();
  // Each ideograph is a word; （ and ） (U+FF08/9, Ps/Pe) are punctuation; "Air-Max" splits at -.
  // nike 4, 男 5, 款 6, air 7, - 8, max 9, 90 10, 红 11, 色 12, 连 13, 衣 14, 裙 15, （ 16, xl 17,
  // ） 18.
  EXPECT_EQ(
      t.Encode("Nike男款Air-Max 90红色连衣裙（XL）", 20),
      (std::vector<int64_t>{2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 0, 0, 0, 0}));
  // creme 19, brulee 20, "," 21, pho 22, "viets" = viet 23 + ##s 24, "ŞİŞLİ" -> sisli 27.
  EXPECT_EQ(t.Encode("CRÈME BRÛLÉE, Phở Việts ŞİŞLİ", 10),
            (std::vector<int64_t>{2, 19, 20, 21, 22, 23, 24, 27, 0, 0}));
  // елка 25, ελληνικα 26, ｎｉｋｅ 28, ・ 29, 豈 30, then "€99" = €9 31 + ##9 32; the
  // Cf controls around it vanish; "茶" (not in the vocab) is [UNK] 1.
  EXPECT_EQ(t.Encode("Ёлка Ελληνικά \u2066ＮＩＫＥ・\uF900 €99\u2069 茶", 11),
            (std::vector<int64_t>{2, 25, 26, 28, 29, 30, 31, 32, 1, 0, 0}));
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
