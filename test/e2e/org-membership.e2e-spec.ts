import { DataSource } from 'typeorm';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { eventually, startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver.js';

type Role = 'owner' | 'admin' | 'member' | 'viewer';

interface AuditItem {
  action: string;
  actorId: string | null;
  targetId: string | null;
  orgId: string | null;
  data: Record<string, unknown>;
}

/**
 * Roles, leaving and deleting an organization (LAST_OWNER, RUN_ACTIVE and who may do what), and the
 * organization's webhooks receiving its runs' events — always with another organization's and a
 * non-member's access.
 */
describe('organization membership, deletion and webhooks (HTTP)', () => {
  let fake: FakeLlm;
  let receiver: WebhookReceiver;
  let t: TestApp;
  let db: DataSource;
  let outsider: RegisteredUser;
  let rival: RegisteredUser;
  let rivalOrgId: string;

  const http = () => t.http();

  /** A fresh organization with one user per role (memberships as accepted invitations leave them). */
  async function team(): Promise<{ orgId: string } & Record<Role, RegisteredUser>> {
    const [owner, admin, member, viewer] = await Promise.all([1, 2, 3, 4].map(() => registerUser(t)));
    const res = await http().post('/api/v1/orgs').set(owner.auth).send({ name: 'Team' }).expect(201);
    const orgId = res.body.org.id as string;
    for (const [user, role] of [
      [admin, 'admin'],
      [member, 'member'],
      [viewer, 'viewer'],
    ] as const) {
      await db.query('INSERT INTO org_memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [orgId, user.id, role]);
    }
    return { orgId, owner, admin, member, viewer };
  }
  const setRole = (as: RegisteredUser, orgId: string, userId: string, role: string) =>
    http().patch(`/api/v1/orgs/${orgId}/members/${userId}`).set(as.auth).send({ role });
  const remove = (as: RegisteredUser, orgId: string, userId: string) =>
    http().delete(`/api/v1/orgs/${orgId}/members/${userId}`).set(as.auth);
  async function roleOf(orgId: string, userId: string): Promise<string | null> {
    const rows = await db.query<Array<{ role: string }>>(
      'SELECT role FROM org_memberships WHERE org_id = $1 AND user_id = $2',
      [orgId, userId],
    );
    return rows[0]?.role ?? null;
  }
  async function audit(as: RegisteredUser, query: string): Promise<AuditItem[]> {
    const res = await http().get(`/api/v1/audit-events?limit=100${query}`).set(as.auth).expect(200);
    return res.body.items as AuditItem[];
  }

  beforeAll(async () => {
    fake = await startFakeLlm();
    receiver = await startWebhookReceiver();
    t = await createTestApp({
      env: fakeLlmEnv(fake, { LLM_MAX_RETRIES: '0', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }),
    });
    db = t.app.get(DataSource);
    [outsider, rival] = await Promise.all([registerUser(t), registerUser(t)]);
    const res = await http().post('/api/v1/orgs').set(rival.auth).send({ name: 'Rival' }).expect(201);
    rivalOrgId = res.body.org.id as string;
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
    await fake?.close();
  });

  describe('roles', () => {
    it('the last owner can neither be demoted nor leave; with a second owner both work', async () => {
      const org = await team();
      const demote = await setRole(org.owner, org.orgId, org.owner.id, 'admin');
      expect([demote.status, demote.body.code]).toEqual([409, 'LAST_OWNER']);
      const leave = await remove(org.owner, org.orgId, org.owner.id);
      expect([leave.status, leave.body.code]).toEqual([409, 'LAST_OWNER']);
      expect(await roleOf(org.orgId, org.owner.id)).toBe('owner');

      await setRole(org.owner, org.orgId, org.admin.id, 'owner').expect(200);
      const demoted = await setRole(org.owner, org.orgId, org.owner.id, 'admin');
      expect(demoted.status).toBe(200);
      expect(demoted.body.member).toMatchObject({ userId: org.owner.id, role: 'admin' });
      // Now the former admin is the last owner.
      const last = await remove(org.admin, org.orgId, org.admin.id);
      expect([last.status, last.body.code]).toEqual([409, 'LAST_OWNER']);
      await remove(org.owner, org.orgId, org.owner.id).expect(204);
      expect(await roleOf(org.orgId, org.owner.id)).toBeNull();
      const gone = await http().get(`/api/v1/orgs/${org.orgId}`).set(org.owner.auth);
      expect([gone.status, gone.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
    });

    it('admins manage roles below owner; the owner role is the owners’ alone; members and viewers manage none', async () => {
      const org = await team();
      const changed = await setRole(org.admin, org.orgId, org.member.id, 'viewer');
      expect(changed.status).toBe(200);
      expect(changed.body.member).toMatchObject({ userId: org.member.id, email: org.member.email, role: 'viewer' });
      for (const [target, role] of [
        [org.member.id, 'owner'],
        [org.owner.id, 'admin'],
      ] as const) {
        const res = await setRole(org.admin, org.orgId, target, role);
        expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
      }
      for (const as of [org.member, org.viewer]) {
        const res = await setRole(as, org.orgId, org.viewer.id, 'admin');
        expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
      }
      for (const as of [outsider, rival]) {
        const res = await setRole(as, org.orgId, org.member.id, 'admin');
        expect([res.status, res.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      }
      // Someone who is not a member, and a malformed role.
      const stranger = await setRole(org.owner, org.orgId, outsider.id, 'member');
      expect([stranger.status, stranger.body.code]).toEqual([404, 'MEMBER_NOT_FOUND']);
      const bad = await setRole(org.owner, org.orgId, org.member.id, 'superuser');
      expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
      expect(await roleOf(org.orgId, org.member.id)).toBe('viewer');
      expect(await roleOf(org.orgId, org.owner.id)).toBe('owner');
      expect(await roleOf(org.orgId, org.viewer.id)).toBe('viewer');
    });

    it('a role change is one record, seen by the organization’s admins and the member concerned only', async () => {
      const org = await team();
      await setRole(org.admin, org.orgId, org.member.id, 'viewer').expect(200);
      // No change, no record.
      await setRole(org.admin, org.orgId, org.member.id, 'viewer').expect(200);
      const expected = {
        action: 'org.member_role_changed',
        actorId: org.admin.id,
        targetId: org.member.id,
        orgId: org.orgId,
        data: { from: 'member', to: 'viewer' },
      };
      expect(await audit(org.owner, `&orgId=${org.orgId}&action=org.member_role_changed`)).toEqual([
        expect.objectContaining(expected),
      ]);
      expect(await audit(org.member, '&action=org.member_role_changed')).toEqual([expect.objectContaining(expected)]);
      expect(await audit(org.admin, '&action=org.member_role_changed')).toEqual([expect.objectContaining(expected)]);
      expect(await audit(org.viewer, '&action=org.member_role_changed')).toEqual([]);
      expect(await audit(rival, '&action=org.member_role_changed')).toEqual([]);
      const foreign = await http().get(`/api/v1/audit-events?orgId=${org.orgId}`).set(rival.auth);
      expect([foreign.status, foreign.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
    });
  });

  describe('leaving and removing', () => {
    it('any member leaves; removing someone else takes an admin, removing an owner an owner', async () => {
      const org = await team();
      for (const as of [org.viewer, org.member]) {
        const res = await remove(as, org.orgId, org.admin.id);
        expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
      }
      const ownerByAdmin = await remove(org.admin, org.orgId, org.owner.id);
      expect([ownerByAdmin.status, ownerByAdmin.body.code]).toEqual([403, 'FORBIDDEN']);
      for (const as of [outsider, rival]) {
        const res = await remove(as, org.orgId, org.member.id);
        expect([res.status, res.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      }
      const notMember = await remove(org.admin, org.orgId, outsider.id);
      expect([notMember.status, notMember.body.code]).toEqual([404, 'MEMBER_NOT_FOUND']);

      await remove(org.viewer, org.orgId, org.viewer.id).expect(204);
      await remove(org.admin, org.orgId, org.member.id).expect(204);
      expect(await roleOf(org.orgId, org.viewer.id)).toBeNull();
      expect(await roleOf(org.orgId, org.member.id)).toBeNull();
      for (const gone of [org.viewer, org.member]) {
        const res = await http().get(`/api/v1/orgs/${org.orgId}/members`).set(gone.auth);
        expect([res.status, res.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      }
      const records = await audit(org.owner, `&orgId=${org.orgId}&action=org.member_removed`);
      expect(records.map((r) => [r.targetId, r.data.left]).sort()).toEqual(
        [
          [org.viewer.id, true],
          [org.member.id, false],
        ].sort(),
      );
      // The removed member still sees the record about their own account.
      expect(await audit(org.member, '&action=org.member_removed')).toHaveLength(1);
      expect(await audit(rival, '&action=org.member_removed')).toHaveLength(0);
    });
  });

  describe('DELETE /orgs/:id', () => {
    it('is the owner’s, 409 RUN_ACTIVE while a run is active, and takes the organization’s resources along', async () => {
      const org = await team();
      const task = await http()
        .post('/api/v1/tasks')
        .set(org.member.auth)
        .send({ title: 't', description: 'd', language: 'python', orgId: org.orgId })
        .expect(201);
      const taskId = task.body.task.id as string;
      const [run] = await db.query<Array<{ id: string }>>(
        `INSERT INTO runs (task_id, user_id, org_id, status, input) VALUES ($1, $2, $3, 'running', '{}') RETURNING id`,
        [taskId, org.member.id, org.orgId],
      );
      for (const as of [org.admin, org.member, org.viewer]) {
        const res = await http().delete(`/api/v1/orgs/${org.orgId}`).set(as.auth);
        expect([res.status, res.body.code]).toEqual([403, 'FORBIDDEN']);
      }
      for (const as of [outsider, rival]) {
        const res = await http().delete(`/api/v1/orgs/${org.orgId}`).set(as.auth);
        expect([res.status, res.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      }
      const busy = await http().delete(`/api/v1/orgs/${org.orgId}`).set(org.owner.auth);
      expect([busy.status, busy.body.code]).toEqual([409, 'RUN_ACTIVE']);
      await http().get(`/api/v1/tasks/${taskId}`).set(org.viewer.auth).expect(200);

      await db.query("UPDATE runs SET status = 'completed', finished_at = now() WHERE id = $1", [run.id]);
      await http().delete(`/api/v1/orgs/${org.orgId}`).set(org.owner.auth).expect(204);
      for (const as of [org.owner, org.member]) {
        const orgRes = await http().get(`/api/v1/orgs/${org.orgId}`).set(as.auth);
        expect([orgRes.status, orgRes.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
        const taskRes = await http().get(`/api/v1/tasks/${taskId}`).set(as.auth);
        expect([taskRes.status, taskRes.body.code]).toEqual([404, 'TASK_NOT_FOUND']);
      }
      const left = await db.query<Array<{ n: number }>>('SELECT count(*)::int AS n FROM runs WHERE id = $1', [run.id]);
      expect(left[0].n).toBe(0);
      // The rival organization is untouched, and the deletion is on the trail of its owner.
      await http().get(`/api/v1/orgs/${rivalOrgId}`).set(rival.auth).expect(200);
      expect(await audit(org.owner, '&action=org.deleted')).toEqual([
        expect.objectContaining({ action: 'org.deleted', targetId: org.orgId, actorId: org.owner.id }),
      ]);
    });
  });

  describe('webhooks of an organization', () => {
    it('receive the events of the organization’s runs; the author’s own and another organization’s do not', async () => {
      const org = await team();
      const subscribe = async (as: RegisteredUser, path: string, orgId?: string) => {
        const res = await http()
          .post('/api/v1/webhooks')
          .set(as.auth)
          .send({ url: `${receiver.url}${path}`, events: ['*'], orgId })
          .expect(201);
        return res.body.id as string;
      };
      await subscribe(org.admin, '/org', org.orgId);
      await subscribe(org.member, '/personal');
      await subscribe(rival, '/rival', rivalOrgId);
      // A member may not subscribe to the organization's events, nor anyone outside it.
      const byMember = await http()
        .post('/api/v1/webhooks')
        .set(org.member.auth)
        .send({ url: `${receiver.url}/x`, events: ['*'], orgId: org.orgId });
      expect([byMember.status, byMember.body.code]).toEqual([403, 'FORBIDDEN']);
      const byRival = await http()
        .post('/api/v1/webhooks')
        .set(rival.auth)
        .send({ url: `${receiver.url}/x`, events: ['*'], orgId: org.orgId });
      expect([byRival.status, byRival.body.code]).toEqual([404, 'ORG_NOT_FOUND']);

      // The planner's provider refuses: the run fails at once, which is all the events we need.
      fake.script(() => ({ kind: 'error', status: 400, message: 'refused by the test' }));
      const task = await http()
        .post('/api/v1/tasks')
        .set(org.member.auth)
        .send({ title: 'Sum', description: 'Export sum.', language: 'javascript', orgId: org.orgId })
        .expect(201);
      const executed = await http()
        .post(`/api/v1/tasks/${task.body.task.id as string}/execute`)
        .set(org.member.auth)
        .expect(202);
      const runId = executed.body.run.id as string;
      await waitForRun(t, org.member.auth, runId, ['failed']);

      const forRun = (path: string) =>
        receiver.requests.filter(
          (r) => r.path === path && (JSON.parse(r.body) as { data?: { runId?: string } }).data?.runId === runId,
        );
      const types = await eventually(
        async () => {
          const received = forRun('/org').map((r) => (JSON.parse(r.body) as { type: string }).type);
          return received.includes('run.failed') ? received : null;
        },
        10_000,
        'run.failed at the organization’s webhook',
      );
      expect(types).toEqual(expect.arrayContaining(['run.queued', 'run.started', 'run.failed']));
      expect(forRun('/personal')).toHaveLength(0);
      expect(forRun('/rival')).toHaveLength(0);
      // And the admin sees the deliveries of the organization's subscription; the member may not.
      const hooks = await http().get(`/api/v1/webhooks?orgId=${org.orgId}`).set(org.admin.auth).expect(200);
      expect(hooks.body.items).toHaveLength(1);
      const memberList = await http().get(`/api/v1/webhooks?orgId=${org.orgId}`).set(org.member.auth);
      expect(memberList.status).toBe(403);
    });
  });
});
