import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { QueueName } from '../../src/queue/queue.constants.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const base = { title: 'Sum', description: 'Export sum(a, b).', language: 'javascript' };

/** Back-pressure on execute: no worker here, so executed runs stay queued and fill the limits. */
describe('back-pressure on POST /tasks/:id/execute (HTTP)', () => {
  let t: TestApp;

  const newTask = async (user: RegisteredUser): Promise<string> =>
    (await t.http().post('/api/v1/tasks').set(user.auth).send(base).expect(201)).body.task.id as string;
  const execute = (user: RegisteredUser, taskId: string, key?: string) => {
    const request = t.http().post(`/api/v1/tasks/${taskId}/execute`).set(user.auth);
    return key ? request.set('Idempotency-Key', key) : request;
  };
  const queuedJobs = () =>
    t.app.get<Queue>(getQueueToken(QueueName.AgentRuns), { strict: false }).getJobCountByTypes('waiting', 'delayed');
  const db = () => t.app.get(DataSource);
  /** What a refused execute must not leave behind: a run, an event, a task status, a stored key. */
  const traces = async (taskId: string) => {
    const [row] = await db().query<Array<{ runs: number; events: number; status: string }>>(
      `SELECT (SELECT count(*)::int FROM runs WHERE task_id = $1) AS runs,
              (SELECT count(*)::int FROM run_events e JOIN runs r ON r.id = e.run_id
                WHERE r.task_id = $1 AND e.type = 'run.queued') AS events,
              (SELECT status FROM tasks WHERE id = $1) AS status`,
      [taskId],
    );
    return row;
  };

  const queuedRuns = async () =>
    (await db().query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM runs WHERE status = 'queued'`))[0].n;
  /** Ends every active run, as if the workers had finished them all. */
  const emptyQueue = () =>
    db().query(`UPDATE runs SET status = 'completed' WHERE status IN ('queued', 'running', 'awaiting_input')`);

  describe('limits', () => {
    beforeAll(async () => {
      t = await createTestApp({
        workerInProcess: false,
        env: { MAX_QUEUED_RUNS: '4', MAX_QUEUED_RUNS_PER_USER: '2', QUEUE_FULL_RETRY_AFTER_SECONDS: '7' },
      });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('refuses a user past their own limit with 429, counts nobody else, then the whole queue with 503', async () => {
      const alice = await registerUser(t);
      const bob = await registerUser(t);
      const carol = await registerUser(t);
      const [a1, a2, a3] = [await newTask(alice), await newTask(alice), await newTask(alice)];
      const firstRun = (await execute(alice, a1, 'alice-first').expect(202)).body.run.id as string;
      await execute(alice, a2).expect(202);

      const perUser = await execute(alice, a3, 'alice-third').expect(429);
      expect(perUser.headers['retry-after']).toBe('7');
      expect(perUser.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(perUser.body).toMatchObject({ status: 429, code: 'TOO_MANY_QUEUED_RUNS', retryAfter: 7, limit: 2 });
      expect(await traces(a3)).toEqual({ runs: 0, events: 0, status: 'draft' });

      // Alice's two queued runs do not count against Bob's own limit.
      const [b1, b2, b3] = [await newTask(bob), await newTask(bob), await newTask(bob)];
      await execute(bob, b1).expect(202);
      await execute(bob, b2).expect(202);
      expect(await queuedJobs()).toBe(4);

      // Four runs wait in all: anyone's next run is refused with 503, Bob's too.
      const c1 = await newTask(carol);
      const busy = await execute(carol, c1, 'carol-first').expect(503);
      expect(busy.headers['retry-after']).toBe('7');
      expect(busy.body).toMatchObject({ status: 503, code: 'SERVER_BUSY', retryAfter: 7 });
      expect(busy.body.detail).toMatch(/try again later/);
      await execute(bob, b3).expect(503);
      for (const taskId of [c1, b3]) expect(await traces(taskId)).toEqual({ runs: 0, events: 0, status: 'draft' });
      expect(await queuedJobs()).toBe(4);
      const [{ keys }] = await db().query<Array<{ keys: number }>>(
        `SELECT count(*)::int AS keys FROM idempotency_keys WHERE key IN ('alice-third', 'carol-first')`,
      );
      expect(keys).toBe(0);

      // A replay of an accepted request is its stored answer, full queue or not: nothing new is queued.
      const replay = await execute(alice, a1, 'alice-first').expect(202);
      expect(replay.body.run.id).toBe(firstRun);
      expect(await queuedJobs()).toBe(4);

      // A refused request left no key behind: once a run leaves the queue, the same key goes through.
      await t.http().post(`/api/v1/tasks/${a1}/cancel`).set(alice.auth).expect(202);
      const retried = await execute(carol, c1, 'carol-first').expect(202);
      expect(await traces(c1)).toEqual({ runs: 1, events: 1, status: 'queued' });
      expect((await execute(carol, c1, 'carol-first').expect(202)).body.run.id).toBe(retried.body.run.id);
      expect(await queuedRuns()).toBe(4);
    });

    it('counts only queued runs: running, waiting and finished ones leave room', async () => {
      await emptyQueue();
      const dave = await registerUser(t);
      const [d1, d2, d3, d4] = [await newTask(dave), await newTask(dave), await newTask(dave), await newTask(dave)];
      await execute(dave, d1).expect(202);
      await execute(dave, d2).expect(202);
      await execute(dave, d3).expect(429);
      // A worker took d1's run: it no longer waits, so it leaves room.
      await db().query(`UPDATE runs SET status = 'running' WHERE task_id = $1`, [d1]);
      await execute(dave, d3).expect(202);
      await execute(dave, d4).expect(429);
      await db().query(`UPDATE runs SET status = 'awaiting_input' WHERE task_id = $1`, [d2]);
      await execute(dave, d4).expect(202);
    });

    it('a limit does not hide the answers that come first: another user’s task is 404, an active run 409', async () => {
      const erin = await registerUser(t);
      const frank = await registerUser(t);
      const e1 = await newTask(erin);
      await emptyQueue();
      await execute(erin, e1).expect(202);
      await execute(frank, e1).expect(404);
      await execute(erin, e1).expect(409);
    });
  });

  describe('under concurrency', () => {
    beforeAll(async () => {
      t = await createTestApp({ workerInProcess: false, env: { MAX_QUEUED_RUNS: '5', MAX_QUEUED_RUNS_PER_USER: '3' } });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('parallel executes never overshoot either limit', async () => {
      const [first, second] = [await registerUser(t), await registerUser(t)];
      const tasksOf = async (user: RegisteredUser) => Promise.all(Array.from({ length: 8 }, () => newTask(user)));
      const [firstTasks, secondTasks] = [await tasksOf(first), await tasksOf(second)];

      const statuses = async (user: RegisteredUser, ids: string[]) =>
        (await Promise.all(ids.map((id) => execute(user, id)))).map((r) => r.status).sort();
      expect(await statuses(first, firstTasks)).toEqual([202, 202, 202, 429, 429, 429, 429, 429]);
      // Three are queued in all: the second user gets the two places left, then the queue is full.
      expect(await statuses(second, secondTasks)).toEqual([202, 202, 503, 503, 503, 503, 503, 503]);

      expect(await queuedRuns()).toBe(5);
      expect(await queuedJobs()).toBe(5);
    });
  });
});
