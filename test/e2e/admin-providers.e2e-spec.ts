import { randomUUID } from 'node:crypto';
import { LatencyTrackerService } from '../../src/agents/llm/latency-tracker.service.js';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest } from '../../src/agents/llm/llm.types.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, fakeLlmEnv, LlmTestContext } from '../support/llm.js';
import { createTestApp, TestApp } from '../support/test-app.js';

describe('Admin provider controls: one API process, one worker process', () => {
  let fake: FakeLlm;
  let api: TestApp;
  let worker: LlmTestContext;
  let admin: RegisteredUser;
  let member: RegisteredUser;

  beforeAll(async () => {
    fake = await startFakeLlm();
    const env = fakeLlmEnv(fake, {
      AGENT_MODELS: 'coder=anthropic:claude-sonnet-4-6|openai:gpt-4o',
      LLM_FALLBACK_ORDER: 'google:gemini-2.5-flash',
      LLM_LATENCY_SYNC_MS: '50',
    });
    api = await createTestApp({ env });
    // The worker: its own Nest context, Redis connections and caches, sharing the database and Redis prefix.
    worker = await createLlmContext({ env, databaseUrl: api.databaseUrl, redisPrefix: api.redisPrefix });
    admin = await registerUser(api, { role: 'admin' });
    member = await registerUser(api);
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await fake?.close();
  });
  afterEach(() => fake.reset());

  const coderCall = (): LlmCallRequest => ({
    context: { userId: member.id, agent: 'coder', runId: randomUUID() },
    messages: [{ role: 'user', content: 'Add two numbers.' }],
  });
  const providers = (who: RegisteredUser) => api.http().get('/api/v1/admin/providers').set(who.auth);
  const patch = (who: RegisteredUser, name: string, body: unknown) =>
    api
      .http()
      .patch(`/api/v1/admin/providers/${name}`)
      .set(who.auth)
      .send(body as object);

  it('routes among the candidates by cost when nothing is switched (gpt-4o is the cheaper one)', async () => {
    const result = await worker.app.get(LlmGatewayService).call(coderCall());
    expect(result.provider).toBe('openai');
    expect(result.routing).toEqual({
      candidates: ['anthropic:claude-sonnet-4-6', 'openai:gpt-4o'],
      chosen: 'openai:gpt-4o',
      reason: expect.stringContaining('lowest score'),
    });
  });

  it('a provider an admin disables in the API process is skipped by the very next call of the worker', async () => {
    const gateway = worker.app.get(LlmGatewayService);
    // The worker holds its copy of the (empty) switches from the call before.
    expect((await gateway.call(coderCall())).provider).toBe('openai');
    fake.reset();

    const res = await patch(admin, 'openai', { disabled: true }).expect(200);
    expect(res.body).toMatchObject({ name: 'openai', enabled: true, disabled: true, forced: false });

    const next = await gateway.call(coderCall());
    expect(next.provider).toBe('anthropic');
    expect(next.routing?.reason).toContain('openai:gpt-4o skipped: disabled by admin');
    expect(fake.requests.map((r) => r.format)).toEqual(['anthropic']);

    await patch(admin, 'openai', { disabled: false }).expect(200);
    expect((await gateway.call(coderCall())).provider).toBe('openai');
  });

  it('a forced provider serves every call while it can, and forcing one un-forces the others', async () => {
    const gateway = worker.app.get(LlmGatewayService);
    await patch(admin, 'google', { forced: true }).expect(200);
    const forced = await gateway.call(coderCall());
    expect(forced).toMatchObject({ provider: 'google', model: 'gemini-2.5-flash' });
    expect(forced.routing?.reason).toBe('forced by admin (google)');

    await patch(admin, 'anthropic', { forced: true }).expect(200);
    expect((await gateway.call(coderCall())).provider).toBe('anthropic');
    const list = await providers(admin).expect(200);
    const forcedNames = (list.body.items as { name: string; forced: boolean }[]).filter((i) => i.forced);
    expect(forcedNames.map((i) => i.name)).toEqual(['anthropic']);
    await patch(admin, 'anthropic', { forced: false }).expect(200);
  });

  it('lists every provider with its state, breaker, latency and spend today', async () => {
    await worker.app.get(LatencyTrackerService).sync();
    const res = await providers(admin).expect(200);
    const items = res.body.items as Record<string, unknown>[];
    expect(items.map((i) => i.name)).toEqual(['openai', 'anthropic', 'google', 'local', 'openrouter']);
    const openai = items.find((i) => i.name === 'openai');
    expect(openai).toMatchObject({ enabled: true, disabled: false, forced: false, breaker: 'closed' });
    expect(openai?.latencyP50Ms).toEqual(expect.any(Number));
    expect(Number(openai?.latencyP95Ms)).toBeGreaterThanOrEqual(Number(openai?.latencyP50Ms));
    expect(Number(openai?.spentTodayUsd)).toBeGreaterThan(0);
    expect(items.find((i) => i.name === 'openrouter')).toMatchObject({
      enabled: false,
      latencyP50Ms: null,
      latencyP95Ms: null,
      spentTodayUsd: '0.00000000',
    });
  });

  it('records each change as an audit event', async () => {
    const rows = await worker.dataSource.query<{ actor_id: string; data: { provider: string } }[]>(
      `SELECT actor_id, data FROM audit_events WHERE action = 'llm.provider_updated' ORDER BY at`,
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(rows[0]).toMatchObject({ actor_id: admin.id, data: { provider: 'openai' } });
  });

  it('refuses non-admins, unknown providers and bad bodies, changing nothing', async () => {
    await providers(member).expect(403);
    await patch(member, 'openai', { disabled: true }).expect(403);
    await patch(admin, 'nope', { disabled: true }).expect(404);
    for (const body of [{}, { disabled: 'yes' }, { disabled: true, forced: true }, { disabled: true, extra: 1 }]) {
      const res = await patch(admin, 'openai', body);
      expect([400]).toContain(res.status);
      expect(res.body.code).toBeDefined();
    }
    const conflict = await patch(admin, 'openrouter', { forced: true }).expect(409);
    expect(conflict.body.code).toBe('PROVIDER_NOT_CONFIGURED');
    const items = (await providers(admin).expect(200)).body.items as { disabled: boolean; forced: boolean }[];
    expect(items.every((i) => !i.disabled && !i.forced)).toBe(true);
  });
});
