import 'reflect-metadata';
import { createApp } from './app.factory';

createApp()
  .then((running) =>
    // A failure capture cannot recover from (logged with what to do) ends the process non-zero.
    running.failure.then(async () => {
      await running.close().catch(() => undefined);
      process.exit(1);
    }),
  )
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
