import { randomUUID } from 'node:crypto';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { createTestApp, TestApp } from '../support/test-app.js';

describe('metrics API: /api/v1/metrics/usage and /budget', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let admin: RegisteredUser;
  const taskId = randomUUID();

  beforeAll(async () => {
    fake = await startFakeLlm();
    t = await createTestApp({ env: fakeLlmEnv(fake) });
    [alice, bob, admin] = await Promise.all([registerUser(t), registerUser(t), registerUser(t, { role: 'admin' })]);
    // Real gateway calls make the usage: 1000 in / 100 out on gpt-4o = 0.0035; on claude-sonnet-4-6 = 0.0045.
    const gateway = t.app.get(LlmGatewayService);
    fake.script(() => ({ text: 'ok', usage: { input: 1000, output: 100 } }));
    const call = (userId: string, agent: 'planner' | 'coder', model?: string) =>
      gateway.call({ context: { userId, agent, taskId }, model, messages: [{ role: 'user', content: 'hi' }] });
    await call(alice.id, 'planner');
    await call(alice.id, 'coder');
    await call(alice.id, 'coder', 'anthropic:claude-sonnet-4-6');
    await call(bob.id, 'coder');
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  describe('GET /usage', () => {
    it('sums the signed-in user’s usage, grouped as asked', async () => {
      const total = await t.http().get('/api/v1/metrics/usage').set(alice.auth).expect(200);
      expect(total.body).toEqual({
        items: [],
        total: {
          calls: 3,
          inputTokens: 3000,
          cachedInputTokens: 0,
          cacheWriteTokens: 0,
          outputTokens: 300,
          costUsd: '0.01150000',
        },
      });

      const byModel = await t.http().get('/api/v1/metrics/usage?groupBy=model').set(alice.auth).expect(200);
      expect(byModel.body.items).toEqual([
        {
          key: 'anthropic:claude-sonnet-4-6',
          calls: 1,
          inputTokens: 1000,
          cachedInputTokens: 0,
          cacheWriteTokens: 0,
          outputTokens: 100,
          costUsd: '0.00450000',
        },
        {
          key: 'openai:gpt-4o',
          calls: 2,
          inputTokens: 2000,
          cachedInputTokens: 0,
          cacheWriteTokens: 0,
          outputTokens: 200,
          costUsd: '0.00700000',
        },
      ]);
      const byAgent = await t.http().get('/api/v1/metrics/usage?groupBy=agent').set(alice.auth).expect(200);
      expect(byAgent.body.items.map((i: { key: string; calls: number }) => [i.key, i.calls])).toEqual([
        ['coder', 2],
        ['planner', 1],
      ]);
      const byProvider = await t.http().get('/api/v1/metrics/usage?groupBy=provider').set(alice.auth).expect(200);
      expect(byProvider.body.items.map((i: { key: string }) => i.key)).toEqual(['anthropic', 'openai']);
      const byTask = await t.http().get('/api/v1/metrics/usage?groupBy=task').set(alice.auth).expect(200);
      expect(byTask.body.items).toEqual([expect.objectContaining({ key: taskId, calls: 3 })]);
      const byDay = await t.http().get('/api/v1/metrics/usage?groupBy=day').set(alice.auth).expect(200);
      expect(byDay.body.items).toEqual([
        expect.objectContaining({ key: new Date().toISOString().slice(0, 10), calls: 3 }),
      ]);
    });

    it('filters by date range', async () => {
      const today = new Date().toISOString().slice(0, 10);
      const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
      const inRange = await t
        .http()
        .get(`/api/v1/metrics/usage?from=${today}&to=${tomorrow}`)
        .set(alice.auth)
        .expect(200);
      expect(inRange.body.total.calls).toBe(3);
      const future = await t
        .http()
        .get(`/api/v1/metrics/usage?from=${tomorrow}&groupBy=day`)
        .set(alice.auth)
        .expect(200);
      expect(future.body).toEqual({
        items: [],
        total: {
          calls: 0,
          inputTokens: 0,
          cachedInputTokens: 0,
          cacheWriteTokens: 0,
          outputTokens: 0,
          costUsd: '0.00000000',
        },
      });
    });

    it('shows users only their own usage; admins may pass ?userId=', async () => {
      const own = await t.http().get('/api/v1/metrics/usage').set(bob.auth).expect(200);
      expect(own.body.total).toEqual({
        calls: 1,
        inputTokens: 1000,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 100,
        costUsd: '0.00350000',
      });
      const denied = await t.http().get(`/api/v1/metrics/usage?userId=${alice.id}`).set(bob.auth).expect(403);
      expect(denied.body.code).toBe('FORBIDDEN');
      const asAdmin = await t.http().get(`/api/v1/metrics/usage?userId=${alice.id}`).set(admin.auth).expect(200);
      expect(asAdmin.body.total.calls).toBe(3);
      const adminOwn = await t.http().get('/api/v1/metrics/usage').set(admin.auth).expect(200);
      expect(adminOwn.body.total.calls).toBe(0);
      const unknown = await t.http().get(`/api/v1/metrics/usage?userId=${randomUUID()}`).set(admin.auth).expect(404);
      expect(unknown.body.code).toBe('USER_NOT_FOUND');
    });

    it('rejects bad input with 400 and anonymous callers with 401', async () => {
      for (const query of [
        'groupBy=week',
        'from=yesterday',
        'to=2026-13-40',
        'userId=not-a-uuid',
        'from=2026-11-02&to=2026-11-01',
        'extra=1',
      ]) {
        const res = await t.http().get(`/api/v1/metrics/usage?${query}`).set(alice.auth).expect(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
      }
      await t.http().get('/api/v1/metrics/usage').expect(401);
    });
  });

  describe('GET/PUT /budget', () => {
    it('starts without a limit, showing this month’s spend', async () => {
      const res = await t.http().get('/api/v1/metrics/budget').set(alice.auth).expect(200);
      expect(res.body).toMatchObject({
        monthlyLimitUsd: null,
        spentUsd: '0.01150000',
        reservedUsd: '0.00000000',
        remainingUsd: null,
      });
      expect(Date.parse(res.body.periodStart)).toBeLessThanOrEqual(Date.now());
      expect(Date.parse(res.body.periodEnd)).toBeGreaterThan(Date.now());
    });

    it('sets, normalises and removes the limit; each user has their own', async () => {
      const set = await t
        .http()
        .put('/api/v1/metrics/budget')
        .set(alice.auth)
        .send({ monthlyLimitUsd: 12.5 })
        .expect(200);
      expect(set.body).toMatchObject({ monthlyLimitUsd: '12.50000000', remainingUsd: '12.48850000' });
      await t.http().put('/api/v1/metrics/budget').set(alice.auth).send({ monthlyLimitUsd: '0.01' }).expect(200);
      expect((await t.http().get('/api/v1/metrics/budget').set(bob.auth).expect(200)).body.monthlyLimitUsd).toBeNull();

      // Over budget: the next model call is refused before reaching a provider.
      const before = fake.requests.length;
      await expect(
        t.app
          .get(LlmGatewayService)
          .call({ context: { userId: alice.id, agent: 'coder' }, messages: [{ role: 'user', content: 'hi' }] }),
      ).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED', status: 402 });
      expect(fake.requests.length).toBe(before);

      const cleared = await t
        .http()
        .put('/api/v1/metrics/budget')
        .set(alice.auth)
        .send({ monthlyLimitUsd: null })
        .expect(200);
      expect(cleared.body).toMatchObject({ monthlyLimitUsd: null, remainingUsd: null });
    });

    it('rejects bad input with 400 and anonymous callers with 401', async () => {
      for (const body of [
        {},
        { monthlyLimitUsd: -1 },
        { monthlyLimitUsd: '1.123456789' },
        { monthlyLimitUsd: 'ten' },
        { monthlyLimitUsd: 1, extra: true },
      ]) {
        const res = await t.http().put('/api/v1/metrics/budget').set(alice.auth).send(body).expect(400);
        expect(res.body.code).toBe('VALIDATION_FAILED');
      }
      await t.http().get('/api/v1/metrics/budget').expect(401);
      await t.http().put('/api/v1/metrics/budget').send({ monthlyLimitUsd: 1 }).expect(401);
    });
  });

  it('publishes the routes in the OpenAPI document', async () => {
    const doc = await t.http().get('/api/docs-json').expect(200);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/metrics/usage', '/api/v1/metrics/budget']),
    );
    expect(Object.keys(doc.body.paths)).not.toContain('/metrics');
  });
});
