// Worker-thread wrapper of client.ts: one gRPC client per worker, driven by run.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { type ClientConfig, type CoordinatorMessage, runClient } from './client.ts';

runClient(
  workerData as ClientConfig,
  (m) => parentPort!.postMessage(m),
  (handler) => parentPort!.on('message', (m: CoordinatorMessage) => handler(m)),
);
