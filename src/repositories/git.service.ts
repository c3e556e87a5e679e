import { lstat, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import type { RepositoriesConfig } from '#src/config/repositories.config.js';
import { GitRunOptions, GitRunResult, runGit } from './git-process.js';
import { pinnedResolve } from './host-guard.js';
import { normaliseRelativePath } from './safe-path.js';
import {
  BranchNotFoundError,
  GitCommandError,
  RepositoryAuthFailedError,
  RepositoryTooLargeError,
  RepositoryUnreachableError,
} from './repositories.errors.js';

export interface RemoteInfo {
  /** The branch the remote's HEAD points at (its default branch), when it says. */
  headBranch: string | null;
  /** Branch name → commit sha, for the branches asked about (and the head branch). */
  branches: Map<string, string>;
}

export interface CloneResult {
  branch: string;
  headSha: string;
  gitDir: string;
  sizeBytes: number;
  files: number;
}

export interface GitAuthor {
  name: string;
  email: string;
}

/** The ref that marks what a workspace was cloned at: patches and diffs are taken against it. */
const BASE_REF = 'refs/quorum/base';
const CLONE_WATCH_INTERVAL_MS = 250;
/**
 * Never part of a result unless the repository already tracks them: installed dependencies
 * (what setup installs, and their usual other homes), caches of the runners and build output.
 */
export const GENERATED_PATTERNS = [
  'node_modules/',
  '.venv/',
  'venv/',
  '__pycache__/',
  '*.py[cod]',
  '.pytest_cache/',
  '.mypy_cache/',
  '.ruff_cache/',
  '.tox/',
  '*.egg-info/',
  '.npm/',
  '.cache/',
  '.eslintcache',
  '*.tsbuildinfo',
  '.nyc_output/',
  'coverage/',
  'dist/',
  'build/',
] as const;
const BRANCH_NAME = /^(?!-)(?!.*\.\.)(?!.*\/\/)(?!.*@\{)(?!.*\.lock(\/|$))(?!\/)[A-Za-z0-9._\-/]{1,200}(?<![./])$/;

export function isValidBranchName(branch: string): boolean {
  return BRANCH_NAME.test(branch);
}

/**
 * The git directory of a workspace lives beside it, never inside: whatever runs in the workspace
 * (agent-written files, the repository's own tests) cannot rewrite the config, hooks or remotes
 * that the later commit and push read.
 */
export function gitDirFor(dir: string): string {
  return `${dir.replace(/\/+$/, '')}.git`;
}

function firstFatalLine(stderr: string): string {
  const line =
    stderr
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.startsWith('fatal:')) ??
    stderr.trim().split('\n')[0] ??
    '';
  return line.replace(/^fatal:\s*/, '').slice(0, 300) || 'git gave no reason';
}

const AUTH_FAILURE =
  /Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[13]|HTTP Basic: Access denied|Invalid username or password/i;

/**
 * Real `git`, spawned with argument arrays (never a shell), each call bounded in time. Tokens reach
 * git only through its environment (see git-process.ts): never the URL, argv or a log line.
 */
@Injectable()
export class GitService {
  private readonly logger = new Logger(GitService.name);
  private readonly config: RepositoriesConfig;

  constructor(config: ConfigService<AllConfig, true>) {
    this.config = config.get('repositories', { infer: true });
  }

  /** Lists the remote's HEAD and the given branches; fails with a user-facing reason. */
  async lsRemote(
    url: string,
    options: { token?: string; branches?: string[]; onSpawn?: GitRunOptions['onSpawn'] } = {},
  ): Promise<RemoteInfo> {
    const patterns = ['HEAD', ...(options.branches ?? []).map((b) => `refs/heads/${b}`)];
    const result = await runGit(['ls-remote', '--symref', url, ...patterns], {
      ...(await this.transport(url)),
      token: options.token,
      timeoutMs: this.config.lsRemoteTimeoutMs,
      maxOutputBytes: 1024 * 1024,
      onSpawn: options.onSpawn,
    });
    this.throwIfRemoteFailed(result, 'ls-remote', this.config.lsRemoteTimeoutMs);
    const branches = new Map<string, string>();
    let headBranch: string | null = null;
    for (const line of result.stdout.split('\n')) {
      const symref = /^ref: refs\/heads\/(\S+)\tHEAD$/.exec(line);
      if (symref) {
        headBranch = symref[1];
        continue;
      }
      const ref = /^([0-9a-f]{40,64})\trefs\/heads\/(\S+)$/.exec(line);
      if (ref) branches.set(ref[2], ref[1]);
    }
    return { headBranch, branches };
  }

  /** Resolves the branch to use (the given one, or the remote's default) and checks that it exists. */
  async resolveBranch(url: string, branch: string | undefined, token?: string): Promise<string> {
    const info = await this.lsRemote(url, { token, branches: branch ? [branch] : [] });
    const wanted = branch ?? info.headBranch;
    if (!wanted) throw new RepositoryUnreachableError('the repository is empty (it has no default branch)');
    if (branch && !info.branches.has(branch)) throw new BranchNotFoundError(branch);
    return wanted;
  }

  /**
   * A depth-1 clone of one branch into `dir` (which must not exist or be empty), with its git
   * directory beside it. The checkout is measured afterwards and refused when it exceeds the
   * configured size or file count.
   */
  async shallowClone(
    url: string,
    branch: string,
    dir: string,
    token?: string,
    onSpawn?: GitRunOptions['onSpawn'],
    signal?: AbortSignal,
  ): Promise<CloneResult> {
    const gitDir = gitDirFor(dir);
    const started = Date.now();
    // A retried run may find the git directory of its previous attempt.
    await rm(gitDir, { recursive: true, force: true });
    // Disk use is watched while the clone runs, so a huge repository is stopped before it fills the disk.
    const tooLarge = new AbortController();
    let measuring = false;
    const watchdog = setInterval(() => {
      // One walk at a time: on a large checkout a walk can outlast the interval.
      if (measuring) return;
      measuring = true;
      void Promise.all([measure(gitDir, this.config.maxFiles), measure(dir, this.config.maxFiles)])
        .then(
          ([g, d]) => {
            if (g.bytes + d.bytes > this.config.maxSizeBytes || g.files + d.files > this.config.maxFiles * 2)
              tooLarge.abort();
          },
          (error: unknown) => this.logger.warn(`measuring a clone in progress failed: ${(error as Error).message}`),
        )
        .finally(() => {
          measuring = false;
        });
    }, CLONE_WATCH_INTERVAL_MS);
    let result: GitRunResult;
    try {
      result = await runGit(
        [
          'clone',
          '--depth',
          '1',
          '--single-branch',
          '--no-tags',
          '--branch',
          branch,
          `--separate-git-dir=${gitDir}`,
          '--',
          url,
          dir,
        ],
        {
          ...(await this.transport(url)),
          token,
          timeoutMs: this.config.cloneTimeoutMs,
          onSpawn,
          signal: signal ? AbortSignal.any([signal, tooLarge.signal]) : tooLarge.signal,
        },
      );
    } finally {
      clearInterval(watchdog);
    }
    if (signal?.aborted) {
      await this.removeClone(dir);
      signal.throwIfAborted();
    }
    if (tooLarge.signal.aborted) {
      await this.removeClone(dir);
      throw new RepositoryTooLargeError(`over ${formatBytes(this.config.maxSizeBytes)} while cloning`);
    }
    if (result.code !== 0 || result.timedOut) {
      await this.removeClone(dir);
      if (/Remote branch .* not found/i.test(result.stderr)) throw new BranchNotFoundError(branch);
      this.throwIfRemoteFailed(result, 'clone', this.config.cloneTimeoutMs);
    }
    // The gitlink file would point tools in the workspace at the git directory; nothing there needs it.
    await rm(join(dir, '.git'), { force: true });
    const [usage, gitUsage] = await Promise.all([
      measure(dir, this.config.maxFiles),
      measure(gitDir, Number.MAX_SAFE_INTEGER),
    ]);
    const sizeBytes = usage.bytes + gitUsage.bytes;
    if (sizeBytes > this.config.maxSizeBytes || usage.files > this.config.maxFiles) {
      await this.removeClone(dir);
      throw new RepositoryTooLargeError(
        usage.files > this.config.maxFiles
          ? `more than ${this.config.maxFiles} files`
          : `${formatBytes(sizeBytes)}, limit ${formatBytes(this.config.maxSizeBytes)}`,
      );
    }
    // Both only read HEAD: two git processes at once instead of one after the other.
    const [, head] = await Promise.all([
      this.git(dir, ['update-ref', BASE_REF, 'HEAD']),
      this.git(dir, ['rev-parse', 'HEAD']),
    ]);
    const headSha = head.trim();
    this.logger.log(
      `cloned ${branch}@${headSha.slice(0, 12)} (${Math.ceil(sizeBytes / 1024)} KiB, ${usage.files} files) in ${Date.now() - started} ms`,
    );
    return { branch, headSha, gitDir, sizeBytes, files: usage.files };
  }

  /**
   * The first of `paths` that is a regular file in the cloned commit (links and directories are
   * passed over), read from git rather than the working tree: what the agents changed since, or
   * planted as a link, is never what is read. At most `maxBytes` of it; `size` is its whole size.
   */
  async readBaseFile(
    dir: string,
    paths: readonly string[],
    maxBytes: number,
  ): Promise<{ path: string; content: Buffer; size: number } | null> {
    const listing = await this.git(dir, ['ls-tree', '-l', '-z', '--full-name', BASE_REF, '--', ...paths]);
    const entries = new Map<string, { sha: string; size: number }>();
    for (const record of listing.split('\0')) {
      const match = /^(100644|100755) blob ([0-9a-f]{40,64}) +(\d+)\t(.+)$/s.exec(record);
      if (match) entries.set(match[4], { sha: match[2], size: Number(match[3]) });
    }
    const path = paths.find((candidate) => entries.has(candidate));
    if (!path) return null;
    const { sha, size } = entries.get(path)!;
    const result = await runGit(['--git-dir', gitDirFor(dir), 'cat-file', 'blob', sha], {
      cwd: dir,
      timeoutMs: this.config.cloneTimeoutMs,
      maxOutputBytes: maxBytes,
    });
    if ((result.code !== 0 && !result.truncated) || result.timedOut)
      throw new GitCommandError('cat-file', result.stderr);
    return { path, content: Buffer.from(result.stdout, 'utf8'), size };
  }

  /** The commit the workspace was cloned at. */
  async baseSha(dir: string): Promise<string> {
    return (await this.git(dir, ['rev-parse', BASE_REF])).trim();
  }

  /**
   * Commits every change in the workspace on a new branch `branch` (from the cloned commit).
   * Returns the commit sha, or null when the workspace has no changes.
   */
  async commitAll(
    dir: string,
    branch: string,
    message: string,
    author: GitAuthor = this.config.author,
  ): Promise<string | null> {
    await this.git(dir, ['checkout', '-q', '-B', branch]);
    await this.stageAll(dir);
    const sinceBase = await this.git(dir, ['diff', '--cached', '--name-only', BASE_REF]);
    if (!sinceBase.trim()) return null;
    // A retried publish finds its earlier commit already holding everything: nothing new to commit.
    const sinceHead = await this.git(dir, ['diff', '--cached', '--name-only', 'HEAD']);
    if (!sinceHead.trim()) return (await this.git(dir, ['rev-parse', 'HEAD'])).trim();
    await this.git(dir, ['commit', '-q', '--no-verify', '-F', '-'], {
      stdin: message,
      env: {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: author.name,
        GIT_COMMITTER_EMAIL: author.email,
      },
    });
    return (await this.git(dir, ['rev-parse', 'HEAD'])).trim();
  }

  /** The commits since the clone as an mbox that `git am` applies. */
  async formatPatch(dir: string): Promise<string> {
    return this.git(dir, [
      'format-patch',
      '--stdout',
      '--no-signature',
      '--binary',
      '--no-ext-diff',
      `${BASE_REF}..HEAD`,
    ]);
  }

  /** A unified diff of everything in the workspace (committed or not) against the cloned commit. */
  async diff(dir: string): Promise<string> {
    await this.stageAll(dir);
    return this.git(dir, ['diff', '--cached', '--no-ext-diff', '--no-textconv', '--no-color', BASE_REF]);
  }

  /**
   * What the agents changed so far, before any commit: a unified diff of the working tree against
   * the cloned commit, and the changed files as staged (text files only; deleted files and links
   * left out). Read from git's index, not the working tree, so a link planted there is never
   * followed; installed dependencies and build output are excluded as in a commit.
   */
  async workingChange(dir: string): Promise<{ diff: string; files: Array<{ path: string; content: string }> }> {
    await this.stageAll(dir);
    const [diff, names] = await Promise.all([
      this.git(dir, ['diff', '--cached', '--no-ext-diff', '--no-textconv', '--no-color', BASE_REF]),
      this.git(dir, ['diff', '--cached', '--name-only', '-z', '--no-renames', '--diff-filter=d', BASE_REF]),
    ]);
    const paths = names.split('\0').filter(Boolean);
    if (paths.length === 0) return { diff, files: [] };
    // Literal: a changed file named `*.js` is that file, not every unchanged `.js` beside it.
    const listing = await this.git(dir, ['--literal-pathspecs', 'ls-files', '-s', '-z', '--', ...paths]);
    const files: Array<{ path: string; content: string }> = [];
    for (const record of listing.split('\0')) {
      const match = /^(?:100644|100755) ([0-9a-f]{40,64}) 0\t(.+)$/s.exec(record);
      if (!match) continue;
      const content = await this.git(dir, ['cat-file', 'blob', match[1]]);
      if (!content.includes('\0')) files.push({ path: match[2], content });
    }
    return { diff, files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
  }

  /**
   * The files of the result commit that differ from the cloned commit (the files of `diff`), with
   * their content as committed; deleted files and links are left out. Read from git, not from the
   * working tree, so a link planted there is never followed.
   */
  async changedFiles(dir: string): Promise<Array<{ path: string; content: string }>> {
    const names = await this.git(dir, ['diff', '--name-only', '-z', '--no-renames', BASE_REF, 'HEAD']);
    const paths = names.split('\0').filter(Boolean);
    if (paths.length === 0) return [];
    const listing = await this.git(dir, ['ls-tree', '-z', '--full-name', 'HEAD', '--', ...paths]);
    const files: Array<{ path: string; content: string }> = [];
    for (const record of listing.split('\0')) {
      const match = /^(?:100644|100755) blob ([0-9a-f]{40,64})\t(.+)$/s.exec(record);
      if (match) files.push({ path: match[2], content: await this.git(dir, ['cat-file', 'blob', match[1]]) });
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /**
   * Pushes `branch` to `url` (given explicitly: no remote configured in the repository is trusted).
   * `force` replaces the remote branch (a re-run of the same task rewrites its own branch).
   */
  async push(
    dir: string,
    url: string,
    branch: string,
    token?: string,
    onSpawn?: GitRunOptions['onSpawn'],
    force = false,
  ): Promise<void> {
    const refspec = `${force ? '+' : ''}refs/heads/${branch}:refs/heads/${branch}`;
    const result = await runGit(
      ['--git-dir', gitDirFor(dir), '--work-tree', dir, 'push', '--porcelain', '--no-verify', url, refspec],
      { ...(await this.transport(url)), cwd: dir, token, timeoutMs: this.config.pushTimeoutMs, onSpawn },
    );
    this.throwIfRemoteFailed(result, 'push', this.config.pushTimeoutMs);
  }

  /** Applies an mbox from `formatPatch` on top of the checkout, on branch `branch`; the commit keeps its author and date. */
  async applyPatch(
    dir: string,
    branch: string,
    patch: string,
    committer: GitAuthor = this.config.author,
  ): Promise<string> {
    await this.git(dir, ['checkout', '-q', '-B', branch]);
    await this.git(dir, ['am', '--quiet', '--committer-date-is-author-date', '--keep-cr'], {
      stdin: patch,
      env: { GIT_COMMITTER_NAME: committer.name, GIT_COMMITTER_EMAIL: committer.email },
    });
    return (await this.git(dir, ['rev-parse', 'HEAD'])).trim();
  }

  /**
   * A `git am`-able patch for tasks without a repository, made from the result's own `diff` (so the
   * two never disagree): `base` (the task's own files) is committed first, the diff is applied on
   * it by git, which refuses a path outside the tree, and committed as one commit by `author` dated
   * `date` (the same result gives the same patch). It applies to any tree holding the base files.
   */
  async patchFromDiff(
    base: Array<{ path: string; content: string }>,
    diff: string,
    message: string,
    options: { author?: GitAuthor; date?: Date } = {},
  ): Promise<string> {
    const author = options.author ?? this.config.author;
    const parent = await mkdtemp(join(tmpdir(), 'quorum-patch-'));
    const dir = join(parent, 'work');
    try {
      await mkdir(dir);
      const init = await runGit(['init', '-q', `--separate-git-dir=${gitDirFor(dir)}`, dir], { timeoutMs: 30_000 });
      if (init.code !== 0) throw new GitCommandError('init', init.stderr);
      await rm(join(dir, '.git'), { force: true });
      const date = (options.date ?? new Date()).toISOString();
      const commit = async (text: string) =>
        this.git(dir, ['commit', '-q', '--no-verify', '--allow-empty', '-F', '-'], {
          stdin: text,
          env: {
            GIT_AUTHOR_NAME: author.name,
            GIT_AUTHOR_EMAIL: author.email,
            GIT_AUTHOR_DATE: date,
            GIT_COMMITTER_NAME: author.name,
            GIT_COMMITTER_EMAIL: author.email,
            GIT_COMMITTER_DATE: date,
          },
        });
      if (base.length > 0) {
        for (const file of base) {
          const path = join(dir, normaliseRelativePath(file.path));
          await mkdir(dirname(path), { recursive: true });
          await writeFile(path, file.content);
        }
        await this.git(dir, ['add', '-A', '--', '.']);
        await commit('base');
      }
      await this.git(dir, ['apply', '--index', '--whitespace=nowarn', '-'], { stdin: diff });
      await commit(message);
      return await this.git(dir, [
        'format-patch',
        '--stdout',
        '--no-signature',
        '--binary',
        ...(base.length > 0 ? ['-1'] : ['--root']),
        'HEAD',
      ]);
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  }

  /** Removes a workspace's git directory (and the checkout, when `withCheckout`). */
  async removeClone(dir: string, withCheckout = true): Promise<void> {
    await rm(gitDirFor(dir), { recursive: true, force: true });
    if (withCheckout) await rm(dir, { recursive: true, force: true });
  }

  /**
   * Stages every change of the workspace except what tools generate: installed dependencies,
   * caches and build output are left out even when the repository's .gitignore forgets them (the
   * git directory's own exclude file, which only concerns files git does not track yet).
   */
  private async stageAll(dir: string): Promise<void> {
    const info = join(gitDirFor(dir), 'info');
    await mkdir(info, { recursive: true });
    await writeFile(join(info, 'exclude'), `${GENERATED_PATTERNS.join('\n')}\n`);
    await this.git(dir, ['add', '-A', '--', '.']);
  }

  /** The transports a remote command may use, and the checked address its host is pinned to. */
  private async transport(url: string): Promise<Pick<GitRunOptions, 'allowFile' | 'allowHttp' | 'config'>> {
    return {
      allowFile: this.config.allowLocal && !/^https?:\/\//i.test(url),
      allowHttp: this.config.allowHttp && /^http:\/\//i.test(url),
      config: await pinnedResolve(url, this.config.allowPrivateHosts),
    };
  }

  /** A local command on the workspace's own git directory. */
  private async git(dir: string, args: string[], extra: Partial<GitRunOptions> = {}): Promise<string> {
    const result = await runGit(['--git-dir', gitDirFor(dir), '--work-tree', dir, ...args], {
      cwd: dir,
      timeoutMs: this.config.cloneTimeoutMs,
      maxOutputBytes: this.config.maxSizeBytes,
      ...extra,
    });
    if (result.code !== 0 || result.timedOut || result.truncated) {
      this.logger.warn(
        `git ${args[0]} failed (${result.timedOut ? 'timed out' : `exit ${result.code}`}): ${result.stderr.slice(0, 500)}`,
      );
      throw new GitCommandError(args[0], result.stderr);
    }
    return result.stdout;
  }

  private throwIfRemoteFailed(result: GitRunResult, command: string, timeoutMs: number): void {
    if (result.timedOut) throw new RepositoryUnreachableError(`no answer within ${Math.round(timeoutMs / 1000)} s`);
    if (result.code === 0) return;
    this.logger.warn(`git ${command} failed (exit ${result.code}): ${result.stderr.slice(0, 500)}`);
    if (AUTH_FAILURE.test(result.stderr)) throw new RepositoryAuthFailedError();
    if (/protocol '?\w+'? is not supported|transport '\w+' not allowed/i.test(result.stderr)) {
      throw new RepositoryUnreachableError('this kind of URL is not allowed here');
    }
    if (command === 'push') throw new GitCommandError(command, result.stderr);
    throw new RepositoryUnreachableError(firstFatalLine(result.stderr));
  }
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.ceil(bytes / 1024 / 1024)} MB` : `${Math.ceil(bytes / 1024)} KiB`;
}

/** Bytes and files under `dir`, counting links as themselves (never followed); stops early past `maxFiles`. */
export async function measure(dir: string, maxFiles: number): Promise<{ bytes: number; files: number }> {
  let bytes = 0;
  let files = 0;
  const stack = [dir];
  while (stack.length > 0 && files <= maxFiles) {
    const current = stack.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        stack.push(path);
        continue;
      }
      files += 1;
      // Files come and go while git runs (lock files): one that vanished counts as nothing.
      bytes += (await lstat(path).catch(() => undefined))?.size ?? 0;
    }
  }
  return { bytes, files };
}
