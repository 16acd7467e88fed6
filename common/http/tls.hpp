#pragma once

// TLS for Tailor's HTTP traffic (docs/security.md, "TLS"): the certificate a
// process presents, the authorities it trusts, and whether its servers ask
// clients for a certificate too. A process has one configuration: its
// servers serve with it and its client uses it for every https:// URL.
// Tailor's processes pass it on to the processes they start through the
// TAILOR_TLS_* environment variables (file paths, never the keys).

#include <string>
#include <utility>
#include <vector>

#include "common/result.hpp"

namespace tailor::http {

inline constexpr const char* kTlsCertVariable = "TAILOR_TLS_CERT";
inline constexpr const char* kTlsKeyVariable = "TAILOR_TLS_KEY";
inline constexpr const char* kTlsCaVariable = "TAILOR_TLS_CA";
inline constexpr const char* kTlsMutualVariable = "TAILOR_TLS_MUTUAL";

struct TlsConfig {
  std::string certFile;  // PEM certificate chain this process presents
  std::string keyFile;   // PEM private key of certFile; readable by its owner only
  std::string caFile;    // PEM authorities trusted for peers; empty: the system's store
  // Servers ask every client for a certificate signed by `caFile` and refuse
  // a connection without one (the JobManager's and TaskManagers' servers).
  bool mutual = false;
  // Clients check the server's name against its certificate. Off between
  // Tailor's own processes, whose addresses are agents known only at run
  // time: there the trust is the private authority in `caFile`.
  bool verifyHostname = false;

  // True when this process serves TLS and calls its peers over https.
  bool serving() const { return !certFile.empty(); }
};

// Checks a configuration: certificate and key both given or both absent, each
// file readable, the key file readable by its owner only, a mutual TLS
// without an authority refused. Errors name the setting (`names` prefix,
// e.g. "--tls-" or "TAILOR_TLS_"), the file and what to do.
Status checkTls(const TlsConfig& config, const std::string& names);

// The configuration in TAILOR_TLS_CERT, _KEY, _CA and _MUTUAL (1/true/yes),
// checked as checkTls does.
Result<TlsConfig> tlsFromEnvironment();

// Sets this process's configuration. Call once at the start, before any
// request is sent or any server started.
void setProcessTls(TlsConfig config);
const TlsConfig& processTls();

// TAILOR_TLS_* name/value pairs that give a child process this process's
// configuration (empty when it has none).
std::vector<std::pair<std::string, std::string>> tlsEnvironment();

// Puts tlsEnvironment() into this process's environment, so that children
// started locally inherit it.
void exportProcessTls();

// The scheme of URLs to Tailor's own processes: "https://" when this process
// serves TLS (and so does every process of its deployment), else "http://".
std::string internalScheme();

}  // namespace tailor::http
