import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, QueryFailedError, Repository as TypeOrmRepository } from 'typeorm';
import type { AllConfig } from '#src/config/namespaces.js';
import { RepositoryResult } from './entities/repository-result.entity.js';
import { GitHubClient, gitHubRepositoryOf, PullRequestRef } from './github.client.js';
import { GitService } from './git.service.js';
import {
  NothingToPublishError,
  PatchConflictError,
  PullRequestUnsupportedError,
  RepositoryDeletedError,
} from './repositories.errors.js';
import { RepositoriesService } from './repositories.service.js';

export interface PublishResultInput {
  userId: string;
  taskId: string;
  runId: string;
  repositoryId: string;
  /** The run's workspace, prepared by `RepositoriesService.prepareWorkspace`. */
  dir: string;
  /** The branch the workspace was cloned from (the pull request's base). */
  baseBranch: string;
  /** Commit subject (the task title); `body` becomes the rest of the message. */
  title: string;
  body?: string;
}

export interface PublishedResult {
  /** `quorum/<task-id>` */
  branch: string;
  baseBranch: string;
  baseSha: string;
  commitSha: string;
  /** Unified diff against the cloned commit. */
  diff: string;
  /** `git format-patch` mbox: `git am` applies it to a clone of the base. */
  patch: string;
  /** The files the commit changed (those of `diff`, deleted ones aside), as committed. */
  files: Array<{ path: string; content: string }>;
}

export interface PullRequestInput {
  title: string;
  body: string;
}

/**
 * Commits the pull request's link (`persist`) together with whatever the caller records about it
 * (the `pull_request.opened` event), in one transaction the caller runs.
 */
export type PullRequestRecorder = (
  pull: PullRequestRef,
  persist: (manager: EntityManager) => Promise<void>,
) => Promise<void>;

export const resultBranchFor = (taskId: string) => `quorum/${taskId}`;

/** Subject lines stay on one line and short, as git and GitHub expect. */
function commitMessage(title: string, body?: string): string {
  const subject = title.replace(/\s+/g, ' ').trim().slice(0, 72) || 'Quorum changes';
  return body?.trim() ? `${subject}\n\n${body.trim()}\n` : `${subject}\n`;
}

/**
 * The outcome of a repository task: the commit on `quorum/<task-id>`, its patch and diff (stored,
 * so they outlive the workspace), and the pull request opened from it.
 */
@Injectable()
export class RepositoryResultsService implements OnModuleInit {
  private readonly logger = new Logger(RepositoryResultsService.name);
  private readonly scratchRoot: string;

  constructor(
    @InjectRepository(RepositoryResult) private readonly results: TypeOrmRepository<RepositoryResult>,
    private readonly repositories: RepositoriesService,
    private readonly git: GitService,
    private readonly github: GitHubClient,
    config: ConfigService<AllConfig, true>,
  ) {
    this.scratchRoot = join(config.get('app', { infer: true }).dataDir, 'repositories', 'scratch');
  }

  /** Scratch clones of a process that died mid pull request are removed at the next start. */
  async onModuleInit(): Promise<void> {
    const cutoff = Date.now() - 3_600_000;
    const entries = await readdir(this.scratchRoot).catch(() => [] as string[]);
    for (const entry of entries) {
      const path = join(this.scratchRoot, entry);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) await rm(path, { recursive: true, force: true });
    }
  }

  /**
   * Commits the workspace's changes on `quorum/<task-id>` (author from config) and stores the patch
   * and diff for the run. Returns null when the run changed nothing. A repository deleted during
   * the run does not lose the result: it is kept without the link (no pull request possible).
   */
  async publishResult(input: PublishResultInput): Promise<PublishedResult | null> {
    const branch = resultBranchFor(input.taskId);
    const commitSha = await this.git.commitAll(input.dir, branch, commitMessage(input.title, input.body));
    if (!commitSha) return null;
    const [patch, diff, baseSha, files] = await Promise.all([
      this.git.formatPatch(input.dir),
      this.git.diff(input.dir),
      this.git.baseSha(input.dir),
      this.git.changedFiles(input.dir),
    ]);
    const published: PublishedResult = {
      branch,
      baseBranch: input.baseBranch,
      baseSha,
      commitSha,
      diff,
      patch,
      files,
    };
    const row = {
      userId: input.userId,
      taskId: input.taskId,
      runId: input.runId,
      branch,
      baseBranch: input.baseBranch,
      baseSha,
      commitSha,
      patch,
      diff,
    };
    const stillThere = await this.repositories.exists(input.repositoryId);
    try {
      await this.results.upsert({ ...row, repositoryId: stillThere ? input.repositoryId : null }, ['runId']);
    } catch (error) {
      // Deleted between the check and the insert: keep the result without the repository.
      if (!(error instanceof QueryFailedError) || !/foreign key/i.test(error.message)) throw error;
      await this.results.upsert({ ...row, repositoryId: null }, ['runId']);
    }
    this.logger.log(`run ${input.runId}: committed ${commitSha.slice(0, 12)} on ${branch}`);
    return published;
  }

  /** The latest repository result of the task, or null (access to the task is checked by the route). */
  latestForTask(taskId: string): Promise<RepositoryResult | null> {
    return this.results.findOne({ where: { taskId }, order: { createdAt: 'DESC' } });
  }

  forRun(runId: string): Promise<RepositoryResult | null> {
    return this.results.findOneBy({ runId });
  }

  /**
   * Pushes the task's result branch and opens a pull request into the branch it was cloned from.
   * The push starts from a fresh shallow clone with the stored patch applied, so it works from any
   * process after the run's workspace is gone. Asking again returns the pull request already opened.
   */
  async openPullRequest(
    runId: string,
    input: PullRequestInput,
    record?: PullRequestRecorder,
  ): Promise<PullRequestRef & { created: boolean }> {
    const result = await this.forRun(runId);
    if (!result)
      throw new NothingToPublishError('The run has no committed repository result to open a pull request from.');
    if (result.pullRequestUrl && result.pullRequestNumber !== null) {
      return { url: result.pullRequestUrl, number: result.pullRequestNumber, created: false };
    }
    if (!result.repositoryId) throw new RepositoryDeletedError();
    const { repository, token } = await this.repositories.access(result.repositoryId);
    const target = gitHubRepositoryOf(repository.url, this.github.apiUrl);
    if (!token)
      throw new PullRequestUnsupportedError('Opening a pull request needs an access token on the repository.');

    const dir = join(this.scratchRoot, randomUUID());
    await mkdir(this.scratchRoot, { recursive: true });
    try {
      await this.git.shallowClone(repository.url, result.baseBranch, dir, token);
      try {
        await this.git.applyPatch(dir, result.branch, result.patch);
      } catch {
        throw new PatchConflictError(result.baseBranch);
      }
      await this.git.push(dir, repository.url, result.branch, token, undefined, true);
    } finally {
      await this.git.removeClone(dir);
    }
    const pull = await this.github.openPullRequest({
      ...target,
      token,
      head: result.branch,
      base: result.baseBranch,
      ...input,
    });
    const persist = async (manager: EntityManager) => {
      await manager.update(
        RepositoryResult,
        { id: result.id },
        { pullRequestUrl: pull.url, pullRequestNumber: pull.number },
      );
    };
    if (record) await record(pull, persist);
    else await persist(this.results.manager);
    this.logger.log(`run ${runId}: pull request #${pull.number} opened`);
    return { ...pull, created: true };
  }
}
