import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { scriptAgents, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const MODEL = 'anthropic/claude-sonnet-4.5';
const PLAN = {
  summary: 'Write sum and test it',
  steps: [{ title: 'Implement sum', detail: 'in sum.mjs', files: ['sum.mjs'] }],
};
const CODE = { files: [{ path: 'sum.mjs', content: 'export function sum(a, b) {\n  return a + b;\n}\n' }] };
const TESTS = {
  files: [
    {
      path: 'sum.test.mjs',
      content: [
        "import { test } from 'node:test';",
        "import assert from 'node:assert/strict';",
        "import { sum } from './sum.mjs';",
        "test('adds two numbers', () => assert.equal(sum(1, 2), 3));",
        '',
      ].join('\n'),
    },
  ],
};
const APPROVE = { verdict: 'APPROVE', summary: 'Looks right.', score: 9, issues: [] };

/**
 * OpenRouter as the only provider, through the real OpenAI SDK against a local server speaking
 * OpenRouter's wire protocol (OpenAI chat completions at `/api/v1`, Bearer key, `usage.cost` in USD
 * when asked with `usage: {include: true}`): a whole run over HTTP, and the cost OpenRouter
 * reported is what is recorded, exactly.
 */
describe('OpenRouter provider (HTTP run, fake OpenRouter)', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let user: RegisteredUser;

  beforeAll(async () => {
    fake = await startFakeLlm({ apiKey: 'or-test-key' });
    t = await createTestApp({
      env: {
        OPENROUTER_API_KEY: 'or-test-key',
        OPENROUTER_BASE_URL: fake.openrouterBaseUrl,
        DEFAULT_MODEL: `openrouter:${MODEL}`,
        LLM_RETRY_BASE_MS: '10',
        AGENT_TIMEOUT_SECONDS: '20',
      },
    });
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('runs a task end to end on OpenRouter and records the cost it reported, exactly', async () => {
    const script = scriptAgents(fake, {
      submit_plan: [{ tool: PLAN, usage: { input: 1200, output: 80, cost: 0.0001234 } }],
      write_files: [{ tool: CODE, usage: { input: 1500, output: 60, cost: 0.00025 } }],
      write_tests: [{ tool: TESTS, usage: { input: 1600, output: 70, cost: 0.0005 } }],
      submit_review: [{ tool: APPROVE, usage: { input: 1700, output: 40, cost: 0.000125 } }],
    });
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(user.auth)
      .send({ title: 'Sum', description: 'Export sum(a, b) from sum.mjs.', language: 'javascript' })
      .expect(201);
    const queued = await t
      .http()
      .post(`/api/v1/tasks/${task.body.task.id as string}/execute`)
      .set(user.auth)
      .expect(202);
    const run = await waitForRun(t, user.auth, queued.body.run.id as string, ['completed', 'failed']);
    expect(run.status).toBe('completed');
    expect(script.remaining()).toEqual({ submit_plan: 0, write_files: 0, write_tests: 0, submit_review: 0 });

    // Every model step went to OpenRouter with the vendor/model name, priced at what OpenRouter reported.
    const modelSteps = run.steps.filter((s) => s.agent !== 'sandbox');
    expect(modelSteps.map((s) => [s.agent, s.provider, s.model, s.costUsd])).toEqual([
      ['planner', 'openrouter', MODEL, '0.0001234'],
      ['coder', 'openrouter', MODEL, '0.00025'],
      ['tester', 'openrouter', MODEL, '0.0005'],
      ['reviewer', 'openrouter', MODEL, '0.000125'],
    ]);
    expect(run.usage.costUsd).toBe('0.0009984');
    expect(run.usage.inputTokens).toBe(1200 + 1500 + 1600 + 1700);

    // On the wire: OpenRouter's path and key, the vendor/model name, and the request for the cost.
    expect(fake.requests).toHaveLength(4);
    for (const request of fake.requests) {
      expect(request.path).toBe('/openrouter/api/v1/chat/completions');
      expect(request.headers.authorization).toBe('Bearer or-test-key');
      expect(request.model).toBe(MODEL);
      expect(request.body.usage).toEqual({ include: true });
    }

    const usage = await t.http().get('/api/v1/metrics/usage').query({ groupBy: 'provider' }).set(user.auth).expect(200);
    expect(usage.body.items).toEqual([
      expect.objectContaining({ key: 'openrouter', calls: 4, inputTokens: 6000, costUsd: expect.any(String) }),
    ]);
    expect(Number(usage.body.items[0].costUsd)).toBe(0.0009984);
  });

  it('a refused OpenRouter key fails the call as OpenRouter refused it, without retries', async () => {
    fake.reset();
    fake.script(MODEL, { kind: 'error', status: 401, message: 'No auth credentials found' });
    await expect(
      t.app.get(LlmGatewayService).call({
        context: { userId: user.id, agent: 'planner' },
        messages: [{ role: 'user', content: 'Plan.' }],
      }),
    ).rejects.toMatchObject({
      code: 'LLM_REQUEST_REJECTED',
      options: { extra: { provider: 'openrouter', upstreamStatus: 401 } },
    });
    expect(fake.requests).toHaveLength(1);
  });
});
