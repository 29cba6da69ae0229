import * as grpc from '@grpc/grpc-js';
import { GRPC_SERVER_CHANNEL_OPTIONS } from './grpc-transport';

// A call in flight when its connection reaches its max age must get the grace to finish (long uploads, bulk imports).
const identity = (b: Buffer) => b;
const SLOW = {
  slow: {
    path: '/pulse.test.Slow/Slow',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} as grpc.ServiceDefinition;

/** A server with `options` whose one method answers after `ms`; resolves with how the call ended. */
async function callAcrossMaxAge(options: grpc.ServerOptions, ms: number): Promise<string> {
  const server = new grpc.Server(options);
  server.addService(SLOW, {
    slow: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => setTimeout(() => done(null, Buffer.from('ok')), ms),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  const Client = grpc.makeGenericClientConstructor(SLOW, 'Slow');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    return await new Promise<string>((resolve) =>
      (client as any).slow(Buffer.from('x'), (error: grpc.ServiceError | null) =>
        resolve(error ? `${grpc.status[error.code]}: ${error.details}` : 'ok'),
      ),
    );
  } finally {
    client.close();
    server.forceShutdown();
  }
}

describe('GRPC_SERVER_CHANNEL_OPTIONS', () => {
  // The connection ages out after ~300 ms; the call takes 1.5 s.
  const aged = { ...GRPC_SERVER_CHANNEL_OPTIONS, 'grpc.max_connection_age_ms': 300 };

  it('lets a call in flight when its connection ages out finish within the grace', async () => {
    expect(await callAcrossMaxAge(aged, 1500)).toBe('ok');
  });

  it('sends no keepalive pings: with them, grpc-js drops the aged connection and its calls at the next ping', async () => {
    // If this starts answering "ok", grpc-js no longer kills closing connections on a ping: server pings can return.
    expect(await callAcrossMaxAge({ ...aged, 'grpc.keepalive_time_ms': 600, 'grpc.keepalive_timeout_ms': 20_000 }, 1500)).toBe(
      'UNAVAILABLE: Connection dropped',
    );
    expect(Object.keys(GRPC_SERVER_CHANNEL_OPTIONS)).not.toContain('grpc.keepalive_time_ms');
  });
});
