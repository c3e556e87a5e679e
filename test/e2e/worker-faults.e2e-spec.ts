import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { freePort } from '../support/processes.js';
import {
  AgentScript,
  agentOf,
  readSse,
  runEvents,
  scriptAgents,
  SseEvent,
  until,
  waitForRun,
} from '../support/runs.js';
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
const APPROVE = { verdict: 'APPROVE', summary: 'ok', issues: [] };
const ALL_COMPLETED = [
  'planner:completed',
  'coder:completed',
  'tester:completed',
  'sandbox:completed',
  'reviewer:completed',
];

/**
 * A Redis of this test's own (so restarting it disturbs nothing else), with an append-only file so
 * that a restart keeps the queues as a production Redis does.
 */
class PrivateRedis {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'quorum-redis-'));
  constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--dir', this.dir];
    const child = spawn('redis-server', [...args, '--appendonly', 'yes', '--appendfsync', 'always'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    this.child = child;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}:\n${output}`)));
    });
  }

  /** SIGTERM, as an operator's restart does: Redis writes its append-only file and exits. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Consecutive seqs from 1: nothing lost, nothing twice. */
function expectGapless(seqs: number[]): void {
  expect(seqs).toEqual(seqs.map((_, index) => index + 1));
}

/**
 * The production shape under faults: this test's API process (no in-process worker), two worker
 * processes, a private Redis and the test database. A worker stopped by a deploy (SIGTERM) or killed
 * (SIGKILL), or Redis restarted, mid-run: the run completes, its events are gapless and the planner
 * is asked once.
 */
describe('worker and Redis faults mid-run', () => {
  let fake: FakeLlm;
  let redis: PrivateRedis;
  let api: TestApp;
  let user: RegisteredUser;
  const workers: WorkerProcess[] = [];
  let spare: Promise<WorkerProcess> | undefined;

  const startWorker = async () => {
    const worker = await startWorkerProcess(api.env);
    workers.push(worker);
    return worker;
  };
  const alive = () => workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);

  beforeAll(async () => {
    fake = await startFakeLlm();
    redis = new PrivateRedis(await freePort());
    await redis.start();
    api = await createTestApp({
      workerInProcess: false,
      env: fakeLlmEnv(fake, {
        REDIS_URL: redis.url,
        AGENT_JOB_LOCK_MS: '2000',
        AGENT_JOB_STALLED_INTERVAL_MS: '500',
        SSE_HEARTBEAT_MS: '1000',
        SHUTDOWN_TIMEOUT_MS: '4000',
      }),
    });
    user = await registerUser(api);
    await Promise.all([startWorker(), startWorker()]);
  }, 180_000);
  afterAll(async () => {
    await spare?.catch(() => undefined);
    for (const worker of workers) await worker.kill();
    await api?.close();
    await redis?.destroy();
    await fake?.close();
  });

  /** Two workers ready: the one a previous test started in the background is awaited here. */
  const twoWorkers = async () => {
    if (spare) await spare;
    spare = undefined;
    while (alive().length < 2) await startWorker();
  };

  const execute = async (script: AgentScript) => {
    fake.reset();
    scriptAgents(fake, script);
    const task = (
      await api
        .http()
        .post('/api/v1/tasks')
        .set(user.auth)
        .send({ title: 'Sum', description: 'sum(a, b)', language: 'javascript' })
        .expect(201)
    ).body.task;
    return (await api.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run as {
      id: string;
    };
  };

  /** The worker that took the run's job (it logs the start of each job with the run id). */
  const holderOf = (runId: string) =>
    until(
      async () =>
        alive().find((w) =>
          w
            .output()
            .split('\n')
            .some((line) => line.includes('agent run job started') && line.includes(runId)),
        ),
      60_000,
    );
  const coderCalled = (times: number) =>
    until(async () => fake.requests.filter((r) => agentOf(r) === 'write_files').length >= times, 60_000, 10);

  const expectHealthyEnd = async (runId: string) => {
    const events = await runEvents(api, user.auth, runId);
    expectGapless(events.map((e) => e.seq));
    expect(events.filter((e) => e.type === 'run.started')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'run.failed')).toHaveLength(0);
    expect(events.at(-1)!.type).toBe('run.completed');
    expect(fake.requests.filter((r) => agentOf(r) === 'submit_plan')).toHaveLength(1);
    return events;
  };

  it('SIGTERM during a model call that ends within the grace: the step completes, another worker finishes the run, nothing is asked twice', async () => {
    await twoWorkers();
    const run = await execute({
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: FIXED, delayMs: 800 }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const holder = await holderOf(run.id);
    await coderCalled(1);
    holder.child.kill('SIGTERM');
    const exit = await new Promise<number | null>((resolve) => holder.child.once('exit', (code) => resolve(code)));
    spare = startWorker();

    expect(exit).toBe(0);
    expect(holder.output()).toContain('run handed over');
    expect(holder.output()).not.toContain('Cannot use a pool');
    const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed'], 90_000);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s) => `${s.agent}:${s.status}`)).toEqual(ALL_COMPLETED);
    expect(fake.requests.filter((r) => agentOf(r) === 'write_files')).toHaveLength(1);
    await expectHealthyEnd(run.id);
  }, 180_000);

  it('SIGTERM during a model call that outlasts the grace: the step is interrupted (not failed) and resumed elsewhere', async () => {
    await twoWorkers();
    const run = await execute({
      submit_plan: [{ tool: PLAN }],
      write_files: [{ kind: 'hang' }, { tool: FIXED }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const holder = await holderOf(run.id);
    await coderCalled(1);
    holder.child.kill('SIGTERM');
    const exit = await new Promise<number | null>((resolve) => holder.child.once('exit', (code) => resolve(code)));
    spare = startWorker();

    expect(exit).toBe(0);
    expect(holder.output()).toContain('run handed over');
    const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed'], 90_000);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s) => `${s.agent}:${s.status}`)).toEqual([
      'planner:completed',
      'coder:interrupted',
      'coder:completed',
      'tester:completed',
      'sandbox:completed',
      'reviewer:completed',
    ]);
    const events = await expectHealthyEnd(run.id);
    // No step reported a failure; the interrupted one is closed (with what it cost) by the worker that resumed.
    expect(events.filter((e) => e.type === 'agent.completed').map((e) => e.data.status)).not.toContain('failed');
  }, 180_000);

  it('SIGKILL mid-run: another worker completes the run from its checkpoint', async () => {
    await twoWorkers();
    const run = await execute({
      submit_plan: [{ tool: PLAN }],
      write_files: [{ kind: 'hang' }, { tool: FIXED }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const holder = await holderOf(run.id);
    await coderCalled(1);
    await holder.kill('SIGKILL');

    const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed'], 90_000);
    expect(done.status).toBe('completed');
    expect(done.steps.map((s) => s.status).filter((s) => s !== 'completed')).toEqual(['interrupted']);
    await expectHealthyEnd(run.id);
  }, 180_000);

  it('Redis restarted mid-run: the run completes and an SSE reader resumes to the terminal event without a gap', async () => {
    if (alive().length === 0) await startWorker();
    const run = await execute({
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: FIXED, delayMs: 1500 }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const path = `/api/v1/agents/runs/${run.id}/stream`;
    const first = readSse(api, path, user.auth, { timeoutMs: 90_000 });
    await coderCalled(1);
    await redis.stop();
    await redis.start();

    // A reader whose stream ended early reconnects with Last-Event-ID, as EventSource does.
    const streamed: SseEvent[] = [];
    let part = await first;
    for (let attempt = 0; ; attempt++) {
      expect(part.status).toBe(200);
      streamed.push(...part.events.filter((e) => e.id !== undefined));
      if (streamed.at(-1)?.event === 'run.completed' || attempt >= 5) break;
      const lastId = streamed.at(-1)?.id;
      part = await readSse(
        api,
        path,
        { ...user.auth, ...(lastId ? { 'Last-Event-ID': lastId } : {}) },
        {
          timeoutMs: 90_000,
        },
      );
    }
    const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed'], 90_000);
    expect(done.status).toBe('completed');
    const events = await expectHealthyEnd(run.id);
    expect(streamed.map((e) => Number(e.id))).toEqual(events.map((e) => e.seq));
  }, 180_000);
});
