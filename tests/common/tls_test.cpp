// TLS in the HTTP server and client (docs/security.md, "TLS"): an authority
// and certificates made with the openssl tool for each test, a server with
// useTls on loopback, and the client with the process's configuration.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "common/http/tls.hpp"
#include "tests/common/temp_dir.hpp"

namespace tailor::http {
namespace {

using ::testing::HasSubstr;

// An authority `ca` and a certificate `name` it signed for 127.0.0.1, and a
// second authority with a certificate of its own (`stranger`).
class Pki {
 public:
  Pki() {
    authority("ca");
    certificate("tailor", "ca");
    authority("other");
    certificate("stranger", "other");
  }
  std::string pem(const std::string& name) const { return dir_.path().string() + "/" + name + ".pem"; }
  std::string key(const std::string& name) const { return dir_.path().string() + "/" + name + ".key"; }
  bool ok() const { return ok_; }

 private:
  void run(const std::string& command) {
    if (std::system((command + " 2> /dev/null").c_str()) != 0) ok_ = false;
  }
  void authority(const std::string& name) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=" + name + " -keyout " + key(name) + " -out " + pem(name));
  }
  void certificate(const std::string& name, const std::string& ca) {
    std::string ext = dir_.path().string() + "/" + name + ".ext";
    std::ofstream(ext) << "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n";
    std::string csr = dir_.path().string() + "/" + name + ".csr";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + name +
        " -keyout " + key(name) + " -out " + csr);
    run("openssl x509 -req -in " + csr + " -CA " + pem(ca) + " -CAkey " + key(ca) +
        " -CAcreateserial -days 2 -extfile " + ext + " -out " + pem(name));
    ::chmod(key(name).c_str(), 0600);
  }

  test::TempDir dir_;
  bool ok_ = true;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(pki_.ok()) << "the openssl tool could not make the test certificates";
    server_ = std::make_unique<Server>(loop_, "127.0.0.1", 0);
    server_->route("GET", "/hello", [](const Request&, Responder respond) {
      respond(Response::text(200, "hello over TLS"));
    });
  }
  void start(bool mutual) {
    TlsConfig config = serving();
    config.mutual = mutual;
    server_->useTls(config);
    auto port = server_->start();
    ASSERT_TRUE(port.ok()) << port.error().message;
    port_ = *port;
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    setProcessTls(TlsConfig{});
    loop_.post([this] { server_->stop(); });
    loop_.stop();
    if (thread_.joinable()) thread_.join();
  }
  TlsConfig serving() const {
    TlsConfig config;
    config.certFile = pki_.pem("tailor");
    config.keyFile = pki_.key("tailor");
    config.caFile = pki_.pem("ca");
    return config;
  }
  Result<ClientResponse> get(const std::string& scheme, const std::string& path = "/hello") {
    ClientRequest request;
    request.url = scheme + "://127.0.0.1:" + std::to_string(port_) + path;
    request.timeout = Duration(10000);
    return performBlocking(request);
  }

  Pki pki_;
  AsioEventLoop loop_;
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(TlsTest, AnswersHttpsAndRefusesPlainHttpWithAHint) {
  start(false);
  TlsConfig client;
  client.caFile = pki_.pem("ca");
  client.verifyHostname = true;
  setProcessTls(client);
  auto answer = get("https");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, "hello over TLS");

  auto plain = get("http");
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->status, 400);
  EXPECT_THAT(plain->body, HasSubstr("speaks HTTPS only"));
}

TEST_F(TlsTest, AClientThatDoesNotTrustTheAuthorityGivesUp) {
  start(false);
  TlsConfig client;
  client.caFile = pki_.pem("other");
  setProcessTls(client);
  auto answer = get("https");
  ASSERT_FALSE(answer.ok());
  EXPECT_THAT(answer.error().message, HasSubstr("https://127.0.0.1"));
}

