import { parentPort } from 'node:worker_threads';
import { ItemTables, type ScoringRequest } from './item-scoring';

// A scoring thread of the recommender (ScoringThreads): item tables shared with the service, one answer per `top`.
const port = parentPort;
if (!port) throw new Error('scoring-worker.js runs as a worker thread of the recommender, not on its own');
const tables = new ItemTables();
port.on('message', (request: ScoringRequest) => {
  let reply;
  try {
    reply = tables.handle(request);
  } catch (error) {
    reply = request.kind === 'top' ? { call: request.call, error: error instanceof Error ? error.message : String(error) } : undefined;
  }
  if (!reply) return;
  if ('top' in reply) port.postMessage(reply, [reply.top.indices.buffer, reply.top.scores.buffer]);
  else port.postMessage(reply);
});
