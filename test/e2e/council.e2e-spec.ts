import { DataSource } from 'typeorm';
import { userActor } from '../../src/audit/audit.service.js';
import { WebhooksService } from '../../src/webhooks/webhooks.service.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { review, scriptCouncil } from '../support/council.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { agentOf, runEvents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver.js';

const PLAN = {
  summary: 'Write sum and test it',
  steps: [{ title: 'Implement sum', detail: 'in sum.mjs', files: ['sum.mjs'] }],
};
const UNSAFE = {
  files: [{ path: 'sum.mjs', content: 'export function sum(a, b) {\n  return eval(`${a} + ${b}`);\n}\n' }],
};
const SAFE = { files: [{ path: 'sum.mjs', content: 'export function sum(a, b) {\n  return a + b;\n}\n' }] };
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
const REVIEW_FILES = [
  {
    path: 'src/db.js',
    content: "export function find(db, id) {\n  return db.query('SELECT * FROM users WHERE id = ' + id);\n}\n",
  },
];
const EVAL_ISSUE = {
  severity: 'critical',
  file: 'sum.mjs',
  line: 2,
  message: 'eval of user input allows code injection',
};

interface JudgeBody {
  judge: string;
  verdict: string | null;
  status: string;
  summary: string;
  issues: { severity: string; message: string; judges: string[] }[];
  score: number | null;
  dissent: boolean;
  costUsd: string;
  inputTokens: number;
  error: string | null;
  stepId: string | null;
}

describe('council review (HTTP, fake LLM, real sandbox)', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let user: RegisteredUser;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    fake = await startFakeLlm();
    receiver = await startWebhookReceiver();
    t = await createTestApp({
      env: fakeLlmEnv(fake, {
        USE_COUNCIL_REVIEW: 'true',
        // judge.security has its own route; the other judges fall back to `judge`; everyone else to DEFAULT_MODEL (openai).
        AGENT_MODELS: 'judge.security=anthropic:claude-haiku-4-5,judge=google:gemini-2.5-flash',
        AGENT_TIMEOUT_SECONDS: '10',
        LLM_MAX_RETRIES: '2',
        LLM_BREAKER_FAILURE_THRESHOLD: '1000',
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      }),
    });
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await receiver?.close();
  });
  beforeEach(() => fake.reset());

  async function createTask(body: Record<string, unknown> = {}, auth = user.auth) {
    const res = await t
      .http()
      .post('/api/v1/tasks')
      .set(auth)
      .send({ title: 'Sum', description: 'Export sum(a, b) from sum.mjs.', language: 'javascript', ...body })
      .expect(201);
    return res.body.task as { id: string };
  }

  async function runTask(body: Record<string, unknown> = {}) {
    const task = await createTask(body);
    const queued = await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202);
    const run = await waitForRun(t, user.auth, queued.body.run.id, ['completed', 'failed']);
    return { task, run };
  }

  async function council(runId: string, auth = user.auth) {
    const res = await t.http().get(`/api/v1/agents/runs/${runId}/council`).set(auth).expect(200);
    return res.body as {
      verdict: string;
      reason: string;
      score: number;
      judges: JudgeBody[];
      dissent: { judge: string; verdict: string }[];
      iterations: { iteration: number; verdict: string; reason: string }[];
      issues: { severity: string; judges: string[]; message: string }[];
      costUsd: string;
      vetoedBy?: string;
    };
  }

  it('reviews a review-only task without planner, coder or tester, with a score and every judge', async () => {
    const sqli = {
      severity: 'critical',
      file: 'src/db.js',
      line: 2,
      message: 'SQL injection: id is concatenated into the query',
    };
    const script = scriptCouncil(fake, {
      judges: {
        security: [review('REJECT', [sqli], 2)],
        performance: [
          review(
            'APPROVE',
            [{ severity: 'info', file: 'src/db.js', line: 2, message: 'SELECT * fetches every column' }],
            8,
          ),
        ],
        maintainability: [
          review('REVISE', [
            { ...sqli, severity: 'warning', message: 'sql injection: id concatenated into the query!' },
          ]),
        ],
      },
    });
    const { task, run } = await runTask({
      mode: 'review',
      files: REVIEW_FILES,
      title: 'Review db.js',
      description: 'Review it.',
    });
    expect(run.status).toBe('completed');
    expect([...script.asked].sort()).toEqual(['maintainability', 'performance', 'security']);
    expect(fake.requests.every((r) => r.forcedTool === 'submit_review')).toBe(true);
    expect(run.steps.map((s) => s.agent).sort()).toEqual([
      'judge.maintainability',
      'judge.performance',
      'judge.security',
    ]);

    const result = await t.http().get(`/api/v1/tasks/${task.id}/result`).set(user.auth).expect(200);
    // Veto (security REJECT) → REVISE; mean of 2, 8 and 10 − 1.5 = 8.5 → 6.2.
    expect(result.body.review).toMatchObject({ verdict: 'REVISE', score: 6.2 });
    expect(result.body.review.issues[0]).toMatchObject({
      severity: 'critical',
      file: 'src/db.js',
      line: 2,
      judges: ['security', 'maintainability'],
    });
    expect(result.body.review.issues).toHaveLength(2);
    expect(result.body.council.judges.map((j: JudgeBody) => [j.judge, j.verdict])).toEqual([
      ['security', 'REJECT'],
      ['performance', 'APPROVE'],
      ['maintainability', 'REVISE'],
    ]);

    const body = await council(run.id);
    expect(body).toMatchObject({ verdict: 'REVISE', reason: 'VETO', vetoedBy: 'security', score: 6.2 });
    expect(body.judges.find((j) => j.judge === 'performance')).toMatchObject({
      verdict: 'APPROVE',
      dissent: true,
      score: 8,
    });
  });

  it('completes a build task on a unanimous approval, recording each judge step with its cost', async () => {
    scriptCouncil(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: SAFE }],
      write_tests: [{ tool: TESTS }],
      judges: {
        security: [review('APPROVE', [], 9)],
        performance: [review('APPROVE', [], 9)],
        maintainability: [review('APPROVE', [], 8)],
      },
    });
    const { run } = await runTask();
    expect(run.status).toBe('completed');
    const judgeSteps = run.steps.filter((s) => s.agent.startsWith('judge.'));
    expect(judgeSteps).toHaveLength(3);
    expect(run.steps.some((s) => s.agent === 'reviewer')).toBe(false);
    expect(Object.fromEntries(judgeSteps.map((s) => [s.agent, `${s.provider}:${s.model}`]))).toEqual({
      'judge.security': 'anthropic:claude-haiku-4-5',
      'judge.performance': 'google:gemini-2.5-flash',
      'judge.maintainability': 'google:gemini-2.5-flash',
    });
    expect(run.steps.find((s) => s.agent === 'planner')).toMatchObject({ provider: 'openai', model: 'gpt-4o' });
    for (const step of judgeSteps) {
      expect(step.status).toBe('completed');
      expect(Number(step.costUsd)).toBeGreaterThan(0);
    }
    expect(new Set(fake.requests.filter((r) => r.forcedTool === 'submit_review').map((r) => r.format))).toEqual(
      new Set(['anthropic', 'google']),
    );
    const body = await council(run.id);
    expect(body).toMatchObject({ verdict: 'APPROVE', reason: 'MAJORITY', dissent: [], score: 8.7 });
    for (const judge of body.judges) {
      const step = judgeSteps.find((s) => s.id === judge.stepId)!;
      expect(step.agent).toBe(`judge.${judge.judge}`);
      expect(judge.costUsd).toBe(step.costUsd);
      expect(Number(judge.costUsd)).toBeGreaterThan(0);
      expect(judge.inputTokens).toBe(step.inputTokens);
    }
    expect(Number(body.costUsd)).toBeCloseTo(
      judgeSteps.reduce((sum, s) => sum + Number(s.costUsd), 0),
      8,
    );

    const rows = await t.app
      .get(DataSource)
      .query('SELECT judge, cost_usd, status FROM council_reviews WHERE run_id = $1 ORDER BY judge', [run.id]);
    expect(rows.map((r: { judge: string }) => r.judge)).toEqual(['maintainability', 'performance', 'security']);
    expect(rows.every((r: { cost_usd: string }) => Number(r.cost_usd) > 0)).toBe(true);

    const events = await runEvents(t, user.auth, run.id);
    const completed = events.filter((e) => e.type === 'council.completed');
    expect(completed).toHaveLength(1);
    expect(completed[0].data).toMatchObject({
      taskId: run.taskId,
      runId: run.id,
      iteration: 1,
      verdict: 'APPROVE',
      votes: { APPROVE: 3, REVISE: 0, REJECT: 0 },
    });
    expect(completed[0].data.judges.map((j: { judge: string; costUsd: string }) => j.judge)).toEqual([
      'security',
      'performance',
      'maintainability',
    ]);
    const started = events.filter((e) => e.type === 'agent.started' && String(e.data.agent).startsWith('judge.'));
    expect(started).toHaveLength(3);
  });

  it('approves 2-1 and shows the dissent in the event, the result and the API', async () => {
    scriptCouncil(fake, {
      judges: {
        security: [review('APPROVE', [], 9)],
        performance: [
          review(
            'REVISE',
            [{ severity: 'warning', file: 'src/db.js', line: 2, message: 'no index on id' }],
            6,
            'Needs an index.',
          ),
        ],
        maintainability: [review('APPROVE', [], 8)],
      },
    });
    const { task, run } = await runTask({
      mode: 'review',
      files: [{ path: 'src/db.js', content: 'export const x = 1;\n' }],
    });
    expect(run.status).toBe('completed');
    const body = await council(run.id);
    expect(body).toMatchObject({
      verdict: 'APPROVE',
      reason: 'MAJORITY',
      dissent: [{ judge: 'performance', verdict: 'REVISE' }],
    });
    expect(body.judges.find((j) => j.judge === 'performance')).toMatchObject({
      dissent: true,
      summary: 'Needs an index.',
    });
    const result = await t.http().get(`/api/v1/tasks/${task.id}/result`).set(user.auth).expect(200);
    expect(result.body.review.summary).toContain('Dissent: performance REVISE');
    const [event] = (await runEvents(t, user.auth, run.id)).filter((e) => e.type === 'council.completed');
    expect(event.data.dissent).toEqual([{ judge: 'performance', verdict: 'REVISE' }]);
  });

  it('lets a security veto override two approvals, sends the findings to the coder, then passes', async () => {
    scriptCouncil(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: UNSAFE }, { tool: SAFE }],
      write_tests: [{ tool: TESTS }],
      judges: {
        security: [review('APPROVE', [EVAL_ISSUE], 3), review('APPROVE', [], 9)],
        performance: [review('APPROVE', [], 9)],
        maintainability: [review('APPROVE', [{ severity: 'info', message: 'add JSDoc' }], 8)],
      },
    });
    const { run } = await runTask({ config: { maxIterations: 3 } });
    expect(run).toMatchObject({ status: 'completed', iteration: 2 });
    const coder = fake.requests.filter((r) => agentOf(r) === 'write_files');
    expect(coder[1].prompt).toContain('eval of user input allows code injection');
    const body = await council(run.id);
    expect(body).toMatchObject({
      verdict: 'APPROVE',
      iterations: [
        { iteration: 1, verdict: 'REVISE', reason: 'VETO' },
        { iteration: 2, verdict: 'APPROVE', reason: 'MAJORITY' },
      ],
    });
    const events = (await runEvents(t, user.auth, run.id)).filter((e) => e.type === 'council.completed');
    expect(events.map((e) => [e.data.iteration, e.data.verdict, e.data.reason])).toEqual([
      [1, 'REVISE', 'VETO'],
      [2, 'APPROVE', 'MAJORITY'],
    ]);
    expect(events[0].data.vetoedBy).toBe('security');
  });

  it('decides with two judges while the third fails with 500 until its retries are spent', async () => {
    const script = scriptCouncil(fake, {
      judges: {
        security: [{ kind: 'error', status: 500, message: 'upstream exploded' }],
        performance: [review('APPROVE', [], 8)],
        maintainability: [review('APPROVE', [], 9)],
      },
    });
    const { run } = await runTask({ mode: 'review', files: REVIEW_FILES });
    expect(run.status).toBe('completed');
    expect(script.asked.filter((a) => a === 'security')).toHaveLength(3);
    expect(run.steps.find((s) => s.agent === 'judge.security')).toMatchObject({ status: 'failed' });
    const body = await council(run.id);
    expect(body).toMatchObject({ verdict: 'APPROVE', score: 8.5 });
    expect(body.judges.find((j) => j.judge === 'security')).toMatchObject({
      status: 'failed',
      verdict: null,
      error: expect.stringMatching(/^[A-Z_]+: /),
    });
  });

  it('stops a run as STUCK when the coder brings the same files again', async () => {
    const issue = { severity: 'warning', file: 'sum.mjs', line: 1, message: 'validate that a and b are numbers' };
    const script = scriptCouncil(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: SAFE }, { tool: SAFE }, { tool: SAFE }],
      write_tests: [{ tool: TESTS }],
      judges: {
        security: [review('REVISE', [issue])],
        performance: [review('REVISE', [issue])],
        maintainability: [review('APPROVE')],
      },
    });
    const { run } = await runTask({ config: { maxIterations: 3 } });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'STUCK', iteration: 2 });
    expect(run.error).toContain('the same files as iteration 1');
    // The judges were convened once; the coder was not asked a third time.
    expect(script.asked.filter((a) => a === 'security')).toHaveLength(1);
    expect(script.remaining().write_files).toBe(1);
    const judgeSteps = run.steps.filter((s) => s.agent.startsWith('judge.') && s.iteration === 2);
    expect(judgeSteps.map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped']);
    const body = await council(run.id);
    expect(body).toMatchObject({
      verdict: 'REJECT',
      reason: 'STUCK',
      issues: [expect.objectContaining({ message: issue.message })],
    });
  });

  it('stops a run as STUCK when two iterations bring the same findings', async () => {
    const issue = { severity: 'warning', file: 'sum.mjs', line: 2, message: 'Guard against non-numeric input.' };
    const second = {
      files: [{ path: 'sum.mjs', content: 'export function sum(a, b) {\n  return Number(a) + Number(b);\n}\n' }],
    };
    scriptCouncil(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: SAFE }, { tool: second }],
      write_tests: [{ tool: TESTS }],
      judges: {
        security: [review('REVISE', [issue])],
        performance: [review('APPROVE')],
        maintainability: [review('REVISE', [{ ...issue, message: 'guard against non numeric input' }])],
      },
    });
    const { run } = await runTask({ config: { maxIterations: 5 } });
    expect(run).toMatchObject({ status: 'failed', errorCode: 'STUCK', iteration: 2 });
    expect(run.error).toContain('the same findings as iteration 1');
    expect(run.steps.filter((s) => s.agent === 'judge.security').map((s) => s.status)).toEqual([
      'completed',
      'completed',
    ]);
    const events = (await runEvents(t, user.auth, run.id)).filter((e) => e.type === 'council.completed');
    expect(events.map((e) => e.data.reason)).toEqual(['MAJORITY', 'STUCK']);
    expect(events[1].data.issues).toEqual([
      expect.objectContaining({ message: issue.message, judges: ['security', 'maintainability'] }),
    ]);
  });

  it('delivers council.completed to webhooks, and its records go with the task', async () => {
    const webhooks = t.app.get(WebhooksService, { strict: false });
    await webhooks.create(
      user.id,
      null,
      { url: `${receiver.url}/hooks`, events: ['council.completed'] },
      { actor: userActor(user.id), ip: null, userAgent: null },
    );
    scriptCouncil(fake, {
      judges: {
        security: [review('APPROVE', [], 9)],
        performance: [review('REVISE', [], 5)],
        maintainability: [review('APPROVE', [], 9)],
      },
    });
    const { task, run } = await runTask({ mode: 'review', files: REVIEW_FILES });
    expect(run.status).toBe('completed');
    const [delivery] = await receiver.waitFor(1);
    const envelope = JSON.parse(delivery.body);
    expect(delivery.headers['webhook-id']).toBe(envelope.id);
    expect(envelope).toMatchObject({
      type: 'council.completed',
      data: {
        runId: run.id,
        taskId: task.id,
        verdict: 'APPROVE',
        dissent: [{ judge: 'performance', verdict: 'REVISE' }],
      },
    });
    expect(envelope.data.judges.map((j: { judge: string; verdict: string }) => `${j.judge}:${j.verdict}`)).toEqual([
      'security:APPROVE',
      'performance:REVISE',
      'maintainability:APPROVE',
    ]);

    const db = t.app.get(DataSource);
    const count = async () =>
      Number((await db.query('SELECT count(*) AS n FROM council_reviews WHERE run_id = $1', [run.id]))[0].n);
    expect(await count()).toBe(3);
    await t.http().delete(`/api/v1/tasks/${task.id}`).set(user.auth).expect(204);
    expect(await count()).toBe(0);
    expect(
      Number((await db.query('SELECT count(*) AS n FROM council_verdicts WHERE run_id = $1', [run.id]))[0].n),
    ).toBe(0);
  });

  it('skips judges over the task council cost cap and records the skip', async () => {
    scriptCouncil(fake, {
      judges: {
        security: [review('APPROVE', [], 9)],
        performance: [review('APPROVE', [], 9)],
        maintainability: [review('APPROVE', [], 9)],
      },
    });
    // Worst case = prompt + 4096 output tokens: security on claude-haiku-4-5 ($5/M out) ≈ $0.021, each
    // judge on gemini-2.5-flash ($2.5/M out) ≈ $0.0104: the first two fit in $0.035, the third does not.
    const { run } = await runTask({ mode: 'review', files: REVIEW_FILES, config: { councilMaxCostUsd: '0.035' } });
    expect(run.status).toBe('completed');
    const body = await council(run.id);
    expect(body.judges.map((j) => [j.judge, j.status])).toEqual([
      ['security', 'completed'],
      ['performance', 'completed'],
      ['maintainability', 'skipped'],
    ]);
    expect(body.judges[2].summary).toMatch(/council cost cap 0\.03500000 USD/);
    expect(run.steps.find((s) => s.agent === 'judge.maintainability')).toMatchObject({ status: 'skipped' });
  });

  it('a cancel during the council ends every judge step cancelled, with run.cancelled the last event', async () => {
    scriptCouncil(fake, {
      judges: { security: [{ kind: 'hang' }], performance: [{ kind: 'hang' }], maintainability: [{ kind: 'hang' }] },
    });
    const task = await createTask({
      mode: 'review',
      files: REVIEW_FILES,
      title: 'Review db.js',
      description: 'Review it.',
    });
    const queued = await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202);
    const runId = queued.body.run.id as string;
    // Every judge is in its model call.
    await until(async () => fake.requests.filter((r) => r.forcedTool === 'submit_review').length === 3, 30_000);
    await t.http().post(`/api/v1/tasks/${task.id}/cancel`).set(user.auth).expect(202);

    const run = await waitForRun(t, user.auth, runId, ['cancelled', 'completed', 'failed']);
    expect(run.status).toBe('cancelled');
    expect(run.steps.map((s) => `${s.agent}:${s.status}`).sort()).toEqual([
      'judge.maintainability:cancelled',
      'judge.performance:cancelled',
      'judge.security:cancelled',
    ]);
    const events = await runEvents(t, user.auth, runId);
    expect(events.at(-1)!.type).toBe('run.cancelled');
    expect(events.filter((e) => e.type === 'agent.completed').map((e) => e.data.status)).toEqual(
      Array(3).fill('cancelled'),
    );
    expect(events.map((e) => e.seq)).toEqual(events.map((_, index) => index + 1));
  });

  it('pauses on the budget when no judge may be paid, and the resumed council decides, each judge billed once', async () => {
    const reviewer = await registerUser(t);
    const script = scriptCouncil(fake, {
      judges: {
        security: [review('APPROVE', [], 9)],
        performance: [review('APPROVE', [], 8)],
        maintainability: [review('APPROVE', [], 7)],
      },
    });
    await t.http().put('/api/v1/metrics/budget').set(reviewer.auth).send({ monthlyLimitUsd: 0 }).expect(200);
    const task = await createTask(
      {
        mode: 'review',
        files: REVIEW_FILES,
        title: 'Review db.js',
        description: 'Review it.',
        config: { onBudgetExceeded: 'pause' },
      },
      reviewer.auth,
    );
    const queued = await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(reviewer.auth).expect(202);
    const runId = queued.body.run.id as string;
    let run = await waitForRun(t, reviewer.auth, runId, ['awaiting_input', 'failed', 'completed']);
    expect(run).toMatchObject({ status: 'awaiting_input', awaiting: { reason: 'budget', scope: 'user' } });
    // No judge reached the model, and none of them counts as having judged.
    expect(script.asked).toHaveLength(0);
    // Their steps end as a refused agent's do: interrupted, to be done again after the resume.
    expect(run.steps.map((s) => `${s.agent}:${s.status}`).sort()).toEqual([
      'judge.maintainability:interrupted',
      'judge.performance:interrupted',
      'judge.security:interrupted',
    ]);
    // Nothing was decided or announced for the paused review.
    const pausedEvents = (await runEvents(t, reviewer.auth, runId)).map((e) => e.type);
    expect(pausedEvents).not.toContain('council.completed');
    expect(pausedEvents.at(-1)).toBe('run.awaiting_input');

    await t.http().put('/api/v1/metrics/budget').set(reviewer.auth).send({ monthlyLimitUsd: 100 }).expect(200);
    await t.http().post(`/api/v1/agents/runs/${runId}/resume`).set(reviewer.auth).send({ approve: true }).expect(202);
    run = await waitForRun(t, reviewer.auth, runId, ['completed', 'failed']);
    expect(run.status).toBe('completed');
    expect([...script.asked].sort()).toEqual(['maintainability', 'performance', 'security']);
    const completed = run.steps.filter((s) => s.status === 'completed').map((s) => s.agent);
    expect(completed.sort()).toEqual(['judge.maintainability', 'judge.performance', 'judge.security']);
    const body = await council(runId, reviewer.auth);
    expect(body).toMatchObject({ verdict: 'APPROVE' });
    expect(body.judges.map((j) => [j.judge, j.status])).toEqual([
      ['security', 'completed'],
      ['performance', 'completed'],
      ['maintainability', 'completed'],
    ]);
    const rows = await t.app
      .get(DataSource)
      .query<{ agent: string }[]>('SELECT agent FROM llm_usage WHERE run_id = $1 ORDER BY agent', [runId]);
    expect(rows.map((r) => r.agent)).toEqual(['judge.maintainability', 'judge.performance', 'judge.security']);
    const events = (await runEvents(t, reviewer.auth, runId)).map((e) => e.type);
    expect(events.filter((type) => type === 'council.completed')).toHaveLength(1);
    expect(events.at(-1)).toBe('run.completed');
  });

  it('uses the single reviewer when the council is disabled', async () => {
    const script = scriptCouncil(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: SAFE }],
      write_tests: [{ tool: TESTS }],
      reviewer: [review('APPROVE', [], 9)],
    });
    const { run } = await runTask({ config: { councilEnabled: false } });
    expect(run.status).toBe('completed');
    expect(script.asked).toContain('reviewer');
    expect(run.steps.some((s) => s.agent.startsWith('judge.'))).toBe(false);
    expect(run.steps.find((s) => s.agent === 'reviewer')).toMatchObject({ status: 'completed' });
    const res = await t.http().get(`/api/v1/agents/runs/${run.id}/council`).set(user.auth).expect(404);
    expect(res.body.code).toBe('COUNCIL_NOT_FOUND');
  });

  it('guards GET /agents/runs/:id/council: auth, ownership, bad ids', async () => {
    scriptCouncil(fake, {
      judges: { security: [review('APPROVE')], performance: [review('APPROVE')], maintainability: [review('APPROVE')] },
    });
    const { run } = await runTask({ mode: 'review', files: REVIEW_FILES });
    await t.http().get(`/api/v1/agents/runs/${run.id}/council`).expect(401);
    const other = await registerUser(t);
    const notMine = await t.http().get(`/api/v1/agents/runs/${run.id}/council`).set(other.auth).expect(404);
    expect(notMine.body.code).toBe('RUN_NOT_FOUND');
    const bad = await t.http().get('/api/v1/agents/runs/not-a-uuid/council').set(user.auth).expect(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    await t.http().get('/api/v1/agents/runs/00000000-0000-4000-8000-000000000000/council').set(user.auth).expect(404);
    const docs = await t.http().get('/api/docs-json').expect(200);
    expect(docs.body.paths['/api/v1/agents/runs/{id}/council'].get.responses['200']).toBeDefined();
    expect(Object.keys(docs.body.components.schemas)).toEqual(
      expect.arrayContaining(['RunCouncilDto', 'CouncilJudgeDto']),
    );
    const badCap = await t
      .http()
      .post('/api/v1/tasks')
      .set(user.auth)
      .send({ title: 'x', description: 'y', language: 'javascript', config: { councilMaxCostUsd: 'lots' } })
      .expect(400);
    expect(badCap.body.code).toBe('VALIDATION_FAILED');
  });
});
