// Integration tests need the real stack (tools/stack). Fail fast, naming what is missing, instead of
// letting every test time out against a closed port.
const net = require('node:net');

const endpoints = {
  kafka: process.env.KAFKA_BROKERS?.split(',')[0] ?? '127.0.0.1:29092',
  cassandra: process.env.CASSANDRA_CONTACT_POINTS?.split(',')[0] ?? '127.0.0.1:29042',
  postgres: new URL(process.env.PG_URL ?? 'postgres://pulse:pulse@127.0.0.1:25432/pulse').host,
  redis: (process.env.REDIS_URL ?? 'redis://127.0.0.1:26379').replace(/^redis:\/\//, ''),
  s3proxy: new URL(process.env.S3_ENDPOINT || 'http://127.0.0.1:29000').host,
};

function reachable(address) {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port), timeout: 1500 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(false));
  });
}

module.exports = async () => {
  const missing = [];
  for (const [name, address] of Object.entries(endpoints)) {
    if (!(await reachable(address))) missing.push(`${name} (${address})`);
  }
  if (missing.length > 0) {
    throw new Error(`integration tests need the local stack; not reachable: ${missing.join(', ')}. Start it with: tools/stack/stack up`);
  }
};
