import { existsSync, lstatSync, readlinkSync, realpathSync } from 'node:fs';
import { chown, lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ProcessOutcome, SandboxCommand, SandboxDriver } from '../sandbox.types.js';
import { prlimitPrefix } from './limits-wrapper.js';
import { spawnBounded } from './spawn-bounded.js';

const WORKSPACE = '/workspace';
const NODE_DIR = '/opt/node/bin';
const INNER_UID = 1000;
const REPORT_MAX_BYTES = 4 * 1024 * 1024;

export class BwrapUnavailableError extends Error {}

/** Finds the `bwrap` binary in the system directories (not PATH: nothing user-writable), or says how to get it. */
export function findBwrap(candidates: string[] = ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap']): string {
  for (const candidate of candidates) {
    if (existsSync(candidate)) return candidate;
  }
  throw new BwrapUnavailableError(
    'SANDBOX_DRIVER=bwrap but bubblewrap is not installed: run `apt-get install -y bubblewrap` (or set SANDBOX_DRIVER=process, which isolates nothing)',
  );
}

export interface BwrapDriverOptions {
  bwrap: string;
  nodeBinary: string;
  python: string;
  /** When the app runs as root, the sandbox runs as this unprivileged host uid (RLIMIT_NPROC never binds root). */
  hostUid?: number;
}

/** The host workspace, read-only, where the start-up copy reads it from. */
const WORKSPACE_SOURCE = '/run/workspace-src';
/** Exit code of the wrapper when the workspace does not fit the sandbox's disk. */
export const WORKSPACE_COPY_FAILED = 97;
export const WORKSPACE_COPY_FAILED_MESSAGE = 'quorum-sandbox: the workspace does not fit in SANDBOX_DISK_MB';

/**
 * bubblewrap: new user, pid, network, ipc, uts and cgroup namespaces (no network at all, no nested
 * user namespaces), an empty environment but for what the command is given, the system directories
 * read-only, a private /tmp, minimal /proc and /dev. The workspace is copied into a size-limited
 * tmpfs at /workspace before the command starts: tests may write there (and in /tmp), but
 * nothing they write reaches the host's disk (no disk filling, the workspace on disk stays exactly
 * what the agents wrote), and a repository's .git is bound read-only (a hook planted there would
 * run outside the sandbox). The sandbox dies with its parent, and killing bwrap's process group
 * tears the whole pid namespace down.
 */
export class BwrapDriver implements SandboxDriver {
  readonly name = 'bwrap' as const;
  readonly workspaceMount = WORKSPACE;
  readonly nodePath = `${NODE_DIR}/node`;
  readonly pythonPath: string;
  /** The host uid bwrap runs as (undefined: this process's). */
  readonly hostUid?: number;
  /** The host's Node binary, bound at `nodePath`. */
  readonly nodeBinary: string;
  private readonly systemArgs: string[];

  constructor(private readonly options: BwrapDriverOptions) {
    this.pythonPath = options.python;
    this.hostUid = options.hostUid;
    this.nodeBinary = options.nodeBinary;
    this.systemArgs = systemMounts(options.python);
  }

