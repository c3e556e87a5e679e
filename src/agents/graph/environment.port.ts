import type { SandboxMount } from '#src/agents/sandbox/sandbox.types.js';

/** A repository task's environment after setup: what later sandboxed commands see. */
export interface RunEnvironment {
  /** The setup command that ran or whose cached result is reused; null when nothing needed setting up. */
  command: string | null;
  /** True when the products came from the cache (no install ran). */
  cached: boolean;
  durationMs: number;
  /** Installed dependencies (node_modules, .venv), shown read-only in every later sandbox of the run. */
  mounts: SandboxMount[];
  /** The test command detected from the repository's files (`npm test`), or null (the language default). */
  detectedTestCommand: string | null;
}

export interface EnvironmentRequest {
  repositoryId: string;
  /** The run's checkout. */
  dir: string;
  /** The repository's own `setupCommand`; null: detected. */
  setupCommand: string | null;
  signal: AbortSignal;
}

/** Environment setup with its cache (the agents module implements it over the sandbox). */
export abstract class EnvironmentSetup {
  abstract prepare(request: EnvironmentRequest): Promise<RunEnvironment>;
}
