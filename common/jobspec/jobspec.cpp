#include "common/jobspec/jobspec.hpp"

#include "common/naming.hpp"
#include "common/restart_strategy.hpp"

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <span>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

namespace tailor::jobspec {
namespace {

using Names = std::span<const std::string_view>;

constexpr std::int64_t kDefaultMaxAttempts = 4;
constexpr std::int64_t kInt32Max = std::numeric_limits<std::int32_t>::max();
// Larger specs are refused rather than read (think of /dev/zero).
constexpr std::uintmax_t kMaxSpecBytes = 16 << 20;
// Caps that keep the arithmetic below away from overflow; no real job comes near them.
constexpr double kMaxCpus = 1e9;
constexpr double kMaxSizeNumber = 1e12;
// How many names an "expected one of" list shows before eliding the rest.
constexpr std::size_t kMaxListedNames = 20;

constexpr std::string_view kRootPath = "job";
constexpr std::string_view kSyntaxPath = "invalid YAML";

constexpr std::string_view kJobFields[] = {"name", "output", "stages", "restart_strategy"};
constexpr std::string_view kStageFields[] = {"name", "parallelism",  "resources", "command",
                                             "env",  "max_attempts", "input",     "inputs"};
constexpr std::string_view kResourceFields[] = {"cpus", "mem", "disk", "gpus", "auto"};
constexpr std::string_view kInputFields[] = {"files"};
constexpr std::string_view kUpstreamFields[] = {"stage", "partitioning"};

constexpr std::string_view kExpectJob =
    "a map with name, stages and optionally output and restart_strategy";
constexpr std::string_view kExpectJobName =
    "a name of at most 100 letters, digits, '_', '.' and '-', not . or ..";
constexpr std::string_view kExpectOutput = "a directory path as a string";
constexpr std::string_view kExpectStages = "a non-empty list of stages";
constexpr std::string_view kExpectStage =
    "a map with name, parallelism, resources, command and input or inputs";
constexpr std::string_view kExpectStageName =
    "a name of at most 100 letters, digits, '_' and '-'";
// Bounds that keep one spec from taking a JobManager down (each task is
// state in the JobMaster, each stage a plan in the ResourceManager).
constexpr std::size_t kMaxStages = 1000;
constexpr std::int64_t kMaxParallelism = 100000;
constexpr std::int64_t kMaxTasks = 1000000;
constexpr std::string_view kExpectParallelism = "an integer >= 1";
constexpr std::string_view kExpectResources =
    "a map with cpus, mem and optionally disk, gpus and auto, such as {cpus: 1, mem: 512MiB}, "
    "or auto";
constexpr std::string_view kExpectAuto = "true or false";
constexpr std::string_view kExpectCpus = "a number > 0, such as 0.5 or 2";
constexpr std::string_view kExpectMem =
    "a size > 0: MiB as a number, or a number with a unit such as 512MiB or 2GiB";
constexpr std::string_view kExpectDisk =
    "a size >= 0: MiB as a number, or a number with a unit such as 512MiB or 2GiB";
constexpr std::string_view kExpectGpus = "an integer >= 0";
constexpr std::string_view kExpectCommand =
    "a shell command as a string, or a non-empty list of strings: the program and its arguments";
constexpr std::string_view kExpectEnv = "a map from variable names to strings";
constexpr std::string_view kExpectEnvName =
    "a variable name made of letters, digits and '_', not starting with a digit";
constexpr std::string_view kExpectMaxAttempts = "an integer >= 1";
constexpr std::string_view kExpectInput = "a map with files, such as {files: [\"data/*.txt\"]}";
constexpr std::string_view kExpectFiles = "a non-empty list of file globs or http(s) URLs";
constexpr std::string_view kExpectFile = "a file glob or an http(s) URL";
constexpr std::string_view kExpectInputs =
    "a non-empty list of {stage: NAME, partitioning: hash|forward|broadcast}";
constexpr std::string_view kExpectUpstream =
    "a map such as {stage: NAME, partitioning: hash|forward|broadcast}";
constexpr std::string_view kExpectUpstreamStage = "the name of another stage";
constexpr std::string_view kExpectPartitioning = "hash, forward or broadcast";
constexpr std::string_view kExpectRestartStrategy =
    "a map with type (none, fixed-delay, failure-rate or exponential-delay) and that type's "
    "options, such as {type: fixed-delay, attempts: 3, delay: 10s}, or just the type";
constexpr std::string_view kExpectRestartType =
    "none, fixed-delay, failure-rate or exponential-delay";
constexpr std::string_view kExpectRestartOn =
    "a non-empty list of failures to restart on: jobmanager-lost, job-failed";

// A node together with where to report problems with it and its field path.
//
// Not assignable on purpose: assigning one YAML::Node to another overwrites the node the left
// side refers to (and so every alias of it) instead of rebinding. Values are only constructed.
struct Value {
  Value(YAML::Node node, YAML::Mark mark, std::string path)
      : node(std::move(node)), mark(mark), path(std::move(path)) {}
  Value(const Value&) = default;
  Value(Value&&) = default;
  Value& operator=(const Value&) = delete;
  Value& operator=(Value&&) = delete;

  YAML::Node node;
  YAML::Mark mark;
  std::string path;
};

struct Field {
  std::string name;
  YAML::Mark keyMark;
  Value value;
};

struct MapFields {
  Value map;
  std::vector<Field> fields;

