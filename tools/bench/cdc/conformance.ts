// CDC conformance: the same DDL and DML through Pulse's cdc service and Debezium's embedded engine
// (tools/bench/cdc/debezium), each on its own schema, slot, publication and topics; both outputs are read
// back and compared event by event, field by field. Prints `DIFF <table> <op> <path>: pulse=<v> debezium=<v>`
// lines for differences not on the allowlist (tools/bench/cdc/conformance-allowlist.txt), `ALLOWED` lines for
// the listed ones, and a summary; exits 1 when the event counts differ or a difference is not allowed, 2 on a
// failure.
// Entry point: tools/bench/cdc/conformance.sh. See tools/bench/README.md.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { note, kafkaAdmin, runDir, deleteTopics, sleep } from '../lib/bench.ts';
import {
  type Capture,
  createCaptureTopics,
  debeziumCapture,
  dropCapture,
  pulseCapture,
  readAll,
  type Rec,
  sql,
  startCapturer,
  stopCapturer,
  topicRecordCount,
} from './lib.ts';

const TABLES = ['t_types', 't_comp'];

/** The pseudo path of Debezium's transaction topic (BEGIN/END events) in the allowlist. */
const TRANSACTION_TOPIC = 'transaction-topic';

interface Allowed {
  pattern: string;
  why: string;
  test: (difference: string, path: string) => boolean;
  used: number;
}

