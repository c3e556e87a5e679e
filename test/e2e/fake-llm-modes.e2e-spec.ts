import { registerUser, RegisteredUser } from '../support/auth.js';
import { Child, freePort, spawnChild, waitFor } from '../support/processes.js';
import { waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/** `npm run fake-llm -- --mode echo` as a newcomer starts it, with Quorum pointed at it as docs/llm.md shows. */
describe('the fake model, standalone (tools/fake-llm.mjs)', () => {
  let fake: Child;
  let t: TestApp;
  let user: RegisteredUser;

  beforeAll(async () => {
    const port = await freePort();
    fake = spawnChild(['tools/fake-llm.mjs', '--port', String(port), '--mode', 'echo'], {});
    await waitFor(() => fake.output().includes('fake LLM listening'), 30_000, 'the fake model to listen');
    t = await createTestApp({
      env: {
        LOCAL_LLM_BASE_URL: `http://127.0.0.1:${port}/openai/v1`,
        LOCAL_LLM_MODEL: 'demo',
        DEFAULT_MODEL: 'local:demo',
      },
    });
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    fake?.process.kill('SIGTERM');
    await fake?.exited;
  });

  async function run(task: Record<string, string>) {
    const created = await t.http().post('/api/v1/tasks').set(user.auth).send(task).expect(201);
    const taskId = created.body.task.id as string;
    const queued = await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(user.auth).expect(202);
    const finished = await waitForRun(t, user.auth, queued.body.run.id as string, ['completed', 'failed']);
    const result = await t.http().get(`/api/v1/tasks/${taskId}/result`).set(user.auth).expect(200);
    return { finished, result: result.body };
  }

  it('prints its mode and the base URLs to use', () => {
    expect(fake.output()).toMatch(/^fake LLM listening on http:\/\/127\.0\.0\.1:\d+ \(mode echo\)$/m);
    expect(fake.output()).toMatch(/^ {2}OPENAI_BASE_URL=http:\/\/127\.0\.0\.1:\d+\/openai\/v1$/m);
  });

  it('echo mode writes the file the task names (reverse.js stays reverse.js), says it is the fake, and its tests pass', async () => {
    const { finished, result } = await run({
      title: 'Reverse a string',
      description: 'Export reverse(s) from reverse.js.',
      language: 'javascript',
    });
    expect(finished.status).toBe('completed');
    expect(result).toMatchObject({
      status: 'completed',
      tests: { passed: 2, failed: 0 },
      review: { verdict: 'APPROVE' },
    });
    expect(result.files.map((file: { path: string }) => file.path)).toEqual(['reverse.js']);
    expect(result.files[0].content).toContain('Written by the fake model (npm run fake-llm -- --mode echo)');
    expect(result.review.summary).toMatch(/^Fake model \(echo mode\)/);
  });

  it('echo mode in Python uses the module the task names', async () => {
    const { finished, result } = await run({
      title: 'Slugs',
      description: 'Add slugify(text) to text_utils.py (and keep README.md as it is).',
      language: 'python',
    });
    expect(finished.status).toBe('completed');
    expect(result.tests).toMatchObject({ passed: 2, failed: 0 });
    expect(result.files.map((file: { path: string }) => file.path)).toEqual(['text_utils.py']);
  });

  it('a task naming no file gets solution.* as in the demo mode', async () => {
    const { result } = await run({ title: 'Add', description: 'Add two numbers.', language: 'typescript' });
    expect(result.status).toBe('completed');
    expect(result.files.map((file: { path: string }) => file.path)).toEqual(['solution.ts']);
  });

  it('an unknown mode stops at once with the modes it knows', async () => {
    const wrong = spawnChild(['tools/fake-llm.mjs', '--port', '0', '--mode', 'parrot'], {});
    expect(await wrong.exited).toEqual({ code: 2, signal: null });
    expect(wrong.output().trim()).toBe('fake-llm: --mode must be one of demo, echo, schema (got parrot)');
  });
});
