import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkspaceService } from '../../src/agents/workspace/workspace.service.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { captureOutput } from '../support/capture-output.js';
import { FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { FakeLlm, startFakeLlm } from '../support/fake-llm/index.js';
import { BareRepo, createBareRepo, freshClone, git, GitHttpServer, startGitHttpServer } from '../support/git-repos.js';
import { fakeLlmEnv } from '../support/llm.js';
import { commandLinesContaining } from '../support/process-watch.js';
import { agentOf, runEvents, scriptAgents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver.js';

const TOKEN = 'ghp_runToken_0123456789abcdefXYZ';
const SUM_BUGGY = 'export function sum(a, b) {\n  return a - b;\n}\n';
const SUM_FIXED = 'export function sum(a, b) {\n  return a + b;\n}\n';
const EXISTING_TEST = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { one } from '../src/one.mjs';",
  "test('the repository’s own test', () => assert.equal(one(), 1));",
  '',
].join('\n');
const NEW_TESTS = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { sum } from '../src/sum.mjs';",
  "test('adds', () => assert.equal(sum(1, 2), 3));",
  "test('adds zero', () => assert.equal(sum(2, 0), 2));",
  '',
].join('\n');
const PLAN = {
  summary: 'Make sum add',
  steps: [{ title: 'Fix the operator', detail: 'a - b → a + b', files: ['src/sum.mjs'] }],
};
const APPROVE = { verdict: 'APPROVE', summary: 'Correct now.', score: 9, issues: [] };

/**
 * A task on a real git repository from start to pull request: a token-protected smart-HTTP git
 * server, the fake LLM for the agents, the real sandbox for the tests and a GitHub REST stand-in.
 */