/** Reads the allowlist: `<pattern> | <justification>` per line, `#` comments. */
function allowlist(file: string): Allowed[] {
  const entries: Allowed[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (!line.trim() || line.trimStart().startsWith('#')) return;
      const bar = line.indexOf(' | ');
      if (bar < 0 || !line.slice(bar + 3).trim()) throw new Error(`${file}:${i + 1}: expected '<pattern> | <justification>'`);
      const pattern = line.slice(0, bar).trim();
      const re = new RegExp(
        `^${pattern
          .split('*')
          .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      );
      const whole = pattern.includes(': ');
      entries.push({ pattern, why: line.slice(bar + 3).trim(), test: (difference, path) => re.test(whole ? difference : path), used: 0 });
    });
  return entries;
}

function allowedBy(entries: Allowed[], difference: string, path: string): Allowed | undefined {
  const entry = entries.find((e) => e.test(difference, path));
  if (entry) entry.used++;
  return entry;
}

function ddl(schema: string): string {
  return `
    CREATE SCHEMA "${schema}";
    CREATE TABLE "${schema}".t_types (
      id int PRIMARY KEY, b bigint, t text, n numeric(12,3), f bool, ts timestamptz, j jsonb, arr text[]);
    CREATE TABLE "${schema}".t_comp (a int, b text, v text, PRIMARY KEY (a, b));
    SELECT pg_replication_origin_create('${schema}');`;
}

/** The DML, one transaction per entry, identical on both schemas. */
function dml(schema: string): string[] {
  const s = `"${schema}"`;
  return [
    `INSERT INTO ${s}.t_types VALUES
       (1, 9007199254740993, 'hello', 12345.678, true, '2024-01-02 03:04:05.123456+00', '{"a": 1, "b": [1, 2]}', '{a,"b c",NULL}'),
       (2, -5, 'two', 0.5, false, '2024-06-30 23:59:59+02', '[1, "x", null]', '{}'),
       (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    `UPDATE ${s}.t_types SET t = 'changed', n = -1.250, j = '{"z": {"y": true}}' WHERE id = 1`,
    `UPDATE ${s}.t_types SET id = 20 WHERE id = 2`,
    `DELETE FROM ${s}.t_types WHERE id = 3`,
    `INSERT INTO ${s}.t_comp VALUES (1, 'x', 'first'), (1, 'y', 'second'), (2, 'x', 'third')`,
    `UPDATE ${s}.t_comp SET v = 'updated' WHERE a = 1 AND b = 'y'`,
    `DELETE FROM ${s}.t_comp WHERE a = 2 AND b = 'x'`,
    `BEGIN; INSERT INTO ${s}.t_types VALUES (4, 4, 'four', 4.000, true, '1999-12-31 23:59:59.9+05:30', '"s"', '{x}'); UPDATE ${s}.t_types SET b = 44 WHERE id = 4; DELETE FROM ${s}.t_comp WHERE a = 1 AND b = 'x'; COMMIT`,
    `TRUNCATE ${s}.t_comp`,
    `INSERT INTO ${s}.t_comp VALUES (3, 'z', 'after truncate')`,
    // A transaction replayed from another server: it carries a replication origin (pgoutput ORIGIN message).
    `SELECT pg_replication_origin_session_setup('${schema}');
     BEGIN; SELECT pg_replication_origin_xact_setup('0/1A2B3C4D', now());
     INSERT INTO ${s}.t_types VALUES (5, 5, 'replicated', 5.5, false, NULL, NULL, NULL); COMMIT;
     SELECT pg_replication_origin_session_reset();`,
  ];
}

interface Ev {
  table: string;
  op: string;
  key: unknown;
  value: Record<string, any> | null;
  partition: number;
  headers: Record<string, string>;
  order: number;
}

function parse(raw: string | null): any {
  return raw === null ? null : JSON.parse(raw);
}

/** Puts one side's records of a table in commit order: by transaction, then LSN; a tombstone follows its delete. */
function ordered(recs: Rec[], table: string): Ev[] {
  const byPartition = new Map<number, Rec[]>();
  for (const r of recs) {
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  const evs: (Ev & { k: [number, number, number] })[] = [];
  for (const list of byPartition.values()) {
    list.sort((a, b) => (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0));
    let prev: [number, number, number] = [0, 0, 0];
    for (const r of list) {
      const value = parse(r.valueRaw);
      let k: [number, number, number];
      if (value) {
        const total = value.transaction?.total_order ?? 0;
        k = [Number(value.source?.txId ?? 0), Number(value.source?.lsn ?? 0), Number(total)];
      } else {
        k = [prev[0], prev[1], prev[2] + 0.5];
      }
      prev = k;
      evs.push({
        table,
        op: value ? String(value.op) : 'tombstone',
        key: parse(r.keyRaw),
        value,
        partition: r.partition,
        headers: r.headers,
        order: 0,
        k,
      });
    }
  }
  evs.sort((a, b) => a.k[0] - b.k[0] || a.k[1] - b.k[1] || a.k[2] - b.k[2]);
  evs.forEach((e, i) => (e.order = i));
  return evs;
}

/** Replaces the values that must differ between the two runs by placeholders that keep their shape. */
function normalise(v: any, path: string, cap: Capture): any {
  if (v === null || v === undefined) return v;
  const leaf = path.split('.').at(-1) ?? '';
  if (/^ts_(ms|us|ns)$/.test(leaf)) return typeof v === 'number' ? '<ts:number>' : `<ts:${typeof v}>`;
  if (path === 'source.lsn') return typeof v === 'number' ? '<lsn:number>' : `<lsn:${typeof v}>`;
  if (path === 'source.txId') return typeof v === 'number' ? '<txId:number>' : `<txId:${typeof v}>`;
  if (path === 'source.version') return `<version:${typeof v}>`;
  if (path === 'source.sequence') return typeof v === 'string' ? v.replace(/\d+/g, 'N') : `<sequence:${typeof v}>`;
  if (path === 'headers.__debezium.context.runId') return '<runId>';
  if (path === 'transaction.id') return typeof v === 'string' ? v.replace(/\d+/g, 'N') : `<id:${typeof v}>`;
  if (typeof v === 'string') return v.split(cap.schema).join('<schema>').split(cap.serverName).join('<server>');
  if (Array.isArray(v)) return v.map((x, i) => normalise(x, `${path}[${i}]`, cap));
  if (typeof v === 'object') {
    const out: Record<string, any> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normalise(x, path ? `${path}.${k}` : k, cap);
    return out;
  }
  return v;
}

function show(v: unknown): string {
  return v === undefined ? '<absent>' : JSON.stringify(v);
}

/** Every leaf difference between a and b, as paths. */
function diff(a: any, b: any, path: string, out: [string, unknown, unknown][]): void {
  const isObj = (x: any) => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) diff(a[k], b[k], path ? `${path}.${k}` : k, out);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => diff(x, b[i], `${path}[${i}]`, out));
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push([path || '<root>', a, b]);
}

async function runSide(cap: Capture, dir: string, admin: ReturnType<typeof kafkaAdmin>): Promise<{ recs: Rec[]; tx: number }> {
  await sql(ddl(cap.schema));
  await createCaptureTopics(admin, cap, TABLES);
  const run = await startCapturer(cap, dir, 1);
  try {
    for (const stmt of dml(cap.schema)) await sql(stmt);
    // Wait until the table topics stop growing (nothing new for 3 s, at most 60 s).
    const tableTopics = TABLES.map((t) => cap.topicOf(t));
    let last = -1;
    let stableSince = Date.now();
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const n = await topicRecordCount(admin, tableTopics);
      if (n !== last) {
        last = n;
        stableSince = Date.now();
      } else if (n > 0 && Date.now() - stableSince > 3000) break;
      await sleep(300);
    }
  } finally {
    await stopCapturer(run);
  }
  const recs = await readAll(
    admin,
    TABLES.map((t) => cap.topicOf(t)),
  );
  const tx = cap.side === 'debezium' ? await topicRecordCount(admin, [`${cap.serverName}.transaction`]) : 0;
  return { recs, tx };
}

