import { basename, dirname } from 'node:path';
import type { ProcessOutcome, SandboxCommand, SandboxDriver } from '../sandbox.types.js';
import { prlimitPrefix } from './limits-wrapper.js';
import { spawnBounded } from './spawn-bounded.js';

/**
 * No isolation at all: the command runs as the app's own user with the app's view of the file
 * system and network. It still gets an empty environment, the wall-clock, memory, file-size and
 * output limits, and its process group is killed on timeout or cancel. No process-count limit:
 * RLIMIT_NPROC counts every process of the app's user, the app included.
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

  run(command: SandboxCommand): Promise<ProcessOutcome> {
    const isNode = basename(command.argv[0]) === 'node';
    // The app's own Node first on PATH, as /opt/node/bin is inside bwrap.
    const path = `${dirname(this.nodePath)}:${command.env.PATH ?? '/usr/bin:/bin'}`;
    const env = { ...command.env, PATH: path, HOME: command.workspaceDir, TMPDIR: command.workspaceDir };
    return spawnBounded([...prlimitPrefix(command.limits, { node: isNode, nproc: false }), ...command.argv], {
      cwd: command.workspaceDir,
      env,
      timeoutMs: command.limits.timeoutSeconds * 1000,
      maxOutputBytes: command.limits.maxOutputBytes,
      maxReportBytes: 4 * 1024 * 1024,
      signal: command.signal,
    });
  }
}
