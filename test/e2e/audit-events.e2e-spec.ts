import { registerUser, RegisteredUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

interface AuditItem {
  action: string;
  actorType: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  data: Record<string, unknown>;
}

/** Each audited action writes exactly one record, readable by its user and nobody else. */
describe('audit events (HTTP)', () => {
  let t: TestApp;
  let user: RegisteredUser;
  let other: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'true' } });
    user = await registerUser(t);
    other = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
  });

  async function events(as: RegisteredUser, query = ''): Promise<AuditItem[]> {
    const res = await t.http().get(`/api/v1/audit-events?limit=100${query}`).set(as.auth).expect(200);
    return res.body.items as AuditItem[];
  }
  const count = (items: AuditItem[], action: string) => items.filter((item) => item.action === action).length;

  it('sign-in failure and success, a webhook created and deleted, a logout: one record each', async () => {
    const before = await events(user);
    const wrong = await t
      .http()
      .post('/api/v1/auth/login')
      .set('User-Agent', 'audit-test/1')
      .send({ email: user.email, password: `${user.password}-not` });
    expect(wrong.status).toBe(401);
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .set('User-Agent', 'audit-test/1')
      .send({ email: user.email, password: user.password })
      .expect(200);
    const session = { Authorization: `Bearer ${login.body.accessToken as string}` };
    const hook = await t
      .http()
      .post('/api/v1/webhooks')
      .set(user.auth)
      .send({ url: 'http://127.0.0.1:9/hook', events: ['*'] })
      .expect(201);
    const hookId = (hook.body.webhook?.id ?? hook.body.id) as string;
    await t.http().delete(`/api/v1/webhooks/${hookId}`).set(user.auth).expect(204);
    await t.http().post('/api/v1/auth/logout').set(session).expect(204);

    const after = await events(user);
    for (const action of ['auth.login_failed', 'auth.login', 'webhook.created', 'webhook.deleted', 'session.revoked'])
      expect([action, count(after, action) - count(before, action)]).toEqual([action, 1]);
    const signedIn = after.find((item) => item.action === 'auth.login' && item.userAgent === 'audit-test/1');
    expect(signedIn).toMatchObject({ actorType: 'user', targetType: 'session', ip: expect.any(String) });
    expect(after.find((item) => item.action === 'webhook.deleted')).toMatchObject({ targetId: hookId });
    // Filters narrow the list to one action.
    const filtered = await events(user, '&action=webhook.created');
    expect(filtered.length).toBeGreaterThan(0);
    expect(filtered.every((item) => item.action === 'webhook.created')).toBe(true);
  });

  it('another user sees none of these records', async () => {
    const theirs = await events(other);
    expect(theirs.some((item) => item.targetId !== null && item.action.startsWith('webhook.'))).toBe(false);
    expect(count(theirs, 'auth.login_failed')).toBe(0);
  });

  it('refuses a malformed filter with 400 and a missing sign-in with 401', async () => {
    const bad = await t.http().get('/api/v1/audit-events?from=yesterday').set(user.auth);
    expect(bad.status).toBe(400);
    await t.http().get('/api/v1/audit-events').expect(401);
  });
});
