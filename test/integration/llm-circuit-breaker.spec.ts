import { randomUUID } from 'node:crypto';
import { CircuitBreakerService } from '../../src/agents/llm/circuit-breaker.service.js';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest } from '../../src/agents/llm/llm.types.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

const COOLDOWN_MS = 400;

describe('LLM circuit breaker shared through Redis, with fallback', () => {
  let fake: FakeLlm;
  let first: LlmTestContext;
  let second: LlmTestContext;

  let userId: string;
  const request = (): LlmCallRequest => ({
    context: { userId, agent: 'coder', runId: randomUUID() },
    messages: [{ role: 'user', content: 'Hello' }],
  });

  beforeAll(async () => {
    fake = await startFakeLlm();
    const env = fakeLlmEnv(fake, {
      LLM_MAX_RETRIES: '1',
      LLM_BREAKER_FAILURE_THRESHOLD: '2',
      LLM_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
      LLM_FALLBACK_ORDER: 'local',
    });
    first = await createLlmContext({ env });
    // A second "worker process": same database and Redis prefix, its own gateway and connections.
    second = await createLlmContext({ env, databaseUrl: first.env.DATABASE_URL, redisPrefix: first.env.REDIS_PREFIX });
    userId = await createUserRow(first.dataSource);
  });
  afterAll(async () => {
    await second.close();
    await first.close();
    await fake.close();
  });

  it('opens on persistent 500s, falls back, is seen open by another instance, half-opens after the cooldown and closes', async () => {
    const gatewayA = first.app.get(LlmGatewayService);
    const gatewayB = second.app.get(LlmGatewayService);
    const breakerB = second.app.get(CircuitBreakerService);
    fake.script((r) =>
      r.model === 'gpt-4o'
        ? { kind: 'error', status: 500, message: 'upstream down' }
        : { text: `served by ${r.model}` },
    );

    // Two consecutive 500s (first attempt + one retry) open openai's circuit; local serves the call.
    const req = request();
    const served = await gatewayA.call(req);
    expect(served).toMatchObject({ provider: 'local', text: 'served by qwen2.5-coder' });
    expect(fake.requests.map((r) => r.model)).toEqual(['gpt-4o', 'gpt-4o', 'qwen2.5-coder']);
    const rows = await first.dataSource.query(
      'SELECT provider, outcome, error_code FROM llm_usage WHERE run_id = $1 ORDER BY attempt',
      [req.context.runId],
    );
    expect(rows).toEqual([
      { provider: 'openai', outcome: 'error', error_code: 'server:500' },
      { provider: 'openai', outcome: 'error', error_code: 'server:500' },
      { provider: 'local', outcome: 'success', error_code: null },
    ]);

    // The other instance sees the open circuit and goes straight to the fallback.
    expect(await breakerB.state('openai')).toBe('open');
    fake.reset();
    fake.script((r) => ({ text: `served by ${r.model}` }));
    expect(await gatewayB.call(request())).toMatchObject({ provider: 'local' });
    expect(fake.requests.map((r) => r.model)).toEqual(['qwen2.5-coder']);

    // After the cooldown one probe reaches openai; it succeeds and closes the circuit for everyone.
    await waitFor(async () => {
      fake.reset();
      fake.script((r) => ({ text: `served by ${r.model}` }));
      const result = await gatewayB.call(request());
      return result.provider === 'openai';
    });
    expect(await first.app.get(CircuitBreakerService).state('openai')).toBe('closed');
    fake.reset();
    expect(await gatewayA.call(request())).toMatchObject({ provider: 'openai' });
  });

  it('re-opens when the half-open probe fails, and lets only one probe through at a time', async () => {
    const breakerA = first.app.get(CircuitBreakerService);
    const breakerB = second.app.get(CircuitBreakerService);
    await breakerA.reset('anthropic');
    await breakerA.recordFailure('anthropic');
    expect(await breakerB.recordFailure('anthropic')).toBe('open');
    expect((await breakerB.acquire('anthropic')).allowed).toBe(false);
    // While open, acquire has no side effect: poll until the cooldown lets one probe through.
    const openedAt = Date.now();
    let probe = await breakerA.acquire('anthropic');
    await waitFor(async () => (probe = await breakerA.acquire('anthropic')).allowed);
    expect(Date.now() - openedAt).toBeGreaterThanOrEqual(COOLDOWN_MS - 50);
    expect(probe).toMatchObject({ allowed: true, probe: true, state: 'half_open' });
    expect((await breakerB.acquire('anthropic')).allowed).toBe(false);
    expect(await breakerB.recordFailure('anthropic')).toBe('open');
    expect((await breakerA.acquire('anthropic')).allowed).toBe(false);
  });
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
