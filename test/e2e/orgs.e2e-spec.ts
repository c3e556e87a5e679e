import { DataSource } from 'typeorm';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { BareRepo, createBareRepo } from '../support/git-repos.js';
import { linkToken, SmtpCapture, startSmtpCapture } from '../support/smtp-capture.js';
import { createTestApp, TestApp } from '../support/test-app.js';

type Role = 'owner' | 'admin' | 'member' | 'viewer' | 'outsider';
const ROLES: Role[] = ['owner', 'admin', 'member', 'viewer', 'outsider'];
const RANK: Record<Role, number> = { owner: 4, admin: 3, member: 2, viewer: 1, outsider: 0 };

describe('Organizations (HTTP)', () => {
  let t: TestApp;
  let smtp: SmtpCapture;
  let repo: BareRepo;
  let db: DataSource;
  const users = {} as Record<Role, RegisteredUser>;
  let orgId: string;

  const http = () => t.http();
  async function invite(by: RegisteredUser, org: string, email: string, role: string): Promise<string> {
    await http().post(`/api/v1/orgs/${org}/invitations`).set(by.auth).send({ email, role }).expect(201);
    const mail = await smtp.waitFor((m) => m.to.includes(email) && /invited/.test(m.subject));
    return linkToken(mail, '/invitations/accept');
  }

  beforeAll(async () => {
    smtp = await startSmtpCapture();
    repo = createBareRepo();
    t = await createTestApp({
      env: {
        SMTP_URL: smtp.url,
        WEB_APP_URL: 'http://web.test',
        ALLOW_LOCAL_REPOSITORIES: 'true',
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      },
    });
    db = t.app.get(DataSource);
    for (const role of ROLES) users[role] = await registerUser(t);
    const created = await http().post('/api/v1/orgs').set(users.owner.auth).send({ name: 'Acme' }).expect(201);
    expect(created.body.org).toMatchObject({ name: 'Acme', role: 'owner' });
    orgId = created.body.org.id as string;
    for (const role of ['admin', 'member', 'viewer'] as const) {
      const token = await invite(users.owner, orgId, users[role].email, role);
      const joined = await http().post('/api/v1/orgs/invitations/accept').set(users[role].auth).send({ token });
      expect(joined.status).toBe(200);
      expect(joined.body.org).toMatchObject({ id: orgId, role });
    }
  });
  afterAll(async () => {
    await t.close();
    await smtp.close();
    repo.cleanup();
  });

  // Resources of the organization, made by its owner; `fresh` ones for routes that use them up.
  const ids = { task: '', run: '', repository: '', webhook: '' };
  async function orgTask(): Promise<string> {
    const res = await http()
      .post('/api/v1/tasks')
      .set(users.owner.auth)
      .send({ title: 't', description: 'd', language: 'typescript', orgId })
      .expect(201);
    expect(res.body.task).toMatchObject({ orgId, userId: users.owner.id });
    return res.body.task.id as string;
  }
  async function orgRepository(): Promise<string> {
    const res = await http()
      .post('/api/v1/repositories')
      .set(users.owner.auth)
      .send({ url: repo.path, orgId })
      .expect(201);
    return res.body.id as string;
  }
  async function orgWebhook(): Promise<string> {
    const res = await http()
      .post('/api/v1/webhooks')
      .set(users.owner.auth)
      .send({ url: 'http://127.0.0.1:9/hook', events: ['*'], orgId })
      .expect(201);
    return res.body.id as string;
  }

  beforeAll(async () => {
    ids.task = await orgTask();
    ids.repository = await orgRepository();
    ids.webhook = await orgWebhook();
    const [run] = await db.query<Array<{ id: string }>>(
      `INSERT INTO runs (task_id, user_id, org_id, status, input) VALUES ($1, $2, $3, 'completed', '{}') RETURNING id`,
      [ids.task, users.owner.id, orgId],
    );
    ids.run = run.id;
  });

  interface RouteCase {
    route: string;
    /** The least role allowed; `see` the least role that may know the resource exists (below: 404). */
    allow: Exclude<Role, 'outsider'>;
    see: Exclude<Role, 'outsider'>;
    notFound: string;
    call: (as: RegisteredUser) => Promise<{ status: number; body: { code?: string } }>;
  }
  const req =
    (method: 'get' | 'post' | 'patch' | 'delete', path: () => string | Promise<string>, body?: object) =>
    async (as: RegisteredUser) => {
      const client = http();
      const r = client[method](await path()).set(as.auth);
      if (!body) return r;
      // Bodies that name the organization or the repository get them filled in at call time.
      const filled: Record<string, unknown> = { ...body };
      if ('orgId' in filled) filled.orgId = orgId;
      if (filled.url === '') filled.url = repo.path;
      return r.send(filled);
    };
  const CASES: RouteCase[] = [
    {
      route: 'GET /tasks?orgId',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('get', () => `/api/v1/tasks?orgId=${orgId}`),
    },
    {
      route: 'GET /tasks/:id',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'TASK_NOT_FOUND',
      call: req('get', () => `/api/v1/tasks/${ids.task}`),
    },
    {
      route: 'GET /tasks/:id/result',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'TASK_NOT_FOUND',
      call: req('get', () => `/api/v1/tasks/${ids.task}/result`),
    },
    {
      route: 'POST /tasks {orgId}',
      allow: 'member',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('post', () => '/api/v1/tasks', { title: 'x', description: 'y', language: 'python', orgId: '' }),
    },
    {
      route: 'PATCH /tasks/:id',
      allow: 'admin',
      see: 'viewer',
      notFound: 'TASK_NOT_FOUND',
      call: req('patch', () => `/api/v1/tasks/${ids.task}`, { title: 'renamed' }),
    },
    {
      route: 'DELETE /tasks/:id',
      allow: 'admin',
      see: 'viewer',
      notFound: 'TASK_NOT_FOUND',
      call: req('delete', () => orgTask().then((id) => `/api/v1/tasks/${id}`)),
    },
    {
      route: 'POST /tasks/:id/cancel',
      allow: 'member',
      see: 'viewer',
      notFound: 'TASK_NOT_FOUND',
      call: req('post', () => `/api/v1/tasks/${ids.task}/cancel`),
    },
    {
      route: 'GET /agents/runs?orgId',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('get', () => `/api/v1/agents/runs?orgId=${orgId}`),
    },
    {
      route: 'GET /agents/runs/:id',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'RUN_NOT_FOUND',
      call: req('get', () => `/api/v1/agents/runs/${ids.run}`),
    },
    {
      route: 'GET /agents/runs/:id/events',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'RUN_NOT_FOUND',
      call: req('get', () => `/api/v1/agents/runs/${ids.run}/events`),
    },
    {
      route: 'POST /agents/runs/:id/resume',
      allow: 'member',
      see: 'viewer',
      notFound: 'RUN_NOT_FOUND',
      call: req('post', () => `/api/v1/agents/runs/${ids.run}/resume`, { approve: true }),
    },
    {
      route: 'GET /repositories?orgId',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('get', () => `/api/v1/repositories?orgId=${orgId}`),
    },
    {
      route: 'GET /repositories/:id',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'REPOSITORY_NOT_FOUND',
      call: req('get', () => `/api/v1/repositories/${ids.repository}`),
    },
    {
      route: 'POST /repositories {orgId}',
      allow: 'admin',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('post', () => '/api/v1/repositories', { url: '', orgId: '' }),
    },
    {
      route: 'PATCH /repositories/:id',
      allow: 'admin',
      see: 'viewer',
      notFound: 'REPOSITORY_NOT_FOUND',
      call: req('patch', () => `/api/v1/repositories/${ids.repository}`, { testCommand: 'npm test' }),
    },
    {
      route: 'DELETE /repositories/:id',
      allow: 'admin',
      see: 'viewer',
      notFound: 'REPOSITORY_NOT_FOUND',
      call: req('delete', () => orgRepository().then((id) => `/api/v1/repositories/${id}`)),
    },
    {
      route: 'GET /webhooks?orgId',
      allow: 'admin',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('get', () => `/api/v1/webhooks?orgId=${orgId}`),
    },
    {
      route: 'POST /webhooks {orgId}',
      allow: 'admin',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('post', () => '/api/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['*'], orgId: '' }),
    },
    {
      route: 'GET /webhooks/:id',
      allow: 'admin',
      see: 'admin',
      notFound: 'WEBHOOK_NOT_FOUND',
      call: req('get', () => `/api/v1/webhooks/${ids.webhook}`),
    },
    {
      route: 'PATCH /webhooks/:id',
      allow: 'admin',
      see: 'admin',
      notFound: 'WEBHOOK_NOT_FOUND',
      call: req('patch', () => `/api/v1/webhooks/${ids.webhook}`, { description: 'd' }),
    },
    {
      route: 'POST /webhooks/:id/rotate-secret',
      allow: 'admin',
      see: 'admin',
      notFound: 'WEBHOOK_NOT_FOUND',
      call: req('post', () => `/api/v1/webhooks/${ids.webhook}/rotate-secret`),
    },
    {
      route: 'GET /webhooks/:id/deliveries',
      allow: 'admin',
      see: 'admin',
      notFound: 'WEBHOOK_NOT_FOUND',
      call: req('get', () => `/api/v1/webhooks/${ids.webhook}/deliveries`),
    },
    {
      route: 'DELETE /webhooks/:id',
      allow: 'admin',
      see: 'admin',
      notFound: 'WEBHOOK_NOT_FOUND',
      call: req('delete', () => orgWebhook().then((id) => `/api/v1/webhooks/${id}`)),
    },
    {
      route: 'GET /orgs/:id',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('get', () => `/api/v1/orgs/${orgId}`),
    },
    {
      route: 'PATCH /orgs/:id',
      allow: 'admin',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('patch', () => `/api/v1/orgs/${orgId}`, { name: 'Acme' }),
    },
    {
      route: 'GET /orgs/:id/members',
      allow: 'viewer',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('get', () => `/api/v1/orgs/${orgId}/members`),
    },
    {
      route: 'GET /orgs/:id/invitations',
      allow: 'admin',
      see: 'viewer',
      notFound: 'ORG_NOT_FOUND',
      call: req('get', () => `/api/v1/orgs/${orgId}/invitations`),
    },
  ];
  it.each(CASES.flatMap((c) => ROLES.map((role) => ({ ...c, role }))))('$route as $role', async (c) => {
    const res = await c.call(users[c.role]);
    if (c.role !== 'outsider' && RANK[c.role] >= RANK[c.allow]) {
      expect(res.status).not.toBe(403);
      expect(res.body.code).not.toBe(c.notFound);
      expect(res.status).toBeLessThan(500);
    } else if (c.role === 'outsider' || RANK[c.role] < RANK[c.see]) {
      expect(res.status).toBe(404);
      expect(res.body.code).toBe(c.notFound);
    } else {
      expect(res.status).toBe(403);
    }
  });

  it('accepts an invitation only from the invited, verified address, once, before it expires', async () => {
    const accept = (user: RegisteredUser, token: string) =>
      http().post('/api/v1/orgs/invitations/accept').set(user.auth).send({ token });
    const invited = await registerUser(t);
    const token = await invite(users.owner, orgId, invited.email, 'member');
    // Someone else, signed in and verified: refused, and the token is not used up.
    const wrong = await accept(users.outsider, token);
    expect(wrong.status).toBe(403);
    expect(wrong.body.code).toBe('INVITATION_EMAIL_MISMATCH');
    const joined = await accept(invited, token);
    expect(joined.status).toBe(200);
    expect(joined.body.org).toMatchObject({ id: orgId, role: 'member' });
    const reused = await accept(invited, token);
    expect(reused.status).toBe(404);
    expect(reused.body.code).toBe('INVITATION_INVALID');

    const unverified = await registerUser(t, { verified: false });
    const unverifiedToken = await invite(users.owner, orgId, unverified.email, 'viewer');
    const notVerified = await accept(unverified, unverifiedToken);
    expect(notVerified.status).toBe(403);
    expect(notVerified.body.code).toBe('EMAIL_NOT_VERIFIED');

    const late = await registerUser(t);
    const lateToken = await invite(users.owner, orgId, late.email, 'viewer');
    await db.query(
      "UPDATE org_invitations SET expires_at = now() - interval '1 second' WHERE lower(email) = lower($1)",
      [late.email],
    );
    const expired = await accept(late, lateToken);
    expect(expired.status).toBe(410);
    expect(expired.body.code).toBe('INVITATION_EXPIRED');
    const members = await db.query(
      'SELECT count(*)::int AS n FROM org_memberships WHERE org_id = $1 AND user_id = ANY($2)',
      [orgId, [unverified.id, late.id, users.outsider.id]],
    );
    expect(members[0].n).toBe(0);
  });
});
