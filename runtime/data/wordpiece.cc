// runtime/data/wordpiece.cc — BERT basic tokenisation (Unicode properties and NFD from
// libutf8proc) and WordPiece matching.
#include "runtime/data/wordpiece.h"

#include <utf8proc.h>

#include <cstdlib>
#include <fstream>
#include <string_view>

namespace tigerfg::data {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

// Invalid UTF-8 becomes U+FFFD, one per bad byte (BasicTokenize then drops it, as BERT does).
std::u32string DecodeUtf8(std::string_view s) {
  std::u32string out;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  size_t i = 0;
  while (i < s.size()) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t len = utf8proc_iterate(bytes + i, s.size() - i, &cp);
    out.push_back(len > 0 ? static_cast<char32_t>(cp) : kReplacement);
    i += len > 0 ? len : 1;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string* out) {
  utf8proc_uint8_t bytes[4];
  const utf8proc_ssize_t len = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), bytes);
  out->append(reinterpret_cast<const char*>(bytes), len);
}

utf8proc_category_t Category(char32_t c) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(c));
}

// BERT's _is_whitespace: \t \n \r and category Zs; plus Zl and Zp, which survive its cleaning
// and then split in Python's str.split().
bool IsWhitespace(char32_t c) {
  if (c == ' ' || c == '\t' || c == '\n' || c == '\r') return true;
  const utf8proc_category_t cat = Category(c);
  return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL || cat == UTF8PROC_CATEGORY_ZP;
}

// BERT's _is_control: every category C* (Cc, Cf, Cs, Co, Cn) except \t \n \r; NUL and U+FFFD too.
bool IsDropped(char32_t c) {
  if (c == 0 || c == kReplacement) return true;
  if (c == '\t' || c == '\n' || c == '\r') return false;
  switch (Category(c)) {
    case UTF8PROC_CATEGORY_CN:
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
      return true;
    default:
      return false;
  }
}

// BERT's _is_punctuation: the ASCII non-alphanumeric symbols ($, +, ^, ` and the like, which
// Unicode files under S*) and every category P*.
bool IsPunctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126)) {
    return true;
  }
  const utf8proc_category_t cat = Category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

// BERT's _is_chinese_char: the CJK Unified Ideographs blocks (and extensions A-E) and the CJK
// Compatibility Ideographs. This list is BERT's definition, not a Unicode property: Hangul,
// Hiragana and Katakana are not split per character.
bool IsCjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// One whitespace-separated token after cleaning, as BERT's uncased path treats it: lower-cased
// (utf8proc's simple lower-case mapping; Python's lower() differs only for final sigma and
// U+0130), NFD-normalised, nonspacing marks (Mn) dropped, split at each punctuation character.
void AppendNormalisedWords(const std::u32string& token, std::vector<std::string>* words) {
  std::string lowered;
  for (char32_t c : token) {
    AppendUtf8(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))), &lowered);
  }
  utf8proc_uint8_t* nfd = nullptr;
  const utf8proc_ssize_t nfd_len =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(lowered.data()), lowered.size(), &nfd,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_DECOMPOSE));
  CHECK_GE(nfd_len, 0) << "utf8proc_map: " << utf8proc_errmsg(nfd_len);  // input is valid UTF-8
  const std::u32string chars =
      DecodeUtf8({reinterpret_cast<const char*>(nfd), static_cast<size_t>(nfd_len)});
  std::free(nfd);
  std::string current;
  for (char32_t c : chars) {
    if (Category(c) == UTF8PROC_CATEGORY_MN) continue;  // accents
    if (IsPunctuation(c)) {
      if (!current.empty()) words->push_back(std::move(current));
      current.clear();
      AppendUtf8(c, &current);
      words->push_back(std::move(current));
      current.clear();
      continue;
    }
    AppendUtf8(c, &current);
  }
  if (!current.empty()) words->push_back(std::move(current));
}

}  // namespace

std::vector<std::string> BasicTokenize(const std::string& text) {
  std::vector<std::string> words;
  std::u32string token;
  auto flush = [&] {
    if (!token.empty()) AppendNormalisedWords(token, &words);
    token.clear();
  };
  for (char32_t c : DecodeUtf8(text)) {
    if (IsDropped(c)) continue;
    if (IsWhitespace(c)) {
      flush();
    } else if (IsCjk(c)) {  // every ideograph a token of its own
      flush();
      token.push_back(c);
      flush();
    } else {
      token.push_back(c);
    }
  }
  flush();
  return words;
}

StatusOr<WordPieceTokenizer> WordPieceTokenizer::Load(const std::string& vocab_path) {
  std::ifstream in(vocab_path);
  if (!in) return Status::Error(vocab_path + ": cannot open vocab");
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    tokens.push_back(line);
  }
  return FromTokens(std::move(tokens), vocab_path);
}

StatusOr<WordPieceTokenizer> WordPieceTokenizer::FromTokens(std::vector<std::string> tokens,
                                                            const std::string& where) {
  WordPieceTokenizer t;
  t.tokens_ = std::move(tokens);
  for (size_t i = 0; i < t.tokens_.size(); ++i) t.ids_.emplace(t.tokens_[i], i);  // first wins
  if (t.tokens_.empty() || t.tokens_[0] != "[PAD]") {
    return Status::Error(where + ": line 1 must be [PAD] (id 0 is padding)");
  }
  t.cls_id_ = t.Id("[CLS]");
  t.unk_id_ = t.Id("[UNK]");
  if (t.cls_id_ < 0) return Status::Error(where + ": no [CLS] token");
  if (t.unk_id_ < 0) return Status::Error(where + ": no [UNK] token");
  return t;
}

int64_t WordPieceTokenizer::Id(const std::string& token) const {
  auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<std::string> WordPieceTokenizer::WordPieces(const std::string& word) const {
  const std::u32string chars = DecodeUtf8(word);
  if (chars.size() > static_cast<size_t>(kMaxWordChars)) return {"[UNK]"};
  std::vector<std::string> pieces;
  size_t start = 0;
  while (start < chars.size()) {
    size_t end = chars.size();
    std::string found;
    for (; end > start; --end) {
      std::string candidate = start > 0 ? "##" : "";
      for (size_t k = start; k < end; ++k) AppendUtf8(chars[k], &candidate);
      if (ids_.count(candidate)) {
        found = std::move(candidate);
        break;
      }
    }
    if (found.empty()) return {"[UNK]"};
    pieces.push_back(std::move(found));
    start = end;
  }
  return pieces;
}

std::vector<int64_t> WordPieceTokenizer::Encode(const std::string& text, int max_len) const {
  CHECK_GT(max_len, 0);
  std::vector<int64_t> ids(max_len, 0);
  ids[0] = cls_id_;
  int n = 1;
  for (const std::string& word : BasicTokenize(text)) {
    for (const std::string& piece : WordPieces(word)) {
      if (n == max_len) return ids;
      ids[n++] = Id(piece);
    }
  }
  return ids;
}

}  // namespace tigerfg::data