  const Field* find(std::string_view name) const {
    for (const auto& field : fields) {
      if (field.name == name) {
        return &field;
      }
    }
    return nullptr;
  }
};

// Where a stage's upstream reference sits in the file.
struct UpstreamRef {
  std::string name;
  Value stage;  // the `stage` value of the inputs item
  v1::Partitioning partitioning;
  Value partitioningValue;  // the `partitioning` value, or the item when it is not given
};

// Where a stage sits in the file, for the checks across stages.
struct StageSource {
  Value node;
  std::optional<Value> name;  // set once the stage's name is read
  std::vector<UpstreamRef> upstreams;
};

std::string childPath(std::string_view parent, std::string_view name) {
  if (parent == kRootPath) {
    return std::string(name);
  }
  return fmt::format("{}.{}", parent, name);
}

std::string indexPath(std::string_view parent, std::size_t index) {
  return fmt::format("{}[{}]", parent, index);
}

int lineOf(const YAML::Mark& mark) { return std::max(mark.line, 0) + 1; }

// Quotes user text for a message, escaping control characters and eliding long text.
std::string quote(std::string_view text) {
  constexpr std::size_t kMaxShown = 60;
  std::string out = "'";
  std::size_t shown = 0;
  for (char c : text) {
    if (shown == kMaxShown) {
      out += "...";
      break;
    }
    ++shown;
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  out += "'";
  return out;
}

template <typename Range>
std::string joinNames(const Range& names) {
  std::string out;
  std::size_t count = 0;
  for (const auto& name : names) {
    if (count == kMaxListedNames) {
      out += ", ...";
      break;
    }
    if (count > 0) {
      out += ", ";
    }
    out += name;
    ++count;
  }
  return out;
}

// Edit distance counting a swap of two neighbouring characters as one edit ("hsah").
std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) {
    d[i][0] = i;
  }
  for (std::size_t j = 0; j <= b.size(); ++j) {
    d[0][j] = j;
  }
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The closest candidate to `word` when it is close enough to be a likely typo.
// A word that is a long enough prefix of a candidate ("partition") counts as close too.
template <typename Range>
std::optional<std::string> closest(std::string_view word, const Range& candidates) {
  constexpr std::size_t kMaxWord = 64;  // no suggestions for absurdly long names
  constexpr std::size_t kMinPrefix = 4;
  if (word.size() > kMaxWord) {
    return std::nullopt;
  }
  const std::size_t limit = word.size() <= 4 ? 1 : 2;
  std::optional<std::string> best;
  std::size_t bestDistance = limit + 1;
  for (const auto& candidate : candidates) {
    std::string_view view(candidate);
    if (word.size() >= kMinPrefix && view.size() > word.size() && view.starts_with(word) && !best) {
      best = std::string(view);
      bestDistance = limit;
    }
    // Cheap bound first: very different lengths cannot be close.
    std::size_t lengthGap =
        view.size() > word.size() ? view.size() - word.size() : word.size() - view.size();
    if (lengthGap > limit) {
      continue;
    }
    std::size_t distance = editDistance(word, view);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = std::string(view);
    }
  }
  return best;
}

template <typename Range>
std::string didYouMean(std::string_view word, const Range& candidates) {
  auto suggestion = closest(word, candidates);
  return suggestion ? fmt::format("did you mean '{}'? ", *suggestion) : std::string();
}

bool isBooleanWord(std::string_view text) {
  static constexpr std::string_view kWords[] = {"true", "True", "TRUE", "false", "False", "FALSE",
                                                "yes",  "Yes",  "YES",  "no",    "No",    "NO",
                                                "on",   "On",   "ON",   "off",   "Off",   "OFF"};
  return std::find(std::begin(kWords), std::end(kWords), text) != std::end(kWords);
}

bool isQuoted(const YAML::Node& node) { return node.Tag() == "!"; }

bool isBoolean(const YAML::Node& node) {
  return node.IsScalar() && ((node.Tag() == "?" && isBooleanWord(node.Scalar())) ||
                             node.Tag() == "tag:yaml.org,2002:bool");
}

// "a map", "a list", "null", "the boolean 'yes'" or the quoted scalar.
std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) {
    return "null";
  }
  if (node.IsMap()) {
    return "a map";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  if (isBoolean(node)) {
    return "the boolean " + quote(node.Scalar());
  }
  return quote(node.Scalar());
}

// Names become parts of file names and ids (job ids, task log files), so
// they are short as well as plain.
bool matchesNameChars(std::string_view text, bool allowDot) {
  if (text.empty() || text.size() > 100) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [allowDot](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || (allowDot && c == '.');
  });
}

bool isEnvName(std::string_view text) {
  if (text.empty() || (text[0] >= '0' && text[0] <= '9')) {
    return false;
  }
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  std::size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) {
    return {};
  }
  std::size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

