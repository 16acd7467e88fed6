#include "common/resources.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <vector>

namespace tailor {

std::int64_t toMilliCpus(double cpus) { return std::llround(cpus * 1000.0); }

Resources Resources::fromProto(const v1::ResourceProfile& profile) {
  return Resources{toMilliCpus(profile.cpus()), profile.mem(), profile.disk(), profile.gpus()};
}

v1::ResourceProfile Resources::toProto() const {
  v1::ResourceProfile profile;
  profile.set_cpus(cpus());
  profile.set_mem(memMib);
  profile.set_disk(diskMib);
  profile.set_gpus(static_cast<std::int32_t>(gpus));
  return profile;
}

v1::ReportResources Resources::toReport() const {
  v1::ReportResources report;
  report.set_cpus(cpus());
  report.set_mem(static_cast<double>(memMib));
  report.set_disk(static_cast<double>(diskMib));
  report.set_gpus(static_cast<double>(gpus));
  return report;
}

bool Resources::contains(const Resources& other) const {
  return milliCpus >= other.milliCpus && memMib >= other.memMib && diskMib >= other.diskMib &&
         gpus >= other.gpus;
}

Resources& Resources::operator+=(const Resources& other) {
  milliCpus += other.milliCpus;
  memMib += other.memMib;
  diskMib += other.diskMib;
  gpus += other.gpus;
  return *this;
}

Resources& Resources::operator-=(const Resources& other) {
  milliCpus -= other.milliCpus;
  memMib -= other.memMib;
  diskMib -= other.diskMib;
  gpus -= other.gpus;
  return *this;
}

Resources operator*(Resources a, std::int64_t n) {
  a.milliCpus *= n;
  a.memMib *= n;
  a.diskMib *= n;
  a.gpus *= n;
  return a;
}

std::string Resources::toString() const {
  return fmt::format("cpus={},mem={},disk={},gpus={}", cpus(), memMib, diskMib, gpus);
}

std::string Resources::toWords() const {
  std::string text = fmt::format("cpus {}, mem {} MiB", cpus(), memMib);
  if (diskMib > 0) text += fmt::format(", disk {} MiB", diskMib);
  if (gpus > 0) text += fmt::format(", gpus {}", gpus);
  return text;
}

namespace {

// Each resource `have` lacks of `need`, in the order cpus, mem, disk, gpus.
std::vector<Shortage> shortages(const Resources& need, const Resources& have) {
  std::vector<Shortage> result;
  auto consider = [&result](const char* name, std::int64_t wanted, std::int64_t held, double unit) {
    if (wanted <= held) return;
    double missing = static_cast<double>(wanted - held);
    result.push_back(Shortage{name, missing / unit, missing / static_cast<double>(wanted)});
  };
  consider("cpus", need.milliCpus, have.milliCpus, 1000.0);
  consider("mem", need.memMib, have.memMib, 1.0);
  consider("disk", need.diskMib, have.diskMib, 1.0);
  consider("gpus", need.gpus, have.gpus, 1.0);
  return result;
}

}  // namespace

std::optional<Shortage> mostShort(const Resources& need, const Resources& have) {
  std::optional<Shortage> most;
  for (const auto& shortage : shortages(need, have)) {
    if (!most || shortage.fraction > most->fraction) most = shortage;
  }
  return most;
}

bool closerFit(const Resources& need, const Resources& a, const Resources& b) {
  auto measure = [&need](const Resources& have) {
    double largest = 0;
    double sum = 0;
    for (const auto& shortage : shortages(need, have)) {
      largest = std::max(largest, shortage.fraction);
      sum += shortage.fraction;
    }
    return std::make_pair(largest, sum);
  };
  return measure(a) < measure(b);
}

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  return text;
}

Result<double> parseNumber(std::string_view text) {
  text = trim(text);
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() ||
      !std::isfinite(value)) {
    return makeError(ErrorCode::kInvalidArgument, "'{}' is not a number", text);
  }
  return value;
}

}  // namespace

Result<std::int64_t> parseMebibytes(std::string_view text) {
  std::string_view trimmed = trim(text);
  size_t split = 0;
  while (split < trimmed.size() &&
         (std::isdigit(static_cast<unsigned char>(trimmed[split])) || trimmed[split] == '.')) {
    ++split;
  }
  std::string_view number = trimmed.substr(0, split);
  std::string_view unit = trim(trimmed.substr(split));
  auto value = parseNumber(number);
  if (!value || number.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "'{}' is not a size (expected MiB as a number, or a number with a unit "
                     "such as 512MiB or 2GiB)",
                     text);
  }
  struct Unit {
    std::string_view name;
    double mib;
  };
  static const Unit kUnits[] = {
      {"", 1.0},
      {"KiB", 1.0 / 1024},
      {"MiB", 1.0},
      {"GiB", 1024.0},
      {"TiB", 1024.0 * 1024},
      {"KB", 1000.0 / (1024 * 1024)},
      {"MB", 1000.0 * 1000 / (1024 * 1024)},
      {"GB", 1000.0 * 1000 * 1000 / (1024 * 1024)},
      {"TB", 1000.0 * 1000 * 1000 * 1000 / (1024 * 1024)},
  };
  for (const auto& candidate : kUnits) {
    if (unit == candidate.name) {
      return static_cast<std::int64_t>(std::ceil(*value * candidate.mib));
    }
  }
  return makeError(ErrorCode::kInvalidArgument,
                   "'{}' has an unknown unit '{}' (expected KiB, MiB, GiB, TiB, KB, MB, GB or TB)",
                   text, unit);
}

Result<Resources> parseResourceList(std::string_view text, const Resources& defaults) {
  Resources result = defaults;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (item.empty()) {
      continue;
    }
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return makeError(ErrorCode::kInvalidArgument,
                       "'{}' is not of the form key=value (expected cpus=N,mem=MiB)", item);
    }
    std::string_view key = trim(item.substr(0, eq));
    std::string_view value = trim(item.substr(eq + 1));
    if (key == "cpus") {
      auto cpus = parseNumber(value);
      if (!cpus || *cpus < 0) {
        return makeError(ErrorCode::kInvalidArgument, "cpus: '{}' is not a non-negative number",
                         value);
      }
      result.milliCpus = toMilliCpus(*cpus);
    } else if (key == "mem" || key == "disk") {
      auto mib = parseMebibytes(value);
      if (!mib) {
        return mib.error().withContext(std::string(key));
      }
      (key == "mem" ? result.memMib : result.diskMib) = *mib;
    } else if (key == "gpus") {
      auto gpus = parseNumber(value);
      if (!gpus || *gpus < 0 || std::floor(*gpus) != *gpus) {
        return makeError(ErrorCode::kInvalidArgument, "gpus: '{}' is not a whole number", value);
      }
      result.gpus = static_cast<std::int64_t>(*gpus);
    } else {
      return makeError(ErrorCode::kInvalidArgument,
                       "unknown resource '{}' (expected cpus, mem, disk or gpus)", key);
    }
  }
  return result;
}

}  // namespace tailor
