// runtime/data/wordpiece.h — BERT-style WordPiece tokenizer over a standard vocab.txt
// (one token per line, id = 0-based line number; [PAD] must be id 0, [CLS] and [UNK] present).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/core/status.h"

namespace tigerfg::data {

// Basic tokenisation as BERT's uncased BasicTokenizer: control characters dropped, lower-cased,
// accents stripped, split on whitespace and punctuation (each punctuation character is a token),
// every CJK ideograph a token of its own. Lower-casing covers ASCII, Latin-1, Latin Extended-A,
// Greek and Cyrillic; accent stripping uses a small table that NFD-decomposes the precomposed
// letters of Latin-1 Supplement and Latin Extended-A (U+00C0..U+017F) to their base letter and
// drops combining marks (U+0300..U+036F). Other scripts pass through unchanged.
std::vector<std::string> BasicTokenize(const std::string& text);

class WordPieceTokenizer {
 public:
  static constexpr int kMaxWordChars = 100;  // longer words become [UNK], as in BERT

  static StatusOr<WordPieceTokenizer> Load(const std::string& vocab_path);
  // `tokens[i]` has id i; `where` names the source in messages.
  static StatusOr<WordPieceTokenizer> FromTokens(std::vector<std::string> tokens,
                                                 const std::string& where = "vocab");

  // Greedy longest-match-first pieces of one basic token ("##" marks a continuation);
  // ["[UNK]"] when some part of the word matches nothing.
  std::vector<std::string> WordPieces(const std::string& word) const;
  // [CLS] followed by the pieces of `text`, truncated to max_len ids, padded with 0 ([PAD]).
  std::vector<int64_t> Encode(const std::string& text, int max_len) const;

  int64_t vocab_size() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t cls_id() const { return cls_id_; }
  int64_t unk_id() const { return unk_id_; }
  int64_t Id(const std::string& token) const;  // -1 when absent
  const std::string& Token(int64_t id) const { return tokens_.at(id); }

 private:
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t> ids_;
  int64_t cls_id_ = -1;
  int64_t unk_id_ = -1;
};

}  // namespace tigerfg::data
