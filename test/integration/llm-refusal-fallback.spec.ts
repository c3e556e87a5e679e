import { randomUUID } from 'node:crypto';
import { CircuitBreakerService } from '../../src/agents/llm/circuit-breaker.service.js';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest } from '../../src/agents/llm/llm.types.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

/**
 * A revoked key (401/403) or an unknown model (404) on one provider is that provider's fault, not
 * the request's: the gateway does not retry it, moves on along the route and says why; a 400 is the
 * request's fault and stops the call. Every provider speaks its real wire protocol through its SDK;
 * the fake accepts only `good-key`, and OpenAI is configured with a revoked one.
 */
describe('LLM gateway: a refused key or model falls back, a refused request does not', () => {
  let fake: FakeLlm;
  let ctx: LlmTestContext;
  let gateway: LlmGatewayService;
  let userId: string;

  const request = (over: Partial<LlmCallRequest> = {}): LlmCallRequest => ({
    context: { userId, agent: 'planner', taskId: randomUUID(), runId: randomUUID() },
    messages: [
      { role: 'system', content: 'You plan.' },
      { role: 'user', content: 'Write a fizzbuzz.' },
    ],
    ...over,
  });

  const usageRows = async (runId: string) => {
    const rows: { provider: string; model: string; outcome: string; error_code: string | null }[] =
      await ctx.dataSource.query(
        'SELECT provider, model, outcome, error_code FROM llm_usage WHERE run_id = $1 ORDER BY attempt',
        [runId],
      );
    return rows.map((r) => [r.provider, r.model, r.outcome, r.error_code]);
  };

  beforeAll(async () => {
    fake = await startFakeLlm({ apiKey: 'good-key' });
    ctx = await createLlmContext({
      env: fakeLlmEnv(fake, {
        OPENAI_API_KEY: 'revoked-key',
        ANTHROPIC_API_KEY: 'good-key',
        GOOGLE_API_KEY: 'good-key',
        LOCAL_LLM_API_KEY: 'good-key',
        DEFAULT_MODEL: 'openai:gpt-4o',
        LLM_MAX_RETRIES: '2',
        LLM_FALLBACK_ORDER: 'anthropic:claude-sonnet-4-6,google:gemini-2.5-flash',
      }),
    });
    gateway = ctx.app.get(LlmGatewayService);
    userId = await createUserRow(ctx.dataSource);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });
  afterEach(async () => {
    fake.reset();
    const breaker = ctx.app.get(CircuitBreakerService);
    for (const provider of ['openai', 'anthropic', 'google'] as const) await breaker.reset(provider);
  });

  it('a revoked key (401) on the primary is asked once, then the next provider serves the call', async () => {
    fake.script('claude-sonnet-4-6', { text: 'planned by anthropic' });
    const req = request();
    const result = await gateway.call(req);
    expect(result).toMatchObject({ text: 'planned by anthropic', provider: 'anthropic', model: 'claude-sonnet-4-6' });
    expect(result.routing?.reason).toContain('fell back from openai:gpt-4o');
    expect(fake.requests.map((r) => [r.format, r.model])).toEqual([
      ['openai', 'gpt-4o'],
      ['anthropic', 'claude-sonnet-4-6'],
    ]);
    expect(await usageRows(req.context.runId!)).toEqual([
      ['openai', 'gpt-4o', 'error', 'auth:401'],
      ['anthropic', 'claude-sonnet-4-6', 'success', null],
    ]);
    // A refusal says nothing about the provider's health: its circuit stays closed.
    expect(await ctx.app.get(CircuitBreakerService).state('openai')).toBe('closed');
  });

  it.each([
    [403, 'auth:403', 'your key may not use this model'],
    [404, 'not_found:404', 'model claude-sonnet-4-6 not found'],
  ])('a %i on the primary model falls back without a retry', async (status, code, message) => {
    fake.script('claude-sonnet-4-6', { kind: 'error', status, message });
    fake.script('gemini-2.5-flash', { text: 'planned by google' });
    const req = request({ model: 'anthropic:claude-sonnet-4-6' });
    const result = await gateway.call(req);
    expect(result).toMatchObject({ text: 'planned by google', provider: 'google', model: 'gemini-2.5-flash' });
    expect(fake.requests.map((r) => r.model)).toEqual(['claude-sonnet-4-6', 'gemini-2.5-flash']);
    expect(await usageRows(req.context.runId!)).toEqual([
      ['anthropic', 'claude-sonnet-4-6', 'error', code],
      ['google', 'gemini-2.5-flash', 'success', null],
    ]);
  });

  it('a 400 is the request’s fault: no retry, no fallback, LLM_REQUEST_REJECTED', async () => {
    fake.script('claude-sonnet-4-6', { kind: 'error', status: 400, message: 'messages: field required' });
    await expect(gateway.call(request({ model: 'anthropic:claude-sonnet-4-6' }))).rejects.toMatchObject({
      code: 'LLM_REQUEST_REJECTED',
      status: 502,
    });
    expect(fake.requests.map((r) => r.model)).toEqual(['claude-sonnet-4-6']);
  });

  it('when every provider refuses its key or model, the call fails as the primary’s refusal, each asked once', async () => {
    fake.script('claude-sonnet-4-6', { kind: 'error', status: 401, message: 'invalid x-api-key' });
    fake.script('gemini-2.5-flash', { kind: 'error', status: 404, message: 'model not found' });
    const req = request();
    await expect(gateway.call(req)).rejects.toMatchObject({
      code: 'LLM_REQUEST_REJECTED',
      status: 502,
      options: { extra: { provider: 'openai', upstreamStatus: 401 } },
    });
    expect(fake.requests.map((r) => r.model)).toEqual(['gpt-4o', 'claude-sonnet-4-6', 'gemini-2.5-flash']);
    expect((await usageRows(req.context.runId!)).map((r) => r[3])).toEqual(['auth:401', 'auth:401', 'not_found:404']);
  });

  it('a refusal followed by outages is LLM_UNAVAILABLE, listing each provider and why', async () => {
    fake.script((r) => (r.model === 'gpt-4o' ? undefined : { kind: 'error', status: 503 }));
    const error: unknown = await gateway.call(request()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'LLM_UNAVAILABLE', status: 503 });
    const attempts = (error as { attempts: { provider: string; error: string }[] }).attempts;
    expect(attempts.map((a) => a.provider)).toEqual(['openai', 'anthropic', 'google']);
    expect(attempts[0].error).toMatch(/^auth: /);
    expect(attempts[1].error).toMatch(/^server: /);
    // The refused key once; each outage retried LLM_MAX_RETRIES times.
    expect(fake.requests.filter((r) => r.model === 'gpt-4o')).toHaveLength(1);
    expect(fake.requests.filter((r) => r.model === 'claude-sonnet-4-6')).toHaveLength(3);
  });
});
