#!/usr/bin/env bash
# Single-node Apache Kafka (KRaft, combined broker+controller) on loopback, without Docker.
#
#   bash deploy/local/kafka.sh start    fetch jars once (Maven Central), format storage once,
#                                        start the broker in the background, wait until it serves
#   bash deploy/local/kafka.sh stop     SIGTERM, wait, then SIGKILL after a bound
#   bash deploy/local/kafka.sh status   exit 0 serving, 1 running but not serving, 3 not running
#   bash deploy/local/kafka.sh wait     wait (bounded) until the broker serves; does not start it
#
# `start` and `stop` are idempotent. The jars come from deploy/local/kafka/pom.xml through
# `mvn dependency:copy-dependencies` into a cache outside the repo; the first run downloads
# them, later runs only start the JVM.
#
# Environment (all optional):
#   KAFKA_VERSION          Kafka version (default 4.4.0; 4.x needs Java 17+)
#   KAFKA_LIBS_DIR         jar cache (default $HOME/.cache/portcullis/kafka-$KAFKA_VERSION/libs)
#   KAFKA_DATA_DIR         data, config and logs (default $HOME/.cache/portcullis/kafka-data)
#   KAFKA_PORT             PLAINTEXT listener on 127.0.0.1 (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1 (default 9093)
#   KAFKA_HEAP_OPTS        JVM heap (default "-Xms128m -Xmx512m")
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to serve (default 90)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#   JAVA_HOME              JDK to use (else `java` on PATH)
#   MAVEN_CMD              Maven to use (default mvn)
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
KAFKA_LIBS_DIR="${KAFKA_LIBS_DIR:-$HOME/.cache/portcullis/kafka-$KAFKA_VERSION/libs}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$HOME/.cache/portcullis/kafka-data}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
MAVEN_CMD="${MAVEN_CMD:-mvn}"
HOST=127.0.0.1

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/kafka/pom.xml"

CONFIG_DIR="$KAFKA_DATA_DIR/config"
LOG_DIR="$KAFKA_DATA_DIR/logs"                  # the broker's own logs (server.log, kafka.out)
METADATA_DIR="$KAFKA_DATA_DIR/kraft-combined-logs"  # log.dirs: partitions and the metadata log
PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
LOCK_FILE="$KAFKA_DATA_DIR/.kafka.sh.lock"
SERVER_PROPS="$CONFIG_DIR/server.properties"
LOG4J_PROPS="$CONFIG_DIR/log4j2.properties"

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA=java; fi

say() { printf 'kafka: %s\n' "$*"; }
err() { printf 'kafka: %s\n' "$*" >&2; }

log_tail() {
  local f
  for f in "$LOG_DIR/kafka.out" "$LOG_DIR/server.log"; do
    if [[ -s "$f" ]]; then
      err "---- last lines of $f ----"
      tail -n 40 "$f" >&2 || true
    fi
  done
}

die() { err "$*"; log_tail; exit 1; }

