// runtime/data/wordpiece.h — BERT-style WordPiece tokenizer over a standard vocab.txt
// (one token per line, id = 0-based line number; [PAD] must be id 0, [CLS] and [UNK] present).
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/core/status.h"

namespace tigerfg::data {

// Basic tokenisation as BERT's uncased BasicTokenizer, with Unicode character properties and
// normalisation from libutf8proc: control and format characters (category C*) dropped, split on
// whitespace (category Zs, Zl, Zp and \t \n \r), every CJK ideograph a token of its own, then
// each token lower-cased, NFD-normalised, stripped of nonspacing marks (Mn: accents) and split
// at every punctuation character (category P* and ASCII symbols), each one a token.
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
