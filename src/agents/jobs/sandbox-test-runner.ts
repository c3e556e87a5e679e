import { constants } from 'node:fs';
import { cp } from 'node:fs/promises';
import { Injectable } from '@nestjs/common';
import { SandboxService } from '#src/agents/sandbox/sandbox.service.js';
import { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import { TestRunner, TestRunOutput, TestRunRequest } from '#src/agents/graph/test-runner.port.js';

/** The graph's test runner: a fresh workspace per iteration, the sandboxed test command, clean-up. */
@Injectable()
export class SandboxTestRunner extends TestRunner {
  constructor(
    private readonly workspaces: WorkspaceService,
    private readonly sandbox: SandboxService,
  ) {
    super();
  }

  async run(request: TestRunRequest): Promise<TestRunOutput> {
    const dir = await this.workspaces.create(`${request.runId}-${request.iteration}`);
    try {
      // Links are copied as links (never followed); writeFiles then refuses to write through them.
      if (request.baseDir)
        await cp(request.baseDir, dir, { recursive: true, verbatimSymlinks: true, mode: constants.COPYFILE_FICLONE });
      await this.workspaces.writeFiles(dir, request.files);
      const result = await this.sandbox.runTests({
        workspaceDir: dir,
        language: request.language,
        shellCommand: request.testCommand?.trim() || undefined,
        mounts: request.mounts,
        signal: request.signal,
      });
      request.signal.throwIfAborted();
      return {
        exitCode: result.exitCode,
        output: result.output,
        timedOut: result.timedOut,
        durationMs: result.durationMs,
        byExitCode: Boolean(request.testCommand?.trim()),
        countsKnown: result.countsKnown,
        passed: result.passed,
        failed: result.failed,
        failures: result.failures,
        error: result.error,
      };
    } finally {
      await this.workspaces.remove(dir);
    }
  }
}
