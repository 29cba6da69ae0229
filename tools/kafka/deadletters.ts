/**
 * Dead letters of a consumer group (pulse.deadletter.<group>.v1), for operators:
 *
 *   tools/kafka/deadletters list <group>                 counts, source topics and the errors, as JSON
 *   tools/kafka/deadletters replay <group> [--to <topic>] writes them back (to their source topic by default)
 *
 * `replay` records each source record it wrote back on pulse.deadletter.<group>.replayed.v1, so a second run
 * writes back only the dead letters that came since. Kafka: KAFKA_BROKERS (default 127.0.0.1:29092).
 */
import { createLogger, listDeadLetters, PlatformaticKafkaClient, replayDeadLetters } from '@pulse/platform';

const USAGE = 'usage: deadletters list <group> | deadletters replay <group> [--to <topic>]';

async function main(argv: string[]): Promise<number> {
  const [command, group, ...rest] = argv;
  if (!group || (command !== 'list' && command !== 'replay')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let to: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === '--to' && rest[i + 1]) to = rest[++i];
    else {
      process.stderr.write(`unknown argument ${rest[i]}\n${USAGE}\n`);
      return 2;
    }
  }
  if (command === 'list' && to !== undefined) {
    process.stderr.write(`--to is for replay\n${USAGE}\n`);
    return 2;
  }
  const brokers = (process.env['KAFKA_BROKERS'] || '127.0.0.1:29092').split(',');
  const kafka = new PlatformaticKafkaClient({ brokers, clientId: 'pulse-deadletters' }, createLogger('deadletters', 'warn'));
  try {
    const result = command === 'list' ? await listDeadLetters(kafka, group) : await replayDeadLetters(kafka, group, { to });
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await kafka.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`deadletters: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
