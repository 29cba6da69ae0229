import { qualifiedName, quoteIdent } from '@pulse/platform';
import type { Pool, PoolClient } from 'pg';
import type { UserType } from '../debezium/pg-types';
import { type Lsn, parseLsn } from '../replication/lsn';

export interface PublishedTable {
  relationOid: number;
  schema: string;
  table: string;
}

/** A column as the catalog describes it (for record keys, snapshots and schema change events). */
export interface CatalogColumn {
  name: string;
  typeOid: number;
  typeMod: number;
  typeName: string;
  notNull: boolean;
  defaultValue: string | null;
  position: number;
}

export interface TableInfo {
  relationOid: number;
  schema: string;
  table: string;
  /** Columns pgoutput publishes (not dropped, not generated, in the publication's column list), in order. */
  columns: CatalogColumn[];
  primaryKey: string[];
}

export interface SlotInfo {
  active: boolean;
  activePid: number | null;
  confirmedFlushLsn: Lsn;
  restartLsn: Lsn;
  currentWalLsn: Lsn;
  /** pg_current_wal_lsn() - confirmed_flush_lsn. */
  lagBytes: bigint;
  walStatus: string | null;
}

/** The service's bookkeeping for one slot, in `<CDC_STATE_SCHEMA>.connector_state`. */
export interface ConnectorState {
  slotName: string;
  publication: string;
  createdAt: Date;
  /** When the initial snapshot was on Kafka (or, without snapshot, when the slot was created); null while it runs. */
  snapshotCompletedAt: Date | null;
  /** Last table shapes put on the schema change topic, by `schema.table`. */
  relations: Record<string, string>;
  /** The last incremental snapshot requested and its progress (IncrementalSnapshotRecord); null when none. */
  incrementalSnapshot: unknown;
}

export interface PublicationTarget {
  /** Schema whose tables are published when `tables` is empty. */
  schema: string;
  /** `schema.table` names; empty publishes every table of `schema` (present and future). */
  tables: string[];
}

/**
 * The service's ordinary (non-replication) queries against the captured database: publication and slot
 * administration, catalog lookups, lag, heartbeats and the service's own state table. On the app's pool
 * (`PostgresModule`, with the service's session settings); replication connections are separate.
 */
export class CdcCatalogRepository {
  constructor(
    private readonly pool: Pool,
    private readonly stateSchema: string,
  ) {}

  private get stateTable(): string {
    return `${quoteIdent(this.stateSchema)}.connector_state`;
  }

  async databaseName(): Promise<string> {
    const { rows } = await this.pool.query<{ db: string }>('SELECT current_database() AS db');
    return rows[0].db;
  }

