import { randomUUID } from 'node:crypto';
import { UsageService } from '../../src/metrics/usage.service.js';
import { createLlmContext, createUserRow, LlmTestContext } from '../support/llm.js';

/** One successful call's usage record (one input and one output token) for `userId`. */
const usageRecord = (userId: string) => ({
  userId,
  taskId: null,
  runId: null,
  stepId: null,
  agent: 'coder',
  provider: 'openai',
  model: 'gpt-4o',
  attempt: 1,
  inputTokens: 1,
  outputTokens: 1,
  cachedInputTokens: 0,
  cacheWriteInputTokens: 0,
  costUsd: '0.00000001',
  latencyMs: 1,
  outcome: 'success' as const,
  errorCode: null,
});

describe('usage report: grouping, date filters, ownership', () => {
  let ctx: LlmTestContext;
  let usage: UsageService;
  let alice: string;
  let bob: string;
  const taskA = randomUUID();

  async function insert(userId: string, at: string, over: Partial<Record<string, unknown>> = {}) {
    const row = {
      agent: 'coder',
      provider: 'openai',
      model: 'gpt-4o',
      task_id: taskA,
      input: 100,
      output: 10,
      cost: '0.00035000',
      ...over,
    };
    await ctx.dataSource.query(
      `INSERT INTO llm_usage (user_id, task_id, agent, provider, model, attempt, input_tokens, output_tokens, cached_input_tokens, cost_usd, latency_ms, outcome, created_at)
       VALUES ($1, $2, $3, $4, $5, 1, $6, $7, 0, $8, 5, 'success', $9)`,
      [userId, row.task_id, row.agent, row.provider, row.model, row.input, row.output, row.cost, at],
    );
  }

  beforeAll(async () => {
    ctx = await createLlmContext();
    usage = ctx.app.get(UsageService);
    alice = await createUserRow(ctx.dataSource);
    bob = await createUserRow(ctx.dataSource);
    await insert(alice, '2026-10-31T23:59:59.999Z');
    await insert(alice, '2026-11-01T00:00:00Z', { agent: 'planner' });
    await insert(alice, '2026-11-01T12:00:00Z', {
      provider: 'anthropic',
      model: 'claude-sonnet-4-6',
      cost: '0.00045000',
    });
    await insert(alice, '2026-11-02T08:00:00Z', { task_id: null, cost: '0.10000001' });
    await insert(bob, '2026-11-01T10:00:00Z', { cost: '9.00000000' });
  });
  afterAll(async () => {
    await ctx.close();
  });

  it('groups by day, model, agent, task and provider with exact sums', async () => {
    const range = { from: '2026-11-01', to: '2026-12-01' };
    const byDay = await usage.report({ id: alice, role: 'user' }, { ...range, groupBy: 'day' });
    expect(byDay.items).toEqual([
      {
        key: '2026-11-01',
        calls: 2,
        inputTokens: 200,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 20,
        costUsd: '0.00080000',
      },
      {
        key: '2026-11-02',
        calls: 1,
        inputTokens: 100,
        cachedInputTokens: 0,
        cacheWriteTokens: 0,
        outputTokens: 10,
        costUsd: '0.10000001',
      },
    ]);
    expect(byDay.total).toEqual({
      calls: 3,
      inputTokens: 300,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 30,
      costUsd: '0.10080001',
    });

    const byModel = await usage.report({ id: alice, role: 'user' }, { ...range, groupBy: 'model' });
    expect(byModel.items.map((i) => [i.key, i.calls, i.costUsd])).toEqual([
      ['anthropic:claude-sonnet-4-6', 1, '0.00045000'],
      ['openai:gpt-4o', 2, '0.10035001'],
    ]);
    const byAgent = await usage.report({ id: alice, role: 'user' }, { ...range, groupBy: 'agent' });
    expect(byAgent.items.map((i) => [i.key, i.calls])).toEqual([
      ['coder', 2],
      ['planner', 1],
    ]);
    const byTask = await usage.report({ id: alice, role: 'user' }, { ...range, groupBy: 'task' });
    expect(byTask.items.map((i) => [i.key, i.calls])).toEqual([
      [taskA, 2],
      [null, 1],
    ]);
    const byProvider = await usage.report({ id: alice, role: 'user' }, { ...range, groupBy: 'provider' });
    expect(byProvider.items.map((i) => [i.key, i.calls])).toEqual([
      ['anthropic', 1],
      ['openai', 2],
    ]);
  });

  it('filters by from (inclusive) and to (exclusive), dates read as UTC', async () => {
    const oct = await usage.report({ id: alice, role: 'user' }, { to: '2026-11-01' });
    expect(oct.total.calls).toBe(1);
    const day = await usage.report(
      { id: alice, role: 'user' },
      { from: '2026-11-01T00:00:00', to: '2026-11-01T12:00:00Z' },
    );
    expect(day.total.calls).toBe(1);
    const offset = await usage.report(
      { id: alice, role: 'user' },
      { from: '2026-11-01T09:00:00+09:00', to: '2026-11-02' },
    );
    expect(offset.total.calls).toBe(2);
    expect((await usage.report({ id: alice, role: 'user' }, {})).total.calls).toBe(4);
    expect((await usage.report({ id: alice, role: 'user' }, { groupBy: 'day', from: '2030-01-01' })).items).toEqual([]);
  });

  it('shows users only their own usage; admins may name a user', async () => {
    expect((await usage.report({ id: bob, role: 'user' }, {})).total).toEqual({
      calls: 1,
      inputTokens: 100,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 10,
      costUsd: '9.00000000',
    });
    await expect(usage.report({ id: bob, role: 'user' }, { userId: alice })).rejects.toMatchObject({
      code: 'FORBIDDEN',
      status: 403,
    });
    expect((await usage.report({ id: bob, role: 'user' }, { userId: bob })).total.calls).toBe(1);
    expect((await usage.report({ id: bob, role: 'admin' }, { userId: alice })).total.calls).toBe(4);
    await expect(usage.report({ id: bob, role: 'admin' }, { userId: randomUUID() })).rejects.toMatchObject({
      status: 404,
    });
  });

  it('writes concurrent records in shared batches, and one bad record fails alone', async () => {
    const carol = await createUserRow(ctx.dataSource);
    const record = (userId: string) => usageRecord(userId);
    const results = await Promise.allSettled([
      ...Array.from({ length: 4 }, () => usage.settle(record(carol))),
      usage.settle(record(randomUUID())), // no such user: the foreign key refuses it
      ...Array.from({ length: 4 }, () => usage.settle(record(carol))),
    ]);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(results[4].status).toBe('rejected');
    expect((await usage.report({ id: carol, role: 'user' }, {})).total).toEqual({
      calls: 8,
      inputTokens: 8,
      cachedInputTokens: 0,
      cacheWriteTokens: 0,
      outputTokens: 8,
      costUsd: '0.00000008',
    });
  });

  it('commits a write that goes with a record in its statement: both or neither', async () => {
    const dave = await createUserRow(ctx.dataSource);
    const record = usageRecord(dave);
    const nameIs = (name: string) => ({
      sql: (param: (value: unknown) => string) => `UPDATE users SET name = ${param(name)} WHERE id = ${param(dave)}`,
    });
    await Promise.all([usage.settle(record, null, nameIs('memo one')), usage.settle(record)]);
    const [row] = await ctx.dataSource.query('SELECT name FROM users WHERE id = $1', [dave]);
    expect(row.name).toBe('memo one');
    expect((await usage.report({ id: dave, role: 'user' }, {})).total.calls).toBe(2);
    // A write that fails takes its record with it (and only its record, as any bad record).
    const failing = {
      sql: (param: (value: unknown) => string) =>
        `UPDATE users SET name = ${param('x')} WHERE id = ${param('not a uuid')}::uuid`,
    };
    const results = await Promise.allSettled([usage.settle(record, null, failing), usage.settle(record)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect((await usage.report({ id: dave, role: 'user' }, {})).total.calls).toBe(3);
  });

  it('rejects a range whose end is not after its start', async () => {
    await expect(
      usage.report({ id: alice, role: 'user' }, { from: '2026-11-02', to: '2026-11-01' }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
    });
  });
});
