import jwt from 'jsonwebtoken';
import { DataSource } from 'typeorm';
import { registerUser, strongPassword, uniqueEmail } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const JWT_SECRET = 'e2e-test-jwt-secret-that-is-long-enough-0123456789';

function b64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function cookiesOf(res: { headers: Record<string, unknown> }): Record<string, string> {
  const raw = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return Object.fromEntries(raw.map((c) => c.split(';')[0].split('=')).map(([k, ...v]) => [k, v.join('=')]));
}

describe('auth: register, login, tokens, sessions (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { JWT_SECRET } });
  });
  afterAll(async () => {
    await t.close();
  });

  describe('POST /auth/register', () => {
    it('creates an unverified user and never returns secrets', async () => {
      const email = uniqueEmail();
      const res = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email, password: strongPassword(), name: 'Ada' })
        .expect(201);
      expect(res.body.user).toMatchObject({ email, name: 'Ada', role: 'user', emailVerified: false, isActive: true });
      expect(JSON.stringify(res.body)).not.toMatch(/hash|argon/i);
      const [row] = await t.app
        .get(DataSource)
        .query('SELECT password_hash FROM users WHERE id = $1', [res.body.user.id]);
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
    });

    it('refuses a taken email (case-insensitively) with 409 EMAIL_TAKEN', async () => {
      const email = uniqueEmail();
      await t.http().post('/api/v1/auth/register').send({ email, password: strongPassword() }).expect(201);
      const res = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: email.toUpperCase(), password: strongPassword() })
        .expect(409);
      expect(res.body.code).toBe('EMAIL_TAKEN');
    });

    it.each([
      ['role', { role: 'admin' }],
      ['emailVerified', { emailVerified: true }],
    ])('rejects mass assignment of %s with 400', async (field, extra) => {
      const res = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail(), password: strongPassword(), ...extra })
        .expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    });

    it('enforces 8..128 characters and the common-password list', async () => {
      const short = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail(), password: 'Ab1!xyz' })
        .expect(400);
      expect(short.body.code).toBe('VALIDATION_FAILED');
      const long = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail(), password: 'a'.repeat(129) })
        .expect(400);
      expect(long.body.code).toBe('VALIDATION_FAILED');
      await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail(), password: 'b'.repeat(128) + '' })
        .expect(201);
      const common = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: uniqueEmail(), password: 'Baseball' })
        .expect(400);
      expect(common.body.code).toBe('PASSWORD_TOO_COMMON');
      const badEmail = await t
        .http()
        .post('/api/v1/auth/register')
        .send({ email: 'nope', password: strongPassword() })
        .expect(400);
      expect(badEmail.body.errors[0].field).toBe('email');
    });
  });

  describe('POST /auth/login', () => {
    it('returns a token pair and the user', async () => {
      const email = uniqueEmail();
      const password = strongPassword();
      await t.http().post('/api/v1/auth/register').send({ email, password }).expect(201);
      const res = await t.http().post('/api/v1/auth/login').send({ email: email.toUpperCase(), password }).expect(200);
      expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, user: { email } });
      expect(res.body.accessToken.split('.')).toHaveLength(3);
      expect(res.body.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const decoded = jwt.decode(res.body.accessToken, { complete: true })!;
      expect(decoded.header.alg).toBe('HS256');
      expect(decoded.payload).toMatchObject({ typ: 'access', iss: 'quorum', aud: 'quorum-api', sub: res.body.user.id });
    });

    it('answers an unknown email exactly like a wrong password', async () => {
      const user = await registerUser(t);
      const wrong = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: 'wrong-password-1' })
        .expect(401);
      const unknown = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: uniqueEmail(), password: 'wrong-password-1' })
        .expect(401);
      expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
      expect(unknown.body.code).toBe('INVALID_CREDENTIALS');
      expect(unknown.body.detail).toBe(wrong.body.detail);
    });

    it('takes about as long for an unknown email as for a wrong password (a dummy hash is verified)', async () => {
      const user = await registerUser(t);
      const time = async (email: string) => {
        const started = process.hrtime.bigint();
        await t.http().post('/api/v1/auth/login').send({ email, password: 'wrong-password-2' }).expect(401);
        return Number(process.hrtime.bigint() - started) / 1e6;
      };
      const known: number[] = [];
      const unknown: number[] = [];
      for (let i = 0; i < 5; i++) {
        known.push(await time(user.email));
        unknown.push(await time(uniqueEmail('nobody')));
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2];
      // Without the dummy verification an unknown email answers tens of times faster.
      expect(median(unknown) / median(known)).toBeGreaterThan(0.33);
      expect(median(unknown) / median(known)).toBeLessThan(3);
    });

    it('refuses a password over 128 characters before hashing (400)', async () => {
      const res = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: uniqueEmail(), password: 'x'.repeat(129) })
        .expect(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('access tokens', () => {
    it('accepts a valid token and refuses a missing one', async () => {
      const user = await registerUser(t);
      const me = await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
      expect(me.body).toMatchObject({ id: user.id, email: user.email, emailVerified: true });
      const missing = await t.http().get('/api/v1/users/me').expect(401);
      expect(missing.body.code).toBe('UNAUTHENTICATED');
    });

    it('says what is wrong with an Authorization header that is not "Bearer <token>"', async () => {
      const user = await registerUser(t);
      const bare = await t.http().get('/api/v1/users/me').set('Authorization', user.accessToken).expect(401);
      expect(bare.body).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(bare.body.detail).toBe(
        'The Authorization header must be "Bearer <access token or API key>"; this one has no scheme.',
      );
      const basic = await t.http().get('/api/v1/users/me').set('Authorization', 'Basic dXNlcjpwYXNz').expect(401);
      expect(basic.body.detail).toBe(
        'The Authorization header must be "Bearer <access token or API key>"; this one uses the scheme "Basic".',
      );
      expect(JSON.stringify(bare.body)).not.toContain(user.accessToken);
    });

    it('refuses alg=none, a wrong signature, wrong issuer/audience, a wrong typ and an expired token', async () => {
      const user = await registerUser(t);
      const claims = jwt.decode(user.accessToken) as jwt.JwtPayload;
      const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
      const wrongKey = jwt.sign(claims, 'another-secret-another-secret-another-secret', { algorithm: 'HS256' });
      const { iat: _iat, exp: _exp, iss: _iss, aud: _aud, ...body } = claims;
      const sign = (payload: object, options: jwt.SignOptions = {}) =>
        jwt.sign(payload, JWT_SECRET, {
          algorithm: 'HS256',
          issuer: 'quorum',
          audience: 'quorum-api',
          expiresIn: 60,
          ...options,
        });
      const wrongIssuer = sign(body, { issuer: 'evil' });
      const wrongAudience = sign(body, { audience: 'other-api' });
      const wrongTyp = sign({ ...body, typ: 'mfa' });
      const hs512 = sign(body, { algorithm: 'HS512' });
      const expired = jwt.sign({ ...body, exp: Math.floor(Date.now() / 1000) - 60 }, JWT_SECRET, {
        algorithm: 'HS256',
        issuer: 'quorum',
        audience: 'quorum-api',
      });
      for (const token of [none, wrongKey, wrongIssuer, wrongAudience, wrongTyp, hs512, user.refreshToken, 'garbage']) {
        const res = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`).expect(401);
        expect(res.body.code).toBe('INVALID_TOKEN');
      }
      const res = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${expired}`).expect(401);
      expect(res.body.code).toBe('TOKEN_EXPIRED');
      // Control: the same claims signed correctly are accepted.
      await t
        .http()
        .get('/api/v1/users/me')
        .set('Authorization', `Bearer ${sign(body)}`)
        .expect(200);
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates: a new pair, and the old refresh token is dead', async () => {
      const user = await registerUser(t);
      const first = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
      expect(first.body.refreshToken).not.toBe(user.refreshToken);
      await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${first.body.accessToken}`).expect(200);
      const second = await t
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: first.body.refreshToken })
        .expect(200);
      expect(second.body.accessToken).toBeTruthy();
    });

    it('a reused refresh token revokes the whole session (401 TOKEN_REUSED)', async () => {
      const user = await registerUser(t);
      const rotated = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200);
      const reuse = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
      expect(reuse.body.code).toBe('TOKEN_REUSED');
      // Every token of that session is dead now, including the newest pair.
      const me = await t
        .http()
        .get('/api/v1/users/me')
        .set('Authorization', `Bearer ${rotated.body.accessToken}`)
        .expect(401);
      expect(me.body.code).toBe('SESSION_REVOKED');
      const next = await t
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: rotated.body.refreshToken })
        .expect(401);
      expect(next.body.code).toBe('SESSION_REVOKED');
    });

    it('of two concurrent refreshes with the same token at most one succeeds', async () => {
      for (let round = 0; round < 3; round++) {
        const user = await registerUser(t);
        const results = await Promise.all(
          Array.from({ length: 4 }, () =>
            t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }),
          ),
        );
        const ok = results.filter((r) => r.status === 200);
        expect(ok.length).toBeLessThanOrEqual(1);
        for (const r of results.filter((r) => r.status !== 200)) expect(r.status).toBe(401);
        const [{ count }] = await t.app
          .get(DataSource)
          .query('SELECT count(*)::int AS count FROM refresh_tokens WHERE user_id = $1', [user.id]);
        expect(count).toBe(1 + ok.length);
      }
    });

    it('refuses unknown tokens and bad input', async () => {
      const unknown = await t
        .http()
        .post('/api/v1/auth/refresh')
        .send({ refreshToken: 'x'.repeat(43) })
        .expect(401);
      expect(unknown.body.code).toBe('INVALID_REFRESH_TOKEN');
      const none = await t.http().post('/api/v1/auth/refresh').send({}).expect(401);
      expect(none.body.code).toBe('INVALID_REFRESH_TOKEN');
      const bad = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: 42 }).expect(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
    });

    it('an access token is not a refresh token', async () => {
      const user = await registerUser(t);
      const res = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.accessToken }).expect(401);
      expect(res.body.code).toBe('INVALID_REFRESH_TOKEN');
    });
  });

  describe('POST /auth/logout', () => {
    it('revokes the current session at once', async () => {
      const user = await registerUser(t);
      await t.http().post('/api/v1/auth/logout').set(user.auth).expect(204);
      const me = await t.http().get('/api/v1/users/me').set(user.auth).expect(401);
      expect(me.body.code).toBe('SESSION_REVOKED');
      const refresh = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
      expect(refresh.body.code).toBe('SESSION_REVOKED');
      await t.http().post('/api/v1/auth/logout').expect(401);
    });
  });

  describe('roles and account state', () => {
    it('admin routes need the admin role', async () => {
      const user = await registerUser(t);
      const admin = await registerUser(t, { role: 'admin' });
      const denied = await t.http().get('/api/v1/users').set(user.auth).expect(403);
      expect(denied.body.code).toBe('FORBIDDEN');
      const list = await t.http().get('/api/v1/users').set(admin.auth).expect(200);
      expect(list.body.items.length).toBeGreaterThanOrEqual(2);
    });

    it("a deactivated user's tokens stop working at once", async () => {
      const admin = await registerUser(t, { role: 'admin' });
      const user = await registerUser(t);
      await t.http().get('/api/v1/users/me').set(user.auth).expect(200); // fills the state cache
      await t.http().patch(`/api/v1/users/${user.id}`).set(admin.auth).send({ isActive: false }).expect(200);
      const me = await t.http().get('/api/v1/users/me').set(user.auth).expect(403);
      expect(me.body.code).toBe('ACCOUNT_DISABLED');
      const refresh = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(403);
      expect(refresh.body.code).toBe('ACCOUNT_DISABLED');
      const login = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(403);
      expect(login.body.code).toBe('ACCOUNT_DISABLED');
    });

    it('a role change applies to the next request', async () => {
      const admin = await registerUser(t, { role: 'admin' });
      const user = await registerUser(t);
      await t.http().get('/api/v1/users').set(user.auth).expect(403);
      await t.http().patch(`/api/v1/users/${user.id}`).set(admin.auth).send({ role: 'admin' }).expect(200);
      await t.http().get('/api/v1/users').set(user.auth).expect(200);
    });
  });

  describe('cookie mode', () => {
    async function cookieLogin() {
      const user = await registerUser(t);
      const res = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password, cookie: true })
        .expect(200);
      return { user, res, cookies: cookiesOf(res) };
    }

    it('sets httpOnly SameSite=Lax cookies and keeps tokens out of the body', async () => {
      const { res, cookies } = await cookieLogin();
      expect(res.body.accessToken).toBeUndefined();
      expect(res.body.refreshToken).toBeUndefined();
      expect(res.body.tokenType).toBe('Bearer');
      const raw = res.headers['set-cookie'] as unknown as string[];
      expect(raw.find((c) => c.startsWith('access_token='))).toMatch(/HttpOnly/);
      expect(raw.find((c) => c.startsWith('access_token='))).toMatch(/SameSite=Lax/);
      expect(raw.find((c) => c.startsWith('refresh_token='))).toMatch(
        /Path=\/api\/v1\/auth.*HttpOnly|HttpOnly.*Path=\/api\/v1\/auth/,
      );
      expect(raw.find((c) => c.startsWith('csrf_token='))).not.toMatch(/HttpOnly/);
      expect(cookies.access_token).toBeTruthy();
    });

    it('authenticates by cookie; unsafe methods need the CSRF double submit', async () => {
      const { cookies } = await cookieLogin();
      const jar = `access_token=${cookies.access_token}; csrf_token=${cookies.csrf_token}`;
      await t.http().get('/api/v1/users/me').set('Cookie', jar).expect(200);
      const missing = await t.http().patch('/api/v1/users/me').set('Cookie', jar).send({ name: 'x' }).expect(403);
      expect(missing.body.code).toBe('CSRF_TOKEN_INVALID');
      const mismatch = await t
        .http()
        .patch('/api/v1/users/me')
        .set('Cookie', jar)
        .set('X-CSRF-Token', 'not-the-cookie')
        .send({ name: 'x' })
        .expect(403);
      expect(mismatch.body.code).toBe('CSRF_TOKEN_INVALID');
      await t
        .http()
        .patch('/api/v1/users/me')
        .set('Cookie', jar)
        .set('X-CSRF-Token', cookies.csrf_token)
        .send({ name: 'x' })
        .expect(200);
    });

    it('Bearer requests skip CSRF', async () => {
      const user = await registerUser(t);
      await t.http().patch('/api/v1/users/me').set(user.auth).send({ name: 'Bearer' }).expect(200);
    });

    it('refreshes from the cookie (with CSRF) and logs out clearing the cookies', async () => {
      const { cookies } = await cookieLogin();
      const jar = `refresh_token=${cookies.refresh_token}; csrf_token=${cookies.csrf_token}`;
      const noCsrf = await t.http().post('/api/v1/auth/refresh').set('Cookie', jar).send({}).expect(403);
      expect(noCsrf.body.code).toBe('CSRF_TOKEN_INVALID');
      const res = await t
        .http()
        .post('/api/v1/auth/refresh')
        .set('Cookie', jar)
        .set('X-CSRF-Token', cookies.csrf_token)
        .send({})
        .expect(200);
      expect(res.body.refreshToken).toBeUndefined();
      const next = cookiesOf(res);
      expect(next.refresh_token).not.toBe(cookies.refresh_token);
      const access = `access_token=${next.access_token}; csrf_token=${next.csrf_token}`;
      const out = await t
        .http()
        .post('/api/v1/auth/logout')
        .set('Cookie', access)
        .set('X-CSRF-Token', next.csrf_token)
        .expect(204);
      expect((out.headers['set-cookie'] as unknown as string[]).join(';')).toMatch(/access_token=;/);
      await t.http().get('/api/v1/users/me').set('Cookie', access).expect(401);
    });
  });

  it('publishes every auth route in the OpenAPI document', async () => {
    const res = await t.http().get('/api/docs-json').expect(200);
    const paths = Object.keys(res.body.paths);
    for (const path of [
      '/api/v1/auth/register',
      '/api/v1/auth/login',
      '/api/v1/auth/login/2fa',
      '/api/v1/auth/refresh',
      '/api/v1/auth/logout',
      '/api/v1/auth/verify-email',
      '/api/v1/auth/resend-verification',
      '/api/v1/auth/password/forgot',
      '/api/v1/auth/password/reset',
      '/api/v1/auth/password/change',
      '/api/v1/auth/sessions',
      '/api/v1/auth/sessions/{id}',
      '/api/v1/auth/oauth/exchange',
      '/api/v1/auth/oauth/accounts',
      '/api/v1/auth/oauth/accounts/{provider}',
      '/api/v1/two-factor/status',
      '/api/v1/two-factor/setup',
      '/api/v1/two-factor/enable',
      '/api/v1/two-factor/disable',
      '/api/v1/two-factor/backup-codes/regenerate',
      '/oauth/{provider}',
      '/oauth/{provider}/callback',
      '/api/v1/users/me',
      '/api/v1/users',
      '/api/v1/users/{id}',
    ]) {
      expect(paths).toContain(path);
    }
  });

  it('a revocation or deactivation on one API process takes effect on another at once', async () => {
    const other = await createTestApp({ databaseUrl: t.databaseUrl, redisPrefix: t.redisPrefix, env: { JWT_SECRET } });
    try {
      const admin = await registerUser(t, { role: 'admin' });
      const user = await registerUser(t);
      const second = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(200);
      const secondAuth = { Authorization: `Bearer ${second.body.accessToken}` };
      // Both sessions are cached by the other process first.
      await other.http().get('/api/v1/users/me').set(user.auth).expect(200);
      await other.http().get('/api/v1/users/me').set(secondAuth).expect(200);
      await t.http().post('/api/v1/auth/logout').set(user.auth).expect(204);
      await other.http().get('/api/v1/users/me').set(user.auth).expect(401);
      await other.http().get('/api/v1/users/me').set(secondAuth).expect(200);
      await t.http().patch(`/api/v1/users/${user.id}`).set(admin.auth).send({ isActive: false }).expect(200);
      const res = await other.http().get('/api/v1/users/me').set(secondAuth).expect(403);
      expect(res.body.code).toBe('ACCOUNT_DISABLED');
    } finally {
      await other.close();
    }
  });
});
