import { randomUUID } from 'node:crypto';
import { CircuitBreakerService } from '../../src/agents/llm/circuit-breaker.service.js';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest, ProviderName, ToolDefinition } from '../../src/agents/llm/llm.types.js';
import { PriceTable } from '../../src/agents/llm/prices.js';
import { startFakeLlm, FakeLlm, FakeWireFormat } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

const WRITE_FILES: ToolDefinition = {
  name: 'write_files',
  description: 'Write files into the workspace',
  parameters: {
    type: 'object',
    properties: {
      files: {
        type: 'array',
        items: {
          type: 'object',
          properties: { path: { type: 'string' }, content: { type: 'string' } },
          required: ['path', 'content'],
        },
      },
      notes: { type: 'string' },
    },
    required: ['files'],
  },
};

// Long enough that a loaded machine (the whole suite at once) cannot pass it between two calls: the
// first fallback call also imports the other provider's SDK, which took over 1.5 s under full load.
const COOLDOWN_MS = 5_000;

const CASES: { provider: ProviderName; model: string; wire: FakeWireFormat }[] = [
  { provider: 'openai', model: 'gpt-4o', wire: 'openai' },
  { provider: 'anthropic', model: 'claude-sonnet-4-6', wire: 'anthropic' },
  { provider: 'google', model: 'gemini-2.5-flash', wire: 'google' },
  { provider: 'local', model: 'qwen2.5-coder', wire: 'openai' },
];

