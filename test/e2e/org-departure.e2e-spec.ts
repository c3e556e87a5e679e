import { DataSource } from 'typeorm';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { BareRepo, createBareRepo } from '../support/git-repos.js';
import { fakeLlmEnv } from '../support/llm.js';
import { runEvents, scriptAgents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const APPROVE = { verdict: 'APPROVE', summary: 'fine', issues: [] };
const REVIEW_TASK = {
  title: 'Review',
  description: 'Review this.',
  language: 'javascript',
  mode: 'review',
  files: [{ path: 'a.mjs', content: 'export const a = 1;\n' }],
};

/** DELETE /users/me: what a member made in an organization stays with it; its last owner cannot go. */
describe('account deletion and organizations (HTTP)', () => {
  let fake: FakeLlm;
  let repo: BareRepo;
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    fake = await startFakeLlm();
    repo = createBareRepo();
    t = await createTestApp({
      env: fakeLlmEnv(fake, {
        AGENT_TIMEOUT_SECONDS: '10',
        ALLOW_LOCAL_REPOSITORIES: 'true',
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      }),
    });
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    repo?.cleanup();
  });
  beforeEach(() => fake.reset());

  const http = () => t.http();
  const deleteAccount = (user: RegisteredUser) =>
    http().delete('/api/v1/users/me').set(user.auth).send({ password: user.password });

  async function orgWith(owner: RegisteredUser, members: Array<[RegisteredUser, string]>): Promise<string> {
    const org = (await http().post('/api/v1/orgs').set(owner.auth).send({ name: 'Acme' }).expect(201)).body.org;
    for (const [user, role] of members)
      await db.query('INSERT INTO org_memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [
        org.id,
        user.id,
        role,
      ]);
    return org.id as string;
  }

  async function reviewRun(user: RegisteredUser, orgId?: string) {
    scriptAgents(fake, { submit_review: [{ tool: APPROVE }] });
    const task = (
      await http()
        .post('/api/v1/tasks')
        .set(user.auth)
        .send({ ...REVIEW_TASK, ...(orgId ? { orgId } : {}) })
        .expect(201)
    ).body.task;
    const run = (await http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;
    expect((await waitForRun(t, user.auth, run.id, ['completed', 'failed'])).status).toBe('completed');
    return { taskId: task.id as string, runId: run.id as string };
  }

  it("hands a departing member's tasks, runs, repositories and webhooks to an owner; their own data and keys go", async () => {
    const owner = await registerUser(t);
    const admin = await registerUser(t);
    const outsider = await registerUser(t);
    const orgId = await orgWith(owner, [[admin, 'admin']]);

    const orgRun = await reviewRun(admin, orgId);
    const ownRun = await reviewRun(admin);
    const repository = (
      await http().post('/api/v1/repositories').set(admin.auth).send({ url: repo.path, orgId }).expect(201)
    ).body;
    const webhook = (
      await http()
        .post('/api/v1/webhooks')
        .set(admin.auth)
        .send({ url: 'http://127.0.0.1:9/hook', events: ['*'], orgId })
        .expect(201)
    ).body;
    const key = (
      await http()
        .post('/api/v1/api-keys')
        .set(admin.auth)
        .send({ name: 'ci', scopes: ['tasks:read'], orgId })
        .expect(201)
    ).body;
    const orgSpend = (await http().get(`/api/v1/orgs/${orgId}/budget`).set(owner.auth).expect(200)).body.spentUsd;
    expect(Number(orgSpend)).toBeGreaterThan(0);
    const events = await runEvents(t, admin.auth, orgRun.runId);

    await deleteAccount(admin).expect(204);
    await http().get('/api/v1/users/me').set(admin.auth).expect(401);
    await http()
      .get('/api/v1/tasks')
      .set({ Authorization: `Bearer ${key.key as string}` })
      .expect(401);

    // The organization keeps everything, now held by its owner, with its history.
    const task = (await http().get(`/api/v1/tasks/${orgRun.taskId}`).set(owner.auth).expect(200)).body.task;
    expect(task).toMatchObject({ id: orgRun.taskId, orgId, userId: owner.id });
    const listed = (await http().get(`/api/v1/tasks?orgId=${orgId}`).set(owner.auth).expect(200)).body.items;
    expect(listed.map((item: { id: string }) => item.id)).toContain(orgRun.taskId);
    const run = await waitForRun(t, owner.auth, orgRun.runId, ['completed']);
    expect(run.steps.map((s) => `${s.agent}:${s.status}`)).toEqual(['reviewer:completed']);
    expect((await runEvents(t, owner.auth, orgRun.runId)).map((e) => e.id)).toEqual(events.map((e) => e.id));
    await http().get(`/api/v1/tasks/${orgRun.taskId}/result`).set(owner.auth).expect(200);
    expect((await http().get(`/api/v1/repositories/${repository.id}`).set(owner.auth).expect(200)).body).toMatchObject({
      id: repository.id,
    });
    expect((await http().get(`/api/v1/webhooks/${webhook.id}`).set(owner.auth).expect(200)).body).toMatchObject({
      id: webhook.id,
      url: 'http://127.0.0.1:9/hook',
    });
    // Still nobody else's.
    await http().get(`/api/v1/tasks/${orgRun.taskId}`).set(outsider.auth).expect(404);
    await http().get(`/api/v1/repositories/${repository.id}`).set(outsider.auth).expect(404);
    await http().get(`/api/v1/webhooks/${webhook.id}`).set(outsider.auth).expect(404);

    // What the member spent on the organization still counts against its budget, as a former member's.
    const after = (await http().get(`/api/v1/orgs/${orgId}/budget`).set(owner.auth).expect(200)).body.spentUsd;
    expect(after).toBe(orgSpend);
    const usage = await db.query<{ user_id: string | null; org_id: string | null }[]>(
      'SELECT user_id, org_id FROM llm_usage WHERE run_id = ANY($1::uuid[])',
      [[orgRun.runId, ownRun.runId]],
    );
    expect(usage).toEqual([{ user_id: null, org_id: orgId }]);

    // The member's own task and run, their keys and their membership are gone.
    const [left] = await db.query<{ tasks: number; runs: number; keys: number; members: number }[]>(
      `SELECT (SELECT count(*)::int FROM tasks WHERE id = $1 OR user_id = $2) AS tasks,
              (SELECT count(*)::int FROM runs WHERE id = $3 OR user_id = $2) AS runs,
              (SELECT count(*)::int FROM api_keys WHERE user_id = $2) AS keys,
              (SELECT count(*)::int FROM org_memberships WHERE user_id = $2) AS members`,
      [ownRun.taskId, admin.id, ownRun.runId],
    );
    expect(left).toEqual({ tasks: 0, runs: 0, keys: 0, members: 0 });
    const members = (await http().get(`/api/v1/orgs/${orgId}/members`).set(owner.auth).expect(200)).body.items;
    expect(members.map((m: { userId: string }) => m.userId)).toEqual([owner.id]);
  });

  it('refuses the last owner (409 LAST_OWNER, naming the organizations) and lets an owner go who has a co-owner', async () => {
    const owner = await registerUser(t);
    const coOwner = await registerUser(t);
    const member = await registerUser(t);
    const solo = await orgWith(owner, []);
    const shared = await orgWith(owner, [
      [coOwner, 'owner'],
      [member, 'member'],
    ]);
    const task = (
      await http()
        .post('/api/v1/tasks')
        .set(owner.auth)
        .send({ title: 't', description: 'd', language: 'typescript', orgId: shared })
        .expect(201)
    ).body.task;

    const refused = await deleteAccount(owner).expect(409);
    expect(refused.body).toMatchObject({ code: 'LAST_OWNER', orgIds: [solo] });
    await http().get('/api/v1/users/me').set(owner.auth).expect(200);
    expect((await http().get(`/api/v1/tasks/${task.id}`).set(owner.auth).expect(200)).body.task.userId).toBe(owner.id);

    // Once the solo organization is gone, the owner may go: the co-owner inherits the shared one's task.
    await http().delete(`/api/v1/orgs/${solo}`).set(owner.auth).expect(204);
    await deleteAccount(owner).expect(204);
    expect((await http().get(`/api/v1/tasks/${task.id}`).set(coOwner.auth).expect(200)).body.task.userId).toBe(
      coOwner.id,
    );
    await http().get(`/api/v1/tasks/${task.id}`).set(member.auth).expect(200);

    // The co-owner is now the last owner of `shared`.
    await deleteAccount(coOwner)
      .expect(409)
      .expect((res) => expect(res.body).toMatchObject({ code: 'LAST_OWNER', orgIds: [shared] }));
    // The proof is checked before the organizations: a wrong password is 401, not 409.
    await http().delete('/api/v1/users/me').set(coOwner.auth).send({ password: 'not-the-password' }).expect(401);
  });

  it('refuses while one of the member’s runs in an organization is running, and goes once it is cancelled', async () => {
    const owner = await registerUser(t);
    const member = await registerUser(t);
    const orgId = await orgWith(owner, [[member, 'member']]);
    scriptAgents(fake, { submit_review: [{ kind: 'hang' }] });
    const task = (
      await http()
        .post('/api/v1/tasks')
        .set(member.auth)
        .send({ ...REVIEW_TASK, orgId })
        .expect(201)
    ).body.task;
    const run = (await http().post(`/api/v1/tasks/${task.id}/execute`).set(member.auth).expect(202)).body.run;
    await until(async () => (await runEvents(t, member.auth, run.id)).some((e) => e.type === 'agent.started'));

    await deleteAccount(member)
      .expect(409)
      .expect((res) => expect(res.body.code).toBe('RUN_ACTIVE'));
    await http().get('/api/v1/users/me').set(member.auth).expect(200);

    await http().post(`/api/v1/tasks/${task.id}/cancel`).set(member.auth).expect(202);
    await waitForRun(t, member.auth, run.id, ['cancelled']);
    await deleteAccount(member).expect(204);
    const kept = await waitForRun(t, owner.auth, run.id, ['cancelled']);
    expect(kept.taskId).toBe(task.id);
  });
});