# The pid of our broker if it is running, else nothing (a stale pid file is ignored).
broker_pid() {
  local pid
  [[ -f "$PID_FILE" ]] || return 0
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "kafka.Kafka $SERVER_PROPS"; then
    echo "$pid"
  fi
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# A real Kafka protocol check, no dependencies beyond node: ApiVersions, a Metadata
# request whose answer must list a broker on our port, then the group coordinator must
# and the transaction coordinator must answer. Exit 0 only if the broker serves
# (idempotent) producers and consumer groups.
probe() {
  if ! command -v node >/dev/null 2>&1; then
    port_open "$KAFKA_PORT"
    return
  fi
  node - "$HOST" "$KAFKA_PORT" <<'NODE' 2>/dev/null
const net = require('node:net');
const [host, port] = [process.argv[2], Number(process.argv[3])];
const sock = net.connect({ host, port });
const timer = setTimeout(() => { sock.destroy(); process.exit(2); }, 3000);
let buf = Buffer.alloc(0), pending = null, corr = 0;
function request(apiKey, apiVersion, body) {
  const clientId = Buffer.from('portcullis-kafka-sh');
  const head = Buffer.alloc(10);
  head.writeInt16BE(apiKey, 0); head.writeInt16BE(apiVersion, 2);
  head.writeInt32BE(++corr, 4); head.writeInt16BE(clientId.length, 8);
  const msg = Buffer.concat([head, clientId, body]);
  const size = Buffer.alloc(4); size.writeInt32BE(msg.length, 0);
  sock.write(Buffer.concat([size, msg]));
  return new Promise((resolve) => { pending = resolve; pump(); });
}
function pump() {
  if (!pending || buf.length < 4) return;
  const n = buf.readInt32BE(0);
  if (buf.length < 4 + n) return;
  const frame = buf.subarray(4, 4 + n); buf = buf.subarray(4 + n);
  const p = pending; pending = null; p(frame.subarray(4)); // drop the correlation id
}
sock.on('data', (d) => { buf = Buffer.concat([buf, d]); pump(); });
sock.on('error', () => process.exit(2));
sock.on('connect', async () => {
  // ApiVersions v0: error_code, [api_key, min, max]
  let r = await request(18, 0, Buffer.alloc(0));
  if (r.readInt16BE(0) !== 0) process.exit(3);
  let metaMin = -1, metaMax = -1;
  const count = r.readInt32BE(2);
  for (let i = 0, o = 6; i < count; i++, o += 6) {
    if (r.readInt16BE(o) === 3) { metaMin = r.readInt16BE(o + 2); metaMax = r.readInt16BE(o + 4); }
  }
  const v = Math.min(metaMax, 8); // v4..v8 share one non-flexible layout
  if (v < 4 || v < metaMin) process.exit(4);
  // Metadata: topics = null (int32 -1), allow_auto_topic_creation = false (v4+),
  // v8 adds include_cluster_authorized_operations and include_topic_authorized_operations.
  const body = Buffer.from(v >= 8 ? [0xff, 0xff, 0xff, 0xff, 0, 0, 0] : [0xff, 0xff, 0xff, 0xff, 0]);
  r = await request(3, v, body);
  // throttle_time_ms, brokers: [node_id, host, port, rack]
  const brokers = r.readInt32BE(4);
  let o = 8, ours = false;
  for (let i = 0; i < brokers; i++) {
    o += 4;
    const hl = r.readInt16BE(o); o += 2 + hl;
    const p = r.readInt32BE(o); o += 4;
    const rl = r.readInt16BE(o); o += 2 + Math.max(rl, 0);
    if (p === port) ours = true;
  }
  if (!ours) process.exit(5);
  // Ready for consumer groups too: FindCoordinator v0 creates __consumer_offsets on a
  // fresh broker and answers COORDINATOR_NOT_AVAILABLE until it has a leader; then
  // OffsetFetch v2 (topics = null) answers COORDINATOR_LOAD_IN_PROGRESS until loaded.
  const group = Buffer.from('portcullis-kafka-sh-probe');
  const len = Buffer.alloc(2); len.writeInt16BE(group.length, 0);
  r = await request(10, 0, Buffer.concat([len, group]));
  if (r.readInt16BE(0) !== 0) process.exit(6);
  r = await request(9, 2, Buffer.concat([len, group, Buffer.from([0xff, 0xff, 0xff, 0xff])]));
  if (r.readInt32BE(0) !== 0 || r.readInt16BE(4) !== 0) process.exit(7);
  // And for idempotent producers: InitProducerId v0 (transactional_id = null, timeout)
  // answers COORDINATOR_LOAD_IN_PROGRESS until the transaction coordinator has loaded.
  r = await request(22, 0, Buffer.from([0xff, 0xff, 0, 0, 0xea, 0x60]));
  if (r.readInt16BE(4) !== 0) process.exit(8);
  clearTimeout(timer); sock.end();
  process.exit(0);
});
NODE
}

check_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (Kafka $KAFKA_VERSION needs Java 17+); set JAVA_HOME or install a JDK"
  local v
  v="$("$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  if [[ -z "$v" || "$v" -lt 17 ]]; then
    die "Kafka $KAFKA_VERSION needs Java 17+, but $JAVA is version ${v:-unknown}"
  fi
}

