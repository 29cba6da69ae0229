// Preloaded into the ingest service by the bench (node --require), controlled over the IPC channel:
//   {probe:'start', profile?:boolean}  start measuring (event-loop utilisation, GC pauses, optional CPU profile)
//   {probe:'stop', profileFile?:string} stop; answers {probe:'stats', ...}
// Measuring only the steady-state window keeps start-up and drain out of the numbers.
'use strict';
const { Session } = require('node:inspector');
const { performance, PerformanceObserver } = require('node:perf_hooks');
const { writeFileSync } = require('node:fs');
const cluster = require('node:cluster');

function relay(msg) {
  const workers = Object.values(cluster.workers);
  const want = msg.probe === 'start' ? 'started' : 'stats';
  const answers = [];
  const onMessage = (_worker, m) => {
    if (!m || (m.probe !== want && m.probe !== 'error')) return;
    answers.push(m);
    if (answers.length < workers.length) return;
    cluster.off('message', onMessage);
    const failed = answers.find((a) => a.probe === 'error');
    if (failed || want === 'started') return process.send(failed ?? { probe: 'started' });
    const mean = (f) => answers.reduce((sum, a) => sum + f(a), 0) / answers.length;
    const byKind = {};
    for (const a of answers) for (const [k, v] of Object.entries(a.gc.byKind)) byKind[k] = (byKind[k] ?? 0) + v / answers.length;
    process.send({
      probe: 'stats',
      eventLoopUtilization: mean((a) => a.eventLoopUtilization),
      eventLoopActiveMs: mean((a) => a.eventLoopActiveMs),
      windowMs: mean((a) => a.windowMs),
      gc: { count: mean((a) => a.gc.count), ms: mean((a) => a.gc.ms), byKind },
      profileFile: answers.find((a) => a.profileFile)?.profileFile,
      workers: answers.length,
    });
  };
  cluster.on('message', onMessage);
  workers.forEach((w, i) => w.send(i === 0 || !msg.profileFile ? msg : { ...msg, profileFile: `${msg.profileFile}.${i}` }));
}

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
    // The primary of a clustered service (SERVICE_PROCESSES > 1) serves nothing: it asks its workers, which run this
    // probe too, and answers with their figures (event loop and GC per worker averaged, the first worker's profile).
    if (cluster.isPrimary && Object.keys(cluster.workers ?? {}).length > 0) return relay(msg);
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
