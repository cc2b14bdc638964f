// runtime/fmnist/fmnist_titles.h — product titles of the Fashion-MNIST benchmark and the
// vocabulary that covers them.
#pragma once

#include <string>
#include <vector>

#include "runtime/core/rng.h"

namespace tigerfg::data {

// The title every listing of a generic-title set carries (the control that removes what titles
// say; also in the vocabulary).
constexpr char kGenericTitle[] = "product";

// Fashion-MNIST's class names, by label.
const std::vector<std::string>& FmnistCategories();

// What a product's titles always say: fixed per product, so every listing names the same
// material, style word and audience in another wording.
struct TitleAttributes {
  int category = 0;  // label 0..9
  std::string colour;
  int material = 0;  // indices into the tables of fmnist_titles.cc
  int style = 0;
  int audience = 0;
};
TitleAttributes DrawTitleAttributes(int category, const std::string& colour, Rng* rng);

// One listing's title: always the colour and a name of the category, plus the product's
// attributes and listing-specific extras in one of several word orders, e.g.
// "navy cotton pullover for women, slim fit".
std::string MakeTitle(const TitleAttributes& attributes, Rng* rng);

// vocab.txt lines: [PAD] (id 0), [UNK], [CLS], [SEP], [MASK], punctuation, every title word,
// then single characters and ## continuation pieces (letters, digits, common suffixes) so
// unseen word forms still tokenise without [UNK].
std::vector<std::string> FmnistVocabulary(const std::vector<std::string>& colours);

}  // namespace tigerfg::data
