import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ConfigService } from '@nestjs/config';
import { repositoriesConfig, RepositoriesConfig } from '../../src/config/repositories.config.js';
import { unifiedDiff } from '../../src/agents/graph/unified-diff.js';
import { GitService, gitDirFor } from '../../src/repositories/git.service.js';
import { BareRepo, createBareRepo, freshClone, git, GitHttpServer, startGitHttpServer } from '../support/git-repos.js';
import { commandLinesContaining } from '../support/process-watch.js';

const TOKEN = 'ghp_integrationSecretToken1234567890';

function gitService(overrides: Partial<RepositoriesConfig> = {}): GitService {
  const base = repositoriesConfig();
  const config = new ConfigService({
    repositories: { ...base, allowLocal: true, allowHttp: true, allowPrivateHosts: true, ...overrides },
  });
  return new GitService(config as unknown as ConfigService<never, true>);
}

describe('GitService (real git)', () => {
  let repo: BareRepo;
  let server: GitHttpServer;
  let url: string;
  let scratch: string;

  beforeAll(async () => {
    repo = createBareRepo(
      { 'README.md': '# widgets\n', 'src/index.js': 'export const answer = 42;\n' },
      { branches: ['develop'] },
    );
    server = await startGitHttpServer(repo.root, TOKEN);
    url = `${server.url}/${repo.relative}`;
  });
  afterAll(async () => {
    await server.close();
    repo.cleanup();
  });
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'quorum-ws-'));
  });
  afterEach(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('lists the remote head and branches with the token', async () => {
    const info = await gitService().lsRemote(url, { token: TOKEN, branches: ['develop', 'nope'] });
    expect(info.headBranch).toBe('main');
    expect(info.branches.has('develop')).toBe(true);
    expect(info.branches.has('nope')).toBe(false);
    expect(await gitService().resolveBranch(url, undefined, TOKEN)).toBe('main');
  });

  it('sends the token as an Authorization header, never in the URL', async () => {
    server.authorizations.length = 0;
    await gitService().lsRemote(url, { token: TOKEN });
    expect(server.authorizations).toContain(`Basic ${Buffer.from(`x-access-token:${TOKEN}`).toString('base64')}`);
  });

  it('reports a wrong or missing token as an authentication failure', async () => {
    await expect(gitService().lsRemote(url, { token: 'wrong-token' })).rejects.toMatchObject({
      code: 'REPOSITORY_AUTH_FAILED',
      status: 422,
    });
    await expect(gitService().lsRemote(url)).rejects.toMatchObject({ code: 'REPOSITORY_AUTH_FAILED' });
  });

  it('reports a missing branch', async () => {
    await expect(gitService().resolveBranch(url, 'missing', TOKEN)).rejects.toMatchObject({
      code: 'BRANCH_NOT_FOUND',
      status: 422,
    });
  });

  it('reports an unreachable remote and a remote that never answers, within the time bound', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(gitService().lsRemote(`http://127.0.0.1:${port}/a/b.git`)).rejects.toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
    });

    const silent: Server = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const started = Date.now();
    try {
      await expect(
        gitService({ lsRemoteTimeoutMs: 700 }).lsRemote(
          `http://127.0.0.1:${(silent.address() as AddressInfo).port}/a/b.git`,
        ),
      ).rejects.toMatchObject({ code: 'REPOSITORY_UNREACHABLE', message: expect.stringContaining('no answer') });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((r) => silent.close(() => r()));
    }
    await expect(gitService().lsRemote(join(scratch, 'does-not-exist'))).rejects.toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
    });
  });

  it('refuses private and loopback hosts unless allowed, and pins git to the address it checked', async () => {
    const port = new URL(server.url).port;
    await expect(gitService({ allowPrivateHosts: false }).lsRemote(url, { token: TOKEN })).rejects.toMatchObject({
      code: 'REPOSITORY_URL_FORBIDDEN',
      message: expect.stringContaining('loopback'),
    });
    const byName = `http://localhost:${port}/${repo.relative}`;
    await expect(gitService({ allowPrivateHosts: false }).lsRemote(byName, { token: TOKEN })).rejects.toMatchObject({
      code: 'REPOSITORY_URL_FORBIDDEN',
    });
    const info = await gitService().lsRemote(byName, { token: TOKEN });
    expect(info.headBranch).toBe('main');
    await expect(gitService().lsRemote(`http://no-such-host.invalid/${repo.relative}`)).rejects.toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
    });
  });

  it('refuses transports that are not enabled', async () => {
    await expect(gitService({ allowLocal: false }).lsRemote(repo.path)).rejects.toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
    });
    await expect(gitService({ allowLocal: false }).lsRemote(`file://${repo.path}`)).rejects.toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
    });
    await expect(gitService({ allowHttp: false }).lsRemote(url, { token: TOKEN })).rejects.toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
    });
    await expect(gitService().lsRemote(`ext::sh -c touch% ${join(scratch, 'pwned')}`)).rejects.toMatchObject({
      code: 'REPOSITORY_UNREACHABLE',
    });
    expect(existsSync(join(scratch, 'pwned'))).toBe(false);
  });

  it('clones, commits on a branch, formats a patch that git am applies to a fresh clone, and pushes; the token is never on a command line', async () => {
    const service = gitService();
    const dir = join(scratch, 'ws');
    const {
      result: clone,
      hits,
      samples,
    } = await commandLinesContaining(TOKEN, () => service.shallowClone(url, 'main', dir, TOKEN));
    expect(samples).toBeGreaterThan(0);
    expect(hits).toEqual([]);
    expect(clone.branch).toBe('main');
    expect(clone.headSha).toMatch(/^[0-9a-f]{40}$/);
    expect(readFileSync(join(dir, 'src/index.js'), 'utf8')).toContain('42');
    expect(existsSync(join(dir, '.git'))).toBe(false);
    expect(existsSync(gitDirFor(dir))).toBe(true);
    expect(readFileSync(join(gitDirFor(dir), 'config'), 'utf8')).not.toContain(TOKEN);

    writeFileSync(join(dir, 'src/index.js'), 'export const answer = 43;\n');
    writeFileSync(join(dir, 'src/new.js'), 'export const added = true;\n');
    const diff = await service.diff(dir);
    expect(diff).toContain('-export const answer = 42;');
    expect(diff).toContain('+export const added = true;');

    const sha = await service.commitAll(dir, 'quorum/task-1', 'Change the answer\n\nBody line.', {
      name: 'Quorum Bot',
      email: 'bot@quorum.test',
    });
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    const patch = await service.formatPatch(dir);
    expect(patch).toMatch(/^From [0-9a-f]{40} /);
    expect(patch).toContain('From: Quorum Bot <bot@quorum.test>');
    expect(patch).toContain('Subject: [PATCH] Change the answer');

    const target = freshClone(repo.path);
    try {
      git(['am', '-q'], target.dir, patch);
      expect(readFileSync(join(target.dir, 'src/index.js'), 'utf8')).toBe('export const answer = 43;\n');
      expect(readFileSync(join(target.dir, 'src/new.js'), 'utf8')).toBe('export const added = true;\n');
      expect(git(['log', '-1', '--format=%an <%ae>%n%s'], target.dir).trim()).toBe(
        'Quorum Bot <bot@quorum.test>\nChange the answer',
      );
    } finally {
      target.cleanup();
    }

    const push = await commandLinesContaining(TOKEN, () => service.push(dir, url, 'quorum/task-1', TOKEN));
    expect(push.hits).toEqual([]);
    expect(git(['rev-parse', 'refs/heads/quorum/task-1'], repo.path).trim()).toBe(sha);
    await expect(service.push(dir, url, 'quorum/task-1', 'bad-token')).rejects.toMatchObject({
      code: 'REPOSITORY_AUTH_FAILED',
    });
  });

  it('re-creates the same commit from a patch on a fresh clone (the pull-request path)', async () => {
    const service = gitService();
    const first = join(scratch, 'one');
    await service.shallowClone(repo.path, 'main', first);
    writeFileSync(join(first, 'README.md'), '# widgets, improved\n');
    const sha = await service.commitAll(first, 'quorum/task-2', 'Improve readme');
    const patch = await service.formatPatch(first);
    const second = join(scratch, 'two');
    await service.shallowClone(repo.path, 'main', second);
    expect(await service.applyPatch(second, 'quorum/task-2', patch)).toBe(sha);
  });

  it('commits again idempotently (a retried publish keeps the commit it made)', async () => {
    const service = gitService();
    const dir = join(scratch, 'ws');
    await service.shallowClone(repo.path, 'main', dir);
    writeFileSync(join(dir, 'again.txt'), 'again\n');
    const first = await service.commitAll(dir, 'quorum/task-5', 'Again');
    expect(await service.commitAll(dir, 'quorum/task-5', 'Again')).toBe(first);
    expect((await service.formatPatch(dir)).match(/^From [0-9a-f]{40} /gm)).toHaveLength(1);
  });

  it('leaves installed dependencies, caches and build output out of the commit and its diff, hunks only', async () => {
    const service = gitService();
    const dir = join(scratch, 'ws');
    await service.shallowClone(repo.path, 'main', dir);
    const generated = [
      'node_modules/left-pad/index.js',
      '.venv/bin/python',
      'src/__pycache__/index.cpython-312.pyc',
      '.pytest_cache/v/cache/lastfailed',
      'coverage/lcov.info',
      'dist/index.js',
      '.cache/x',
    ];
    for (const path of generated) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), 'generated\n');
    }
    writeFileSync(join(dir, 'src/index.js'), 'export const answer = 43;\n');
    expect(await service.commitAll(dir, 'quorum/task-6', 'Only the source')).toMatch(/^[0-9a-f]{40}$/);
    const diff = await service.diff(dir);
    expect(diff.match(/^diff --git .*$/gm)).toEqual(['diff --git a/src/index.js b/src/index.js']);
    expect(diff.split('\n').filter((line) => /^[-+](?![-+]{2} )/.test(line))).toEqual([
      '-export const answer = 42;',
      '+export const answer = 43;',
    ]);
    const patch = await service.formatPatch(dir);
    expect(patch.endsWith(diff)).toBe(true);
  });

  it('lists the files the commit changed as committed: no deleted file, no link followed', async () => {
    const service = gitService();
    const dir = join(scratch, 'ws');
    await service.shallowClone(repo.path, 'main', dir);
    writeFileSync(join(dir, 'src/index.js'), 'export const answer = 43;\n');
    writeFileSync(join(dir, 'src/new.js'), 'export const added = true;\n');
    rmSync(join(dir, 'README.md'));
    symlinkSync('/etc/passwd', join(dir, 'src/planted.txt'));
    mkdirSync(join(dir, 'node_modules/dep'), { recursive: true });
    writeFileSync(join(dir, 'node_modules/dep/index.js'), 'installed\n');
    expect(await service.commitAll(dir, 'quorum/task-7', 'Edits')).toMatch(/^[0-9a-f]{40}$/);
    // Written after the commit: what is listed is the commit's content.
    writeFileSync(join(dir, 'src/new.js'), 'changed since\n');
    expect(await service.changedFiles(dir)).toEqual([
      { path: 'src/index.js', content: 'export const answer = 43;\n' },
      { path: 'src/new.js', content: 'export const added = true;\n' },
    ]);
    const diff = await service.diff(dir);
    expect(diff).toContain('deleted file mode');
    expect(diff).toContain('b/src/planted.txt');
  });

  it('shows the change so far before any commit: its diff and the changed text files, literal names, no link, no binary', async () => {
    const service = gitService();
    const dir = join(scratch, 'ws-working');
    await service.shallowClone(repo.path, 'main', dir);
    // src/index.js is unchanged: the file named `src/*.js` must not bring it along.
    writeFileSync(join(dir, 'src/[a].js'), 'export const bracket = 1;\n');
    writeFileSync(join(dir, 'src/*.js'), 'a star\n');
    writeFileSync(join(dir, 'src/blob.bin'), Buffer.from([1, 0, 2]));
    rmSync(join(dir, 'README.md'));
    symlinkSync('/etc/passwd', join(dir, 'src/planted.txt'));
    mkdirSync(join(dir, 'node_modules/dep'), { recursive: true });
    writeFileSync(join(dir, 'node_modules/dep/index.js'), 'installed\n');
    const change = await service.workingChange(dir);
    expect(change.files).toEqual([
      { path: 'src/*.js', content: 'a star\n' },
      { path: 'src/[a].js', content: 'export const bracket = 1;\n' },
    ]);
    expect(change.diff).toContain('+export const bracket = 1;');
    expect(change.diff).toContain('deleted file mode');
    expect(change.diff).not.toContain('node_modules');
    // Nothing was committed: the checkout is still on its base commit.
    expect(git(['--git-dir', gitDirFor(dir), 'rev-parse', 'HEAD'], dir).trim()).toBe(await service.baseSha(dir));
  });

  it('reads the first instructions file of the base commit, never a link, never the agents’ edits', async () => {
    const linked = createBareRepo(
      { 'CLAUDE.md': 'from claude\n', '.github/copilot-instructions.md': 'from copilot\n' },
      { symlinks: { 'AGENTS.md': '/etc/passwd' }, name: 'linked' },
    );
    try {
      const service = gitService();
      const dir = join(scratch, 'ws');
      await service.shallowClone(linked.path, 'main', dir);
      writeFileSync(join(dir, 'CLAUDE.md'), 'changed by an agent\n');
      const paths = ['AGENTS.md', 'CLAUDE.md', '.github/copilot-instructions.md'];
      const file = await service.readBaseFile(dir, paths, 4);
      expect(file).toEqual({ path: 'CLAUDE.md', content: Buffer.from('from'), size: 12 });
      expect(await service.readBaseFile(dir, ['.github/copilot-instructions.md'], 100)).toEqual({
        path: '.github/copilot-instructions.md',
        content: Buffer.from('from copilot\n'),
        size: 13,
      });
      expect(await service.readBaseFile(dir, ['AGENTS.md', 'missing.md'], 100)).toBeNull();
    } finally {
      linked.cleanup();
    }
  });

  it('returns null when there is nothing to commit', async () => {
    const service = gitService();
    const dir = join(scratch, 'ws');
    await service.shallowClone(`file://${repo.path}`, 'develop', dir);
    expect(await service.commitAll(dir, 'quorum/task-3', 'Nothing')).toBeNull();
  });

  it('refuses a repository over the size limit and leaves nothing behind', async () => {
    const big = createBareRepo({ 'blob.bin': 'x'.repeat(300_000) });
    try {
      const dir = join(scratch, 'ws');
      await expect(gitService({ maxSizeBytes: 100_000 }).shallowClone(big.path, 'main', dir)).rejects.toMatchObject({
        code: 'REPOSITORY_TOO_LARGE',
      });
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(gitDirFor(dir))).toBe(false);
      await expect(gitService({ maxFiles: 10 }).shallowClone(repo.path, 'main', dir)).resolves.toMatchObject({
        files: 2,
      });
    } finally {
      big.cleanup();
    }
  });

  it('stops a clone that grows past the size limit while it runs', async () => {
    const big = createBareRepo({ 'blob.txt': randomBytes(3 * 1024 * 1024).toString('base64') });
    const slow = await startGitHttpServer(big.root, TOKEN, { chunkDelayMs: 40 });
    try {
      const dir = join(scratch, 'ws');
      await expect(
        gitService({ maxSizeBytes: 512 * 1024 }).shallowClone(`${slow.url}/${big.relative}`, 'main', dir, TOKEN),
      ).rejects.toMatchObject({ code: 'REPOSITORY_TOO_LARGE', message: expect.stringContaining('while cloning') });
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(gitDirFor(dir))).toBe(false);
    } finally {
      await slow.close();
      big.cleanup();
    }
  });

  it('stops a clone when the run is cancelled, leaving nothing behind', async () => {
    const big = createBareRepo({ 'blob.txt': randomBytes(2 * 1024 * 1024).toString('base64') });
    // Slow enough that the whole clone would take tens of seconds: finishing well before that can
    // only be the cancel, whatever the machine's load.
    const slow = await startGitHttpServer(big.root, TOKEN, { chunkDelayMs: 1000 });
    try {
      const dir = join(scratch, 'ws');
      const cancel = new AbortController();
      setTimeout(() => cancel.abort(new Error('cancelled')), 300);
      const started = Date.now();
      await expect(
        gitService().shallowClone(`${slow.url}/${big.relative}`, 'main', dir, TOKEN, undefined, cancel.signal),
      ).rejects.toThrow('cancelled');
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(existsSync(dir)).toBe(false);
      expect(existsSync(gitDirFor(dir))).toBe(false);
    } finally {
      await slow.close();
      big.cleanup();
    }
  });

  it('keeps hooks and repository config from running programs', async () => {
    const service = gitService();
    const dir = join(scratch, 'ws');
    await service.shallowClone(repo.path, 'main', dir);
    const marker = join(scratch, 'hook-ran');
    writeFileSync(join(gitDirFor(dir), 'hooks', 'pre-commit'), `#!/bin/sh\ntouch ${marker}\n`, { mode: 0o755 });
    execFileSync('git', ['--git-dir', gitDirFor(dir), 'config', 'core.fsmonitor', `touch ${marker}-fsmonitor`]);
    writeFileSync(join(dir, 'x.txt'), 'x\n');
    expect(await service.commitAll(dir, 'quorum/task-4', 'x')).toMatch(/^[0-9a-f]{40}$/);
    expect(existsSync(marker)).toBe(false);
    expect(existsSync(`${marker}-fsmonitor`)).toBe(false);
  });
});

