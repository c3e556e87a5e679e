import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { DataSource } from 'typeorm';
import { RunEventsService } from '../../src/agents/runs/run-events.service.js';
import { Run } from '../../src/agents/runs/entities/run.entity.js';
import { RunEventsBus } from '../../src/agents/runs/run-events.bus.js';
import { RunProgressService } from '../../src/agents/runs/run-progress.service.js';
import { registerUser } from '../support/auth.js';
import { until } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/** Run events on the real PostgreSQL and Redis: gapless per-run seq under concurrency, publish after commit only. */
describe('RunEventsService', () => {
  let t: TestApp;
  let run: Run;
  beforeAll(async () => {
    t = await createTestApp({ workerInProcess: false });
    const user = await registerUser(t);
    const task = (
      await t
        .http()
        .post('/api/v1/tasks')
        .set(user.auth)
        .send({ title: 't', description: 'd', language: 'python' })
        .expect(201)
    ).body.task;
    const runId = (await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run.id;
    run = await t.app.get(DataSource).getRepository(Run).findOneByOrFail({ id: runId });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('gives concurrent appends of one run a gapless, unique seq and publishes each once, after commit', async () => {
    const events = t.app.get(RunEventsService);
    const received: number[] = [];
    const unsubscribe = await t.app
      .get(RunEventsBus)
      .subscribe(events.channel(run.id), (message) => received.push(message.seq!));
    const appended = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        events.transaction((manager) => events.append(manager, run, 'agent.started', { agent: 'x', iteration: i })),
      ),
    );
    const seqs = appended.map((m) => m.seq!).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 2)); // seq 1 is run.queued
    const stored = await events.listAfter(run.id, 0);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));

    // A rolled-back transaction neither stores nor publishes its event, and leaves no gap.
    await expect(
      events.transaction(async (manager) => {
        await events.append(manager, run, 'agent.started', { agent: 'doomed', iteration: 0 });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    const next = await events.transaction((manager) =>
      events.append(manager, run, 'agent.completed', { agent: 'x', iteration: 0 }),
    );
    expect(next.seq).toBe(42);
    await until(async () => received.length >= 41);
    await unsubscribe();
    expect([...received].sort((a, b) => a - b)).toEqual(Array.from({ length: 41 }, (_, i) => i + 2));
  });

  it('refuses an append outside RunEventsService.transaction()', async () => {
    const events = t.app.get(RunEventsService);
    await expect(
      t.app.get(DataSource).transaction((manager) => events.append(manager, run, 'agent.started', {})),
    ).rejects.toThrow(/RunEventsService.transaction/);
  });
  it("starts and ends a step in one statement each: the step row, the run's usage and agent.completed with the run's totals, stored, published and delivered alike", async () => {
    const events = t.app.get(RunEventsService);
    const progress = t.app.get(RunProgressService);
    const db = t.app.get(DataSource);
    const subscription = randomUUID();
    await db.query(
      `INSERT INTO webhook_subscriptions (id, user_id, url, events, secret_ciphertext)
       VALUES ($1, $2, 'https://example.test/steps', '{*}', 'x')`,
      [subscription, run.userId],
    );
    const published: Array<{ seq: number | null; event: { type: string } }> = [];
    const unsubscribe = await t.app
      .get(RunEventsBus)
      .subscribe(events.channel(run.id), (message) => published.push(message));
    const statements = jest.spyOn(db, 'query');
    const step = await progress.startStep(run, { agent: 'coder', iteration: 1, stepKey: 'coder:1' });
    await progress.finishStep(run, step, {
      status: 'completed',
      usage: { inputTokens: 120, cachedInputTokens: 20, outputTokens: 30 },
      costUsd: '0.00120000',
      summary: 'wrote it',
      output: { files: [] },
      provider: 'openai',
      model: 'gpt-4o',
      data: { toolCalls: 2 },
    });
    expect(statements).toHaveBeenCalledTimes(2);
    statements.mockRestore();

    const [row] = await db.query(
      'SELECT status, input_tokens, cost_usd, output, summary, provider FROM run_steps WHERE id = $1',
      [step.id],
    );
    expect(row).toEqual({
      status: 'completed',
      input_tokens: 120,
      cost_usd: '0.00120000',
      output: { files: [] },
      summary: 'wrote it',
      provider: 'openai',
    });
    const [totals] = await db.query('SELECT input_tokens, output_tokens, cost_usd FROM runs WHERE id = $1', [run.id]);
    expect(totals).toEqual({ input_tokens: 120, output_tokens: 30, cost_usd: '0.00120000' });
    expect(run).toMatchObject({ inputTokens: 120, cachedInputTokens: 20, outputTokens: 30, costUsd: '0.00120000' });

    const [started, completed] = (await events.listAfter(run.id, 0)).slice(-2);
    expect(started.event).toMatchObject({ type: 'agent.started', data: { agent: 'coder', stepId: step.id } });
    expect(completed.event.data).toEqual({
      taskId: run.taskId,
      runId: run.id,
      agent: 'coder',
      iteration: 1,
      stepId: step.id,
      status: 'completed',
      summary: 'wrote it',
      provider: 'openai',
      model: 'gpt-4o',
      stepUsage: { inputTokens: 120, cachedInputTokens: 20, outputTokens: 30, costUsd: '0.0012' },
      usage: { inputTokens: 120, cachedInputTokens: 20, outputTokens: 30, costUsd: '0.0012' },
      toolCalls: 2,
    });
    await until(async () => published.some((m) => m.seq === completed.seq));
    await unsubscribe();
    expect(published.find((m) => m.seq === completed.seq)!.event).toEqual(completed.event);
    const deliveries: Array<{ event_id: string; body: string }> = await db.query(
      'SELECT event_id, body FROM webhook_deliveries WHERE subscription_id = $1',
      [subscription],
    );
    expect(deliveries.map((d) => d.event_id).sort()).toEqual([started.event.id, completed.event.id].sort());
    for (const message of [started, completed])
      expect(JSON.parse(deliveries.find((d) => d.event_id === message.event.id)!.body)).toEqual(message.event);
    await db.query('DELETE FROM webhook_subscriptions WHERE id = $1', [subscription]);
  });

  it("writes events emitted in the background (emitSoon) in their order, before the run's next ones; a lost one is thrown by the next wait", async () => {
    const progress = t.app.get(RunProgressService);
    const events = t.app.get(RunEventsService);
    const last = (await events.listAfter(run.id, 0)).at(-1)!.seq!;
    for (let call = 0; call < 5; call++) progress.emitSoon(run, 'agent.tool_call', { tool: 'read_file', call });
    await progress.emit(run, 'agent.tool_call', { tool: 'search', call: 5 });
    const stored = await events.listAfter(run.id, last);
    expect(stored.map((m) => [m.seq, m.event.data.call])).toEqual(
      Array.from({ length: 6 }, (_, call) => [last + 1 + call, call]),
    );

    const append = jest.spyOn(events, 'appendUnlessEnded').mockRejectedValueOnce(new Error('database gone'));
    progress.emitSoon(run, 'agent.tool_call', { tool: 'read_file', call: 6 });
    await expect(progress.flushEvents(run.id)).rejects.toThrow('database gone');
    append.mockRestore();
    // Reported once: the run's next write goes on.
    await expect(progress.flushEvents(run.id)).resolves.toBeUndefined();
    await progress.emit(run, 'agent.tool_call', { tool: 'search', call: 7 });
    expect((await events.listAfter(run.id, last)).map((m) => m.event.data.call)).toEqual([0, 1, 2, 3, 4, 5, 7]);
  });

  it('appends an event alone in one statement: seq shared with transactions, deliveries to named subscriptions only, nothing after the run ended', async () => {
    const events = t.app.get(RunEventsService);
    const db = t.app.get(DataSource);
    const [named, everything] = [randomUUID(), randomUUID()];
    await db.query(
      `INSERT INTO webhook_subscriptions (id, user_id, url, events, secret_ciphertext)
       VALUES ($1, $3, 'https://example.test/named', '{agent.tool_call}', 'x'),
              ($2, $3, 'https://example.test/all', '{*}', 'x')`,
      [named, everything, run.userId],
    );
    const last = (await events.listAfter(run.id, 0)).at(-1)!.seq!;
    const received: number[] = [];
    const unsubscribe = await t.app
      .get(RunEventsBus)
      .subscribe(events.channel(run.id), (message) => received.push(message.seq!));
    const statements = jest.spyOn(db, 'query');
    const alone = await events.appendUnlessEnded(run, 'agent.tool_call', { tool: 'read_file', ok: true });
    expect(statements).toHaveBeenCalledTimes(1);
    statements.mockRestore();
    expect(alone).toMatchObject({ seq: last + 1, event: { type: 'agent.tool_call', data: { runId: run.id } } });

    const mixed = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 2
          ? events.appendUnlessEnded(run, 'agent.tool_call', { tool: 'search', call: i })
          : events.transaction((manager) => events.append(manager, run, 'agent.started', { agent: 'x', iteration: i })),
      ),
    );
    expect(mixed.map((m) => m!.seq!).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => last + 2 + i));
    const stored = await events.listAfter(run.id, last);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 31 }, (_, i) => last + 1 + i));
    expect(stored[0].event).toEqual(alone!.event);
    await until(async () => received.length >= 31);
    await unsubscribe();

    // agent.tool_call goes to subscriptions that name it, never to '*' ones.
    const ids = [alone!, ...mixed.filter((_, i) => i % 2)].map((m) => m!.event.id);
    const deliveries: Array<{ subscription_id: string; body: string }> = await db.query(
      'SELECT subscription_id, body FROM webhook_deliveries WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    expect(deliveries).toHaveLength(16);
    expect(new Set(deliveries.map((d) => d.subscription_id))).toEqual(new Set([named]));
    expect(JSON.parse(deliveries.find((d) => d.body.includes(alone!.event.id))!.body)).toEqual(alone!.event);

    // A cancel committing while the append waits for the run row: the append writes nothing.
    const cancel = db.createQueryRunner();
    await cancel.connect();
    await cancel.startTransaction();
    await cancel.query('SELECT id FROM runs WHERE id = $1 FOR UPDATE', [run.id]);
    const waiting = events.appendUnlessEnded(run, 'agent.tool_call', { tool: 'late' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await cancel.query(`UPDATE runs SET status = 'cancelled' WHERE id = $1`, [run.id]);
    await cancel.commitTransaction();
    await cancel.release();
    await expect(waiting).resolves.toBeNull();
    await expect(events.appendUnlessEnded(run, 'agent.tool_call', { tool: 'later' })).resolves.toBeNull();
    expect((await events.listAfter(run.id, 0)).at(-1)!.seq).toBe(last + 31);
    const late: unknown[] = await db.query(
      `SELECT 1 FROM webhook_deliveries WHERE subscription_id = $1 AND body LIKE '%"late%'`,
      [named],
    );
    expect(late).toHaveLength(0);
  });
});
