import { getQueueToken } from '@nestjs/bullmq';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { CircuitBreakerService } from '../../src/agents/llm/circuit-breaker.service.js';
import { QueueName } from '../../src/queue/queue.constants.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

describe('system status (HTTP)', () => {
  let t: TestApp;
  let admin: RegisteredUser;
  let user: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({
      env: { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', LLM_BREAKER_FAILURE_THRESHOLD: '2' },
    });
    admin = await registerUser(t, { role: 'admin' });
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('is refused to anonymous callers (401) and to users who are not admins (403)', async () => {
    const anonymous = await t.http().get('/api/v1/health/status').expect(401);
    expect(anonymous.body.code).toBe('UNAUTHENTICATED');
    const refused = await t.http().get('/api/v1/health/status').set(user.auth).expect(403);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(refused.body).not.toHaveProperty('queues');
  });

  it('reports the process, every queue with its workers, circuits, the pool and maintenance runs', async () => {
    // A provider whose circuit opened, and a maintenance job that ran (processed here by a worker of the test).
    const breaker = t.app.get(CircuitBreakerService);
    await breaker.recordFailure('openai');
    await breaker.recordFailure('openai');
    const maintenance = t.app.get<Queue>(getQueueToken(QueueName.Maintenance), { strict: false });
    const worker = new Worker(QueueName.Maintenance, async () => ({ removed: 3 }), {
      connection: maintenance.opts.connection,
      prefix: maintenance.opts.prefix,
    });
    const events = new QueueEvents(QueueName.Maintenance, {
      connection: maintenance.opts.connection,
      prefix: maintenance.opts.prefix,
    });
    try {
      await events.waitUntilReady();
      const job = await maintenance.add('trajectory-retention', {});
      await job.waitUntilFinished(events, 15_000);

      const res = await t.http().get('/api/v1/health/status').set(admin.auth).expect(200);
      const body = res.body;
      expect(body.version).toBe('0.1.0');
      expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
      expect(body.memory.rssMiB).toBeGreaterThan(0);
      expect(body.memory.heapUsedMiB).toBeGreaterThan(0);
      expect(body.eventLoopDelayMs).toEqual(
        expect.objectContaining({ mean: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) }),
      );
      const names = (body.queues as Array<{ name: string }>).map((q) => q.name).sort();
      expect(names).toEqual(Object.values(QueueName).sort());
      const agentRuns = (body.queues as Array<{ name: string; counts: object; workers: number }>).find(
        (q) => q.name === String(QueueName.AgentRuns),
      )!;
      expect(agentRuns.counts).toEqual(expect.objectContaining({ waiting: 0, active: 0, failed: 0 }));
      // The in-process worker consumes agent runs and webhook deliveries; the test's worker, maintenance.
      expect(agentRuns.workers).toBeGreaterThanOrEqual(1);
      expect(body.workers.byQueue[QueueName.Maintenance]).toBeGreaterThanOrEqual(1);
      expect(body.workers.total).toBeGreaterThanOrEqual(3);
      expect(body.providers).toEqual(
        expect.arrayContaining([
          { name: 'openai', enabled: true, breaker: 'open' },
          { name: 'anthropic', enabled: false, breaker: 'closed' },
        ]),
      );
      expect(body.database.poolSize).toBeGreaterThan(0);
      expect(body.database.total).toBeGreaterThanOrEqual(body.database.idle);
      expect(body.database.inUse).toBe(body.database.total - body.database.idle);
      expect(body.maintenance.lastRuns[0]).toEqual(
        expect.objectContaining({ id: job.id, name: 'trajectory-retention', status: 'completed' }),
      );
      // Liveness and readiness stay public.
      await t.http().get('/api/v1/health/live').expect(200);
    } finally {
      await worker.close();
      await events.close();
      await breaker.reset('openai');
    }
  });
});
