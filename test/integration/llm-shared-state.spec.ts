import { randomUUID } from 'node:crypto';
import { CircuitBreakerService } from '../../src/agents/llm/circuit-breaker.service.js';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest } from '../../src/agents/llm/llm.types.js';
import { PgNotifications } from '../../src/database/pg-notifications.js';
import { BudgetService } from '../../src/metrics/budget.service.js';
import { InvalidationBus } from '../../src/redis/invalidation-bus.js';
import { REDIS_CLIENT } from '../../src/redis/redis.constants.js';
import { RedisFactory } from '../../src/redis/redis.factory.js';
import type { Redis } from 'ioredis';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

/**
 * Each process keeps "this user has no limit" and "this circuit is closed" so a call pays no
 * round trip for them; these tests hold the promise that a change made by one process still
 * reaches every other one's next call.
 */
const request = (userId: string): LlmCallRequest => ({
  context: { userId, agent: 'coder', runId: randomUUID() },
  messages: [{ role: 'user', content: 'Hello' }],
  maxTokens: 100,
});

/** Two "processes" (own gateways and connections, same database and Redis prefix). */
function twoProcesses(cacheMs: { breaker: number; budgetLimit: number }) {
  const state = {} as { fake: FakeLlm; first: LlmTestContext; second: LlmTestContext };
  beforeAll(async () => {
    state.fake = await startFakeLlm();
    const env = fakeLlmEnv(state.fake, {
      LLM_MAX_RETRIES: '0',
      LLM_BREAKER_FAILURE_THRESHOLD: '2',
      LLM_BREAKER_COOLDOWN_MS: '60000',
      LLM_BREAKER_CACHE_MS: String(cacheMs.breaker),
      LLM_BUDGET_LIMIT_CACHE_MS: String(cacheMs.budgetLimit),
      LLM_FALLBACK_ORDER: 'local',
    });
    state.first = await createLlmContext({ env });
    state.second = await createLlmContext({
      env,
      databaseUrl: state.first.env.DATABASE_URL,
      redisPrefix: state.first.env.REDIS_PREFIX,
    });
    // The local copies are only used once each process's subscription is confirmed.
    const live = (ctx: LlmTestContext) =>
      ctx.app.get(InvalidationBus).isLive() && ctx.app.get(PgNotifications).isLive();
    await waitFor(async () => live(state.first) && live(state.second));
  });
  afterAll(async () => {
    await state.second?.close();
    await state.first?.close();
    await state.fake?.close();
  });
  beforeEach(async () => {
    state.fake.reset();
    state.fake.script((r) => ({ text: `served by ${r.model}`, usage: { input: 5, output: 5 } }));
    await state.first.app.get(CircuitBreakerService).reset('openai');
  });
  return state;
}

describe('LLM gateway state kept per process, changed by another', () => {
  // Far longer than any test: only the pub/sub messages can make a process forget what it keeps.
  const processes = twoProcesses({ breaker: 60_000, budgetLimit: 3_600_000 });
  let fake: FakeLlm;
  let first: LlmTestContext;
  let second: LlmTestContext;
  beforeEach(() => ({ fake, first, second } = processes));

  it('a budget limit set in one process applies to the next call in another, and so does its removal', async () => {
    const userId = await createUserRow(first.dataSource);
    const gatewayB = second.app.get(LlmGatewayService);
    const budgetsA = first.app.get(BudgetService);
    // B learns, and keeps, that the user has no limit.
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });

    await budgetsA.setLimit(userId, '0.00000000');
    await expect(gatewayB.call(request(userId))).rejects.toMatchObject({ code: 'BUDGET_EXCEEDED' });
    expect(fake.requests).toHaveLength(2);

    await budgetsA.setLimit(userId, null);
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });
    expect(fake.requests).toHaveLength(3);
  });

  it('a budget limit written straight into the database (not through the API) applies within moments', async () => {
    const userId = await createUserRow(first.dataSource);
    const gatewayB = second.app.get(LlmGatewayService);
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });

    await first.dataSource.query('INSERT INTO llm_budgets (user_id, monthly_limit_usd) VALUES ($1, 0)', [userId]);
    const writtenAt = Date.now();
    // The trigger's notification reaches B on its own connection: no echo to wait for here.
    await waitFor(
      () =>
        gatewayB.call(request(userId)).then(
          () => false,
          (error: { code?: string }) => error.code === 'BUDGET_EXCEEDED',
        ),
      5_000,
      5,
    );
    // Moments, not the budget cache's lifetime (an hour here): generous for a loaded machine.
    expect(Date.now() - writtenAt).toBeLessThan(3_000);
  });

  it('a circuit opened by one process stops the next call of another that had seen it closed', async () => {
    const userId = await createUserRow(first.dataSource);
    const gatewayB = second.app.get(LlmGatewayService);
    const breakerA = first.app.get(CircuitBreakerService);
    // B sees openai's circuit closed and keeps it so.
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });

    expect(await breakerA.recordFailure('openai')).toBe('closed');
    expect(await breakerA.recordFailure('openai')).toBe('open');
    fake.reset();
    fake.script((r) => ({ text: `served by ${r.model}` }));
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'local' });
    expect(fake.requests.map((r) => r.model)).toEqual(['qwen2.5-coder']);
  });

  it('a failure counted by one process makes the others report their successes again (consecutive failures)', async () => {
    const userId = await createUserRow(first.dataSource);
    const gatewayB = second.app.get(LlmGatewayService);
    const breakerA = first.app.get(CircuitBreakerService);
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });

    // One failure elsewhere, then a success here: the count starts over, so one more failure does not open.
    expect(await breakerA.recordFailure('openai')).toBe('closed');
    // B's copy of "closed, no failures" goes with the failure's invalidation message: once that has
    // arrived (a few ms; longer on a loaded machine), B reads the count from Redis.
    const breakerB = second.app.get(CircuitBreakerService);
    await waitFor(async () => (await breakerB.acquire('openai')).failures === 1, 5_000, 5);
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });
    expect(await breakerA.recordFailure('openai')).toBe('closed');
  });
});

describe('LLM gateway state kept per process, a message lost', () => {
  const BREAKER_CACHE_MS = 400;
  const processes = twoProcesses({ breaker: BREAKER_CACHE_MS, budgetLimit: 3_600_000 });
  let fake: FakeLlm;
  let first: LlmTestContext;
  let second: LlmTestContext;
  beforeEach(() => ({ fake, first, second } = processes));

  it('a circuit opened without a message is seen after LLM_BREAKER_CACHE_MS at the latest', async () => {
    const userId = await createUserRow(first.dataSource);
    const gatewayB = second.app.get(LlmGatewayService);
    await expect(gatewayB.call(request(userId))).resolves.toMatchObject({ provider: 'openai' });

    // Open the circuit behind the scripts' back: nothing is published.
    const redis = first.app.get<Redis>(REDIS_CLIENT);
    const key = first.app.get(RedisFactory).key('llm', 'breaker', 'openai');
    await redis.hset(key, 'state', 'open', 'opened_at', Date.now(), 'failures', 0);
    const changedAt = Date.now();
    fake.reset();
    fake.script((r) => ({ text: `served by ${r.model}` }));
    await waitFor(async () => (await gatewayB.call(request(userId))).provider === 'local', 5_000, 10);
    // Bounded by the cache's lifetime (plus a loaded machine's scheduling), not never.
    expect(Date.now() - changedAt).toBeLessThan(BREAKER_CACHE_MS + 1_500);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
