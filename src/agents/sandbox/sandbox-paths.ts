import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, linkSync, lstatSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * Where the sandbox's files live when the sandbox runs as another user (the app runs as root, bwrap
 * as SANDBOX_UID). bwrap opens every bind source (workspace, setup cache, Node binary) as that
 * user, so each directory above them needs the search bit for it. A clone in a 0700 home (root's
 * `~/quorum`) has none: there the workspaces, the setup cache and a linked copy of the Node binary
 * move to a directory the sandbox user can reach, instead of opening up the home directory.
 */

export class SandboxPathError extends Error {}

/** The first directory on the way to `path` (itself included) that `uid` may not search, if any. */
export function unreachableDir(path: string, uid: number, gid = uid): string | undefined {
  const parts = resolve(path).split(sep).filter(Boolean);
  let current = '/';
  for (let i = 0; i <= parts.length; i++) {
    let info;
    try {
      info = statSync(current);
    } catch {
      return undefined; // not there yet: it will be created below a reachable parent, or fail then
    }
    if (info.isDirectory()) {
      const bit = info.uid === uid ? 0o100 : info.gid === gid ? 0o010 : 0o001;
      if ((info.mode & bit) === 0) return current;
    }
    if (i < parts.length) current = join(current, parts[i]);
  }
  return undefined;
}

function describeDir(dir: string): string {
  const info = statSync(dir);
  return `${dir} is mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${info.uid}`;
}

/** A directory of ours (never one another user planted, never a symbolic link), mode 0711. */
function ownDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  const info = lstatSync(dir);
  const me = process.getuid?.() ?? info.uid;
  if (!info.isDirectory() || info.uid !== me) {
    throw new SandboxPathError(
      `${dir} exists but is not a directory owned by this user (uid ${me}); remove it or set SANDBOX_DIR to another directory`,
    );
  }
  chmodSync(dir, 0o711);
}

export interface SandboxDirChoice {
  /** Holds `workspaces/`, `setup-cache/` and `runtime/`. */
  dir: string;
  /** Why it is not DATA_DIR (for one log line), when it is not. */
  relocatedBecause?: string;
}

const chosen = new Map<string, SandboxDirChoice>();

/**
 * The directory of the sandbox's files. `SANDBOX_DIR` when set (refused, naming the directory in
 * the way, if the sandbox user cannot reach it); else DATA_DIR when the sandbox runs as this user
 * or can reach it; else a per-DATA_DIR directory under the system temporary directory.
 */
export function sandboxDir(options: { dataDir: string; sandboxDir?: string; sandboxUid?: number }): SandboxDirChoice {
  const key = JSON.stringify(options);
  const known = chosen.get(key);
  if (known) return known;
  const { dataDir, sandboxUid } = options;
  let choice: SandboxDirChoice;
  if (options.sandboxDir) {
    const dir = resolve(options.sandboxDir);
    // The directory itself is ours and made searchable (0711): only the ones above it can be in the way.
    const blocked = sandboxUid === undefined ? undefined : unreachableDir(dirname(dir), sandboxUid);
    if (blocked) {
      throw new SandboxPathError(
        `SANDBOX_DIR=${dir} cannot be reached by the sandbox user (uid ${sandboxUid}): ${describeDir(blocked)}; choose a directory outside it (e.g. /var/lib/quorum-sandbox)`,
      );
    }
    ownDirectory(dir);
    choice = { dir };
  } else {
    // DATA_DIR itself gets the search bit from WorkspaceService: only the directories above it count.
    const blocked = sandboxUid === undefined ? undefined : unreachableDir(dirname(dataDir), sandboxUid);
    if (!blocked) choice = { dir: dataDir };
    else {
      const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 12);
      const dir = join(tmpdir(), `quorum-sandbox-${hash}`);
      const tmpBlocked = unreachableDir(dirname(dir), sandboxUid!);
      if (tmpBlocked) {
        throw new SandboxPathError(
          `DATA_DIR=${dataDir} cannot be reached by the sandbox user (uid ${sandboxUid}): ${describeDir(blocked)}, and neither can ${tmpBlocked}; set SANDBOX_DIR to a directory it can reach (e.g. /var/lib/quorum-sandbox)`,
        );
      }
      ownDirectory(dir);
      choice = {
        dir,
        relocatedBecause: `DATA_DIR=${dataDir} cannot be reached by the sandbox user (uid ${sandboxUid}): ${describeDir(blocked)}`,
      };
    }
  }
  chosen.set(key, choice);
  return choice;
}

/**
 * The Node binary as the sandbox sees it: `execPath` itself when the sandbox user can reach it,
 * else a hard link (a copy across file systems) under `${dir}/runtime/`, same inode mode (0755).
 */
export function sandboxNodeBinary(execPath: string, dir: string, sandboxUid?: number): string {
  if (sandboxUid === undefined || !unreachableDir(dirname(execPath), sandboxUid)) return execPath;
  const source = statSync(execPath);
  const runtime = join(dir, 'runtime');
  ownDirectory(runtime);
  const target = join(runtime, `node-${process.version}-${source.size}-${Math.round(source.mtimeMs)}`);
  const existing = (() => {
    try {
      return lstatSync(target);
    } catch {
      return undefined;
    }
  })();
  if (existing?.isFile() && existing.size === source.size) return target;
  const staging = `${target}.${process.pid}.tmp`;
  rmSync(staging, { force: true });
  // A link shares the inode (and its mode): only for a binary everyone may already read and run.
  let linked = false;
  if ((source.mode & 0o005) === 0o005) {
    try {
      linkSync(execPath, staging);
      linked = true;
    } catch {
      // another file system: copied below
    }
  }
  if (!linked) {
    copyFileSync(execPath, staging);
    chmodSync(staging, 0o755);
  }
  renameSync(staging, target);
  return target;
}

/** The uid the bwrap sandbox runs as when it is not this process's (the app runs as root). */
export function sandboxUidOf(config: ConfigService<AllConfig, true>): number | undefined {
  const cfg = config.get('sandbox', { infer: true });
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  return cfg.driver === 'bwrap' && root ? cfg.sandboxUid : undefined;
}

/** `sandboxDir` from the configuration (DATA_DIR, SANDBOX_DIR, the driver and SANDBOX_UID). */
export function sandboxDirFor(config: ConfigService<AllConfig, true>): SandboxDirChoice {
  return sandboxDir({
    dataDir: config.get('app', { infer: true }).dataDir,
    sandboxDir: config.get('sandbox', { infer: true }).dir,
    sandboxUid: sandboxUidOf(config),
  });
}
