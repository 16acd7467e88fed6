// Partition transfer throughput between two TaskManagers versus a plain local
// file copy of the same bytes. See bench/README.md.
//
// A 64 MiB partition file lies under <workDir>/partitions/ of an in-process
// TaskManager component, served by its real partition route
// (GET /partitions/<path>) on 127.0.0.1. The consumer side is exactly what a
// consumer TaskManager's TaskRunner does: tailor::http::performBlocking with
// `outputFile` set.
//
//   BM_LocalCopy       baseline alone: std::filesystem::copy_file of the file
//   BM_PartitionFetch  each iteration makes one baseline copy, then one fetch;
//                      iteration time and bytes_per_second are the fetch's.
//   BM_PartitionFetchVsNginx  each iteration fetches the same file from nginx
//                      (sendfile on, started for the run if /usr/sbin/nginx
//                      exists; skipped otherwise), then from the TaskManager.
//   BM_PartitionFetchTls  each iteration fetches the file from the plain
//                      route, then over HTTPS from a TLS server of the same
//                      folder: ratio_tls_vs_plain.
// Counters (medians over iterations, MiB/s):
//   copy_MiBps, fetch_MiBps, ratio = fetch_MiBps / copy_MiBps (goal: close to 1)
//   nginx_MiBps, ratio_vs_nginx = fetch_MiBps / nginx_MiBps (goal: >= 0.8)
// The destination files are removed before every timed operation (untimed),
// so neither side pays for truncating the previous copy. Both write to the
// page cache only (no fsync), as the TaskManager does.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/asio_event_loop.hpp"
#include "common/http/partition_route.hpp"
#include "common/http/server.hpp"
#include "common/http/tls.hpp"
#include "common/subprocess.hpp"

#include "bench/bench_support.hpp"

namespace tailor::bench {
namespace {

namespace fs = std::filesystem;

constexpr std::int64_t kPartitionBytes = 64ll << 20;
const std::string kPartitionPath = "bench-job/producer-0-a1/consumer-0";

// Text lines of pseudo-random words, like a task's output.
void writePartition(const std::string& path, std::int64_t bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) {
    std::perror(path.c_str());
    std::abort();
  }
  std::uint64_t state = 88172645463325252ull;
  std::string line;
  std::int64_t written = 0;
  while (written < bytes) {
    line.clear();
    for (int w = 0; w < 8; ++w) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      int length = 3 + static_cast<int>(state % 7);
      for (int c = 0; c < length; ++c) line += static_cast<char>('a' + (state >> (8 + 5 * c)) % 26);
      line += w == 0 ? '\t' : ' ';
    }
    line.back() = '\n';
    auto n = std::min<std::int64_t>(static_cast<std::int64_t>(line.size()), bytes - written);
    std::fwrite(line.data(), 1, static_cast<size_t>(n), file);
    written += n;
  }
  std::fclose(file);
}

}  // namespace

// The producer TaskManager and its partition, shared by the benchmarks.
struct Fixture {
  TempDir producerDir{"tailor-bench-producer"};
  TempDir consumerDir{"tailor-bench-consumer"};
  std::string source = producerDir.path() + "/partitions/" + kPartitionPath;
  std::unique_ptr<InProcessTaskManager> producer;
  std::string url;

  Fixture() {
    writePartition(source, kPartitionBytes);
    producer = std::make_unique<InProcessTaskManager>("tm-producer", producerDir.path());
    url = "http://" + producer->address() + "/partitions/" + kPartitionPath;
  }
};

// Created on first use, destroyed by main() before static destruction.
std::unique_ptr<Fixture> gFixture;

Fixture& fixture() {
  if (!gFixture) gFixture = std::make_unique<Fixture>();
  return *gFixture;
}

