import { DataSource } from 'typeorm';
import { registerUser, strongPassword, uniqueEmail } from '../support/auth.js';
import { linkToken, SmtpCapture, startSmtpCapture } from '../support/smtp-capture.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const ADMIN_EMAIL = 'boss@example.test';

describe('auth: email verification, password reset and change, sessions (HTTP)', () => {
  let t: TestApp;
  let smtp: SmtpCapture;
  beforeAll(async () => {
    smtp = await startSmtpCapture();
    t = await createTestApp({
      env: {
        SMTP_URL: smtp.url,
        WEB_APP_URL: 'http://web.test',
        MAIL_FROM: 'Quorum <no-reply@quorum.test>',
        ADMIN_EMAILS: ADMIN_EMAIL,
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  const mailTo = (email: string, subject: RegExp) =>
    smtp.waitFor((m) => m.to.includes(email) && subject.test(m.subject));
  const mailCount = (email: string) => smtp.messages.filter((m) => m.to.includes(email)).length;

  describe('email verification', () => {
    it('register mails a verification link; POST /verify-email verifies once', async () => {
      const email = uniqueEmail();
      await t.http().post('/api/v1/auth/register').send({ email, password: strongPassword() }).expect(201);
      const mail = await mailTo(email, /verify/i);
      expect(mail.from).toBe('no-reply@quorum.test');
      expect(mail.text).toContain('http://web.test/verify-email?token=');
      const token = linkToken(mail, '/verify-email');
      const res = await t.http().post('/api/v1/auth/verify-email').send({ token }).expect(200);
      expect(res.body.user).toMatchObject({ email, emailVerified: true, role: 'user' });
      const again = await t.http().post('/api/v1/auth/verify-email').send({ token }).expect(400);
      expect(again.body.code).toBe('INVALID_TOKEN');
      const [row] = await t.app
        .get(DataSource)
        .query('SELECT token_hash FROM email_tokens WHERE user_id = $1', [res.body.user.id]);
      expect(row.token_hash).not.toBe(token); // stored hashed
    });

    it('an unverified user gets 403 EMAIL_NOT_VERIFIED on guarded routes; verifying lifts it for the same token at once', async () => {
      const email = uniqueEmail();
      const password = strongPassword();
      await t.http().post('/api/v1/auth/register').send({ email, password }).expect(201);
      const login = await t.http().post('/api/v1/auth/login').send({ email, password }).expect(200);
      const auth = { Authorization: `Bearer ${login.body.accessToken}` };
      await t.http().get('/api/v1/users/me').set(auth).expect(200); // fills the guard's state cache
      const denied = await t.http().post('/api/v1/tasks').set(auth).send({}).expect(403);
      expect(denied.body.code).toBe('EMAIL_NOT_VERIFIED');
      const token = linkToken(await mailTo(email, /verify/i), '/verify-email');
      await t.http().post('/api/v1/auth/verify-email').send({ token }).expect(200);
      // Past the guard now: the empty body fails validation instead.
      const next = await t.http().post('/api/v1/tasks').set(auth).send({}).expect(400);
      expect(next.body.code).toBe('VALIDATION_FAILED');
    });

    it('refuses unknown, expired and malformed tokens', async () => {
      const unknown = await t.http().post('/api/v1/auth/verify-email').send({ token: 'nope' }).expect(400);
      expect(unknown.body.code).toBe('INVALID_TOKEN');
      const email = uniqueEmail();
      await t.http().post('/api/v1/auth/register').send({ email, password: strongPassword() }).expect(201);
      const token = linkToken(await mailTo(email, /verify/i), '/verify-email');
      await t.app.get(DataSource).query("UPDATE email_tokens SET expires_at = now() - interval '1 second'");
      const expired = await t.http().post('/api/v1/auth/verify-email').send({ token }).expect(400);
      expect(expired.body.code).toBe('INVALID_TOKEN');
      const bad = await t.http().post('/api/v1/auth/verify-email').send({}).expect(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
    });

    it('resend-verification answers 202 either way and mails only an unverified account; a new link kills the old', async () => {
      const email = uniqueEmail();
      await t.http().post('/api/v1/auth/register').send({ email, password: strongPassword() }).expect(201);
      const first = linkToken(await mailTo(email, /verify/i), '/verify-email');
      await t.http().post('/api/v1/auth/resend-verification').send({ email }).expect(202);
      await smtp.waitFor(() => mailCount(email) === 2);
      const second = linkToken(smtp.messages.filter((m) => m.to.includes(email))[1], '/verify-email');
      expect(second).not.toBe(first);
      await t.http().post('/api/v1/auth/verify-email').send({ token: first }).expect(400);
      await t.http().post('/api/v1/auth/verify-email').send({ token: second }).expect(200);

      const ghost = uniqueEmail('ghost');
      const unknown = await t.http().post('/api/v1/auth/resend-verification').send({ email: ghost }).expect(202);
      const known = await t.http().post('/api/v1/auth/resend-verification').send({ email }).expect(202);
      expect(unknown.body).toEqual(known.body);
      // Give a (wrong) background send time to show up, then check nothing went out.
      await t.http().get('/api/v1/health/live').expect(200);
      expect(mailCount(ghost)).toBe(0);
      expect(mailCount(email)).toBe(2);
    });

    it('an ADMIN_EMAILS address becomes admin only once verified', async () => {
      const password = strongPassword();
      const reg = await t.http().post('/api/v1/auth/register').send({ email: ADMIN_EMAIL, password }).expect(201);
      expect(reg.body.user.role).toBe('user');
      const token = linkToken(await mailTo(ADMIN_EMAIL, /verify/i), '/verify-email');
      const res = await t.http().post('/api/v1/auth/verify-email').send({ token }).expect(200);
      expect(res.body.user.role).toBe('admin');
      const login = await t.http().post('/api/v1/auth/login').send({ email: ADMIN_EMAIL, password }).expect(200);
      await t.http().get('/api/v1/users').set('Authorization', `Bearer ${login.body.accessToken}`).expect(200);
    });
  });

  describe('password reset', () => {
    it('forgot mails a link; reset sets the password once and revokes every session', async () => {
      const user = await registerUser(t);
      await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
      const mail = await mailTo(user.email, /reset/i);
      expect(mail.text).toContain('http://web.test/reset-password?token=');
      const token = linkToken(mail, '/reset-password');
      const weak = await t
        .http()
        .post('/api/v1/auth/password/reset')
        .send({ token, password: 'password1' })
        .expect(400);
      expect(weak.body.code).toBe('PASSWORD_TOO_COMMON');
      const password = strongPassword();
      await t.http().post('/api/v1/auth/password/reset').send({ token, password }).expect(204);
      const replay = await t
        .http()
        .post('/api/v1/auth/password/reset')
        .send({ token, password: strongPassword() })
        .expect(400);
      expect(replay.body.code).toBe('INVALID_TOKEN');
      const me = await t.http().get('/api/v1/users/me').set(user.auth).expect(401);
      expect(me.body.code).toBe('SESSION_REVOKED');
      await t.http().post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(401);
      await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(401);
      await t.http().post('/api/v1/auth/login').send({ email: user.email, password }).expect(200);
      await mailTo(user.email, /password was changed/i);
    });

    it('forgot answers 202 with the same body for an unknown email and mails nothing', async () => {
      const ghost = uniqueEmail('ghost');
      const res = await t.http().post('/api/v1/auth/password/forgot').send({ email: ghost }).expect(202);
      expect(res.body).toEqual({});
      await t.http().get('/api/v1/health/live').expect(200);
      expect(mailCount(ghost)).toBe(0);
    });

    it('refuses a bad token and bad input', async () => {
      const bad = await t
        .http()
        .post('/api/v1/auth/password/reset')
        .send({ token: 'x', password: strongPassword() })
        .expect(400);
      expect(bad.body.code).toBe('INVALID_TOKEN');
      const tooLong = await t
        .http()
        .post('/api/v1/auth/password/reset')
        .send({ token: 'x', password: 'a'.repeat(129) })
        .expect(400);
      expect(tooLong.body.code).toBe('VALIDATION_FAILED');
      const badEmail = await t.http().post('/api/v1/auth/password/forgot').send({ email: 'not-an-email' }).expect(400);
      expect(badEmail.body.code).toBe('VALIDATION_FAILED');
    });
  });

  describe('POST /auth/password/change', () => {
    it('changes the password and revokes the other sessions, keeping this one', async () => {
      const user = await registerUser(t);
      const other = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(200);
      const newPassword = strongPassword();
      await t
        .http()
        .post('/api/v1/auth/password/change')
        .set(user.auth)
        .send({ currentPassword: user.password, newPassword })
        .expect(204);
      await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
      await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${other.body.accessToken}`).expect(401);
      await t.http().post('/api/v1/auth/login').send({ email: user.email, password: newPassword }).expect(200);
      const notice = await mailTo(user.email, /password was changed/i);
      expect(notice.text).not.toContain(newPassword);
    });

    it('needs the right current password, an acceptable new one, and a signed-in user', async () => {
      const user = await registerUser(t);
      const wrong = await t
        .http()
        .post('/api/v1/auth/password/change')
        .set(user.auth)
        .send({ currentPassword: 'not-my-password', newPassword: strongPassword() })
        .expect(401);
      expect(wrong.body.code).toBe('INVALID_CREDENTIALS');
      const common = await t
        .http()
        .post('/api/v1/auth/password/change')
        .set(user.auth)
        .send({ currentPassword: user.password, newPassword: 'Qwerty123' })
        .expect(400);
      expect(common.body.code).toBe('PASSWORD_TOO_COMMON');
      await t
        .http()
        .post('/api/v1/auth/password/change')
        .send({ currentPassword: 'x', newPassword: strongPassword() })
        .expect(401);
    });
  });

  describe('sessions API', () => {
    it('lists the sessions with the current one marked', async () => {
      const user = await registerUser(t);
      await t
        .http()
        .post('/api/v1/auth/login')
        .set('User-Agent', 'second-device/1.0')
        .send({ email: user.email, password: user.password })
        .expect(200);
      const res = await t.http().get('/api/v1/auth/sessions').set(user.auth).expect(200);
      expect(res.body.items).toHaveLength(2);
      expect(res.body.items.filter((s: { current: boolean }) => s.current)).toHaveLength(1);
      expect(res.body.items.map((s: { userAgent: string }) => s.userAgent)).toContain('second-device/1.0');
      expect(res.body.items[0]).toEqual(
        expect.objectContaining({
          id: expect.any(String),
          ip: expect.any(String),
          createdAt: expect.any(String),
          lastUsedAt: expect.any(String),
        }),
      );
      await t.http().get('/api/v1/auth/sessions').expect(401);
    });

    it("revokes one session; another user's session id is 404", async () => {
      const user = await registerUser(t);
      const stranger = await registerUser(t);
      const second = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: user.email, password: user.password })
        .expect(200);
      const list = await t.http().get('/api/v1/auth/sessions').set(user.auth).expect(200);
      const target = list.body.items.find((s: { current: boolean }) => !s.current).id;
      const strangerList = await t.http().get('/api/v1/auth/sessions').set(stranger.auth).expect(200);
      const foreign = await t.http().delete(`/api/v1/auth/sessions/${target}`).set(stranger.auth).expect(404);
      expect(foreign.body.code).toBe('SESSION_NOT_FOUND');
      await t.http().delete(`/api/v1/auth/sessions/${strangerList.body.items[0].id}`).set(user.auth).expect(404);
      await t.http().delete('/api/v1/auth/sessions/not-a-uuid').set(user.auth).expect(404);
      await t.http().delete(`/api/v1/auth/sessions/${target}`).set(user.auth).expect(204);
      await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${second.body.accessToken}`).expect(401);
      await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
      await t.http().get('/api/v1/users/me').set(stranger.auth).expect(200);
      await t.http().delete(`/api/v1/auth/sessions/${target}`).set(user.auth).expect(404);
    });

    it('DELETE /sessions revokes all but the current one', async () => {
      const user = await registerUser(t);
      const others = await Promise.all(
        [1, 2].map(() => t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password })),
      );
      await t.http().delete('/api/v1/auth/sessions').set(user.auth).expect(204);
      for (const other of others) {
        await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${other.body.accessToken}`).expect(401);
      }
      const list = await t.http().get('/api/v1/auth/sessions').set(user.auth).expect(200);
      expect(list.body.items).toHaveLength(1);
      expect(list.body.items[0].current).toBe(true);
    });
  });
});
