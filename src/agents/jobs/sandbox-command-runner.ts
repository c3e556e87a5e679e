import { Injectable } from '@nestjs/common';
import { SandboxService } from '#src/agents/sandbox/sandbox.service.js';
import type { SandboxMount } from '#src/agents/sandbox/sandbox.types.js';
import { CommandRunner, CommandOutcome } from '#src/agents/tools/workspace-toolbox.js';

/**
 * The tool loop's `run_command`: the sandbox's shell command (no network, no secrets, limits) on
 * the step's directory, with the run's installed dependencies mounted read-only when it has some.
 */
@Injectable()
export class SandboxCommandRunner extends CommandRunner {
  constructor(private readonly sandbox: SandboxService) {
    super();
  }

  async runCommand(request: {
    workspaceDir: string;
    command: string;
    mounts?: SandboxMount[];
    signal?: AbortSignal;
  }): Promise<CommandOutcome> {
    const limits = this.sandbox.limits;
    const result = await this.sandbox.runCommand({
      workspaceDir: request.workspaceDir,
      command: request.command,
      mounts: request.mounts,
      signal: request.signal,
    });
    return { ...result, timeoutSeconds: limits.timeoutSeconds, maxOutputBytes: limits.maxOutputBytes };
  }
}
