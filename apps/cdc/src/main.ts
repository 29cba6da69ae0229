import 'reflect-metadata';
import { runMain } from '@pulse/platform';
import { createApp } from './app.factory';

// A failure capture cannot recover from (logged with what to do) ends the process non-zero.
runMain(createApp, (running) =>
  running.failure.then(async () => {
    await running.close().catch(() => undefined);
    process.exit(1);
  }),
);
