import { Secret, TOTP } from 'otpauth';
import { registerUser, RegisteredUser, strongPassword, uniqueEmail } from '../support/auth.js';
import { linkToken, SmtpCapture, startSmtpCapture } from '../support/smtp-capture.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/** Codes from an independent implementation; `steps` ahead of now (the server allows ±1 step). */
function codeFor(secret: string, steps = 0): string {
  const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
  return totp.generate({ timestamp: Date.now() + steps * 30_000 });
}

async function enableTwoFactor(t: TestApp, user: RegisteredUser): Promise<{ secret: string; backupCodes: string[] }> {
  const setup = await t.http().post('/api/v1/two-factor/setup').set(user.auth).expect(200);
  const enabled = await t
    .http()
    .post('/api/v1/two-factor/enable')
    .set(user.auth)
    .send({ code: codeFor(setup.body.secret) })
    .expect(200);
  return { secret: setup.body.secret, backupCodes: enabled.body.backupCodes };
}

async function mfaToken(t: TestApp, user: RegisteredUser): Promise<string> {
  const res = await t
    .http()
    .post('/api/v1/auth/login')
    .send({ email: user.email, password: user.password })
    .expect(200);
  expect(res.body).toEqual({ mfaRequired: true, mfaToken: expect.any(String) });
  return res.body.mfaToken;
}

