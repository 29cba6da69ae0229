import { freePort, peerEnvPrefix } from '@pulse/platform';
import { createApp, type RunningApp } from '../src/app.factory';
import { PEER_NAMES } from '../src/config/console.config';

// Every peer on a port where nothing listens: the console must serve every page and say who is missing.
let app: RunningApp;
const down: Record<string, { grpc: string; http: string }> = {};

beforeAll(async () => {
  const env: Record<string, string> = { HTTP_PORT: '0', LOG_LEVEL: 'warn', CONSOLE_CALL_DEADLINE: '1s', CONSOLE_SAMPLE_INTERVAL: '500ms' };
  for (const name of PEER_NAMES) {
    down[name] = { grpc: `127.0.0.1:${await freePort()}`, http: `http://127.0.0.1:${await freePort()}` };
    env[`${peerEnvPrefix(name)}_GRPC_ADDR`] = down[name].grpc;
    env[`${peerEnvPrefix(name)}_HTTP_URL`] = down[name].http;
  }
  app = await createApp(env);
});

afterAll(async () => {
  await app?.close();
});

const get = async (path: string) => {
  const response = await fetch(`${app.httpUrl}${path}`);
  return { status: response.status, text: await response.text() };
};
const post = async (path: string, body: unknown) => {
  const response = await fetch(`${app.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { error?: Record<string, unknown>; message?: string } };
};

describe('console with every service down', () => {
  it('is ready itself: its readiness does not depend on the services it shows', async () => {
    expect((await get('/health/ready')).status).toBe(200);
  });

  it('renders every page, each panel naming the unreachable service and its address', async () => {
    const overview = await get('/');
    expect(overview.status).toBe(200);
    for (const name of PEER_NAMES) expect(overview.text).toMatch(new RegExp(`data-service="${name}" data-ready="unreachable"`));
    expect(overview.text).toContain(`data-unreachable="cdc"`);
    expect(overview.text).toContain(down['cdc'].grpc);
    const user = await get('/users/u-1');
    expect(user.text).toContain(`<strong>storage</strong> unreachable at <code>${down['storage'].grpc}</code>`);
    expect(user.text).toContain(`<strong>recommender</strong> unreachable at <code>${down['recommender'].grpc}</code>`);
    expect((await get('/models')).text).toContain(`data-unreachable="recommender"`);
    expect((await get('/lake')).text).toContain(`data-unreachable="etl"`);
    expect((await get('/lake/activity_bronze')).text).toContain(down['etl'].grpc);
    const insights = await get('/insights');
    expect(insights.status).toBe(200);
    expect(insights.text).toContain(`<strong>analytics</strong> unreachable at <code>${down['analytics'].grpc}</code>`);
    expect((await get('/api/charts/insights/active-users')).status).toBe(503);
    const experiments = await get('/experiments');
    expect(experiments.status).toBe(200);
    expect(experiments.text).toContain(`<strong>experiments</strong> unreachable at <code>${down['experiments'].grpc}</code>`);
    expect((await get('/experiments/demo-ab')).text).toContain(
      `<strong>experiments</strong> unreachable at <code>${down['experiments'].grpc}</code>`,
    );
  });

  it('answers an action whose service is down with 503, naming the service and address', async () => {
    const like = await post('/api/users/u-1/events', { type: 'LIKE', itemId: 'p-1', recommendationId: 'r-1' });
    expect(like.status).toBe(503);
    expect(like.body.error).toMatchObject({ service: 'ingest', address: down['ingest'].grpc, unreachable: true });
    const rollback = await post('/api/models/rollback', {});
    expect(rollback.status).toBe(503);
    expect(rollback.body.error).toMatchObject({ service: 'recommender' });
  });
});

describe('console input', () => {
  it('refuses bad input before asking any service, saying which field and why', async () => {
    const badType = await post('/api/users/u-1/events', { type: 'SHARE', itemId: 'p-1' });
    expect(badType.status).toBe(400);
    expect(badType.body.error).toMatchObject({ status: 'INVALID_ARGUMENT', reason: 'type: LIKE or HIDE' });
    const badUser = await post(`/api/users/${'u'.repeat(129)}/events`, { type: 'LIKE', itemId: 'p-1' });
    expect(badUser.body.error?.['reason']).toMatch(/^user_id: /);
    expect((await post('/api/models/not%20a%20version/promote', {})).status).toBe(400);
    const preview = await get('/panels/lake/activity_bronze/preview?version=-3&limit=5');
    expect(preview.text).toContain('data-status="INVALID_ARGUMENT"');
    expect(preview.text).toContain('version: a table version is a whole number');
    expect((await get(`/users/${encodeURIComponent('has space')}`)).text).toContain('printable ASCII without spaces');
  });
});

describe('console assets', () => {
  it('serves its script, its styles and the chart library itself, and its pages load nothing from elsewhere', async () => {
    for (const path of ['/assets/console.js', '/assets/console.css', '/assets/vendor/uPlot.esm.js', '/assets/vendor/uPlot.min.css']) {
      expect({ path, status: (await get(path)).status }).toEqual({ path, status: 200 });
    }
    for (const path of ['/', '/users/u-1', '/models', '/lake', '/experiments']) {
      const { text } = await get(path);
      expect(text).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
  });
});