fetch_jars() {
  if [[ -f "$KAFKA_LIBS_DIR/.complete" && -f "$KAFKA_LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
    return 0
  fi
  command -v "$MAVEN_CMD" >/dev/null 2>&1 || die "$MAVEN_CMD not found: needed once to fetch Kafka $KAFKA_VERSION jars into $KAFKA_LIBS_DIR"
  say "fetching Kafka $KAFKA_VERSION jars from Maven Central into $KAFKA_LIBS_DIR (first run only)"
  local parent tmp
  parent="$(dirname "$KAFKA_LIBS_DIR")"
  mkdir -p "$parent"
  tmp="$(mktemp -d "$parent/.libs.XXXXXX")"
  if ! "$MAVEN_CMD" -B -q -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DoutputDirectory="$tmp" >"$tmp.mvn.log" 2>&1; then
    cat "$tmp.mvn.log" >&2
    rm -rf "$tmp" "$tmp.mvn.log"
    die "mvn could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION"
  fi
  rm -f "$tmp.mvn.log"
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after mvn"; }
  touch "$tmp/.complete"
  rm -rf "$KAFKA_LIBS_DIR"
  mv "$tmp" "$KAFKA_LIBS_DIR"
  say "fetched $(ls "$KAFKA_LIBS_DIR"/*.jar | wc -l) jars"
}

write_config() {
  mkdir -p "$CONFIG_DIR" "$LOG_DIR" "$METADATA_DIR"
  cat >"$SERVER_PROPS" <<EOF
# Written by deploy/local/kafka.sh on every start; edits here are overwritten.
# Single node, KRaft combined mode, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$METADATA_DIR

# Topics are created explicitly (see the topics table in ARCHITECTURE.md).
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
min.insync.replicas=1

# Internal topics on one node.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Tests and local runs: join groups at once.
group.initial.rebalance.delay.ms=0
EOF
  cat >"$LOG4J_PROPS" <<'EOF'
# Written by deploy/local/kafka.sh. The broker logs to files only.
status = warn
name = portcullis-local-kafka
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 20MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.cleaner.name = kafka.log.LogCleaner
logger.cleaner.level = INFO
EOF
}

java_cmd() {
  # shellcheck disable=SC2206
  local heap=($KAFKA_HEAP_OPTS)
  printf '%s\0' "$JAVA" "${heap[@]}" -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    "-Dkafka.logs.dir=$LOG_DIR" "-Dlog4j2.configurationFile=$LOG4J_PROPS" \
    -cp "$KAFKA_LIBS_DIR/*"
}

format_storage() {
  if [[ -f "$METADATA_DIR/meta.properties" ]]; then return 0; fi
  local cluster_id cmd=()
  # A random 16-byte id in Kafka's Uuid text form (URL-safe base64, no padding).
  # A leading '-' would be read by the storage tool's argument parser as a flag, so the
  # id is drawn again until it starts with a letter or digit (1 try in 32 needs it).
  cluster_id="-"
  while [[ "$cluster_id" == -* || "$cluster_id" == _* ]]; do
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
  done
  say "formatting storage in $METADATA_DIR (cluster id $cluster_id)"
  while IFS= read -r -d '' a; do cmd+=("$a"); done < <(java_cmd)
  if ! "${cmd[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$SERVER_PROPS" \
      >"$LOG_DIR/format.out" 2>&1; then
    cat "$LOG_DIR/format.out" >&2
    die "storage format failed"
  fi
}

wait_serving() {
  local pid="${1:-}" deadline=$((SECONDS + KAFKA_START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      die "broker exited during startup"
    fi
    if probe; then return 0; fi
    sleep 0.5
  done
  return 1
}

cmd_start() {
  mkdir -p "$KAFKA_DATA_DIR"
  exec 9>"$LOCK_FILE"
  flock 9
  local pid
  pid="$(broker_pid)"
  if [[ -n "$pid" ]]; then
    if wait_serving "$pid"; then
      say "already running (pid $pid) on $HOST:$KAFKA_PORT"
      return 0
    fi
    die "running (pid $pid) but not serving on $HOST:$KAFKA_PORT after ${KAFKA_START_TIMEOUT}s"
  fi
  rm -f "$PID_FILE"
  local p
  for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_open "$p"; then
      die "port $HOST:$p is already in use by a process this script did not start (see: ss -ltnp 'sport = :$p'); stop it or set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done
  check_java
  fetch_jars
  write_config
  format_storage

  local started=$SECONDS cmd=()
  while IFS= read -r -d '' a; do cmd+=("$a"); done < <(java_cmd)
  say "starting Kafka $KAFKA_VERSION (KRaft, node 1) on $HOST:$KAFKA_PORT; logs in $LOG_DIR"
  # setsid: the broker outlives this script and the caller's terminal; 9>&- keeps the lock
  # fd out of the JVM. The child writes its own pid, then becomes the JVM.
  : >"$LOG_DIR/kafka.out"
  PID_FILE="$PID_FILE" setsid bash -c 'echo $$ >"$PID_FILE"; exec "$@"' kafka-broker \
    "${cmd[@]}" kafka.Kafka "$SERVER_PROPS" </dev/null >>"$LOG_DIR/kafka.out" 2>&1 9>&- &
  local i
  for i in $(seq 1 50); do [[ -s "$PID_FILE" ]] && break; sleep 0.1; done
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ -n "$pid" ]] || die "broker did not start"
  if wait_serving "$pid"; then
    say "serving on $HOST:$KAFKA_PORT (pid $pid, ready in $((SECONDS - started))s)"
    return 0
  fi
  die "not serving on $HOST:$KAFKA_PORT after ${KAFKA_START_TIMEOUT}s (pid $pid still running; 'bash $0 stop' to stop it)"
}

cmd_stop() {
  mkdir -p "$KAFKA_DATA_DIR"
  exec 9>"$LOCK_FILE"
  flock 9
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    rm -f "$PID_FILE"
    say "not running"
    return 0
  fi
  say "stopping (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    err "still running after ${KAFKA_STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

cmd_status() {
  local pid
  pid="$(broker_pid)"
  if [[ -z "$pid" ]]; then
    say "not running (data in $KAFKA_DATA_DIR)"
    return 3
  fi
  if probe; then
    say "running (pid $pid), serving on $HOST:$KAFKA_PORT"
    return 0
  fi
  say "running (pid $pid), not serving on $HOST:$KAFKA_PORT"
  return 1
}

cmd_wait() {
  if wait_serving "$(broker_pid)"; then
    say "serving on $HOST:$KAFKA_PORT"
    return 0
  fi
  die "not serving on $HOST:$KAFKA_PORT after ${KAFKA_START_TIMEOUT}s"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  *)
    echo "usage: $0 start|stop|status|wait" >&2
    exit 2
    ;;
esac
