import 'reflect-metadata';
import { LEADER_ELECTION, type LeaderElection, runMain } from '@pulse/platform';
import { createApp } from './app.factory';

// A replica that lost the leadership of the singleton streams stops them by ending; it comes back as a standby.
runMain(createApp, (running) =>
  running.app.get<LeaderElection>(LEADER_ELECTION).lost.then(async (error) => {
    process.stderr.write(`${error.message}\n`);
    await running.close().catch(() => undefined);
    process.exit(1);
  }),
);
