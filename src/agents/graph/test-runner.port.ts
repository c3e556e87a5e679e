import type { TaskFile, TaskLanguage } from '#src/tasks/entities/task.entity.js';

/** What the graph needs from the sandbox: run the tests of one iteration's files and report raw output. */
export interface TestRunRequest {
  userId: string;
  runId: string;
  iteration: number;
  language: TaskLanguage;
  /** Source files and test files, written into a fresh workspace. */
  files: TaskFile[];
  /** A repository task's checkout: copied into the workspace first, `files` written over it. */
  baseDir?: string;
  testCommand?: string;
  signal: AbortSignal;
}

export interface TestRunOutput {
  exitCode: number | null;
  output: string;
  timedOut: boolean;
  durationMs: number;
  /** Counts and failures when the sandbox read them from the runner's structured report. */
  passed?: number;
  failed?: number;
  failures?: Array<{ name: string; message: string }>;
  /** Why the run counts as an error (limit hit, runner crash, nothing reported). */
  error?: string;
}

export abstract class TestRunner {
  abstract run(request: TestRunRequest): Promise<TestRunOutput>;
}
