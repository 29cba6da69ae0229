# shellcheck shell=bash
# Apache Spark 4.0.1 as a Spark Connect server (gRPC), with Delta Lake 4.0.1: the engine of the analytics
# service's batch jobs. Local mode by default (SPARK_MASTER=local[2]); a standalone master
# (spark://host:7077) or Kubernetes (k8s://https://host:port) by setting SPARK_MASTER (and SPARK_CONF).

SPARK_CONNECT_PORT=${SPARK_CONNECT_PORT:-25002}
SPARK_MASTER=${SPARK_MASTER:-local[2]}
SPARK_DRIVER_MEMORY=${SPARK_DRIVER_MEMORY:-2g}
SPARK_SHUFFLE_PARTITIONS=${SPARK_SHUFFLE_PARTITIONS:-8}
SPARK_TIMEOUT=${SPARK_TIMEOUT:-120}
# Extra Spark settings, whitespace-separated key=value pairs, e.g.
# SPARK_CONF="spark.executor.instances=4 spark.kubernetes.container.image=apache/spark:4.0.1"
SPARK_CONF=${SPARK_CONF:-}

SPARK_SERVER_HOME="$STACK_DIR/spark"           # pid, logs, local dirs (shuffle and spill), warehouse
SPARK_JARS=${SPARK_JARS:-$STACK_DIR/jars/spark} # may point at another stack's jars (tools/bench/analytics)
SPARK_MARKER="-Dpulse.stack=spark@$STACK_DIR"

spark_port() { echo "$SPARK_CONNECT_PORT"; }
spark_log() { echo "$SPARK_SERVER_HOME/spark.log"; }
spark_pid() { read_pidfile "$SPARK_SERVER_HOME/spark.pid" "$SPARK_MARKER"; }

spark_install() {
  check_java
  if [[ $SPARK_JARS != "$STACK_DIR/jars/spark" ]]; then
    compgen -G "$SPARK_JARS/spark-connect_*.jar" >/dev/null || die "spark: SPARK_JARS=$SPARK_JARS holds no Spark Connect jars"
    return 0
  fi
  resolve_jars spark "$STACK_SRC/spark/pom.xml"
}

# The JVM options Spark's launcher (bin/spark-class) adds on Java 17+: org.apache.spark.launcher.JavaModuleOptions.
SPARK_MODULE_OPTIONS=(
  -XX:+IgnoreUnrecognizedVMOptions
  --add-modules=jdk.incubator.vector
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.lang.invoke=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/sun.nio.cs=ALL-UNNAMED
  --add-opens=java.base/sun.security.action=ALL-UNNAMED
  --add-opens=java.base/sun.util.calendar=ALL-UNNAMED
  --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  -Djdk.reflect.useDirectMethodHandle=false
  -Dio.netty.tryReflectionSetAccessible=true
)

spark_launch() {
  check_port_free spark "$SPARK_CONNECT_PORT"
  mkdir -p "$SPARK_SERVER_HOME/local" "$SPARK_SERVER_HOME/warehouse"
  rotate_log "$SPARK_SERVER_HOME/spark.log"
  rotate_log "$SPARK_SERVER_HOME/stdout.log"
  local conf=() kv
  for kv in $SPARK_CONF; do
    [[ $kv == *=* ]] || die "spark: SPARK_CONF entries are key=value pairs, got '$kv'"
    conf+=(--conf "$kv")
  done
  local extra=() # e.g. SPARK_JVM_EXTRA="-XX:NativeMemoryTracking=summary"
  [[ -z ${SPARK_JVM_EXTRA:-} ]] || read -r -a extra <<<"$SPARK_JVM_EXTRA"
  # What `sbin/start-connect-server.sh` runs (spark-submit of SparkConnectServer in client mode: this JVM
  # is the driver, and in local mode also the executor), without a Spark distribution: SparkSubmit from
  # the Maven jars, the driver's heap set here as spark-submit would from --driver-memory.
  # G1's periodic collection hands an idle server's heap back to the OS (RSS falls after a job).
  launch_bg "$SPARK_SERVER_HOME/spark.pid" "$SPARK_MARKER" "$SPARK_SERVER_HOME/stdout.log" \
    env SPARK_LOCAL_IP=127.0.0.1 "$(java_bin)" "$SPARK_MARKER" \
    -Xms256m -Xmx"$SPARK_DRIVER_MEMORY" -XX:+UseG1GC -XX:G1PeriodicGCInterval=60000 -XX:+ExitOnOutOfMemoryError \
    -XX:ErrorFile="$SPARK_SERVER_HOME/hs_err_%p.log" \
    "${SPARK_MODULE_OPTIONS[@]}" \
    -Dpulse.spark.logdir="$SPARK_SERVER_HOME" \
    -Dlog4j2.configurationFile="$STACK_SRC/spark/log4j2.properties" \
    ${extra[@]+"${extra[@]}"} \
    -cp "$SPARK_JARS/*" \
    org.apache.spark.deploy.SparkSubmit \
    --class org.apache.spark.sql.connect.service.SparkConnectServer \
    --name pulse-spark-connect \
    --master "$SPARK_MASTER" \
    --conf spark.connect.grpc.binding.address=127.0.0.1 \
    --conf spark.connect.grpc.binding.port="$SPARK_CONNECT_PORT" \
    --conf spark.driver.host=127.0.0.1 \
    --conf spark.driver.bindAddress=127.0.0.1 \
    --conf spark.local.dir="$SPARK_SERVER_HOME/local" \
    --conf spark.sql.warehouse.dir="$SPARK_SERVER_HOME/warehouse" \
    --conf spark.sql.catalogImplementation=in-memory \
    --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
    --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
    --conf spark.sql.session.timeZone=UTC \
    --conf spark.sql.shuffle.partitions="$SPARK_SHUFFLE_PARTITIONS" \
    --conf spark.databricks.delta.snapshotPartitions=2 \
    --conf spark.ui.enabled=false \
    --conf spark.ui.showConsoleProgress=false \
    ${conf[@]+"${conf[@]}"} \
    spark-internal
}

spark_ready() {
  grep -q 'Spark Connect server started' "$SPARK_SERVER_HOME/spark.log" && port_open "$SPARK_CONNECT_PORT"
}

spark_wait() {
  wait_until spark "$SPARK_TIMEOUT" "$(spark_log)" "$(spark_pid)" spark_ready
}

spark_stop() {
  local pid
  pid=$(spark_pid) || return 0
  stop_pid spark "$pid" "${SPARK_STOP_TIMEOUT:-30}"
  rm -f "$SPARK_SERVER_HOME/spark.pid"
}