namespace {

double copySeconds(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::remove(to, ec);
  auto start = Clock::now();
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  double seconds = secondsSince(start);
  if (ec) {
    std::fprintf(stderr, "copy_file: %s\n", ec.message().c_str());
    std::abort();
  }
  return seconds;
}

// One fetch as a consumer TaskRunner makes it; 0 on failure (`error` set).
double fetchSeconds(const std::string& url, const std::string& to, std::string* error) {
  std::error_code ec;
  fs::remove(to, ec);
  http::ClientRequest request;
  request.url = url;
  request.outputFile = to;
  request.timeout = Duration(600000);
  auto start = Clock::now();
  auto response = http::performBlocking(request);
  double seconds = secondsSince(start);
  if (!response.ok()) {
    *error = response.error().message;
    return 0;
  }
  if (response->status != 200 || response->bytesReceived != kPartitionBytes) {
    *error = fmt::format("GET {}: HTTP {}, {} bytes", url, response->status,
                         response->bytesReceived);
    return 0;
  }
  return seconds;
}

double mibps(double seconds) { return seconds > 0 ? kPartitionBytes / seconds / (1 << 20) : 0; }

void BM_LocalCopy(benchmark::State& state) {
  Fixture& f = fixture();
  std::string target = f.consumerDir.path() + "/copy";
  copySeconds(f.source, target);  // warm the page cache
  std::vector<double> samples;
  for (auto _ : state) {
    double seconds = copySeconds(f.source, target);
    state.SetIterationTime(seconds);
    samples.push_back(mibps(seconds));
  }
  state.SetBytesProcessed(state.iterations() * kPartitionBytes);
  state.counters["copy_MiBps"] = median(samples);
}
BENCHMARK(BM_LocalCopy)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(30);

void BM_PartitionFetch(benchmark::State& state) {
  Fixture& f = fixture();
  std::string copyTarget = f.consumerDir.path() + "/copy";
  std::string fetchTarget = f.consumerDir.path() + "/input-0";
  std::string error;
  copySeconds(f.source, copyTarget);
  if (fetchSeconds(f.url, fetchTarget, &error) == 0) {  // warm up, check the route
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<double> copy;
  std::vector<double> fetch;
  for (auto _ : state) {
    copy.push_back(mibps(copySeconds(f.source, copyTarget)));
    double seconds = fetchSeconds(f.url, fetchTarget, &error);
    if (seconds == 0) {
      state.SkipWithError(error.c_str());
      break;
    }
    state.SetIterationTime(seconds);
    fetch.push_back(mibps(seconds));
  }
  state.SetBytesProcessed(state.iterations() * kPartitionBytes);
  double copyMedian = median(copy);
  double fetchMedian = median(fetch);
  state.counters["copy_MiBps"] = copyMedian;
  state.counters["fetch_MiBps"] = fetchMedian;
  state.counters["ratio"] = copyMedian > 0 ? fetchMedian / copyMedian : 0;
}
BENCHMARK(BM_PartitionFetch)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(30);

// nginx serving the producer's partitions folder on loopback (sendfile on),
// for as long as the benchmark runs. Empty url when nginx is not installed.
struct Nginx {
  TempDir prefix{"tailor-bench-nginx"};
  pid_t pid = -1;
  std::string url;

  explicit Nginx(const std::string& root) {
    const char* binary = "/usr/sbin/nginx";
    if (::access(binary, X_OK) != 0) return;
    int port = freePort();
    std::string conf = prefix.path() + "/nginx.conf";
    std::FILE* file = std::fopen(conf.c_str(), "w");
    // Started as root, nginx's workers would run as another user that cannot
    // read the benchmark's private folders.
    if (::getuid() == 0) std::fprintf(file, "user root;\n");
    std::fprintf(file,
                 "worker_processes 1;\nerror_log %s/error.log;\npid %s/nginx.pid;\n"
                 "events { worker_connections 64; }\n"
                 "http { access_log off; sendfile on; tcp_nopush on;\n"
                 "  client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
                 "  uwsgi_temp_path %s; scgi_temp_path %s;\n"
                 "  server { listen 127.0.0.1:%d; root %s; } }\n",
                 prefix.path().c_str(), prefix.path().c_str(), prefix.path().c_str(),
                 prefix.path().c_str(), prefix.path().c_str(), prefix.path().c_str(),
                 prefix.path().c_str(), port, root.c_str());
    std::fclose(file);
    SpawnOptions options;
    options.argv = {binary, "-p", prefix.path(), "-c", conf, "-g", "daemon off;"};
    options.dieWithParent = true;
    auto child = spawnProcess(options);
    if (!child.ok()) return;
    pid = child->pid;
    url = fmt::format("http://127.0.0.1:{}/{}", port, kPartitionPath);
    for (int i = 0; i < 100; ++i) {  // until it answers at all
      http::ClientRequest probe;
      probe.url = fmt::format("http://127.0.0.1:{}/", port);
      probe.timeout = Duration(2000);
      if (http::performBlocking(probe).ok()) return;
      ::usleep(20000);
    }
    url.clear();
  }

  ~Nginx() {
    if (pid > 0) {
      ::kill(-pid, SIGTERM);  // master and workers: their own process group
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
  }

  static int freePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    ::close(fd);
    return ntohs(address.sin_port);
  }
};

// The TaskManager's partition route against nginx serving the same file to
// the same client, alternating, same run.
void BM_PartitionFetchVsNginx(benchmark::State& state) {
  Fixture& f = fixture();
  Nginx nginx(f.producerDir.path() + "/partitions");
  if (nginx.url.empty()) {
    state.SkipWithError("nginx is not installed (apt-get install nginx) or did not start");
    return;
  }
  std::string target = f.consumerDir.path() + "/input-0";
  std::string error;
  if (fetchSeconds(nginx.url, target, &error) == 0 || fetchSeconds(f.url, target, &error) == 0) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<double> ours;
  std::vector<double> theirs;
  for (auto _ : state) {
    double nginxSeconds = fetchSeconds(nginx.url, target, &error);
    double seconds = fetchSeconds(f.url, target, &error);
    if (seconds == 0 || nginxSeconds == 0) {
      state.SkipWithError(error.c_str());
      break;
    }
    state.SetIterationTime(seconds);
    ours.push_back(mibps(seconds));
    theirs.push_back(mibps(nginxSeconds));
  }
  state.SetBytesProcessed(state.iterations() * kPartitionBytes);
  double oursMedian = median(ours);
  double nginxMedian = median(theirs);
  state.counters["fetch_MiBps"] = oursMedian;
  state.counters["nginx_MiBps"] = nginxMedian;
  state.counters["ratio_vs_nginx"] = nginxMedian > 0 ? oursMedian / nginxMedian : 0;
}
BENCHMARK(BM_PartitionFetchVsNginx)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(30);

// The producer's partitions folder served over HTTPS by a server of its own
// (docs/security.md "TLS"), with a certificate the openssl tool makes for
// the run; the client trusts its authority. Empty url without openssl.
struct TlsPartitionServer {
  TempDir pki{"tailor-bench-pki"};
  AsioEventLoop loop;
  std::unique_ptr<http::Server> server;
  std::thread thread;
  std::string url;

  explicit TlsPartitionServer(const std::string& root) {
    const std::string dir = pki.path();
    std::string command =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
        "-subj /CN=bench -addext subjectAltName=IP:127.0.0.1 -keyout " + dir + "/key.pem -out " +
        dir + "/cert.pem 2> /dev/null";
    if (std::system(command.c_str()) != 0) return;
    ::chmod((dir + "/key.pem").c_str(), 0600);
    http::TlsConfig tls;
    tls.certFile = dir + "/cert.pem";
    tls.keyFile = dir + "/key.pem";
    tls.caFile = dir + "/cert.pem";
    server = std::make_unique<http::Server>(loop, "127.0.0.1", 0);
    server->useTls(tls);
    http::servePartitions(*server, root, "");
    auto port = server->start();
    if (!port.ok()) return;
    http::TlsConfig client;
    client.caFile = tls.caFile;
    http::setProcessTls(client);
    thread = std::thread([this] { loop.run(); });
    url = fmt::format("https://127.0.0.1:{}/partitions/{}", *port, kPartitionPath);
  }

  ~TlsPartitionServer() {
    if (thread.joinable()) {
      loop.post([this] { server->stop(); });
      loop.stop();
      thread.join();
    }
    http::setProcessTls(http::TlsConfig{});
  }
};

// What TLS costs a partition fetch: the same file from the TaskManager's
// plain route and from a TLS server, alternating, same client, same run.
void BM_PartitionFetchTls(benchmark::State& state) {
  Fixture& f = fixture();
  TlsPartitionServer tls(f.producerDir.path() + "/partitions");
  if (tls.url.empty()) {
    state.SkipWithError("the openssl tool is not installed or the TLS server did not start");
    return;
  }
  std::string target = f.consumerDir.path() + "/input-0";
  std::string error;
  if (fetchSeconds(tls.url, target, &error) == 0 || fetchSeconds(f.url, target, &error) == 0) {
    state.SkipWithError(error.c_str());
    return;
  }
  std::vector<double> plain;
  std::vector<double> secure;
  for (auto _ : state) {
    double plainSeconds = fetchSeconds(f.url, target, &error);
    double seconds = fetchSeconds(tls.url, target, &error);
    if (seconds == 0 || plainSeconds == 0) {
      state.SkipWithError(error.c_str());
      break;
    }
    state.SetIterationTime(seconds);
    plain.push_back(mibps(plainSeconds));
    secure.push_back(mibps(seconds));
  }
  state.SetBytesProcessed(state.iterations() * kPartitionBytes);
  double plainMedian = median(plain);
  double tlsMedian = median(secure);
  state.counters["plain_MiBps"] = plainMedian;
  state.counters["tls_MiBps"] = tlsMedian;
  state.counters["ratio_tls_vs_plain"] = plainMedian > 0 ? tlsMedian / plainMedian : 0;
}
BENCHMARK(BM_PartitionFetchTls)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(30);

}  // namespace
}  // namespace tailor::bench

int main(int argc, char** argv) {
  int code = tailor::bench::runBenchmarks(argc, argv);
  tailor::bench::gFixture.reset();
  return code;
}
