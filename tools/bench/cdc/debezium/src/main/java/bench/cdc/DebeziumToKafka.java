package bench.cdc;

import io.debezium.engine.DebeziumEngine;
import io.debezium.engine.ChangeEvent;
import io.debezium.embedded.Connect;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.connect.header.Header;
import org.apache.kafka.connect.json.JsonConverter;
import org.apache.kafka.connect.source.SourceRecord;
import org.apache.kafka.connect.storage.SimpleHeaderConverter;

/**
 * Bench anchor for tools/bench/cdc: Debezium's embedded engine running the PostgreSQL connector
 * (pgoutput), each record converted like a Kafka Connect worker would (JsonConverter without
 * schemas for key and value, SimpleHeaderConverter for headers) and written with a plain Kafka
 * producer (acks=all, idempotent). A batch is marked processed only once Kafka acknowledged all of
 * its records, so offsets (file store) and the slot's confirmed position never run ahead of Kafka.
 *
 * Settings come from the environment (see env()). Topics are `<DBZ_TOPIC_PREFIX>.<schema>.<table>`
 * and `<DBZ_TOPIC_PREFIX>.transaction`; they must exist (the bench creates them).
 * Prints "HARNESS STARTED" on stdout once the connector task runs; SIGTERM stops it cleanly.
 */
public final class DebeziumToKafka {
  private static String env(String name, String fallback) {
    String v = System.getenv(name);
    if (v == null || v.isEmpty()) {
      if (fallback == null) throw new IllegalArgumentException(name + " is required");
      return fallback;
    }
    return v;
  }

  public static void main(String[] args) throws Exception {
    String schema = env("DBZ_SCHEMA", null);
    String prefix = env("DBZ_TOPIC_PREFIX", null);

    Properties props = new Properties();
    props.setProperty("name", env("DBZ_NAME", prefix));
    props.setProperty("connector.class", "io.debezium.connector.postgresql.PostgresConnector");
    props.setProperty("offset.storage", "org.apache.kafka.connect.storage.FileOffsetBackingStore");
    props.setProperty("offset.storage.file.filename", env("DBZ_OFFSET_FILE", null));
    props.setProperty("offset.flush.interval.ms", env("DBZ_OFFSET_FLUSH_MS", "1000"));
    props.setProperty("database.hostname", env("DBZ_PG_HOST", "127.0.0.1"));
    props.setProperty("database.port", env("DBZ_PG_PORT", "25432"));
    props.setProperty("database.user", env("DBZ_PG_USER", "pulse"));
    props.setProperty("database.password", env("DBZ_PG_PASSWORD", "pulse"));
    props.setProperty("database.dbname", env("DBZ_PG_DB", "pulse"));
    props.setProperty("topic.prefix", prefix);
    props.setProperty("plugin.name", "pgoutput");
    props.setProperty("slot.name", env("DBZ_SLOT", null));
    props.setProperty("publication.name", env("DBZ_PUBLICATION", null));
    props.setProperty("publication.autocreate.mode", "filtered");
    props.setProperty("table.include.list", schema + "\\..*");
    props.setProperty("snapshot.mode", env("DBZ_SNAPSHOT_MODE", "no_data"));
    props.setProperty("provide.transaction.metadata", "true");
    props.setProperty("tombstones.on.delete", "true");
    // Pulse's default CDC_COLUMN_EXCLUDE_LIST: the private users.email stays in the database.
    props.setProperty("column.exclude.list", env("DBZ_COLUMN_EXCLUDE_LIST", "[^.]+\\.users\\.email"));
    // Pulse documents these modes; the others are Debezium's defaults (adaptive time, numeric interval, bytes).
    props.setProperty("decimal.handling.mode", "string");
    // Debezium skips truncates by default ("t"); capture every operation.
    props.setProperty("skipped.operations", "none");
    props.setProperty("max.batch.size", env("DBZ_MAX_BATCH_SIZE", "2048"));
    props.setProperty("max.queue.size", env("DBZ_MAX_QUEUE_SIZE", "8192"));
    // Debezium's default (500 ms) unless set: how long the connector sleeps when the slot or its queue is empty.
    String pollInterval = System.getenv("DBZ_POLL_INTERVAL_MS");
    if (pollInterval != null && !pollInterval.isEmpty()) props.setProperty("poll.interval.ms", pollInterval);

    Map<String, Object> convConfig = new HashMap<>();
    convConfig.put("schemas.enable", "false");
    JsonConverter keyConverter = new JsonConverter();
    keyConverter.configure(convConfig, true);
    JsonConverter valueConverter = new JsonConverter();
    valueConverter.configure(convConfig, false);
    SimpleHeaderConverter headerConverter = new SimpleHeaderConverter();
    headerConverter.configure(new HashMap<>());

    Properties producerProps = new Properties();
    producerProps.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, env("KAFKA_BROKERS", "127.0.0.1:29092"));
    producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
    producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    producerProps.put(ProducerConfig.CLIENT_ID_CONFIG, prefix + "-producer");
    KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(producerProps, new ByteArraySerializer(), new ByteArraySerializer());

    CountDownLatch stopped = new CountDownLatch(1);
    DebeziumEngine<ChangeEvent<SourceRecord, SourceRecord>> engine = DebeziumEngine.create(Connect.class)
        .using(props)
        .using(new DebeziumEngine.ConnectorCallback() {
          @Override
          public void taskStarted() {
            System.out.println("HARNESS STARTED");
            System.out.flush();
          }
        })
        .using((success, message, error) -> {
          System.out.println("HARNESS COMPLETED success=" + success + " " + message);
          if (error != null) error.printStackTrace();
          System.out.flush();
          stopped.countDown();
        })
        .notifying((records, committer) -> {
          List<Future<RecordMetadata>> acks = new ArrayList<>(records.size());
          for (ChangeEvent<SourceRecord, SourceRecord> event : records) {
            SourceRecord r = event.value() != null ? event.value() : event.key(); // Connect format: the record itself
            String topic = r.topic();
            byte[] key = r.key() == null ? null : keyConverter.fromConnectData(topic, r.keySchema(), r.key());
            byte[] value = r.value() == null ? null : valueConverter.fromConnectData(topic, r.valueSchema(), r.value());
            RecordHeaders headers = new RecordHeaders();
            for (Header h : r.headers()) {
              headers.add(new RecordHeader(h.key(), headerConverter.fromConnectHeader(topic, h.key(), h.schema(), h.value())));
            }
            acks.add(producer.send(new ProducerRecord<>(topic, null, key, value, headers)));
          }
          for (Future<RecordMetadata> ack : acks) {
            try {
              ack.get();
            } catch (Exception e) {
              throw new RuntimeException("Kafka rejected a record", e);
            }
          }
          for (ChangeEvent<SourceRecord, SourceRecord> event : records) committer.markProcessed(event);
          committer.markBatchFinished();
        })
        .build();

    ExecutorService executor = Executors.newSingleThreadExecutor();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        engine.close();
        stopped.await(20, TimeUnit.SECONDS);
      } catch (Exception e) {
        e.printStackTrace();
      }
      producer.close();
      executor.shutdownNow();
    }));
    executor.execute(engine);
    stopped.await();
    producer.close();
    executor.shutdown();
  }
}
