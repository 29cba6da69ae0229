import { cdcTopic, type cdcV1, type DebeziumEnvelope, type TopicDefinition } from '@pulse/contracts';
import { type IncomingRecord, PlatformaticKafkaClient, runMigrations } from '@pulse/platform';
import { readTopicUntil } from '@pulse/platform/testing';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client } from 'pg';
import { CdcTopics } from '../../src/capture/cdc-topics';
import { loadCdcConfig } from '../../src/config/cdc.config';

/** The stack's addresses as the service reads them (env of `tools/stack/stack env`, else the defaults). */
const stackConfig = loadCdcConfig();
export const PG_URL = stackConfig.PG_URL;
export const KAFKA_BROKERS = stackConfig.KAFKA_BROKERS.join(',');
export const MIGRATIONS_DIR = join(__dirname, '..', '..', 'migrations');

export type CdcRecord = IncomingRecord<Record<string, unknown>, DebeziumEnvelope>;

/**
 * One test's own corner of the shared stack: a PostgreSQL schema `t_<random>` with the app tables,
 * a slot and a publication of the same name, and therefore its own topics pulse.cdc.t_<random>.<table>.v1.
 * `dispose()` drops the slot (a leftover slot retains WAL), the publication, the schema and the topics.
 */
export class CdcTestEnv {
  readonly name = `t_${randomBytes(5).toString('hex')}`;
  readonly pg = new Client({ connectionString: PG_URL, application_name: 'cdc-int-test' });
  readonly kafka = new PlatformaticKafkaClient({ brokers: KAFKA_BROKERS.split(','), clientId: `cdc-test-${this.name}` });

  static async create(options: { migrate?: boolean } = {}): Promise<CdcTestEnv> {
    const env = new CdcTestEnv();
    await env.pg.connect();
    if (options.migrate ?? true) await runMigrations({ pgUrl: PG_URL, schema: env.name, dir: MIGRATIONS_DIR });
    else await env.pg.query(`CREATE SCHEMA ${env.name}`);
    return env;
  }

  /** Settings of a cdc service capturing this schema, on ephemeral ports, quiet logs. */
  settings(overrides: Record<string, string> = {}): Record<string, string> {
    this.serviceStarted = true;
    return {
      GRPC_PORT: '0',
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
      PG_URL,
      KAFKA_BROKERS,
      CDC_SCHEMA: this.name,
      CDC_SLOT: this.name,
      CDC_PUBLICATION: this.name,
      CDC_SERVER_NAME: this.name,
      CDC_HEARTBEAT_INTERVAL: '0s',
      CDC_LAG_CHECK_INTERVAL: '500ms',
      CDC_RETRY_BACKOFF: '200ms',
      ...overrides,
    };
  }

  topic(table: string): TopicDefinition<Record<string, unknown>, DebeziumEnvelope> {
    return cdcTopic(table, this.name);
  }

  query<R extends Record<string, any> = any>(sql: string, params: unknown[] = []) {
    return this.pg.query<R>(sql, params);
  }

  /** Reads a table's topic from the beginning until `done` holds (or the timeout passes). */
  read(table: string, done: (records: CdcRecord[]) => boolean, timeoutMs = 20_000): Promise<CdcRecord[]> {
    return readTopicUntil(this.kafka, this.topic(table), { filter: () => true, done, timeoutMs });
  }

  /** Schema change events of this schema's tables. */
  schemaChanges(done: (records: IncomingRecord<string, cdcV1.SchemaChange>[]) => boolean, timeoutMs = 20_000) {
    return readTopicUntil(this.kafka, CdcTopics.schemaChanges, {
      filter: (r) => (r.key ?? '').startsWith(`${this.name}.`),
      done,
      timeoutMs,
    });
  }

  async slot(): Promise<{ active: boolean; confirmed: bigint; current: bigint; lag: bigint } | undefined> {
    const { rows } = await this.pg.query(
      `SELECT active, pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::text AS confirmed, pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS current,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS lag
         FROM pg_replication_slots WHERE slot_name = $1`,
      [this.name],
    );
    if (rows.length === 0) return undefined;
    return { active: rows[0].active, confirmed: BigInt(rows[0].confirmed), current: BigInt(rows[0].current), lag: BigInt(rows[0].lag) };
  }

  /** The WAL position right now, as a number comparable with `source.lsn`. */
  async currentLsn(): Promise<bigint> {
    const { rows } = await this.pg.query(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text AS lsn`);
    return BigInt(rows[0].lsn);
  }

  /** Waits until `check` holds, polling; fails with `what` after the timeout. */
  async until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async dropSlot(): Promise<void> {
    for (let attempt = 0; attempt < 50; attempt++) {
      await this.pg.query(
        'SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL',
        [this.name],
      );
      try {
        await this.pg.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [this.name]);
        return;
      } catch (error) {
        if (!/is active/.test((error as Error).message)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  }

  async dispose(): Promise<void> {
    try {
      await this.dropSlot();
      await this.pg.query(`DROP PUBLICATION IF EXISTS ${this.name}`);
      await this.pg.query(`DROP SCHEMA IF EXISTS ${this.name} CASCADE`);
      await this.pg.query(`DELETE FROM pulse_cdc.connector_state WHERE slot_name = $1`, [this.name]).catch(() => undefined);
      // A service creates the topics of every table of its publication; extra tables' topics once they changed.
      if (this.serviceStarted) {
        const tables = ['users', 'posts', 'follows', 'comments', 'schema_migrations', ...this.extraTables];
        await this.kafka.admin.deleteTopics(tables.map((t) => this.topic(t).name)).catch(() => undefined);
      }
    } finally {
      await this.pg.end().catch(() => undefined);
      await this.kafka.close();
    }
  }

  /** Tables a test created and changed besides the migrated ones (their topics are deleted at the end). */
  readonly extraTables: string[] = [];
  private serviceStarted = false;
}

/** Debezium's `source.lsn` of a record, as a bigint. */
export const lsnOf = (r: CdcRecord) => BigInt(r.value?.source.lsn ?? -1);
