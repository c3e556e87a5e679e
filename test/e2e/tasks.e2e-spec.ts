import { DataSource } from 'typeorm';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/** Tasks over HTTP with no worker in this process: executed runs stay queued, which is what these rules need. */
describe('tasks (HTTP)', () => {
  let t: TestApp;
  let user: RegisteredUser;
  const base = { title: 'Sum', description: 'Export sum(a, b).', language: 'javascript' };

  beforeAll(async () => {
    t = await createTestApp({ workerInProcess: false, env: { TASK_MAX_FILES: '3', TASK_MAX_FILE_BYTES: '100' } });
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  const create = (body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    t.http().post('/api/v1/tasks').set(user.auth).set(headers).send(body);

  it('creates, reads, lists, updates and deletes a task', async () => {
    const created = await create({
      ...base,
      files: [{ path: './lib//a.js', content: 'x' }],
      config: { maxIterations: 2, judges: ['security'] },
    }).expect(201);
    const task = created.body.task;
    expect(task).toMatchObject({
      title: 'Sum',
      language: 'javascript',
      mode: 'build',
      status: 'draft',
      files: [{ path: 'lib/a.js', content: 'x' }],
    });
    expect(task.config).toEqual({ maxIterations: 2, judges: ['security'] });
    expect((await t.http().get(`/api/v1/tasks/${task.id}`).set(user.auth).expect(200)).body.task.id).toBe(task.id);
    const patched = await t
      .http()
      .patch(`/api/v1/tasks/${task.id}`)
      .set(user.auth)
      .send({ title: 'Sum 2' })
      .expect(200);
    expect(patched.body.task.title).toBe('Sum 2');
    await t.http().delete(`/api/v1/tasks/${task.id}`).set(user.auth).expect(204);
    await t.http().get(`/api/v1/tasks/${task.id}`).set(user.auth).expect(404);
  });

  it('pages newest first and filters by status', async () => {
    const owner = await registerUser(t);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++)
      ids.push(
        (
          await t
            .http()
            .post('/api/v1/tasks')
            .set(owner.auth)
            .send({ ...base, title: `t${i}` })
            .expect(201)
        ).body.task.id,
      );
    const first = await t.http().get('/api/v1/tasks?limit=2').set(owner.auth).expect(200);
    expect(first.body.items.map((x: { id: string }) => x.id)).toEqual([ids[2], ids[1]]);
    const second = await t
      .http()
      .get(`/api/v1/tasks?limit=2&cursor=${first.body.nextCursor}`)
      .set(owner.auth)
      .expect(200);
    expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    await t.http().post(`/api/v1/tasks/${ids[1]}/execute`).set(owner.auth).expect(202);
    const queued = await t.http().get('/api/v1/tasks?status=queued').set(owner.auth).expect(200);
    expect(queued.body.items.map((x: { id: string }) => x.id)).toEqual([ids[1]]);
    await t.http().get('/api/v1/tasks?status=nope').set(owner.auth).expect(400);
    await t.http().get('/api/v1/tasks?cursor=garbage').set(owner.auth).expect(400);
  });

  it('rejects bad input with 400 naming the field', async () => {
    const problem = async (body: Record<string, unknown>, field: string) => {
      const res = await create(body).expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    };
    await problem({ ...base, title: '' }, 'title');
    await problem({ ...base, title: 'x'.repeat(201) }, 'title');
    await problem({ ...base, description: undefined }, 'description');
    await problem({ ...base, language: 'cobol' }, 'language');
    await problem(
      {
        ...base,
        files: [
          { path: 'ok.js', content: '' },
          { path: 'b.js', content: '' },
          { path: '../x.js', content: '' },
        ],
      },
      'files[2].path',
    );
    await problem({ ...base, files: [{ path: '/etc/passwd', content: '' }] }, 'files[0].path');
    await problem({ ...base, files: [{ path: 'a.js', content: 'x'.repeat(101) }] }, 'files[0].content');
    await problem({ ...base, files: [1, 2, 3, 4].map((i) => ({ path: `f${i}.js`, content: '' })) }, 'files');
    await problem({ ...base, config: { maxIterations: 11 } }, 'config.maxIterations');
    await problem({ ...base, config: { models: { coder: 'nope' } } }, 'config.models.coder');
    await problem({ ...base, mode: 'review' }, 'files');
    await problem({ ...base, surprise: true }, 'surprise');
  });

  it('needs a verified email to create or execute', async () => {
    const unverified = await registerUser(t, { verified: false });
    const res = await t.http().post('/api/v1/tasks').set(unverified.auth).send(base).expect(403);
    expect(res.body.code).toBe('EMAIL_NOT_VERIFIED');
    await t.http().post('/api/v1/tasks').send(base).expect(401);
  });

  it('replays an Idempotency-Key create and refuses a different body', async () => {
    const key = `k-${Date.now()}`;
    const first = await create(base, { 'Idempotency-Key': key }).expect(201);
    const again = await create(base, { 'Idempotency-Key': key }).expect(201);
    expect(again.body).toEqual(first.body);
    const conflict = await create({ ...base, title: 'Other' }, { 'Idempotency-Key': key }).expect(409);
    expect(conflict.body.code).toBe('IDEMPOTENCY_CONFLICT');
    // Concurrent requests with one new key create one task.
    const key2 = `k2-${Date.now()}`;
    const answers = await Promise.all([1, 2, 3].map(() => create(base, { 'Idempotency-Key': key2 })));
    expect(answers.map((a) => a.status)).toEqual([201, 201, 201]);
    expect(new Set(answers.map((a) => a.body.task.id)).size).toBe(1);
    await create(base, { 'Idempotency-Key': 'bad key with spaces' }).expect(400);

    // After its lifetime a key is forgotten: the same key then creates a new task.
    await t.app
      .get(DataSource)
      .query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [key]);
    const fresh = await create({ ...base, title: 'Other' }, { 'Idempotency-Key': key }).expect(201);
    expect(fresh.body.task.id).not.toBe(first.body.task.id);
    // Removing expired keys is a maintenance job: test/e2e/maintenance.e2e-spec.ts.
  });

  it('executes once per key, refuses a second active run and refuses delete/patch while active', async () => {
    const task = (await create(base).expect(201)).body.task;
    const key = `e-${Date.now()}`;
    const [a, b] = await Promise.all([
      t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).set('Idempotency-Key', key),
      t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).set('Idempotency-Key', key),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.run.id).toBe(b.body.run.id);
    expect(a.body.run).toMatchObject({ taskId: task.id, status: 'queued', iteration: 0 });
    const second = await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(409);
    expect(second.body.code).toBe('RUN_ACTIVE');
    // Concurrent executes without a key: exactly one wins.
    const other = (await create(base).expect(201)).body.task;
    const racing = await Promise.all(
      [1, 2, 3].map(() => t.http().post(`/api/v1/tasks/${other.id}/execute`).set(user.auth)),
    );
    expect(racing.map((r) => r.status).sort()).toEqual([202, 409, 409]);

    const del = await t.http().delete(`/api/v1/tasks/${task.id}`).set(user.auth).expect(409);
    expect(del.body.code).toBe('RUN_ACTIVE');
    await t.http().patch(`/api/v1/tasks/${task.id}`).set(user.auth).send({ title: 'x' }).expect(409);
    const runs = await t.http().get(`/api/v1/agents/runs?taskId=${task.id}`).set(user.auth).expect(200);
    expect(runs.body.items).toHaveLength(1);
    const jobs = await t.app.get(DataSource).query('SELECT count(*)::int AS n FROM runs WHERE task_id = $1', [task.id]);
    expect(jobs[0].n).toBe(1);

    // Cancelling a queued run ends it at once (and drops any checkpoint of it); then the task may be deleted.
    const db = t.app.get(DataSource);
    const fakeCheckpoint = (runId: string) =>
      db.query(
        `INSERT INTO langgraph.checkpoints (thread_id, checkpoint_id, checkpoint) VALUES ($1, gen_random_uuid()::text, '{}')`,
        [runId],
      );
    const checkpointsOf = async (runId: string) =>
      (await db.query('SELECT count(*)::int AS n FROM langgraph.checkpoints WHERE thread_id = $1', [runId]))[0].n;
    await fakeCheckpoint(a.body.run.id);
    const cancelled = await t.http().post(`/api/v1/tasks/${task.id}/cancel`).set(user.auth).expect(202);
    expect(await checkpointsOf(a.body.run.id)).toBe(0);
    await fakeCheckpoint(a.body.run.id);
    expect(cancelled.body.run.id).toBe(a.body.run.id);
    const run = await t.http().get(`/api/v1/agents/runs/${a.body.run.id}`).set(user.auth).expect(200);
    expect(run.body).toMatchObject({ status: 'cancelled', steps: [] });
    const events = await t.http().get(`/api/v1/agents/runs/${a.body.run.id}/events`).set(user.auth).expect(200);
    expect(events.body.items.map((e: { type: string; seq: number }) => `${e.seq}:${e.type}`)).toEqual([
      '1:run.queued',
      '2:run.cancelled',
    ]);
    await t.http().post(`/api/v1/tasks/${task.id}/cancel`).set(user.auth).expect(409);
    await t.http().delete(`/api/v1/tasks/${task.id}`).set(user.auth).expect(204);
    await t.http().get(`/api/v1/agents/runs/${a.body.run.id}`).set(user.auth).expect(404);
    // Deleting the run row (task deleted, account erased) removes its checkpoints too.
    expect(await checkpointsOf(a.body.run.id)).toBe(0);
  });

  it('answers missing things and bad ids clearly', async () => {
    const task = (await create(base).expect(201)).body.task;
    const noRun = await t.http().get(`/api/v1/tasks/${task.id}/result`).set(user.auth).expect(404);
    expect(noRun.body.code).toBe('RUN_NOT_FOUND');
    await t.http().post(`/api/v1/tasks/${task.id}/cancel`).set(user.auth).expect(409);
    await t.http().get('/api/v1/tasks/not-a-uuid').set(user.auth).expect(400);
    await t.http().get('/api/v1/tasks/00000000-0000-4000-8000-000000000000').set(user.auth).expect(404);
    await t.http().get('/api/v1/agents/runs/00000000-0000-4000-8000-000000000000').set(user.auth).expect(404);
    await t.http().get('/api/v1/agents/runs/00000000-0000-4000-8000-000000000000/stream').set(user.auth).expect(404);
    const run = (await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;
    await t.http().post(`/api/v1/agents/runs/${run.id}/resume`).set(user.auth).send({ approve: true }).expect(409);
    await t.http().post(`/api/v1/agents/runs/${run.id}/resume`).set(user.auth).send({}).expect(400);
    await t.http().get(`/api/v1/agents/runs/${run.id}/events?after=-1`).set(user.auth).expect(400);
    await t.http().get(`/api/v1/agents/runs/${run.id}/stream`).set(user.auth).set('Last-Event-ID', 'abc').expect(400);
  });

  it('publishes the task and run routes with their response shapes in the OpenAPI document', async () => {
    const doc = (await t.http().get('/api/docs-json').expect(200)).body;
    for (const path of [
      '/api/v1/tasks',
      '/api/v1/tasks/{id}',
      '/api/v1/tasks/{id}/execute',
      '/api/v1/tasks/{id}/cancel',
      '/api/v1/tasks/{id}/result',
      '/api/v1/agents/runs',
      '/api/v1/agents/runs/{id}',
      '/api/v1/agents/runs/{id}/events',
      '/api/v1/agents/runs/{id}/stream',
      '/api/v1/agents/runs/{id}/resume',
    ]) {
      expect(doc.paths[path]).toBeDefined();
    }
    expect(
      doc.paths['/api/v1/tasks/{id}/execute'].post.responses['202'].content['application/json'].schema.$ref,
    ).toContain('RunEnvelopeDto');
    expect(doc.components.schemas.RunWithStepsDto.properties.steps).toBeDefined();
    expect(doc.components.schemas.CreateTaskDto.required).toEqual(
      expect.arrayContaining(['title', 'description', 'language']),
    );
  });
});
