import { randomUUID } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { CouncilReviewer, type ReviewHooks, type ReviewRequest } from '../../src/agents/graph/review.port.js';
import { CoreModule } from '../../src/core.module.js';
import { CouncilModule } from '../../src/council/council.module.js';
import { reviewerOf } from '../support/council.js';
import { startFakeLlm, FakeLlm, FakeReply } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { applyEnv, testEnvironment } from '../support/test-app.js';

const answer = (verdict: string, issues: unknown[] = []): FakeReply => ({
  toolCalls: [{ name: 'submit_review', arguments: { verdict, summary: `${verdict} summary`, score: 7, issues } }],
  usage: { input: 1000, output: 100 },
});

/** A worker-like context: CoreModule + CouncilModule only (no HTTP, no runs module). */
describe('CouncilModule in a worker context, on PostgreSQL with the real gateway', () => {
  let fake: FakeLlm;
  let app: INestApplicationContext;
  let db: DataSource;
  let cleanup: () => Promise<void>;
  let council: CouncilReviewer;

  beforeAll(async () => {
    fake = await startFakeLlm();
    const environment = await testEnvironment({ env: fakeLlmEnv(fake, { COUNCIL_JUDGE_MAX_TOKENS: '256' }) });
    cleanup = environment.cleanup;
    const restore = applyEnv(environment.env);
    try {
      const moduleRef = await Test.createTestingModule({ imports: [CoreModule, CouncilModule] }).compile();
      app = await moduleRef.init();
    } finally {
      restore();
    }
    db = app.get(DataSource);
    council = app.get(CouncilReviewer);
  });
  afterAll(async () => {
    await app?.close();
    await cleanup?.();
    await fake?.close();
  });

  async function seedRun() {
    const [user] = await db.query(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [
      `council-${randomUUID()}@example.com`,
    ]);
    const [task] = await db.query(
      `INSERT INTO tasks (user_id, title, description, language) VALUES ($1, 't', 'd', 'javascript') RETURNING id`,
      [user.id],
    );
    const [run] = await db.query(`INSERT INTO runs (task_id, user_id, input) VALUES ($1, $2, '{}') RETURNING id`, [
      task.id,
      user.id,
    ]);
    return { userId: user.id as string, taskId: task.id as string, runId: run.id as string };
  }

  function hooks() {
    const steps: { agent: string; status?: string; costUsd?: string }[] = [];
    const byId = new Map<string, number>();
    const events: { type: string; data: Record<string, unknown> }[] = [];
    const value: ReviewHooks = {
      startStep: async (agent) => {
        const stepId = randomUUID();
        byId.set(stepId, steps.push({ agent }) - 1);
        return { stepId };
      },
      finishStep: async (step, outcome) => {
        Object.assign(steps[byId.get(step.stepId)!], { status: outcome.status, costUsd: outcome.costUsd });
      },
      emit: async (type, data) => void events.push({ type, data }),
    };
    return { value, steps, events };
  }

  const request = (ids: Awaited<ReturnType<typeof seedRun>>, over: Partial<ReviewRequest> = {}): ReviewRequest => ({
    ...ids,
    iteration: 1,
    mode: 'build',
    language: 'javascript',
    title: 'Sum',
    description: 'Add numbers.',
    files: [{ path: 'sum.mjs', content: 'export const sum = (a, b) => a + b;\n' }],
    tests: { passed: 1, failed: 0, output: 'ok' },
    judges: ['security', 'performance', 'maintainability'],
    signal: new AbortController().signal,
    ...over,
  });

  const rows = (runId: string) =>
    db.query(
      'SELECT iteration, judge, seat, status, verdict, cost_usd, input_tokens, model FROM council_reviews WHERE run_id = $1 ORDER BY iteration, seat',
      [runId],
    );

  it('records each judge once per iteration, re-asks only unanswered judges on a resumed review, and cascades with the user', async () => {
    fake.script((req) => (reviewerOf(req) === 'performance' ? answer('REVISE') : answer('APPROVE')));
    const ids = await seedRun();
    const first = hooks();
    expect(await council.review(request(ids), first.value)).toMatchObject({
      verdict: 'APPROVE',
      council: { reason: 'MAJORITY' },
    });
    // gpt-4o: 1000 in × $2.5/M + 100 out × $10/M = $0.0035 per judge.
    expect(first.steps.map((s) => [s.agent, s.status, s.costUsd])).toEqual([
      ['judge.security', 'completed', '0.0035'],
      ['judge.performance', 'completed', '0.0035'],
      ['judge.maintainability', 'completed', '0.0035'],
    ]);
    const usage = await db.query(
      `SELECT count(*)::int AS n, sum(cost_usd)::text AS cost FROM llm_usage WHERE run_id = $1 AND agent LIKE 'judge.%'`,
      [ids.runId],
    );
    expect(usage[0]).toEqual({ n: 3, cost: '0.01050000' });

    // A worker crash re-runs the review of the same iteration: answered judges are reused, not paid again.
    fake.reset();
    fake.script(() => answer('REJECT'));
    const again = hooks();
    expect(await council.review(request(ids), again.value)).toMatchObject({
      verdict: 'APPROVE',
      council: { reason: 'MAJORITY' },
    });
    expect(fake.requests).toHaveLength(0);
    expect(again.steps).toEqual([]);
    const stored = await rows(ids.runId);
    expect(stored.map((r: { judge: string; verdict: string }) => `${r.judge}:${r.verdict}`)).toEqual([
      'security:APPROVE',
      'performance:REVISE',
      'maintainability:APPROVE',
    ]);
    expect(
      stored.every(
        (r: { cost_usd: string; model: string; input_tokens: number }) =>
          r.cost_usd === '0.00350000' && r.model === 'gpt-4o' && r.input_tokens === 1000,
      ),
    ).toBe(true);
    const [verdict] = await db.query(
      'SELECT count(*)::int AS n, max(reason) AS reason FROM council_verdicts WHERE run_id = $1',
      [ids.runId],
    );
    expect(verdict).toEqual({ n: 1, reason: 'MAJORITY' });

    await db.query('DELETE FROM users WHERE id = $1', [ids.userId]);
    expect(await rows(ids.runId)).toEqual([]);
  });

  it('counts what earlier iterations spent against the council cost cap', async () => {
    fake.script(() => answer('REVISE', [{ severity: 'warning', message: `finding ${randomUUID()}` }]));
    const ids = await seedRun();
    await council.review(request(ids), hooks().value);
    // Spent $0.0105; each judge's worst case is ≈ $0.0033 (prompt + 256 output tokens): one more fits under $0.017.
    const second = hooks();
    const outcome = await council.review(
      request(ids, {
        iteration: 2,
        councilMaxCostUsd: '0.017',
        files: [{ path: 'sum.mjs', content: 'export const sum = (a, b) => Number(a) + Number(b);\n' }],
      }),
      second.value,
    );
    expect(outcome.council!.judges.map((j) => j.status)).toEqual(['completed', 'skipped', 'skipped']);
    expect(second.steps.map((s) => s.status)).toEqual(expect.arrayContaining(['completed', 'skipped', 'skipped']));
    const stored = (await rows(ids.runId)).filter((r: { iteration: number }) => r.iteration === 2);
    expect(stored.map((r: { status: string; cost_usd: string }) => [r.status, r.cost_usd])).toEqual([
      ['completed', '0.00350000'],
      ['skipped', '0.00000000'],
      ['skipped', '0.00000000'],
    ]);
    expect(second.events[0].data.judges).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          judge: 'maintainability',
          status: 'skipped',
          summary: expect.stringMatching(/worst case 0\.003\d+ USD on top of 0\.013\d+ USD would exceed it/),
        }),
      ]),
    );
  });
});
