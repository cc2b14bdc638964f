// runtime/fmnist/fmnist_titles.cc — word tables and title templates.
#include "runtime/fmnist/fmnist_titles.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "runtime/data/wordpiece.h"

namespace tigerfg::data {
namespace {

// Names per category (the label's synonyms), first = the plain name.
const std::vector<std::vector<std::string>>& CategoryNames() {
  static const std::vector<std::vector<std::string>> kNames = {
      {"t-shirt", "top", "tee"},
      {"trousers", "pants", "chinos"},
      {"pullover", "sweater", "jumper"},
      {"dress", "midi dress", "summer dress"},
      {"coat", "jacket", "overcoat"},
      {"sandals", "strappy sandals", "slides"},
      {"shirt", "button-up shirt", "blouse"},
      {"sneakers", "trainers", "running shoes"},
      {"bag", "handbag", "tote bag"},
      {"ankle boots", "boots", "chelsea boots"},
  };
  return kNames;
}

bool IsShoe(int category) { return category == 5 || category == 7 || category == 9; }

const std::vector<std::string>& Materials(int category) {
  static const std::vector<std::string> kClothes = {"cotton", "linen", "wool",     "denim",
                                                    "knit",   "silk",  "polyester"};
  static const std::vector<std::string> kShoes = {"leather", "suede", "canvas", "mesh"};
  static const std::vector<std::string> kBags = {"leather", "canvas", "nylon", "vegan leather"};
  return IsShoe(category) ? kShoes : category == 8 ? kBags : kClothes;
}

const std::vector<std::string>& Extras(int category) {
  static const std::vector<std::string> kClothes = {"slim fit", "regular fit", "oversized",
                                                    "long sleeve", "machine washable"};
  static const std::vector<std::string> kShoes = {"non-slip sole", "lace-up", "cushioned",
                                                  "wide fit"};
  static const std::vector<std::string> kBags = {"with zip", "large capacity", "adjustable strap",
                                                 "crossbody"};
  return IsShoe(category) ? kShoes : category == 8 ? kBags : kClothes;
}

const std::vector<std::string> kStyles = {"classic", "premium", "vintage",  "casual",
                                          "urban",   "modern",  "everyday", "lightweight"};
const std::vector<std::string> kAudiences = {"women", "men", "unisex", "kids"};
const std::vector<std::string> kAudiencePhrases = {"for women", "for men", "unisex", "for kids"};
const std::vector<std::string> kAudiencePossessive = {"women's", "men's", "unisex", "kids'"};
const std::vector<std::string> kSellerExtras = {"new season", "free shipping", "best seller",
                                                "2024 collection"};
const std::vector<std::string> kGlue = {"in", "by", "-", ",", "|", "'"};

template <typename T>
const T& Pick(const std::vector<T>& v, Rng* rng) {
  return v[rng->Int(0, static_cast<int64_t>(v.size()))];
}

}  // namespace

const std::vector<std::string>& FmnistCategories() {
  static const std::vector<std::string> kCategories = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return kCategories;
}

TitleAttributes DrawTitleAttributes(int category, const std::string& colour, Rng* rng) {
  TitleAttributes a;
  a.category = category;
  a.colour = colour;
  a.material = static_cast<int>(rng->Int(0, Materials(category).size()));
  a.style = static_cast<int>(rng->Int(0, kStyles.size()));
  a.audience = static_cast<int>(rng->Int(0, kAudiences.size()));
  return a;
}

std::string MakeTitle(const TitleAttributes& a, Rng* rng) {
  const std::string& name = Pick(CategoryNames()[a.category], rng);
  const std::string& material = Materials(a.category)[a.material];
  const std::string& style = kStyles[a.style];
  const std::string& extra = Pick(Extras(a.category), rng);
  const std::string& seller = Pick(kSellerExtras, rng);
  const bool with_seller = rng->Uniform() < 0.3;
  std::string title;
  switch (rng->Int(0, 4)) {
    case 0:  // navy cotton pullover for women, slim fit
      title = a.colour + " " + material + " " + name + " " + kAudiencePhrases[a.audience] + ", " +
              extra;
      break;
    case 1:  // classic pullover in navy, cotton, slim fit
      title = style + " " + name + " in " + a.colour + ", " + material + ", " + extra;
      break;
    case 2:  // women's navy pullover - classic cotton
      title = kAudiencePossessive[a.audience] + " " + a.colour + " " + name + " - " + style + " " +
              material;
      break;
    default:  // pullover | navy | cotton | slim fit
      title = name + " | " + a.colour + " | " + material + " | " + extra;
      break;
  }
  if (with_seller) title += " | " + seller;
  return title;
}

std::vector<std::string> FmnistVocabulary(const std::vector<std::string>& colours) {
  std::vector<std::string> phrases = colours;
  phrases.push_back(kGenericTitle);
  auto add = [&](const std::vector<std::string>& v) {
    phrases.insert(phrases.end(), v.begin(), v.end());
  };
  for (int c = 0; c < static_cast<int>(CategoryNames().size()); ++c) {
    add(CategoryNames()[c]);
    add(Materials(c));
    add(Extras(c));
  }
  for (const auto& v :
       {kStyles, kAudiences, kAudiencePhrases, kAudiencePossessive, kSellerExtras, kGlue}) {
    add(v);
  }
  std::set<std::string> words, punctuation;
  for (const std::string& phrase : phrases) {
    for (const std::string& w : BasicTokenize(phrase)) {
      (w.size() == 1 && !std::isalnum(static_cast<unsigned char>(w[0])) ? punctuation : words)
          .insert(w);
    }
  }
  std::vector<std::string> vocab = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
  vocab.insert(vocab.end(), punctuation.begin(), punctuation.end());
  vocab.insert(vocab.end(), words.begin(), words.end());
  std::vector<std::string> chars;
  for (char c = 'a'; c <= 'z'; ++c) chars.push_back(std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) chars.push_back(std::string(1, c));
  for (const std::string& c : chars) {
    if (!words.count(c)) vocab.push_back(c);
  }
  for (const std::string& c : chars) vocab.push_back("##" + c);
  for (const char* suffix : {"s", "es", "ed", "ing", "er", "ers", "est", "ly", "y", "ness"}) {
    if (std::string(suffix).size() > 1) vocab.push_back(std::string("##") + suffix);
  }
  return vocab;
}

}  // namespace tigerfg::data
