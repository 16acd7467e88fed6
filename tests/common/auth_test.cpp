#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "common/auth/authenticator.hpp"
#include "common/auth/credentials.hpp"
#include "common/auth/permissions.hpp"
#include "common/auth/verifier.hpp"
#include "common/base64.hpp"
#include "tests/common/temp_dir.hpp"

namespace tailor::auth {
namespace {

using ::testing::HasSubstr;

// Computed with Python's hashlib (OpenSSL underneath):
//   hashlib.pbkdf2_hmac('sha256', b'password', b'salt', N, 32).hex()
TEST(AuthVerifierTest, Pbkdf2Sha256MatchesKnownVectors) {
  EXPECT_EQ(toHex(pbkdf2Sha256("password", "salt", 1, 32)),
            "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b");
  EXPECT_EQ(toHex(pbkdf2Sha256("password", "salt", 4096, 32)),
            "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a");
}

// A verifier written by Python:
//   s = b'0123456789abcdef'; h = hashlib.pbkdf2_hmac('sha256', b'correct horse', s, 1000, 32)
constexpr const char* kHorse =
    "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M=";

TEST(AuthVerifierTest, VerifiesAPasswordAgainstAVerifierOfAnotherImplementation) {
  auto verifier = parsePasswordVerifier(kHorse);
  ASSERT_TRUE(verifier.ok()) << verifier.error().message;
  EXPECT_EQ(verifier->iterations, 1000);
  EXPECT_EQ(verifier->salt, "0123456789abcdef");
  EXPECT_TRUE(verifyPassword(*verifier, "correct horse"));
  EXPECT_FALSE(verifyPassword(*verifier, "correct horse "));
  EXPECT_FALSE(verifyPassword(*verifier, ""));
  EXPECT_EQ(formatPasswordVerifier(*verifier), kHorse);
}

TEST(AuthVerifierTest, HashedPasswordsVerifyAndHaveFreshSalts) {
  auto one = hashPassword("s3cret", 1000);
  auto two = hashPassword("s3cret", 1000);
  ASSERT_TRUE(one.ok() && two.ok());
  EXPECT_NE(one->salt, two->salt);
  EXPECT_TRUE(verifyPassword(*one, "s3cret"));
  EXPECT_FALSE(verifyPassword(*one, "s3creT"));
  auto back = parsePasswordVerifier(formatPasswordVerifier(*one));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(verifyPassword(*back, "s3cret"));
}

TEST(AuthVerifierTest, RefusesMalformedPasswordVerifiers) {
  for (const char* bad :
       {"", "pbkdf2-sha256", "pbkdf2-sha1$1000$MDEyMzQ1Njc4OWFiY2RlZg==$aGFzaA==",
        "pbkdf2-sha256$x$MDEyMzQ1Njc4OWFiY2RlZg==$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M=",
        "pbkdf2-sha256$10$MDEyMzQ1Njc4OWFiY2RlZg==$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M=",
        "pbkdf2-sha256$1000$***$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M=",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$c2hvcnQ=",
        "pbkdf2-sha256$1000$MDEyMzQ1Njc4OWFiY2RlZg==$cBg8D2DungRB9k76szThf5ehfyBz991ay6PT8Srwk4M=$"
        "x"}) {
    auto parsed = parsePasswordVerifier(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.error().message, HasSubstr("pbkdf2-sha256$<iterations>")) << bad;
  }
}

TEST(AuthVerifierTest, TokenVerifierIsTheSha256OfTheToken) {
  // hashlib.sha256(b'the-token').hexdigest()
  EXPECT_EQ(formatTokenVerifier("the-token"),
            "sha256$c2a73fcf61dfbdcadc79a10ba330b2ef5eb66fc0a6735ed69b796bb3c97b97ae");
  auto digest = parseTokenVerifier(formatTokenVerifier("the-token"));
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*digest, sha256("the-token"));
  EXPECT_FALSE(parseTokenVerifier("sha256$abc").ok());
  EXPECT_FALSE(
      parseTokenVerifier("md5$c2a73fcf61dfbdcadc79a10ba330b2ef5eb66fc0a6735ed69b796bb3c97b97ae")
          .ok());
  EXPECT_FALSE(
      parseTokenVerifier("sha256$g2a73fcf61dfbdcadc79a10ba330b2ef5eb66fc0a6735ed69b796bb3c97b97ae")
          .ok());
}

TEST(AuthVerifierTest, Base64RoundTripsAndRefusesBadInput) {
  for (const std::string& text :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3)}) {
    auto back = base64Decode(base64Encode(text));
    ASSERT_TRUE(back.has_value()) << text;
    EXPECT_EQ(*back, text);
  }
  EXPECT_FALSE(base64Decode("abc").has_value());
  EXPECT_FALSE(base64Decode("ab=c").has_value());
  EXPECT_FALSE(base64Decode("a===").has_value());
  EXPECT_FALSE(base64Decode("ab!d").has_value());
  EXPECT_EQ(base64UrlEncode("\xfb\xff"), "-_8");
}

// --- the credentials file ---

