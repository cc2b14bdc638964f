// configs/config.cc — text-format loading with positioned errors, `--set` overrides through
// protobuf reflection, dependent defaults and the fully explicit text form of a RunConfig.
#include "configs/config.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include "configs/limits.h"

namespace tigerfg::config {
namespace {

namespace pb = google::protobuf;

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

struct FieldAt {
  std::string path;  // "model.text.heads"; empty outside any field
  int line = 0;      // 0-based position of the field's name
  int column = 0;
  bool at_name_end = false;  // the error position is right after the field's name
};

// The field a text-format error at (line, column) (0-based) is about: the enclosing message
// names plus the field whose name or value sits there. The parser's own messages name the type
// or the bad token but not where in the config tree it is, and it reports a bad enum value at
// the token after it, possibly on the next line.
FieldAt FieldPathAt(const std::string& text, int line, int column) {
  size_t end = 0;
  for (int l = 0; l < line && end < text.size(); ++end) {
    if (text[end] == '\n') ++l;
  }
  end = std::min(text.size(), end + static_cast<size_t>(std::max(column, 0)));
  std::vector<std::string> scopes;
  std::string field;
  size_t field_start = 0;
  char previous = 0;  // the last significant character, to tell a value from a field name
  size_t i = 0;
  while (i < end) {
    const char c = text[i];
    if (c == '#') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      for (++i; i < text.size() && text[i] != c; ++i) {
        if (text[i] == '\\') ++i;
      }
      ++i;
      previous = c;
    } else if (IsIdentStart(c)) {
      const size_t start = i;
      while (i < text.size() && IsIdentChar(text[i])) ++i;
      if (previous != ':') {
        field = text.substr(start, i - start);
        field_start = start;
      }
      previous = 'a';
    } else {
      if (c == '{' || c == '<') {
        scopes.push_back(field);
        field.clear();
      } else if ((c == '}' || c == '>') && !scopes.empty()) {
        scopes.pop_back();
        field.clear();
      }
      if (!std::isspace(static_cast<unsigned char>(c))) previous = c;
      ++i;
    }
  }
  // The error may point at a field name itself (an unknown field).
  if (end < text.size() && IsIdentStart(text[end]) && previous != ':') {
    size_t stop = end;
    while (stop < text.size() && IsIdentChar(text[stop])) ++stop;
    field = text.substr(end, stop - end);
    field_start = end;
  }
  FieldAt at;
  // The parser reports an unknown field at the token after its name.
  at.at_name_end = end < text.size() && (text[end] == ':' || text[end] == '{');
  for (const std::string& scope : scopes) at.path += scope + ".";
  if (field.empty()) {
    if (!at.path.empty()) at.path.pop_back();
    at.line = line;
    at.column = column;
    return at;
  }
  at.path += field;
  for (size_t k = 0; k < field_start; ++k) {
    if (text[k] == '\n') {
      ++at.line;
      at.column = 0;
    } else {
      ++at.column;
    }
  }
  return at;
}

class PositionedErrors : public pb::io::ErrorCollector {
 public:
  PositionedErrors(const std::string& text, const std::string& source)
      : text_(text), source_(source) {}

  void AddError(int line, pb::io::ColumnNumber column, const std::string& message) override {
    if (!errors_.empty()) errors_ += "\n";
    const FieldAt field = FieldPathAt(text_, line, column);
    // Point at a bad value when it is on the field's line, else at the field's name.
    if (field.line != line || field.at_name_end) {
      line = field.line;
      column = field.column;
    }
    errors_ += source_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": ";
    if (!field.path.empty()) errors_ += field.path + ": ";
    errors_ += message;
  }
  void AddWarning(int, pb::io::ColumnNumber, const std::string&) override {}

  const std::string& errors() const { return errors_; }

