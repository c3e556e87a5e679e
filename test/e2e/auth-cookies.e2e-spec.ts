import { DataSource } from 'typeorm';
import { registerUser, type RegisteredUser } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

function cookiesOf(res: { headers: Record<string, unknown> }): Record<string, string> {
  const raw = (res.headers['set-cookie'] as string[] | undefined) ?? [];
  return Object.fromEntries(raw.map((c) => c.split(';')[0].split('=')).map(([k, ...v]) => [k, v.join('=')]));
}

function setCookieLines(res: { headers: Record<string, unknown> }): string[] {
  return (res.headers['set-cookie'] as string[] | undefined) ?? [];
}

describe('cookie mode across origins: CSRF bound to the session, cookie settings (HTTP)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  async function cookieLogin(user?: RegisteredUser) {
    const who = user ?? (await registerUser(t));
    const res = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: who.email, password: who.password, cookie: true })
      .expect(200);
    return { user: who, body: res.body as { csrfToken: string; accessToken?: string }, cookies: cookiesOf(res) };
  }

  it('answers the CSRF token in the body of a cookie login (the cookie holds the same value), not of a Bearer one', async () => {
    const { body, cookies } = await cookieLogin();
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookies.csrf_token).toBe(body.csrfToken);
    expect(body.accessToken).toBeUndefined();
    const user = await registerUser(t);
    const bearer = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password })
      .expect(200);
    expect(bearer.body.csrfToken).toBeUndefined();
  });

  it('takes an unsafe request with the header from the body alone, as an app on another origin sends it', async () => {
    const { body, cookies } = await cookieLogin();
    // The app's origin cannot read the API host's csrf_token cookie: only access_token travels.
    const jar = `access_token=${cookies.access_token}`;
    const refused = await t.http().patch('/api/v1/users/me').set('Cookie', jar).send({ name: 'No header' }).expect(403);
    expect(refused.body.code).toBe('CSRF_TOKEN_INVALID');
    const ok = await t
      .http()
      .patch('/api/v1/users/me')
      .set('Cookie', jar)
      .set('X-CSRF-Token', body.csrfToken)
      .send({ name: 'From the app' })
      .expect(200);
    expect(ok.body.name).toBe('From the app');
  });

  it('refuses a CSRF token planted as a cookie (a plain double submit would take it) and changes nothing', async () => {
    const { user, cookies } = await cookieLogin();
    const planted = 'attacker-chosen-token';
    const res = await t
      .http()
      .patch('/api/v1/users/me')
      .set('Cookie', `access_token=${cookies.access_token}; csrf_token=${planted}`)
      .set('X-CSRF-Token', planted)
      .send({ name: 'Forged' })
      .expect(403);
    expect(res.body.code).toBe('CSRF_TOKEN_INVALID');
    const [row] = await t.app
      .get(DataSource)
      .query<{ name: string | null }[]>('SELECT name FROM users WHERE id = $1', [user.id]);
    expect(row.name).not.toBe('Forged');
  });

  it("refuses another session's CSRF token, even the same user's", async () => {
    const first = await cookieLogin();
    const second = await cookieLogin(first.user);
    expect(second.body.csrfToken).not.toBe(first.body.csrfToken);
    const other = await cookieLogin();
    for (const token of [second.body.csrfToken, other.body.csrfToken]) {
      const res = await t
        .http()
        .post('/api/v1/tasks')
        .set('Cookie', `access_token=${first.cookies.access_token}`)
        .set('X-CSRF-Token', token)
        .send({ title: 'Forged', description: 'Should not exist', language: 'javascript' })
        .expect(403);
      expect(res.body.code).toBe('CSRF_TOKEN_INVALID');
    }
    const tasks = await t
      .http()
      .get('/api/v1/tasks')
      .set('Cookie', `access_token=${first.cookies.access_token}`)
      .expect(200);
    expect(tasks.body.items).toEqual([]);
  });

  it("GET /auth/csrf answers the session's token (for an app that reloads); signed out it is 401", async () => {
    const { body, cookies } = await cookieLogin();
    const res = await t
      .http()
      .get('/api/v1/auth/csrf')
      .set('Cookie', `access_token=${cookies.access_token}`)
      .expect(200);
    expect(res.body).toEqual({ csrfToken: body.csrfToken });
    expect(cookiesOf(res).csrf_token).toBe(body.csrfToken);
    const anonymous = await t.http().get('/api/v1/auth/csrf').expect(401);
    expect(anonymous.body.code).toBe('UNAUTHENTICATED');
  });

  it('refreshes from the cookie with the header from the body, answers the token again, and refuses without it', async () => {
    const { body, cookies } = await cookieLogin();
    const jar = `refresh_token=${cookies.refresh_token}`;
    const refused = await t.http().post('/api/v1/auth/refresh').set('Cookie', jar).send({}).expect(403);
    expect(refused.body.code).toBe('CSRF_TOKEN_INVALID');
    const forged = await t
      .http()
      .post('/api/v1/auth/refresh')
      .set('Cookie', `${jar}; csrf_token=planted`)
      .set('X-CSRF-Token', 'planted')
      .send({})
      .expect(403);
    expect(forged.body.code).toBe('CSRF_TOKEN_INVALID');
    const res = await t
      .http()
      .post('/api/v1/auth/refresh')
      .set('Cookie', jar)
      .set('X-CSRF-Token', body.csrfToken)
      .send({})
      .expect(200);
    expect(res.body.csrfToken).toBe(body.csrfToken);
    expect(res.body.refreshToken).toBeUndefined();
    const next = cookiesOf(res);
    expect(next.refresh_token).not.toBe(cookies.refresh_token);
    const unknown = await t
      .http()
      .post('/api/v1/auth/refresh')
      .set('Cookie', 'refresh_token=never-issued')
      .set('X-CSRF-Token', body.csrfToken)
      .send({})
      .expect(401);
    expect(unknown.body.code).toBe('INVALID_REFRESH_TOKEN');
    await t
      .http()
      .post('/api/v1/auth/logout')
      .set('Cookie', `access_token=${next.access_token}`)
      .set('X-CSRF-Token', body.csrfToken)
      .expect(204);
  });

  it('sets SameSite=Lax host-only cookies by default, without Secure outside production', async () => {
    const res = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ ...(await credentials()), cookie: true })
      .expect(200);
    for (const line of setCookieLines(res)) {
      expect(line).toMatch(/SameSite=Lax/);
      expect(line).not.toMatch(/Domain=/);
      expect(line).not.toMatch(/Secure/);
    }
  });

  async function credentials() {
    const user = await registerUser(t);
    return { email: user.email, password: user.password };
  }
});