  async run(command: SandboxCommand): Promise<ProcessOutcome> {
    const uid = this.options.hostUid;
    const owner = await lstat(command.workspaceDir);
    const outputOwner = command.outputDir ? await lstat(command.outputDir) : undefined;
    // The sandbox user must be able to read the workspace; it is handed back afterwards.
    if (uid !== undefined) await chownTree(command.workspaceDir, uid, uid);
    if (uid !== undefined && command.outputDir) await chown(command.outputDir, uid, uid);
    const git = join(command.workspaceDir, '.git');
    const gitInfo = await lstat(git).catch(() => undefined);
    const gitArgs = gitInfo?.isDirectory() ? ['--ro-bind', git, `${WORKSPACE}/.git`] : [];
    const env = Object.entries({
      ...command.env,
      ...(command.outputDir ? { QUORUM_OUTPUT_DIR: OUTPUT_MOUNT } : {}),
    }).flatMap(([k, v]) => ['--setenv', k, v]);
    const extra = command.readOnlyPaths.flatMap((p) => ['--ro-bind', p, p]);
    const mounts = (command.mounts ?? []).flatMap((m) => [
      '--ro-bind',
      m.source,
      `${WORKSPACE}/${mountTarget(m.target)}`,
    ]);
    const skipped = ['.git', ...(command.mounts ?? []).map((m) => mountTarget(m.target))]
      .map((name) => `! -name ${shellQuote(name)}`)
      .join(' ');
    const mb = (n: number) => String(n * 1024 * 1024);
    const copyThenExec =
      `find ${WORKSPACE_SOURCE} -mindepth 1 -maxdepth 1 ${skipped} -exec cp -a -t ${WORKSPACE}/ {} + ` +
      `|| { echo '${WORKSPACE_COPY_FAILED_MESSAGE}' >&2; exit ${WORKSPACE_COPY_FAILED}; }; exec "$@"`;
    // Setup only: the host's network namespace (a new one would hold nothing but its own loopback),
    // with what name resolution and TLS need. Everything else gets an empty network namespace.
    const network = command.network ? ['--share-net', ...networkFiles()] : [];
    const output = command.outputDir ? ['--bind', command.outputDir, OUTPUT_MOUNT] : [];
    const argv = [
      this.options.bwrap,
      '--unshare-all',
      ...network,
      '--unshare-user',
      '--uid',
      String(INNER_UID),
      '--gid',
      String(INNER_UID),
      '--hostname',
      'sandbox',
      '--disable-userns',
      '--die-with-parent',
      '--new-session',
      '--clearenv',
      ...env,
      ...this.systemArgs,
      '--ro-bind',
      this.options.nodeBinary,
      this.nodePath,
      '--proc',
      '/proc',
      '--dev',
      '/dev',
      '--size',
      mb(command.limits.maxFileMb),
      '--tmpfs',
      '/tmp',
      ...extra,
      '--ro-bind',
      command.workspaceDir,
      WORKSPACE_SOURCE,
      '--size',
      mb(command.limits.diskMb),
      '--tmpfs',
      WORKSPACE,
      ...gitArgs,
      ...mounts,
      ...output,
      '--chdir',
      WORKSPACE,
      '/bin/sh',
      '-c',
      copyThenExec,
      'sh',
      ...prlimitPrefix(command.limits, { nproc: true }),
      ...command.argv,
    ];
    try {
      return await spawnBounded(argv, {
        cwd: '/',
        env: {},
        timeoutMs: command.limits.timeoutSeconds * 1000,
        maxOutputBytes: command.limits.maxOutputBytes,
        maxReportBytes: REPORT_MAX_BYTES,
        uid,
        gid: uid,
        signal: command.signal,
      });
    } finally {
      if (uid !== undefined) await chownTree(command.workspaceDir, owner.uid, owner.gid);
      if (uid !== undefined && command.outputDir && outputOwner)
        await chownTree(command.outputDir, outputOwner.uid, outputOwner.gid);
    }
  }
}

/** Where `SandboxCommand.outputDir` appears inside the sandbox. */
export const OUTPUT_MOUNT = '/run/quorum-out';

/** A mount target is one plain name inside the workspace (checked again here: it becomes a path and a shell word). */
function mountTarget(target: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(target) || target === '.' || target === '..' || target === '.git')
    throw new Error(`invalid sandbox mount target ${JSON.stringify(target)}`);
  return target;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

/** Name resolution and CA certificates, for a command that has the network (setup). */
function networkFiles(): string[] {
  const args: string[] = [];
  for (const path of [
    '/etc/resolv.conf',
    '/etc/hosts',
    '/etc/nsswitch.conf',
    '/etc/ssl',
    '/etc/ca-certificates',
    '/etc/pki',
  ]) {
    if (existsSync(path)) args.push('--ro-bind', path, path);
  }
  return args;
}

/** Read-only system directories, keeping merged-/usr symlinks as symlinks. */
function systemMounts(python: string): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let info;
    try {
      info = lstatSync(dir);
    } catch {
      continue;
    }
    if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else if (info.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  for (const path of [
    '/etc/alternatives',
    '/etc/ld.so.cache',
    '/etc/ld.so.conf',
    '/etc/ld.so.conf.d',
    '/etc/localtime',
  ]) {
    if (existsSync(path)) args.push('--ro-bind', path, path);
  }
  const prefix = pythonPrefix(python);
  if (prefix) args.push('--ro-bind', prefix, prefix);
  return args;
}

/**
 * A python installed outside /usr (pyenv, /opt) needs its installation prefix visible: the
 * directory above its bin/. Never anything as broad as a top-level directory (or `/` itself).
 */
export function pythonPrefix(python: string): string | undefined {
  if (!existsSync(python)) return undefined;
  const real = realpathSync(python);
  if (real.startsWith('/usr/')) return undefined;
  const prefix = dirname(dirname(real));
  return prefix.split('/').filter(Boolean).length >= 2 ? prefix : undefined;
}

/** Hands the workspace to `uid` (or back); .git is left alone (bound as is, readable by all). */
async function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  await chown(dir, uid, gid);
  const walk = async (path: string): Promise<void> => {
    for (const entry of await readdir(path, { withFileTypes: true })) {
      if (path === dir && entry.name === '.git') continue;
      const child = join(path, entry.name);
      const info = await lstat(child).catch(() => undefined);
      if (!info || info.isSymbolicLink()) continue;
      if (info.uid !== uid || info.gid !== gid) {
        await chown(child, uid, gid).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
      }
      if (info.isDirectory()) await walk(child);
    }
  };
  await walk(dir);
}
