import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { TokensService } from '../../src/auth/tokens.service.js';
import { UserStateCache } from '../../src/users/user-state.cache.js';
import { registerUser, RegisteredUser, strongPassword, uniqueEmail } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/** `depth` arrays inside each other around `leaf`, as raw JSON (JSON.stringify would recurse as deep). */
const nestedArrays = (depth: number, leaf = '1') => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
const nestedObjects = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

const TASK = { title: 'Sum', description: 'Export sum(a, b).', language: 'javascript' };

/** Issue 18 items 3, 4 and 14: what a hostile client sent that got through, each now a 400 that changes nothing. */
describe('hostile input (HTTP)', () => {
  let t: TestApp;
  let alice: RegisteredUser;
  let db: DataSource;
  const count = async (table: string) => Number((await db.query(`SELECT count(*) AS n FROM ${table}`))[0].n);

  beforeAll(async () => {
    t = await createTestApp();
    db = t.app.get(DataSource);
    alice = await registerUser(t);
  });
  afterAll(async () => {
    await t.close();
  });

  function expectRefused(res: { status: number; body: Record<string, unknown> }, field: string, message: RegExp) {
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', status: 400 });
    expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(message) }]);
  }

  describe('bodies nested too deep (item 3)', () => {
    it('a 100 KB body of nested arrays or objects is a 400, on a public route and on an authenticated one', async () => {
      const tasksBefore = await count('tasks');
      const arrays = `{"email":${nestedArrays(50_000)},"password":"x"}`;
      expect(arrays.length).toBeGreaterThan(100_000);
      const login = await t.http().post('/api/v1/auth/login').set('Content-Type', 'application/json').send(arrays);
      expectRefused(login, `email${'[0]'.repeat(31)}`, /nested deeper than 32 levels/);

      const objects = await t
        .http()
        .post('/api/v1/tasks')
        .set(alice.auth)
        .set('Content-Type', 'application/json')
        .send(`{"title":"x","description":"y","language":"javascript","config":${nestedObjects(10_000)}}`);
      expectRefused(objects, `config${'.a'.repeat(31)}`, /nested deeper than 32 levels/);
      expect(await count('tasks')).toBe(tasksBefore);
    });

    it('32 levels are still read as usual: the DTO answers, not the depth check', async () => {
      const res = await t
        .http()
        .post('/api/v1/auth/login')
        .set('Content-Type', 'application/json')
        .send(`{"email":${nestedArrays(31)},"password":"x"}`);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(JSON.stringify(res.body.errors)).not.toMatch(/nested/);
    });
  });

  describe('prototype keys (item 4)', () => {
    it.each(['__proto__', 'constructor', 'prototype'])(
      'POST /auth/register with %s is a 400 and creates no user',
      async (key) => {
        const email = uniqueEmail('proto');
        const body = `{"email":"${email}","password":"${strongPassword()}","${key}":{"role":"admin"}}`;
        const res = await t.http().post('/api/v1/auth/register').set('Content-Type', 'application/json').send(body);
        expectRefused(res, key, /is not an accepted field/);
        expect(await db.query('SELECT id FROM users WHERE email = $1', [email])).toEqual([]);
      },
    );

    it('one level down too', async () => {
      const res = await t
        .http()
        .post('/api/v1/tasks')
        .set(alice.auth)
        .set('Content-Type', 'application/json')
        .send(`{"title":"x","description":"y","language":"javascript","config":{"__proto__":{"maxIterations":9}}}`);
      expectRefused(res, 'config.__proto__', /is not an accepted field/);
    });
  });

  describe('NUL characters (item 14)', () => {
    it.each([
      ['title', { ...TASK, title: 'a\u0000b' }],
      ['description', { ...TASK, description: 'a\u0000b' }],
      ['files[0].content', { ...TASK, files: [{ path: 'src/a.js', content: 'x\u0000' }] }],
    ])('a task with NUL in %s is a 400 and stores nothing', async (field, body) => {
      const before = await count('tasks');
      const res = await t.http().post('/api/v1/tasks').set(alice.auth).send(body);
      expectRefused(res, field, /must not contain NUL/);
      expect(await count('tasks')).toBe(before);
    });

    it('a sign-up name, a webhook description and a query value with NUL are 400s', async () => {
      const register = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail('nul'), password: strongPassword(), name: 'Eve\u0000' });
      expectRefused(register, 'name', /must not contain NUL/);
      const webhook = await t
        .http()
        .post('/api/v1/webhooks')
        .set(alice.auth)
        .send({ url: 'https://hooks.example.test/q', events: ['*'], description: 'x\u0000y' });
      expectRefused(webhook, 'description', /must not contain NUL/);
      expect(await count('webhook_subscriptions')).toBe(0);
      const query = await t.http().get('/api/v1/tasks?status=draft%00').set(alice.auth);
      expectRefused(query, 'status', /must not contain NUL/);
    });
  });

  describe('numeric query values and cursors (item 14)', () => {
    it('?after= beyond an integer seq is a 400 on the events list and the stream', async () => {
      const task = await t.http().post('/api/v1/tasks').set(alice.auth).send(TASK).expect(201);
      const run = await t.http().post(`/api/v1/tasks/${task.body.task.id}/execute`).set(alice.auth).expect(202);
      const runId = run.body.run.id as string;
      for (const path of ['events', 'stream']) {
        const res = await t
          .http()
          .get(`/api/v1/agents/runs/${runId}/${path}?after=99999999999999999999999`)
          .set(alice.auth);
        expect(res.status).toBe(400);
        expect(res.body.errors).toEqual([
          { field: 'after', message: expect.stringMatching(/must not be greater than/) },
        ]);
      }
      const edge = await t
        .http()
        .get(`/api/v1/agents/runs/${runId}/events?after=2147483647`)
        .set(alice.auth)
        .expect(200);
      expect(edge.body.items).toEqual([]);
      await t.http().get(`/api/v1/agents/runs/${runId}/events?after=2147483648`).set(alice.auth).expect(400);
    });

    it('a cursor naming something that is not a task id or a time is a 400', async () => {
      for (const position of [
        ['2026-01-01T00:00:00.000Z', 'not-a-uuid'],
        ['the day after tomorrow', '00000000-0000-4000-8000-000000000000'],
      ]) {
        const cursor = Buffer.from(JSON.stringify(position)).toString('base64url');
        const res = await t.http().get(`/api/v1/tasks?cursor=${cursor}`).set(alice.auth);
        expectRefused(res, 'cursor', /is not a cursor this API issued/);
      }
    });
  });

  describe('nested DTOs are objects (item 14)', () => {
    it('config or a file sent as an array is a 400 on POST and PATCH, and nothing is stored', async () => {
      const before = await count('tasks');
      const asArray = await t
        .http()
        .post('/api/v1/tasks')
        .set(alice.auth)
        .send({ ...TASK, config: [{ maxIterations: 2 }] });
      expect(asArray.status).toBe(400);
      expect(asArray.body.errors).toContainEqual({ field: 'config', message: 'config must be an object' });
      const fileArray = await t
        .http()
        .post('/api/v1/tasks')
        .set(alice.auth)
        .send({ ...TASK, files: [['src/a.js', 'x']] });
      expect(fileArray.status).toBe(400);
      expect(await count('tasks')).toBe(before);

      const task = await t
        .http()
        .post('/api/v1/tasks')
        .set(alice.auth)
        .send({ ...TASK, config: { maxIterations: 2 } })
        .expect(201);
      const patched = await t
        .http()
        .patch(`/api/v1/tasks/${task.body.task.id}`)
        .set(alice.auth)
        .send({ config: [], models: [] });
      expect(patched.status).toBe(400);
      const after = await t.http().get(`/api/v1/tasks/${task.body.task.id}`).set(alice.auth).expect(200);
      expect(after.body.task.config).toEqual({ maxIterations: 2 });
    });
  });

  describe('session-state cache (item 14)', () => {
    it("a token signed with the key, naming user B and user A's live session, is refused as the database refuses it", async () => {
      const a = await registerUser(t);
      const b = await registerUser(t);
      // Entries are stamped with their user's generation: give both users the same one, so that only
      // the owner check can tell A's cached session from one of B's.
      const cache = t.app.get(UserStateCache);
      const gen = async (userId: string) => (await cache.read(userId, randomUUID())).gen;
      while ((await gen(a.id)) !== (await gen(b.id))) {
        await cache.invalidate((await gen(a.id)) < (await gen(b.id)) ? a.id : b.id);
      }
      // A's session state is in the cache now.
      await t.http().get('/api/v1/users/me').set(a.auth).expect(200);
      const sessions = await t.http().get('/api/v1/auth/sessions').set(a.auth).expect(200);
      const sessionOfA = (sessions.body.items as Array<{ id: string; current: boolean }>).find((s) => s.current)!.id;
      const forged = t.app.get(TokensService).signAccess(b.id, sessionOfA);
      const res = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${forged}`);
      expect(res.status).toBe(401);
      expect(JSON.stringify(res.body)).not.toContain(a.email);
      // A's own token still works.
      await t.http().get('/api/v1/users/me').set(a.auth).expect(200);
    });
  });
});
