import { Writable } from 'node:stream';
import { createLogger } from './logger';

/** Every line a logger writes, as text. */
function capture() {
  let text = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { logger: createLogger('svc', 'trace', sink), text: () => text };
}

const API_KEY = 'pk_0123456789ab_Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdQ';
const JWT = 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJjb25zb2xlIn0.U2lnbmF0dXJlT2ZUaGVUb2tlbg';
const SECRETS = ['hunter2', 's3cr3t', 'Zm9vYmFyYmF6cXV4', JWT, 'eyJzdWIiOiJjb25zb2xlIn0', 'tok-123', 'pw0rd'];

describe('createLogger redaction', () => {
  it('never writes credentials, tokens, authorization metadata or connection-string passwords', async () => {
    const { logger, text } = capture();
    logger.info(
      {
        metadata: { authorization: `Bearer ${API_KEY}`, 'x-api-key': API_KEY },
        config: { PG_URL: 'postgres://pulse:hunter2@db:5432/pulse', REDIS_URL: 'redis://:s3cr3t@cache:6379', PULSE_API_KEY: API_KEY },
        token: 'tok-123',
        password: 'pw0rd',
      },
      `connecting to postgres://pulse:hunter2@db:5432/pulse with Bearer ${JWT}`,
    );
    logger.warn(`peer refused key ${API_KEY}; retrying redis://:s3cr3t@cache:6379`);
    logger.error({ err: new Error(`connect ECONNREFUSED postgres://pulse:hunter2@db/pulse (authorization: Bearer ${JWT})`) }, 'store down');
    logger.debug({ headers: { Authorization: `Bearer ${JWT}` } }, 'request');
    logger.info('libpq form host=db user=pulse password=hunter2 dbname=pulse');
    await new Promise((resolve) => setImmediate(resolve));

    const out = text();
    expect(out.trim().split('\n')).toHaveLength(5);
    for (const secret of SECRETS) expect(out).not.toContain(secret);
    // What is not secret stays readable: hosts, users, the key's public id.
    expect(out).toContain('postgres://pulse:[redacted]@db:5432/pulse');
    expect(out).toContain('redis://:[redacted]@cache:6379');
    expect(out).toContain('pk_0123456789ab_[redacted]');
    expect(out).toContain('"authorization":"[redacted]"');
  });

  it('leaves ordinary fields and messages as they are', async () => {
    const { logger, text } = capture();
    logger.info(
      { rpc: 'pulse.ingest.v1.IngestService/TrackEvents', principal: { id: 'simulator', kind: 'api-key' }, n: 3 },
      'call authorised',
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(JSON.parse(text())).toMatchObject({
      rpc: 'pulse.ingest.v1.IngestService/TrackEvents',
      principal: { id: 'simulator', kind: 'api-key' },
      n: 3,
      msg: 'call authorised',
    });
  });
});
