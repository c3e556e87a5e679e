import type { SandboxMount } from '#src/agents/sandbox/sandbox.types.js';
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
  /** A command line (task `config.testCommand` > repository > detected); unset: the language default. */
  testCommand?: string;
  /** Installed dependencies of the run's setup, read-only in the workspace. */
  mounts?: SandboxMount[];
  signal: AbortSignal;
}

export interface TestRunOutput {
  exitCode: number | null;
  output: string;
  timedOut: boolean;
  durationMs: number;
  /** A test command ran: its exit code decides. */
  byExitCode?: boolean;
  /** False when the test command's output matched no runner we read (counts unknown; the exit code decides). */
  countsKnown?: boolean;
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
