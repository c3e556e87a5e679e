import { randomUUID } from 'node:crypto';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest } from '../../src/agents/llm/llm.types.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

describe('Context windows', () => {
  let fake: FakeLlm;
  let ctx: LlmTestContext;
  let gateway: LlmGatewayService;
  let userId: string;

  beforeAll(async () => {
    fake = await startFakeLlm();
    ctx = await createLlmContext({
      env: fakeLlmEnv(fake, { DEFAULT_MODEL: 'openai:gpt-4o', LLM_FALLBACK_ORDER: 'google:gemini-2.5-flash' }),
    });
    gateway = ctx.app.get(LlmGatewayService);
    userId = await createUserRow(ctx.dataSource);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });
  afterEach(() => fake.reset());

  const call = (chars: number): LlmCallRequest => ({
    context: { userId, agent: 'planner', runId: randomUUID() },
    messages: [{ role: 'user', content: 'x'.repeat(chars) }],
  });

  it("goes to the route's larger-context fallback when the request cannot fit gpt-4o's 128k window", async () => {
    const result = await gateway.call(call(450_000)); // ~150k estimated tokens
    expect(result).toMatchObject({ provider: 'google', model: 'gemini-2.5-flash' });
    expect(result.routing?.reason).toContain('larger context: google:gemini-2.5-flash');
    expect(fake.requests.map((r) => r.format)).toEqual(['google']);
  });

  it('fails with CONTEXT_TOO_LARGE before any token is paid when nothing can hold it', async () => {
    const request = call(3_300_000); // ~1.1M estimated tokens
    await expect(gateway.call(request)).rejects.toMatchObject({ code: 'CONTEXT_TOO_LARGE', status: 422 });
    expect(fake.requests).toHaveLength(0);
    const rows = await ctx.dataSource.query('SELECT 1 FROM llm_usage WHERE run_id = $1', [request.context.runId]);
    expect(rows).toHaveLength(0);
  });
});
