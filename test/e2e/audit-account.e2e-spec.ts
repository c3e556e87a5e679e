import { Secret, TOTP } from 'otpauth';
import { registerUser, RegisteredUser, strongPassword } from '../support/auth.js';
import { linkToken, SmtpCapture, startSmtpCapture } from '../support/smtp-capture.js';
import { createTestApp, TestApp } from '../support/test-app.js';

interface AuditItem {
  id: string;
  action: string;
  actorType: string;
  actorId: string | null;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  data: Record<string, unknown>;
}

const UA = 'audit-account-test/1';

/**
 * Account actions each write exactly one audit record, which the account's user sees (and an admin),
 * and another user does not: 2FA on and off, password change and reset, API key created and revoked,
 * the personal budget changed, a token refresh (and a reused refresh token), deleting the account.
 */
describe('audit events of account actions (HTTP)', () => {
  let t: TestApp;
  let smtp: SmtpCapture;
  let other: RegisteredUser;
  let admin: RegisteredUser;

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    t = await createTestApp({ env: { SMTP_URL: smtp.url, WEB_APP_URL: 'http://web.test' } });
    [other, admin] = await Promise.all([registerUser(t), registerUser(t, { role: 'admin' })]);
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  async function events(auth: Record<string, string>, query = ''): Promise<AuditItem[]> {
    const res = await t.http().get(`/api/v1/audit-events?limit=100${query}`).set(auth).expect(200);
    return res.body.items as AuditItem[];
  }

  /**
   * Runs `act` and expects exactly one new `action` record on the user's trail (returned), with the
   * request's client; another user's trail gains nothing about this user.
   */
  async function expectOneRecord(
    user: RegisteredUser,
    action: string,
    act: () => Promise<unknown>,
    auth: () => Record<string, string> = () => user.auth,
  ): Promise<AuditItem> {
    const before = new Set((await events(auth(), `&action=${action}`)).map((item) => item.id));
    await act();
    const added = (await events(auth(), `&action=${action}`)).filter((item) => !before.has(item.id));
    expect([action, added.length]).toEqual([action, 1]);
    const theirs = await events(other.auth, `&action=${action}`);
    expect(theirs.filter((item) => item.targetId === user.id || item.actorId === user.id)).toEqual([]);
    return added[0];
  }

  it('2FA enabled and disabled', async () => {
    const user = await registerUser(t);
    let secret = '';
    const enabled = await expectOneRecord(user, 'two_factor.enabled', async () => {
      const setup = await t.http().post('/api/v1/two-factor/setup').set(user.auth).expect(200);
      secret = setup.body.secret as string;
      const code = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 }).generate();
      await t.http().post('/api/v1/two-factor/enable').set(user.auth).set('User-Agent', UA).send({ code }).expect(200);
    });
    expect(enabled).toMatchObject({ actorType: 'user', actorId: user.id, targetId: user.id, userAgent: UA });
    // A refused attempt to turn it off is no record.
    await t.http().post('/api/v1/two-factor/disable').set(user.auth).send({ password: 'wrong-password' }).expect(401);
    const disabled = await expectOneRecord(user, 'two_factor.disabled', () =>
      t.http().post('/api/v1/two-factor/disable').set(user.auth).send({ password: user.password }).expect(204),
    );
    expect(disabled).toMatchObject({ actorId: user.id, targetId: user.id });
  });

  it('password changed, and reset by the mailed link', async () => {
    const user = await registerUser(t);
    const password = strongPassword();
    await t
      .http()
      .post('/api/v1/auth/password/change')
      .set(user.auth)
      .send({ currentPassword: 'not-the-password', newPassword: password })
      .expect(401);
    const changed = await expectOneRecord(user, 'auth.password_changed', () =>
      t
        .http()
        .post('/api/v1/auth/password/change')
        .set(user.auth)
        .set('User-Agent', UA)
        .send({ currentPassword: user.password, newPassword: password })
        .expect(204),
    );
    expect(changed).toMatchObject({ actorId: user.id, targetId: user.id, userAgent: UA, ip: expect.any(String) });

    // The reset ends every session: the trail is read with a fresh sign-in afterwards.
    let session: Record<string, string> = user.auth;
    const newPassword = strongPassword();
    const reset = await expectOneRecord(
      user,
      'auth.password_reset',
      async () => {
        await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
        const mail = await smtp.waitFor((m) => m.to.includes(user.email) && /reset/i.test(m.subject));
        const token = linkToken(mail, '/reset-password');
        await t
          .http()
          .post('/api/v1/auth/password/reset')
          .set('User-Agent', UA)
          .send({ token, password: newPassword })
          .expect(204);
        const login = await t
          .http()
          .post('/api/v1/auth/login')
          .send({ email: user.email, password: newPassword })
          .expect(200);
        session = { Authorization: `Bearer ${login.body.accessToken as string}` };
      },
      () => session,
    );
    expect(reset).toMatchObject({ actorId: user.id, targetId: user.id, userAgent: UA });
  });

  it('API key created and revoked, with the key as target', async () => {
    const user = await registerUser(t);
    let keyId = '';
    const created = await expectOneRecord(user, 'api_key.created', async () => {
      const res = await t
        .http()
        .post('/api/v1/api-keys')
        .set(user.auth)
        .send({ name: 'ci', scopes: ['tasks:read'] })
        .expect(201);
      keyId = res.body.apiKey.id as string;
    });
    expect(created).toMatchObject({ actorId: user.id, targetType: 'api_key', targetId: keyId });
    // Someone else cannot revoke it, and that writes nothing.
    await t.http().delete(`/api/v1/api-keys/${keyId}`).set(other.auth).expect(404);
    const revoked = await expectOneRecord(user, 'api_key.revoked', () =>
      t.http().delete(`/api/v1/api-keys/${keyId}`).set(user.auth).expect(204),
    );
    expect(revoked).toMatchObject({ actorId: user.id, targetType: 'api_key', targetId: keyId });
  });

  it('personal budget changed, with before and after', async () => {
    const user = await registerUser(t);
    await t.http().put('/api/v1/metrics/budget').set(user.auth).send({ monthlyLimitUsd: -5 }).expect(400);
    const changed = await expectOneRecord(user, 'budget.changed', () =>
      t.http().put('/api/v1/metrics/budget').set(user.auth).send({ monthlyLimitUsd: '12.5' }).expect(200),
    );
    expect(changed).toMatchObject({
      actorId: user.id,
      targetType: 'user_budget',
      targetId: user.id,
      data: { before: { monthlyLimitUsd: null }, after: { monthlyLimitUsd: '12.50000000' } },
    });
  });

  it('a token refresh; a reused refresh token ends the session on the record', async () => {
    const user = await registerUser(t);
    let next = '';
    const refreshed = await expectOneRecord(user, 'session.refreshed', async () => {
      const res = await t
        .http()
        .post('/api/v1/auth/refresh')
        .set('User-Agent', UA)
        .send({ refreshToken: user.refreshToken })
        .expect(200);
      next = res.body.refreshToken as string;
    });
    expect(refreshed).toMatchObject({ actorType: 'user', actorId: user.id, targetType: 'session', userAgent: UA });
    // An unknown token is no record of anyone's.
    await t.http().post('/api/v1/auth/refresh').send({ refreshToken: 'not-a-token' }).expect(401);

    // The spent token comes back: the session ends, recorded as the system's act on this account.
    const fresh = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password })
      .expect(200);
    const reader = { Authorization: `Bearer ${fresh.body.accessToken as string}` };
    const revoked = await expectOneRecord(
      user,
      'session.revoked',
      async () => {
        const reused = await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken });
        expect([reused.status, reused.body.code]).toEqual([401, 'TOKEN_REUSED']);
      },
      () => reader,
    );
    expect(revoked).toMatchObject({
      actorType: 'system',
      actorId: null,
      targetType: 'session',
      targetId: refreshed.targetId,
      data: { reason: 'token_reused' },
    });
    // The refresh that was spent is no use now either: its session has ended.
    await t.http().post('/api/v1/auth/refresh').send({ refreshToken: next }).expect(401);
  });

  it('deleting the account: one record that outlives the account, for admins', async () => {
    const user = await registerUser(t);
    const before = (await events(admin.auth, '&action=user.deleted')).length;
    await t.http().delete('/api/v1/users/me').set(user.auth).send({ password: 'wrong-password' }).expect(401);
    expect(await events(admin.auth, '&action=user.deleted')).toHaveLength(before);
    await t
      .http()
      .delete('/api/v1/users/me')
      .set(user.auth)
      .set('User-Agent', UA)
      .send({ password: user.password })
      .expect(204);
    const after = await events(admin.auth, '&action=user.deleted');
    expect(after).toHaveLength(before + 1);
    expect(after.filter((item) => item.targetId === user.id)).toEqual([
      expect.objectContaining({ actorType: 'user', actorId: user.id, targetType: 'user', userAgent: UA }),
    ]);
    expect((await events(other.auth, '&action=user.deleted')).filter((item) => item.targetId === user.id)).toEqual([]);
  });
});
