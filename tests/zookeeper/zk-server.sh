#!/usr/bin/env bash
# A private ZooKeeper server for tests: a standalone server on a free loopback
# port, its data and log in DIR. Debian's zookeeperd service is not used (it
# cannot be started in a container); the server runs straight from its jars.
#
#   zk-server.sh start DIR [PORT]   starts it; prints the port when it answers
#   zk-server.sh stop DIR           stops it (SIGTERM, then SIGKILL)
#   zk-server.sh kill DIR           SIGKILLs it (a crash)
#   zk-server.sh restart DIR        stops it and starts it again on the same port
#                                   with the same data (sessions survive)
set -euo pipefail
command="${1:?usage: zk-server.sh start|stop|kill|restart DIR [PORT]}"
dir="${2:?usage: zk-server.sh start|stop|kill|restart DIR [PORT]}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

answers() {
  # "srvr" is one of the four-letter words a 3.8 server allows by default.
  local reply
  reply="$(timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1 && echo srvr >&3 && cat <&3" 2>/dev/null)" \
    || return 1
  [[ "$reply" == *Mode:* ]]
}

start() {
  local port="${1:-}"
  if [ -z "$port" ] && [ -f "$dir/port" ]; then port="$(cat "$dir/port")"; fi
  if [ -z "$port" ]; then port="$(free_port)"; fi
  mkdir -p "$dir/data"
  cat > "$dir/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
minSessionTimeout=1000
maxSessionTimeout=60000
CFG
  cat > "$dir/log4j.properties" <<'LOG'
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=${zookeeper.log.file}
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p %c{1}: %m%n
LOG
  local classpath="$dir"
  for jar in zookeeper zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2 netty-all metrics-core \
             snappy-java; do
    if [ -f "/usr/share/java/$jar.jar" ]; then classpath="$classpath:/usr/share/java/$jar.jar"; fi
  done
  if ! [ -f /usr/share/java/zookeeper.jar ]; then
    echo "zk-server.sh: /usr/share/java/zookeeper.jar is missing (Debian package zookeeper)" >&2
    exit 1
  fi
  setsid java -Xmx256m -Dzookeeper.log.file="$dir/zookeeper.log" \
    -Dlog4j.configuration="file:$dir/log4j.properties" \
    -cp "$classpath" org.apache.zookeeper.server.ZooKeeperServerMain "$dir/zoo.cfg" \
    > "$dir/console.log" 2>&1 < /dev/null &
  echo $! > "$dir/pid"
  echo "$port" > "$dir/port"
  for _ in $(seq 1 300); do
    if answers "$port"; then
      echo "$port"
      return 0
    fi
    if ! running "$(cat "$dir/pid")"; then
      echo "zk-server.sh: the server exited; its console says:" >&2
      tail -20 "$dir/console.log" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "zk-server.sh: no answer on 127.0.0.1:$port after 30 s" >&2
  exit 1
}

running() {
  # A killed server nobody has reaped yet is a zombie: it counts as gone.
  [ -r "/proc/$1/stat" ] && ! grep -q '^[0-9]* (.*) Z ' "/proc/$1/stat" 2>/dev/null
}

stop() {
  local signal="$1"
  [ -f "$dir/pid" ] || return 0
  local pid
  pid="$(cat "$dir/pid")"
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 1 100); do
    running "$pid" || break
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$dir/pid"
}

case "$command" in
  start) start "${3:-}" ;;
  stop) stop TERM ;;
  kill) stop KILL ;;
  restart) stop TERM; start ;;
  *) echo "zk-server.sh: unknown command '$command'" >&2; exit 2 ;;
esac
