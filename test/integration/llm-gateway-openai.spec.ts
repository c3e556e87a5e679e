import { randomUUID } from 'node:crypto';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest, ToolDefinition } from '../../src/agents/llm/llm.types.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

const SUBMIT_PLAN: ToolDefinition = {
  name: 'submit_plan',
  description: 'Submit the plan',
  parameters: {
    type: 'object',
    properties: {
      summary: { type: 'string' },
      steps: { type: 'array', items: { type: 'object', properties: { title: { type: 'string' } } } },
    },
    required: ['summary', 'steps'],
  },
};

describe('LLM gateway: openai and local adapters through the openai SDK', () => {
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

  const usageRows = (runId: string) =>
    ctx.dataSource.query(
      'SELECT provider, model, attempt, input_tokens, output_tokens, cached_input_tokens, cost_usd, outcome, error_code FROM llm_usage WHERE run_id = $1 ORDER BY attempt',
      [runId],
    );

  beforeAll(async () => {
    fake = await startFakeLlm();
    ctx = await createLlmContext({ env: fakeLlmEnv(fake, { LLM_FALLBACK_ORDER: 'local' }) });
    gateway = ctx.app.get(LlmGatewayService);
    userId = await createUserRow(ctx.dataSource);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });
  afterEach(() => fake.reset());

  it('returns plain text with usage, exact cost and a usage record', async () => {
    fake.script('gpt-4o', { text: 'Here is the plan.', usage: { input: 1200, output: 300, cached: 200 } });
    const req = request();
    const result = await gateway.call(req);
    expect(result).toMatchObject({
      text: 'Here is the plan.',
      toolCalls: [],
      usage: { inputTokens: 1200, outputTokens: 300, cachedInputTokens: 200 },
      finishReason: 'stop',
      provider: 'openai',
      model: 'gpt-4o',
    });
    // 1000 × 2.5/M + 200 × 1.25/M + 300 × 10/M = 0.0025 + 0.00025 + 0.003
    expect(result.costUsd).toBe('0.00575000');
    expect(fake.requests[0]).toMatchObject({ format: 'openai', model: 'gpt-4o', stream: false });
    expect(fake.requests[0].headers.authorization).toBe('Bearer sk-test');
    expect(await usageRows(req.context.runId!)).toEqual([
      expect.objectContaining({
        provider: 'openai',
        model: 'gpt-4o',
        attempt: 1,
        input_tokens: 1200,
        output_tokens: 300,
        cached_input_tokens: 200,
        cost_usd: '0.00575000',
        outcome: 'success',
      }),
    ]);
  });

  it('returns a tool call with parsed arguments', async () => {
    fake.script('gpt-4o', {
      toolCalls: [{ name: 'submit_plan', arguments: { summary: 'S', steps: [{ title: 'one' }] } }],
    });
    const result = await gateway.call(request({ tools: [SUBMIT_PLAN], toolChoice: { name: 'submit_plan' } }));
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toEqual([
      { id: expect.any(String), name: 'submit_plan', arguments: { summary: 'S', steps: [{ title: 'one' }] } },
    ]);
    const body = fake.requests[0].body as { tools: unknown[]; tool_choice: unknown };
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'submit_plan' } });
    expect(body.tools).toHaveLength(1);
  });

  it('assembles a streamed tool call from deltas and streams text to onDelta', async () => {
    const args = {
      summary: 'A longer summary that spans several chunks',
      steps: [{ title: 'first' }, { title: 'second' }],
    };
    fake.script('gpt-4o', {
      text: 'Thinking about it…',
      toolCalls: [{ name: 'submit_plan', arguments: args }],
      usage: { input: 50, output: 40 },
    });
    const deltas: string[] = [];
    const result = await gateway.call(
      request({ tools: [SUBMIT_PLAN], toolChoice: 'required', onDelta: (d) => deltas.push(d) }),
    );
    expect(fake.requests[0].stream).toBe(true);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Thinking about it…');
    expect(result.text).toBe('Thinking about it…');
    expect(result.toolCalls).toEqual([{ id: expect.any(String), name: 'submit_plan', arguments: args }]);
    expect(result.usage).toEqual({ inputTokens: 50, outputTokens: 40, cachedInputTokens: 0 });
  });

  it('serves local models through LOCAL_LLM_BASE_URL at zero cost', async () => {
    fake.script('qwen2.5-coder', { text: 'local answer', usage: { input: 10, output: 5 } });
    const result = await gateway.call(request({ model: 'local:qwen2.5-coder' }));
    expect(result).toMatchObject({
      text: 'local answer',
      provider: 'local',
      model: 'qwen2.5-coder',
      costUsd: '0.00000000',
    });
    expect((fake.requests[0].body as { max_tokens?: number }).max_tokens).toBe(4096);
  });

  it('waits for retry-after on 429, then succeeds; both attempts are recorded', async () => {
    fake.script(
      'gpt-4o',
      { kind: 'error', status: 429, retryAfterSeconds: 1 },
      { text: 'after the pause', usage: { input: 10, output: 2 } },
    );
    const req = request();
    const result = await gateway.call(req);
    expect(result.text).toBe('after the pause');
    expect(fake.requests).toHaveLength(2);
    expect(fake.requests[1].receivedAt - fake.requests[0].receivedAt).toBeGreaterThanOrEqual(950);
    const rows = await usageRows(req.context.runId!);
    expect(rows.map((r: { outcome: string; error_code: string | null }) => [r.outcome, r.error_code])).toEqual([
      ['error', 'rate_limited:429'],
      ['success', null],
    ]);
  });

  it('does not retry an authentication failure; the fallback serves the call', async () => {
    fake.script('gpt-4o', { kind: 'error', status: 401, message: 'bad key' });
    fake.script('qwen2.5-coder', { text: 'local answer' });
    await expect(gateway.call(request())).resolves.toMatchObject({ provider: 'local', text: 'local answer' });
    expect(fake.requests.map((r) => r.model)).toEqual(['gpt-4o', 'qwen2.5-coder']);
  });

  it('retries a malformed answer and a dropped connection', async () => {
    fake.script('gpt-4o', { kind: 'malformed' }, { kind: 'disconnect' }, { text: 'fine now' });
    const req = request();
    expect((await gateway.call(req)).text).toBe('fine now');
    expect(fake.requests).toHaveLength(3);
    const rows = await usageRows(req.context.runId!);
    expect(rows.map((r: { outcome: string }) => r.outcome)).toEqual(['malformed', 'error', 'success']);
  });

  it('treats tool arguments that are not JSON as malformed and retries', async () => {
    fake.script(
      'gpt-4o',
      { toolCalls: [{ name: 'submit_plan', arguments: '{"summary": "cut' }], usage: { input: 100, output: 20 } },
      { toolCalls: [{ name: 'submit_plan', arguments: { summary: 'ok', steps: [] } }] },
    );
    const req = request({ tools: [SUBMIT_PLAN], toolChoice: 'required', onDelta: () => undefined });
    const result = await gateway.call(req);
    expect(result.toolCalls[0].arguments).toEqual({ summary: 'ok', steps: [] });
    const rows = await usageRows(req.context.runId!);
    // The broken answer was billed: its tokens and cost are on record.
    expect(rows[0]).toMatchObject({
      outcome: 'malformed',
      input_tokens: 100,
      output_tokens: 20,
      cost_usd: '0.00045000',
    });
  });

  it('returns an answer without the expected tool call as is (the agent decides)', async () => {
    fake.script('gpt-4o', { text: 'I refuse to use tools.' });
    const result = await gateway.call(request({ tools: [SUBMIT_PLAN], toolChoice: 'required' }));
    expect(result.toolCalls).toEqual([]);
    expect(result.text).toBe('I refuse to use tools.');
  });

  it('times out a hanging provider, retries, then falls back to the next provider', async () => {
    const ctx2 = await createLlmContext({
      env: fakeLlmEnv(fake, { LLM_TIMEOUT_MS: '1000', LLM_MAX_RETRIES: '1', LLM_FALLBACK_ORDER: 'local' }),
    });
    try {
      fake.script('gpt-4o', { kind: 'hang' }, { kind: 'hang' });
      fake.script('qwen2.5-coder', { text: 'local saves the day' });
      const req = request();
      req.context.userId = await createUserRow(ctx2.dataSource);
      const result = await ctx2.app.get(LlmGatewayService).call(req);
      expect(result).toMatchObject({ provider: 'local', text: 'local saves the day' });
      const rows = await ctx2.dataSource.query(
        'SELECT provider, outcome FROM llm_usage WHERE run_id = $1 ORDER BY attempt',
        [req.context.runId],
      );
      expect(rows).toEqual([
        { provider: 'openai', outcome: 'timeout' },
        { provider: 'openai', outcome: 'timeout' },
        { provider: 'local', outcome: 'success' },
      ]);
    } finally {
      await ctx2.close();
    }
  });

  it('stops at once when the caller aborts', async () => {
    fake.script('gpt-4o', { kind: 'hang' });
    const controller = new AbortController();
    const pending = gateway.call(request({ signal: controller.signal }));
    while (fake.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'LLM_ABORTED' });
    expect(fake.requests).toHaveLength(1);
  });

  it('routes agents by AGENT_MODELS and DEFAULT_MODEL, and rejects unknown models', () => {
    expect(gateway.resolveModel('planner')).toEqual({ provider: 'openai', model: 'gpt-4o' });
    expect(gateway.resolveModel('coder', 'anthropic:claude-sonnet-4-6')).toEqual({
      provider: 'anthropic',
      model: 'claude-sonnet-4-6',
    });
    expect(gateway.assertModelRef('local')).toEqual({ provider: 'local', model: 'qwen2.5-coder' });
    expect(gateway.assertModelRef('local:qwen2.5-coder:7b')).toEqual({ provider: 'local', model: 'qwen2.5-coder:7b' });
    expect(() => gateway.assertModelRef('acme:gpt-4o')).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_MODEL', status: 400 }),
    );
    expect(() => gateway.assertModelRef('openai:gpt-99')).toThrow(expect.objectContaining({ code: 'UNKNOWN_MODEL' }));
  });
});
