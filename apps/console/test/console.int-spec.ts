import { createApp, type RunningApp } from '../src/app.factory';

// Free ports, and nothing shared with other runs.
let app: RunningApp;

beforeAll(async () => {
  app = await createApp({
    HTTP_PORT: '0',
    LOG_LEVEL: 'warn',
  });
});

afterAll(async () => {
  await app?.close();
});

describe('console', () => {
  it('is ready once its dependencies answer', async () => {
    const response = await fetch(`${app.httpUrl}/health/ready`);
    expect(response.status).toBe(200);
  });

  it('answers GET /status with when it started', async () => {
    const response = await fetch(`${app.httpUrl}/status`);
    expect(response.status).toBe(200);
    const status = (await response.json()) as { eventsHandled: number; startedAt: string };
    expect(Date.parse(status.startedAt)).toBeGreaterThan(0);
    expect(status.eventsHandled).toBe(0);
  });
});
