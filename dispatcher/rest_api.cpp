#include "dispatcher/rest_api.hpp"

#include <google/protobuf/util/json_util.h>

#include <charconv>

#include "common/file_chunk.hpp"
#include "common/http/json_api.hpp"
#include "common/json.hpp"
#include "common/metrics.hpp"
#include "common/secret.hpp"
#include "webui/web_ui.hpp"

namespace tailor::dispatcher {

namespace {

namespace pbutil = google::protobuf::util;
using http::apiError;
using http::decode;
using http::errorResponse;
using http::intParameter;
using http::json;
using http::logChunk;
using http::parseLogWindow;
using http::parseQuery;
using http::toLogChunk;

// "/v1/jobs/ID/rest" -> {"ID", "rest"}; the id must be non-empty.
bool splitJobPath(const std::string& path, std::string& id, std::string& rest) {
  const std::string prefix = "/v1/jobs/";
  if (path.rfind(prefix, 0) != 0) return false;
  std::string tail = path.substr(prefix.size());
  auto slash = tail.find('/');
  id = decode(tail.substr(0, slash));
  rest = slash == std::string::npos ? "" : tail.substr(slash + 1);
  return !id.empty();
}

}  // namespace

std::string scrapeTargetsJson(const std::vector<Dispatcher::ScrapeTarget>& targets) {
  auto quote = [](const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
      if (c == '"' || c == '\\') {
        out += '\\';
        out += static_cast<char>(c);
      } else if (c < 0x20) {
        out += fmt::format("\\u{:04x}", c);
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  };
  std::string out = "[";
  for (size_t i = 0; i < targets.size(); ++i) {
    out += i == 0 ? "\n" : ",\n";
    out += "  {\"targets\": [" + quote(targets[i].address) + "], \"labels\": {";
    bool first = true;
    for (const auto& [name, value] : targets[i].labels) {
      out += (first ? "" : ", ") + quote(name) + ": " + quote(value);
      first = false;
    }
    out += "}}";
  }
  return out + (targets.empty() ? "]\n" : "\n]\n");
}

std::variant<Caller, http::Response> authorize(auth::Authenticator* authenticator,
                                               const http::Request& request, auth::Action action) {
  if (authenticator == nullptr) return Caller{};
  std::string header = request.header("authorization");
  auto identity = authenticator->authenticate(header);
  if (!identity) {
    http::Response response = apiError(
        401, "UNAUTHENTICATED",
        header.empty()
            ? "this Dispatcher requires credentials (Authorization: Basic with a user and "
              "password, Bearer <token> or token=<token>; the tailor CLI: set TAILOR_USER with "
              "TAILOR_PASSWORD_FILE, or TAILOR_TOKEN_FILE)"
            : "the credentials are not valid (expected Authorization: Basic with a known user "
              "and its password, Bearer <token> or token=<token> with a known token)");
    response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"tailor\"");
    return response;
  }
  auth::Access access = auth::decide(identity->role, action);
  if (!access.allowed) {
    return apiError(
        403, "FORBIDDEN",
        fmt::format("{} (role {}) may not {} {}: that needs {}", identity->name,
                    auth::toString(identity->role), request.method, request.path, access.needed));
  }
  return Caller{identity->name, access.ownOnly};
}

void addRestApi(http::Server& server, Dispatcher& dispatcher, const RestApiConfig& config) {
  server.setBodyLimit(config.maxUploadBytes, [](std::uint64_t limit) {
    return apiError(413, "PAYLOAD_TOO_LARGE",
                    fmt::format("request body larger than the limit of {} bytes "
                                "(--max-upload-size)",
                                limit));
  });

  auto notFound = [](const http::Request& request) {
    return apiError(404, "NOT_FOUND", "no route for " + request.method + " " + request.path);
  };
  server.route("GET", "/health", [notFound](const http::Request& request, http::Responder respond) {
    if (request.path != "/health") return respond(notFound(request));
    http::Response response;
    response.contentType = "application/json";
    response.body = "{\"status\": \"ok\"}\n";
    respond(std::move(response));
  });
  // A standby's answer to anything but /health: the way to the leader.
  auto standby = [config](const http::Request& request) -> std::optional<http::Response> {
    if (!config.standbyLeader) return std::nullopt;
    std::optional<std::string> leader = config.standbyLeader();
    if (!leader) return std::nullopt;
    if (leader->empty() || request.path == "/ready") {
      http::Response response = apiError(
          503, "UNAVAILABLE",
          leader->empty() ? std::string("this Dispatcher is a standby and no leader is known yet; "
                                        "retry in a few seconds")
                          : "this Dispatcher is a standby; the leader is at " + *leader);
      return response;
    }
    // As a non-leading Mesos master does: the same request, at the leader.
    http::Response response =
        apiError(307, "NOT_LEADER", "this Dispatcher is a standby; the leader is at " + *leader);
    response.headers.emplace_back(
        "Location", *leader + request.path + (request.query.empty() ? "" : "?" + request.query));
    return response;
  };
  // Every /v1 route but the artifacts: the caller's credentials for `action`
  // (a standby checks them before it redirects), then the handler as `caller`.
  auth::Authenticator* authenticator = config.authenticator;
  using GuardedHandler =
      std::function<void(const http::Request&, http::Responder, const Caller& caller)>;
  auto guarded = [authenticator, standby](auth::Action action, GuardedHandler handler) {
    return [authenticator, standby, action, handler = std::move(handler)](
               const http::Request& request, http::Responder respond) {
      auto checked = authorize(authenticator, request, action);
      if (auto* refused = std::get_if<http::Response>(&checked)) {
        return respond(std::move(*refused));
      }
      if (auto answer = standby(request)) return respond(std::move(*answer));
      handler(request, std::move(respond), std::get<Caller>(checked));
    };
  };
  server.route(
      "GET", "/ready",
      [&dispatcher, notFound, standby](const http::Request& request, http::Responder respond) {
        if (request.path != "/ready") return respond(notFound(request));
        if (auto answer = standby(request)) return respond(std::move(*answer));
        http::Response response;
        response.contentType = "application/json";
        response.status = dispatcher.ready() ? 200 : 503;
        if (dispatcher.ready()) {
          response.body = "{\"status\": \"ready\"}\n";
        } else if (!dispatcher.storeError().empty()) {
          response.body = "{\"status\": \"the state store cannot be written\"}\n";
        } else {
          response.body = "{\"status\": \"recovering job records\"}\n";
        }
        respond(std::move(response));
      });

  server.route(
      "POST", "/v1/jobs/",
      guarded(auth::Action::kChange, [&dispatcher](const http::Request& request,
                                                   http::Responder respond, const Caller& caller) {
        std::string id, rest;
        if (!splitJobPath(request.path, id, rest) || rest != "cancel") {
          return respond(apiError(404, "NOT_FOUND", "no route for POST " + request.path));
        }
        Status visible = dispatcher.checkJobOwner(id, caller.onlyOwner());
        if (!visible.ok()) return respond(errorResponse(visible.error()));
        auto canceled = dispatcher.cancel(id);
        respond(canceled.ok() ? json(202, *canceled) : errorResponse(canceled.error()));
      }));
  server.route("POST", "/v1/jobs",
               guarded(auth::Action::kSubmit, [&dispatcher, config](const http::Request& request,
                                                                    http::Responder respond,
                                                                    const Caller& caller) {
                 if (request.path != "/v1/jobs") {
                   return respond(apiError(404, "NOT_FOUND", "no route for POST " + request.path));
                 }
                 v1::SubmitJobRequest submit;
                 pbutil::JsonParseOptions options;
                 auto parsed = pbutil::JsonStringToMessage(request.body, &submit, options);
                 if (!parsed.ok()) {
                   respond(apiError(400, "INVALID_ARGUMENT",
                                    "request body: not a job submission (expected JSON with spec, "
                                    "spec_name, files, priority): " +
                                        std::string(parsed.message())));
                   return;
                 }
                 Status room = dispatcher.checkQueueLimit(submit, caller.name);
                 if (!room.ok())
                   return respond(apiError(429, "RESOURCE_EXHAUSTED", room.error().message));
                 auto submitted = dispatcher.submit(submit, Submitter{caller.name, caller.ownOnly});
                 if (!submitted.ok()) return respond(errorResponse(submitted.error()));
                 http::Response created = json(201, *submitted);
                 // Where the job is, as the user reaches this API (through a proxy that
                 // strips the base path, the base path is part of it).
                 created.headers.emplace_back(
                     "Location", config.externalBasePath + "/v1/jobs/" + submitted->id());
                 respond(std::move(created));
               }));

  auto getJobs = guarded(
      auth::Action::kView, [&dispatcher, config](const http::Request& request,
                                                 http::Responder respond, const Caller& caller) {
        auto query = parseQuery(request.query);
        if (request.path == "/v1/jobs" || request.path == "/v1/jobs/") {
          std::optional<v1::JobState> state;
          if (auto it = query.find("state"); it != query.end() && !it->second.empty()) {
            v1::JobState parsed;
            if (!v1::JobState_Parse(it->second, &parsed) || parsed == v1::JOB_STATE_UNSPECIFIED) {
              respond(apiError(400, "INVALID_ARGUMENT",
                               "query parameter 'state': '" + it->second +
                                   "' is not a job state (expected QUEUED, LAUNCHING, RUNNING, "
                                   "FINISHED, FAILED or CANCELED)"));
              return;
            }
            state = parsed;
          }
          auto offset = intParameter(query, "offset", 0);
          auto limit = intParameter(query, "limit", 100);
          if (!offset.ok() || !limit.ok()) {
            respond(errorResponse(!offset.ok() ? offset.error() : limit.error()));
            return;
          }
          int cappedLimit = static_cast<int>(std::min<std::int64_t>(*limit, config.maxListLimit));
          int cappedOffset = static_cast<int>(std::min<std::int64_t>(*offset, 1 << 30));
          respond(json(200, dispatcher.list(state, cappedOffset, cappedLimit, caller.onlyOwner())));
          return;
        }
        std::string id, rest;
        if (!splitJobPath(request.path, id, rest)) {
          respond(apiError(404, "NOT_FOUND", "no route for GET " + request.path));
          return;
        }
        Status visible = dispatcher.checkJobOwner(id, caller.onlyOwner());
        if (!visible.ok()) return respond(errorResponse(visible.error()));
        if (rest.empty()) {
          auto job = dispatcher.job(id);
          respond(job.ok() ? json(200, *job) : errorResponse(job.error()));
        } else if (rest == "report") {
          auto report = dispatcher.report(id);
          respond(report.ok() ? json(200, *report) : errorResponse(report.error()));
        } else if (rest == "log") {
          if (auto task = query.find("task"); task != query.end()) {
            auto attempt = intParameter(query, "attempt", 0);
            if (!attempt.ok()) return respond(errorResponse(attempt.error()));
            int number = static_cast<int>(std::min<std::int64_t>(*attempt, 1 << 20));
            std::string label = "task " + task->second;
            if (!dispatcher.taskLogsAreLocal()) {
              // Read where the task ran, through its JobManager and TaskManager.
              auto window = parseLogWindow(query, config.maxLogChunk);
              if (!window.ok()) return respond(errorResponse(window.error()));
              dispatcher.readRemoteTaskLog(
                  id, task->second, number, window->offset, window->length, window->tail,
                  [respond, label](Result<FileChunk> read) {
                    respond(read.ok() ? json(200, toLogChunk(std::move(*read), label))
                                      : errorResponse(read.error()));
                  });
              return;
            }
            auto path = dispatcher.taskLog(id, task->second, number);
            respond(path.ok() ? logChunk(*path, label, query, config.maxLogChunk)
                              : errorResponse(path.error()));
            return;
          }
          auto path = dispatcher.jobManagerLog(id);
          respond(path.ok() ? logChunk(*path, "jobmanager", query, config.maxLogChunk)
                            : errorResponse(path.error()));
        } else {
          respond(apiError(404, "NOT_FOUND", "no route for GET " + request.path));
        }
      });
  server.route(
      "GET", "/v1/jobs",
      [&dispatcher, standby, getJobs](const http::Request& request, http::Responder respond) {
        std::string id, rest;
        if (splitJobPath(request.path, id, rest) && rest.rfind("files/", 0) == 0) {
          // For the Mesos fetcher, which sends no credentials: the path's
          // token is the credential (docs/security.md).
          if (auto answer = standby(request)) return respond(std::move(*answer));
          if (!secret::equal(request.path, jobFilesPath(id, dispatcher.jobSecret(id)))) {
            return respond(apiError(404, "NOT_FOUND", "no job files at " + request.path));
          }
          auto archive = dispatcher.filesArchive(id);
          if (!archive.ok()) return respond(errorResponse(archive.error()));
          http::Response response;
          response.contentType = "application/x-tar";
          response.filePath = *archive;  // 404 until the mesos launcher packed it
          return respond(std::move(response));
        }
        getJobs(request, std::move(respond));
      });

  // Sessions: /v1/sessions and /v1/sessions/{name}.
  auto sessionName = [](const std::string& path) -> std::optional<std::string> {
    const std::string prefix = "/v1/sessions/";
    if (path.rfind(prefix, 0) != 0) return std::nullopt;
    std::string name = decode(path.substr(prefix.size()));
    if (name.empty() || name.find('/') != std::string::npos) return std::nullopt;
    return name;
  };
  server.route(
      "POST", "/v1/sessions",
      guarded(auth::Action::kSubmit, [&dispatcher, config](const http::Request& request,
                                                           http::Responder respond,
                                                           const Caller& caller) {
        if (request.path != "/v1/sessions") {
          return respond(apiError(404, "NOT_FOUND", "no route for POST " + request.path));
        }
        v1::StartSessionRequest start;
        auto parsed = pbutil::JsonStringToMessage(request.body, &start, pbutil::JsonParseOptions());
        if (!parsed.ok()) {
          return respond(apiError(400, "INVALID_ARGUMENT",
                                  "request body: not a session start (expected JSON with name and "
                                  "options): " +
                                      std::string(parsed.message())));
        }
        auto started = dispatcher.startSession(start, caller.name);
        if (!started.ok()) return respond(errorResponse(started.error()));
        http::Response created = json(201, *started);
        created.headers.emplace_back("Location",
                                     config.externalBasePath + "/v1/sessions/" + started->name());
        respond(std::move(created));
      }));
  server.route("GET", "/v1/sessions",
               guarded(auth::Action::kView, [&dispatcher, sessionName](const http::Request& request,
                                                                       http::Responder respond,
                                                                       const Caller& caller) {
                 if (request.path == "/v1/sessions" || request.path == "/v1/sessions/") {
                   return respond(json(200, dispatcher.sessions(caller.onlyOwner())));
                 }
                 auto name = sessionName(request.path);
                 if (!name)
                   return respond(apiError(404, "NOT_FOUND", "no route for GET " + request.path));
                 Status visible = dispatcher.checkSessionOwner(*name, caller.onlyOwner());
                 if (!visible.ok()) return respond(errorResponse(visible.error()));
                 auto session = dispatcher.session(*name);
                 respond(session.ok() ? json(200, *session) : errorResponse(session.error()));
               }));
  server.route(
      "DELETE", "/v1/sessions/",
      guarded(auth::Action::kChange,
              [&dispatcher, sessionName](const http::Request& request, http::Responder respond,
                                         const Caller& caller) {
                auto name = sessionName(request.path);
                if (!name)
                  return respond(apiError(404, "NOT_FOUND", "no route for DELETE " + request.path));
                Status visible = dispatcher.checkSessionOwner(*name, caller.onlyOwner());
                if (!visible.ok()) return respond(errorResponse(visible.error()));
                auto stopped = dispatcher.stopSession(*name);
                respond(stopped.ok() ? json(202, *stopped) : errorResponse(stopped.error()));
              }));

  server.route("GET", "/v1/overview",
               guarded(auth::Action::kView,
                       [&dispatcher, notFound](const http::Request& request,
                                               http::Responder respond, const Caller& caller) {
                         if (request.path != "/v1/overview") return respond(notFound(request));
                         respond(json(200, dispatcher.overview(caller.onlyOwner())));
                       }));

  // Prometheus: this process' metrics, and where to find every process'
  // (http_sd_configs' format: [{"targets": ["host:port"], "labels": {...}}]).
  server.route(
      "GET", "/metrics", [authenticator](const http::Request& request, http::Responder respond) {
        if (request.path != "/metrics") {
          return respond(http::Response::text(404, "no route for GET " + request.path + "\n"));
        }
        auto checked = authorize(authenticator, request, auth::Action::kViewCluster);
        if (auto* refused = std::get_if<http::Response>(&checked))
          return respond(std::move(*refused));
        http::Response response;
        response.contentType = "text/plain; version=0.0.4; charset=utf-8";
        response.body = metrics::defaultRegistry().exposition();
        respond(std::move(response));
      });
  server.route("GET", "/v1/metrics/targets",
               guarded(auth::Action::kViewCluster,
                       [&dispatcher, notFound](const http::Request& request,
                                               http::Responder respond, const Caller&) {
                         if (request.path != "/v1/metrics/targets") {
                           return respond(notFound(request));
                         }
                         http::Response response;
                         response.contentType = "application/json";
                         response.body = scrapeTargetsJson(dispatcher.scrapeTargets());
                         respond(std::move(response));
                       }));

  // The binaries the Mesos fetcher downloads onto agents: open, as the
  // fetcher sends no credentials; they are the public release's binaries.
  server.route("GET", "/v1/artifacts/",
               [config, notFound](const http::Request& request, http::Responder respond) {
                 std::string name = request.path.substr(std::string("/v1/artifacts/").size());
                 if (config.artifactDir.empty() ||
                     (name != "tailor-jobmanager" && name != "tailor-taskmanager")) {
                   return respond(notFound(request));
                 }
                 http::Response response;
                 response.contentType = "application/octet-stream";
                 response.filePath = config.artifactDir + "/" + name;
                 respond(std::move(response));
               });

  // The UI's files are open (they hold no data); the API calls it makes
  // carry the browser's credentials, asked for by the first 401.
  webui::WebUiConfig ui{.externalBasePath = config.externalBasePath, .title = "Tailor Dispatcher"};
  webui::addWebUi(server, ui);

  // Anything else: a JSON 404 rather than the server's plain one; / is the UI.
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
    server.route(method, "/", [ui](const http::Request& request, http::Responder respond) {
      if (request.method == "GET" && request.path == "/") return respond(webui::redirectToUi(ui));
      respond(apiError(404, "NOT_FOUND", "no route for " + request.method + " " + request.path));
    });
  }
}

}  // namespace tailor::dispatcher
