import { access } from 'node:fs/promises';
import { Injectable, Logger } from '@nestjs/common';
import type { PublishedChange, RepositoryCheckout } from '#src/agents/graph/repository.port.js';
import {
  INSTRUCTION_FILES,
  MAX_INSTRUCTIONS_BYTES,
  RepositoryInstructions,
  boundInstructions,
} from '#src/agents/graph/repository-instructions.js';
import { RepositoryRunner } from '#src/agents/graph/repository.port.js';
import type { Run } from '#src/agents/runs/entities/run.entity.js';
import { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import type { TaskFile } from '#src/tasks/entities/task.entity.js';
import { GitService, gitDirFor } from './git.service.js';
import { RepositoriesService } from './repositories.service.js';
import { RepositoryContextService } from './repository-context.service.js';
import { RepositoryResultsService } from './repository-results.service.js';

/**
 * The graph's repository support (RepositoryRunner port): the run's checkout lives in its own
 * workspace directory (`<workspaces>/<run-id>`, git directory beside it), is read through the
 * bounded view, written only through WorkspaceService (confined, no links followed) and published
 * as a commit on `quorum/<task-id>`.
 */
@Injectable()
export class RepositoryRunnerService extends RepositoryRunner {
  private readonly logger = new Logger(RepositoryRunnerService.name);

  constructor(
    private readonly repositories: RepositoriesService,
    private readonly results: RepositoryResultsService,
    private readonly context: RepositoryContextService,
    private readonly workspaces: WorkspaceService,
    private readonly git: GitService,
  ) {
    super();
  }

  async prepare(run: Run, signal?: AbortSignal): Promise<RepositoryCheckout> {
    const repositoryId = run.input.repositoryId;
    if (!repositoryId) throw new Error(`run ${run.id} has no repository`);
    const dir = this.workspaces.pathFor(run.id);
    const reused = await this.reusable(dir);
    let branch: string;
    let baseSha: string;
    let commands: Pick<RepositoryCheckout, 'setupCommand' | 'testCommand'>;
    if (reused) {
      // A resumed run (plan approval, redelivered job on this machine) continues on its checkout.
      const repository = await this.repositories.get(repositoryId);
      branch = run.input.config.branch ?? repository.defaultBranch;
      baseSha = reused;
      commands = { setupCommand: repository.setupCommand, testCommand: repository.testCommand };
    } else {
      await this.workspaces.create(run.id);
      const prepared = await this.repositories.prepareWorkspace(repositoryId, run.input.config.branch, dir, signal);
      branch = prepared.branch;
      baseSha = prepared.baseSha;
      commands = { setupCommand: prepared.setupCommand, testCommand: prepared.testCommand };
      this.logger.log(
        { runId: run.id, repositoryId, branch, baseSha, files: prepared.files },
        'repository checkout ready',
      );
    }
    const view = async (requestedPaths: string[], query: string) => this.context.view(dir, { requestedPaths, query });
    return {
      dir,
      cloned: !reused,
      branch,
      baseSha,
      ...commands,
      instructions: await this.instructions(run, dir),
      view: async (requestedPaths, query) => this.context.render(await view(requestedPaths, query)),
      viewFiles: async (requestedPaths, query) =>
        (await view(requestedPaths, query)).files.map((f) => ({ path: f.path, content: f.content })),
      change: () => this.git.workingChange(dir),
    };
  }

  async publish(
    run: Run,
    checkout: RepositoryCheckout,
    files: TaskFile[],
    message: { title: string; body: string },
  ): Promise<PublishedChange | null> {
    await this.workspaces.writeFiles(checkout.dir, files);
    const published = await this.results.publishResult({
      userId: run.userId,
      taskId: run.taskId,
      runId: run.id,
      repositoryId: run.input.repositoryId!,
      dir: checkout.dir,
      baseBranch: checkout.branch,
      title: message.title,
      body: message.body,
    });
    if (!published) return null;
    return {
      branch: published.branch,
      baseBranch: published.baseBranch,
      baseSha: published.baseSha,
      commitSha: published.commitSha,
      diff: published.diff,
      files: published.files,
    };
  }

  async release(run: Run, keep: boolean): Promise<void> {
    if (keep) return;
    await this.workspaces.remove(run.id);
    await this.repositories.releaseWorkspace(this.workspaces.pathFor(run.id));
  }

  /**
   * The repository's instructions for agents, from the base commit. Unreadable ones are logged and
   * left out: they help the agents, their absence must not fail the run.
   */
  private async instructions(run: Run, dir: string): Promise<RepositoryInstructions | null> {
    try {
      // One byte more than the bound tells a file of exactly the bound from a longer one.
      const file = await this.git.readBaseFile(dir, INSTRUCTION_FILES, MAX_INSTRUCTIONS_BYTES + 1);
      return file ? boundInstructions(file.path, file.content, file.size) : null;
    } catch (error) {
      this.logger.warn({ err: error, runId: run.id }, 'reading the repository instructions failed');
      return null;
    }
  }

  /** The base commit of an intact checkout from an earlier job of this run, or null. */
  private async reusable(dir: string): Promise<string | null> {
    try {
      await access(gitDirFor(dir));
      await access(dir);
      return await this.git.baseSha(dir);
    } catch {
      return null;
    }
  }
}
