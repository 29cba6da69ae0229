// Preloaded into the ingest service by the bench (node --require), controlled over the IPC channel:
//   {probe:'start', profile?:boolean}  start measuring (event-loop utilisation, GC pauses, optional CPU profile)
//   {probe:'stop', profileFile?:string} stop; answers {probe:'stats', ...}
// Measuring only the steady-state window keeps start-up and drain out of the numbers.
'use strict';
const { Session } = require('node:inspector');
const { performance, PerformanceObserver } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');

if (typeof process.send === 'function') {
  let elu0;
  let gc = { count: 0, ms: 0, byKind: {} };
  let session;
  const kinds = { 1: 'scavenge', 2: 'mark_sweep_compact', 4: 'incremental', 8: 'weak_callbacks' };
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gc.count++;
      gc.ms += e.duration;
      const kind = kinds[e.detail?.kind] ?? String(e.detail?.kind);
      gc.byKind[kind] = (gc.byKind[kind] ?? 0) + e.duration;
    }
  });

  const post = (method, params) =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));

  process.on('message', async (msg) => {
    if (!msg || typeof msg !== 'object' || !msg.probe) return;
    try {
      if (msg.probe === 'start') {
        gc = { count: 0, ms: 0, byKind: {} };
        observer.observe({ entryTypes: ['gc'] });
        if (msg.profile) {
          session = new Session();
          session.connect();
          await post('Profiler.enable');
          await post('Profiler.setSamplingInterval', { interval: msg.intervalUs ?? 1000 });
          await post('Profiler.start');
        }
        elu0 = performance.eventLoopUtilization();
        process.send({ probe: 'started' });
      } else if (msg.probe === 'stop') {
        const elu = performance.eventLoopUtilization(elu0);
        observer.disconnect();
        let profileFile;
        if (session) {
          const { profile } = await post('Profiler.stop');
          session.disconnect();
          session = undefined;
          if (msg.profileFile) {
            writeFileSync(msg.profileFile, JSON.stringify(profile));
            profileFile = msg.profileFile;
          }
        }
        process.send({
          probe: 'stats',
          eventLoopUtilization: elu.utilization,
          eventLoopActiveMs: elu.active,
          windowMs: elu.active + elu.idle,
          gc,
          profileFile,
        });
      }
    } catch (error) {
      process.send({ probe: 'error', message: String(error && error.stack ? error.stack : error) });
    }
  });
  process.channel?.unref();
}
