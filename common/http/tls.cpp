#include "common/http/tls.hpp"

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>

#include <fmt/format.h>

#include "common/secret.hpp"

namespace tailor::http {
namespace {

TlsConfig& processConfig() {
  static TlsConfig config;
  return config;
}

Status checkReadable(const std::string& path, const std::string& setting) {
  std::ifstream in(path);
  if (!in.is_open()) {
    return makeError(ErrorCode::kInvalidArgument, "{}: cannot read '{}' (expected a PEM file)",
                     setting, path);
  }
  // PEM blocks may follow other text ("Bag Attributes" of a PKCS#12 export).
  std::string head(64 * 1024, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  if (head.find("-----BEGIN ") == std::string::npos) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{}: '{}' is not a PEM file (expected a '-----BEGIN ...' line)", setting,
                     path);
  }
  return Status();
}

bool isTrue(const std::string& value) {
  return value == "1" || value == "true" || value == "yes" || value == "on";
}

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

}  // namespace

Status checkTls(const TlsConfig& config, const std::string& names) {
  // "--tls-" + "cert", or "TAILOR_TLS_" + "CERT".
  const bool variables = !names.empty() && names.back() == '_';
  auto name = [&](std::string what) {
    if (variables) {
      for (auto& c : what) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return names + what;
  };
  if (config.certFile.empty() != config.keyFile.empty()) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{} and {} go together: give both (a certificate and its private key) or "
                     "neither",
                     name("cert"), name("key"));
  }
  if (config.mutual && (!config.serving() || config.caFile.empty())) {
    return makeError(ErrorCode::kInvalidArgument,
                     "{} needs {}, {} and {} (the authority that signs the certificates "
                     "clients present)",
                     name("mutual"), name("cert"), name("key"), name("ca"));
  }
  if (config.serving()) {
    Status cert = checkReadable(config.certFile, name("cert"));
    if (!cert.ok()) return cert;
    Status key = secret::checkPrivateFile(config.keyFile, name("key") + ": the TLS key file");
    if (!key.ok()) return key;
    key = checkReadable(config.keyFile, name("key"));
    if (!key.ok()) return key;
  }
  if (!config.caFile.empty()) {
    Status ca = checkReadable(config.caFile, name("ca"));
    if (!ca.ok()) return ca;
  }
  return Status();
}

Result<TlsConfig> tlsFromEnvironment() {
  TlsConfig config;
  config.certFile = environment(kTlsCertVariable);
  config.keyFile = environment(kTlsKeyVariable);
  config.caFile = environment(kTlsCaVariable);
  config.mutual = isTrue(environment(kTlsMutualVariable));
  Status checked = checkTls(config, "TAILOR_TLS_");
  if (!checked.ok()) return checked.error();
  return config;
}

void setProcessTls(TlsConfig config) { processConfig() = std::move(config); }

const TlsConfig& processTls() { return processConfig(); }

std::vector<std::pair<std::string, std::string>> tlsEnvironment() {
  const TlsConfig& config = processTls();
  std::vector<std::pair<std::string, std::string>> variables;
  if (!config.certFile.empty()) variables.emplace_back(kTlsCertVariable, config.certFile);
  if (!config.keyFile.empty()) variables.emplace_back(kTlsKeyVariable, config.keyFile);
  if (!config.caFile.empty()) variables.emplace_back(kTlsCaVariable, config.caFile);
  if (config.mutual) variables.emplace_back(kTlsMutualVariable, "1");
  return variables;
}

void exportProcessTls() {
  for (const char* name : {kTlsCertVariable, kTlsKeyVariable, kTlsCaVariable, kTlsMutualVariable}) {
    ::unsetenv(name);
  }
  for (const auto& [name, value] : tlsEnvironment()) ::setenv(name.c_str(), value.c_str(), 1);
}

std::string internalScheme() { return processTls().serving() ? "https://" : "http://"; }

}  // namespace tailor::http