std::optional<double> parseDouble(std::string_view text) {
  if (!text.empty() && text.front() == '+') {
    text.remove_prefix(1);
  }
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// Records where each YAML document starts and ignores everything else.
class DocumentStarts : public YAML::EventHandler {
 public:
  const std::vector<YAML::Mark>& marks() const { return marks_; }

  void OnDocumentStart(const YAML::Mark& mark) override { marks_.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::vector<YAML::Mark> marks_;
};

class SpecParser {
 public:
  SpecParser(const std::string& fileName, const ParseOptions& options)
      : fileName_(fileName), options_(options) {}

  Result<v1::JobSpec> parse(std::string_view yamlText, const std::string& baseDir);

 private:
  Error fail(const YAML::Mark& mark, std::string_view path, std::string_view problem) const {
    return makeError(ErrorCode::kInvalidArgument, "{}:{}:{}: {}: {}", fileName_, lineOf(mark),
                     std::max(mark.column, 0) + 1, path, problem);
  }
  Error fail(const Value& value, std::string_view problem) const {
    return fail(value.mark, value.path, problem);
  }
  Error wrongType(const Value& value, std::string_view expected) const {
    return fail(value, fmt::format("found {} (expected {})", describe(value.node), expected));
  }

  Result<MapFields> readMap(const Value& value, std::optional<Names> allowed,
                            std::string_view expected) const;
  Result<const Field*> require(const MapFields& map, std::string_view name,
                               std::string_view expected) const;
  Result<std::vector<Value>> readList(const Value& value, std::string_view expected) const;
  Result<std::string> readString(const Value& value, std::string_view expected) const;
  Result<std::int64_t> readInteger(const Value& value, std::int64_t min, std::int64_t max,
                                   std::string_view expected) const;
  Result<std::int64_t> readCpus(const Value& value) const;
  Result<std::int64_t> readSize(const Value& value, bool positive, std::string_view expected) const;

  Result<v1::JobSpec> parseDocument(const YAML::Node& root, const std::string& baseDir);
  Status parseStage(const Value& value, v1::Stage* stage, StageSource* source) const;
  Status parseResources(const Value& value, v1::Stage* stage) const;
  Status parseCommand(const Value& value, v1::Command* command) const;
  Status parseEnv(const Value& value, v1::Stage* stage) const;
  Status parseInput(const Value& value, v1::Stage* stage) const;
  Status parseUpstreams(const Value& value, v1::Stage* stage, StageSource* source) const;
  Status parseRestartStrategy(const Value& value, v1::RestartStrategy* strategy) const;
  Result<v1::RestartStrategyType> readRestartType(const Value& value) const;
  Status parseRestartOn(const Value& value, v1::RestartStrategy* strategy) const;
  Status checkGraph(const Value& stagesValue, const v1::JobSpec& spec,
                    const std::vector<StageSource>& sources) const;

  std::string fileName_;
  const ParseOptions& options_;
};

Result<MapFields> SpecParser::readMap(const Value& value, std::optional<Names> allowed,
                                      std::string_view expected) const {
  if (!value.node.IsMap()) {
    return wrongType(value, expected);
  }
  MapFields map{value, {}};
  for (auto it = value.node.begin(); it != value.node.end(); ++it) {
    // Copies: `it->` yields a temporary, so references into it would dangle.
    const YAML::Node key = it->first;
    const YAML::Node child = it->second;
    YAML::Mark keyMark = key.Mark();
    if (!key.IsScalar()) {
      return fail(keyMark, value.path,
                  fmt::format("found {} as a field name (expected {})", describe(key), expected));
    }
    std::string name = key.Scalar();
    if (const Field* first = map.find(name)) {
      return fail(keyMark, value.path,
                  fmt::format("duplicate field {} (expected each field once; first given at "
                              "line {})",
                              quote(name), lineOf(first->keyMark)));
    }
    if (allowed && std::find(allowed->begin(), allowed->end(), name) == allowed->end()) {
      return fail(keyMark, value.path,
                  fmt::format("unknown field {} ({}expected one of: {})", quote(name),
                              didYouMean(name, *allowed), joinNames(*allowed)));
    }
    // A missing value ("key:") is reported at its key: yaml-cpp places it on the next line.
    YAML::Mark valueMark = child.IsNull() ? keyMark : child.Mark();
    map.fields.push_back(
        Field{name, keyMark, Value{child, valueMark, childPath(value.path, name)}});
  }
  return map;
}

Result<const Field*> SpecParser::require(const MapFields& map, std::string_view name,
                                         std::string_view expected) const {
  const Field* field = map.find(name);
  if (field == nullptr) {
    return fail(map.map, fmt::format("missing required field '{}' (expected {})", name, expected));
  }
  return field;
}

Result<std::vector<Value>> SpecParser::readList(const Value& value,
                                                std::string_view expected) const {
  if (!value.node.IsSequence()) {
    return wrongType(value, expected);
  }
  std::vector<Value> items;
  std::size_t index = 0;
  for (const auto& item : value.node) {
    YAML::Mark mark = item.IsNull() ? value.mark : item.Mark();
    items.push_back(Value{item, mark, indexPath(value.path, index++)});
  }
  if (items.empty()) {
    return fail(value, fmt::format("the list is empty (expected {})", expected));
  }
  return items;
}

Result<std::string> SpecParser::readString(const Value& value, std::string_view expected) const {
  if (!value.node.IsScalar()) {
    return wrongType(value, expected);
  }
  if (isBoolean(value.node)) {
    return fail(value, fmt::format("found the boolean {} (expected {}; quote it to use it as text)",
                                   quote(value.node.Scalar()), expected));
  }
  return value.node.Scalar();
}

Result<std::int64_t> SpecParser::readInteger(const Value& value, std::int64_t min, std::int64_t max,
                                             std::string_view expected) const {
  if (!value.node.IsScalar() || isBoolean(value.node)) {
    return wrongType(value, expected);
  }
  const std::string& text = value.node.Scalar();
  if (isQuoted(value.node)) {
    return fail(value, fmt::format("{} is a quoted string (expected {}, without quotes)",
                                   quote(text), expected));
  }
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    digits.remove_prefix(1);
  }
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return fail(value, fmt::format("{} is not an integer (expected {})", quote(text), expected));
  }
  std::string_view signedDigits = text;
  if (signedDigits.front() == '+') {
    signedDigits.remove_prefix(1);
  }
  std::int64_t number = 0;
  auto [end, ec] =
      std::from_chars(signedDigits.data(), signedDigits.data() + signedDigits.size(), number);
  if (ec != std::errc() || end != signedDigits.data() + signedDigits.size()) {
    return fail(
        value, fmt::format("{} is out of range (expected {} and at most {})", text, expected, max));
  }
  if (number < min) {
    return fail(value, fmt::format("{} is too small (expected {})", number, expected));
  }
  if (number > max) {
    return fail(value,
                fmt::format("{} is too large (expected {} and at most {})", number, expected, max));
  }
  return number;
}

