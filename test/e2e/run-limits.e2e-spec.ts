import { DataSource } from 'typeorm';
import { userActor } from '../../src/audit/audit.service.js';
import { WebhooksService } from '../../src/webhooks/webhooks.service.js';
import { registerUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { runEvents, scriptAgents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const REVIEW_TASK = {
  title: 'Review',
  description: 'Review this.',
  language: 'javascript',
  mode: 'review',
  files: [{ path: 'a.mjs', content: 'export const a = 1;\n' }],
};
const APPROVE = { verdict: 'APPROVE', summary: 'fine', issues: [] };

/** Budget, step and run time limits, the webhook outbox and the stranded-run sweep. */
describe('agent run limits and integrations', () => {
  let fake: FakeLlm;
  const apps: TestApp[] = [];
  beforeAll(async () => {
    fake = await startFakeLlm();
  });
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await fake?.close();
  });
  beforeEach(() => fake.reset());

  async function app(env: Record<string, string> = {}, workerInProcess = true) {
    const t = await createTestApp({ workerInProcess, env: fakeLlmEnv(fake, env) });
    apps.push(t);
    return t;
  }

  async function start(t: TestApp, auth: Record<string, string>, body: Record<string, unknown> = REVIEW_TASK) {
    const task = (await t.http().post('/api/v1/tasks').set(auth).send(body).expect(201)).body.task;
    const run = (await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(auth).expect(202)).body.run;
    return { task, run };
  }

  it('fails with BUDGET_EXCEEDED when the budget cannot cover a call, and records every webhook event but deltas', async () => {
    const t = await app({ AGENT_TIMEOUT_SECONDS: '10', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' });
    const user = await registerUser(t);
    const webhook = await t.app
      .get(WebhooksService)
      .create(
        user.id,
        null,
        { url: 'http://127.0.0.1:9/hook', events: ['*'] },
        { actor: userActor(user.id), ip: null, userAgent: null },
      );
    expect(webhook.id).toBeDefined();

    // Webhook outbox: a review run's events commit with delivery rows (no agent.delta).
    scriptAgents(fake, { submit_review: [{ tool: APPROVE, text: 'streamed words' }] });
    const ok = await start(t, user.auth);
    await waitForRun(t, user.auth, ok.run.id, ['completed', 'failed']);
    const stored = await runEvents(t, user.auth, ok.run.id);
    const deliveries: Array<{ event_type: string; event_id: string }> = await t.app
      .get(DataSource)
      .query('SELECT event_type, event_id FROM webhook_deliveries WHERE user_id = $1 ORDER BY created_at, event_type', [
        user.id,
      ]);
    const types = deliveries.map((d) => d.event_type);
    expect(types).toContain('task.created');
    expect(types).not.toContain('agent.delta');
    for (const event of stored) expect(deliveries.map((d) => d.event_id)).toContain(event.id);

    // Budget: a zero limit refuses the first model call.
    await t.app.get(DataSource).query('INSERT INTO llm_budgets (user_id, monthly_limit_usd) VALUES ($1, 0)', [user.id]);
    scriptAgents(fake, { submit_review: [{ tool: APPROVE }] });
    const { run } = await start(t, user.auth);
    const failed = await waitForRun(t, user.auth, run.id, ['completed', 'failed']);
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'BUDGET_EXCEEDED' });
    expect((await runEvents(t, user.auth, run.id)).at(-1)).toMatchObject({
      type: 'run.failed',
      data: { code: 'BUDGET_EXCEEDED' },
    });
  });

  it('fails a step that outlives AGENT_TIMEOUT_SECONDS and a run that outlives AGENT_RUN_TIMEOUT_SECONDS', async () => {
    const stepLimited = await app({ AGENT_TIMEOUT_SECONDS: '1', LLM_TIMEOUT_MS: '30000' });
    const user = await registerUser(stepLimited);
    scriptAgents(fake, { submit_review: [{ kind: 'hang' }] });
    const { run } = await start(stepLimited, user.auth);
    const timedOut = await waitForRun(stepLimited, user.auth, run.id, ['completed', 'failed'], 10_000);
    expect(timedOut).toMatchObject({ status: 'failed', errorCode: 'AGENT_TIMEOUT' });
    expect(timedOut.steps).toEqual([expect.objectContaining({ agent: 'reviewer', status: 'failed' })]);

    const runLimited = await app({
      AGENT_TIMEOUT_SECONDS: '30',
      AGENT_RUN_TIMEOUT_SECONDS: '1',
      LLM_TIMEOUT_MS: '30000',
    });
    const other = await registerUser(runLimited);
    scriptAgents(fake, { submit_review: [{ kind: 'hang' }] });
    const second = await start(runLimited, other.auth);
    const ended = await waitForRun(runLimited, other.auth, second.run.id, ['completed', 'failed'], 10_000);
    expect(ended).toMatchObject({ status: 'failed', errorCode: 'RUN_TIMEOUT' });
  });

  it('re-enqueues a queued run whose job was never added (crash between commit and enqueue)', async () => {
    const api = await app({}, false);
    const user = await registerUser(api);
    const { run } = await start(api, user.auth);
    // Simulate the crash: the job is gone while the run row says queued.
    const queue = api.app.get<{ getJob(id: string): Promise<{ remove(): Promise<void> } | undefined> }>(
      'BullQueue_agent-runs',
    );
    await (await queue.getJob(run.id))!.remove();
    await api.app
      .get(DataSource)
      .query(`UPDATE runs SET updated_at = now() - interval '1 hour' WHERE id = $1`, [run.id]);

    scriptAgents(fake, { submit_review: [{ tool: APPROVE }] });
    const worker = await createTestApp({
      databaseUrl: api.databaseUrl,
      redisPrefix: api.redisPrefix,
      env: fakeLlmEnv(fake, { DATA_DIR: api.env.DATA_DIR, AGENT_QUEUED_SWEEP_SECONDS: '1' }),
    });
    apps.push(worker);
    const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed'], 15_000);
    expect(done.status).toBe('completed');
    await until(async () => (await runEvents(api, user.auth, run.id)).at(-1)?.type === 'run.completed');
  });
});