TEST_F(TlsTest, MutualTlsWantsACertificateOfTheAuthority) {
  start(true);
  TlsConfig none;
  none.caFile = pki_.pem("ca");
  setProcessTls(none);
  EXPECT_FALSE(get("https").ok()) << "no client certificate";

  TlsConfig stranger = none;
  stranger.certFile = pki_.pem("stranger");
  stranger.keyFile = pki_.key("stranger");
  setProcessTls(stranger);
  EXPECT_FALSE(get("https").ok()) << "a certificate of another authority";

  setProcessTls(serving());
  auto answer = get("https");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->body, "hello over TLS");
}

TEST_F(TlsTest, FilesGoThroughTlsInPieces) {
  test::TempDir dir;
  std::string content;
  for (int i = 0; content.size() < 1'300'000; ++i) content += std::to_string(i) + "\n";
  std::string file = dir.path().string() + "/data";
  std::ofstream(file) << content;
  server_->route("GET", "/file", [file](const Request&, Responder respond) {
    Response response;
    response.filePath = file;
    respond(std::move(response));
  });
  start(false);
  setProcessTls(serving());
  auto answer = get("https", "/file");
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body.size(), content.size());
  EXPECT_TRUE(answer->body == content);
}

TEST_F(TlsTest, StartNamesAKeyThatDoesNotMatch) {
  TlsConfig config = serving();
  config.keyFile = pki_.key("stranger");
  server_->useTls(config);
  auto port = server_->start();
  ASSERT_FALSE(port.ok());
  EXPECT_THAT(port.error().message, HasSubstr(pki_.key("stranger")));
}

TEST_F(TlsTest, CheckNamesTheSettingAndTheFile) {
  TlsConfig config = serving();
  EXPECT_TRUE(checkTls(config, "--tls-").ok());

  TlsConfig half = config;
  half.keyFile.clear();
  auto error = checkTls(half, "--tls-");
  ASSERT_FALSE(error.ok());
  EXPECT_THAT(error.error().message, HasSubstr("--tls-cert and --tls-key go together"));
  EXPECT_THAT(checkTls(half, "TAILOR_TLS_").error().message,
              HasSubstr("TAILOR_TLS_CERT and TAILOR_TLS_KEY"));

  ::chmod(config.keyFile.c_str(), 0640);
  error = checkTls(config, "--tls-");
  ::chmod(config.keyFile.c_str(), 0600);
  ASSERT_FALSE(error.ok());
  EXPECT_THAT(error.error().message, HasSubstr("--tls-key: the TLS key file '" + config.keyFile));
  EXPECT_THAT(error.error().message, HasSubstr("chmod 600"));

  TlsConfig mutual = config;
  mutual.caFile.clear();
  mutual.mutual = true;
  EXPECT_THAT(checkTls(mutual, "--tls-").error().message, HasSubstr("--tls-mutual needs"));

  TlsConfig notPem = config;
  notPem.caFile = config.keyFile + ".missing";
  EXPECT_THAT(checkTls(notPem, "--tls-").error().message, HasSubstr("--tls-ca: cannot read"));
}

TEST(TlsEnvironmentTest, PassesThePathsOnAndNamesTheScheme) {
  setProcessTls(TlsConfig{});
  EXPECT_EQ(internalScheme(), "http://");
  EXPECT_TRUE(tlsEnvironment().empty());
  TlsConfig config;
  config.certFile = "/c.pem";
  config.keyFile = "/k.pem";
  config.caFile = "/ca.pem";
  config.mutual = true;
  setProcessTls(config);
  EXPECT_EQ(internalScheme(), "https://");
  std::vector<std::pair<std::string, std::string>> want = {
      {"TAILOR_TLS_CERT", "/c.pem"}, {"TAILOR_TLS_KEY", "/k.pem"},
      {"TAILOR_TLS_CA", "/ca.pem"}, {"TAILOR_TLS_MUTUAL", "1"}};
  EXPECT_EQ(tlsEnvironment(), want);
  setProcessTls(TlsConfig{});
}

}  // namespace
}  // namespace tailor::http
