import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { BareRepo, createBareRepo, freshClone, git, GitHttpServer, startGitHttpServer } from '../support/git-repos.js';
import { fakeLlmEnv } from '../support/llm.js';
import { scriptAgents, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const TOKEN = 'ghp_runsRepositoryToken_0123456789abcdef';
const FIX = { files: [{ path: 'src/sum.mjs', content: 'export const sum = (a, b) => a + b;\n' }] };
const TESTS = {
  files: [
    {
      path: 'test/sum.test.mjs',
      content: "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sum } from '../src/sum.mjs';\ntest('sum', () => assert.equal(sum(2, 3), 5));\n",
    },
  ],
};

/** Repository tasks: the run works on a clone, commits on quorum/<task-id>, serves the patch, opens a PR. */
describe('repository tasks end to end', () => {
  let fake: FakeLlm;
  let repo: BareRepo;
  let server: GitHttpServer;
  let github: FakeGitHub;
  let t: TestApp;
  let user: RegisteredUser;
  let repositoryId: string;

  beforeAll(async () => {
    fake = await startFakeLlm();
    repo = createBareRepo({ 'README.md': '# sums\n', 'src/sum.mjs': 'export const sum = (a, b) => a - b;\n', 'src/util.mjs': 'export const id = (x) => x;\n' });
    server = await startGitHttpServer(repo.root, TOKEN);
    github = await startFakeGitHub(TOKEN);
    t = await createTestApp({
      env: fakeLlmEnv(fake, { ALLOW_HTTP_REPOSITORIES: 'true', GITHUB_API_URL: github.url, GIT_AUTHOR_NAME: 'Quorum', GIT_AUTHOR_EMAIL: 'quorum@test.example' }),
    });
    user = await registerUser(t);
    repositoryId = (await t.http().post('/api/v1/repositories').set(user.auth).send({ url: `${server.url}/${repo.relative}`, accessToken: TOKEN }).expect(201)).body.id;
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
    await github?.close();
    await fake?.close();
    repo?.cleanup();
  });

  it('runs on a clone, commits the change, serves a git am-able patch and opens a pull request', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: { summary: 'fix the operator', steps: [{ title: 'fix', files: ['src/sum.mjs'] }] } }],
      write_files: [{ tool: FIX }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: { verdict: 'APPROVE', summary: 'fixed', issues: [] } }],
    });
    const task = (
      await t.http().post('/api/v1/tasks').set(user.auth).send({ title: 'Fix sum', description: 'sum subtracts; make it add.', language: 'javascript', repositoryId }).expect(201)
    ).body.task;
    const run = (await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;
    const done = await waitForRun(t, user.auth, run.id, ['completed', 'failed']);
    expect(done.status).toBe('completed');
    // The agents saw the repository's real code.
    expect(fake.requests.find((r) => r.forcedTool === 'submit_plan')!.prompt).toContain('export const sum = (a, b) => a - b;');

    const result = (await t.http().get(`/api/v1/tasks/${task.id}/result`).set(user.auth).expect(200)).body;
    expect(result.tests).toMatchObject({ passed: 1, failed: 0 });
    expect(result.diff).toContain('-export const sum = (a, b) => a - b;');
    expect(result.diff).toContain('+export const sum = (a, b) => a + b;');

    const patch = await t.http().get(`/api/v1/tasks/${task.id}/patch`).set(user.auth).expect(200);
    expect(patch.headers['content-type']).toContain('text/x-patch');
    const clone = freshClone(repo.path);
    try {
      git(['am', '-q'], clone.dir, patch.text);
      expect(readFileSync(join(clone.dir, 'src/sum.mjs'), 'utf8')).toBe(FIX.files[0].content);
      expect(readFileSync(join(clone.dir, 'test/sum.test.mjs'), 'utf8')).toBe(TESTS.files[0].content);
    } finally {
      clone.cleanup();
    }

    const pr = await t.http().post(`/api/v1/tasks/${task.id}/pull-request`).set(user.auth).send({}).expect(201);
    expect(pr.body).toEqual({ url: 'https://github.test/acme/widgets/pull/1', number: 1 });
    expect(github.requests.at(-1)!.body).toMatchObject({ head: `quorum/${task.id}`, base: 'main', title: 'Fix sum', body: expect.stringContaining('1 passed, 0 failed') });
    await t.http().post(`/api/v1/tasks/${task.id}/pull-request`).set(user.auth).send({}).expect(200);

    const other = await registerUser(t);
    await t.http().get(`/api/v1/tasks/${task.id}/patch`).set(other.auth).expect(404);
    await t.http().post(`/api/v1/tasks/${task.id}/pull-request`).set(other.auth).send({}).expect(404);
    await t.http().post('/api/v1/tasks').set(other.auth).send({ title: 'x', description: 'y', language: 'javascript', repositoryId }).expect(404);
  });

  it('serves a git am-able patch for a task without a repository, and refuses a pull request for it', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: { summary: 'sum', steps: [] } }],
      write_files: [{ tool: FIX }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: { verdict: 'APPROVE', summary: 'good', issues: [] } }],
    });
    const task = (await t.http().post('/api/v1/tasks').set(user.auth).send({ title: 'Sum', description: 'sum', language: 'javascript' }).expect(201)).body.task;
    await t.http().get(`/api/v1/tasks/${task.id}/patch`).set(user.auth).expect(404);
    const run = (await t.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run;
    expect((await waitForRun(t, user.auth, run.id, ['completed', 'failed'])).status).toBe('completed');
    const patch = await t.http().get(`/api/v1/tasks/${task.id}/patch`).set(user.auth).expect(200);
    const dir = mkdtempSync(join(tmpdir(), 'quorum-am-'));
    try {
      git(['init', '-q', dir]);
      git(['commit', '-q', '--allow-empty', '-m', 'root'], dir);
      git(['am', '-q'], dir, patch.text);
      expect(readFileSync(join(dir, 'src/sum.mjs'), 'utf8')).toBe(FIX.files[0].content);
      expect(git(['log', '-1', '--format=%s'], dir).trim()).toBe('Sum');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const refused = await t.http().post(`/api/v1/tasks/${task.id}/pull-request`).set(user.auth).send({}).expect(422);
    expect(refused.body.code).toBe('PULL_REQUEST_UNSUPPORTED');
  });
});
