import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../net/free-port';

/** The workspace root (this file is libs/platform/src/testing/). */
const ROOT = join(__dirname, '..', '..', '..', '..');

export interface ServiceProcess {
  name: string;
  /** The process id (with SERVICE_PROCESSES > 1, the primary's: its workers are its children). */
  pid: number;
  grpcAddress: string;
  httpUrl: string;
  output: () => string;
  /** Whether the process is still running (not exited, not killed). */
  running(): boolean;
  stop(): Promise<void>;
  /** Sends a signal (SIGKILL: a crash) and waits for the process to exit. */
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** The ports a service listens on. */
export interface ServicePorts {
  grpc: number;
  http: number;
}

/**
 * Starts a built service (`dist/apps/<name>/main.js`, as an image would run it) on free ports (or the given ones:
 * a process started again where its peers know it, as behind a Kubernetes Service) with the given environment,
 * and waits until its /health/ready answers 200.
 */
export async function startService(
  name: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
  ports?: ServicePorts,
): Promise<ServiceProcess> {
  const grpcPort = ports?.grpc ?? (await freePort());
  const httpPort = ports?.http ?? (await freePort());
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist', 'apps', name, 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, GRPC_PORT: String(grpcPort), HTTP_PORT: String(httpPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${log}`);
    const ready = await fetch(`${httpUrl}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${name} not ready within ${timeoutMs} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    name,
    pid: child.pid!,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    httpUrl,
    output: () => log,
    running: () => child.exitCode === null && child.signalCode === null,
    kill: (signal) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        // Already gone (stopped before, or killed by a signal): nothing to wait for.
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** Runs a built one-shot command (`dist/apps/<name>/<file> [args]`) to completion. */
export function runBuilt(name: string, file: string, env: Record<string, string>, args: readonly string[] = []): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', name, file), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let log = '';
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    child.on('exit', (code) => (code === 0 ? resolve(log) : reject(new Error(`${name}/${file} exited ${code}:\n${log}`))));
  });
}

/** Polls `read` until `ok` holds or the timeout passes; returns the last value read. */
export async function eventually<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined as T);
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 300));
  }
}