 private:
  const std::string& text_;
  const std::string& source_;
  std::string errors_;
};

// Splits on `separator` outside braces, so brace lists stay whole.
std::vector<std::string> SplitOutsideBraces(const std::string& text, char separator) {
  std::vector<std::string> parts(1);
  int depth = 0;
  for (char c : text) {
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (c == separator && depth == 0) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

std::string Trim(const std::string& s) {
  size_t begin = 0, end = s.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(s[begin]))) ++begin;
  while (end > begin && std::isspace(static_cast<unsigned char>(s[end - 1]))) --end;
  return s.substr(begin, end - begin);
}

template <typename T>
bool ParseNumber(const std::string& text, T* value) {
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (first != last && *first == '+') ++first;
  const auto [ptr, ec] = std::from_chars(first, last, *value);
  if (ec != std::errc() || ptr != last || first == last) return false;
  if constexpr (std::is_floating_point_v<T>) return std::isfinite(*value);
  return true;
}

// Sets (or, for a repeated field, appends) one value of `field` parsed from `text`.
Status SetScalar(pb::Message* message, const pb::FieldDescriptor* field, const std::string& text) {
  const pb::Reflection* reflection = message->GetReflection();
  const bool repeated = field->is_repeated();
  auto bad = [&](const std::string& expected) {
    return Status::Error("'" + text + "' is not " + expected);
  };
  switch (field->cpp_type()) {
    case pb::FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!ParseNumber(text, &v)) return bad("an int32");
      repeated ? reflection->AddInt32(message, field, v) : reflection->SetInt32(message, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!ParseNumber(text, &v)) return bad("an int64");
      repeated ? reflection->AddInt64(message, field, v) : reflection->SetInt64(message, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT32: {
      uint32_t v;
      if (!ParseNumber(text, &v)) return bad("a uint32");
      repeated ? reflection->AddUInt32(message, field, v)
               : reflection->SetUInt32(message, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t v;
      if (!ParseNumber(text, &v)) return bad("a uint64");
      repeated ? reflection->AddUInt64(message, field, v)
               : reflection->SetUInt64(message, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      if (!ParseNumber(text, &v)) return bad("a finite float");
      repeated ? reflection->AddFloat(message, field, v) : reflection->SetFloat(message, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!ParseNumber(text, &v)) return bad("a finite double");
      repeated ? reflection->AddDouble(message, field, v)
               : reflection->SetDouble(message, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (text == "true" || text == "1") {
        v = true;
      } else if (text == "false" || text == "0") {
        v = false;
      } else {
        return bad("a bool (true/false)");
      }
      repeated ? reflection->AddBool(message, field, v) : reflection->SetBool(message, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_STRING:
      repeated ? reflection->AddString(message, field, text)
               : reflection->SetString(message, field, text);
      break;
    case pb::FieldDescriptor::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* v = field->enum_type()->FindValueByName(text);
      if (v == nullptr) {
        std::string names;
        for (int i = 0; i < field->enum_type()->value_count(); ++i) {
          names += (i ? ", " : "") + field->enum_type()->value(i)->name();
        }
        return bad("one of " + names);
      }
      repeated ? reflection->AddEnum(message, field, v) : reflection->SetEnum(message, field, v);
      break;
    }
    case pb::FieldDescriptor::CPPTYPE_MESSAGE:
      LOG(FATAL) << "SetScalar called on message field " << field->full_name();
  }
  return Status::Ok();
}

Status ApplyOverride(const std::string& override_text, pb::Message* root) {
  const size_t eq = override_text.find('=');
  if (eq == std::string::npos) return Status::Error("expected path=value");
  const std::string path = Trim(override_text.substr(0, eq));
  const std::string value = Trim(override_text.substr(eq + 1));
  std::vector<std::string> names;
  std::stringstream path_stream(path);
  for (std::string name; std::getline(path_stream, name, '.');) names.push_back(name);
  if (names.empty() || path.back() == '.')
    return Status::Error("empty field name in '" + path + "'");

  pb::Message* message = root;
  std::string walked;
  for (size_t i = 0; i < names.size(); ++i) {
    const pb::FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(names[i]);
    const std::string where = walked.empty() ? "the config" : walked;
    if (names[i].empty()) return Status::Error("empty field name in '" + path + "'");
    if (field == nullptr) {
      return Status::Error("unknown field '" + names[i] + "' in " + where + " (" +
                           message->GetDescriptor()->name() + ")");
    }
    walked += (walked.empty() ? "" : ".") + names[i];
    const pb::Reflection* reflection = message->GetReflection();
    const bool last = i + 1 == names.size();
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) return Status::Error(walked + " is a repeated message");
      if (last) {
        if (value != "none") {
          return Status::Error(walked + " is a section: set a field inside it (" + walked +
                               ".FIELD=VALUE) or remove it with " + walked + "=none");
        }
        reflection->ClearField(message, field);
        return Status::Ok();
      }
      message = reflection->MutableMessage(message, field);
      continue;
    }
    if (!last) return Status::Error(walked + " is a value, not a section");
    if (!field->is_repeated()) return SetScalar(message, field, value);
    reflection->ClearField(message, field);
    if (value.empty()) return Status::Ok();
    for (const std::string& element : SplitOutsideBraces(value, ';')) {
      if (Trim(element).empty())
        return Status::Error(walked + ": empty element in '" + value + "' (a stray ';'?)");
      TIGERFG_RETURN_IF_ERROR(SetScalar(message, field, Trim(element)));
    }
    return Status::Ok();
  }
  return Status::Ok();
}

// Sets every unset singular scalar of `message`, recursively through present sub-messages, to
// its default, so that printing writes it.
void SetDefaultsExplicitly(pb::Message* message) {
  const pb::Descriptor* descriptor = message->GetDescriptor();
  const pb::Reflection* reflection = message->GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    if (field->is_repeated()) continue;
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (reflection->HasField(*message, field)) {
        SetDefaultsExplicitly(reflection->MutableMessage(message, field));
      }
      continue;
    }
    if (reflection->HasField(*message, field)) continue;
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        reflection->SetInt32(message, field, field->default_value_int32());
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        reflection->SetInt64(message, field, field->default_value_int64());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        reflection->SetUInt32(message, field, field->default_value_uint32());
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        reflection->SetUInt64(message, field, field->default_value_uint64());
        break;
      case pb::FieldDescriptor::CPPTYPE_FLOAT:
        reflection->SetFloat(message, field, field->default_value_float());
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE:
        reflection->SetDouble(message, field, field->default_value_double());
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        reflection->SetBool(message, field, field->default_value_bool());
        break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        reflection->SetString(message, field, field->default_value_string());
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        reflection->SetEnum(message, field, field->default_value_enum());
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        break;
    }
  }
}

}  // namespace

