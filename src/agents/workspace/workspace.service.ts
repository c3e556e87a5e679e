import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import type { AllConfig } from '#src/config/namespaces.js';
import { maintenanceMetrics } from '#src/metrics/prometheus.js';
import { sandboxDirFor } from '#src/agents/sandbox/sandbox-paths.js';
import { checkFilePath, validateFilePath } from './workspace-path.js';
import { WorkspaceLimitError, WorkspacePathError, WorkspaceUnsafePathError } from './workspace.errors.js';

export interface WorkspaceFile {
  path: string;
  content: string;
}

export interface WorkspaceLimits {
  maxFiles: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

/** Directories a workspace read never descends into: tool caches and VCS metadata, not results. */
const SKIPPED_DIRS = new Set(['.git', 'node_modules', '__pycache__', '.pytest_cache']);
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

/**
 * One directory per run under `${DATA_DIR}/workspaces/<runId>`. Every write and read is confined to
 * it: paths are normalised and checked, no symbolic link is ever followed (parents are lstat'ed,
 * files opened with O_NOFOLLOW), and file count and sizes are bounded.
 */
@Injectable()
export class WorkspaceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(WorkspaceService.name);
  readonly root: string;
  readonly limits: WorkspaceLimits;
  private readonly keepHours: number;
  private sweepTimer?: NodeJS.Timeout;

  constructor(config: ConfigService<AllConfig, true>) {
    this.root = join(sandboxDirFor(config).dir, 'workspaces');
    const ws = config.get('sandbox', { infer: true }).workspace;
    this.limits = { maxFiles: ws.maxFiles, maxFileBytes: ws.maxFileBytes, maxTotalBytes: ws.maxTotalBytes };
    this.keepHours = ws.keepHours;
  }

