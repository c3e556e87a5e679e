import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitDirFor } from '../../src/repositories/git.service.js';
import { RepositoriesService } from '../../src/repositories/repositories.service.js';
import { RepositoryContextService } from '../../src/repositories/repository-context.service.js';
import { RepositoryResultsService } from '../../src/repositories/repository-results.service.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { FakeGitHub, startFakeGitHub } from '../support/fake-github.js';
import { BareRepo, createBareRepo, freshClone, git, GitHttpServer, startGitHttpServer } from '../support/git-repos.js';
import { commandLinesContaining } from '../support/process-watch.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const TOKEN = 'ghp_publishingToken_abcdef0123456789';

/**
 * A repository task's life below the task routes: the run's workspace is a clone, the agent's
 * changes become a commit on quorum/<task-id>, the patch applies with git am, and a pull request
 * is opened on the GitHub stand-in after pushing the branch to a token-protected git server.
 */
describe('repository results: clone, commit, patch, pull request', () => {
  let t: TestApp;
  let repo: BareRepo;
  let server: GitHttpServer;
  let github: FakeGitHub;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let repositoryId: string;
  let repositories: RepositoriesService;
  let results: RepositoryResultsService;

  const workspace = () => join(t.env.DATA_DIR, 'workspaces', randomUUID());

  /** A real task on the repository and its queued run (no worker here: the test plays the run). */
  async function newRun(onRepository: string): Promise<{ taskId: string; runId: string }> {
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({ title: 'Fix sum', description: 'It must add.', language: 'javascript', repositoryId: onRepository })
      .expect(201);
    const run = await t.http().post(`/api/v1/tasks/${task.body.task.id}/execute`).set(alice.auth).expect(202);
    return { taskId: task.body.task.id, runId: run.body.run.id };
  }

  beforeAll(async () => {
    repo = createBareRepo(
      {
        'README.md': '# widgets\n',
        'src/sum.js': 'export const sum = (a, b) => a - b;\n',
        'test/sum.test.js': '// tests\n',
      },
      { symlinks: { 'etc-passwd': '/etc/passwd' } },
    );
    server = await startGitHttpServer(repo.root, TOKEN);
    github = await startFakeGitHub(TOKEN);
    t = await createTestApp({
      workerInProcess: false,
      env: {
        ALLOW_HTTP_REPOSITORIES: 'true',
        ALLOW_PRIVATE_REPOSITORY_HOSTS: 'true',
        GITHUB_API_URL: github.url,
        GIT_AUTHOR_NAME: 'Quorum Test',
        GIT_AUTHOR_EMAIL: 'quorum@test.example',
      },
    });
    alice = await registerUser(t);
    bob = await registerUser(t);
    const created = await t
      .http()
      .post('/api/v1/repositories')
      .set(alice.auth)
      .send({ url: `${server.url}/${repo.relative}`, accessToken: TOKEN })
      .expect(201);
    repositoryId = created.body.id;
    repositories = t.app.get(RepositoriesService);
    results = t.app.get(RepositoryResultsService);
  });
  afterAll(async () => {
    await t?.close();
    await server?.close();
    await github?.close();
    repo?.cleanup();
  });

  it('runs a task on a clone and turns the result into a commit, a git am-able patch and a pull request', async () => {
    const { taskId, runId } = await newRun(repositoryId);
    const dir = workspace();
    const prepared = await commandLinesContaining(TOKEN, () =>
      repositories.prepareWorkspace(repositoryId, undefined, dir),
    );
    expect(prepared.hits).toEqual([]);
    expect(prepared.result).toMatchObject({
      repositoryId,
      branch: 'main',
      baseSha: expect.stringMatching(/^[0-9a-f]{40}$/),
    });
    expect(existsSync(join(dir, '.git'))).toBe(false);

    const view = await t.app
      .get(RepositoryContextService)
      .view(dir, { requestedPaths: ['src/sum.js', 'etc-passwd'], query: 'fix sum' });
    expect(view.files.map((f) => f.path)).toContain('src/sum.js');
    expect(view.tree).toContain('etc-passwd -> (link, not followed)');
    expect(JSON.stringify(view)).not.toContain('root:x:0:0');

    // The coder's changes.
    writeFileSync(join(dir, 'src/sum.js'), 'export const sum = (a, b) => a + b;\n');
    writeFileSync(join(dir, 'test/sum.more.test.js'), "import { sum } from '../src/sum.js';\n");

    const published = await results.publishResult({
      userId: alice.id,
      taskId,
      runId,
      repositoryId,
      dir,
      baseBranch: prepared.result.branch,
      title: 'Fix sum',
      body: 'sum subtracted instead of adding.',
    });
    expect(published).toMatchObject({
      branch: `quorum/${taskId}`,
      baseBranch: 'main',
      baseSha: prepared.result.baseSha,
    });
    expect(published!.diff).toContain('+export const sum = (a, b) => a + b;');
    expect(published!.diff).toContain('b/test/sum.more.test.js');
    expect(published!.patch).toContain('From: Quorum Test <quorum@test.example>');

    const clone = freshClone(repo.path);
    try {
      git(['am', '-q'], clone.dir, published!.patch);
      expect(readFileSync(join(clone.dir, 'src/sum.js'), 'utf8')).toBe('export const sum = (a, b) => a + b;\n');
      expect(git(['log', '-1', '--format=%s%n%b'], clone.dir)).toContain('Fix sum\nsum subtracted instead of adding.');
    } finally {
      clone.cleanup();
    }

    await repositories.releaseWorkspace(dir);
    expect(existsSync(gitDirFor(dir))).toBe(false);

    github.requests.length = 0;
    const opened = await commandLinesContaining(TOKEN, () =>
      results.openPullRequest(runId, {
        title: 'Fix sum',
        body: '## Plan\n1. Fix the operator\n\n## Tests\n3 passed, 0 failed',
      }),
    );
    expect(opened.hits).toEqual([]);
    expect(opened.result).toEqual({ url: 'https://github.test/acme/widgets/pull/1', number: 1, created: true });
    expect(github.requests).toHaveLength(1);
    expect(github.requests[0]).toMatchObject({
      method: 'POST',
      path: '/repos/acme/widgets/pulls',
      body: {
        head: `quorum/${taskId}`,
        base: 'main',
        title: 'Fix sum',
        body: expect.stringContaining('3 passed, 0 failed'),
      },
    });
    expect(github.requests[0].headers.authorization).toBe(`Bearer ${TOKEN}`);
    // The branch on the remote is the very commit the run made.
    expect(git(['rev-parse', `refs/heads/quorum/${taskId}`], repo.path).trim()).toBe(published!.commitSha);

    const again = await results.openPullRequest(runId, { title: 'Fix sum', body: 'again' });
    expect(again).toEqual({ url: opened.result.url, number: 1, created: false });
    expect(github.requests).toHaveLength(1);
    expect((await results.latestForTask(taskId))?.pullRequestUrl).toBe(opened.result.url);
  });

  it('answers 409 PATCH_CONFLICT when the base branch moved under the result', async () => {
    const { taskId, runId } = await newRun(repositoryId);
    const dir = workspace();
    await repositories.prepareWorkspace(repositoryId, undefined, dir);
    writeFileSync(join(dir, 'README.md'), '# widgets, by the agent\n');
    await results.publishResult({
      userId: alice.id,
      taskId,
      runId,
      repositoryId,
      dir,
      baseBranch: 'main',
      title: 'Readme',
    });
    // Someone else changes the same line on main meanwhile.
    const other = freshClone(repo.path);
    try {
      writeFileSync(join(other.dir, 'README.md'), '# widgets, by a human\n');
      git(['commit', '-q', '-am', 'Human edit'], other.dir);
      git(['push', '-q', 'origin', 'main'], other.dir);
    } finally {
      other.cleanup();
    }
    await expect(results.openPullRequest(runId, { title: 'Readme', body: '' })).rejects.toMatchObject({
      code: 'PATCH_CONFLICT',
      status: 409,
    });
  });

  it('erases a task’s results with the task', async () => {
    const { taskId, runId } = await newRun(repositoryId);
    const dir = workspace();
    await repositories.prepareWorkspace(repositoryId, undefined, dir);
    writeFileSync(join(dir, 'NOTES.md'), 'notes\n');
    await results.publishResult({
      userId: alice.id,
      taskId,
      runId,
      repositoryId,
      dir,
      baseBranch: 'main',
      title: 'Notes',
    });
    expect(await results.forRun(runId)).not.toBeNull();
    await t.http().post(`/api/v1/tasks/${taskId}/cancel`).set(alice.auth).expect(202);
    await t.http().delete(`/api/v1/tasks/${taskId}`).set(alice.auth).expect(204);
    expect(await results.forRun(runId)).toBeNull();
  });

  it('returns null when the run changed nothing', async () => {
    const dir = workspace();
    await repositories.prepareWorkspace(repositoryId, 'main', dir);
    await expect(
      results.publishResult({
        userId: alice.id,
        taskId: randomUUID(),
        runId: randomUUID(),
        repositoryId,
        dir,
        baseBranch: 'main',
        title: 'Nothing',
      }),
    ).resolves.toBeNull();
  });

  it('refuses another user’s repository, a missing branch and a deleted repository', async () => {
    await expect(repositories.assertUsable({ userId: bob.id, orgId: null }, repositoryId)).rejects.toMatchObject({
      code: 'REPOSITORY_NOT_FOUND',
      status: 404,
    });
    await expect(repositories.prepareWorkspace(repositoryId, 'nope', workspace())).rejects.toMatchObject({
      code: 'BRANCH_NOT_FOUND',
    });
  });

  it('keeps the result of a run whose repository was deleted mid-run, but cannot open a pull request for it', async () => {
    const created = await t
      .http()
      .post('/api/v1/repositories')
      .set(alice.auth)
      .send({ url: `${server.url}/${repo.relative}`, accessToken: TOKEN })
      .expect(201);
    const id = created.body.id as string;
    const { taskId, runId } = await newRun(id);
    const dir = workspace();
    await repositories.prepareWorkspace(id, undefined, dir);
    writeFileSync(join(dir, 'README.md'), '# widgets\n\nMore docs.\n');
    await t.http().delete(`/api/v1/repositories/${id}`).set(alice.auth).expect(204);

    const published = await results.publishResult({
      userId: alice.id,
      taskId,
      runId,
      repositoryId: id,
      dir,
      baseBranch: 'main',
      title: 'Docs',
    });
    expect(published?.patch).toContain('+More docs.');
    expect((await results.latestForTask(taskId))?.repositoryId).toBeNull();
    await expect(results.openPullRequest(runId, { title: 'Docs', body: '' })).rejects.toMatchObject({
      code: 'REPOSITORY_DELETED',
      status: 409,
    });
    await expect(repositories.prepareWorkspace(id, undefined, workspace())).rejects.toMatchObject({
      code: 'REPOSITORY_NOT_FOUND',
    });
  });
});
