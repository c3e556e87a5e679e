import { Injectable, Logger } from '@nestjs/common';
import type { RunContext } from '#src/agents/graph/run-context.js';
import type { Run, RunResult } from '#src/agents/runs/entities/run.entity.js';
import { WorkspaceService } from '#src/agents/workspace/workspace.service.js';
import { RepositoriesService } from '#src/repositories/repositories.service.js';
import { RepositoryContextService } from '#src/repositories/repository-context.service.js';
import { RepositoryResultsService } from '#src/repositories/repository-results.service.js';

type RunRepository = NonNullable<RunContext['repository']>;

/**
 * Repository tasks in a run: a fresh shallow clone per job (so any worker can continue a run), a
 * bounded view of it for the prompts, and at the end the changes committed on `quorum/<task-id>`.
 */
@Injectable()
export class RunRepositoryService {
  private readonly logger = new Logger(RunRepositoryService.name);

  constructor(
    private readonly workspaces: WorkspaceService,
    private readonly repositories: RepositoriesService,
    private readonly results: RepositoryResultsService,
    private readonly context: RepositoryContextService,
  ) {}

  async prepare(run: Run): Promise<RunRepository | null> {
    const repositoryId = run.input.repositoryId;
    if (!repositoryId) return null;
    const dir = this.workspaces.pathFor(`repo-${run.id}`);
    await this.discard(dir);
    const prepared = await this.repositories.prepareWorkspace(run.userId, repositoryId, run.input.config.branch, dir);
    const view = await this.context.view(dir, { query: `${run.input.title}\n${run.input.description}` });
    return { dir, baseBranch: prepared.branch, context: this.context.render(view) };
  }

  /** Writes the run's files and tests into the clone, commits them and takes the diff from git. */
  async publish(run: Run, repository: RunRepository, result: RunResult): Promise<RunResult> {
    await this.workspaces.writeFiles(repository.dir, [...result.files, ...(result.tests?.files ?? [])]);
    const tests = result.tests ? `Tests: ${result.tests.passed} passed, ${result.tests.failed} failed.` : '';
    const review = result.review ? `Review: ${result.review.verdict}: ${result.review.summary}` : '';
    const published = await this.results.publishResult({
      userId: run.userId,
      taskId: run.taskId,
      runId: run.id,
      repositoryId: run.input.repositoryId!,
      dir: repository.dir,
      baseBranch: repository.baseBranch,
      title: run.input.title,
      body: [`Quorum run ${run.id}.`, tests, review].filter(Boolean).join('\n\n'),
    });
    if (!published) return { ...result, diff: '', repository: null };
    return {
      ...result,
      diff: published.diff,
      repository: { branch: published.branch, baseBranch: published.baseBranch, baseSha: published.baseSha, commitSha: published.commitSha },
    };
  }

  async discard(dir: string): Promise<void> {
    await this.repositories.releaseWorkspace(dir).catch((error: unknown) => this.logger.warn({ err: error, dir }, 'releasing a clone failed'));
    await this.workspaces.remove(dir);
  }
}
