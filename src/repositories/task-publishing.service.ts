import { Injectable } from '@nestjs/common';
import type { Run } from '#src/agents/runs/entities/run.entity.js';
import { RunEventsService } from '#src/agents/runs/run-events.service.js';
import { RunsService } from '#src/agents/runs/runs.service.js';
import { TasksService } from '#src/tasks/tasks.service.js';
import type { PullRequestRef } from './github.client.js';
import { GitService } from './git.service.js';
import { pullRequestTitle, renderPullRequestBody, PullRequestContent } from './pull-request-body.js';
import { NothingToPublishError, PullRequestUnsupportedError } from './repositories.errors.js';
import { RepositoryResultsService } from './repository-results.service.js';

export interface TaskPatch {
  filename: string;
  patch: string;
}

/**
 * A task's result as a patch and, for repository tasks, as a pull request: the rules behind
 * `GET /tasks/:id/patch` and `POST /tasks/:id/pull-request`. Always about the task's latest run.
 */
@Injectable()
export class TaskPublishingService {
  constructor(
    private readonly tasks: TasksService,
    private readonly runs: RunsService,
    private readonly events: RunEventsService,
    private readonly results: RepositoryResultsService,
    private readonly git: GitService,
  ) {}

  /**
   * The latest run's result as `git format-patch` output: the commit on `quorum/<task-id>` for a
   * repository task, else the change from the task's files to the result's files (tests included).
   */
  async patch(taskId: string): Promise<TaskPatch> {
    const run = await this.latestRun(taskId);
    const filename = `quorum-${taskId}.patch`;
    if (run.input.repositoryId) {
      const stored = await this.results.forRun(run.id);
      if (!stored) throw new NothingToPublishError(this.noResultMessage(run));
      return { filename, patch: stored.patch };
    }
    // The patch is the result's diff (code and tests), committed: what the result shows is what it applies.
    const diff = run.result?.diff;
    if (!diff) throw new NothingToPublishError(this.noResultMessage(run));
    const message = `${pullRequestTitle(run.input)}\n\n${run.input.description.trim()}\n`;
    const patch = await this.git.patchFromDiff(run.input.files, diff, message, {
      date: run.finishedAt ?? run.updatedAt,
    });
    return { filename, patch };
  }

  /**
   * Pushes the latest run's branch and opens a pull request (plan, tests and verdicts in the body).
   * The link is stored with event `pull_request.opened` in one transaction; asking again returns it.
   */
  async openPullRequest(taskId: string): Promise<PullRequestRef> {
    const run = await this.latestRun(taskId);
    if (!run.input.repositoryId)
      throw new PullRequestUnsupportedError('Only a task on a repository can open a pull request.');
    const stored = await this.results.forRun(run.id);
    if (!stored) throw new NothingToPublishError(this.noResultMessage(run));
    const content = contentOf(run);
    const pull = await this.results.openPullRequest(
      run.id,
      { title: pullRequestTitle(content), body: renderPullRequestBody(content) },
      (opened, persist) =>
        this.events.transaction(async (manager) => {
          await persist(manager);
          await this.events.append(manager, run, 'pull_request.opened', {
            url: opened.url,
            number: opened.number,
            branch: stored.branch,
            base: stored.baseBranch,
            commitSha: stored.commitSha,
          });
        }),
    );
    return { url: pull.url, number: pull.number };
  }

  private async latestRun(taskId: string): Promise<Run> {
    await this.tasks.get(taskId);
    const run = await this.runs.latestForTask(taskId);
    if (!run) throw new NothingToPublishError('The task has not run yet.');
    return run;
  }

  private noResultMessage(run: Run): string {
    if (run.status === 'queued' || run.status === 'running' || run.status === 'awaiting_input')
      return `The task's run is still ${run.status.replace('_', ' ')}.`;
    return "The task's latest run produced no changes.";
  }
}

function contentOf(run: Run): PullRequestContent {
  const result = run.result;
  const plan = result?.plan as PullRequestContent['plan'] | undefined;
  const council = result?.review?.council;
  return {
    taskId: run.taskId,
    runId: run.id,
    title: run.input.title,
    description: run.input.description,
    plan: plan ?? null,
    tests: result?.tests
      ? { passed: result.tests.passed, failed: result.tests.failed, output: result.tests.output }
      : null,
    review: result?.review
      ? {
          verdict: result.review.verdict,
          summary: result.review.summary,
          score: result.review.score,
          issues: result.review.issues,
        }
      : null,
    council: council
      ? {
          verdict: council.verdict,
          judges: council.judges.map((j) => ({ judge: j.judge, verdict: j.verdict ?? j.status, summary: j.summary })),
        }
      : null,
  };
}