std::string tokenLine(const std::string& name, const std::string& role, const std::string& token) {
  return "token " + name + " " + role + " " + formatTokenVerifier(token) + "\n";
}

TEST(AuthCredentialsTest, ParsesUsersTokensCommentsAndBlankLines) {
  std::string text = "# who may use the API\n\n  user alice submit " + std::string(kHorse) +
                     "\r\n" + tokenLine("ci", "read", "t0k3n") + "   # indented comment\n";
  auto parsed = parseCredentials(text, "creds");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].kind, Credential::Kind::kUser);
  EXPECT_EQ((*parsed)[0].name, "alice");
  EXPECT_EQ((*parsed)[0].role, Role::kSubmit);
  EXPECT_EQ((*parsed)[1].kind, Credential::Kind::kToken);
  EXPECT_EQ((*parsed)[1].role, Role::kRead);
  EXPECT_EQ((*parsed)[1].tokenDigest, sha256("t0k3n"));
}

struct BadLine {
  std::string text;
  std::string problem;
};

TEST(AuthCredentialsTest, EveryErrorNamesTheFileTheLineAndTheExpectedForm) {
  const std::string good = "user ok read " + std::string(kHorse) + "\n";
  const std::vector<BadLine> cases = {
      {"group alice read x", "'group' is not an entry kind"},
      {"user alice read", "3 fields, not 4"},
      {"user alice read " + std::string(kHorse) + " extra", "5 fields, not 4"},
      {"user al/ice read " + std::string(kHorse), "name 'al/ice' is not"},
      {"user .. read " + std::string(kHorse), "name '..' is not"},
      {"user alice root " + std::string(kHorse), "role 'root' is not read, submit or admin"},
      {"user alice read sha256$00", "user alice: not a password verifier"},
      {"token ci read " + std::string(kHorse), "token ci: not a token verifier"},
      {"token ok admin " + formatTokenVerifier("x"), "name 'ok' is given twice (first on line 1)"},
  };
  for (const auto& bad : cases) {
    auto parsed = parseCredentials(good + bad.text + "\n", "/etc/tailor/creds");
    ASSERT_FALSE(parsed.ok()) << bad.text;
    EXPECT_THAT(parsed.error().message, HasSubstr("/etc/tailor/creds:2: " + bad.problem))
        << bad.text;
    EXPECT_THAT(parsed.error().message, HasSubstr("(expected 'user <name> <role> pbkdf2-sha256$"))
        << bad.text;
  }
}

TEST(AuthCredentialsTest, RefusesAFileOthersMayReadOrWrite) {
  test::TempDir dir;
  std::string path = dir.path() / "creds";
  std::ofstream(path) << tokenLine("ci", "read", "t");
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    ASSERT_EQ(::chmod(path.c_str(), mode), 0);
    auto loaded = loadCredentials(path);
    ASSERT_FALSE(loaded.ok()) << mode;
    EXPECT_THAT(loaded.error().message, HasSubstr("credentials file '" + path + "' has mode"));
    EXPECT_THAT(loaded.error().message, HasSubstr("chmod 600"));
  }
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto loaded = loadCredentials(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded->size(), 1u);
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(loadCredentials(path).ok());
}

TEST(AuthCredentialsTest, RefusesAFileWithoutEntries) {
  test::TempDir dir;
  std::string path = dir.path() / "creds";
  std::ofstream(path) << "# nobody yet\n\n";
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  auto loaded = loadCredentials(path);
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.error().message, HasSubstr("credentials file '" + path + "' has no user or token"));
}

TEST(AuthCredentialsTest, RefusesAFolderAndAMissingFile) {
  test::TempDir dir;
  ::chmod(dir.path().c_str(), 0700);
  auto folder = loadCredentials(dir.path().string());
  ASSERT_FALSE(folder.ok());
  EXPECT_THAT(folder.error().message, HasSubstr("is not a regular file"));
  auto missing = loadCredentials((dir.path() / "nothing").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.error().message, HasSubstr("nothing': cannot read it"));
}

// --- the Authorization header ---

