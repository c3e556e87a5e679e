import { DataSource } from 'typeorm';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallContext } from '../../src/agents/llm/llm.types.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { SmtpCapture, startSmtpCapture } from '../support/smtp-capture.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { eventually } from '../support/webhook-receiver.js';

type Member = 'owner' | 'admin' | 'member' | 'viewer';
const MEMBERS: Member[] = ['owner', 'admin', 'member', 'viewer'];

interface AuditItem {
  action: string;
  actorType: string;
  actorId: string | null;
  targetType: string | null;
  targetId: string | null;
  orgId: string | null;
  data: Record<string, unknown>;
}

/**
 * An organization's budget (GET/PUT /orgs/:id/budget), its usage grouped by member and API key, and
 * its thresholds (mail to owners and admins, `budget.threshold_reached` to its webhooks) — each with
 * another organization's and a non-member's access.
 */
describe('organization budgets, usage and thresholds (HTTP)', () => {
  let fake: FakeLlm;
  let smtp: SmtpCapture;
  let t: TestApp;
  let db: DataSource;
  let gateway: LlmGatewayService;
  const users = {} as Record<Member | 'outsider' | 'rival', RegisteredUser>;
  let orgId: string;
  let rivalOrgId: string;

  const http = () => t.http();

  async function createOrg(owner: RegisteredUser, name: string): Promise<string> {
    const res = await http().post('/api/v1/orgs').set(owner.auth).send({ name }).expect(201);
    return res.body.org.id as string;
  }
  /** A membership as an accepted invitation leaves it (invitations have their own tests). */
  async function addMember(org: string, user: RegisteredUser, role: Member): Promise<void> {
    await db.query('INSERT INTO org_memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [org, user.id, role]);
  }
  async function auditOf(as: RegisteredUser, query = ''): Promise<{ status: number; items: AuditItem[] }> {
    const res = await http().get(`/api/v1/audit-events?limit=100${query}`).set(as.auth);
    return { status: res.status, items: (res.body.items ?? []) as AuditItem[] };
  }
  const call = (context: Omit<LlmCallContext, 'agent'>) =>
    gateway.call({
      context: { ...context, agent: 'coder' },
      messages: [{ role: 'user', content: 'Write the code.' }],
      maxTokens: 1000,
    });

  beforeAll(async () => {
    fake = await startFakeLlm();
    smtp = await startSmtpCapture();
    t = await createTestApp({
      env: fakeLlmEnv(fake, { LLM_MAX_RETRIES: '0', SMTP_URL: smtp.url, WEBHOOK_ALLOW_PRIVATE_URLS: 'true' }),
    });
    db = t.app.get(DataSource);
    gateway = t.app.get(LlmGatewayService);
    for (const name of [...MEMBERS, 'outsider', 'rival'] as const) users[name] = await registerUser(t);
    orgId = await createOrg(users.owner, 'Acme');
    for (const role of ['admin', 'member', 'viewer'] as const) await addMember(orgId, users[role], role);
    rivalOrgId = await createOrg(users.rival, 'Rival');
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    await fake?.close();
  });
  afterEach(() => fake.reset());

  describe('GET /orgs/:id/budget', () => {
    it.each(MEMBERS)('the %s reads it', async (role) => {
      const res = await http().get(`/api/v1/orgs/${orgId}/budget`).set(users[role].auth).expect(200);
      expect(res.body).toMatchObject({
        orgId,
        monthlyLimitUsd: null,
        memberMonthlyLimitUsd: null,
        alertThresholds: [0.5, 0.8, 1],
        spentUsd: '0.00000000',
        reservedUsd: '0.00000000',
        remainingUsd: null,
      });
    });

    it('is 404 to a non-member, to another organization’s owner and for an unknown or malformed id', async () => {
      for (const as of [users.outsider, users.rival]) {
        const res = await http().get(`/api/v1/orgs/${orgId}/budget`).set(as.auth);
        expect([res.status, res.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      }
      const unknown = await http().get(`/api/v1/orgs/${crypto.randomUUID()}/budget`).set(users.owner.auth);
      expect([unknown.status, unknown.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      const malformed = await http().get('/api/v1/orgs/not-a-uuid/budget').set(users.owner.auth);
      expect([malformed.status, malformed.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      await http().get(`/api/v1/orgs/${orgId}/budget`).expect(401);
    });
  });

  describe('PUT /orgs/:id/budget', () => {
    const body = { monthlyLimitUsd: '40.00', memberMonthlyLimitUsd: 10, alertThresholds: [0.25, 1] };

    it('an admin sets it; the change is one budget.changed record its admins and the actor see', async () => {
      const before = await auditOf(users.owner, `&orgId=${orgId}&action=budget.changed`);
      const res = await http().put(`/api/v1/orgs/${orgId}/budget`).set(users.admin.auth).send(body).expect(200);
      expect(res.body).toMatchObject({
        orgId,
        monthlyLimitUsd: '40.00000000',
        memberMonthlyLimitUsd: '10.00000000',
        alertThresholds: [0.25, 1],
        remainingUsd: '40.00000000',
      });
      const read = await http().get(`/api/v1/orgs/${orgId}/budget`).set(users.viewer.auth).expect(200);
      expect(read.body).toMatchObject({ monthlyLimitUsd: '40.00000000', memberMonthlyLimitUsd: '10.00000000' });

      const after = await auditOf(users.owner, `&orgId=${orgId}&action=budget.changed`);
      expect(after.items.length - before.items.length).toBe(1);
      expect(after.items[0]).toMatchObject({
        actorType: 'user',
        actorId: users.admin.id,
        targetType: 'org_budget',
        targetId: orgId,
        orgId,
        data: {
          before: { monthlyLimitUsd: null, memberMonthlyLimitUsd: null },
          after: { monthlyLimitUsd: '40.00000000', memberMonthlyLimitUsd: '10.00000000', alertThresholds: [0.25, 1] },
        },
      });
      const own = await auditOf(users.admin, '&action=budget.changed');
      expect(own.items.filter((item) => item.targetId === orgId)).toHaveLength(1);
      // A member may not read the organization's trail; nobody outside it learns of the change.
      expect((await auditOf(users.member, `&orgId=${orgId}`)).status).toBe(403);
      expect((await auditOf(users.outsider, `&orgId=${orgId}`)).status).toBe(404);
      expect((await auditOf(users.rival, `&orgId=${orgId}`)).status).toBe(404);
      for (const as of [users.member, users.viewer, users.outsider, users.rival]) {
        const theirs = await auditOf(as, '&action=budget.changed');
        expect(theirs.items.filter((item) => item.targetId === orgId)).toHaveLength(0);
      }
    });

    it('is 403 to a member and a viewer, 404 to a non-member and to another organization’s owner; nothing changes', async () => {
      const change = { monthlyLimitUsd: 1, memberMonthlyLimitUsd: null };
      for (const role of ['member', 'viewer'] as const) {
        const res = await http().put(`/api/v1/orgs/${orgId}/budget`).set(users[role].auth).send(change);
        expect([role, res.status, res.body.code]).toEqual([role, 403, 'FORBIDDEN']);
      }
      for (const as of [users.outsider, users.rival]) {
        const res = await http().put(`/api/v1/orgs/${orgId}/budget`).set(as.auth).send(change);
        expect([res.status, res.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      }
      // The rival's own budget is theirs to set, and does not touch this one.
      await http().put(`/api/v1/orgs/${rivalOrgId}/budget`).set(users.rival.auth).send(change).expect(200);
      const read = await http().get(`/api/v1/orgs/${orgId}/budget`).set(users.owner.auth).expect(200);
      expect(read.body.monthlyLimitUsd).toBe('40.00000000');
    });

    it.each([
      ['a negative limit', { monthlyLimitUsd: -1, memberMonthlyLimitUsd: null }],
      ['nine decimals', { monthlyLimitUsd: '1.000000001', memberMonthlyLimitUsd: null }],
      ['a missing member limit', { monthlyLimitUsd: 5 }],
      ['a threshold above 1', { monthlyLimitUsd: 5, memberMonthlyLimitUsd: null, alertThresholds: [0.5, 1.5] }],
      ['no thresholds', { monthlyLimitUsd: 5, memberMonthlyLimitUsd: null, alertThresholds: [] }],
      ['an unknown field', { monthlyLimitUsd: 5, memberMonthlyLimitUsd: null, currency: 'EUR' }],
    ])('refuses %s with 400 VALIDATION_FAILED', async (_label, bad) => {
      const res = await http().put(`/api/v1/orgs/${orgId}/budget`).set(users.owner.auth).send(bad);
      expect([res.status, res.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });

    it('an API key reads the budget with metrics:read but never changes it', async () => {
      const created = await http()
        .post('/api/v1/api-keys')
        .set(users.owner.auth)
        .send({ name: 'ci', scopes: ['metrics:read'], orgId })
        .expect(201);
      const key = { Authorization: `Bearer ${created.body.key as string}` };
      await http().get(`/api/v1/orgs/${orgId}/budget`).set(key).expect(200);
      const put = await http()
        .put(`/api/v1/orgs/${orgId}/budget`)
        .set(key)
        .send({ monthlyLimitUsd: 1, memberMonthlyLimitUsd: null });
      expect(put.status).toBe(403);
      // Bound to this organization, it does not reach the rival's even were its owner a member there.
      const other = await http().get(`/api/v1/orgs/${rivalOrgId}/budget`).set(key);
      expect(other.status).toBe(404);
    });
  });

  describe('GET /metrics/usage?orgId=', () => {
    let keyId: string;
    let keyBearer: Record<string, string>;

    beforeAll(async () => {
      await http()
        .put(`/api/v1/orgs/${orgId}/budget`)
        .set(users.owner.auth)
        .send({ monthlyLimitUsd: null, memberMonthlyLimitUsd: null })
        .expect(200);
      const created = await http()
        .post('/api/v1/api-keys')
        .set(users.admin.auth)
        .send({ name: 'ci', scopes: ['metrics:read', 'tasks:write'], orgId })
        .expect(201);
      keyId = created.body.apiKey.id as string;
      keyBearer = { Authorization: `Bearer ${created.body.key as string}` };
      // 1000 in / 100 out on gpt-4o = 0.0035 per call.
      fake.script(() => ({ text: 'ok', usage: { input: 1000, output: 100 } }));
      await call({ userId: users.admin.id, orgId, apiKeyId: keyId });
      await call({ userId: users.admin.id, orgId, apiKeyId: keyId });
      await call({ userId: users.admin.id, orgId });
      await call({ userId: users.member.id, orgId });
      // The member's personal call and the rival organization's call are not this organization's.
      await call({ userId: users.member.id });
      await call({ userId: users.rival.id, orgId: rivalOrgId });
    });

    const keys = (items: Array<{ key: string | null; calls: number; costUsd: string }>) =>
      items.map((item) => [item.key, item.calls, item.costUsd]);

    it('groups the organization’s usage by member and by API key, for any member', async () => {
      for (const role of MEMBERS) {
        const byMember = await http()
          .get(`/api/v1/metrics/usage?orgId=${orgId}&groupBy=member`)
          .set(users[role].auth)
          .expect(200);
        expect(keys(byMember.body.items).sort()).toEqual(
          [
            [users.admin.id, 3, '0.01050000'],
            [users.member.id, 1, '0.00350000'],
          ].sort(),
        );
        expect(byMember.body.total).toMatchObject({ calls: 4, costUsd: '0.01400000' });
      }
      const byKey = await http()
        .get(`/api/v1/metrics/usage?orgId=${orgId}&groupBy=apiKey`)
        .set(users.viewer.auth)
        .expect(200);
      // Calls made without a key group under null, listed last.
      expect(keys(byKey.body.items)).toEqual([
        [keyId, 2, '0.00700000'],
        [null, 2, '0.00700000'],
      ]);
    });

    it('the rival organization’s usage holds only its own call', async () => {
      const res = await http()
        .get(`/api/v1/metrics/usage?orgId=${rivalOrgId}&groupBy=member`)
        .set(users.rival.auth)
        .expect(200);
      expect(keys(res.body.items)).toEqual([[users.rival.id, 1, '0.00350000']]);
    });

    it('is 404 to a non-member and to another organization’s owner, 400 for an unknown grouping', async () => {
      for (const as of [users.outsider, users.rival]) {
        const res = await http().get(`/api/v1/metrics/usage?orgId=${orgId}&groupBy=member`).set(as.auth);
        expect([res.status, res.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      }
      const bad = await http().get(`/api/v1/metrics/usage?orgId=${orgId}&groupBy=team`).set(users.owner.auth);
      expect([bad.status, bad.body.code]).toEqual([400, 'VALIDATION_FAILED']);
    });

    it('a key bound to the organization reads its usage and no other organization’s', async () => {
      const own = await http().get(`/api/v1/metrics/usage?orgId=${orgId}&groupBy=apiKey`).set(keyBearer).expect(200);
      expect(own.body.total.calls).toBe(4);
      // Its owner joins the rival organization: the key still stays within the one it is bound to.
      await addMember(rivalOrgId, users.admin, 'viewer');
      const other = await http().get(`/api/v1/metrics/usage?orgId=${rivalOrgId}`).set(keyBearer);
      expect([other.status, other.body.code]).toEqual([404, 'ORG_NOT_FOUND']);
      // Without ?orgId= a bound key reports its organization's usage, not its owner's personal spend.
      const implicit = await http().get('/api/v1/metrics/usage').set(keyBearer).expect(200);
      expect(implicit.body.total.calls).toBe(4);
    });
  });

  describe('thresholds', () => {
    it('mail the owners and admins once per threshold and reach only the organization’s webhooks', async () => {
      const [orgHook, ownerHook, rivalHook] = await Promise.all(
        [
          { as: users.admin, orgId },
          { as: users.owner, orgId: undefined },
          { as: users.rival, orgId: rivalOrgId },
        ].map(async ({ as, orgId: hookOrg }) => {
          const res = await http()
            .post('/api/v1/webhooks')
            .set(as.auth)
            .send({ url: 'http://127.0.0.1:9/hooks', events: ['budget.threshold_reached'], orgId: hookOrg })
            .expect(201);
          return res.body.id as string;
        }),
      );
      await http()
        .put(`/api/v1/orgs/${orgId}/budget`)
        .set(users.owner.auth)
        .send({ monthlyLimitUsd: '0.1', memberMonthlyLimitUsd: null, alertThresholds: [0.5, 0.8, 1] })
        .expect(200);
      const spent = await http().get(`/api/v1/orgs/${orgId}/budget`).set(users.owner.auth).expect(200);
      // Usage of the earlier test counts against this month's organization limit.
      expect(spent.body.spentUsd).toBe('0.01400000');
      // Each call settles at 0.02 (2000 output tokens × 10 $/M): 0.034, 0.054, (50 % seen) 0.074, 0.094;
      // the fifth call's reservation (≤ 0.01) does not fit: it is refused, and a refusal reaches 80 % and 100 %.
      fake.script(() => ({ text: 'done', usage: { input: 0, output: 2000 } }));
      const outcomes: string[] = [];
      for (let i = 0; i < 6; i++) {
        outcomes.push(
          await call({ userId: users.member.id, orgId }).then(
            () => 'ok',
            (error: { code: string }) => error.code,
          ),
        );
      }
      expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'BUDGET_EXCEEDED', 'BUDGET_EXCEEDED']);
      // More refusals at once, from several members, report nothing new.
      await Promise.allSettled([users.member, users.admin, users.owner].map((as) => call({ userId: as.id, orgId })));

      const subject = (pct: number) => (mail: { subject: string }) =>
        mail.subject.includes(`${pct} % of the organization's monthly`);
      for (const pct of [50, 80, 100]) {
        await smtp.waitFor(subject(pct));
      }
      // Give late mails a moment to arrive, then count: one per threshold and manager, none to others.
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const pct of [50, 80, 100]) {
        const recipients = smtp.messages.filter(subject(pct)).flatMap((mail) => mail.to);
        expect([pct, recipients.sort()]).toEqual([pct, [users.owner.email, users.admin.email].sort()]);
      }

      const deliveries = await eventually(async () => {
        const rows = await db.query<Array<{ subscription_id: string; data: Record<string, unknown> }>>(
          `SELECT subscription_id, (body::jsonb)->'data' AS data FROM webhook_deliveries
            WHERE event_type = 'budget.threshold_reached' AND subscription_id = ANY($1)`,
          [[orgHook, ownerHook, rivalHook]],
        );
        return rows.length >= 3 ? rows : null;
      });
      expect(deliveries.every((row) => row.subscription_id === orgHook)).toBe(true);
      expect(deliveries.map((row) => row.data.threshold).sort()).toEqual([0.5, 0.8, 1]);
      expect(deliveries[0].data).toMatchObject({ scope: 'org', id: orgId, orgId });
    });
  });
});
