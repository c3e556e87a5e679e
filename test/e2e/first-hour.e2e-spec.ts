import { captureOutput } from '../support/capture-output.js';
import { registerUser, strongPassword, uniqueEmail } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/** The log lines (JSON in tests) whose message starts with `prefix`. */
function logged(output: string, prefix: string): string[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => (JSON.parse(line) as { msg?: string }).msg ?? '')
    .filter((msg) => msg.startsWith(prefix));
}

const TASK = { title: 'Sum', description: 'sum(a, b)', language: 'javascript' };

/** A newcomer's first hour with no web app and no SMTP server: the API alone gets them verified. */
describe('the first hour: mail links without a web app', () => {
  let t: TestApp;
  let output: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    output = captureOutput();
    t = await createTestApp({ workerInProcess: false, env: { LOG_LEVEL: 'info', PUBLIC_URL: 'http://api.test' } });
  });
  afterAll(async () => {
    await t?.close();
    output.restore();
  });

  async function mailTo(email: string, subject: string): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const mail = logged(output.text(), 'Mail (SMTP_URL is not set').find(
        (m) => m.includes(`To: ${email}`) && m.includes(subject),
      );
      if (mail) return mail;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`no mail "${subject}" to ${email} in the log`);
  }

  it('register → the logged mail → the API page → verified → a task can be created', async () => {
    const email = uniqueEmail('newcomer');
    const password = strongPassword();
    await t.http().post('/api/v1/auth/register').send({ email, password }).expect(201);
    const login = await t.http().post('/api/v1/auth/login').send({ email, password }).expect(200);
    const auth = { Authorization: `Bearer ${login.body.accessToken}` };

    const refused = await t.http().post('/api/v1/tasks').set(auth).send(TASK).expect(403);
    expect(refused.body.code).toBe('EMAIL_NOT_VERIFIED');
    expect(refused.body.detail).toContain('open the link in the verification mail');
    expect(refused.body.detail).toContain('POST /api/v1/auth/verify-email');
    expect(refused.body.detail).toContain('POST /api/v1/auth/resend-verification');

    const mail = await mailTo(email, 'Verify your email address');
    const lines = mail.split('\n');
    expect(lines).toContain(`  To: ${email}`);
    expect(lines).toContain('  Subject: Verify your email address for Quorum');
    // The link has a line of its own and points at this API, which serves the page.
    const link = lines.map((l) => l.trim()).find((l) => l.startsWith('http://api.test/verify-email?token='));
    expect(link).toBeDefined();
    const url = new URL(link!);
    const token = url.searchParams.get('token')!;

    // Opening the link changes nothing (mail scanners open links): it shows a button.
    const page = await t.http().get(`${url.pathname}${url.search}`).expect(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.text).toContain('<form method="post" action="/verify-email">');
    expect(page.text).toContain(`name="token" value="${token}"`);
    await t.http().post('/api/v1/tasks').set(auth).send(TASK).expect(403);

    const done = await t.http().post('/verify-email').type('form').send({ token }).expect(200);
    expect(done.text).toContain(`${email} is verified`);
    await t.http().post('/api/v1/tasks').set(auth).send(TASK).expect(201);

    // The token works once: the page says so in words.
    const again = await t.http().post('/verify-email').type('form').send({ token }).expect(400);
    expect(again.text).toMatch(/<p>[^<]*(invalid|expired|used)[^<]*<\/p>/i);
  });

  it('a page without a token, or a forged one, says what is wrong and changes nothing', async () => {
    const missing = await t.http().get('/verify-email').expect(400);
    expect(missing.text).toContain('This link has no token: open the link from the mail.');
    const empty = await t.http().post('/verify-email').type('form').send({}).expect(400);
    expect(empty.text).toContain('The form has no token');
    const forged = await t.http().post('/verify-email').type('form').send({ token: 'not-a-token' }).expect(400);
    expect(forged.text).not.toContain('is verified');
    // Markup in a token is shown as text, never run.
    const hostile = await t.http().get('/verify-email?token=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E').expect(200);
    expect(hostile.text).not.toContain('<script>');
    expect(hostile.text).toContain('&quot;&gt;&lt;script&gt;');
  });

  it("a reset link sets another user's password only with that user's token", async () => {
    const alice = await registerUser(t);
    const bob = await registerUser(t);
    const ask = await t.http().post('/reset-password').type('form').send({ email: alice.email }).expect(200);
    expect(ask.text).toContain('a mail with a reset link is on its way');
    const mail = await mailTo(alice.email, 'Reset your Quorum password');
    const link = mail
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('http://api.test/reset-password?token='))!;
    const token = new URL(link).searchParams.get('token')!;
    const page = await t
      .http()
      .get(`/reset-password?token=${encodeURIComponent(token)}`)
      .expect(200);
    expect(page.text).toContain('name="password"');

    const weak = await t.http().post('/reset-password').type('form').send({ token, password: 'short' }).expect(400);
    expect(weak.text).toContain('password');
    const newPassword = strongPassword();
    const done = await t.http().post('/reset-password').type('form').send({ token, password: newPassword }).expect(200);
    expect(done.text).toContain('Your password is changed');
    await t.http().post('/api/v1/auth/login').send({ email: alice.email, password: newPassword }).expect(200);
    // Bob's account is untouched: his old password still works, the new one does not.
    await t.http().post('/api/v1/auth/login').send({ email: bob.email, password: bob.password }).expect(200);
    await t.http().post('/api/v1/auth/login').send({ email: bob.email, password: newPassword }).expect(401);
  });

  it('`GET /` points to the documentation', async () => {
    const res = await t.http().get('/').expect(200);
    expect(res.body.docs).toBe('/api/docs');
    expect(res.body.message).toContain('/api/docs');
  });
});

describe('the first hour: with a web app configured', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ workerInProcess: false, env: { WEB_APP_URL: 'http://web.test' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it("the API's pages hand the link on to the web app", async () => {
    const res = await t.http().get('/verify-email?token=abc').expect(302);
    expect(res.headers.location).toBe('http://web.test/verify-email?token=abc');
    const reset = await t.http().get('/reset-password?token=xyz').expect(302);
    expect(reset.headers.location).toBe('http://web.test/reset-password?token=xyz');
  });
});
