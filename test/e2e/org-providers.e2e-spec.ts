import { randomUUID } from 'node:crypto';
import { LlmGatewayService } from '../../src/agents/llm/llm-gateway.service.js';
import type { LlmCallRequest } from '../../src/agents/llm/llm.types.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { createLlmContext, fakeLlmEnv, LlmTestContext } from '../support/llm.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/**
 * An organization admin's provider switches (`/orgs/:id/providers`): set in the API process, obeyed
 * at once by a worker process for that organization's calls only, audited with the organization.
 */
describe('Organization provider switches: one API process, one worker process', () => {
  let fake: FakeLlm;
  let api: TestApp;
  let worker: LlmTestContext;
  let admin: RegisteredUser;
  const acme = { id: '', owner: {} as RegisteredUser, admin: {} as RegisteredUser, member: {} as RegisteredUser };
  const other = { id: '', owner: {} as RegisteredUser };
  let outsider: RegisteredUser;

  const createOrg = async (owner: RegisteredUser, name: string): Promise<string> =>
    (await api.http().post('/api/v1/orgs').set(owner.auth).send({ name }).expect(201)).body.org.id as string;
  const join = (orgId: string, user: RegisteredUser, role: 'admin' | 'member') =>
    worker.dataSource.query('INSERT INTO org_memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [
      orgId,
      user.id,
      role,
    ]);

  beforeAll(async () => {
    fake = await startFakeLlm();
    const env = fakeLlmEnv(fake, {
      AGENT_MODELS: 'coder=anthropic:claude-sonnet-4-6|openai:gpt-4o',
      LLM_FALLBACK_ORDER: 'google:gemini-2.5-flash',
    });
    api = await createTestApp({ env });
    worker = await createLlmContext({ env, databaseUrl: api.databaseUrl, redisPrefix: api.redisPrefix });
    admin = await registerUser(api, { role: 'admin' });
    acme.owner = await registerUser(api);
    acme.admin = await registerUser(api);
    acme.member = await registerUser(api);
    other.owner = await registerUser(api);
    outsider = await registerUser(api);
    acme.id = await createOrg(acme.owner, 'Acme');
    other.id = await createOrg(other.owner, 'Other');
    await join(acme.id, acme.admin, 'admin');
    await join(acme.id, acme.member, 'member');
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await fake?.close();
  });
  afterEach(() => fake.reset());

  const coderCall = (orgId: string | null): LlmCallRequest => ({
    context: { userId: acme.member.id, orgId, agent: 'coder', runId: randomUUID() },
    messages: [{ role: 'user', content: 'Add two numbers.' }],
  });
  const served = async (orgId: string | null) =>
    (await worker.app.get(LlmGatewayService).call(coderCall(orgId))).provider;
  const list = (who: RegisteredUser, orgId = acme.id) =>
    api.http().get(`/api/v1/orgs/${orgId}/providers`).set(who.auth);
  const patch = (who: RegisteredUser, name: string, body: unknown, orgId = acme.id) =>
    api
      .http()
      .patch(`/api/v1/orgs/${orgId}/providers/${name}`)
      .set(who.auth)
      .send(body as object);
  const switched = (items: { disabled: boolean; forced: boolean }[]) => items.filter((i) => i.disabled || i.forced);

  it("an org admin's disable is obeyed at once by the worker, for that organization's calls only", async () => {
    // Every scope holds its (empty) copy of the switches from these calls.
    expect(await served(acme.id)).toBe('openai');
    expect(await served(other.id)).toBe('openai');

    const res = await patch(acme.admin, 'openai', { disabled: true }).expect(200);
    expect(res.body).toEqual({ name: 'openai', enabled: true, disabled: true, forced: false, disabledByAdmin: false });

    const next = await worker.app.get(LlmGatewayService).call(coderCall(acme.id));
    expect(next.provider).toBe('anthropic');
    expect(next.routing?.reason).toContain('openai:gpt-4o skipped: disabled');
    expect(await served(other.id)).toBe('openai');
    expect(await served(null)).toBe('openai');
    // The deployment's own switches are untouched.
    const global = await api.http().get('/api/v1/admin/providers').set(admin.auth).expect(200);
    expect(switched(global.body.items as { disabled: boolean; forced: boolean }[])).toEqual([]);

    await patch(acme.admin, 'openai', { disabled: false }).expect(200);
    expect(await served(acme.id)).toBe('openai');
  });

  it("an org's forced provider serves its calls, and forcing another un-forces the first", async () => {
    await patch(acme.owner, 'google', { forced: true }).expect(200);
    expect(await served(acme.id)).toBe('google');
    expect(await served(other.id)).toBe('openai');

    await patch(acme.admin, 'anthropic', { forced: true }).expect(200);
    expect(await served(acme.id)).toBe('anthropic');
    const items = (await list(acme.member).expect(200)).body.items as { name: string; forced: boolean }[];
    expect(items.filter((i) => i.forced).map((i) => i.name)).toEqual(['anthropic']);
    await patch(acme.admin, 'anthropic', { forced: false }).expect(200);
    expect(await served(acme.id)).toBe('openai');
  });

  it('cannot undo or force what the deployment admin disabled', async () => {
    await api.http().patch('/api/v1/admin/providers/anthropic').set(admin.auth).send({ disabled: true }).expect(200);
    try {
      const refused = await patch(acme.admin, 'anthropic', { forced: true }).expect(409);
      expect(refused.body.code).toBe('PROVIDER_DISABLED');
      // Enabling it for the organization changes nothing: disabled by either is skipped.
      await patch(acme.admin, 'anthropic', { disabled: false }).expect(200);
      const items = (await list(acme.admin).expect(200)).body.items as { name: string }[];
      expect(items.find((i) => i.name === 'anthropic')).toEqual({
        name: 'anthropic',
        enabled: true,
        disabled: false,
        forced: false,
        disabledByAdmin: true,
      });
      await patch(acme.admin, 'openai', { disabled: true }).expect(200);
      const next = await worker.app.get(LlmGatewayService).call(coderCall(acme.id));
      expect(next.provider).toBe('google');
    } finally {
      await api.http().patch('/api/v1/admin/providers/anthropic').set(admin.auth).send({ disabled: false }).expect(200);
      await patch(acme.admin, 'openai', { disabled: false }).expect(200);
    }
  });

  it("refuses members, outsiders, another organization's admin, unknown providers and bad bodies, changing nothing", async () => {
    // A member reads the switches; only an admin changes them.
    await list(acme.member).expect(200);
    expect((await patch(acme.member, 'openai', { disabled: true }).expect(403)).body.code).toBe('FORBIDDEN');
    // Not a member: the organization does not exist for them.
    await list(outsider).expect(404);
    await patch(outsider, 'openai', { disabled: true }).expect(404);
    await patch(other.owner, 'openai', { disabled: true }).expect(404);
    // Acme's admin is nobody in the other organization.
    await list(acme.admin, other.id).expect(404);
    await patch(acme.admin, 'openai', { disabled: true }, other.id).expect(404);
    expect((await patch(acme.admin, 'nope', { disabled: true }).expect(404)).body.code).toBe('PROVIDER_NOT_FOUND');
    for (const body of [{}, { disabled: 'yes' }, { disabled: true, forced: true }, { disabled: true, extra: 1 }]) {
      expect((await patch(acme.admin, 'openai', body).expect(400)).body.code).toBe('VALIDATION_FAILED');
    }
    expect((await patch(acme.admin, 'openrouter', { forced: true }).expect(409)).body.code).toBe(
      'PROVIDER_NOT_CONFIGURED',
    );
    expect(
      switched((await list(acme.admin).expect(200)).body.items as { disabled: boolean; forced: boolean }[]),
    ).toEqual([]);
    expect(
      switched((await list(other.owner, other.id).expect(200)).body.items as { disabled: boolean; forced: boolean }[]),
    ).toEqual([]);
  });

  it("each change is an audit event of the organization, seen by its admins and not by another organization's", async () => {
    const events = await api
      .http()
      .get('/api/v1/audit-events')
      .query({ orgId: acme.id, action: 'llm.provider_updated', limit: 100 })
      .set(acme.admin.auth)
      .expect(200);
    const items = events.body.items as { actorId: string; orgId: string; data: { provider: string; after: unknown } }[];
    expect(items.length).toBeGreaterThanOrEqual(8);
    expect(items.every((e) => e.orgId === acme.id)).toBe(true);
    expect(items.map((e) => e.actorId)).toContain(acme.owner.id);
    expect(items).toContainEqual(
      expect.objectContaining({
        actorId: acme.admin.id,
        data: { provider: 'openai', change: { disabled: true }, after: { disabled: true, forced: false } },
      }),
    );
    await api.http().get('/api/v1/audit-events').query({ orgId: acme.id }).set(other.owner.auth).expect(404);
    await api.http().get('/api/v1/audit-events').query({ orgId: acme.id }).set(acme.member.auth).expect(403);
    const theirs = await api
      .http()
      .get('/api/v1/audit-events')
      .query({ orgId: other.id, action: 'llm.provider_updated' })
      .set(other.owner.auth)
      .expect(200);
    expect(theirs.body.items).toEqual([]);
  });
});
