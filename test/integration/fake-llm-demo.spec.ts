import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { ToolDefinition } from '../../src/agents/llm/llm.types.js';
// @ts-expect-error plain ESM JavaScript without types (tools/ is run by node directly)
import { echoHandler, handler, languageOf, taskFileNames } from '../../tools/fake-llm-demo.mjs';
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

describe('echo mode: the file names a task mentions (tools/fake-llm-demo.mjs)', () => {
  const brief = (language: string, description: string) =>
    `You are the coder.\nTask: T\nLanguage: ${language}\n\n${description}\n\nPlan: write solution.js`;

  it("takes the names of the task's own language from its brief, tests apart, not from the plan or the system text", () => {
    expect(
      taskFileNames(
        brief('javascript', 'Export reverse(s) from src/reverse.js, test it in reverse.test.mjs; see notes.py'),
      ),
    ).toEqual({ code: ['reverse.js'], tests: ['reverse.test.mjs'] });
    expect(taskFileNames(brief('python', 'Put slugify in text_utils.py, not in my-utils.py.'))).toEqual({
      code: ['text_utils.py'],
      tests: [],
    });
    expect(taskFileNames(brief('typescript', 'Add two numbers.'))).toEqual({ code: [], tests: [] });
    expect(languageOf(brief('typescript', 'Port the python script.'))).toBe('typescript');
  });

  it('answers each agent in those names, and says it is the fake', () => {
    const ask = (tool: string, prompt: string) =>
      echoHandler({ forcedTool: undefined, tools: [tool, 'read_file'], prompt }).toolCalls[0].arguments;
    const prompt = brief('javascript', 'Export reverse(s) from reverse.js.');
    expect(ask('write_files', prompt).files).toEqual([
      { path: 'reverse.js', content: expect.stringContaining('Written by the fake model') },
    ]);
    expect(ask('write_tests', prompt).files).toEqual([
      { path: 'reverse.test.js', content: expect.stringContaining("from './reverse.js'") },
    ]);
    expect(ask('submit_review', prompt)).toMatchObject({
      verdict: 'APPROVE',
      summary: expect.stringMatching(/^Fake model/),
    });
    // The default mode keeps solution.* whatever the task names.
    expect(handler({ tools: ['write_files'], prompt }).toolCalls[0].arguments.files[0].path).toBe('solution.js');
  });
});