async function main(): Promise<number> {
  const dir = runDir('cdc-conformance');
  const admin = kafkaAdmin();
  const pulse = pulseCapture('conf', dir);
  const dbz = debeziumCapture('conf', dir);
  const listFile = process.env.CONFORMANCE_ALLOWLIST || join(import.meta.dirname, 'conformance-allowlist.txt');
  const allowed = allowlist(listFile);
  try {
    note(`pulse on schema ${pulse.schema}`);
    const p = await runSide(pulse, dir, admin);
    note(`debezium on schema ${dbz.schema}`);
    const d = await runSide(dbz, dir, admin);
    let events = 0;
    let differences = 0;
    let notAllowed = 0;
    let countMismatch = false;
    const byPath = new Map<string, { events: number; allowed: boolean }>();
    const count = (g: string, ok: boolean) => {
      const c = byPath.get(g) ?? { events: 0, allowed: ok };
      c.events++;
      byPath.set(g, c);
    };
    if (d.tx > 0) {
      differences++;
      const g = `${TRANSACTION_TOPIC}: pulse=0 debezium=${d.tx} BEGIN/END events on ${dbz.serverName}.transaction`;
      const entry = allowedBy(allowed, g, TRANSACTION_TOPIC);
      if (!entry) notAllowed++;
      console.log(`${entry ? 'ALLOWED' : 'DIFF'} ${g}`);
      count(`${TRANSACTION_TOPIC} (events vary)`, !!entry);
    }
    for (const table of TABLES) {
      const pe = ordered(
        p.recs.filter((r) => r.topic === pulse.topicOf(table)),
        table,
      );
      const de = ordered(
        d.recs.filter((r) => r.topic === dbz.topicOf(table)),
        table,
      );
      if (pe.length !== de.length) {
        countMismatch = true;
        console.log(`COUNT ${table}: pulse=${pe.length} debezium=${de.length}`);
        console.log(`  pulse ops:    ${pe.map((e) => e.op).join(' ')}`);
        console.log(`  debezium ops: ${de.map((e) => e.op).join(' ')}`);
      }
      const n = Math.max(pe.length, de.length);
      for (let i = 0; i < n; i++) {
        const a = pe[i];
        const b = de[i];
        events++;
        const op = a?.op ?? b?.op ?? '?';
        // A record without key goes to whatever partition the producer picks: only keyed partitions compare.
        const keyed = a?.key != null || b?.key != null;
        const A = a
          ? {
              key: normalise(a.key, 'key', pulse),
              value: normalise(a.value, '', pulse),
              partition: keyed ? a.partition : '<unkeyed>',
              headers: normalise(a.headers, 'headers', pulse),
            }
          : undefined;
        const B = b
          ? {
              key: normalise(b.key, 'key', dbz),
              value: normalise(b.value, '', dbz),
              partition: keyed ? b.partition : '<unkeyed>',
              headers: normalise(b.headers, 'headers', dbz),
            }
          : undefined;
        const out: [string, unknown, unknown][] = [];
        diff(A, B, '', out);
        for (const [path, x, y] of out) {
          differences++;
          const difference = `${path}: pulse=${show(x)} debezium=${show(y)}`;
          const entry = allowedBy(allowed, difference, path);
          if (!entry) notAllowed++;
          const g = difference.replace(/^(headers\.__debezium\.newkey|headers\.__debezium\.oldkey): .*/, '$1 (values vary)');
          count(g, !!entry);
          console.log(`${entry ? 'ALLOWED' : 'DIFF'} ${table} ${op} #${i} ${difference}`);
        }
      }
    }
    // The replicated transaction must reach both sides with its origin, or the origin fields go untested.
    const withOrigin = (recs: Rec[]) =>
      recs
        .map((r) => parse(r.valueRaw)?.source)
        .filter((src) => src?.origin != null)
        .map((src) => `${String(src.origin).split(src.schema).join('<schema>')}@${src.origin_lsn}`);
    note(`events with a replication origin: pulse=[${withOrigin(p.recs).join(', ')}] debezium=[${withOrigin(d.recs).join(', ')}]`);
    console.log('differences by path (events):');
    for (const [g, c] of [...byPath].sort((x, y) => y[1].events - x[1].events))
      console.log(`  ${String(c.events).padStart(3)}  ${c.allowed ? 'allowed ' : 'NOT ALLOWED '}${g}`);
    console.log(`allowlist (${listFile}):`);
    for (const e of allowed) console.log(`  ${e.used > 0 ? `used ${e.used}x` : 'unused '}  ${e.pattern} | ${e.why}`);
    console.log(`${events} events compared, ${differences} differences, ${differences - notAllowed} allowed, ${notAllowed} not allowed`);
    if (countMismatch) console.log('FAIL: the event counts differ');
    if (notAllowed > 0) console.log(`FAIL: ${notAllowed} differences are not on the allowlist`);
    if (!countMismatch && notAllowed === 0) console.log('OK: every difference is on the allowlist');
    return countMismatch || notAllowed > 0 ? 1 : 0;
  } finally {
    for (const cap of [pulse, dbz]) {
      await sql(`SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = $1`, [cap.schema]).catch(
        () => undefined,
      );
    }
    await dropCapture(pulse);
    await dropCapture(dbz);
    await deleteTopics(admin, [...pulse.topics, ...dbz.topics]);
    await admin.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`conformance: error: ${(error as Error).stack ?? error}\n`);
    process.exit(2);
  },
);
