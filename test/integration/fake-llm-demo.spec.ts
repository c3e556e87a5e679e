import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { ToolDefinition } from '../../src/agents/llm/llm.types.js';
// @ts-expect-error plain ESM JavaScript without types (tools/ is run by node directly)
import { handler } from '../../tools/fake-llm-demo.mjs';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, createUserRow, fakeLlmEnv, LlmTestContext } from '../support/llm.js';

const tool = (name: string): ToolDefinition => ({
  name,
  description: name,
  parameters: { type: 'object', properties: {} },
});

describe('fake LLM demo script (tools/fake-llm-demo.mjs)', () => {
  let fake: FakeLlm;
  let ctx: LlmTestContext;
  let userId: string;

  beforeAll(async () => {
    fake = await startFakeLlm({ handler });
    ctx = await createLlmContext({ env: fakeLlmEnv(fake) });
    userId = await createUserRow(ctx.dataSource);
  });
  afterAll(async () => {
    await ctx.close();
    await fake.close();
  });

  it.each([
    ['openai:gpt-4o', 'javascript', 'solution.js'],
    ['anthropic:claude-sonnet-4-6', 'python', 'solution.py'],
    ['google:gemini-2.5-flash', 'typescript', 'solution.ts'],
  ])('answers every agent tool through %s for a %s task', async (model, language, file) => {
    const gateway = ctx.app.get(LlmGatewayService);
    const ask = (name: string) =>
      gateway.call({
        context: { userId, agent: 'coder' },
        model,
        messages: [{ role: 'user', content: `Language: ${language}. Write add(a, b).` }],
        tools: [tool(name)],
        toolChoice: { name },
      });
    expect((await ask('submit_plan')).toolCalls[0].arguments).toMatchObject({
      summary: expect.any(String),
      steps: expect.any(Array),
    });
    expect((await ask('write_files')).toolCalls[0].arguments).toMatchObject({
      files: [{ path: file, content: expect.stringContaining('add') }],
    });
    expect((await ask('write_tests')).toolCalls[0].arguments).toMatchObject({
      files: [expect.objectContaining({ content: expect.stringContaining('add') })],
    });
    expect((await ask('submit_review')).toolCalls[0].arguments).toMatchObject({ verdict: 'APPROVE' });
  });
});
