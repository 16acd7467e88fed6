// DC/OS IAM tokens (common/auth/jwt.*): RS256 JWTs signed in the test with a
// key OpenSSL makes for it, checked by JwtVerifier and let in by the
// Authenticator as their uid.

#include "common/auth/jwt.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <ctime>
#include <memory>
#include <string>

#include "common/auth/authenticator.hpp"
#include "common/base64.hpp"
#include "tests/common/temp_dir.hpp"

namespace tailor::auth {
namespace {

using ::testing::HasSubstr;

using Key = std::unique_ptr<EVP_PKEY, void (*)(EVP_PKEY*)>;

Key rsaKey() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), EVP_PKEY_free); }

// Writes the public half of `key` as PEM; returns the path.
std::string writePublicKey(const test::TempDir& dir, const std::string& name, EVP_PKEY* key) {
  std::string path = dir.path().string() + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "w");
  PEM_write_PUBKEY(file, key);
  std::fclose(file);
  return path;
}

// header.claims.signature, signed RS256 with `key`.
std::string sign(EVP_PKEY* key, const std::string& header, const std::string& claims) {
  std::string signed_ = base64UrlEncode(header) + "." + base64UrlEncode(claims);
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> context(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestSignInit(context.get(), nullptr, EVP_sha256(), nullptr, key);
  std::size_t length = 0;
  EVP_DigestSign(context.get(), nullptr, &length,
                 reinterpret_cast<const unsigned char*>(signed_.data()), signed_.size());
  std::string signature(length, '\0');
  EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                 reinterpret_cast<const unsigned char*>(signed_.data()), signed_.size());
  signature.resize(length);
  return signed_ + "." + base64UrlEncode(signature);
}

constexpr char kRs256[] = R"({"alg":"RS256","typ":"JWT"})";
constexpr std::int64_t kNow = 1'800'000'000;

std::string claims(const std::string& uid, std::int64_t exp) {
  return R"({"uid":")" + uid + R"(","exp":)" + std::to_string(exp) + "}";
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(key_);
    auto verifier = JwtVerifier::fromPublicKeyFile(writePublicKey(dir_, "iam.pem", key_.get()));
    ASSERT_TRUE(verifier.ok()) << verifier.error().message;
    verifier_.emplace(std::move(*verifier));
  }
  std::string refusal(const std::string& token) {
    auto uid = verifier_->verify(token, kNow);
    EXPECT_FALSE(uid.ok()) << "let in: " << token;
    if (uid.ok()) return "";
    EXPECT_EQ(uid.error().message.find(token), std::string::npos) << "the error repeats the token";
    return uid.error().message;
  }

  test::TempDir dir_;
  Key key_ = rsaKey();
  std::optional<JwtVerifier> verifier_;
};

TEST_F(JwtTest, ATokenTheIamSignedNamesItsUser) {
  auto uid = verifier_->verify(sign(key_.get(), kRs256, claims("alice", kNow + 3600)), kNow);
  ASSERT_TRUE(uid.ok()) << uid.error().message;
  EXPECT_EQ(*uid, "alice");
}

TEST_F(JwtTest, WhatIsNotTheIamsIsRefusedSayingWhy) {
  EXPECT_THAT(refusal(sign(key_.get(), kRs256, claims("alice", kNow - 1))), HasSubstr("expired"));
  EXPECT_THAT(refusal(sign(key_.get(), kRs256, R"({"uid":"alice"})")), HasSubstr("no expiry"));
  EXPECT_THAT(refusal(sign(key_.get(), kRs256, R"({"exp":1900000000})")), HasSubstr("uid"));
  EXPECT_THAT(refusal(sign(key_.get(), kRs256,
                           R"({"uid":"a","exp":1900000000,"nbf":1900000000})")),
              HasSubstr("not valid yet"));
  Key other = rsaKey();
  EXPECT_THAT(refusal(sign(other.get(), kRs256, claims("alice", kNow + 60))),
              HasSubstr("signature does not verify"));
  // Claims changed after signing.
  std::string token = sign(key_.get(), kRs256, claims("alice", kNow + 60));
  std::string forged = token.substr(0, token.find('.') + 1) +
                       base64UrlEncode(claims("admin", kNow + 60)) +
                       token.substr(token.rfind('.'));
  EXPECT_THAT(refusal(forged), HasSubstr("signature does not verify"));
  // Algorithms an attacker picks: none, or HMAC keyed with the public key.
  EXPECT_THAT(refusal(base64UrlEncode(R"({"alg":"none"})") + "." +
                      base64UrlEncode(claims("alice", kNow + 60)) + "."),
              HasSubstr("not RS256"));
  EXPECT_THAT(refusal(sign(key_.get(), R"({"alg":"HS256"})", claims("alice", kNow + 60))),
              HasSubstr("not RS256"));
  EXPECT_THAT(refusal("a.b"), HasSubstr("not a JSON Web Token"));
  EXPECT_THAT(refusal("!!.??.**"), HasSubstr("header"));
}

TEST_F(JwtTest, TheAuthenticatorLetsIamUsersInWithTheirRole) {
  Authenticator authenticator({});
  std::string token = sign(key_.get(), kRs256, claims("bob", std::time(nullptr) + 600));
  EXPECT_FALSE(authenticator.authenticate("token=" + token)) << "without acceptIamTokens";
  authenticator.acceptIamTokens(*verifier_, Role::kSubmit);
  auto identity = authenticator.authenticate("token=" + token);
  ASSERT_TRUE(identity);
  EXPECT_EQ(identity->name, "bob");
  EXPECT_EQ(identity->role, Role::kSubmit);
  EXPECT_TRUE(authenticator.authenticate("Bearer " + token));
  std::string expired = sign(key_.get(), kRs256, claims("bob", std::time(nullptr) - 1));
  EXPECT_FALSE(authenticator.authenticate("token=" + expired));
}

TEST(JwtKeyTest, OnlyAnRsaPublicKeyInPemIsTaken) {
  test::TempDir dir;
  auto missing = JwtVerifier::fromPublicKeyFile(dir.path().string() + "/none.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("cannot read"));
  Key ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), EVP_PKEY_free);
  auto notRsa = JwtVerifier::fromPublicKeyFile(writePublicKey(dir, "ec.pem", ec.get()));
  ASSERT_FALSE(notRsa.ok());
  EXPECT_THAT(notRsa.error().message, HasSubstr("not an RSA public key"));
}

}  // namespace
}  // namespace tailor::auth
