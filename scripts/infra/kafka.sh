#!/usr/bin/env bash
# Apache Kafka 3.9.x, single KRaft node on 127.0.0.1, run from the broker's jars on Maven Central.
# Usage: kafka.sh install|start|stop|status|reset
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
KDIR="$STATE/kafka"; LIBS="$KDIR/libs-$KAFKA_VERSION"; DATA="$KDIR/data"; PIDF="$KDIR/kafka.pid"; CONF="$KDIR/server.properties"

install() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v java >/dev/null || die "java not found (apt-get install -y openjdk-17-jre-headless)"
  command -v mvn >/dev/null || die "mvn not found (apt-get install -y maven)"
  mkdir -p "$KDIR/pom"
  cat > "$KDIR/pom/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>hishamos.local</groupId><artifactId>kafka-broker</artifactId><version>1</version><packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
POM
  log "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies with mvn"
  mvn -q -B -f "$KDIR/pom/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIBS" -DincludeScope=runtime \
    || die "mvn dependency:copy-dependencies failed for kafka_2.13:$KAFKA_VERSION"
  touch "$LIBS/.complete"
}

running() { [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; }

start() {
  install
  if wait_port 127.0.0.1 "$KAFKA_PORT" 1; then log "kafka already listening on 127.0.0.1:$KAFKA_PORT"; return 0; fi
  mkdir -p "$DATA"
  cat > "$CONF" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=24
PROPS
  cat > "$KDIR/log4j.properties" <<L4J
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$KDIR/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
L4J
  if [ ! -f "$DATA/meta.properties" ]; then
    local cid; cid=$(java -cp "$LIBS/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
    java -Dlog4j.configuration="file:$KDIR/log4j.properties" -cp "$LIBS/*" kafka.tools.StorageTool format -t "$cid" -c "$CONF" >"$KDIR/format.log" 2>&1 \
      || die "kafka storage format failed: $(tail -5 "$KDIR/format.log")"
  fi
  log "starting kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT"
  nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$KDIR/log4j.properties" -cp "$LIBS/*" kafka.Kafka "$CONF" >"$KDIR/stdout.log" 2>&1 &
  echo $! > "$PIDF"
  wait_port 127.0.0.1 "$KAFKA_PORT" 60 || die "kafka did not listen on 127.0.0.1:$KAFKA_PORT within 60s: $(tail -20 "$KDIR/stdout.log" "$KDIR/server.log" 2>/dev/null)"
  log "kafka is up (pid $(cat "$PIDF"))"
}

stop() {
  if running; then
    local pid; pid=$(cat "$PIDF"); kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDF"; log "kafka stopped"
}

status() { if running && wait_port 127.0.0.1 "$KAFKA_PORT" 1; then echo "kafka: up 127.0.0.1:$KAFKA_PORT"; else echo "kafka: down"; return 1; fi; }
reset() { stop; rm -rf "$DATA"; }

case "${1:-status}" in install) install ;; start) start ;; stop) stop ;; status) status ;; reset) reset ;; *) die "usage: $0 install|start|stop|status|reset" ;; esac
