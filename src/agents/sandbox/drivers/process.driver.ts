import { constants } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ProcessOutcome, SandboxCommand, SandboxDriver } from '../sandbox.types.js';
import { prlimitPrefix } from './limits-wrapper.js';
import { spawnBounded } from './spawn-bounded.js';

/**
 * No isolation at all: the command runs as the app's own user with the app's view of the file
 * system and network. It still gets an empty environment, the wall-clock, memory, file-size and
 * output limits, its process group is killed on timeout or cancel, and it runs in a throw-away
 * copy of the workspace (as under bwrap, its writes never reach the workspace; no disk quota
 * though). No process-count limit: RLIMIT_NPROC counts every process of the app's user, the app
 * included.
 */
export class ProcessDriver implements SandboxDriver {
  readonly name = 'process' as const;
  readonly workspaceMount: string = '';
  readonly nodePath: string;

  constructor(
    nodeBinary: string,
    readonly pythonPath: string,
  ) {
    this.nodePath = nodeBinary;
  }

  async run(command: SandboxCommand): Promise<ProcessOutcome> {
    const scratch = await mkdtemp(join(tmpdir(), 'quorum-process-sandbox-'));
    const workdir = join(scratch, 'workspace');
    try {
      await cp(command.workspaceDir, workdir, { recursive: true, verbatimSymlinks: true });
      // No mounts without namespaces: installed dependencies are copied in (copy-on-write where the
      // file system can), so nothing the command does reaches the setup cache.
      for (const mount of command.mounts ?? []) {
        await rm(join(workdir, mount.target), { recursive: true, force: true });
        await cp(mount.source, join(workdir, mount.target), {
          recursive: true,
          verbatimSymlinks: true,
          mode: constants.COPYFILE_FICLONE,
        });
      }
      // The app's own Node first on PATH, as /opt/node/bin is inside bwrap.
      const path = `${dirname(this.nodePath)}:${command.env.PATH ?? '/usr/bin:/bin'}`;
      const env: Record<string, string> = { ...command.env, PATH: path, HOME: workdir, TMPDIR: scratch };
      if (command.outputDir) env.QUORUM_OUTPUT_DIR = command.outputDir;
      return await spawnBounded([...prlimitPrefix(command.limits, { nproc: false }), ...command.argv], {
        cwd: workdir,
        env,
        timeoutMs: command.limits.timeoutSeconds * 1000,
        maxOutputBytes: command.limits.maxOutputBytes,
        maxReportBytes: 4 * 1024 * 1024,
        signal: command.signal,
        sweepGroupOnExit: true,
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }
}
