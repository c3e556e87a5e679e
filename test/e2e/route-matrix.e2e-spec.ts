import { randomUUID } from 'node:crypto';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { BareRepo, createBareRepo } from '../support/git-repos.js';
import { createTestApp, TestApp } from '../support/test-app.js';

/**
 * Every operation of the live OpenAPI document, swept for the answers API.md promises on every
 * route, so that a route added tomorrow is held to them without anyone remembering to: without
 * credentials a protected route answers 401; a malformed path id is a 4xx, never a 500; a body with
 * a field nobody declared is refused with 400 before anything happens. Each answer is problem details.
 */
interface Operation {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  path: string;
  secured: boolean;
  hasBody: boolean;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;
/** Redirecting browser routes (302 by design, no problem details) are covered by the OAuth suites. */
const BROWSER_ROUTES = new Set(['/oauth/{provider}', '/oauth/{provider}/callback']);
/** Long-lived responses: an SSE stream is checked by its own suite once it has a run to follow. */
const STREAMS = new Set(['/api/v1/agents/runs/{id}/stream']);

/** Fills path parameters: ids with `id` (a UUID unless a test wants a bad one), names with a known word. */
function fill(path: string, id: () => string): string {
  return path.replace(/\{(\w+)\}/g, (_, name: string) =>
    name === 'provider' ? 'github' : name === 'name' ? 'openai' : id(),
  );
}

function expectProblem(label: string, res: { status: number; headers: Record<string, string>; body: unknown }) {
  const body = res.body as { status?: number; code?: string; title?: string };
  expect([label, res.headers['content-type']]).toEqual([label, expect.stringMatching(/^application\/problem\+json/)]);
  expect([label, body.status, typeof body.code, typeof body.title]).toEqual([label, res.status, 'string', 'string']);
}

describe('every route of the OpenAPI document (HTTP)', () => {
  let t: TestApp;
  let user: RegisteredUser;
  let operations: Operation[];
  let repo: BareRepo;

  beforeAll(async () => {
    repo = createBareRepo();
    t = await createTestApp({ env: { ALLOW_LOCAL_REPOSITORIES: 'true', WEBHOOK_ALLOW_PRIVATE_URLS: 'true' } });
    user = await registerUser(t);
    const doc = (await t.http().get('/api/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown }>>;
    };
    operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      METHODS.filter((method) => item[method]).map((method) => ({
        method,
        path,
        secured: (item[method].security ?? []).length > 0,
        hasBody: item[method].requestBody !== undefined,
      })),
    );
  });
  afterAll(async () => {
    await t?.close();
    repo?.cleanup();
  });

  const send = (op: Operation, path: string, auth?: Record<string, string>, body?: object) => {
    let req = t.http()[op.method](path);
    if (auth) req = req.set(auth);
    return body ? req.send(body) : req;
  };

  it('has the routes it sweeps (the document is the live one)', () => {
    expect(operations.length).toBeGreaterThan(80);
    expect(operations.filter((op) => op.secured).length).toBeGreaterThan(70);
    expect(operations.filter((op) => op.hasBody).length).toBeGreaterThan(30);
  });

  it('answers 401 problem details on every protected route without credentials', async () => {
    const answered: string[] = [];
    for (const op of operations.filter((o) => o.secured && !BROWSER_ROUTES.has(o.path))) {
      const label = `${op.method.toUpperCase()} ${op.path}`;
      const res = await send(op, fill(op.path, randomUUID), undefined, op.hasBody ? {} : undefined);
      expect([label, res.status]).toEqual([label, 401]);
      expectProblem(label, res);
      answered.push(label);
    }
    expect(answered).toContain('DELETE /api/v1/users/me');
  });

  it('answers a 4xx problem, never a 5xx, to a malformed id on every route that takes one', async () => {
    const withIds = operations.filter(
      (op) => /\{(id|userId|invitationId|deliveryId)\}/.test(op.path) && !STREAMS.has(op.path),
    );
    expect(withIds.length).toBeGreaterThan(30);
    for (const op of withIds) {
      for (const bad of ['not-a-uuid', '1%27%20OR%201%3D1', 'x'.repeat(300)]) {
        const label = `${op.method.toUpperCase()} ${op.path} with ${bad.slice(0, 20)}`;
        const res = await send(
          op,
          fill(op.path, () => bad),
          user.auth,
          op.hasBody ? {} : undefined,
        );
        expect([label, res.status >= 400 && res.status < 500]).toEqual([label, true]);
        expectProblem(label, res);
      }
    }
  });

  it('refuses a body field nobody declared with 400, on every route that takes a body', async () => {
    // Signed in as an admin who owns one of each resource, so the body is what is judged.
    const admin = await registerUser(t, { role: 'admin' });
    const created = async (path: string, body: object) => {
      const res = await t.http().post(path).set(admin.auth).send(body);
      expect([path, res.status, res.body]).toEqual([path, 201, expect.anything()]);
      return res.body as Record<string, { id: string }> & { id?: string };
    };
    const task = (await created('/api/v1/tasks', { title: 'T', description: 'D', language: 'javascript' })).task;
    const org = (await created('/api/v1/orgs', { name: 'Matrix' })).org;
    const webhook = await created('/api/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['*'] });
    const repository = await created('/api/v1/repositories', { url: `file://${repo.path}` });
    const owned: Record<string, string> = {
      tasks: task.id,
      orgs: org.id,
      webhooks: (webhook.webhook ?? webhook).id,
      repositories: (repository.repository ?? repository).id,
      users: admin.id,
      members: admin.id,
    };
    const resolve = (path: string) =>
      path.replace(/\/(\w+)\/\{(\w+)\}/g, (_, segment: string, name: string) => {
        if (name === 'provider') return `/${segment}/github`;
        if (name === 'name') return `/${segment}/openai`;
        return `/${segment}/${owned[segment] ?? randomUUID()}`;
      });
    // No run exists in this suite: its resume answers 404 first (budget-pause and runs suites send it bad bodies).
    const withoutResource = new Set(['POST /api/v1/agents/runs/{id}/resume']);
    const refused: string[] = [];
    for (const op of operations.filter((o) => o.hasBody && !BROWSER_ROUTES.has(o.path))) {
      const label = `${op.method.toUpperCase()} ${op.path}`;
      const res = await send(op, resolve(op.path), op.secured ? admin.auth : undefined, {
        quorumUndeclaredField: 1,
      });
      if (withoutResource.has(label)) {
        expect([label, res.status]).toEqual([label, 404]);
        expectProblem(label, res);
        continue;
      }
      expect([label, res.status]).toEqual([label, 400]);
      expectProblem(label, res);
      expect([label, JSON.stringify(res.body)]).toEqual([label, expect.stringContaining('quorumUndeclaredField')]);
      refused.push(label);
    }
    expect(refused).toEqual(
      expect.arrayContaining(['POST /api/v1/auth/register', 'PATCH /api/v1/tasks/{id}', 'PATCH /api/v1/orgs/{id}']),
    );
    // Nothing happened on the way: the admin is still signed in, and what they own is unchanged.
    const me = await t.http().get('/api/v1/users/me').set(admin.auth).expect(200);
    expect(me.body).toMatchObject({ email: admin.email, role: 'admin' });
    const after = await t.http().get(`/api/v1/tasks/${task.id}`).set(admin.auth).expect(200);
    expect(after.body.task).toMatchObject({ title: 'T', description: 'D' });
    await t
      .http()
      .get(`/api/v1/orgs/${org.id}`)
      .set(admin.auth)
      .expect(200)
      .expect((res) => expect(res.body.org.name).toBe('Matrix'));
  });
});
