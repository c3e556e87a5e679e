import { DataSource } from 'typeorm';
import { RunEventsService } from '../../src/agents/runs/run-events.service.js';
import { Run } from '../../src/agents/runs/entities/run.entity.js';
import { RunEventsBus } from '../../src/agents/runs/run-events.bus.js';
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
});