describe('GitService.patchFromDiff', () => {
  it('commits the result’s diff as a patch that git am applies to an empty repository, the same every time', async () => {
    const service = gitService();
    const files = [
      { path: 'src/sum.js', content: 'export const sum = (a, b) => a + b;\n' },
      { path: 'test/sum.test.js', content: "import { sum } from '../src/sum.js';\n" },
    ];
    const diff = unifiedDiff([], files);
    const date = new Date('2026-01-02T03:04:05Z');
    const patch = await service.patchFromDiff([], diff, 'Add sum\n\nWritten by Quorum.', { date });
    expect(await service.patchFromDiff([], diff, 'Add sum\n\nWritten by Quorum.', { date })).toBe(patch);
    expect(patch).toContain('Subject: [PATCH] Add sum');
    expect(patch).toContain('new file mode 100644');
    const target = mkdtempSync(join(tmpdir(), 'quorum-am-'));
    try {
      git(['init', '-q', target]);
      git(['am', '-q'], target, patch);
      expect(readFileSync(join(target, 'src/sum.js'), 'utf8')).toBe(files[0].content);
      expect(readFileSync(join(target, 'test/sum.test.js'), 'utf8')).toBe(files[1].content);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
    const escaping = diff.replaceAll('src/sum.js', '../evil.js');
    await expect(service.patchFromDiff([], escaping, 'x')).rejects.toMatchObject({ code: 'GIT_FAILED' });
  });
});

describe('GitService.patchFromDiff on top of the task’s own files', () => {
  it('patches only the change (deletions included), and applies where the base files are', async () => {
    const service = gitService();
    const base = [
      { path: 'sum.js', content: 'export const sum = (a, b) => a - b;\n' },
      { path: 'old.js', content: 'gone\n' },
    ];
    const result = [
      { path: 'sum.js', content: 'export const sum = (a, b) => a + b;\n' },
      { path: 'sum.test.js', content: '// t\n' },
    ];
    const patch = await service.patchFromDiff(base, unifiedDiff(base, result), 'Fix sum');
    expect(patch).toContain('-export const sum = (a, b) => a - b;');
    expect(patch).not.toContain('Subject: [PATCH] base');
    const target = mkdtempSync(join(tmpdir(), 'quorum-am-'));
    try {
      git(['init', '-q', target]);
      writeFileSync(join(target, 'sum.js'), base[0].content);
      writeFileSync(join(target, 'old.js'), base[1].content);
      git(['add', '-A'], target);
      git(['commit', '-q', '-m', 'mine'], target);
      git(['am', '-q'], target, patch);
      expect(readFileSync(join(target, 'sum.js'), 'utf8')).toBe(result[0].content);
      expect(readFileSync(join(target, 'sum.test.js'), 'utf8')).toBe('// t\n');
      expect(existsSync(join(target, 'old.js'))).toBe(false);
    } finally {
      rmSync(target, { recursive: true, force: true });
    }
  });
});
