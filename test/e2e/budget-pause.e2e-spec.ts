import { DataSource } from 'typeorm';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { runEvents, scriptAgents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

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
        "test('adds', () => assert.equal(sum(1, 2), 3));",
        '',
      ].join('\n'),
    },
  ],
};
const APPROVE = { verdict: 'APPROVE', summary: 'Looks right.', score: 9, issues: [] };
const REVIEW_TASK = {
  title: 'Review',
  description: 'Review this.',
  language: 'javascript',
  mode: 'review',
  files: [{ path: 'a.mjs', content: 'export const a = 1;\n' }],
};

/** `config.onBudgetExceeded: "pause"`: a refused model call pauses the run; resume continues it. */
describe('runs paused by their budget (HTTP, fake LLM, real sandbox)', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let db: DataSource;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    fake = await startFakeLlm();
    t = await createTestApp({ env: fakeLlmEnv(fake, { AGENT_TIMEOUT_SECONDS: '10' }) });
    db = t.app.get(DataSource);
    alice = await registerUser(t);
    bob = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  const resume = (user: RegisteredUser, runId: string, body: Record<string, unknown>) =>
    t.http().post(`/api/v1/agents/runs/${runId}/resume`).set(user.auth).send(body);

  async function execute(user: RegisteredUser, body: Record<string, unknown>) {
    const task = (await t.http().post('/api/v1/tasks').set(user.auth).send(body).expect(201)).body.task;
    const run = (await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;
    return { taskId: task.id as string, runId: run.id as string };
  }

  async function usageRows(runId: string) {
    return db.query<{ agent: string; cost_usd: string }[]>(
      'SELECT agent, cost_usd FROM llm_usage WHERE run_id = $1 ORDER BY created_at',
      [runId],
    );
  }

  it('pauses at the refused call, refuses resumes until the limit has room, then continues without paying the plan again', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: CODE }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const { taskId, runId } = await execute(alice, {
      title: 'Sum',
      description: 'Export sum(a, b) from sum.mjs.',
      language: 'javascript',
      config: { requirePlanApproval: true, onBudgetExceeded: 'pause' },
    });
    let run = await waitForRun(t, alice.auth, runId, ['awaiting_input', 'failed', 'completed']);
    expect(run).toMatchObject({ status: 'awaiting_input', awaiting: { reason: 'plan' } });

    // A plan answer takes no new task limit.
    await resume(alice, runId, { approve: true, maxCostUsd: 5 })
      .expect(400)
      .expect((res) => expect(res.body.errors).toEqual([expect.objectContaining({ field: 'maxCostUsd' })]));

    // The plan is paid for; then the limit drops to nothing and the plan is approved.
    await t.http().put('/api/v1/metrics/budget').set(alice.auth).send({ monthlyLimitUsd: 0 }).expect(200);
    await resume(alice, runId, { approve: true }).expect(202);
    await until(async () => {
      const events = await runEvents(t, alice.auth, runId);
      return events.filter((e) => e.type === 'run.awaiting_input').length === 2;
    });
    run = await waitForRun(t, alice.auth, runId, ['awaiting_input']);
    expect(run.awaiting).toMatchObject({ reason: 'budget', scope: 'user', scopeId: alice.id, limitUsd: '0' });
    expect((run.awaiting as { requiredUsd: string }).requiredUsd).toMatch(/^\d+(\.\d+)?$/);
    expect(run.steps.map((s) => `${s.agent}:${s.status}`)).toEqual(['planner:completed', 'coder:interrupted']);
    const paused = (await runEvents(t, alice.auth, runId)).at(-1)!;
    expect(paused).toMatchObject({
      type: 'run.awaiting_input',
      data: { reason: 'budget', scope: 'user', scopeId: alice.id, limitUsd: '0', runId, taskId },
    });
    expect((await t.http().get(`/api/v1/tasks/${taskId}`).set(alice.auth)).body.task.status).toBe('awaiting_input');
    const planCost = run.usage.costUsd;
    expect(await usageRows(runId)).toHaveLength(1);
    const calls = fake.requests.length;

    // Refusals: another user's run, answers that are not a go-ahead, and a limit that still has no room.
    await resume(bob, runId, { approve: true })
      .expect(404)
      .expect((res) => expect(res.body.code).toBe('RUN_NOT_FOUND'));
    await resume(alice, runId, { approve: false, feedback: 'try harder' })
      .expect(400)
      .expect((res) => expect(res.body.code).toBe('VALIDATION_FAILED'));
    await resume(alice, runId, { approve: false }).expect(400);
    await resume(alice, runId, {}).expect(400);
    await resume(alice, runId, { approve: 'yes' }).expect(400);
    await resume(alice, runId, { approve: true, extra: 1 }).expect(400);
    // A user's limit is raised on the budget route, not here.
    await resume(alice, runId, { approve: true, maxCostUsd: 100 }).expect(400);
    await resume(alice, runId, { approve: true })
      .expect(402)
      .expect((res) => {
        expect(res.body).toMatchObject({ code: 'BUDGET_EXCEEDED', scope: 'user', scopeId: alice.id });
        expect(Number(res.body.limitUsd)).toBe(0);
      });
    expect((await waitForRun(t, alice.auth, runId, ['awaiting_input'])).status).toBe('awaiting_input');
    expect(fake.requests.length).toBe(calls);

    // The limit is raised: the run continues from its checkpoint to the end.
    await t.http().put('/api/v1/metrics/budget').set(alice.auth).send({ monthlyLimitUsd: 100 }).expect(200);
    await resume(alice, runId, { approve: true }).expect(202);
    run = await waitForRun(t, alice.auth, runId, ['completed', 'failed']);
    expect(run.status).toBe('completed');
    expect(run).not.toHaveProperty('awaiting');
    expect(fake.requests.filter((r) => r.forcedTool === 'submit_plan')).toHaveLength(1);
    expect(run.steps.filter((s) => s.agent === 'planner')).toHaveLength(1);
    expect(run.steps.map((s) => `${s.agent}:${s.status}`)).toEqual([
      'planner:completed',
      'coder:interrupted',
      'coder:completed',
      'tester:completed',
      'sandbox:completed',
      'reviewer:completed',
    ]);
    const rows = await usageRows(runId);
    expect(rows.map((r) => r.agent)).toEqual(['planner', 'coder', 'tester', 'reviewer']);
    // The run's cost is what was billed, each call once; the plan's cost is in it once.
    const billed = rows.reduce((sum, r) => sum + Number(r.cost_usd), 0);
    expect(Number(run.usage.costUsd)).toBeCloseTo(billed, 8);
    expect(Number(run.usage.costUsd)).toBeGreaterThan(Number(planCost));
    const types = (await runEvents(t, alice.auth, runId)).map((e) => e.type);
    expect(types.filter((type) => type === 'run.queued')).toHaveLength(3);
    expect(types.at(-1)).toBe('run.completed');

    await resume(alice, runId, { approve: true })
      .expect(409)
      .expect((res) => expect(res.body.code).toBe('RUN_NOT_AWAITING_INPUT'));
  });

  it("pauses an organization's run on the organization's limit; only members who may run tasks resume it", async () => {
    const org = (await t.http().post('/api/v1/orgs').set(alice.auth).send({ name: 'Paused Co' }).expect(201)).body.org;
    const viewer = await registerUser(t);
    const member = await registerUser(t);
    await db.query(
      "INSERT INTO org_memberships (org_id, user_id, role) VALUES ($1, $2, 'viewer'), ($1, $3, 'member')",
      [org.id, viewer.id, member.id],
    );
    await t
      .http()
      .put(`/api/v1/orgs/${org.id}/budget`)
      .set(alice.auth)
      .send({ monthlyLimitUsd: 0, memberMonthlyLimitUsd: null })
      .expect(200);
    scriptAgents(fake, { submit_review: [{ tool: APPROVE }] });
    const { runId } = await execute(member, {
      ...REVIEW_TASK,
      orgId: org.id,
      config: { onBudgetExceeded: 'pause' },
    });
    const run = await waitForRun(t, member.auth, runId, ['awaiting_input', 'failed', 'completed']);
    expect(run).toMatchObject({
      status: 'awaiting_input',
      awaiting: { reason: 'budget', scope: 'org', scopeId: org.id },
    });
    expect(fake.requests).toHaveLength(0);

    // Not a member: the run does not exist. A viewer sees it but may not resume it.
    await resume(bob, runId, { approve: true }).expect(404);
    await resume(viewer, runId, { approve: true }).expect(403);
    await resume(member, runId, { approve: true }).expect(402);

    await t
      .http()
      .put(`/api/v1/orgs/${org.id}/budget`)
      .set(alice.auth)
      .send({ monthlyLimitUsd: 50, memberMonthlyLimitUsd: null })
      .expect(200);
    await resume(member, runId, { approve: true }).expect(202);
    const done = await waitForRun(t, member.auth, runId, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    expect(fake.requests).toHaveLength(1);
  });

  it("pauses on the task's own limit, which the resume raises for the run and the task", async () => {
    const carol = await registerUser(t);
    scriptAgents(fake, { submit_review: [{ tool: APPROVE }] });
    const { taskId, runId } = await execute(carol, {
      ...REVIEW_TASK,
      config: { onBudgetExceeded: 'pause', maxCostUsd: '0.00000001' },
    });
    const run = await waitForRun(t, carol.auth, runId, ['awaiting_input', 'failed', 'completed']);
    expect(run).toMatchObject({
      status: 'awaiting_input',
      awaiting: { reason: 'budget', scope: 'task', scopeId: taskId, limitUsd: '0.00000001' },
    });
    await resume(carol, runId, { approve: true })
      .expect(402)
      .expect((res) => expect(res.body).toMatchObject({ code: 'BUDGET_EXCEEDED', scope: 'task' }));
    await resume(carol, runId, { approve: true, maxCostUsd: 'lots' }).expect(400);
    await resume(carol, runId, { approve: true, maxCostUsd: -1 }).expect(400);
    // Still too little: refused, and nothing changes.
    await resume(carol, runId, { approve: true, maxCostUsd: '0.00000002' }).expect(402);
    const unchanged = (await t.http().get(`/api/v1/tasks/${taskId}`).set(carol.auth).expect(200)).body.task;
    expect(unchanged.config.maxCostUsd).toBe('0.00000001');
    await resume(bob, runId, { approve: true, maxCostUsd: 10 }).expect(404);

    await resume(carol, runId, { approve: true, maxCostUsd: '10.00' }).expect(202);
    expect((await waitForRun(t, carol.auth, runId, ['completed', 'failed'])).status).toBe('completed');
    expect(fake.requests).toHaveLength(1);
    const task = (await t.http().get(`/api/v1/tasks/${taskId}`).set(carol.auth).expect(200)).body.task;
    expect(task.config.maxCostUsd).toBe('10');
  });

  it('fails instead of pausing when the task does not ask for a pause', async () => {
    await t.http().put('/api/v1/metrics/budget').set(bob.auth).send({ monthlyLimitUsd: 0 }).expect(200);
    scriptAgents(fake, { submit_review: [{ tool: APPROVE }] });
    const { runId } = await execute(bob, { ...REVIEW_TASK, config: { onBudgetExceeded: 'fail' } });
    const run = await waitForRun(t, bob.auth, runId, ['awaiting_input', 'failed', 'completed']);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'BUDGET_EXCEEDED' });
    await resume(bob, runId, { approve: true }).expect(409);
  });
});