describe('cookie settings from COOKIE_DOMAIN and COOKIE_SAMESITE (HTTP)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ env: { COOKIE_DOMAIN: '.Example.test', COOKIE_SAMESITE: 'none' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('gives every cookie the Domain, SameSite=None and Secure (which None requires), and clears them the same way', async () => {
    const user = await registerUser(t);
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password, cookie: true })
      .expect(200);
    const lines = setCookieLines(login);
    expect(lines).toHaveLength(3);
    for (const line of lines) {
      expect(line).toMatch(/Domain=example\.test/);
      expect(line).toMatch(/SameSite=None/);
      expect(line).toMatch(/Secure/);
    }
    const cookies = cookiesOf(login);
    const out = await t
      .http()
      .post('/api/v1/auth/logout')
      .set('Cookie', `access_token=${cookies.access_token}`)
      .set('X-CSRF-Token', login.body.csrfToken as string)
      .expect(204);
    const cleared = setCookieLines(out);
    expect(cleared).toHaveLength(3);
    for (const line of cleared)
      expect(line).toMatch(
        /Domain=example\.test.*Expires=Thu, 01 Jan 1970|Expires=Thu, 01 Jan 1970.*Domain=example\.test/,
      );
  });
});

describe('JSON routes take JSON only (HTTP)', () => {
  let t: TestApp;
  let user: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp();
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it('refuses an HTML form post with 415 UNSUPPORTED_MEDIA_TYPE and creates nothing', async () => {
    const res = await t
      .http()
      .post('/api/v1/tasks')
      .set(user.auth)
      .type('form')
      .send('title=From+a+form&description=Cross-site&language=javascript')
      .expect(415);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({ status: 415, code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(res.body.detail).toContain('send application/json');
    expect(res.body.detail).toContain('application/x-www-form-urlencoded');
    const tasks = await t.http().get('/api/v1/tasks').set(user.auth).expect(200);
    expect(tasks.body.items).toEqual([]);
  });

  it('refuses text, multipart and undeclared bodies on public routes too, naming the fix', async () => {
    const text = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', 'text/plain')
      .send(JSON.stringify({ email: user.email, password: user.password }))
      .expect(415);
    expect(text.body.detail).toBe('This route takes JSON, not text/plain: send application/json.');
    const multipart = await t.http().post('/api/v1/auth/register').field('email', 'x@example.test').expect(415);
    expect(multipart.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const undeclared = await t
      .http()
      .post('/api/v1/auth/login')
      .set('Content-Type', '')
      .send(Buffer.from('{"email":"a@b.c"}'))
      .expect(415);
    expect(undeclared.body.detail).toBe('The body has no Content-Type: send application/json.');
  });

  it('takes JSON with a charset or a +json type, and bodiless unsafe requests', async () => {
    await t
      .http()
      .patch('/api/v1/users/me')
      .set(user.auth)
      .set('Content-Type', 'application/json; charset=utf-8')
      .send(JSON.stringify({ name: 'Charset' }))
      .expect(200);
    await t
      .http()
      .patch('/api/v1/users/me')
      .set(user.auth)
      .set('Content-Type', 'application/merge-patch+json')
      .send(JSON.stringify({ name: 'Merge' }))
      .expect(200);
    await t.http().delete('/api/v1/auth/sessions').set(user.auth).expect(204);
  });
});