Result<std::int64_t> SpecParser::readCpus(const Value& value) const {
  if (!value.node.IsScalar() || isBoolean(value.node)) {
    return wrongType(value, kExpectCpus);
  }
  const std::string& text = value.node.Scalar();
  if (isQuoted(value.node)) {
    return fail(value, fmt::format("{} is a quoted string (expected {}, without quotes)",
                                   quote(text), kExpectCpus));
  }
  auto cpus = parseDouble(text);
  if (!cpus) {
    return fail(value, fmt::format("{} is not a number (expected {})", quote(text), kExpectCpus));
  }
  if (*cpus <= 0) {
    return fail(value, fmt::format("{} is not greater than 0 (expected {})", text, kExpectCpus));
  }
  if (*cpus > kMaxCpus) {
    return fail(value, fmt::format("{} is too large (expected {} and at most {})", text,
                                   kExpectCpus, kMaxCpus));
  }
  std::int64_t milliCpus = toMilliCpus(*cpus);
  if (milliCpus < 1) {
    return fail(value, fmt::format("{} is below the smallest amount, 0.001 (expected {})", text,
                                   kExpectCpus));
  }
  return milliCpus;
}

Result<std::int64_t> SpecParser::readSize(const Value& value, bool positive,
                                          std::string_view expected) const {
  if (!value.node.IsScalar() || isBoolean(value.node)) {
    return wrongType(value, expected);
  }
  const std::string& text = value.node.Scalar();
  std::string_view trimmed = trim(text);
  if (!trimmed.empty() && trimmed.front() == '-') {
    return fail(value, fmt::format("{} is negative (expected {})", quote(text), expected));
  }
  // parseMebibytes converts to an integer without a range check: refuse huge numbers first.
  std::size_t numberEnd = trimmed.find_first_not_of("0123456789.");
  auto number = parseDouble(trimmed.substr(0, numberEnd));
  if (number && *number > kMaxSizeNumber) {
    return fail(value, fmt::format("{} is too large (expected {})", quote(text), expected));
  }
  auto mebibytes = parseMebibytes(text);
  if (!mebibytes) {
    // parseMebibytes already says "'x' is not a size (expected ...)".
    return fail(value, mebibytes.error().message);
  }
  if (positive && *mebibytes <= 0) {
    return fail(value,
                fmt::format("{} is not greater than 0 (expected {})", quote(text), expected));
  }
  return *mebibytes;
}

