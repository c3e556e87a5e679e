import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { runEvents, scriptAgents, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const PLAN = { summary: 'p', steps: [] };
const CODE = { files: [{ path: 'x.mjs', content: 'export const x = 1;\n' }] };
const APPROVE = { verdict: 'APPROVE', summary: 'ok', issues: [] };

/** What generated tests can reach through a whole run: no secrets, no network, bounded time; the worker carries on. */
describe('agent runs against hostile generated tests', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let user: RegisteredUser;
  beforeAll(async () => {
    fake = await startFakeLlm();
    // Short enough that the spinning test is cut quickly, long enough that a sound test run in the
    // sandbox (Node's start-up included) finishes on a loaded 2-core CI machine.
    t = await createTestApp({ env: fakeLlmEnv(fake, { SANDBOX_TIMEOUT_SECONDS: '6' }) });
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  async function run(config: Record<string, unknown> = {}) {
    const task = (
      await t
        .http()
        .post('/api/v1/tasks')
        .set(user.auth)
        .send({ title: 'x', description: 'x', language: 'javascript', config })
        .expect(201)
    ).body.task;
    const queued = (await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;
    return waitForRun(t, user.auth, queued.id, ['completed', 'failed', 'cancelled'], 20_000);
  }

  it('gives generated tests no secrets and no network, really', async () => {
    const probe = [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "test('sees no secrets', () => { for (const k of ['OPENAI_API_KEY', 'DATABASE_URL', 'REDIS_URL', 'JWT_SECRET']) assert.equal(process.env[k], undefined); });",
      `test('reaches no network', async () => { await assert.rejects(fetch('${fake.url}/openai/v1/models', { signal: AbortSignal.timeout(1500) })); });`,
      '',
    ].join('\n');
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: CODE }],
      write_tests: [{ tool: { files: [{ path: 'probe.test.mjs', content: probe }] } }],
      submit_review: [{ tool: APPROVE }],
    });
    const done = await run();
    expect(done.status).toBe('completed');
    const tests = (await runEvents(t, user.auth, done.id)).filter((e) => e.type === 'tests.completed');
    expect(tests.map((e) => [e.data.passed, e.data.failed])).toEqual([[2, 0]]);
  });

  it('reports a test that never ends as a failed test, and the worker goes on with the next run', async () => {
    const spin = "import { test } from 'node:test';\ntest('spins', () => { for (;;) {} });\n";
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: CODE }],
      write_tests: [{ tool: { files: [{ path: 'spin.test.mjs', content: spin }] } }],
    });
    const failed = await run({ maxIterations: 1 });
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'MAX_ITERATIONS' });
    const tests = (await runEvents(t, user.auth, failed.id)).find((e) => e.type === 'tests.completed')!;
    expect(tests.data.failed).toBeGreaterThanOrEqual(1);

    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: CODE }],
      write_tests: [
        {
          tool: {
            files: [{ path: 'ok.test.mjs', content: "import { test } from 'node:test';\ntest('ok', () => {});\n" }],
          },
        },
      ],
      submit_review: [{ tool: APPROVE }],
    });
    expect((await run()).status).toBe('completed');
  });
});
