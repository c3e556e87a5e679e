import { DataSource } from 'typeorm';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const ALL_SCOPES = [
  'tasks:read',
  'tasks:write',
  'runs:read',
  'runs:write',
  'repositories:read',
  'repositories:write',
  'webhooks:read',
  'webhooks:write',
  'metrics:read',
];

interface CreatedKey {
  id: string;
  key: string;
  bearer: Record<string, string>;
}

describe('API keys (HTTP)', () => {
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  async function createKey(
    owner: RegisteredUser,
    body: Record<string, unknown> = {},
    app: TestApp = t,
  ): Promise<CreatedKey> {
    const res = await app
      .http()
      .post('/api/v1/api-keys')
      .set(owner.auth)
      .send({ name: 'ci', scopes: ['tasks:read'], ...body })
      .expect(201);
    const key = res.body.key as string;
    return { id: res.body.apiKey.id as string, key, bearer: { Authorization: `Bearer ${key}` } };
  }

  beforeAll(async () => {
    t = await createTestApp();
    [alice, bob] = await Promise.all([registerUser(t), registerUser(t)]);
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates a key shown once, stores only its hash, lists it with prefix and lastUsedAt', async () => {
    const created = await t
      .http()
      .post('/api/v1/api-keys')
      .set(alice.auth)
      .send({ name: 'deploy', scopes: ['tasks:write', 'tasks:read'], monthlyLimitUsd: 12.5 })
      .expect(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^qk_[A-Za-z0-9_-]{43}$/);
    expect(created.body.apiKey).toEqual({
      id: expect.any(String),
      userId: alice.id,
      name: 'deploy',
      prefix: key.slice(0, 11),
      scopes: ['tasks:read', 'tasks:write'],
      expiresAt: null,
      orgId: null,
      monthlyLimitUsd: '12.50000000',
      lastUsedAt: null,
      createdAt: expect.any(String),
    });
    const [row] = await t.app
      .get(DataSource)
      .query<{ key_hash: string }[]>('SELECT key_hash FROM api_keys WHERE id = $1', [created.body.apiKey.id]);
    expect(row.key_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.key_hash).not.toContain(key.slice(3));

    const me = await t
      .http()
      .get('/api/v1/users/me')
      .set({ Authorization: `Bearer ${key}` })
      .expect(200);
    expect(me.body).toMatchObject({ id: alice.id, email: alice.email });

    const listed = await t.http().get('/api/v1/api-keys').set(alice.auth).expect(200);
    const item = listed.body.items.find((k: { id: string }) => k.id === created.body.apiKey.id);
    expect(item).toMatchObject({ prefix: key.slice(0, 11), name: 'deploy' });
    expect(item.lastUsedAt).toEqual(expect.any(String));
    expect(JSON.stringify(listed.body)).not.toContain(key);
    // Bob does not see Alice's keys.
    const bobs = await t.http().get('/api/v1/api-keys').set(bob.auth).expect(200);
    expect(bobs.body.items.map((k: { id: string }) => k.id)).not.toContain(created.body.apiKey.id);
  });

  it.each([
    ['no name', { scopes: ['tasks:read'] }, 'name'],
    ['no scopes', { name: 'x', scopes: [] }, 'scopes'],
    ['an unknown scope', { name: 'x', scopes: ['tasks:admin'] }, 'scopes'],
    ['a duplicate scope', { name: 'x', scopes: ['tasks:read', 'tasks:read'] }, 'scopes'],
    ['an expiry in the past', { name: 'x', scopes: ['tasks:read'], expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt'],
    ['a bad expiry', { name: 'x', scopes: ['tasks:read'], expiresAt: 'tomorrow' }, 'expiresAt'],
    ['a negative limit', { name: 'x', scopes: ['tasks:read'], monthlyLimitUsd: -1 }, 'monthlyLimitUsd'],
    ['an unknown field', { name: 'x', scopes: ['tasks:read'], admin: true }, 'admin'],
  ])('refuses a key with %s (400, nothing created)', async (_label, body, field) => {
    const before = await t.app.get(DataSource).query<{ n: number }[]>('SELECT count(*)::int AS n FROM api_keys');
    const res = await t.http().post('/api/v1/api-keys').set(alice.auth).send(body).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    const after = await t.app.get(DataSource).query<{ n: number }[]>('SELECT count(*)::int AS n FROM api_keys');
    expect(after[0].n).toBe(before[0].n);
  });

  it('a key bound to an organization that does not exist (or is not yours) is 404', async () => {
    const res = await t
      .http()
      .post('/api/v1/api-keys')
      .set(alice.auth)
      .send({ name: 'x', scopes: ['tasks:read'], orgId: '00000000-0000-4000-8000-000000000000' })
      .expect(404);
    expect(res.body.code).toBe('ORG_NOT_FOUND');
  });

  it('scopes: each route needs its read or write scope (403 INSUFFICIENT_SCOPE otherwise)', async () => {
    const reader = await createKey(alice, { scopes: ['tasks:read'] });
    await t.http().get('/api/v1/tasks').set(reader.bearer).expect(200);
    const denied = await t
      .http()
      .post('/api/v1/tasks')
      .set(reader.bearer)
      .send({ title: 't', description: 'd', language: 'python' })
      .expect(403);
    expect(denied.body.code).toBe('INSUFFICIENT_SCOPE');
    expect(denied.body.detail).toContain('tasks:write');
    for (const path of ['/api/v1/webhooks', '/api/v1/repositories', '/api/v1/agents/runs', '/api/v1/metrics/usage']) {
      const res = await t.http().get(path).set(reader.bearer).expect(403);
      expect(res.body.code).toBe('INSUFFICIENT_SCOPE');
    }

    const writer = await createKey(alice, { scopes: ['tasks:read', 'tasks:write', 'metrics:read', 'webhooks:read'] });
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(writer.bearer)
      .send({ title: 't', description: 'd', language: 'python' })
      .expect(201);
    // The task is the key owner's: the owner's session sees it.
    await t.http().get(`/api/v1/tasks/${task.body.task.id}`).set(alice.auth).expect(200);
    // Executing is a runs:write action.
    const execute = await t.http().post(`/api/v1/tasks/${task.body.task.id}/execute`).set(writer.bearer).expect(403);
    expect(execute.body.detail).toContain('runs:write');
    await t.http().get('/api/v1/metrics/usage').set(writer.bearer).expect(200);
    await t.http().get('/api/v1/metrics/budget').set(writer.bearer).expect(200);
    await t.http().get('/api/v1/webhooks').set(writer.bearer).expect(200);
    // Routes no scope opens (changing the budget, the profile, admin routes) stay closed to keys.
    for (const req of [
      t.http().put('/api/v1/metrics/budget').send({ monthlyLimitUsd: 1 }),
      t.http().patch('/api/v1/users/me').send({ name: 'x' }),
    ]) {
      const res = await req.set(writer.bearer).expect(403);
      expect(res.body.code).toBe('INSUFFICIENT_SCOPE');
    }
    // Bob's task is 404 to Alice's key, as to Alice.
    const bobTask = await t
      .http()
      .post('/api/v1/tasks')
      .set(bob.auth)
      .send({ title: 't', description: 'd', language: 'python' })
      .expect(201);
    await t.http().get(`/api/v1/tasks/${bobTask.body.task.id}`).set(writer.bearer).expect(404);
  });

  it('account routes refuse keys with 403, whatever their scopes', async () => {
    const full = await createKey(alice, { scopes: ALL_SCOPES });
    const requests = [
      t.http().get('/api/v1/auth/sessions'),
      t.http().delete('/api/v1/auth/sessions'),
      t.http().post('/api/v1/auth/logout'),
      t.http().post('/api/v1/auth/password/change').send({ currentPassword: alice.password, newPassword: 'x' }),
      t.http().get('/api/v1/two-factor/status'),
      t.http().post('/api/v1/two-factor/setup'),
      t.http().get('/api/v1/api-keys'),
      t.http().post('/api/v1/api-keys').send({ name: 'escalate', scopes: ALL_SCOPES }),
      t.http().delete(`/api/v1/api-keys/${full.id}`),
      t.http().delete('/api/v1/users/me').send({ password: alice.password }),
      t.http().get('/api/v1/auth/oauth/accounts'),
    ];
    for (const req of requests) {
      const res = await req.set(full.bearer);
      expect({ status: res.status, code: res.body.code }).toEqual({ status: 403, code: 'API_KEY_NOT_ALLOWED' });
    }
    // Nothing happened: the account, its sessions and the key are all still there.
    await t.http().get('/api/v1/users/me').set(alice.auth).expect(200);
    await t.http().get('/api/v1/users/me').set(full.bearer).expect(200);
  });

  it('bad keys are 401', async () => {
    for (const token of ['qk_short', `qk_${'A'.repeat(43)}`]) {
      const res = await t
        .http()
        .get('/api/v1/users/me')
        .set({ Authorization: `Bearer ${token}` })
        .expect(401);
      expect(res.body.code).toBe('INVALID_API_KEY');
    }
  });

  it('an expired key is refused (401 API_KEY_EXPIRED), even after it was used', async () => {
    const soon = await createKey(alice, { expiresAt: new Date(Date.now() + 1500).toISOString() });
    await t.http().get('/api/v1/users/me').set(soon.bearer).expect(200);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const res = await t.http().get('/api/v1/users/me').set(soon.bearer).expect(401);
    expect(res.body.code).toBe('API_KEY_EXPIRED');
  });

  it('a deactivated owner’s keys stop working', async () => {
    const carol = await registerUser(t);
    const key = await createKey(carol);
    await t.http().get('/api/v1/tasks').set(key.bearer).expect(200);
    const admin = await registerUser(t, { role: 'admin' });
    await t.http().patch(`/api/v1/users/${carol.id}`).set(admin.auth).send({ isActive: false }).expect(200);
    const res = await t.http().get('/api/v1/tasks').set(key.bearer).expect(403);
    expect(res.body.code).toBe('ACCOUNT_DISABLED');
  });

  it('revocation is seen at once by a second API process; another user’s key is 404', async () => {
    const other = await createTestApp({ databaseUrl: t.databaseUrl, redisPrefix: t.redisPrefix });
    try {
      const key = await createKey(alice);
      // Both processes have checked (and cached) the key.
      await t.http().get('/api/v1/tasks').set(key.bearer).expect(200);
      await other.http().get('/api/v1/tasks').set(key.bearer).expect(200);

      const notYours = await t.http().delete(`/api/v1/api-keys/${key.id}`).set(bob.auth).expect(404);
      expect(notYours.body.code).toBe('API_KEY_NOT_FOUND');
      await other.http().get('/api/v1/tasks').set(key.bearer).expect(200);
      await t.http().delete('/api/v1/api-keys/not-a-uuid').set(alice.auth).expect(400);

      await t.http().delete(`/api/v1/api-keys/${key.id}`).set(alice.auth).expect(204);
      const refused = await other.http().get('/api/v1/tasks').set(key.bearer).expect(401);
      expect(refused.body.code).toBe('API_KEY_REVOKED');
      await t.http().get('/api/v1/tasks').set(key.bearer).expect(401);
      // Gone from the list; revoking it again is 404.
      const listed = await t.http().get('/api/v1/api-keys').set(alice.auth).expect(200);
      expect(listed.body.items.map((k: { id: string }) => k.id)).not.toContain(key.id);
      await t.http().delete(`/api/v1/api-keys/${key.id}`).set(alice.auth).expect(404);
      // Alice's session is untouched.
      await t.http().get('/api/v1/users/me').set(alice.auth).expect(200);
    } finally {
      await other.close();
    }
  });

  it("lets the organization's admins and owners list and revoke its keys, whoever holds them, and nobody else", async () => {
    const [owner, admin, admin2, member, viewer, outsider, otherOwner] = await Promise.all(
      Array.from({ length: 7 }, () => registerUser(t)),
    );
    const db = t.app.get(DataSource);
    const orgOf = async (by: RegisteredUser, members: Array<[RegisteredUser, string]>) => {
      const org = (await t.http().post('/api/v1/orgs').set(by.auth).send({ name: 'Keys Inc' }).expect(201)).body.org;
      for (const [user, role] of members)
        await db.query('INSERT INTO org_memberships (org_id, user_id, role) VALUES ($1, $2, $3)', [
          org.id,
          user.id,
          role,
        ]);
      return org.id as string;
    };
    const orgId = await orgOf(owner, [
      [admin, 'admin'],
      [admin2, 'admin'],
      [member, 'member'],
      [viewer, 'viewer'],
    ]);
    const otherOrg = await orgOf(otherOwner, []);
    const adminKey = await createKey(admin, { orgId });
    const ownerKey = await createKey(owner, { orgId });
    const adminOwn = await createKey(admin);
    const memberOwn = await createKey(member);
    const foreign = await createKey(otherOwner, { orgId: otherOrg });
    // Binding a key to the organization is an admin's.
    await t
      .http()
      .post('/api/v1/api-keys')
      .set(member.auth)
      .send({ name: 'x', scopes: ['tasks:read'], orgId })
      .expect(403);

    // Listing: every member's key bound to the organization, with who holds it; only to admins and owners.
    for (const who of [owner, admin]) {
      const listed = await t.http().get(`/api/v1/api-keys?orgId=${orgId}`).set(who.auth).expect(200);
      const items = listed.body.items as Array<{ id: string; userId: string; orgId: string }>;
      expect(items.map((k) => k.id).sort()).toEqual([adminKey.id, ownerKey.id].sort());
      expect(items.find((k) => k.id === adminKey.id)).toMatchObject({ userId: admin.id, orgId });
      expect(JSON.stringify(listed.body)).not.toContain(adminKey.key);
    }
    for (const who of [member, viewer])
      await t
        .http()
        .get(`/api/v1/api-keys?orgId=${orgId}`)
        .set(who.auth)
        .expect(403)
        .expect((res) => expect(res.body.code).toBe('FORBIDDEN'));
    for (const who of [outsider, otherOwner])
      await t
        .http()
        .get(`/api/v1/api-keys?orgId=${orgId}`)
        .set(who.auth)
        .expect(404)
        .expect((res) => expect(res.body.code).toBe('ORG_NOT_FOUND'));
    await t.http().get('/api/v1/api-keys?orgId=nope').set(owner.auth).expect(400);
    await t.http().get(`/api/v1/api-keys?orgId=${orgId}`).set(adminKey.bearer).expect(403);
    // Without orgId: still only my own keys.
    const mine = await t.http().get('/api/v1/api-keys').set(owner.auth).expect(200);
    expect(mine.body.items.map((k: { id: string }) => k.id)).toEqual([ownerKey.id]);

    // Revoking: nobody reaches a personal key of someone else, another organization's key, or (below
    // admin) the organization's keys; each is 404 and the key keeps working.
    const refusals: Array<[RegisteredUser, CreatedKey]> = [
      [owner, adminOwn],
      [admin, memberOwn],
      [member, adminKey],
      [viewer, adminKey],
      [outsider, adminKey],
      [otherOwner, adminKey],
      [owner, foreign],
    ];
    for (const [who, key] of refusals) {
      const res = await t.http().delete(`/api/v1/api-keys/${key.id}`).set(who.auth).expect(404);
      expect(res.body.code).toBe('API_KEY_NOT_FOUND');
      await t.http().get('/api/v1/users/me').set(key.bearer).expect(200);
    }

    // Another admin revokes an admin's organization key, an admin the owner's: refused at once.
    await t.http().delete(`/api/v1/api-keys/${adminKey.id}`).set(admin2.auth).expect(204);
    await t.http().get('/api/v1/users/me').set(adminKey.bearer).expect(401);
    await t.http().delete(`/api/v1/api-keys/${ownerKey.id}`).set(admin.auth).expect(204);
    await t.http().get('/api/v1/users/me').set(ownerKey.bearer).expect(401);
    await t.http().delete(`/api/v1/api-keys/${adminKey.id}`).set(owner.auth).expect(404);
    expect((await t.http().get(`/api/v1/api-keys?orgId=${orgId}`).set(owner.auth).expect(200)).body.items).toEqual([]);
    // The holders' own keys and sessions are untouched.
    await t.http().get('/api/v1/users/me').set(adminOwn.bearer).expect(200);
    await t.http().get('/api/v1/users/me').set(admin.auth).expect(200);

    // The holder finds the revocation in their own account's audit trail, with who did it.
    const audit = await t.http().get('/api/v1/audit-events?action=api_key.revoked').set(admin.auth).expect(200);
    expect(audit.body.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ actorId: admin2.id, targetId: adminKey.id, orgId }),
        expect.objectContaining({ actorId: admin.id, targetId: ownerKey.id, orgId }),
      ]),
    );
  });
});

describe('API keys: rate limits per key', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { RATE_LIMIT_ENABLED: 'true', RATE_LIMIT_PER_MINUTE: '3' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('each key has its own bucket', async () => {
    const owner = await registerUser(t);
    const keys: string[] = [];
    for (const name of ['a', 'b']) {
      const res = await t
        .http()
        .post('/api/v1/api-keys')
        .set(owner.auth)
        .send({ name, scopes: ['tasks:read'] })
        .expect(201);
      keys.push(res.body.key as string);
    }
    const [first, second] = keys.map((key) => ({ Authorization: `Bearer ${key}` }));
    for (let i = 0; i < 3; i++) await t.http().get('/api/v1/tasks').set(first).expect(200);
    const limited = await t.http().get('/api/v1/tasks').set(first).expect(429);
    expect(limited.headers['retry-after']).toEqual(expect.any(String));
    // The other key, and the owner's session, still have their own.
    await t.http().get('/api/v1/tasks').set(second).expect(200);
    await t.http().get('/api/v1/tasks').set(owner.auth).expect(200);
  });
});