describe('LLM providers through their real SDKs against the fake server', () => {
  let fake: FakeLlm;
  let ctx: LlmTestContext;
  let gateway: LlmGatewayService;
  let prices: PriceTable;
  let userId: string;

  beforeAll(async () => {
    fake = await startFakeLlm({ apiKey: 'test-key' });
    ctx = await createLlmContext({
      env: fakeLlmEnv(fake, {
        OPENAI_API_KEY: 'test-key',
        ANTHROPIC_API_KEY: 'test-key',
        GOOGLE_API_KEY: 'test-key',
        LOCAL_LLM_API_KEY: 'test-key',
        LLM_MAX_RETRIES: '1',
        LLM_BREAKER_FAILURE_THRESHOLD: '2',
        LLM_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
        LLM_FALLBACK_ORDER: 'openai,anthropic',
      }),
    });
    gateway = ctx.app.get(LlmGatewayService);
    prices = ctx.app.get(PriceTable);
    userId = await createUserRow(ctx.dataSource);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });
  afterEach(() => fake.reset());

  describe.each(CASES)('$provider', ({ provider, model, wire }) => {
    const ref = `${provider}:${model}`;
    const request = (over: Partial<LlmCallRequest> = {}): LlmCallRequest => ({
      context: { userId, agent: 'coder', runId: randomUUID() },
      model: ref,
      messages: [
        { role: 'system', content: 'You write code.' },
        { role: 'user', content: 'Add two numbers.' },
      ],
      ...over,
    });

    it('answers plain text, JSON and streamed', async () => {
      fake.script(model, { text: 'Plain answer.' }, { text: 'Streamed answer in pieces.' });
      const plain = await gateway.call(request());
      expect(plain).toMatchObject({ text: 'Plain answer.', toolCalls: [], finishReason: 'stop', provider, model });
      const deltas: string[] = [];
      const streamed = await gateway.call(request({ onDelta: (d) => deltas.push(d) }));
      expect(streamed.text).toBe('Streamed answer in pieces.');
      expect(deltas.join('')).toBe('Streamed answer in pieces.');
      expect(fake.requests.map((r) => [r.format, r.model, r.stream])).toEqual([
        [wire, model, false],
        [wire, model, true],
      ]);
      // The system prompt reached the provider in its own wire shape.
      expect(fake.requests[0].prompt).toContain('You write code.');
    });

    it('returns a tool call, forced, with parsed arguments', async () => {
      const args = {
        files: [{ path: 'src/add.ts', content: 'export const add = (a: number, b: number) => a + b;\n' }],
      };
      fake.script(model, { toolCalls: [{ name: 'write_files', arguments: args }] });
      const result = await gateway.call(request({ tools: [WRITE_FILES], toolChoice: { name: 'write_files' } }));
      expect(result.finishReason).toBe('tool_calls');
      expect(result.toolCalls).toEqual([{ id: expect.any(String), name: 'write_files', arguments: args }]);
      expect(fake.requests[0]).toMatchObject({ tools: ['write_files'], forcedTool: 'write_files', toolRequired: true });
    });

    it('assembles a streamed tool call', async () => {
      const args = {
        files: [
          { path: 'a.py', content: 'def add(a, b):\n    return a + b\n' },
          { path: 'b.py', content: '"quoted" \\ text' },
        ],
        notes: 'two files',
      };
      fake.script(model, { text: 'Writing.', toolCalls: [{ name: 'write_files', arguments: args }] });
      const deltas: string[] = [];
      const result = await gateway.call(
        request({ tools: [WRITE_FILES], toolChoice: 'required', onDelta: (d) => deltas.push(d) }),
      );
      expect(fake.requests[0].stream).toBe(true);
      expect(result.toolCalls).toEqual([{ id: expect.any(String), name: 'write_files', arguments: args }]);
      expect(deltas.join('')).toBe('Writing.');
    });

    it('captures usage with cached tokens and prices it', async () => {
      const usage = { input: 5000, output: 700, cached: 1000 };
      fake.script(model, { text: 'a', usage }, { text: 'b', usage });
      const expected = { inputTokens: 5000, outputTokens: 700, cachedInputTokens: 1000 };
      const json = await gateway.call(request());
      const streamed = await gateway.call(request({ onDelta: () => undefined }));
      expect(json.usage).toEqual(expected);
      expect(streamed.usage).toEqual(expected);
      expect(json.costUsd).toBe(prices.cost(provider, model, expected));
      if (provider !== 'local') expect(json.costUsd).not.toBe('0.00000000');
      const req = request();
      fake.script(model, { text: 'c', usage });
      await gateway.call(req);
      const rows = await ctx.dataSource.query(
        'SELECT provider, model, input_tokens, output_tokens, cached_input_tokens, cost_usd FROM llm_usage WHERE run_id = $1',
        [req.context.runId],
      );
      expect(rows).toEqual([
        { provider, model, input_tokens: 5000, output_tokens: 700, cached_input_tokens: 1000, cost_usd: json.costUsd },
      ]);
    });

    it('records what a stream cut mid-answer billed, then retries', async () => {
      fake.script(
        model,
        { text: 'A long answer that never finishes', usage: { input: 3000, output: 50 }, cutAfterChunks: 2 },
        { text: 'complete' },
      );
      const req = request({ onDelta: () => undefined });
      expect((await gateway.call(req)).text).toBe('complete');
      const rows = await ctx.dataSource.query(
        'SELECT outcome, input_tokens, cost_usd FROM llm_usage WHERE run_id = $1 ORDER BY attempt',
        [req.context.runId],
      );
      expect(rows.map((r: { outcome: string }) => r.outcome)).toEqual(['error', 'success']);
      // Anthropic reports the prompt's tokens in message_start, before the cut: that attempt was billed.
      if (provider === 'anthropic')
        expect(rows[0]).toMatchObject({
          input_tokens: 3000,
          cost_usd: prices.cost(provider, model, { inputTokens: 3000, outputTokens: 1, cachedInputTokens: 0 }),
        });
    });

    it('does not retry or fall back on a validation error', async () => {
      fake.script(model, { kind: 'error', status: 400, message: 'messages: field required' });
      await expect(gateway.call(request())).rejects.toMatchObject({ code: 'LLM_REQUEST_REJECTED', status: 502 });
      expect(fake.requests).toHaveLength(1);
    });

    it('waits for retry-after on 429 and then succeeds', async () => {
      fake.script(model, { kind: 'error', status: 429, retryAfterSeconds: 1 }, { text: 'after waiting' });
      const result = await gateway.call(request());
      expect(result.text).toBe('after waiting');
      expect(fake.requests).toHaveLength(2);
      expect(fake.requests[1].receivedAt - fake.requests[0].receivedAt).toBeGreaterThanOrEqual(950);
    });

    it('opens the circuit on persistent 500s, falls back, then half-opens and closes', async () => {
      const breaker = ctx.app.get(CircuitBreakerService);
      await breaker.reset(provider);
      let failing = true;
      fake.script((r) =>
        r.model === model && failing ? { kind: 'error', status: 500 } : { text: `served by ${r.model}` },
      );
      const first = await gateway.call(request());
      const fallbackProvider = provider === 'openai' ? 'anthropic' : 'openai';
      expect(first.provider).toBe(fallbackProvider);
      expect(await breaker.state(provider)).toBe('open');
      expect(fake.requests.filter((r) => r.model === model)).toHaveLength(2);

      // While open, calls skip the provider entirely.
      const before = fake.requests.length;
      expect((await gateway.call(request())).provider).toBe(fallbackProvider);
      expect(fake.requests.slice(before).map((r) => r.model)).not.toContain(model);

      failing = false;
      const deadline = Date.now() + COOLDOWN_MS + 10_000;
      let served = '';
      while (served !== provider && Date.now() < deadline) {
        served = (await gateway.call(request())).provider;
        if (served !== provider) await new Promise((r) => setTimeout(r, 25));
      }
      expect(served).toBe(provider);
      expect(await breaker.state(provider)).toBe('closed');
    });
  });
});