describe('two-factor authentication (HTTP)', () => {
  let t: TestApp;
  let smtp: SmtpCapture;
  beforeAll(async () => {
    smtp = await startSmtpCapture();
    t = await createTestApp({ env: { SMTP_URL: smtp.url, WEB_APP_URL: 'http://web.test' } });
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
  });

  it('setup returns a secret, an otpauth URL and a QR code; enable needs a valid code and returns 10 backup codes once', async () => {
    const user = await registerUser(t);
    await t
      .http()
      .get('/api/v1/two-factor/status')
      .set(user.auth)
      .expect(200, { enabled: false, backupCodesRemaining: 0 });
    const early = await t.http().post('/api/v1/two-factor/enable').set(user.auth).send({ code: '123456' }).expect(409);
    expect(early.body.code).toBe('TWO_FACTOR_NOT_SET_UP');
    const setup = await t.http().post('/api/v1/two-factor/setup').set(user.auth).expect(200);
    expect(setup.body.secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(setup.body.otpauthUrl).toMatch(/^otpauth:\/\/totp\/Quorum:/);
    expect(new URL(setup.body.otpauthUrl).searchParams.get('secret')).toBe(setup.body.secret);
    expect(setup.body.qrCodeDataUrl).toMatch(/^data:image\/png;base64,/);

    const malformed = await t
      .http()
      .post('/api/v1/two-factor/enable')
      .set(user.auth)
      .send({ code: '12ab56' })
      .expect(400);
    expect(malformed.body.code).toBe('VALIDATION_FAILED');
    const wrongCode = String((Number(codeFor(setup.body.secret)) + 1) % 1_000_000).padStart(6, '0');
    const wrong = await t.http().post('/api/v1/two-factor/enable').set(user.auth).send({ code: wrongCode }).expect(401);
    expect(wrong.body.code).toBe('INVALID_2FA_CODE');

    const enabled = await t
      .http()
      .post('/api/v1/two-factor/enable')
      .set(user.auth)
      .send({ code: codeFor(setup.body.secret) })
      .expect(200);
    expect(enabled.body.backupCodes).toHaveLength(10);
    expect(new Set(enabled.body.backupCodes).size).toBe(10);
    await t
      .http()
      .get('/api/v1/two-factor/status')
      .set(user.auth)
      .expect(200, { enabled: true, backupCodesRemaining: 10 });
    const again = await t.http().post('/api/v1/two-factor/setup').set(user.auth).expect(409);
    expect(again.body.code).toBe('TWO_FACTOR_ALREADY_ENABLED');
    const me = await t.http().get('/api/v1/users/me').set(user.auth).expect(200);
    expect(me.body.twoFactorEnabled).toBe(true);
    await t.http().get('/api/v1/two-factor/status').expect(401);
  });

  it('sign-in is two steps; a TOTP code works once (replay → 401)', async () => {
    const user = await registerUser(t);
    const { secret } = await enableTwoFactor(t, user);
    const token = await mfaToken(t, user);
    const code = codeFor(secret, 1);
    const res = await t.http().post('/api/v1/auth/login/2fa').send({ mfaToken: token, code }).expect(200);
    expect(res.body).toMatchObject({
      tokenType: 'Bearer',
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
    });
    await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${res.body.accessToken}`).expect(200);

    const replay = await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: await mfaToken(t, user), code })
      .expect(401);
    expect(replay.body.code).toBe('INVALID_2FA_CODE');
  });

  it('the same code presented twice at once is accepted at most once', async () => {
    const user = await registerUser(t);
    const { secret } = await enableTwoFactor(t, user);
    const tokens = [await mfaToken(t, user), await mfaToken(t, user), await mfaToken(t, user)];
    const code = codeFor(secret, 1);
    const results = await Promise.all(
      tokens.map((mfa) => t.http().post('/api/v1/auth/login/2fa').send({ mfaToken: mfa, code })),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 401)).toHaveLength(2);
  });

  it('a backup code works once; the mfaToken opens one session only', async () => {
    const user = await registerUser(t);
    const { backupCodes } = await enableTwoFactor(t, user);
    const token = await mfaToken(t, user);
    await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: token, backupCode: backupCodes[0].toUpperCase() })
      .expect(200);
    const reusedToken = await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: token, backupCode: backupCodes[1] })
      .expect(401);
    expect(reusedToken.body.code).toBe('INVALID_MFA_TOKEN');
    const reusedCode = await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: await mfaToken(t, user), backupCode: backupCodes[0] })
      .expect(401);
    expect(reusedCode.body.code).toBe('INVALID_2FA_CODE');
    await t
      .http()
      .get('/api/v1/two-factor/status')
      .set(user.auth)
      .expect(200, { enabled: true, backupCodesRemaining: 9 });
  });

  it('token kinds do not mix: an access token is no mfaToken and an mfaToken is no access token', async () => {
    const user = await registerUser(t);
    const { secret } = await enableTwoFactor(t, user);
    const asMfa = await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: user.accessToken, code: codeFor(secret, 1) })
      .expect(401);
    expect(asMfa.body.code).toBe('INVALID_MFA_TOKEN');
    const token = await mfaToken(t, user);
    const asAccess = await t.http().get('/api/v1/users/me').set('Authorization', `Bearer ${token}`).expect(401);
    expect(asAccess.body.code).toBe('INVALID_TOKEN');
    const none = await t.http().post('/api/v1/auth/login/2fa').send({ mfaToken: token }).expect(400);
    expect(none.body.code).toBe('VALIDATION_FAILED');
    const extra = await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: token, code: '123456', role: 'admin' })
      .expect(400);
    expect(extra.body.code).toBe('VALIDATION_FAILED');
  });

  it('repeated wrong codes lock the account: then even a right code gets the same 429', async () => {
    const user = await registerUser(t);
    const { backupCodes } = await enableTwoFactor(t, user);
    const token = await mfaToken(t, user);
    for (let i = 0; i < 5; i++) {
      const res = await t.http().post('/api/v1/auth/login/2fa').send({ mfaToken: token, code: '000000' });
      expect(res.status).toBe(401);
    }
    const wrong = await t.http().post('/api/v1/auth/login/2fa').send({ mfaToken: token, code: '000000' }).expect(429);
    const right = await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: token, backupCode: backupCodes[0] })
      .expect(429);
    expect(wrong.body.code).toBe('RATE_LIMITED');
    expect(right.body.code).toBe(wrong.body.code);
    expect(right.body.detail).toBe(wrong.body.detail);
    expect(Number(right.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('30 wrong codes sent at once: at most the limit (5) are checked, every other one gets 429', async () => {
    const user = await registerUser(t);
    const { secret } = await enableTwoFactor(t, user);
    const token = await mfaToken(t, user);
    const right = codeFor(secret);
    const wrong = right === '000000' ? '111111' : '000000';
    const answers = await Promise.all(
      Array.from({ length: 30 }, () => t.http().post('/api/v1/auth/login/2fa').send({ mfaToken: token, code: wrong })),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(25);
    // The account is locked now: the right code gets the same 429.
    await t.http().post('/api/v1/auth/login/2fa').send({ mfaToken: token, code: right }).expect(429);
  });

  it('30 wrong passwords sent at once: at most the account limit (10) are checked', async () => {
    const user = await registerUser(t);
    const answers = await Promise.all(
      Array.from({ length: 30 }, () =>
        t.http().post('/api/v1/auth/login').send({ email: user.email, password: 'wrong-password' }),
      ),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((status) => status !== 401 && status !== 429)).toEqual([]);
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(10);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(20);
    await t.http().post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(429);
  });

  it('regenerating backup codes needs a current code and kills the old ones', async () => {
    const user = await registerUser(t);
    const { secret, backupCodes } = await enableTwoFactor(t, user);
    const wrong = await t
      .http()
      .post('/api/v1/two-factor/backup-codes/regenerate')
      .set(user.auth)
      .send({ code: '000000' })
      .expect(401);
    expect(wrong.body.code).toBe('INVALID_2FA_CODE');
    const res = await t
      .http()
      .post('/api/v1/two-factor/backup-codes/regenerate')
      .set(user.auth)
      .send({ code: codeFor(secret, 1) })
      .expect(200);
    expect(res.body.backupCodes).toHaveLength(10);
    await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: await mfaToken(t, user), backupCode: backupCodes[0] })
      .expect(401);
    await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: await mfaToken(t, user), backupCode: res.body.backupCodes[0] })
      .expect(200);
  });

  it('disabling needs a current code or the password', async () => {
    const user = await registerUser(t);
    const { backupCodes } = await enableTwoFactor(t, user);
    const empty = await t.http().post('/api/v1/two-factor/disable').set(user.auth).send({}).expect(400);
    expect(empty.body.code).toBe('VALIDATION_FAILED');
    await t.http().post('/api/v1/two-factor/disable').set(user.auth).send({ password: 'not-the-password' }).expect(401);
    await t.http().post('/api/v1/two-factor/disable').set(user.auth).send({ code: '000000' }).expect(401);
    await t.http().post('/api/v1/two-factor/disable').set(user.auth).send({ code: backupCodes[0] }).expect(204);
    await t
      .http()
      .get('/api/v1/two-factor/status')
      .set(user.auth)
      .expect(200, { enabled: false, backupCodesRemaining: 0 });
    await smtp.waitFor((m) => m.to.includes(user.email) && /two-factor/i.test(m.subject));
    const login = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password })
      .expect(200);
    expect(login.body.accessToken).toBeTruthy();
    const notOn = await t
      .http()
      .post('/api/v1/two-factor/disable')
      .set(user.auth)
      .send({ password: user.password })
      .expect(409);
    expect(notOn.body.code).toBe('TWO_FACTOR_NOT_ENABLED');

    const other = await registerUser(t);
    await enableTwoFactor(t, other);
    await t.http().post('/api/v1/two-factor/disable').set(other.auth).send({ password: other.password }).expect(204);
  });

  it('a password reset does not switch 2FA off', async () => {
    const user = await registerUser(t);
    await enableTwoFactor(t, user);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: user.email }).expect(202);
    const token = linkToken(
      await smtp.waitFor((m) => m.to.includes(user.email) && /reset/i.test(m.subject)),
      '/reset-password',
    );
    const password = strongPassword();
    await t.http().post('/api/v1/auth/password/reset').send({ token, password }).expect(204);
    const login = await t.http().post('/api/v1/auth/login').send({ email: user.email, password }).expect(200);
    expect(login.body.mfaRequired).toBe(true);
    expect(login.body.accessToken).toBeUndefined();
  });
});

describe('password lockout (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '12' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('locks an account after repeated wrong passwords, with the same 429 for right and wrong passwords and for unknown emails', async () => {
    const user = await registerUser(t);
    for (let i = 0; i < 3; i++) {
      await t.http().post('/api/v1/auth/login').send({ email: user.email, password: 'wrong-password' }).expect(401);
    }
    const wrong = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: 'wrong-password' })
      .expect(429);
    const right = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: user.email, password: user.password })
      .expect(429);
    expect(right.body.code).toBe('RATE_LIMITED');
    expect(right.body.detail).toBe(wrong.body.detail);
    expect(right.headers['retry-after']).toBeDefined();

    const ghost = uniqueEmail('ghost');
    for (let i = 0; i < 3; i++) {
      await t.http().post('/api/v1/auth/login').send({ email: ghost, password: 'wrong-password' }).expect(401);
    }
    const unknown = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: ghost, password: 'wrong-password' })
      .expect(429);
    expect(unknown.body.detail).toBe(right.body.detail);
  });

  it('locks an IP after repeated failures across accounts', async () => {
    // 6 failures so far from this IP (previous test); 6 more on fresh emails reach the limit of 12.
    for (let i = 0; i < 6; i++) {
      await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: uniqueEmail('spray'), password: 'wrong-password' })
        .expect(401);
    }
    const res = await t
      .http()
      .post('/api/v1/auth/login')
      .send({ email: uniqueEmail('spray'), password: 'wrong-password' })
      .expect(429);
    expect(res.body.code).toBe('RATE_LIMITED');
  });
});

describe('2FA lockout per IP (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { LOGIN_MAX_FAILURES_PER_IP: '12' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('locks an IP after repeated wrong 2FA codes across accounts', async () => {
    // Failures per account stay under MFA_MAX_FAILURES (5); the IP reaches its limit (12).
    const users = [await registerUser(t), await registerUser(t), await registerUser(t), await registerUser(t)];
    for (const user of users) await enableTwoFactor(t, user);
    for (const user of users.slice(0, 3)) {
      const token = await mfaToken(t, user);
      for (let i = 0; i < 4; i++)
        await t.http().post('/api/v1/auth/login/2fa').send({ mfaToken: token, code: '000000' }).expect(401);
    }
    const last = users[3];
    const res = await t
      .http()
      .post('/api/v1/auth/login/2fa')
      .send({ mfaToken: await mfaToken(t, last), code: '000000' })
      .expect(429);
    expect(res.body.code).toBe('RATE_LIMITED');
  });
});

describe('rate limits on sign-in routes (HTTP)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'true' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('login allows 10 requests a minute per IP, then 429 with Retry-After', async () => {
    const body = { email: uniqueEmail(), password: 'whatever-password' };
    for (let i = 0; i < 10; i++) await t.http().post('/api/v1/auth/login').send(body).expect(401);
    const res = await t.http().post('/api/v1/auth/login').send(body).expect(429);
    expect(res.body.code).toBe('RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('forgot-password allows 5 a minute', async () => {
    for (let i = 0; i < 5; i++)
      await t.http().post('/api/v1/auth/password/forgot').send({ email: uniqueEmail() }).expect(202);
    await t.http().post('/api/v1/auth/password/forgot').send({ email: uniqueEmail() }).expect(429);
  });
});