Result<v1::JobSpec> SpecParser::parse(std::string_view yamlText, const std::string& baseDir) {
  const std::string text(yamlText);
  YAML::Node root;
  try {
    // First walk the document structure without building nodes: yaml-cpp's LoadAll loops
    // forever (allocating a null document per turn) on a stray top-level ',' as in "[a], b".
    // Here each document is read by one bounded call; a document starting where the previous
    // one started means the parser is stuck on the text there.
    DocumentStarts starts;
    std::istringstream stream(text);
    YAML::Parser parser(stream);
    for (int i = 0; i < 3 && parser.HandleNextDocument(starts); ++i) {
    }
    const std::vector<YAML::Mark>& marks = starts.marks();
    for (std::size_t i = 1; i < marks.size(); ++i) {
      if (marks[i].pos == marks[i - 1].pos) {
        std::size_t at = static_cast<std::size_t>(std::max(marks[i].pos, 0));
        std::string_view rest = at < text.size() ? std::string_view(text).substr(at, 1) : "";
        return fail(marks[i], kSyntaxPath,
                    fmt::format("unexpected {} (expected valid YAML syntax)", quote(rest)));
      }
    }
    if (marks.size() > 1) {
      return fail(marks[1], kRootPath, "found a second YAML document (expected a single document)");
    }
    root = YAML::Load(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp 0.7 gives this one the message "bad file".
    return fail(e.mark, kSyntaxPath,
                "the maps and lists are nested too deeply (expected at most a few hundred levels)");
  } catch (const YAML::Exception& e) {
    return fail(e.mark, kSyntaxPath, fmt::format("{} (expected valid YAML syntax)", e.msg));
  }
  if (!root.IsDefined() || root.IsNull()) {
    return fail(YAML::Mark(), kRootPath,
                fmt::format("the file is empty (expected {})", kExpectJob));
  }
  return parseDocument(root, baseDir);
}

Result<v1::JobSpec> SpecParser::parseDocument(const YAML::Node& root, const std::string& baseDir) {
  v1::JobSpec spec;
  spec.set_base_dir(baseDir);

  auto job = readMap(Value{root, root.Mark(), std::string(kRootPath)}, kJobFields, kExpectJob);
  if (!job) {
    return job.error();
  }

  auto nameField = require(*job, "name", kExpectJobName);
  if (!nameField) {
    return nameField.error();
  }
  const Value& nameValue = (*nameField)->value;
  auto name = readString(nameValue, kExpectJobName);
  if (!name) {
    return name.error();
  }
  if (!isPlainName(*name, 100)) {
    return fail(nameValue, fmt::format("{} is not a valid job name (expected {})", quote(*name),
                                       kExpectJobName));
  }
  spec.set_name(*name);

  if (const Field* outputField = job->find("output")) {
    auto output = readString(outputField->value, kExpectOutput);
    if (!output) {
      return output.error();
    }
    spec.set_output(*output);
  }

  if (const Field* restartField = job->find("restart_strategy")) {
    if (Status status = parseRestartStrategy(restartField->value, spec.mutable_restart_strategy());
        !status) {
      return status.error();
    }
  }

  auto stagesField = require(*job, "stages", kExpectStages);
  if (!stagesField) {
    return stagesField.error();
  }
  const Value& stagesValue = (*stagesField)->value;
  auto stageValues = readList(stagesValue, kExpectStages);
  if (!stageValues) {
    return stageValues.error();
  }
  if (stageValues->size() > kMaxStages) {
    return fail(stagesValue, fmt::format("{} stages (expected at most {} stages in one job)",
                                         stageValues->size(), kMaxStages));
  }
  std::vector<StageSource> sources;
  sources.reserve(stageValues->size());
  for (const Value& stageValue : *stageValues) {
    StageSource& source = sources.emplace_back(StageSource{stageValue, std::nullopt, {}});
    if (Status status = parseStage(stageValue, spec.add_stages(), &source); !status) {
      return status.error();
    }
  }
  std::int64_t tasks = 0;
  for (const auto& stage : spec.stages()) tasks += stage.parallelism();
  if (tasks > kMaxTasks) {
    return fail(stagesValue, fmt::format("{} tasks in all (expected at most {} tasks in one job: "
                                         "the sum of the stages' parallelism)",
                                         tasks, kMaxTasks));
  }
  if (Status status = checkGraph(stagesValue, spec, sources); !status) {
    return status.error();
  }
  return spec;
}

Status SpecParser::parseStage(const Value& value, v1::Stage* stage, StageSource* source) const {
  auto fields = readMap(value, kStageFields, kExpectStage);
  if (!fields) {
    return fields.error();
  }

  auto nameField = require(*fields, "name", kExpectStageName);
  if (!nameField) {
    return nameField.error();
  }
  const Value& nameValue = source->name.emplace((*nameField)->value);
  auto name = readString(nameValue, kExpectStageName);
  if (!name) {
    return name.error();
  }
  if (!matchesNameChars(*name, /*allowDot=*/false)) {
    return fail(nameValue, fmt::format("{} is not a valid stage name (expected {})", quote(*name),
                                       kExpectStageName));
  }
  stage->set_name(*name);

  auto parallelismField = require(*fields, "parallelism", kExpectParallelism);
  if (!parallelismField) {
    return parallelismField.error();
  }
  auto parallelism =
      readInteger((*parallelismField)->value, 1, kMaxParallelism, kExpectParallelism);
  if (!parallelism) {
    return parallelism.error();
  }
  stage->set_parallelism(static_cast<std::int32_t>(*parallelism));

  auto resourcesField = require(*fields, "resources", kExpectResources);
  if (!resourcesField) {
    return resourcesField.error();
  }
  if (Status status = parseResources((*resourcesField)->value, stage); !status) {
    return status;
  }

  auto commandField = require(*fields, "command", kExpectCommand);
  if (!commandField) {
    return commandField.error();
  }
  if (Status status = parseCommand((*commandField)->value, stage->mutable_command()); !status) {
    return status;
  }

  if (const Field* envField = fields->find("env")) {
    if (Status status = parseEnv(envField->value, stage); !status) {
      return status;
    }
  }

  stage->set_max_attempts(static_cast<std::int32_t>(kDefaultMaxAttempts));
  if (const Field* attemptsField = fields->find("max_attempts")) {
    auto attempts = readInteger(attemptsField->value, 1, kInt32Max, kExpectMaxAttempts);
    if (!attempts) {
      return attempts.error();
    }
    stage->set_max_attempts(static_cast<std::int32_t>(*attempts));
  }

  const Field* inputField = fields->find("input");
  const Field* inputsField = fields->find("inputs");
  if (inputField != nullptr && inputsField != nullptr) {
    const Field* later =
        inputField->keyMark.pos > inputsField->keyMark.pos ? inputField : inputsField;
    return fail(later->keyMark, value.path,
                "has both 'input' and 'inputs' (expected 'input' for a source stage that reads "
                "files, or 'inputs' for a stage that reads other stages, not both)");
  }
  if (inputField == nullptr && inputsField == nullptr) {
    return fail(value,
                "has neither 'input' nor 'inputs' (expected 'input: {files: [...]}' for a source "
                "stage, or 'inputs: [{stage: NAME}]' for a stage that reads other stages)");
  }
  if (inputField != nullptr) {
    return parseInput(inputField->value, stage);
  }
  return parseUpstreams(inputsField->value, stage, source);
}

Status SpecParser::parseResources(const Value& value, v1::Stage* stage) const {
  // `resources: auto`: chosen from earlier runs, 1 CPU and 1 GiB before any.
  if (value.node.IsScalar() && value.node.Scalar() == "auto") {
    stage->set_auto_resources(true);
    *stage->mutable_resources() = Resources{.milliCpus = 1000, .memMib = 1024}.toProto();
    return Status();
  }
  v1::ResourceProfile* profile = stage->mutable_resources();
  auto fields = readMap(value, kResourceFields, kExpectResources);
  if (!fields) {
    return fields.error();
  }
  Resources asked;
  // Where each dimension was given, for the capacity check; the map when it was left out.
  std::array<const Value*, 4> where = {&value, &value, &value, &value};

  auto cpusField = require(*fields, "cpus", kExpectCpus);
  if (!cpusField) {
    return cpusField.error();
  }
  auto milliCpus = readCpus((*cpusField)->value);
  if (!milliCpus) {
    return milliCpus.error();
  }
  asked.milliCpus = *milliCpus;
  where[0] = &(*cpusField)->value;

  auto memField = require(*fields, "mem", kExpectMem);
  if (!memField) {
    return memField.error();
  }
  auto mem = readSize((*memField)->value, /*positive=*/true, kExpectMem);
  if (!mem) {
    return mem.error();
  }
  asked.memMib = *mem;
  where[1] = &(*memField)->value;

  if (const Field* diskField = fields->find("disk")) {
    auto disk = readSize(diskField->value, /*positive=*/false, kExpectDisk);
    if (!disk) {
      return disk.error();
    }
    asked.diskMib = *disk;
    where[2] = &diskField->value;
  }

  if (const Field* gpusField = fields->find("gpus")) {
    auto gpus = readInteger(gpusField->value, 0, kInt32Max, kExpectGpus);
    if (!gpus) {
      return gpus.error();
    }
    asked.gpus = *gpus;
    where[3] = &gpusField->value;
  }

  if (const Field* autoField = fields->find("auto")) {
    const Value& flag = autoField->value;
    if (!flag.node.IsScalar() || (flag.node.Scalar() != "true" && flag.node.Scalar() != "false")) {
      return wrongType(flag, kExpectAuto);
    }
    stage->set_auto_resources(flag.node.Scalar() == "true");
  }

  *profile = asked.toProto();

  if (options_.clusterCapacity) {
    const Resources& capacity = *options_.clusterCapacity;
    struct Dimension {
      std::string_view name;
      bool tooLarge;
      std::string asked;
      std::string capacity;
    };
    const Dimension dimensions[] = {
        {"cpus", asked.milliCpus > capacity.milliCpus, fmt::format("{}", asked.cpus()),
         fmt::format("{}", capacity.cpus())},
        {"mem", asked.memMib > capacity.memMib, fmt::format("{} MiB", asked.memMib),
         fmt::format("{} MiB", capacity.memMib)},
        {"disk", asked.diskMib > capacity.diskMib, fmt::format("{} MiB", asked.diskMib),
         fmt::format("{} MiB", capacity.diskMib)},
        {"gpus", asked.gpus > capacity.gpus, fmt::format("{}", asked.gpus),
         fmt::format("{}", capacity.gpus)},
    };
    for (std::size_t i = 0; i < std::size(dimensions); ++i) {
      const Dimension& dimension = dimensions[i];
      if (!dimension.tooLarge) {
        continue;
      }
      const std::string& description = options_.clusterDescription;
      return fail(where[i]->mark, childPath(value.path, dimension.name),
                  fmt::format("resources larger than {}: asks for {} {} per task but {} has {} "
                              "(expected at most {} {})",
                              description, dimension.asked, dimension.name, description,
                              dimension.capacity, dimension.capacity, dimension.name));
    }
  }
  return Status::okStatus();
}

Status SpecParser::parseCommand(const Value& value, v1::Command* command) const {
  if (value.node.IsSequence()) {
    auto items = readList(value, kExpectCommand);
    if (!items) {
      return items.error();
    }
    v1::Argv* argv = command->mutable_argv();
    for (const Value& item : *items) {
      auto arg = readString(item, "a string argument");
      if (!arg) {
        return arg.error();
      }
      argv->add_args(*arg);
    }
    if (argv->args(0).empty()) {
      return fail((*items)[0], "the program name is empty (expected the program to run)");
    }
    return Status::okStatus();
  }
  auto shell = readString(value, kExpectCommand);
  if (!shell) {
    return shell.error();
  }
  if (trim(*shell).empty()) {
    return fail(value, fmt::format("the command is empty (expected {})", kExpectCommand));
  }
  command->set_shell(*shell);
  return Status::okStatus();
}

Status SpecParser::parseEnv(const Value& value, v1::Stage* stage) const {
  auto fields = readMap(value, std::nullopt, kExpectEnv);
  if (!fields) {
    return fields.error();
  }
  for (const Field& field : fields->fields) {
    if (!isEnvName(field.name)) {
      return fail(field.keyMark, value.path,
                  fmt::format("{} is not a valid variable name (expected {})", quote(field.name),
                              kExpectEnvName));
    }
    auto text = readString(field.value, "a string");
    if (!text) {
      return text.error();
    }
    (*stage->mutable_env())[field.name] = *text;
  }
  return Status::okStatus();
}

Status SpecParser::parseInput(const Value& value, v1::Stage* stage) const {
  auto fields = readMap(value, kInputFields, kExpectInput);
  if (!fields) {
    return fields.error();
  }
  auto filesField = require(*fields, "files", kExpectFiles);
  if (!filesField) {
    return filesField.error();
  }
  auto items = readList((*filesField)->value, kExpectFiles);
  if (!items) {
    return items.error();
  }
  for (const Value& item : *items) {
    auto file = readString(item, kExpectFile);
    if (!file) {
      return file.error();
    }
    if (trim(*file).empty()) {
      return fail(item, fmt::format("the file name is empty (expected {})", kExpectFile));
    }
    stage->add_input_files(*file);
  }
  return Status::okStatus();
}

Status SpecParser::parseUpstreams(const Value& value, v1::Stage* stage, StageSource* source) const {
  auto items = readList(value, kExpectInputs);
  if (!items) {
    return items.error();
  }
  for (const Value& item : *items) {
    auto fields = readMap(item, kUpstreamFields, kExpectUpstream);
    if (!fields) {
      return fields.error();
    }
    auto stageField = require(*fields, "stage", kExpectUpstreamStage);
    if (!stageField) {
      return stageField.error();
    }
    auto name = readString((*stageField)->value, kExpectUpstreamStage);
    if (!name) {
      return name.error();
    }
    v1::Partitioning partitioning = v1::HASH;
    const Field* partitioningField = fields->find("partitioning");
    if (partitioningField != nullptr) {
      auto text = readString(partitioningField->value, kExpectPartitioning);
      if (!text) {
        return text.error();
      }
      if (*text == "hash") {
        partitioning = v1::HASH;
      } else if (*text == "forward") {
        partitioning = v1::FORWARD;
      } else if (*text == "broadcast") {
        partitioning = v1::BROADCAST;
      } else {
        static constexpr std::string_view kKinds[] = {"hash", "forward", "broadcast"};
        return fail(partitioningField->value,
                    fmt::format("{} is not a partitioning ({}expected {})", quote(*text),
                                didYouMean(*text, kKinds), kExpectPartitioning));
      }
    }
    v1::StageInput* input = stage->add_inputs();
    input->set_stage(*name);
    input->set_partitioning(partitioning);
    source->upstreams.push_back(
        UpstreamRef{*name, (*stageField)->value, partitioning,
                    partitioningField != nullptr ? partitioningField->value : item});
  }
  return Status::okStatus();
}

Result<v1::RestartStrategyType> SpecParser::readRestartType(const Value& value) const {
  auto name = readString(value, kExpectRestartType);
  if (!name) {
    return name.error();
  }
  auto type = parseRestartStrategyType(*name);
  if (!type) {
    return fail(value, fmt::format("{} is not a restart strategy ({}expected {})", quote(*name),
                                   didYouMean(*name, restartStrategyNames()), kExpectRestartType));
  }
  return *type;
}

Status SpecParser::parseRestartOn(const Value& value, v1::RestartStrategy* strategy) const {
  auto items = readList(value, kExpectRestartOn);
  if (!items) {
    return items.error();
  }
  strategy->clear_restart_on();
  for (const Value& item : *items) {
    auto name = readString(item, kExpectRestartOn);
    if (!name) {
      return name.error();
    }
    auto trigger = parseRestartTrigger(*name);
    if (!trigger) {
      return fail(item, fmt::format("{} is not a failure to restart on ({}expected {})",
                                    quote(*name), didYouMean(*name, restartTriggerNames()),
                                    joinNames(restartTriggerNames())));
    }
    strategy->add_restart_on(*trigger);
  }
  return Status::okStatus();
}

Status SpecParser::parseRestartStrategy(const Value& value, v1::RestartStrategy* strategy) const {
  if (value.node.IsScalar()) {
    auto type = readRestartType(value);
    if (!type) {
      return type.error();
    }
    *strategy = defaultRestartStrategy(*type);
    return Status::okStatus();
  }
  std::vector<std::string_view> allowed = {"type"};
  for (auto option : allRestartStrategyOptions()) {
    allowed.push_back(option);
  }
  auto fields = readMap(value, Names(allowed), kExpectRestartStrategy);
  if (!fields) {
    return fields.error();
  }
  auto typeField = require(*fields, "type", kExpectRestartType);
  if (!typeField) {
    return typeField.error();
  }
  auto type = readRestartType((*typeField)->value);
  if (!type) {
    return type.error();
  }
  *strategy = defaultRestartStrategy(*type);
  auto applies = restartStrategyOptions(*type);
  const std::string typeName(restartStrategyName(*type));
  for (const Field& field : fields->fields) {
    if (field.name == "type") {
      continue;
    }
    if (std::find(applies.begin(), applies.end(), field.name) == applies.end()) {
      std::vector<std::string_view> names = {"type"};
      names.insert(names.end(), applies.begin(), applies.end());
      return fail(field.keyMark, value.path,
                  fmt::format("{} does not apply to {} (expected {})", quote(field.name),
                              typeName,
                              applies.empty() ? std::string("no other field")
                                              : "one of: " + joinNames(names)));
    }
    if (field.name == "restart_on") {
      if (Status status = parseRestartOn(field.value, strategy); !status) {
        return status;
      }
      continue;
    }
    auto text = readString(field.value, restartOptionExpectation(field.name));
    if (!text) {
      return text.error();
    }
    if (Status set = setRestartOption(*strategy, field.name, *text); !set) {
      return fail(field.value, set.error().message);
    }
  }
  if (auto problem = checkRestartStrategy(*strategy)) {
    // At the option to blame, else at the other one given (max_backoff for initial_backoff).
    const Field* blamed = fields->find(problem->option);
    if (blamed == nullptr) {
      blamed = fields->find("max_backoff");
    }
    return blamed != nullptr ? fail(blamed->value, problem->message)
                             : fail(value, problem->message);
  }
  return Status::okStatus();
}

Status SpecParser::checkGraph(const Value& stagesValue, const v1::JobSpec& spec,
                              const std::vector<StageSource>& sources) const {
  const int count = spec.stages_size();
  std::map<std::string, int> indexByName;
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    const std::string& name = spec.stages(i).name();
    auto [it, inserted] = indexByName.emplace(name, i);
    if (!inserted) {
      return fail(*sources[i].name,
                  fmt::format("duplicate stage name {} (expected unique stage names; stages[{}] "
                              "at line {} has it too)",
                              quote(name), it->second, lineOf(sources[it->second].name->mark)));
    }
    names.push_back(name);
  }

  // upstreams[i]: the indices of the stages stage i reads, in the order listed.
  std::vector<std::vector<int>> upstreams(count);
  std::vector<bool> isRead(count, false);
  for (int i = 0; i < count; ++i) {
    const v1::Stage& stage = spec.stages(i);
    std::map<std::string, const UpstreamRef*> seen;
    for (const UpstreamRef& ref : sources[i].upstreams) {
      auto found = indexByName.find(ref.name);
      if (found == indexByName.end()) {
        return fail(ref.stage,
                    fmt::format("unknown stage {} ({}expected one of: {})", quote(ref.name),
                                didYouMean(ref.name, names), joinNames(names)));
      }
      if (found->second == i) {
        return fail(ref.stage, fmt::format("stage {} reads from itself (expected {})",
                                           quote(ref.name), kExpectUpstreamStage));
      }
      auto [previous, inserted] = seen.emplace(ref.name, &ref);
      if (!inserted) {
        return fail(ref.stage,
                    fmt::format("stage {} is listed twice (expected each upstream stage once; "
                                "first listed at line {})",
                                quote(ref.name), lineOf(previous->second->stage.mark)));
      }
      const v1::Stage& upstream = spec.stages(found->second);
      if (ref.partitioning == v1::FORWARD && upstream.parallelism() != stage.parallelism()) {
        return fail(ref.partitioningValue,
                    fmt::format("forward partitioning between stages of different parallelism: "
                                "{} has {} and {} has {} (expected the same parallelism on both "
                                "stages, or hash or broadcast partitioning)",
                                quote(upstream.name()), upstream.parallelism(), quote(stage.name()),
                                stage.parallelism()));
      }
      upstreams[i].push_back(found->second);
      isRead[found->second] = true;
    }
  }

  // Cycles: an iterative depth-first search along "reads" edges (no recursion, so any number of
  // stages is fine). A grey stage is on the current path.
  enum class Colour { kWhite, kGrey, kBlack };
  std::vector<Colour> colour(count, Colour::kWhite);
  for (int start = 0; start < count; ++start) {
    if (colour[start] != Colour::kWhite) {
      continue;
    }
    std::vector<std::pair<int, std::size_t>> path = {{start, 0}};
    colour[start] = Colour::kGrey;
    while (!path.empty()) {
      auto& [current, next] = path.back();
      if (next == upstreams[current].size()) {
        colour[current] = Colour::kBlack;
        path.pop_back();
        continue;
      }
      int upstream = upstreams[current][next++];
      if (colour[upstream] == Colour::kWhite) {
        colour[upstream] = Colour::kGrey;
        path.emplace_back(upstream, 0);
        continue;
      }
      if (colour[upstream] == Colour::kBlack) {
        continue;
      }
      // `upstream` is on the path, where each stage reads the one after it, and `current` (the
      // last) reads `upstream`. Walking the path backwards from `current` lists the cycle in
      // the direction records flow; then start it at its first stage in the file.
      std::vector<int> cycle;
      for (auto it = path.rbegin(); it != path.rend(); ++it) {
        cycle.push_back(it->first);
        if (it->first == upstream) {
          break;
        }
      }
      auto first = std::min_element(cycle.begin(), cycle.end());
      std::rotate(cycle.begin(), first, cycle.end());
      std::vector<std::string> cycleNames;
      for (int index : cycle) {
        cycleNames.push_back(names[index]);
      }
      cycleNames.push_back(names[cycle.front()]);
      std::string arrows;
      for (std::size_t k = 0; k < cycleNames.size(); ++k) {
        arrows += (k == 0 ? "" : " -> ") + cycleNames[k];
      }
      // Report at the input of the first stage that closes the cycle.
      int head = cycle.front();
      const std::string& closing = names[cycle.back()];
      const StageSource& headSource = sources[head];
      for (const UpstreamRef& ref : headSource.upstreams) {
        if (ref.name == closing) {
          return fail(ref.stage, fmt::format("cycle: {} (expected the stages to form a DAG: "
                                             "remove one of these inputs)",
                                             arrows));
        }
      }
      return fail(headSource.node,
                  fmt::format("cycle: {} (expected the stages to form a DAG: remove one of "
                              "these inputs)",
                              arrows));
    }
  }

  std::vector<std::string> sinks;
  for (int i = 0; i < count; ++i) {
    if (!isRead[i]) {
      sinks.push_back(names[i]);
    }
  }
  if (sinks.empty()) {
    return fail(stagesValue,
                "there is no sink stage: every stage is read by another (expected exactly one "
                "stage that no other stage reads)");
  }
  if (sinks.size() > 1) {
    return fail(stagesValue,
                fmt::format("found {} sink stages: {} (expected exactly one stage that no other "
                            "stage reads; its records are the job's output)",
                            sinks.size(), joinNames(sinks)));
  }
  return Status::okStatus();
}

}  // namespace

