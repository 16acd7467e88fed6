#include "dispatcher/rest_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "common/auth/verifier.hpp"
#include "common/base64.hpp"
#include "common/http/json_api.hpp"

namespace tailor::dispatcher {
namespace {

using http::parseQuery;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

// --- authorize: the credentials and the permission of a request ---

auth::Authenticator makeAuthenticator() {
  auto parsed = auth::parseCredentials("token ci read " + auth::formatTokenVerifier("ci-token") +
                                           "\ntoken bob submit " +
                                           auth::formatTokenVerifier("bob-token") + "\n",
                                       "creds");
  if (!parsed.ok()) std::abort();
  return auth::Authenticator(std::move(*parsed));
}

http::Request requestWith(const std::string& method, const std::string& path,
                          const std::string& authorization) {
  http::Request request;
  request.method = method;
  request.path = path;
  if (!authorization.empty()) request.headers["authorization"] = authorization;
  return request;
}

TEST(RestApiTest, WithoutAnAuthenticatorEveryoneMayDoEverything) {
  auto checked = authorize(nullptr, requestWith("POST", "/v1/jobs", ""), auth::Action::kSubmit);
  ASSERT_TRUE(std::holds_alternative<Caller>(checked));
  EXPECT_EQ(std::get<Caller>(checked).name, "");
  EXPECT_FALSE(std::get<Caller>(checked).onlyOwner().has_value());
}

TEST(RestApiTest, NoOrBadCredentialsAre401WithTheBasicChallenge) {
  auto authenticator = makeAuthenticator();
  for (const std::string& header : {std::string(""), std::string("Bearer wrong"),
                                    "Basic " + base64Encode("ci:ci-token"), std::string("junk")}) {
    auto checked =
        authorize(&authenticator, requestWith("GET", "/v1/jobs", header), auth::Action::kView);
    ASSERT_TRUE(std::holds_alternative<http::Response>(checked)) << header;
    const auto& response = std::get<http::Response>(checked);
    EXPECT_EQ(response.status, 401);
    EXPECT_THAT(response.body, ::testing::HasSubstr("\"UNAUTHENTICATED\""));
    EXPECT_THAT(response.headers, ElementsAre(Pair("WWW-Authenticate", "Basic realm=\"tailor\"")));
    EXPECT_THAT(response.body, ::testing::Not(::testing::HasSubstr("ci-token")));
  }
}

TEST(RestApiTest, AKnownCallerWithoutThePermissionIs403NamingIt) {
  auto authenticator = makeAuthenticator();
  auto checked =
      authorize(&authenticator, requestWith("POST", "/v1/jobs/x/cancel", "Bearer ci-token"),
                auth::Action::kChange);
  ASSERT_TRUE(std::holds_alternative<http::Response>(checked));
  const auto& response = std::get<http::Response>(checked);
  EXPECT_EQ(response.status, 403);
  EXPECT_THAT(response.body, ::testing::HasSubstr("\"FORBIDDEN\""));
  EXPECT_THAT(response.body, ::testing::HasSubstr("ci (role read) may not POST /v1/jobs/x/cancel: "
                                                  "that needs role submit"));
}

TEST(RestApiTest, ASubmitCallerActsOnItsOwnOnly) {
  auto authenticator = makeAuthenticator();
  auto checked = authorize(&authenticator, requestWith("GET", "/v1/jobs", "token=bob-token"),
                           auth::Action::kView);
  ASSERT_TRUE(std::holds_alternative<Caller>(checked));
  EXPECT_EQ(std::get<Caller>(checked).onlyOwner(), std::optional<std::string>("bob"));
  auto reader = authorize(&authenticator, requestWith("GET", "/v1/jobs", "Bearer ci-token"),
                          auth::Action::kView);
  ASSERT_TRUE(std::holds_alternative<Caller>(reader));
  EXPECT_EQ(std::get<Caller>(reader).name, "ci");
  EXPECT_FALSE(std::get<Caller>(reader).onlyOwner().has_value());
}

TEST(RestApiTest, ParseQuerySplitsParameters) {
  EXPECT_THAT(parseQuery("state=QUEUED&offset=10&limit=5"),
              ElementsAre(Pair("limit", "5"), Pair("offset", "10"), Pair("state", "QUEUED")));
}

TEST(RestApiTest, ParseQueryOfNothingIsEmpty) {
  EXPECT_THAT(parseQuery(""), IsEmpty());
  EXPECT_THAT(parseQuery("&"), IsEmpty());
  EXPECT_THAT(parseQuery("&&&"), IsEmpty());
}

TEST(RestApiTest, ParseQueryTakesAParameterWithoutValueAsEmpty) {
  EXPECT_THAT(parseQuery("tail"), ElementsAre(Pair("tail", "")));
  EXPECT_THAT(parseQuery("tail="), ElementsAre(Pair("tail", "")));
  EXPECT_THAT(parseQuery("=5"), ElementsAre(Pair("", "5")));
}

TEST(RestApiTest, ParseQuerySkipsEmptyPairs) {
  EXPECT_THAT(parseQuery("&a=1&&b=2&"), ElementsAre(Pair("a", "1"), Pair("b", "2")));
}

TEST(RestApiTest, ParseQueryKeepsTheLastOfRepeatedParameters) {
  EXPECT_THAT(parseQuery("limit=1&limit=2"), ElementsAre(Pair("limit", "2")));
}

TEST(RestApiTest, ParseQuerySplitsAtTheFirstEquals) {
  EXPECT_THAT(parseQuery("a=b=c"), ElementsAre(Pair("a", "b=c")));
}

TEST(RestApiTest, ParseQueryDecodesPercentAndPlus) {
  EXPECT_THAT(parseQuery("q=a+b%20c&%73tate=%51UEUED"),
              ElementsAre(Pair("q", "a b c"), Pair("state", "QUEUED")));
  EXPECT_THAT(parseQuery("x=%2f%2F%26%3d"), ElementsAre(Pair("x", "//&=")));
  // An encoded '&' or '=' does not split.
  EXPECT_THAT(parseQuery("a%3Db=c%26d"), ElementsAre(Pair("a=b", "c&d")));
  EXPECT_THAT(parseQuery("z=%00"), ElementsAre(Pair("z", std::string(1, '\0'))));
}

TEST(RestApiTest, ParseQueryKeepsMalformedEscapesAsWritten) {
  EXPECT_THAT(parseQuery("a=%&b=%4&c=%zz&d=%4g&e=100%"),
              ElementsAre(Pair("a", "%"), Pair("b", "%4"), Pair("c", "%zz"), Pair("d", "%4g"),
                          Pair("e", "100%")));
}

TEST(RestApiTest, ScrapeTargetsAreInPrometheusHttpServiceDiscoveryFormat) {
  EXPECT_EQ(scrapeTargetsJson({}), "[]\n");
  EXPECT_EQ(scrapeTargetsJson({{"h:1", {{"role", "dispatcher"}}},
                               {"h:2", {{"role", "taskmanager"}, {"job_id", "a\"b\\c\n"}}}}),
            "[\n"
            "  {\"targets\": [\"h:1\"], \"labels\": {\"role\": \"dispatcher\"}},\n"
            "  {\"targets\": [\"h:2\"], \"labels\": {\"job_id\": \"a\\\"b\\\\c\\u000a\", "
            "\"role\": \"taskmanager\"}}\n"
            "]\n");
}

}  // namespace
}  // namespace tailor::dispatcher
