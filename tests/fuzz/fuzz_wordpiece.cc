// tests/fuzz/fuzz_wordpiece.cc — the WordPiece vocabulary loader on an arbitrary vocab.txt; a
// vocabulary it accepts then encodes its own bytes as a title: ids in range, [CLS] first.
#include <string>

#include "runtime/data/wordpiece.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tigerfg::fuzz::QuietLogging();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using tigerfg::fuzz::Require;
  const std::string path = tigerfg::fuzz::WriteScratch("vocab.txt", data, size);
  auto tokenizer = tigerfg::data::WordPieceTokenizer::Load(path);
  if (!tokenizer.ok()) return 0;
  Require(tokenizer->Id("[PAD]") == 0, "[PAD] is not id 0");
  const std::string text(reinterpret_cast<const char*>(data), size);
  constexpr int kMaxLen = 16;
  const std::vector<int64_t> ids = tokenizer->Encode(text, kMaxLen);
  Require(ids.size() == kMaxLen && ids[0] == tokenizer->cls_id(), "Encode: bad length or start");
  for (int64_t id : ids)
    Require(id >= 0 && id < tokenizer->vocab_size(), "Encode: id out of the vocabulary");
  return 0;
}