describe('repository tasks (HTTP, real git, fake LLM, GitHub stand-in)', () => {
  let repo: BareRepo;
  let server: GitHttpServer;
  let github: FakeGitHub;
  let fake: FakeLlm;
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let output: ReturnType<typeof captureOutput>;
  let receiver: WebhookReceiver;
  const bodies: string[] = [];
  const url = () => `${server.url}/${repo.relative}`;

  beforeAll(async () => {
    output = captureOutput();
    repo = createBareRepo(
      {
        'README.md': '# widgets\n',
        'src/sum.mjs': SUM_BUGGY,
        'src/one.mjs': 'export const one = () => 1;\n',
        'test/one.test.mjs': EXISTING_TEST,
      },
      { symlinks: { 'passwd-link': '/etc/passwd' } },
    );
    server = await startGitHttpServer(repo.root, TOKEN);
    github = await startFakeGitHub(TOKEN);
    fake = await startFakeLlm();
    receiver = await startWebhookReceiver();
    t = await createTestApp({
      env: fakeLlmEnv(fake, {
        AGENT_TIMEOUT_SECONDS: '10',
        ALLOW_HTTP_REPOSITORIES: 'true',
        ALLOW_PRIVATE_REPOSITORY_HOSTS: 'true',
        GITHUB_API_URL: github.url,
        GIT_AUTHOR_NAME: 'Quorum Agent',
        GIT_AUTHOR_EMAIL: 'agent@quorum.test',
        LOG_LEVEL: 'debug',
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      }),
    });
    alice = await registerUser(t);
    bob = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await github?.close();
    await server?.close();
    await receiver?.close();
    repo?.cleanup();
    output?.restore();
  });
  beforeEach(() => {
    fake.reset();
    server.setToken(TOKEN);
  });

  async function addRepository(user = alice): Promise<string> {
    const res = await t
      .http()
      .post('/api/v1/repositories')
      .set(user.auth)
      .send({ url: url(), accessToken: TOKEN })
      .expect(201);
    bodies.push(res.text);
    return res.body.id;
  }

  async function runTask(repositoryId: string, extra: Record<string, unknown> = {}) {
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({
        title: 'Fix sum',
        description: 'sum() subtracts; it must add.',
        language: 'javascript',
        repositoryId,
        ...extra,
      })
      .expect(201);
    const run = await t.http().post(`/api/v1/tasks/${task.body.task.id}/execute`).set(alice.auth).expect(202);
    return { taskId: task.body.task.id as string, runId: run.body.run.id as string };
  }

  it('runs on a clone, commits on quorum/<task-id>, serves a git am-able patch and opens a pull request', async () => {
    const script = scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: { files: [{ path: 'src/sum.mjs', content: SUM_FIXED }] } }],
      write_tests: [{ tool: { files: [{ path: 'test/sum.test.mjs', content: NEW_TESTS }] } }],
      submit_review: [{ tool: APPROVE }],
    });
    await t
      .http()
      .post('/api/v1/webhooks')
      .set(alice.auth)
      .send({ url: `${receiver.url}/hooks`, events: ['pull_request.opened'] })
      .expect(201);
    const repositoryId = await addRepository();
    // Every process on the machine is sampled while the run clones, tests and commits.
    const watched = await commandLinesContaining(TOKEN, async () => {
      const started = await runTask(repositoryId);
      return { ...started, run: await waitForRun(t, alice.auth, started.runId, ['completed', 'failed'], 45_000) };
    });
    expect(watched.samples).toBeGreaterThan(0);
    expect(watched.hits).toEqual([]);
    const { taskId, runId, run } = watched.result;
    expect(run).toMatchObject({ status: 'completed' });
    expect(script.remaining()).toEqual({ submit_plan: 0, write_files: 0, write_tests: 0, submit_review: 0 });

    // The planner and the coder saw the repository (tree + the planned file), never the link's target.
    const planner = fake.requests.find((r) => r.forcedTool === 'submit_plan')!;
    expect(planner.prompt).toContain('src/sum.mjs');
    expect(planner.prompt).toContain('passwd-link -> (link, not followed)');
    expect(planner.prompt).not.toContain('root:x:0:0');
    const coder = fake.requests.find((r) => agentOf(r) === 'write_files')!;
    expect(coder.prompt).toContain('--- src/sum.mjs ---\n' + SUM_BUGGY);

    // The repository's own test ran along with the new ones, in the sandbox.
    const result = (await t.http().get(`/api/v1/tasks/${taskId}/result`).set(alice.auth).expect(200)).body;
    bodies.push(JSON.stringify(result));
    expect(result.tests).toMatchObject({ passed: 3, failed: 0 });
    expect(result.diff).toContain('diff --git a/src/sum.mjs b/src/sum.mjs');
    expect(result.diff).toContain('-  return a - b;');
    expect(result.diff).toContain('+  return a + b;');
    expect(result.diff).toContain('b/test/sum.test.mjs');
    expect(result.repository).toMatchObject({
      branch: `quorum/${taskId}`,
      baseBranch: 'main',
      commitSha: expect.stringMatching(/^[0-9a-f]{40}$/),
    });

    // The checkout and its git directory are gone once the run completed.
    expect(existsSync(join(t.env.DATA_DIR, 'workspaces', runId))).toBe(false);
    expect(existsSync(join(t.env.DATA_DIR, 'workspaces', `${runId}.git`))).toBe(false);

    const patch = await t.http().get(`/api/v1/tasks/${taskId}/patch`).set(alice.auth).expect(200);
    bodies.push(patch.text);
    expect(patch.headers['content-type']).toMatch(/^text\/x-patch/);
    expect(patch.text.endsWith(result.diff)).toBe(true);
    expect(patch.text).toContain('From: Quorum Agent <agent@quorum.test>');
    expect(patch.text).toContain('Subject: [PATCH] Fix sum');
    const clone = freshClone(repo.path);
    try {
      git(['am', '-q'], clone.dir, patch.text);
      expect(readFileSync(join(clone.dir, 'src/sum.mjs'), 'utf8')).toBe(SUM_FIXED);
      expect(readFileSync(join(clone.dir, 'test/sum.test.mjs'), 'utf8')).toBe(NEW_TESTS);
    } finally {
      clone.cleanup();
    }

    github.requests.length = 0;
    const pr = await t.http().post(`/api/v1/tasks/${taskId}/pull-request`).set(alice.auth).expect(201);
    bodies.push(pr.text);
    expect(pr.body).toEqual({ url: 'https://github.test/acme/widgets/pull/1', number: 1 });
    expect(github.requests).toHaveLength(1);
    const sent = github.requests[0];
    expect(sent).toMatchObject({
      method: 'POST',
      path: '/repos/acme/widgets/pulls',
      body: { head: `quorum/${taskId}`, base: 'main', title: 'Fix sum' },
    });
    const body = (sent.body as { body: string }).body;
    expect(body).toContain('## Plan\n\nMake sum add');
    expect(body).toContain('1. **Fix the operator** (`src/sum.mjs`)');
    expect(body).toContain('✅ 3 passed, 0 failed');
    expect(body).toContain('## Review: APPROVE (score 9/10)');
    expect(git(['log', '-1', '--format=%an <%ae>%n%s', `refs/heads/quorum/${taskId}`], repo.path).trim()).toBe(
      'Quorum Agent <agent@quorum.test>\nFix sum',
    );

    const events = await runEvents(t, alice.auth, runId);
    expect(events.filter((e) => e.type === 'pull_request.opened')).toEqual([
      expect.objectContaining({
        data: expect.objectContaining({
          taskId,
          runId,
          url: pr.body.url,
          number: 1,
          branch: `quorum/${taskId}`,
          base: 'main',
        }),
      }),
    ]);
    const [delivery] = await receiver.waitFor(1);
    expect(delivery.headers['webhook-signature']).toMatch(/^v1,/);
    expect(JSON.parse(delivery.body)).toMatchObject({
      type: 'pull_request.opened',
      data: { taskId, runId, url: pr.body.url, number: 1 },
    });
    expect(delivery.body).not.toContain(TOKEN);
    const again = await t.http().post(`/api/v1/tasks/${taskId}/pull-request`).set(alice.auth).expect(201);
    expect(again.body).toEqual(pr.body);
    expect(github.requests).toHaveLength(1);

    // Another user, a bad id, no sign-in.
    await t.http().get(`/api/v1/tasks/${taskId}/patch`).set(bob.auth).expect(404);
    await t.http().post(`/api/v1/tasks/${taskId}/pull-request`).set(bob.auth).expect(404);
    await t.http().get('/api/v1/tasks/not-a-uuid/patch').set(alice.auth).expect(400);
    await t.http().post('/api/v1/tasks/not-a-uuid/pull-request').set(alice.auth).expect(400);
    await t.http().get(`/api/v1/tasks/${taskId}/patch`).expect(401);
    await t.http().post(`/api/v1/tasks/${taskId}/pull-request`).expect(401);
  });

  it('refuses a task on another user’s repository and answers 409 before there is a result', async () => {
    const bobs = await addRepository(bob);
    const refused = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({ title: 'x', description: 'y', language: 'javascript', repositoryId: bobs })
      .expect(404);
    expect(refused.body.code).toBe('REPOSITORY_NOT_FOUND');
    const draft = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({ title: 'x', description: 'y', language: 'javascript', repositoryId: await addRepository() })
      .expect(201);
    expect(
      (await t.http().get(`/api/v1/tasks/${draft.body.task.id}/patch`).set(alice.auth).expect(409)).body.code,
    ).toBe('NO_RESULT');
    expect(
      (await t.http().post(`/api/v1/tasks/${draft.body.task.id}/pull-request`).set(alice.auth).expect(409)).body.code,
    ).toBe('NO_RESULT');
  });

  it('PATCH checks config.branch as POST does: a name git refuses is 422 and changes nothing', async () => {
    const repositoryId = await addRepository();
    const base = { title: 'x', description: 'y', language: 'javascript', repositoryId };
    const refused = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({ ...base, config: { branch: 'feature.lock' } })
      .expect(422);
    expect(refused.body).toMatchObject({ code: 'BRANCH_NOT_FOUND' });
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({ ...base, config: { branch: 'main' } })
      .expect(201);
    const patched = await t
      .http()
      .patch(`/api/v1/tasks/${task.body.task.id}`)
      .set(alice.auth)
      .send({ config: { branch: 'feature.lock' } })
      .expect(422);
    expect(patched.body).toMatchObject({ code: 'BRANCH_NOT_FOUND' });
    const after = await t.http().get(`/api/v1/tasks/${task.body.task.id}`).set(alice.auth).expect(200);
    expect(after.body.task.config).toEqual({ branch: 'main' });
    await t
      .http()
      .patch(`/api/v1/tasks/${task.body.task.id}`)
      .set(alice.auth)
      .send({ config: { branch: 'feature/ok' } })
      .expect(200);
  });

  it('fails the run clearly when the repository was deleted before it started, or its token was revoked', async () => {
    const repositoryId = await addRepository();
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({ title: 'Fix sum', description: 'It must add.', language: 'javascript', repositoryId })
      .expect(201);
    await t.http().delete(`/api/v1/repositories/${repositoryId}`).set(alice.auth).expect(204);
    const queued = await t.http().post(`/api/v1/tasks/${task.body.task.id}/execute`).set(alice.auth).expect(202);
    const gone = await waitForRun(t, alice.auth, queued.body.run.id, ['completed', 'failed'], 45_000);
    expect(gone).toMatchObject({ status: 'failed', errorCode: 'REPOSITORY_NOT_FOUND' });

    const revoked = await addRepository();
    server.setToken('ghp_rotated_token');
    const second = await runTask(revoked);
    const failed = await waitForRun(t, alice.auth, second.runId, ['completed', 'failed'], 45_000);
    expect(failed).toMatchObject({ status: 'failed', errorCode: 'REPOSITORY_AUTH_FAILED' });
    expect(failed.error).not.toContain(TOKEN);
  });

  it('keeps the result of a run whose repository is deleted mid-run; the patch stays, a pull request cannot be opened', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN, delayMs: 1_500 }],
      write_files: [{ tool: { files: [{ path: 'src/sum.mjs', content: SUM_FIXED }] } }],
      write_tests: [{ tool: { files: [{ path: 'test/sum.test.mjs', content: NEW_TESTS }] } }],
      submit_review: [{ tool: APPROVE }],
    });
    const repositoryId = await addRepository();
    const { taskId, runId } = await runTask(repositoryId);
    // The planner only starts once the clone is ready.
    await until(async () => fake.requests.some((r) => r.forcedTool === 'submit_plan'), 20_000);
    await t.http().delete(`/api/v1/repositories/${repositoryId}`).set(alice.auth).expect(204);
    const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed'], 45_000);
    expect(run.status).toBe('completed');
    const patch = await t.http().get(`/api/v1/tasks/${taskId}/patch`).set(alice.auth).expect(200);
    expect(patch.text).toContain('+  return a + b;');
    const pr = await t.http().post(`/api/v1/tasks/${taskId}/pull-request`).set(alice.auth).expect(409);
    expect(pr.body.code).toBe('REPOSITORY_DELETED');
  });

  it('keeps the checkout of a failed run for inspection until the workspace sweep removes it', async () => {
    scriptAgents(fake, { submit_plan: [{ text: 'no tool call' }, { text: 'still no tool call' }] });
    const repositoryId = await addRepository();
    const { runId } = await runTask(repositoryId);
    const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed'], 45_000);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'AGENT_NO_TOOL_CALL' });
    const dir = join(t.env.DATA_DIR, 'workspaces', runId);
    expect(readFileSync(join(dir, 'src/sum.mjs'), 'utf8')).toBe(SUM_BUGGY);
    expect(existsSync(`${dir}.git`)).toBe(true);
    await t.app.get(WorkspaceService).sweep(Date.now() + 25 * 3_600_000);
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(`${dir}.git`)).toBe(false);
  });

  it('never writes through a link in the repository, even when the coder names it', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'quorum-outside-'));
    const target = join(outside, 'target.txt');
    writeFileSync(target, 'ORIGINAL\n');
    const linked = createBareRepo(
      { 'README.md': '# linked\n' },
      { symlinks: { 'outside-link': target }, owner: 'acme', name: 'linked' },
    );
    const linkedServer = await startGitHttpServer(linked.root, TOKEN);
    try {
      scriptAgents(fake, {
        submit_plan: [{ tool: PLAN }],
        write_files: [{ tool: { files: [{ path: 'outside-link', content: 'OVERWRITTEN\n' }] } }],
        write_tests: [
          {
            tool: {
              files: [
                { path: 'test/x.test.mjs', content: "import { test } from 'node:test';\ntest('x', () => {});\n" },
              ],
            },
          },
        ],
        submit_review: [{ tool: APPROVE }],
      });
      const created = await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url: `${linkedServer.url}/${linked.relative}`, accessToken: TOKEN })
        .expect(201);
      const { runId } = await runTask(created.body.id);
      const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed'], 45_000);
      expect(run.status).toBe('failed');
      expect(['SANDBOX_FAILED', 'WORKSPACE_UNSAFE_PATH']).toContain(run.errorCode);
      expect(readFileSync(target, 'utf8')).toBe('ORIGINAL\n');
    } finally {
      await linkedServer.close();
      linked.cleanup();
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reviews the relevant part of the repository for a review-only task', async () => {
    scriptAgents(fake, {
      submit_review: [
        {
          tool: {
            verdict: 'REVISE',
            summary: 'sum subtracts.',
            score: 3,
            issues: [{ severity: 'critical', file: 'src/sum.mjs', line: 2, message: 'uses -' }],
          },
        },
      ],
    });
    const repositoryId = await addRepository();
    const { taskId, runId } = await runTask(repositoryId, {
      mode: 'review',
      title: 'Review sum',
      description: 'Is sum correct?',
    });
    const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed'], 45_000);
    expect(run.status).toBe('completed');
    const reviewer = fake.requests.find((r) => r.forcedTool === 'submit_review')!;
    expect(reviewer.prompt).toContain(SUM_BUGGY);
    const result = (await t.http().get(`/api/v1/tasks/${taskId}/result`).set(alice.auth).expect(200)).body;
    expect(result.review).toMatchObject({ verdict: 'REVISE', score: 3 });
    expect(result.diff).toBe('');
    expect(existsSync(join(t.env.DATA_DIR, 'workspaces', runId))).toBe(false);
    expect((await t.http().get(`/api/v1/tasks/${taskId}/patch`).set(alice.auth).expect(409)).body.code).toBe(
      'NO_RESULT',
    );
  });

  it('cancels a run while it is still cloning, within seconds', async () => {
    const big = createBareRepo(
      { 'blob.txt': randomBytes(2 * 1024 * 1024).toString('base64') },
      { owner: 'acme', name: 'big' },
    );
    const slow = await startGitHttpServer(big.root, TOKEN, { chunkDelayMs: 150 });
    try {
      const created = await t
        .http()
        .post('/api/v1/repositories')
        .set(alice.auth)
        .send({ url: `${slow.url}/${big.relative}`, accessToken: TOKEN })
        .expect(201);
      const checked = slow.authorizations.length;
      const { taskId, runId } = await runTask(created.body.id);
      // The clone is under way once the server has answered its ref advertisement and ref listing.
      await until(async () => slow.authorizations.length >= checked + 3, 20_000);
      const cancelled = Date.now();
      await t.http().post(`/api/v1/tasks/${taskId}/cancel`).set(alice.auth).expect(202);
      await waitForRun(t, alice.auth, runId, ['cancelled'], 20_000);
      expect(Date.now() - cancelled).toBeLessThan(10_000);
      expect(fake.requests).toHaveLength(0);
      expect(existsSync(join(t.env.DATA_DIR, 'workspaces', `${runId}.git`))).toBe(false);
    } finally {
      await slow.close();
      big.cleanup();
    }
  });

  it('serves a patch for a task without a repository, and refuses a pull request for it', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: { files: [{ path: 'src/sum.mjs', content: SUM_FIXED }] } }],
      write_tests: [{ tool: { files: [{ path: 'test/sum.test.mjs', content: NEW_TESTS }] } }],
      submit_review: [{ tool: APPROVE }],
    });
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({
        title: 'Fix sum',
        description: 'It must add.',
        language: 'javascript',
        files: [{ path: 'src/sum.mjs', content: SUM_BUGGY }],
      })
      .expect(201);
    const taskId = task.body.task.id;
    const run = await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(alice.auth).expect(202);
    await waitForRun(t, alice.auth, run.body.run.id, ['completed'], 45_000);
    const patch = await t.http().get(`/api/v1/tasks/${taskId}/patch`).set(alice.auth).expect(200);
    expect(patch.headers['content-type']).toMatch(/^text\/x-patch/);
    // One source: the result's diff lists the code and the test, and the patch commits exactly that change.
    const result = (await t.http().get(`/api/v1/tasks/${taskId}/result`).set(alice.auth).expect(200)).body;
    const sections = (text: string) => text.match(/^diff --git .*$/gm);
    const changed = (text: string) => text.split('\n').filter((line) => /^[-+](?![-+]{2} )/.test(line));
    expect(sections(result.diff)).toEqual([
      'diff --git a/src/sum.mjs b/src/sum.mjs',
      'diff --git a/test/sum.test.mjs b/test/sum.test.mjs',
    ]);
    expect(sections(patch.text)).toEqual(sections(result.diff));
    expect(changed(patch.text.slice(patch.text.indexOf('diff --git')))).toEqual(changed(result.diff));
    const clone = freshClone(repo.path);
    try {
      git(['am', '-q'], clone.dir, patch.text);
      expect(readFileSync(join(clone.dir, 'src/sum.mjs'), 'utf8')).toBe(SUM_FIXED);
      expect(readFileSync(join(clone.dir, 'test/sum.test.mjs'), 'utf8')).toBe(NEW_TESTS);
    } finally {
      clone.cleanup();
    }
    const pr = await t.http().post(`/api/v1/tasks/${taskId}/pull-request`).set(alice.auth).expect(422);
    expect(pr.body.code).toBe('PULL_REQUEST_UNSUPPORTED');
  });

  it('never lets the token reach a log line or a response', () => {
    const logs = output.text();
    expect(logs).toContain('RepositoryRunnerService');
    expect(logs).not.toContain(TOKEN);
    expect(logs).not.toContain(Buffer.from(`x-access-token:${TOKEN}`).toString('base64'));
    for (const body of bodies) expect(body).not.toContain(TOKEN);
  });
});
