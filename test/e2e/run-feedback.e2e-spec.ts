import { QueuedRunWatch } from '../../src/agents/runs/queued-run-watch.service.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { captureOutput } from '../support/capture-output.js';
import { runEvents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const TASK = { title: 'Sum', description: 'sum(a, b)', language: 'javascript' };

async function createTask(t: TestApp, user: RegisteredUser, body: object = TASK): Promise<string> {
  return (await t.http().post('/api/v1/tasks').set(user.auth).send(body).expect(201)).body.task.id as string;
}

/** Log messages (JSON lines in tests) that contain `text`. */
function messages(output: string, text: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? '')
    .filter((msg) => msg.includes(text));
}

describe('why a run cannot start or failed', () => {
  let output: ReturnType<typeof captureOutput>;
  beforeAll(() => {
    output = captureOutput();
  });
  afterAll(() => output.restore());

  describe('with no model provider configured', () => {
    let t: TestApp;
    let alice: RegisteredUser;
    let bob: RegisteredUser;
    beforeAll(async () => {
      t = await createTestApp({ workerInProcess: false, env: { OPENAI_BASE_URL: '', LOG_LEVEL: 'warn' } });
      alice = await registerUser(t);
      bob = await registerUser(t);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('warns once at start, naming the variables that turn a provider on', () => {
      const warnings = messages(output.text(), 'No model provider is configured');
      expect(warnings.length).toBeGreaterThanOrEqual(1);
      expect(warnings[0]).toContain('Set OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_API_KEY or LOCAL_LLM_BASE_URL');
      expect(warnings[0]).toContain('npm run fake-llm');
      // The per-route warnings ("DEFAULT_MODEL names openai:gpt-4o, but openai is not configured") are not repeated.
      expect(messages(output.text(), 'DEFAULT_MODEL names')).toEqual([]);
    });

    it('execute answers 422 NO_PROVIDER saying what to set, and queues nothing', async () => {
      const taskId = await createTask(t, alice);
      const res = await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(alice.auth).expect(422);
      expect(res.body.code).toBe('NO_PROVIDER');
      expect(res.body.detail).toContain('No configured model provider can serve this task');
      expect(res.body.detail).toContain('openai:gpt-4o');
      expect(res.body.detail).toContain('set OPENAI_API_KEY or OPENAI_BASE_URL');
      const task = await t.http().get(`/api/v1/tasks/${taskId}`).set(alice.auth).expect(200);
      expect(task.body.task.status).toBe('draft');
      const result = await t.http().get(`/api/v1/tasks/${taskId}/result`).set(alice.auth).expect(404);
      expect(result.body.code).toBe('RUN_NOT_FOUND');
    });

    it("another user's task is 404, not 422", async () => {
      const taskId = await createTask(t, alice);
      const res = await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(bob.auth).expect(404);
      expect(res.body.code).toBe('TASK_NOT_FOUND');
    });
  });

  it('a configured fallback provider is enough to queue a run', async () => {
    const t = await createTestApp({
      workerInProcess: false,
      env: {
        ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
        DEFAULT_MODEL: 'openai:gpt-4o',
        LLM_FALLBACK_ORDER: 'anthropic',
      },
    });
    try {
      const user = await registerUser(t);
      const taskId = await createTask(t, user);
      await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(user.auth).expect(202);
    } finally {
      await t.close();
    }
  });

  it('a failing run logs its code and reason', async () => {
    // The test app's default provider listens nowhere: the run fails with LLM_UNAVAILABLE.
    const t = await createTestApp({ env: { LOG_LEVEL: 'warn' } });
    try {
      const user = await registerUser(t);
      const taskId = await createTask(t, user);
      const run = (await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(user.auth).expect(202)).body.run;
      const failed = await waitForRun(t, user.auth, run.id, ['failed']);
      expect(failed.errorCode).toBe('LLM_UNAVAILABLE');
      const lines = await until(async () => {
        const found = messages(output.text(), `agent run failed: LLM_UNAVAILABLE:`);
        return found.length > 0 ? found : undefined;
      });
      expect(lines[0]).toMatch(/^agent run failed: LLM_UNAVAILABLE: .+/);
    } finally {
      await t.close();
    }
  });

  describe('an API with nobody to run its jobs', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ workerInProcess: false, env: { AGENT_NO_WORKER_WARN_SECONDS: '1' } });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('a run queued past the threshold with no worker online says so in its events, once', async () => {
      const user = await registerUser(t);
      const other = await registerUser(t);
      const taskId = await createTask(t, user);
      const run = (await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(user.auth).expect(202)).body.run;
      const events = await until(async () => {
        const items = await runEvents(t, user.auth, run.id);
        return items.some((e) => e.type === 'run.waiting_for_worker') ? items : undefined;
      }, 30_000);
      const waiting = events.filter((e) => e.type === 'run.waiting_for_worker');
      expect(waiting).toHaveLength(1);
      expect(waiting[0].data).toEqual(
        expect.objectContaining({
          runId: run.id,
          taskId,
          workersOnline: 0,
          message: expect.stringContaining('No worker is consuming the run queue'),
        }),
      );
      expect(waiting[0].data.message).toContain('npm run start:worker');
      // Looking again tells nothing new: the run was told once for this queuing.
      expect(await t.app.get(QueuedRunWatch).check()).toBe(0);
      expect((await runEvents(t, user.auth, run.id)).filter((e) => e.type === 'run.waiting_for_worker')).toHaveLength(
        1,
      );
      // Another user sees nothing of it.
      await t.http().get(`/api/v1/agents/runs/${run.id}/events`).set(other.auth).expect(404);
    });
  });
});
