/**
 * Fuzzing of every Kafka consumer of a running platform (`./pulse up`, or the brokers of KAFKA_BROKERS):
 *
 *   tools/fuzz/fuzz records [--per-topic N] [--seed S] [--only topic,topic] [--include-erasures]
 *
 * The consumer groups come from the broker (every Stable group and the topics its members read); each topic they
 * read gets N records (default 10,000) that its codec refuses — wire mutations of its protobuf type, broken JSON,
 * random bytes, a few of hundreds of KiB (libs/platform/src/testing/fuzz/malformed-records.ts) — and every group
 * reading it must dead-letter each of them at the decode stage (`pulse.deadletter.<group>.v1`) and go on, while
 * every service stays ready and what it holds in memory comes back. One JSON line per topic; exit 1 on any problem.
 *
 * pulse.privacy.erasures.v1 is left out unless --include-erasures: the erasure list is kept forever and re-read
 * from its start by every service process, so its malformed records would be dead-lettered again at every start.
 * Other topics get one key per run (compaction keeps one of the run's records).
 */
import { deadLetterTopic, topicByName, Topics } from '@pulse/contracts';
import { PlatformaticKafkaClient, SERVICE_LIST } from '@pulse/platform';
import { fuzzTopic, topicFuzzProblems } from '@pulse/platform/testing';
import { type Memory, memoryOf, mib, settledMemory } from './memory';

const USAGE = 'usage: tools/fuzz/fuzz records [--per-topic N] [--seed S] [--only topic,topic] [--include-erasures]';
/** Groups of short-lived readers (tools, scans, tests), not services' consumers. */
const TRANSIENT_GROUPS = /^(pulse-read-|privacy-scan-|e2e-|bench-)/;

interface Args {
  perTopic: number;
  seed: number;
  only?: string[];
  includeErasures: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { perTopic: 10_000, seed: Date.now() % 1_000_000, includeErasures: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--per-topic') args.perTopic = Number(argv[++i]);
    else if (a === '--seed') args.seed = Number(argv[++i]);
    else if (a === '--only') args.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (a === '--include-erasures') args.includeErasures = true;
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  if (!Number.isInteger(args.perTopic) || args.perTopic < 1) throw new Error(`--per-topic must be a positive integer\n${USAGE}`);
  if (!Number.isInteger(args.seed)) throw new Error(`--seed must be an integer\n${USAGE}`);
  return args;
}

const host = process.env['PULSE_FUZZ_HOST'] ?? '127.0.0.1';
const services = SERVICE_LIST.map((s) => ({ name: s.name, http: `http://${host}:${s.httpPort}` }));

/** The services whose readiness endpoint does not answer 200. */
async function unready(): Promise<string[]> {
  const answers = await Promise.all(
    services.map(async (s) => {
      const status = await fetch(`${s.http}/health/ready`).then(
        (r) => r.status,
        () => 0,
      );
      return status === 200 ? undefined : `${s.name} (${status || 'no answer'})`;
    }),
  );
  return answers.filter((a): a is string => a !== undefined);
}

async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const kafka = new PlatformaticKafkaClient({
    brokers: (process.env['KAFKA_BROKERS'] ?? '127.0.0.1:29092').split(','),
    clientId: 'pulse-fuzz-records',
  });
  try {
    const readers = new Map<string, string[]>();
    for (const group of await kafka.admin.consumerGroups()) {
      if (group.state.toUpperCase() !== 'STABLE' || TRANSIENT_GROUPS.test(group.groupId)) continue;
      for (const topic of group.topics) {
        if (topic.startsWith('pulse.deadletter.')) continue;
        if (topic === Topics.privacyErasures.name && !args.includeErasures) continue;
        if (args.only && !args.only.includes(topic)) continue;
        readers.set(topic, [...(readers.get(topic) ?? []), group.groupId]);
      }
    }
    if (readers.size === 0) {
      process.stderr.write('no consumer group reads a topic (is ./pulse up running?)\n');
      return 1;
    }
    process.stderr.write(`seed ${args.seed}; ${readers.size} topics, ${[...readers.values()].flat().length} consumer groups\n`);
    let problems = 0;
    for (const [name, groups] of [...readers.entries()].sort()) {
      const topic = topicByName(name);
      if (!topic) {
        process.stderr.write(`${name}: not a topic of Pulse's registry; skipped\n`);
        continue;
      }
      const before = new Map<string, Memory | undefined>();
      for (const s of services) before.set(s.name, await memoryOf(s.http));
      const report = await fuzzTopic(kafka, topic, { groups, count: args.perTopic, seed: args.seed });
      const found = topicFuzzProblems(report, args.perTopic);
      for (const s of await unready()) found.push(`${s} is not ready after ${name}'s records`);
      const memory: Record<string, { held_before_mib?: number; held_after_mib?: number }> = {};
      await Promise.all(
        services.map(async (s) => {
          const after = await settledMemory(s.http, before.get(s.name));
          memory[s.name] = { held_before_mib: mib(before.get(s.name)?.held), held_after_mib: mib(after?.held) };
          if (after && !after.settled) found.push(`${s.name}: heap + external memory did not come back after ${name}'s records`);
        }),
      );
      problems += found.length;
      process.stdout.write(
        `${JSON.stringify({
          topic: name,
          seed: args.seed,
          records: report.sent,
          groups: Object.fromEntries(report.groups.map((g) => [g.group, g.deadLettered])),
          dead_letter_topics: groups.map((g) => deadLetterTopic(g).name),
          seconds: report.seconds,
          memory,
          problems: found,
        })}\n`,
      );
    }
    return problems === 0 ? 0 : 1;
  } finally {
    await kafka.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
