import { status } from '@grpc/grpc-js';
import { ingestV1 } from '@pulse/contracts';
import { grpcClient, type GrpcTlsSettings, PeerClient } from '@pulse/platform';
import { eventually, issueTestApiKey, type TestApiKey } from '@pulse/platform/testing';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'node:tls';
import { createApp, type RunningApp } from '../src/app.factory';

const { ActivityType, EventStatus, TargetType } = ingestV1;
const PROTO = 'pulse/ingest/v1/ingest_service.proto';
const SERVICE = 'pulse.ingest.v1.IngestService';
const STACK = resolve(__dirname, '../../../tools/stack/stack');
const run = randomUUID().slice(0, 8);

// Certificates issued as an operator would locally: `tools/stack/stack certs DIR NAME...` (one CA, a leaf per name).
const dir = mkdtempSync(join(tmpdir(), 'pulse-tls-'));
const other = mkdtempSync(join(tmpdir(), 'pulse-tls-other-'));
const issue = (into: string, ...names: string[]) => execFileSync(STACK, ['certs', into, ...names], { stdio: 'pipe' });
issue(dir, 'ingest', 'simulator');
issue(other, 'intruder'); // a certificate from another CA

const serverTls = {
  GRPC_TLS_CERT_FILE: join(dir, 'ingest.pem'),
  GRPC_TLS_KEY_FILE: join(dir, 'ingest.key'),
  GRPC_TLS_CA_FILE: join(dir, 'ca.pem'),
};
const clientTls: GrpcTlsSettings = {
  caFile: join(dir, 'ca.pem'),
  certFile: join(dir, 'simulator.pem'),
  keyFile: join(dir, 'simulator.key'),
};

let running: RunningApp;
let key: TestApiKey;

beforeAll(async () => {
  running = await createApp({
    GRPC_PORT: '0',
    HTTP_PORT: '0',
    LOG_LEVEL: 'error',
    INGEST_DEDUP_KEY_PREFIX: `test:${run}:tls:`,
    ...serverTls,
    GRPC_TLS_CLIENT_AUTH: 'require',
    GRPC_TLS_RELOAD_INTERVAL: '200ms',
  });
  key = await issueTestApiKey({ label: 'ingest-tls', scopes: ['events:write'], pgUrl: running.config.PULSE_AUTH_PG_URL });
});

afterAll(async () => {
  await running?.close();
  await key?.remove();
  rmSync(dir, { recursive: true, force: true });
  rmSync(other, { recursive: true, force: true });
});

const address = () => running.grpcAddress;

function track(tls: GrpcTlsSettings | undefined, userId: string) {
  const client = grpcClient(address(), PROTO, SERVICE, { credentials: key.key, tls });
  const request = {
    events: [
      {
        eventId: `${userId}-e1`,
        userId,
        type: ActivityType.ACTIVITY_TYPE_LIKE,
        target: { type: TargetType.TARGET_TYPE_POST, id: 'p-1' },
        occurredAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
      },
    ],
  };
  return client.call('TrackEvents', request, { deadlineMs: 5_000 }).finally(() => client.close());
}

/** The serial number of the certificate the server presents to a new connection (a client with a valid certificate). */
function servedSerial(): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port: Number(running.grpcAddress.split(':')[1]),
      servername: 'localhost',
      ALPNProtocols: ['h2'],
      ca: readFileSync(clientTls.caFile!),
      cert: readFileSync(clientTls.certFile!),
      key: readFileSync(clientTls.keyFile!),
    });
    socket.once('secureConnect', () => {
      resolvePromise(socket.getPeerCertificate().serialNumber);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('ingest over mutual TLS', () => {
  it('answers a client with a certificate from its CA', async () => {
    const response = await eventually(
      () => track(clientTls, `tls-${run}-ok`),
      (r) => r !== undefined,
      5_000,
    );
    expect(response?.results[0].status).toBe(EventStatus.EVENT_STATUS_ACCEPTED);
  });

  it('refuses plaintext, TLS without a client certificate, and a certificate from another CA', async () => {
    const refused = async (tls: GrpcTlsSettings | undefined) => {
      const error = await track(tls, `tls-${run}-refused`).then(
        () => undefined,
        (e: { code: number }) => e,
      );
      expect(error?.code).toBe(status.UNAVAILABLE);
    };
    await refused(undefined);
    await refused({ caFile: clientTls.caFile });
    await refused({ caFile: clientTls.caFile, certFile: join(other, 'intruder.pem'), keyFile: join(other, 'intruder.key') });
  });

  it('serves a rotated certificate to new connections without a restart', async () => {
    const before = await servedSerial();
    issue(dir, 'ingest'); // a new leaf, same CA: what cert-manager or a renewed Secret does
    const expected = execFileSync('openssl', ['x509', '-in', serverTls.GRPC_TLS_CERT_FILE, '-noout', '-serial'], { encoding: 'utf8' })
      .trim()
      .replace(/^serial=/, '');
    expect((await eventually(servedSerial, (serial) => serial?.toUpperCase() === expected.toUpperCase(), 5_000))?.toUpperCase()).toBe(
      expected.toUpperCase(),
    );
    expect(expected.toUpperCase()).not.toBe(before.toUpperCase());
    const response = await track(clientTls, `tls-${run}-rotated`);
    expect(response.results[0].status).toBe(EventStatus.EVENT_STATUS_ACCEPTED);
  });

  it('is reached by a peer client built from a service config with GRPC_TLS_*', async () => {
    const peer = new PeerClient({
      name: 'ingest',
      address: address(),
      protoFile: PROTO,
      service: SERVICE,
      credentials: key.key,
      tls: clientTls,
    });
    try {
      const response = await peer.call<{ results: { status: number }[] }>('TrackEvents', {
        events: [
          {
            eventId: `tls-${run}-peer-e1`,
            userId: `tls-${run}-peer`,
            type: ActivityType.ACTIVITY_TYPE_VIEW,
            target: { type: TargetType.TARGET_TYPE_POST, id: 'p-2' },
            occurredAt: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
          },
        ],
      });
      expect(response.results[0].status).toBe(EventStatus.EVENT_STATUS_ACCEPTED);
    } finally {
      peer.close();
    }
  });

  it('refuses to start on TLS settings that cannot work, naming the variable', async () => {
    const refusal = (overrides: Record<string, string>) =>
      createApp({ GRPC_PORT: '0', HTTP_PORT: '0', LOG_LEVEL: 'error', ...overrides }).then(
        async (app) => {
          await app.close();
          return undefined;
        },
        (error: unknown) => error,
      );
    const noKey = await refusal({ GRPC_TLS_CERT_FILE: serverTls.GRPC_TLS_CERT_FILE });
    expect(String(noKey)).toContain('refusing to start');
    expect(String(noKey)).toContain('GRPC_TLS_KEY_FILE');
    const mtlsWithoutCa = await refusal({
      GRPC_TLS_CERT_FILE: serverTls.GRPC_TLS_CERT_FILE,
      GRPC_TLS_KEY_FILE: serverTls.GRPC_TLS_KEY_FILE,
      GRPC_TLS_CLIENT_AUTH: 'require',
    });
    expect(String(mtlsWithoutCa)).toContain('GRPC_TLS_CA_FILE');
    const missing = await refusal({ GRPC_TLS_CA_FILE: join(dir, 'absent.pem') });
    expect(String(missing)).toMatch(/GRPC_TLS_CA_FILE: cannot read/);
  });
});