StatusOr<RunConfig> ParseConfigText(const std::string& text, const std::string& source_name) {
  RunConfig config;
  PositionedErrors errors(text, source_name);
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(text, &config)) {
    return Status::Error(errors.errors().empty() ? source_name + ": cannot parse"
                                                 : errors.errors());
  }
  return config;
}

Status ApplyOverrides(const std::string& overrides, RunConfig* config) {
  if (Trim(overrides).empty()) return Status::Ok();
  // Applied to a copy: a failed override leaves no half-created sections behind.
  RunConfig updated = *config;
  const std::vector<std::string> items = SplitOutsideBraces(overrides, ',');
  for (size_t i = 0; i < items.size(); ++i) {
    // A stray comma is a typo that would otherwise drop or hide an override silently.
    if (Trim(items[i]).empty()) {
      return Status::Error("override " + std::to_string(i + 1) + " of '" + overrides +
                           "' is empty (a stray ','?)");
    }
    TIGERFG_RETURN_IF_ERROR(
        ApplyOverride(items[i], &updated).WithContext("override '" + items[i] + "'"));
  }
  *config = std::move(updated);
  return Status::Ok();
}

void FillDependentDefaults(RunConfig* config) {
  constexpr float kDefaultMeanStd = 0.5f;
  const int channels = config->model().query().channels();
  DataConfig* data = config->mutable_data();
  // ValidateConfig reports a count out of range; filling 2^31 values first would grind.
  if (channels <= 0 || channels > limits::kMaxChannels) return;
  if (data->mean_size() == 0) {
    for (int c = 0; c < channels; ++c) data->add_mean(kDefaultMeanStd);
  }
  if (data->std_size() == 0) {
    for (int c = 0; c < channels; ++c) data->add_std(kDefaultMeanStd);
  }
}

StatusOr<RunConfig> LoadConfig(const std::string& path, const std::string& overrides) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return Status::Error(path + ": cannot open the config file");
  std::stringstream text;
  text << file.rdbuf();
  if (file.bad()) return Status::Error(path + ": cannot read the config file");
  TIGERFG_ASSIGN_OR_RETURN(RunConfig config, ParseConfigText(text.str(), path));
  TIGERFG_RETURN_IF_ERROR(ApplyOverrides(overrides, &config).WithContext(path));
  FillDependentDefaults(&config);
  TIGERFG_RETURN_IF_ERROR(ValidateConfig(config).WithContext(path));
  return config;
}

std::string ConfigToText(const RunConfig& config) {
  RunConfig full = config;
  full.mutable_data();
  full.mutable_optim();
  full.mutable_train();
  full.mutable_dist();
  full.mutable_export_();
  SetDefaultsExplicitly(&full);
  std::string text;
  CHECK(pb::TextFormat::PrintToString(full, &text));
  return text;
}

}  // namespace tigerfg::config