  async ensureStateTable(): Promise<void> {
    await this.withClient(async (client) => {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`pulse.cdc.state.${this.stateSchema}`]);
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.stateSchema)}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.stateTable} (
             slot_name             text PRIMARY KEY,
             publication           text NOT NULL,
             created_at            timestamptz NOT NULL DEFAULT now(),
             snapshot_completed_at timestamptz,
             relations             jsonb NOT NULL DEFAULT '{}'::jsonb,
             updated_at            timestamptz NOT NULL DEFAULT now()
           )`,
        );
        await client.query(`ALTER TABLE ${this.stateTable} ADD COLUMN IF NOT EXISTS incremental_snapshot jsonb`);
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`pulse.cdc.state.${this.stateSchema}`]);
      }
    });
  }

  /**
   * Creates the publication, or brings an existing one in line with the target: `FOR TABLES IN SCHEMA s`
   * (new tables of the schema join automatically) or `FOR TABLE` the named tables.
   */
  async ensurePublication(name: string, target: PublicationTarget): Promise<void> {
    const what =
      target.tables.length === 0
        ? `TABLES IN SCHEMA ${quoteIdent(target.schema)}`
        : `TABLE ${target.tables.map((t) => qualifiedName(...splitQualified(t, target.schema))).join(', ')}`;
    await this.withClient(async (client) => {
      await client.query('SELECT pg_advisory_lock(hashtext($1))', [`pulse.cdc.publication.${name}`]);
      try {
        const { rows } = await client.query('SELECT puballtables FROM pg_publication WHERE pubname = $1', [name]);
        if (rows.length === 0) {
          await client.query(`CREATE PUBLICATION ${quoteIdent(name)} FOR ${what}`);
        } else if (rows[0].puballtables) {
          throw new Error(`publication "${name}" exists FOR ALL TABLES; drop it or choose another CDC_PUBLICATION`);
        } else {
          const { rows: schemas } = await client.query<{ nspname: string }>(
            `SELECT n.nspname FROM pg_publication_namespace pn JOIN pg_publication p ON p.oid = pn.pnpubid
              JOIN pg_namespace n ON n.oid = pn.pnnspid WHERE p.pubname = $1`,
            [name],
          );
          const { rows: tables } = await client.query<{ t: string }>(
            `SELECT schemaname || '.' || tablename AS t FROM pg_publication_tables WHERE pubname = $1`,
            [name],
          );
          const wanted = target.tables.map((t) => splitQualified(t, target.schema).join('.')).sort();
          const same =
            target.tables.length === 0
              ? schemas.length === 1 && schemas[0].nspname === target.schema
              : schemas.length === 0 && JSON.stringify(tables.map((r) => r.t).sort()) === JSON.stringify(wanted);
          // SET replaces the whole list: schemas and tables listed before leave the publication.
          if (!same) await client.query(`ALTER PUBLICATION ${quoteIdent(name)} SET ${what}`);
        }
      } finally {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`pulse.cdc.publication.${name}`]);
      }
    });
  }

  async publishedTables(publication: string): Promise<PublishedTable[]> {
    const { rows } = await this.pool.query<{ oid: number; schemaname: string; tablename: string }>(
      `SELECT c.oid::int8 AS oid, pt.schemaname, pt.tablename
         FROM pg_publication_tables pt
         JOIN pg_namespace n ON n.nspname = pt.schemaname
         JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
        WHERE pt.pubname = $1
        ORDER BY pt.schemaname, pt.tablename`,
      [publication],
    );
    return rows.map((r) => ({ relationOid: Number(r.oid), schema: r.schemaname, table: r.tablename }));
  }

  /** Columns and primary key of a table, as pgoutput publishes it (column lists of `publication` honoured). */
  async tableInfo(relationOid: number, publication: string): Promise<TableInfo | undefined> {
    const { rows } = await this.pool.query<{
      schema: string;
      table: string;
      name: string;
      type_oid: number;
      type_mod: number;
      type_name: string;
      not_null: boolean;
      default_value: string | null;
      is_pk: boolean;
      pk_position: number | null;
    }>(
      `SELECT n.nspname AS schema, c.relname AS table, a.attname AS name, a.atttypid::int8 AS type_oid, a.atttypmod AS type_mod,
              format_type(a.atttypid, NULL) AS type_name, a.attnotnull AS not_null,
              pg_get_expr(d.adbin, d.adrelid) AS default_value,
              array_position(i.indkey::int2[], a.attnum) IS NOT NULL AS is_pk,
              array_position(i.indkey::int2[], a.attnum) AS pk_position
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
         LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
         LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
         LEFT JOIN pg_publication_tables pt ON pt.pubname = $2 AND pt.schemaname = n.nspname AND pt.tablename = c.relname
        WHERE c.oid = $1 AND (pt.attnames IS NULL OR a.attname = ANY (pt.attnames))
        ORDER BY a.attnum`,
      [relationOid, publication],
    );
    if (rows.length === 0) return undefined;
    return {
      relationOid,
      schema: rows[0].schema,
      table: rows[0].table,
      columns: rows.map((r, i) => ({
        name: r.name,
        typeOid: Number(r.type_oid),
        typeMod: r.type_mod,
        typeName: r.type_name,
        notNull: r.not_null,
        defaultValue: r.default_value,
        position: i + 1,
      })),
      primaryKey: rows
        .filter((r) => r.is_pk)
        .sort((a, b) => (a.pk_position ?? 0) - (b.pk_position ?? 0))
        .map((r) => r.name),
    };
  }

  /** Every type that is not built in (enums, domains, arrays of them, ...). */
  async userTypes(): Promise<UserType[]> {
    const { rows } = await this.pool.query<{ oid: number; schema: string; name: string; kind: string; elem: number; base: number }>(
      `SELECT t.oid::int8 AS oid, n.nspname AS schema, t.typname AS name, t.typtype AS kind,
              t.typelem::int8 AS elem, t.typbasetype::int8 AS base
         FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE t.oid >= 16384`,
    );
    return rows.map((r) => ({
      oid: Number(r.oid),
      schema: r.schema,
      name: r.name,
      kind: r.kind,
      elementOid: Number(r.elem),
      baseOid: Number(r.base),
    }));
  }

  async slotInfo(slot: string): Promise<SlotInfo | undefined> {
    const { rows } = await this.pool.query<{
      active: boolean;
      active_pid: number | null;
      confirmed_flush_lsn: string | null;
      restart_lsn: string | null;
      current: string;
      lag: string | null;
      wal_status: string | null;
    }>(
      `SELECT active, active_pid, confirmed_flush_lsn::text, restart_lsn::text, pg_current_wal_lsn()::text AS current,
              pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::int8::text AS lag, wal_status
         FROM pg_replication_slots WHERE slot_name = $1`,
      [slot],
    );
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return {
      active: r.active,
      activePid: r.active_pid,
      confirmedFlushLsn: r.confirmed_flush_lsn ? parseLsn(r.confirmed_flush_lsn) : 0n,
      restartLsn: r.restart_lsn ? parseLsn(r.restart_lsn) : 0n,
      currentWalLsn: parseLsn(r.current),
      lagBytes: BigInt(r.lag ?? '0'),
      walStatus: r.wal_status,
    };
  }

  /** Drops the slot, ending a walsender still attached to it (a previous run of this service). */
  async dropSlot(slot: string): Promise<void> {
    await this.pool.query(
      `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`,
      [slot],
    );
    for (let attempt = 0; ; attempt++) {
      try {
        await this.pool.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
        return;
      } catch (error) {
        // The terminated walsender may still hold the slot for a moment.
        if (attempt >= 20 || !/is active/.test((error as Error).message)) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async getState(slot: string): Promise<ConnectorState | undefined> {
    const { rows } = await this.pool.query(
      `SELECT slot_name, publication, created_at, snapshot_completed_at, relations, incremental_snapshot FROM ${this.stateTable} WHERE slot_name = $1`,
      [slot],
    );
    if (rows.length === 0) return undefined;
    const r = rows[0];
    return {
      slotName: r.slot_name,
      publication: r.publication,
      createdAt: r.created_at,
      snapshotCompletedAt: r.snapshot_completed_at,
      relations: r.relations ?? {},
      incrementalSnapshot: r.incremental_snapshot ?? null,
    };
  }

  /** Records a newly created slot: its snapshot not done yet, no table shapes known. */
  async resetState(slot: string, publication: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.stateTable} (slot_name, publication) VALUES ($1, $2)
       ON CONFLICT (slot_name) DO UPDATE
         SET publication = EXCLUDED.publication, created_at = now(), snapshot_completed_at = NULL,
             relations = '{}'::jsonb, incremental_snapshot = NULL, updated_at = now()`,
      [slot, publication],
    );
  }

  async markSnapshotCompleted(slot: string): Promise<void> {
    await this.pool.query(`UPDATE ${this.stateTable} SET snapshot_completed_at = now(), updated_at = now() WHERE slot_name = $1`, [slot]);
  }

  async saveRelations(slot: string, relations: Record<string, string>): Promise<void> {
    await this.pool.query(`UPDATE ${this.stateTable} SET relations = relations || $2::jsonb, updated_at = now() WHERE slot_name = $1`, [
      slot,
      JSON.stringify(relations),
    ]);
  }

  async saveIncrementalSnapshot(slot: string, snapshot: unknown): Promise<void> {
    await this.pool.query(`UPDATE ${this.stateTable} SET incremental_snapshot = $2::jsonb, updated_at = now() WHERE slot_name = $1`, [
      slot,
      JSON.stringify(snapshot),
    ]);
  }

  /** Writes a transactional logical decoding message: a tiny transaction that streams back through the slot. */
  async emitMessage(prefix: string, content: string): Promise<Lsn> {
    const { rows } = await this.pool.query<{ lsn: string }>('SELECT pg_logical_emit_message(true, $1, $2)::text AS lsn', [prefix, content]);
    return parseLsn(rows[0].lsn);
  }

  private async withClient<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }
}

/** `table` or `schema.table` → [schema, table]. */
export function splitQualified(name: string, defaultSchema: string): [string, string] {
  const parts = name.split('.');
  return parts.length === 2 ? [parts[0], parts[1]] : [defaultSchema, parts[0]];
}
