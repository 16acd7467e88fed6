// The web UI's files as built into the binary, and how they are served.

#include <gtest/gtest.h>

#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/client.hpp"
#include "common/http/server.hpp"
#include "webui/assets.hpp"
#include "webui/web_ui.hpp"

namespace tailor::webui {
namespace {

TEST(WebUiTest, EveryFileOfThePageIsBuiltIn) {
  std::vector<std::string> names;
  for (const Asset& asset : assets()) {
    names.emplace_back(asset.name);
    EXPECT_FALSE(asset.bytes.empty()) << asset.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"index.html", "app.js", "style.css"}));
}

TEST(WebUiTest, NamesTheTypeOfEachFile) {
  EXPECT_EQ(contentTypeOf("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(contentTypeOf("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(contentTypeOf("style.css"), "text/css; charset=utf-8");
  EXPECT_EQ(contentTypeOf("x.bin"), "application/octet-stream");
}

http::ClientResponse get(const std::string& url) {
  http::ClientRequest request;
  request.method = "GET";
  request.url = url;
  auto response = http::performBlocking(std::move(request));
  EXPECT_TRUE(response.ok()) << response.error().message;
  return response.ok() ? *response : http::ClientResponse{};
}

TEST(WebUiTest, ServesThePageWithItsTitleAndRedirectsUnderTheBasePath) {
  AsioEventLoop loop;
  http::Server server(loop, "127.0.0.1", 0);
  WebUiConfig config{.externalBasePath = "/service/tailor", .title = "Tailor Test"};
  addWebUi(server, config);
  auto port = server.start();
  ASSERT_TRUE(port.ok());
  std::thread thread([&] { loop.run(); });
  std::string base = "http://127.0.0.1:" + std::to_string(*port);

  auto page = get(base + "/ui/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<title>Tailor Test</title>"), std::string::npos);
  EXPECT_EQ(page.body.find("{{title}}"), std::string::npos);
  auto script = get(base + "/ui/app.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.headers["content-type"], "text/javascript; charset=utf-8");
  auto bare = get(base + "/ui");
  EXPECT_EQ(bare.status, 302);
  EXPECT_EQ(bare.headers["location"], "/service/tailor/ui/");
  EXPECT_EQ(redirectToUi(config).status, 302);
  EXPECT_EQ(get(base + "/ui/../../etc/passwd").status, 404);
  EXPECT_EQ(get(base + "/ui/nothing.js").status, 404);
  EXPECT_EQ(get(base + "/uix").status, 404);

  loop.post([&] { server.stop(); });
  loop.stop();
  thread.join();
}

}  // namespace
}  // namespace tailor::webui
