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
  /**
   * The repository's (or task's) own test command line, run by `/bin/sh -c`: its exit code decides
   * pass/fail, counts and failures are read from the runner's output (null when unknown).
   */
  shellCommand?: string;
  limits?: Partial<SandboxLimits>;
  /** Installed dependencies (the run's setup) shown read-only in the workspace. */
  mounts?: SandboxMount[];
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
  /**
   * False when a test command's output matched no runner we read: `passed`/`failed`/`total` are
   * then 0 and mean "unknown" (the exit code alone decided `status`).
   */
  countsKnown: boolean;
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
 * A host directory shown read-only inside the workspace (installed dependencies from the setup
 * cache: `node_modules`, `.venv`), never copied into it.
 */
export interface SandboxMount {
  /** Absolute host path. */
  source: string;
  /** Path relative to the workspace (one segment: `node_modules`, `.venv`). */
  target: string;
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
  /** Read-only directories shown inside the workspace. */
  mounts?: SandboxMount[];
  /**
   * The host's network (environment setup only: package registries). Everything else runs in a
   * network namespace of its own with nothing in it.
   */
  network?: boolean;
  /**
   * A host directory bound read-write at `/run/quorum-out` (setup copies what it installed there);
   * the only place a sandboxed command can write to the host.
   */
  outputDir?: string;
  signal?: AbortSignal;
}

/** One shell command in the sandbox (an agent's `run_command`, a repository's test command). */
export interface RunCommandRequest {
  workspaceDir: string;
  /** A command line, run by `/bin/sh -c` inside the sandbox, the workspace as its directory. */
  command: string;
  limits?: Partial<SandboxLimits>;
  /** Installed dependencies (the run's setup) shown read-only in the workspace. */
  mounts?: SandboxMount[];
  signal?: AbortSignal;
}

export interface CommandResult {
  exitCode: number | null;
  signal: string | null;
  /** stdout and stderr interleaved, at most maxOutputBytes (the head; `truncated` says it was cut). */
  output: string;
  timedOut: boolean;
  cancelled: boolean;
  truncated: boolean;
  durationMs: number;
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
