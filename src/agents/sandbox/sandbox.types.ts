export type SandboxLanguage = 'javascript' | 'typescript' | 'python';
export const SANDBOX_LANGUAGES: readonly SandboxLanguage[] = ['javascript', 'typescript', 'python'];

export type TestRunStatus = 'passed' | 'failed' | 'error' | 'timeout' | 'cancelled';

export interface SandboxLimits {
  timeoutSeconds: number;
  memoryMb: number;
  maxProcesses: number;
  maxOutputBytes: number;
  maxFileMb: number;
  /** Size of the sandbox's private copy of the workspace (a tmpfs): what tests may write. */
  diskMb: number;
}

export interface RunTestsRequest {
  workspaceDir: string;
  language: SandboxLanguage;
  /** Replaces the default test command (argv, no shell); runs with the workspace as cwd. */
  command?: string[];
  limits?: Partial<SandboxLimits>;
  signal?: AbortSignal;
}

export interface TestFailure {
  name: string;
  message: string;
}

export interface TestRunResult {
  /** passed: tests ran and none failed; failed: at least one failed (or none were found);
   * error: the runner itself could not run or report (crash, limit hit); timeout; cancelled. */
  status: TestRunStatus;
  passed: number;
  failed: number;
  skipped: number;
  total: number;
  failures: TestFailure[];
  /** stdout and stderr interleaved as they arrived, at most maxOutputBytes. */
  output: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  truncated: boolean;
  durationMs: number;
  /** Why the run counts as an error, when it does (limit hit, runner crash, nothing reported). */
  error?: string;
}

/**
 * What a driver runs: argv in a private, size-limited copy of the workspace (writes never reach
 * the workspace on disk), an explicit environment, and limits.
 */
export interface SandboxCommand {
  workspaceDir: string;
  argv: string[];
  env: Record<string, string>;
  limits: SandboxLimits;
  /** Extra read-only files to make visible inside the sandbox at the same path. */
  readOnlyPaths: string[];
  signal?: AbortSignal;
}

export interface ProcessOutcome {
  exitCode: number | null;
  signal: string | null;
  output: string;
  /** stderr alone (bounded), for runners that report there (python unittest). */
  stderr: string;
  /** The structured report the runner wrote to fd 3 (bounded). */
  report: string;
  timedOut: boolean;
  cancelled: boolean;
  truncated: boolean;
  durationMs: number;
}

export interface SandboxDriver {
  readonly name: 'bwrap' | 'process';
  /** Where the command sees the workspace and the node binary (paths inside the sandbox). */
  readonly workspaceMount: string;
  readonly nodePath: string;
  readonly pythonPath: string;
  run(command: SandboxCommand): Promise<ProcessOutcome>;
}
