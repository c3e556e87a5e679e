import type { TaskFile, TaskLanguage } from '#src/tasks/entities/task.entity.js';

/** What the graph needs from the sandbox: run the tests of one iteration's files and report raw output. */
export interface TestRunRequest {
  userId: string;
  runId: string;
  iteration: number;
  language: TaskLanguage;
  /** Source files and test files, written into a fresh workspace. */
  files: TaskFile[];
  testCommand?: string;
  signal: AbortSignal;
}

export interface TestRunOutput {
  exitCode: number | null;
  output: string;
  timedOut: boolean;
  durationMs: number;
  /** Counts when the sandbox parsed them itself; the graph's analyser reads the output regardless. */
  passed?: number;
  failed?: number;
}

export abstract class TestRunner {
  abstract run(request: TestRunRequest): Promise<TestRunOutput>;
}
