import { randomUUID } from 'node:crypto';
import { sandboxDirFor } from '#src/agents/sandbox/sandbox-paths.js';
import { chmod, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import type { SandboxConfig } from '#src/config/sandbox.config.js';
import { EnvironmentRequest, EnvironmentSetup, RunEnvironment } from '#src/agents/graph/environment.port.js';
import { SandboxService } from '#src/agents/sandbox/sandbox.service.js';
import type { SandboxLimits, SandboxMount } from '#src/agents/sandbox/sandbox.types.js';
import { detectEnvironment, SETUP_PRODUCTS, setupCacheKey } from './environment-detection.js';
import { SetupFailedError } from './setup.errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Exit code of the setup script when what was installed cannot be stored. */
const STORE_FAILED = 98;
const OUTPUT_TAIL_CHARS = 4000;
const SETUP_MAX_OUTPUT_BYTES = 8 * 1024 * 1024;
/** npm, pip and native builds start many processes and threads: more room than a test run. */
const SETUP_MAX_PROCESSES = 256;
const STALE_STAGING_MS = 24 * 3_600_000;

/**
 * A repository task's environment setup (`npm ci`, a virtualenv + `pip install`), run once per
 * run before the agents: in the sandbox, without secrets, with the host's network (SETUP_NETWORK),
 * within its own time, memory and disk limits. What it installed (node_modules, .venv) is copied
 * out of the sandbox into `${DATA_DIR}/setup-cache/<repository>/<key>`, the key hashing the
 * command, the runtimes and the manifests and lock files; the next run with the same key mounts
 * that directory read-only instead of installing again. An entry appears by an atomic rename, so a
 * half-written one is never used.
 */
@Injectable()
export class EnvironmentSetupService extends EnvironmentSetup {
  private readonly logger = new Logger(EnvironmentSetupService.name);
  private readonly root: string;
  private readonly config: SandboxConfig;

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly sandbox: SandboxService,
  ) {
    super();
    this.root = join(sandboxDirFor(config).dir, 'setup-cache');
    this.config = config.get('sandbox', { infer: true });
  }

  async prepare(request: EnvironmentRequest): Promise<RunEnvironment> {
    const started = performance.now();
    if (!UUID.test(request.repositoryId)) throw new Error(`invalid repository id ${request.repositoryId}`);
    const detected = await detectEnvironment(request.dir, this.config.python);
    const command = request.setupCommand ?? detected.setupCommand;
    const base = { command, detectedTestCommand: detected.testCommand };
    if (!command) return { ...base, cached: false, durationMs: elapsed(started), mounts: [] };

    const key = setupCacheKey(command, this.runtimes(), detected.files);
    const repositoryDir = join(this.root, request.repositoryId);
    const entry = join(repositoryDir, key);
    const hit = await this.products(entry);
    if (hit) {
      // Recency decides what eviction keeps.
      const now = new Date();
      await utimes(entry, now, now).catch(() => undefined);
      this.logger.log({ repositoryId: request.repositoryId, key }, 'setup reused from the cache');
      return { ...base, cached: true, durationMs: elapsed(started), mounts: hit };
    }

    await mkdir(this.root, { recursive: true, mode: 0o711 });
    await mkdir(repositoryDir, { recursive: true, mode: 0o711 });
    // The sandbox user must traverse to the entries (mounted read-only into later sandboxes).
    await chmod(this.root, 0o711);
    await chmod(repositoryDir, 0o711);
    const staging = join(repositoryDir, `.staging-${randomUUID()}`);
    await mkdir(staging, { mode: 0o755 });
    try {
      const result = await this.sandbox.runSetupCommand({
        workspaceDir: request.dir,
        command: setupScript(command),
        limits: this.limits(),
        network: this.config.setup.network === 'host',
        outputDir: staging,
        signal: request.signal,
      });
      if (result.cancelled) {
        request.signal.throwIfAborted();
        throw new DOMException('The setup was cancelled.', 'AbortError');
      }
      if (result.timedOut || result.truncated || result.exitCode !== 0) {
        const why = result.timedOut
          ? `did not finish within ${this.config.setup.timeoutSeconds} s`
          : result.truncated
            ? `printed more than ${SETUP_MAX_OUTPUT_BYTES} bytes`
            : result.exitCode === STORE_FAILED
              ? `installed more than SETUP_DISK_MB (${this.config.setup.diskMb} MB) allows`
              : `exited with ${result.signal ? `signal ${result.signal}` : `code ${result.exitCode}`}`;
        throw new SetupFailedError(command, why, tail(result.output));
      }
      await chmod(staging, 0o755);
      try {
        await rename(staging, entry);
      } catch (error) {
        // Another run with the same key stored it first: theirs is as good as ours.
        if (!['ENOTEMPTY', 'EEXIST'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
      }
      this.logger.log(
        { repositoryId: request.repositoryId, key, ms: result.durationMs },
        'setup ran and its products were cached',
      );
      await this.evict(repositoryDir).catch((error: unknown) =>
        this.logger.warn({ err: error, repositoryId: request.repositoryId }, 'setup cache eviction failed'),
      );
      return { ...base, cached: false, durationMs: elapsed(started), mounts: (await this.products(entry)) ?? [] };
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** The products stored in an entry as mounts, or null when there is no such entry. */
  private async products(entry: string): Promise<SandboxMount[] | null> {
    const names = await readdir(entry).catch(() => null);
    if (!names) return null;
    return SETUP_PRODUCTS.filter((name) => names.includes(name)).map((name) => ({
      source: join(entry, name),
      target: name,
    }));
  }

  /** Keeps the most recently used entries of a repository; staging left by a crash goes after a day. */
  private async evict(repositoryDir: string): Promise<void> {
    const entries = await readdir(repositoryDir, { withFileTypes: true });
    const dated = await Promise.all(
      entries
        .filter((e) => e.isDirectory())
        .map(async (e) => ({ name: e.name, mtimeMs: (await stat(join(repositoryDir, e.name))).mtimeMs })),
    );
    const now = Date.now();
    const kept = dated.filter((e) => !e.name.startsWith('.staging-')).sort((a, b) => b.mtimeMs - a.mtimeMs);
    const stale = [
      ...kept.slice(this.config.setup.cacheKeep),
      ...dated.filter((e) => e.name.startsWith('.staging-') && now - e.mtimeMs > STALE_STAGING_MS),
    ];
    for (const e of stale) await rm(join(repositoryDir, e.name), { recursive: true, force: true });
  }

  private limits(): SandboxLimits {
    const setup = this.config.setup;
    return {
      timeoutSeconds: setup.timeoutSeconds,
      memoryMb: setup.memoryMb,
      maxProcesses: Math.max(this.config.maxProcesses, SETUP_MAX_PROCESSES),
      maxOutputBytes: SETUP_MAX_OUTPUT_BYTES,
      maxFileMb: setup.diskMb,
      diskMb: setup.diskMb,
    };
  }

  /** What installed packages depend on besides the lock files: native modules follow Node's ABI. */
  private runtimes(): string[] {
    return [`node ${process.version} ${process.platform}-${process.arch}`, `python ${this.config.python}`];
  }
}

/**
 * The command in a subshell (its `cd` or `exit` cannot skip the copy), then what it installed
 * copied to the one host directory the sandbox may write to.
 */
export function setupScript(command: string): string {
  const copy = SETUP_PRODUCTS.map(
    (name) =>
      `if [ -e ${name} ]; then cp -a ${name} "$QUORUM_OUTPUT_DIR/" || { echo "quorum-setup: could not store ${name}" >&2; exit ${STORE_FAILED}; }; fi`,
  ).join('\n');
  return `( ${command}\n) || exit $?\n${copy}\n`;
}

function tail(output: string): string {
  return output.length > OUTPUT_TAIL_CHARS ? `…${output.slice(-OUTPUT_TAIL_CHARS)}` : output;
}

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