  async onModuleInit(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    // The bwrap sandbox may run as another user (see BwrapDriver) and must be able to reach its
    // workspace: DATA_DIR gets the search bit (not read: other runs' names stay unlistable).
    const dataDir = dirname(this.root);
    const info = await stat(dataDir);
    if ((info.mode & 0o001) === 0) await chmod(dataDir, (info.mode & 0o7777) | 0o001);
    await chmod(this.root, 0o711);
    // sweep logs its own failures; the catch only keeps a surprise from becoming an unhandled rejection.
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => undefined), SWEEP_INTERVAL_MS).unref();
    void this.sweep().catch(() => undefined);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweepTimer);
  }

  /** The directory of a run's workspace (not created). */
  pathFor(runId: string): string {
    if (!RUN_ID.test(runId)) throw new WorkspacePathError('runId', 'must be letters, digits, "-" or "_"');
    return join(this.root, runId);
  }

  /** Creates the run's workspace empty (an existing one is wiped: a retried run starts clean). */
  async create(runId: string): Promise<string> {
    const dir = this.pathFor(runId);
    await mkdir(this.root, { recursive: true, mode: 0o711 });
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  async remove(runIdOrDir: string): Promise<void> {
    const dir = runIdOrDir.includes(sep) ? this.assertWorkspaceDir(runIdOrDir) : this.pathFor(runIdOrDir);
    await rm(dir, { recursive: true, force: true });
  }

  /** Checks a whole file set against path rules and limits; `field` names the input in errors. */
  validateFiles(files: WorkspaceFile[], field = 'files'): WorkspaceFile[] {
    if (files.length > this.limits.maxFiles) {
      throw new WorkspacePathError(field, `must hold at most ${this.limits.maxFiles} files`);
    }
    let total = 0;
    const seen = new Set<string>();
    const out = files.map((file, i) => {
      const path = validateFilePath(file.path, `${field}[${i}].path`);
      if (typeof file.content !== 'string') throw new WorkspacePathError(`${field}[${i}].content`, 'must be a string');
      const size = Buffer.byteLength(file.content, 'utf8');
      if (size > this.limits.maxFileBytes) {
        throw new WorkspacePathError(`${field}[${i}].content`, `must be at most ${this.limits.maxFileBytes} bytes`);
      }
      if (seen.has(path)) throw new WorkspacePathError(`${field}[${i}].path`, `repeats ${path}`);
      seen.add(path);
      total += size;
      return { path, content: file.content };
    });
    if (total > this.limits.maxTotalBytes) {
      throw new WorkspacePathError(field, `must total at most ${this.limits.maxTotalBytes} bytes`);
    }
    return out;
  }

  /** Writes (creates or replaces) files inside `dir`; never through a symbolic link. */
  async writeFiles(dir: string, files: WorkspaceFile[]): Promise<void> {
    const base = this.assertWorkspaceDir(dir);
    for (const file of this.validateFiles(files)) {
      const segments = file.path.split('/');
      let current = base;
      for (const segment of segments.slice(0, -1)) {
        current = join(current, segment);
        const info = await lstat(current).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined;
          throw e;
        });
        if (!info) await mkdir(current, { mode: 0o755 });
        else if (!info.isDirectory()) throw new WorkspaceUnsafePathError(file.path);
      }
      const target = join(base, file.path);
      const existing = await lstat(target).catch(() => undefined);
      if (existing && !existing.isFile()) throw new WorkspaceUnsafePathError(file.path);
      const handle = await open(
        target,
        constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
        0o644,
      ).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ELOOP') throw new WorkspaceUnsafePathError(file.path);
        throw e;
      });
      try {
        await handle.writeFile(file.content, 'utf8');
      } finally {
        await handle.close();
      }
    }
  }

  /**
   * Every regular text file under `dir`, sorted by path. Symbolic links, special files, binary files
   * (a NUL byte) and tool caches are left out; more files or bytes than the limits allow is an error.
   */
  async readFiles(dir: string, limits: WorkspaceLimits = this.limits): Promise<WorkspaceFile[]> {
    const base = this.assertWorkspaceDir(dir);
    const files: WorkspaceFile[] = [];
    let total = 0;
    const walk = async (rel: string): Promise<void> => {
      const entries = await readdir(join(base, rel), { withFileTypes: true });
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        const path = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (!SKIPPED_DIRS.has(entry.name)) await walk(path);
          continue;
        }
        if (!entry.isFile()) continue;
        const checked = checkFilePath(path);
        if (!checked.ok) continue;
        const content = await this.readPlainFile(join(base, path), limits.maxFileBytes);
        if (content === undefined) continue;
        if (files.length + 1 > limits.maxFiles) {
          throw new WorkspaceLimitError(`The workspace holds more than ${limits.maxFiles} files.`);
        }
        total += Buffer.byteLength(content, 'utf8');
        if (total > limits.maxTotalBytes) {
          throw new WorkspaceLimitError(`The workspace holds more than ${limits.maxTotalBytes} bytes.`);
        }
        files.push({ path: checked.path, content });
      }
    };
    await walk('');
    return files;
  }

  /** A unified diff (git-style a/ b/ names) from one file set to another, files in path order. */
  diffFiles(before: WorkspaceFile[], after: WorkspaceFile[]): string {
    const old = new Map(before.map((f) => [f.path, f.content]));
    const next = new Map(after.map((f) => [f.path, f.content]));
    const paths = [...new Set([...old.keys(), ...next.keys()])].sort();
    let out = '';
    for (const path of paths) {
      const a = old.get(path);
      const b = next.get(path);
      if (a === b) continue;
      out += createTwoFilesPatch(
        a === undefined ? '/dev/null' : `a/${path}`,
        b === undefined ? '/dev/null' : `b/${path}`,
        a ?? '',
        b ?? '',
        undefined,
        undefined,
        { headerOptions: FILE_HEADERS_ONLY },
      );
    }
    return out;
  }

  /**
   * Removes workspaces untouched for WORKSPACE_KEEP_HOURS (left-overs of crashes or kept runs); 0 keeps all.
   * Unlike the database retention (BullMQ job schedulers, src/maintenance) this stays a timer in each
   * process: workspaces are on this host's disk, and a scheduled job goes to one worker, maybe elsewhere.
   */
  async sweep(now = Date.now()): Promise<number> {
    if (this.keepHours === 0) return 0;
    const cutoff = now - this.keepHours * 3_600_000;
    let removed = 0;
    try {
      for (const entry of await readdir(this.root, { withFileTypes: true })) {
        if (!entry.isDirectory()) continue;
        const dir = join(this.root, entry.name);
        const info = await stat(dir).catch(() => undefined);
        if (info && info.mtimeMs < cutoff) {
          await rm(dir, { recursive: true, force: true });
          removed++;
        }
      }
    } catch (error) {
      this.logger.warn(`Workspace sweep failed: ${(error as Error).message}`);
    }
    if (removed > 0) {
      maintenanceMetrics().removed.inc({ task: 'workspaces' }, removed);
      this.logger.log({ removed, keepHours: this.keepHours }, 'orphaned workspaces removed');
    }
    return removed;
  }

  private async readPlainFile(path: string, maxBytes: number): Promise<string | undefined> {
    const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(
      () => undefined,
    );
    if (!handle) return undefined;
    try {
      const info = await handle.stat();
      if (!info.isFile()) return undefined;
      if (info.size > maxBytes) throw new WorkspaceLimitError(`A workspace file is larger than ${maxBytes} bytes.`);
      const data = await handle.readFile();
      if (data.includes(0)) return undefined;
      return data.toString('utf8');
    } finally {
      await handle.close();
    }
  }

  /** The absolute path of `dir` if it is a workspace (a direct child of the root), else an error. */
  assertWorkspaceDir(dir: string): string {
    const abs = resolve(dir);
    if (!abs.startsWith(this.root + sep) || abs.slice(this.root.length + 1).includes(sep)) {
      throw new WorkspaceUnsafePathError(dir);
    }
    return abs;
  }
}