TEST(AuthHeaderTest, ParsesBasicBearerAndDcosForms) {
  auto basic = parseAuthorization("Basic " + base64Encode("alice:pa:ss"));
  ASSERT_TRUE(basic.ok());
  EXPECT_EQ(basic->kind, Presented::Kind::kBasic);
  EXPECT_EQ(basic->user, "alice");
  EXPECT_EQ(basic->secret, "pa:ss");
  auto lower = parseAuthorization("basic " + base64Encode("bob:x"));
  ASSERT_TRUE(lower.ok());
  EXPECT_EQ(lower->user, "bob");
  auto bearer = parseAuthorization("Bearer abc.def");
  ASSERT_TRUE(bearer.ok());
  EXPECT_EQ(bearer->kind, Presented::Kind::kToken);
  EXPECT_EQ(bearer->secret, "abc.def");
  auto dcos = parseAuthorization("token=abc.def");
  ASSERT_TRUE(dcos.ok());
  EXPECT_EQ(dcos->kind, Presented::Kind::kToken);
  EXPECT_EQ(dcos->secret, "abc.def");
  auto none = parseAuthorization("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->kind, Presented::Kind::kNone);
}

TEST(AuthHeaderTest, RefusesOtherFormsWithoutRepeatingTheSecret) {
  for (const std::string& bad :
       std::vector<std::string>{"Basic", "Basic !!!!", "Basic " + base64Encode("no-colon-secret"),
                                "Bearer ", "token=", "Digest secret-value", "secret-value"}) {
    auto parsed = parseAuthorization(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.error().message, ::testing::Not(HasSubstr("secret")));
  }
}

// --- the authenticator ---

class AuthenticatorTest : public ::testing::Test {
 protected:
  AuthenticatorTest() {
    auto parsed = parseCredentials("user alice submit " + std::string(kHorse) + "\n" +
                                       tokenLine("ci", "read", "ci-token") +
                                       tokenLine("ops", "admin", "ops-token"),
                                   "creds");
    if (!parsed.ok()) std::abort();
    credentials = std::move(*parsed);
  }
  std::vector<Credential> credentials;
};

TEST_F(AuthenticatorTest, KnowsUsersByPasswordAndTokensInEveryForm) {
  Authenticator authenticator(credentials);
  auto alice = authenticator.authenticate("Basic " + base64Encode("alice:correct horse"));
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->role, Role::kSubmit);
  auto ci = authenticator.authenticate("Bearer ci-token");
  ASSERT_TRUE(ci.has_value());
  EXPECT_EQ(ci->name, "ci");
  EXPECT_EQ(ci->role, Role::kRead);
  auto ops = authenticator.authenticate("token=ops-token");
  ASSERT_TRUE(ops.has_value());
  EXPECT_EQ(ops->role, Role::kAdmin);
}

TEST_F(AuthenticatorTest, RefusesWrongAndMissingCredentials) {
  Authenticator authenticator(credentials);
  EXPECT_FALSE(authenticator.authenticate(""));
  EXPECT_FALSE(authenticator.authenticate("Basic " + base64Encode("alice:wrong")));
  EXPECT_FALSE(authenticator.authenticate("Basic " + base64Encode("mallory:correct horse")));
  // A token's name is no user, and a user's password is no token.
  EXPECT_FALSE(authenticator.authenticate("Basic " + base64Encode("ci:ci-token")));
  EXPECT_FALSE(authenticator.authenticate("Bearer correct horse"));
  EXPECT_FALSE(authenticator.authenticate("Bearer ci-token2"));
  EXPECT_FALSE(authenticator.authenticate("Digest ci-token"));
}

TEST_F(AuthenticatorTest, CachesOnlySuccessfulVerificationsOfTheSamePassword) {
  Authenticator authenticator(credentials, 1);
  const std::string right = "Basic " + base64Encode("alice:correct horse");
  ASSERT_TRUE(authenticator.authenticate(right));
  ASSERT_TRUE(authenticator.authenticate(right));  // from the cache
  // The cache is keyed by the password too: a wrong one is still refused.
  EXPECT_FALSE(authenticator.authenticate("Basic " + base64Encode("alice:correct horsf")));
  EXPECT_TRUE(authenticator.authenticate(right));
}

// --- permissions ---

TEST(AuthPermissionsTest, ReadSeesEverythingAndChangesNothing) {
  EXPECT_TRUE(decide(Role::kRead, Action::kView).allowed);
  EXPECT_FALSE(decide(Role::kRead, Action::kView).ownOnly);
  EXPECT_TRUE(decide(Role::kRead, Action::kViewCluster).allowed);
  EXPECT_FALSE(decide(Role::kRead, Action::kSubmit).allowed);
  EXPECT_THAT(decide(Role::kRead, Action::kSubmit).needed, HasSubstr("submit"));
  EXPECT_FALSE(decide(Role::kRead, Action::kChange).allowed);
  EXPECT_THAT(decide(Role::kRead, Action::kChange).needed, HasSubstr("submit"));
}

TEST(AuthPermissionsTest, SubmitActsOnlyOnItsOwnAndSeesNoMetrics) {
  auto submit = decide(Role::kSubmit, Action::kSubmit);
  EXPECT_TRUE(submit.allowed && submit.ownOnly);  // into its own sessions
  auto view = decide(Role::kSubmit, Action::kView);
  EXPECT_TRUE(view.allowed && view.ownOnly);
  auto change = decide(Role::kSubmit, Action::kChange);
  EXPECT_TRUE(change.allowed && change.ownOnly);
  auto metrics = decide(Role::kSubmit, Action::kViewCluster);
  EXPECT_FALSE(metrics.allowed);
  EXPECT_THAT(metrics.needed, HasSubstr("read or admin"));
}

TEST(AuthPermissionsTest, AdminMayDoEverythingOnEveryJob) {
  for (Action action : {Action::kView, Action::kViewCluster, Action::kSubmit, Action::kChange}) {
    auto access = decide(Role::kAdmin, action);
    EXPECT_TRUE(access.allowed);
    EXPECT_FALSE(access.ownOnly);
  }
}

}  // namespace
}  // namespace tailor::auth
