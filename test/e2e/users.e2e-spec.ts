import { Secret, TOTP } from 'otpauth';
import { DataSource } from 'typeorm';
import { registerUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

describe('users (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  describe('me', () => {
    it('GET and PATCH /users/me', async () => {
      const user = await registerUser(t, { name: 'Ada' });
      const me = await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
      expect(me.body).toMatchObject({ id: user.id, email: user.email, name: 'Ada', role: 'user', isActive: true });
      const patched = await t
        .http()
        .patch('/api/v1/users/me')
        .set(user.auth)
        .send({ name: 'Ada Lovelace', avatarUrl: 'https://img.example/ada.png' })
        .expect(200);
      expect(patched.body).toMatchObject({ name: 'Ada Lovelace', avatarUrl: 'https://img.example/ada.png' });
      // GET /users/me is served from a cache; the change shows at once.
      const reread = await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
      expect(reread.body.name).toBe('Ada Lovelace');
      const cleared = await t.http().patch('/api/v1/users/me').set(user.auth).send({ avatarUrl: null }).expect(200);
      expect(cleared.body.avatarUrl).toBeNull();
      await t.http().get('/api/v1/users/me').expect(401);
    });

    it('shows a profile change made through another API process at once', async () => {
      // Two API processes on one database and Redis: each keeps profiles in memory too, so this
      // checks that a change committed elsewhere is never served stale from here.
      const other = await createTestApp({
        databaseUrl: t.databaseUrl,
        redisPrefix: t.redisPrefix,
        env: { DATA_DIR: t.env.DATA_DIR },
      });
      try {
        const user = await registerUser(t, { name: 'Grace' });
        for (let i = 0; i < 2; i++) await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
        await other.http().patch('/api/v1/users/me').set(user.auth).send({ name: 'Grace Hopper' }).expect(200);
        const here = await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
        expect(here.body.name).toBe('Grace Hopper');
        await other.http().patch('/api/v1/users/me').set(user.auth).send({ name: 'G. Hopper' }).expect(200);
        expect((await t.http().get('/api/v1/users/me').set(user.auth).expect(200)).body.name).toBe('G. Hopper');
      } finally {
        await other.close();
      }
    });

    it.each([
      [{ role: 'admin' }, 'role'],
      [{ emailVerified: true }, 'emailVerified'],
      [{ isActive: false }, 'isActive'],
      [{ email: 'x@example.test' }, 'email'],
      [{ avatarUrl: 'javascript:alert(1)' }, 'avatarUrl'],
      [{ name: 'x'.repeat(101) }, 'name'],
    ])('PATCH /users/me refuses %j with 400', async (body, field) => {
      const user = await registerUser(t);
      const res = await t.http().patch('/api/v1/users/me').set(user.auth).send(body).expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      const me = await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
      expect(me.body.role).toBe('user');
    });
  });

  describe('DELETE /users/me', () => {
    it('needs the password, then erases the account and everything it owns', async () => {
      const user = await registerUser(t);
      await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
      const none = await t.http().delete('/api/v1/users/me').set(user.auth).send({}).expect(400);
      expect(none.body.code).toBe('VALIDATION_FAILED');
      const wrong = await t
        .http()
        .delete('/api/v1/users/me')
        .set(user.auth)
        .send({ password: 'not-my-password' })
        .expect(401);
      expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
      await t.http().delete('/api/v1/users/me').set(user.auth).send({ password: user.password }).expect(204);

      const db = t.app.get(DataSource);
      for (const table of [
        'users',
        'user_sessions',
        'refresh_tokens',
        'email_tokens',
        'backup_codes',
        'oauth_accounts',
      ]) {
        const column = table === 'users' ? 'id' : 'user_id';
        const [{ count }] = await db.query(`SELECT count(*)::int AS count FROM ${table} WHERE ${column} = $1`, [
          user.id,
        ]);
        expect({ table, count }).toEqual({ table, count: 0 });
      }
      await t.http().get('/api/v1/users/me').set(user.auth).expect(401);
      await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(401);
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
    });

    it('accepts a current 2FA code instead', async () => {
      const user = await registerUser(t);
      const setup = await t.http().post('/api/v1/two-factor/setup').set(user.auth).expect(200);
      const totp = new TOTP({ secret: Secret.fromBase32(setup.body.secret) });
      await t.http().post('/api/v1/two-factor/enable').set(user.auth).send({ code: totp.generate() }).expect(200);
      const wrong = await t.http().delete('/api/v1/users/me').set(user.auth).send({ code: '000000' }).expect(401);
      expect(wrong.body.code).toBe('INVALID_2FA_CODE');
      await t
        .http()
        .delete('/api/v1/users/me')
        .set(user.auth)
        .send({ code: totp.generate({ timestamp: Date.now() + 30_000 }) })
        .expect(204);
      await t.http().get('/api/v1/users/me').set(user.auth).expect(401);
    });
  });

  describe('admin', () => {
    it('lists users newest first with a cursor, and gets one', async () => {
      const admin = await registerUser(t, { role: 'admin' });
      const a = await registerUser(t);
      const b = await registerUser(t);
      const page = await t.http().get('/api/v1/users?limit=2').set(admin.auth).expect(200);
      expect(page.body.items.map((u: { id: string }) => u.id)).toEqual([b.id, a.id]);
      expect(page.body.nextCursor).toEqual(expect.any(String));
      const next = await t
        .http()
        .get(`/api/v1/users?limit=2&cursor=${page.body.nextCursor}`)
        .set(admin.auth)
        .expect(200);
      expect(next.body.items[0].id).toBe(admin.id);
      const one = await t.http().get(`/api/v1/users/${a.id}`).set(admin.auth).expect(200);
      expect(one.body.email).toBe(a.email);
      expect(JSON.stringify(page.body)).not.toMatch(/password|totp/i);
      const missing = await t
        .http()
        .get('/api/v1/users/00000000-0000-4000-8000-000000000000')
        .set(admin.auth)
        .expect(404);
      expect(missing.body.code).toBe('USER_NOT_FOUND');
      const bad = await t.http().get('/api/v1/users?limit=500').set(admin.auth).expect(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
    });

    it('non-admins get 403 on every admin route', async () => {
      const user = await registerUser(t);
      const other = await registerUser(t);
      await t.http().get('/api/v1/users').set(user.auth).expect(403);
      await t.http().get(`/api/v1/users/${other.id}`).set(user.auth).expect(403);
      await t.http().patch(`/api/v1/users/${other.id}`).set(user.auth).send({ isActive: false }).expect(403);
      await t.http().patch(`/api/v1/users/${user.id}`).set(user.auth).send({ role: 'admin' }).expect(403);
      await t.http().get('/api/v1/users').expect(401);
    });

    it('PATCH /users/:id changes role and active state; refuses other fields and self-demotion', async () => {
      const admin = await registerUser(t, { role: 'admin' });
      const user = await registerUser(t);
      const res = await t
        .http()
        .patch(`/api/v1/users/${user.id}`)
        .set(admin.auth)
        .send({ role: 'admin', isActive: true })
        .expect(200);
      expect(res.body.role).toBe('admin');
      const extra = await t
        .http()
        .patch(`/api/v1/users/${user.id}`)
        .set(admin.auth)
        .send({ emailVerified: false })
        .expect(400);
      expect(extra.body.code).toBe('VALIDATION_FAILED');
      const badRole = await t
        .http()
        .patch(`/api/v1/users/${user.id}`)
        .set(admin.auth)
        .send({ role: 'root' })
        .expect(400);
      expect(badRole.body.code).toBe('VALIDATION_FAILED');
      const self = await t
        .http()
        .patch(`/api/v1/users/${admin.id}`)
        .set(admin.auth)
        .send({ isActive: false })
        .expect(409);
      expect(self.body.code).toBe('CANNOT_CHANGE_OWN_ACCESS');
      await t.http().patch(`/api/v1/users/${user.id}`).set(admin.auth).send({ isActive: false }).expect(200);
      await t.http().get('/api/v1/users/me').set(user.auth).expect(403);
      await t.http().patch(`/api/v1/users/${user.id}`).set(admin.auth).send({ isActive: true }).expect(200);
      await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
    });
  });
});
