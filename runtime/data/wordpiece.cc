// runtime/data/wordpiece.cc — UTF-8 decoding, BERT basic tokenisation and WordPiece matching.
#include "runtime/data/wordpiece.h"

#include <fstream>

namespace tigerfg::data {
namespace {

constexpr char32_t kReplacement = 0xFFFD;

std::u32string DecodeUtf8(const std::string& s) {
  std::u32string out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char b = s[i];
    int len = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (len == 0 || i + len > s.size()) {
      out.push_back(kReplacement);
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? b : b & (0x7F >> len);
    bool valid = true;
    for (int k = 1; k < len; ++k) {
      const unsigned char c = s[i + k];
      valid = valid && (c >> 6) == 2;
      cp = (cp << 6) | (c & 0x3F);
    }
    out.push_back(valid ? cp : kReplacement);
    i += valid ? len : 1;
  }
  return out;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsWhitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x202F || c == 0x205F || c == 0x3000;
}

bool IsControl(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  return c < 0x20 || (c >= 0x7F && c < 0xA0) || c == 0xAD || (c >= 0x200B && c <= 0x200F) ||
         c == 0xFEFF || c == kReplacement;
}

// ASCII punctuation (BERT counts $, +, ^, ` and the like too) and the Unicode punctuation blocks.
bool IsPunctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126)) {
    return true;
  }
  return c == 0xA1 || c == 0xA7 || c == 0xAB || c == 0xB6 || c == 0xB7 || c == 0xBB || c == 0xBF ||
         (c >= 0x2010 && c <= 0x2027) || (c >= 0x2030 && c <= 0x205E) ||
         (c >= 0x3001 && c <= 0x3003) || (c >= 0x3008 && c <= 0x3011) ||
         (c >= 0xFF01 && c <= 0xFF0F) || (c >= 0xFF1A && c <= 0xFF20) ||
         (c >= 0xFF3B && c <= 0xFF40) || (c >= 0xFF5B && c <= 0xFF65);
}

bool IsCjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

char32_t ToLower(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 32;
  if (c == 0x178) return 0xFF;
  if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x138 && c != 0x149 && c != 0x17F) {
    // Latin Extended-A pairs upper/lower as even/odd, shifted by one in 0x139..0x148, 0x179..0x17E.
    const bool odd_upper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E);
    if (odd_upper ? (c % 2 == 1) : (c % 2 == 0)) return c + 1;
    return c;
  }
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

// Base letter of the precomposed lower-case Latin letters U+00E0..U+017F (after ToLower);
// 0 = no decomposition. Letters without a canonical decomposition (æ, ð, ø, þ, ß, đ, ħ, ı,
// ĳ, ĸ, ŀ, ł, ŉ, ŋ, œ, ŧ, ſ) are kept.
char32_t StripAccent(char32_t c) {
  static const char kLatin1[] = "aaaaaa\0ceeeeiiii\0nooooo\0\0uuuuy\0y";  // U+00E0..U+00FF
  static const char kExtA[] =  // U+0100..U+017F, pairs of upper/lower
      "aaaaaaccccccccdd\0\0eeeeeeeeeegggggggghh\0\0iiiiiiiiii\0\0jjkk\0llllll\0\0\0\0nnnnnn\0\0\0oo"
      "oooo"
      "\0\0rrrrrrsssssssstttt\0\0uuuuuuuuuuuuwwyyyzzzzzz\0";
  if (c >= 0xE0 && c <= 0xFF) {
    const char base = kLatin1[c - 0xE0];
    return base ? static_cast<char32_t>(base) : 0;
  }
  if (c >= 0x100 && c <= 0x17F) {
    const char base = kExtA[c - 0x100];
    return base ? static_cast<char32_t>(base) : 0;
  }
  return 0;
}

}  // namespace

std::vector<std::string> BasicTokenize(const std::string& text) {
  std::vector<std::string> words;
  std::string current;
  auto flush = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (char32_t c : DecodeUtf8(text)) {
    if (c == 0 || IsControl(c)) continue;
    if (IsWhitespace(c)) {
      flush();
      continue;
    }
    c = ToLower(c);
    if (c >= 0x300 && c <= 0x36F) continue;  // combining accent
    if (const char32_t base = StripAccent(c)) c = base;
    if (IsPunctuation(c) || IsCjk(c)) {
      flush();
      AppendUtf8(c, &current);
      flush();
      continue;
    }
    AppendUtf8(c, &current);
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