/**
 * LLM_TIMEOUT_MS bounds every attempt on every provider, whichever way its SDK lets the deadline be
 * enforced: a request that is never answered, a stream that stalls after its first events, and a
 * caller's abort, which is not a timeout.
 */
describe('the per-call deadline on each provider', () => {
  const TIMEOUT_MS = 700;
  let fake: FakeLlm;
  let ctx: LlmTestContext;
  let gateway: LlmGatewayService;
  let userId: string;

  beforeAll(async () => {
    fake = await startFakeLlm();
    ctx = await createLlmContext({
      env: fakeLlmEnv(fake, {
        LLM_TIMEOUT_MS: String(TIMEOUT_MS),
        LLM_MAX_RETRIES: '0',
        LLM_BREAKER_FAILURE_THRESHOLD: '100',
      }),
    });
    gateway = ctx.app.get(LlmGatewayService);
    userId = await createUserRow(ctx.dataSource);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });
  afterEach(() => fake.reset());

  describe.each(CASES)('$provider', ({ provider, model }) => {
    const request = (over: Partial<LlmCallRequest> = {}): LlmCallRequest => ({
      context: { userId, agent: 'coder', runId: randomUUID() },
      model: `${provider}:${model}`,
      messages: [{ role: 'user', content: 'Add two numbers.' }],
      ...over,
    });
    const outcomes = async (req: LlmCallRequest) =>
      (
        await ctx.dataSource.query('SELECT outcome FROM llm_usage WHERE run_id = $1 ORDER BY attempt', [
          req.context.runId,
        ])
      ).map((row: { outcome: string }) => row.outcome);

    it('times out a request that is never answered', async () => {
      fake.script(model, { kind: 'hang' });
      const req = request();
      const started = Date.now();
      await expect(gateway.call(req)).rejects.toMatchObject({ code: 'LLM_UNAVAILABLE' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(await outcomes(req)).toEqual(['timeout']);
    });

    it('times out a stream that stalls after its first events', async () => {
      fake.script(model, { text: 'A long answer that stops halfway through, never to finish.', stallAfterChunks: 3 });
      const deltas: string[] = [];
      const req = request({ onDelta: (d) => deltas.push(d) });
      await expect(gateway.call(req)).rejects.toMatchObject({ code: 'LLM_UNAVAILABLE' });
      expect(deltas.length).toBeGreaterThan(0);
      expect(await outcomes(req)).toEqual(['timeout']);
    });

    it.each([false, true])('reports a caller abort as an abort, not a timeout (streamed: %s)', async (streamed) => {
      fake.script(model, { kind: 'hang' });
      const controller = new AbortController();
      const req = request({ signal: controller.signal, ...(streamed ? { onDelta: () => undefined } : {}) });
      const pending = gateway.call(req);
      while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      await expect(pending).rejects.toMatchObject({ code: 'LLM_ABORTED' });
      expect(await outcomes(req)).toEqual(['aborted']);
    });
  });
});
