import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { grpcTlsProblems, grpcTlsSettings, PemFilesCertificateProvider } from './tls';

const STACK = resolve(__dirname, '../../../../tools/stack/stack');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pulse-tls-spec-'));
  execFileSync(STACK, ['certs', dir, 'a', 'b'], { stdio: 'pipe' });
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('grpcTlsSettings / grpcTlsProblems', () => {
  it('is plaintext without a certificate or a CA', () => {
    expect(grpcTlsSettings({ GRPC_TLS_CERT_FILE: '', GRPC_TLS_CA_FILE: '' })).toBeUndefined();
    expect(grpcTlsProblems({})).toEqual([]);
  });

  it('names the variable of settings that cannot work', () => {
    const variables = (config: Parameters<typeof grpcTlsProblems>[0]) => grpcTlsProblems(config).map((p) => p.variable);
    expect(variables({ GRPC_TLS_CERT_FILE: join(dir, 'a.pem') })).toEqual(['GRPC_TLS_KEY_FILE']);
    expect(variables({ GRPC_TLS_CLIENT_AUTH: 'require', GRPC_TLS_CA_FILE: join(dir, 'ca.pem') })).toEqual(['GRPC_TLS_CLIENT_AUTH']);
    expect(grpcTlsProblems({ GRPC_TLS_CA_FILE: join(dir, 'nope.pem') })).toEqual([
      { variable: 'GRPC_TLS_CA_FILE', message: `cannot read ${join(dir, 'nope.pem')}` },
    ]);
    expect(
      grpcTlsProblems({
        GRPC_TLS_CERT_FILE: join(dir, 'a.pem'),
        GRPC_TLS_KEY_FILE: join(dir, 'a.key'),
        GRPC_TLS_CA_FILE: join(dir, 'ca.pem'),
        GRPC_TLS_CLIENT_AUTH: 'require',
      }),
    ).toEqual([]);
  });
});

describe('PemFilesCertificateProvider', () => {
  it('publishes a new pair, and keeps the last good one while the key does not match the certificate', async () => {
    const cert = join(dir, 'live.pem');
    const key = join(dir, 'live.key');
    copyFileSync(join(dir, 'a.pem'), cert);
    copyFileSync(join(dir, 'a.key'), key);
    const provider = new PemFilesCertificateProvider({ certFile: cert, keyFile: key }, 60_000);
    const seen: (Buffer | undefined)[] = [];
    const listener = (update: { certificate: Buffer } | null) => seen.push(update?.certificate);
    provider.addIdentityCertificateListener(listener);
    await Promise.resolve();
    expect(seen).toEqual([readFileSync(join(dir, 'a.pem'))]);

    copyFileSync(join(dir, 'b.pem'), cert); // half a rotation: b's certificate beside a's key
    expect(provider.reload()).toBe(false);
    expect(provider.lastError).toMatch(/live\.pem/);
    expect(seen).toHaveLength(1);

    copyFileSync(join(dir, 'b.key'), key);
    expect(provider.reload()).toBe(true);
    expect(provider.lastError).toBeUndefined();
    expect(seen).toEqual([readFileSync(join(dir, 'a.pem')), readFileSync(join(dir, 'b.pem'))]);

    expect(provider.reload()).toBe(false); // unchanged files publish nothing
    writeFileSync(key, 'not a key');
    expect(provider.reload()).toBe(false);
    expect(seen).toHaveLength(2);
    provider.removeIdentityCertificateListener(listener);
  });
});
