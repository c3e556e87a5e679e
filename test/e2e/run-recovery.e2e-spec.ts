import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createBareRepo } from '../support/git-repos.js';
import { fakeLlmEnv } from '../support/llm.js';
import { processesWith } from '../support/processes.js';
import { agentOf, readSse, runEvents, scriptAgents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { startWorkerProcess, WorkerProcess } from '../support/worker-process.js';

const PLAN = { summary: 'Write sum', steps: [{ title: 'Implement sum' }] };
const FIXED = { files: [{ path: 'sum.mjs', content: 'export const sum = (a, b) => a + b;\n' }] };
const TESTS = {
  files: [
    {
      path: 'sum.test.mjs',
      content:
        "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sum } from './sum.mjs';\ntest('adds', () => assert.equal(sum(2, 2), 4));\n",
    },
  ],
};

/** A worker process dies mid-run; another worker finishes the run from the checkpoint. */
describe('run recovery across worker processes', () => {
  let fake: FakeLlm;
  let api: TestApp;
  let secondApi: TestApp | undefined;
  let user: RegisteredUser;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    fake = await startFakeLlm();
    api = await createTestApp({
      workerInProcess: false,
      env: fakeLlmEnv(fake, {
        AGENT_JOB_LOCK_MS: '2000',
        ALLOW_LOCAL_REPOSITORIES: 'true',
        AGENT_JOB_STALLED_INTERVAL_MS: '500',
        SSE_HEARTBEAT_MS: '1000',
      }),
    });
    user = await registerUser(api);
  });
  // Each test's workers stop with it: a survivor of one test would take the next test's job.
  afterEach(async () => {
    for (const worker of workers.splice(0)) await worker.kill();
  });
  afterAll(async () => {
    await secondApi?.close();
    await api?.close();
    await fake?.close();
  });

  it('does not repeat finished steps, and SSE resumes from another API process by Last-Event-ID', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      // The first worker dies while the coder's model call is in flight.
      write_files: [{ kind: 'hang' }, { tool: FIXED }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: { verdict: 'APPROVE', summary: 'ok', issues: [] } }],
    });
    const first = await startWorkerProcess(api.env);
    workers.push(first);
    const task = (
      await api
        .http()
        .post('/api/v1/tasks')
        .set(user.auth)
        .send({ title: 'Sum', description: 'sum(a, b)', language: 'javascript' })
        .expect(201)
    ).body.task;
    const run = (await api.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;

    // Read the live stream from this API until the coder has started, then drop the connection.
    const head = await readSse(api, `/api/v1/agents/runs/${run.id}/stream`, user.auth, {
      stopWhen: (event) => event.event === 'agent.started' && JSON.parse(event.data).data.agent === 'coder',
      timeoutMs: 60_000,
    });
    expect(head.ended).toBe(false);
    expect(head.events.at(-1)!.event).toBe('agent.started');
    const lastId = head.events.filter((e) => e.id !== undefined).at(-1)!.id!;

    await first.kill('SIGKILL');
    const second = await startWorkerProcess(api.env);
    workers.push(second);

    // A second API process (own Redis subscriber, no shared memory) continues the stream.
    secondApi = await createTestApp({
      databaseUrl: api.databaseUrl,
      redisPrefix: api.redisPrefix,
      workerInProcess: false,
      // Same DATA_DIR: the development JWT secret is kept there, so the first API's token is valid.
      env: fakeLlmEnv(fake, { DATA_DIR: api.env.DATA_DIR }),
    });
    const tail = await readSse(
      secondApi,
      `/api/v1/agents/runs/${run.id}/stream`,
      { ...user.auth, 'Last-Event-ID': lastId },
      { timeoutMs: 90_000 },
    );
    expect(tail.status).toBe(200);
    expect(tail.ended).toBe(true);

    const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s) => `${s.agent}:${s.status}`)).toEqual([
      'planner:completed',
      'coder:interrupted',
      'coder:completed',
      'tester:completed',
      'sandbox:completed',
      'reviewer:completed',
    ]);
    // The planner's model call happened once: the second worker resumed after it.
    expect(fake.requests.filter((r) => r.forcedTool === 'submit_plan')).toHaveLength(1);
    expect(fake.requests.filter((r) => agentOf(r) === 'write_files')).toHaveLength(2);

    const stored = await runEvents(api, user.auth, run.id);
    const streamed = [...head.events, ...tail.events].filter((e) => e.id !== undefined).map((e) => Number(e.id));
    expect(streamed).toEqual(stored.map((e) => e.seq));
    expect(stored.filter((e) => e.type === 'run.started')).toHaveLength(1);
    // About 15 s on a quiet machine; starting two real worker processes takes far longer under load.
  }, 180_000);

  it('resumes a tool loop after its worker died mid-command: no model call paid twice, the lost call answered as an error', async () => {
    fake.reset();
    const needle = 'sleep 21.4242';
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [
        { calls: [{ name: 'list_files', arguments: {} }] },
        { calls: [{ name: 'run_command', arguments: { command: needle } }] },
        { tool: FIXED },
      ],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: { verdict: 'APPROVE', summary: 'ok', issues: [] } }],
    });
    const first = await startWorkerProcess(api.env);
    workers.push(first);
    const task = (
      await api
        .http()
        .post('/api/v1/tasks')
        .set(user.auth)
        .send({ title: 'Sum', description: 'sum(a, b)', language: 'javascript' })
        .expect(201)
    ).body.task;
    const run = (await api.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;
    await until(async () => processesWith(needle).length > 0, 90_000, 20);
    await first.kill('SIGKILL');
    const second = await startWorkerProcess(api.env);
    workers.push(second);

    const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed'], 120_000);
    expect(done.status).toBe('completed');
    const coder = fake.requests.filter((r) => agentOf(r) === 'write_files');
    // Three model calls in all: the two the dead worker made were not made again.
    expect(coder).toHaveLength(3);
    const told = coder[2].toolResults.filter((r) => r.latest);
    expect(told).toEqual([
      expect.objectContaining({
        name: 'run_command',
        content: expect.stringContaining('the worker running this call stopped'),
      }),
    ]);
    expect(done.steps.filter((s) => s.agent === 'coder').map((s) => s.status)).toEqual(['interrupted', 'completed']);
    const [interrupted, completed] = done.steps.filter((s) => s.agent === 'coder');
    const perCall = (r: (typeof coder)[number]) => Math.ceil(r.prompt.length / 4);
    expect(interrupted.inputTokens).toBe(perCall(coder[0]) + perCall(coder[1]));
    expect(completed.inputTokens).toBe(perCall(coder[2]));
    // One usage row per model call of the run: planner, three coder calls, tester, reviewer.
    const usage = await api.http().get('/api/v1/metrics/usage?groupBy=task').set(user.auth).expect(200);
    expect(usage.body.items.find((i: { key: string }) => i.key === task.id)).toMatchObject({ calls: 6 });
    const calls = (await runEvents(api, user.auth, run.id)).filter((e) => e.type === 'agent.tool_call');
    expect(calls.map((e) => [e.data.tool, e.data.ok])).toEqual([
      ['list_files', true],
      ['run_command', false],
    ]);
  }, 240_000);

  it('a repository run taken over by a worker on another machine keeps what its finishing calls answered', async () => {
    // The second worker has a DATA_DIR of its own (the same secrets, as a deployment configures
    // them): the run's checkout is not there, so it clones again; the coder's answered file must
    // still be what the tests run and the commit holds.
    fake.reset();
    const repo = createBareRepo({ 'README.md': '# sums\n' });
    const otherDataDir = mkdtempSync(join(tmpdir(), 'quorum-other-machine-'));
    copyFileSync(join(api.env.DATA_DIR, 'secrets.json'), join(otherDataDir, 'secrets.json'));
    try {
      scriptAgents(fake, {
        submit_plan: [{ tool: PLAN }],
        write_files: [{ tool: FIXED }],
        // The first worker dies while the tester's model call is in flight.
        write_tests: [{ kind: 'hang' }, { tool: TESTS }],
        submit_review: [{ tool: { verdict: 'APPROVE', summary: 'ok', issues: [] } }],
      });
      const first = await startWorkerProcess(api.env);
      workers.push(first);
      const repository = await api.http().post('/api/v1/repositories').set(user.auth).send({ url: repo.path });
      expect(repository.status).toBe(201);
      const task = (
        await api
          .http()
          .post('/api/v1/tasks')
          .set(user.auth)
          .send({ title: 'Sum', description: 'sum(a, b)', language: 'javascript', repositoryId: repository.body.id })
          .expect(201)
      ).body.task;
      const run = (await api.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;
      await until(
        async () =>
          (await runEvents(api, user.auth, run.id)).some(
            (e) => e.type === 'agent.started' && e.data.agent === 'tester',
          ),
        90_000,
      );
      await first.kill('SIGKILL');
      const second = await startWorkerProcess({ ...api.env, DATA_DIR: otherDataDir });
      workers.push(second);

      const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed'], 120_000);
      expect(done.status).toBe('completed');
      const result = (await api.http().get(`/api/v1/tasks/${task.id}/result`).set(user.auth).expect(200)).body;
      expect(result.tests).toMatchObject({ passed: 1, failed: 0 });
      expect(result.files).toEqual([FIXED.files[0], TESTS.files[0]]);
      expect(result.diff).toContain('+export const sum = (a, b) => a + b;');
      // The coder was not asked again: its answer came from the checkpoint, its file from there too.
      expect(fake.requests.filter((r) => agentOf(r) === 'write_files')).toHaveLength(1);
    } finally {
      repo.cleanup();
      rmSync(otherDataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