Result<v1::JobSpec> parseJobSpec(std::string_view yamlText, const std::string& fileName,
                                 const std::string& baseDir, const ParseOptions& options) {
  if (yamlText.size() > kMaxSpecBytes) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: the job spec is larger than {} MiB (expected a small YAML file)",
                     fileName, kMaxSpecBytes >> 20);
  }
  try {
    SpecParser parser(fileName, options);
    return parser.parse(yamlText, baseDir);
  } catch (const std::exception& e) {
    // Not expected: the parser checks node types before using them. Keep the promised form.
    return makeError(ErrorCode::kInvalidArgument, "{}:1:1: {}: cannot parse the job spec: {}",
                     fileName, kRootPath, e.what());
  } catch (...) {
    return makeError(ErrorCode::kInvalidArgument, "{}:1:1: {}: cannot parse the job spec", fileName,
                     kRootPath);
  }
}

Result<v1::JobSpec> loadJobSpec(const std::string& path, const ParseOptions& options) {
  namespace fs = std::filesystem;
  try {
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (ec) {
      return makeError(ErrorCode::kInvalidArgument, "{}: cannot read the job spec: {}", path,
                       ec.message());
    }
    if (fs::is_directory(status)) {
      return makeError(ErrorCode::kInvalidArgument,
                       "{}: cannot read the job spec: it is a directory (expected a YAML file)",
                       path);
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::error_code openError(errno, std::generic_category());
      return makeError(ErrorCode::kInvalidArgument, "{}: cannot read the job spec: {}", path,
                       openError.message());
    }
    std::string text;
    char buffer[64 * 1024];
    while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
      text.append(buffer, static_cast<std::size_t>(in.gcount()));
      if (text.size() > kMaxSpecBytes) {
        return makeError(ErrorCode::kInvalidArgument,
                         "{}: cannot read the job spec: it is larger than {} MiB (expected a "
                         "small YAML file)",
                         path, kMaxSpecBytes >> 20);
      }
    }
    if (in.bad()) {
      return makeError(ErrorCode::kInvalidArgument, "{}: cannot read the job spec: read error",
                       path);
    }
    fs::path absolute = fs::absolute(fs::path(path), ec);
    if (ec) {
      return makeError(ErrorCode::kInvalidArgument, "{}: cannot resolve the job spec's folder: {}",
                       path, ec.message());
    }
    std::string baseDir = absolute.lexically_normal().parent_path().string();
    return parseJobSpec(text, path, baseDir, options);
  } catch (const std::exception& e) {
    return makeError(ErrorCode::kInvalidArgument, "{}: cannot read the job spec: {}", path,
                     e.what());
  }
}

}  // namespace tailor::jobspec
