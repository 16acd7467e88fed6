#include "dispatcher/rest_api.hpp"

#include "common/http/json_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace tailor::dispatcher {
namespace {

using http::parseQuery;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

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
