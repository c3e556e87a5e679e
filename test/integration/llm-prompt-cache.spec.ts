import { randomUUID } from 'node:crypto';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { ChatMessage, LlmCallRequest, ToolDefinition } from '../../src/agents/llm/llm.types.js';
import { UsageService } from '../../src/metrics/usage.service.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

const TOOLS: ToolDefinition[] = ['read_file', 'write_files'].map((name) => ({
  name,
  description: `The ${name} tool`,
  parameters: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
}));

/** USD per million tokens × 10^12 → exact cost in 10^-18 USD; the test's own arithmetic, not the price table's. */
function expectedUsd(parts: [tokens: number, usdPerMillion: string][]): string {
  let units18 = 0n;
  for (const [tokens, price] of parts) {
    const [whole, fraction = ''] = price.split('.');
    units18 += BigInt(tokens) * (BigInt(whole) * 10n ** 12n + BigInt(fraction.padEnd(12, '0')));
  }
  const units8 = (units18 + 5n * 10n ** 9n) / 10n ** 10n; // half-up at 10^-8
  return `${units8 / 10n ** 8n}.${(units8 % 10n ** 8n).toString().padStart(8, '0')}`;
}

describe('Prompt caching through the gateway (fake provider caches as each provider does)', () => {
  let fake: FakeLlm;
  let ctx: LlmTestContext;
  let gateway: LlmGatewayService;
  let userId: string;

  beforeAll(async () => {
    fake = await startFakeLlm({ promptCache: true });
    ctx = await createLlmContext({ env: fakeLlmEnv(fake) });
    gateway = ctx.app.get(LlmGatewayService);
    userId = await createUserRow(ctx.dataSource);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });
  afterEach(() => fake.reset());

  // About 2,500 tokens of stable instructions: above every provider's minimum cacheable prefix.
  const system = `You are the coder. ${'Follow the repository conventions carefully. '.repeat(220)}`;
  const task = `Task: add a function. Repository instructions: ${'Use two spaces. '.repeat(100)}`;

  /** A tool loop's conversation after `rounds` tool calls. */
  function conversation(rounds: number): ChatMessage[] {
    const messages: ChatMessage[] = [
      { role: 'system', content: system },
      { role: 'user', content: task },
    ];
    for (let i = 0; i < rounds; i++) {
      messages.push({
        role: 'assistant',
        content: '',
        toolCalls: [{ id: `call_${i}`, name: 'read_file', arguments: { path: `src/file${i}.ts` } }],
      });
      messages.push({
        role: 'tool',
        toolCallId: `call_${i}`,
        name: 'read_file',
        content: `${i}: ${'export const x = 1;\n'.repeat(60)}`,
      });
    }
    return messages;
  }

  const request = (model: string, runId: string, messages: ChatMessage[]): LlmCallRequest => ({
    context: { userId, agent: 'coder', runId },
    model,
    messages,
    tools: TOOLS,
    toolChoice: 'required',
  });

  const usageRows = (runId: string) =>
    ctx.dataSource.query<
      {
        input_tokens: number;
        cached_input_tokens: number;
        cache_write_input_tokens: number;
        output_tokens: number;
        cost_usd: string;
      }[]
    >(
      `SELECT input_tokens, cached_input_tokens, cache_write_input_tokens, output_tokens, cost_usd
         FROM llm_usage WHERE run_id = $1 ORDER BY created_at`,
      [runId],
    );

  it('Anthropic: breakpoints on the system prompt, the leading messages and the conversation; writes at 1.25×, reads at 0.1×, exact to 1e-9', async () => {
    const runId = randomUUID();
    const model = 'anthropic:claude-sonnet-4-6';
    fake.script('*', { toolCalls: [{ name: 'read_file', arguments: { path: 'a' } }], usage: { output: 20 } });
    const first = await gateway.call(request(model, runId, conversation(0)));
    fake.script('*', { toolCalls: [{ name: 'read_file', arguments: { path: 'b' } }], usage: { output: 20 } });
    const second = await gateway.call(request(model, runId, conversation(1)));
    fake.script('*', { toolCalls: [{ name: 'read_file', arguments: { path: 'c' } }], usage: { output: 20 } });
    const third = await gateway.call(request(model, runId, conversation(2)));

    // The wire: cache_control on the system block and on the conversation's stable points, never more than 4.
    const bodies = fake.requests.map((r) => r.body as { system: { cache_control?: unknown }[]; messages: unknown[] });
    for (const body of bodies) {
      expect(body.system[0].cache_control).toEqual({ type: 'ephemeral' });
      expect(JSON.stringify(body).split('"cache_control"').length - 1).toBeLessThanOrEqual(4);
    }
    const lastBlock = (body: { messages: unknown[] }) => {
      const message = body.messages.at(-1) as { content: { cache_control?: unknown }[] };
      return message.content.at(-1);
    };
    expect(lastBlock(bodies[2])).toMatchObject({ cache_control: { type: 'ephemeral' } });

    // First call writes its whole prefix; each later one reads what the previous one wrote.
    expect(first.usage.cachedInputTokens).toBe(0);
    expect(first.usage.cacheWriteTokens).toBe(first.usage.inputTokens);
    for (const later of [second, third]) {
      expect(later.usage.cachedInputTokens).toBeGreaterThan(0);
      expect(later.usage.cacheWriteTokens).toBeGreaterThan(0);
      expect(later.usage.cachedInputTokens + (later.usage.cacheWriteTokens ?? 0)).toBe(later.usage.inputTokens);
    }
    expect(second.usage.cachedInputTokens).toBe(first.usage.inputTokens);
    expect(third.usage.cachedInputTokens).toBe(second.usage.inputTokens);

    const rows = await usageRows(runId);
    expect(rows).toHaveLength(3);
    for (const [row, result] of [rows[0], rows[1], rows[2]].map((r, i) => [r, [first, second, third][i]] as const)) {
      const read = result.usage.cachedInputTokens;
      const written = result.usage.cacheWriteTokens ?? 0;
      const plain = result.usage.inputTokens - read - written;
      // claude-sonnet-4-6: input 3, cache write 3.75 (1.25×), cache read 0.3 (0.1×), output 15 per million.
      const expected = expectedUsd([
        [plain, '3'],
        [written, '3.75'],
        [read, '0.3'],
        [20, '15'],
      ]);
      expect(row).toEqual({
        input_tokens: result.usage.inputTokens,
        cached_input_tokens: read,
        cache_write_input_tokens: written,
        output_tokens: 20,
        cost_usd: expected,
      });
      expect(Math.abs(Number(row.cost_usd) - Number(expected))).toBeLessThan(1e-9);
      expect(result.costUsd).toBe(expected);
    }
  });

  it('Anthropic: a single forced-tool call marks only the system prompt (no write premium on a prompt not sent again)', async () => {
    fake.script('*', { toolCalls: [{ name: 'write_files', arguments: { path: 'a' } }] });
    await gateway.call({
      ...request('anthropic:claude-sonnet-4-6', randomUUID(), conversation(0)),
      toolChoice: { name: 'write_files' },
    });
    const body = JSON.stringify(fake.requests[0].body);
    expect(body.split('"cache_control"').length - 1).toBe(1);
  });

  it('OpenAI: reads prompt_tokens_details.cached_tokens, prices them at the cached rate, and sends a prompt_cache_key', async () => {
    const runId = randomUUID();
    await gateway.call(request('openai:gpt-4o', runId, conversation(0)));
    const second = await gateway.call(request('openai:gpt-4o', runId, conversation(1)));
    expect(fake.requests[1].body.prompt_cache_key).toBe(`quorum:${runId}:coder`);
    expect(second.usage.cachedInputTokens).toBeGreaterThan(0);
    expect(second.usage.cachedInputTokens % 128).toBe(0);
    const rows = await usageRows(runId);
    const row = rows[1];
    expect(row.cached_input_tokens).toBe(second.usage.cachedInputTokens);
    expect(row.cache_write_input_tokens).toBe(0);
    // gpt-4o: input 2.5, cached input 1.25, output 10 per million.
    expect(row.cost_usd).toBe(
      expectedUsd([
        [row.input_tokens - row.cached_input_tokens, '2.5'],
        [row.cached_input_tokens, '1.25'],
        [row.output_tokens, '10'],
      ]),
    );
  });

  it('Gemini: reads usageMetadata.cachedContentTokenCount at the cached rate', async () => {
    const runId = randomUUID();
    await gateway.call(request('google:gemini-2.5-flash', runId, conversation(0)));
    const second = await gateway.call(request('google:gemini-2.5-flash', runId, conversation(1)));
    expect(second.usage.cachedInputTokens).toBeGreaterThan(0);
    const [, row] = await usageRows(runId);
    // gemini-2.5-flash: input 0.3, cached 0.03, output 2.5 per million.
    expect(row.cost_usd).toBe(
      expectedUsd([
        [row.input_tokens - row.cached_input_tokens, '0.3'],
        [row.cached_input_tokens, '0.03'],
        [row.output_tokens, '2.5'],
      ]),
    );
  });

  it('the usage report sums cache reads and writes per provider', async () => {
    const sums = await ctx.dataSource.query<{ provider: string; cached: number; written: number }[]>(
      `SELECT provider, SUM(cached_input_tokens)::int AS cached, SUM(cache_write_input_tokens)::int AS written
         FROM llm_usage WHERE user_id = $1 GROUP BY provider`,
      [userId],
    );
    const report = await ctx.app.get(UsageService).summarize({ userId, groupBy: 'provider' });
    for (const item of report.items) {
      const expected = sums.find((s) => s.provider === item.key);
      expect(item).toMatchObject({ cachedInputTokens: expected?.cached, cacheWriteTokens: expected?.written });
    }
    expect(report.items.find((i) => i.key === 'anthropic')?.cacheWriteTokens).toBeGreaterThan(0);
    expect(report.total.cachedInputTokens).toBe(sums.reduce((n, s) => n + s.cached, 0));
  });
});
