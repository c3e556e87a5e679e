import { ChildProcess, spawn } from 'node:child_process';
import { freePort, waitFor } from '../support/processes.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/** A throw-away Redis of this test's own, so stopping it disturbs nothing else. */
function startRedis(port: number): ChildProcess {
  return spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
}

const running = (redis: ChildProcess) => redis.exitCode === null && redis.signalCode === null;

async function stop(redis: ChildProcess): Promise<void> {
  if (!running(redis)) return;
  const exited = new Promise((resolve) => redis.once('exit', resolve));
  redis.kill('SIGKILL');
  await exited;
}

describe('readiness (HTTP)', () => {
  let t: TestApp;
  let redis: ChildProcess;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    redis = startRedis(port);
    t = await createTestApp({ env: { REDIS_URL: `redis://127.0.0.1:${port}` } });
  });
  afterAll(async () => {
    // Bring Redis back so the app's clients can close cleanly.
    if (!running(redis)) redis = startRedis(port);
    await waitFor(async () => (await t.http().get('/api/v1/health/ready')).status === 200, 15_000, 'redis to return');
    await t.close();
    await stop(redis);
  });

  it('is ready with database, redis and queue up', async () => {
    const res = await t.http().get('/api/v1/health/ready').expect(200);
    expect(res.body.status).toBe('ok');
    expect(res.body.checks).toMatchObject({
      database: { status: 'up' },
      redis: { status: 'up' },
      queue: { status: 'up', agentRuns: { waiting: expect.any(Number) } },
    });
    // This app hosts the run consumers in-process: its worker is online.
    expect(res.body.checks.queue.workers).toBeGreaterThanOrEqual(1);
  });

  it('answers 503 naming redis when Redis stops, and recovers', async () => {
    await stop(redis);
    const res = await t.http().get('/api/v1/health/ready').expect(503);
    expect(res.body.code).toBe('NOT_READY');
    expect(res.body.detail).toMatch(/^Not ready: redis/);
    expect(res.body.checks.redis.status).toBe('down');
    expect(res.body.checks.database.status).toBe('up');
    await t.http().get('/api/v1/health/live').expect(200);
    redis = startRedis(port);
    await waitFor(
      async () => (await t.http().get('/api/v1/health/ready')).status === 200,
      15_000,
      'readiness to recover',
    );
  });
});

describe('readiness of an API that hosts no worker (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ workerInProcess: false });
  });
  afterAll(async () => {
    await t.close();
  });

  it('is ready, and says no worker is online', async () => {
    const res = await t.http().get('/api/v1/health/ready').expect(200);
    expect(res.body.checks.queue).toMatchObject({ status: 'up', workers: 0 });
  });
});
