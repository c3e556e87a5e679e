import type { Run } from '#src/agents/runs/entities/run.entity.js';
import type { TaskFile } from '#src/tasks/entities/task.entity.js';
import type { RepositoryInstructions } from './repository-instructions.js';

/**
 * What the graph needs for a task on a git repository (`repositoryId`): the repositories module
 * implements it. The run works on a shallow clone of the branch in its own checkout; the agents
 * see a bounded view of it; tests run on a copy of it with the agents' files written over; the
 * result becomes a commit on `quorum/<task-id>` whose diff is the run's diff.
 */
export interface RepositoryCheckout {
  /** The checkout directory: the agents' tools work in it; each test step runs on a copy of it. */
  dir: string;
  /**
   * True when this job cloned it: no checkout of the run was here (a first job, or a job another
   * worker began on a machine that does not share this one's DATA_DIR).
   */
  cloned: boolean;
  branch: string;
  baseSha: string;
  /** The repository's own commands (API.md "Repository work"); null: detected from its files. */
  setupCommand: string | null;
  testCommand: string | null;
  /** `AGENTS.md` (or CLAUDE.md, .github/copilot-instructions.md) of the base commit, bounded; null when none. */
  instructions: RepositoryInstructions | null;
  /** Prompt text: the file tree and the files asked for (then relevant ones), within a token budget. */
  view(requestedPaths: string[], query: string): Promise<string>;
  /** The files of the view as files (a review-only task reviews these). */
  viewFiles(requestedPaths: string[], query: string): Promise<TaskFile[]>;
  /**
   * The agents' change so far against the base commit: its unified diff (hunks only, installed
   * dependencies and build output excluded) and the changed files as they are now (deleted and
   * binary files left out). What a build task's reviewers judge.
   */
  change(): Promise<{ diff: string; files: TaskFile[] }>;
}

export interface PublishedRepositoryResult {
  branch: string;
  baseBranch: string;
  baseSha: string;
  commitSha: string;
  diff: string;
}

/** A publish's commit, and the files it changed (those of `diff`, deleted ones aside) as committed. */
export type PublishedChange = PublishedRepositoryResult & { files: TaskFile[] };

export abstract class RepositoryRunner {
  /** Clones the run's repository (or re-uses this run's checkout after a resume); `signal` cancels the clone. */
  abstract prepare(run: Run, signal?: AbortSignal): Promise<RepositoryCheckout>;
  /**
   * Writes `files` over the checkout, commits them on `quorum/<task-id>` and stores the patch.
   * Null when nothing changed.
   */
  abstract publish(
    run: Run,
    checkout: RepositoryCheckout,
    files: TaskFile[],
    message: { title: string; body: string },
  ): Promise<PublishedChange | null>;
  /** Removes the checkout; `keep` leaves it for inspection until the workspace sweep. */
  abstract release(run: Run, keep: boolean): Promise<void>;
}
