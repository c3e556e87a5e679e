import { registerAs } from '@nestjs/config';
import { envBool, envInt, envList, parseEnv } from './env.js';

export const agentsConfig = registerAs('agents', () => {
  const env = parseEnv({
    AGENT_TIMEOUT_SECONDS: envInt(120, 1, 3600),
    AGENT_RUN_TIMEOUT_SECONDS: envInt(1800, 1, 24 * 3600),
    MAX_AGENT_ITERATIONS: envInt(3, 1, 10),
    WORKER_CONCURRENCY: envInt(2, 1, 64),
    AGENT_JOB_LOCK_MS: envInt(30_000, 500, 600_000),
    AGENT_JOB_STALLED_INTERVAL_MS: envInt(30_000, 500, 600_000),
    AGENT_QUEUED_SWEEP_SECONDS: envInt(30, 1, 3600),
    AGENT_NO_WORKER_WARN_SECONDS: envInt(60, 0, 24 * 3600),
    AGENT_STREAM_DELTAS: envBool(true),
    AGENT_MAX_TOOL_CALLS: envInt(40, 1, 200),
    AGENT_LOOP_CONTEXT_TOKENS: envInt(60_000, 4_000, 2_000_000),
    USE_COUNCIL_REVIEW: envBool(false),
    COUNCIL_JUDGES: envList(),
    SSE_HEARTBEAT_MS: envInt(15_000, 50, 300_000),
    TASK_MAX_FILES: envInt(50, 0, 1000),
    TASK_MAX_FILE_BYTES: envInt(100_000, 1, 10_000_000),
    TASK_MAX_TOTAL_BYTES: envInt(500_000, 1, 50_000_000),
    IDEMPOTENCY_TTL_HOURS: envInt(24, 1, 24 * 30),
    MAX_QUEUED_RUNS: envInt(1000, 0, 10_000_000),
    MAX_QUEUED_RUNS_PER_USER: envInt(50, 0, 10_000_000),
    QUEUE_FULL_RETRY_AFTER_SECONDS: envInt(30, 1, 3600),
  });
  const judges = env.COUNCIL_JUDGES.length > 0 ? env.COUNCIL_JUDGES : ['security', 'performance', 'maintainability'];
  return {
    stepTimeoutMs: env.AGENT_TIMEOUT_SECONDS * 1000,
    runTimeoutMs: env.AGENT_RUN_TIMEOUT_SECONDS * 1000,
    maxIterations: env.MAX_AGENT_ITERATIONS,
    workerConcurrency: env.WORKER_CONCURRENCY,
    jobLockMs: env.AGENT_JOB_LOCK_MS,
    jobStalledIntervalMs: env.AGENT_JOB_STALLED_INTERVAL_MS,
    queuedSweepMs: env.AGENT_QUEUED_SWEEP_SECONDS * 1000,
    /** A run queued this long with no worker online gets `run.waiting_for_worker` (0: never). */
    noWorkerWarnMs: env.AGENT_NO_WORKER_WARN_SECONDS * 1000,
    streamDeltas: env.AGENT_STREAM_DELTAS,
    maxToolCalls: env.AGENT_MAX_TOOL_CALLS,
    loopContextTokens: env.AGENT_LOOP_CONTEXT_TOKENS,
    councilByDefault: env.USE_COUNCIL_REVIEW,
    councilJudges: judges,
    sseHeartbeatMs: env.SSE_HEARTBEAT_MS,
    limits: {
      maxFiles: env.TASK_MAX_FILES,
      maxFileBytes: env.TASK_MAX_FILE_BYTES,
      maxTotalBytes: env.TASK_MAX_TOTAL_BYTES,
    },
    idempotencyTtlMs: env.IDEMPOTENCY_TTL_HOURS * 3600 * 1000,
    /** Back-pressure on `POST /tasks/:id/execute`: runs waiting for a worker, in all and per user (0: no limit). */
    queueLimits: {
      maxQueuedRuns: env.MAX_QUEUED_RUNS,
      maxQueuedRunsPerUser: env.MAX_QUEUED_RUNS_PER_USER,
      retryAfterSeconds: env.QUEUE_FULL_RETRY_AFTER_SECONDS,
    },
  };
});
export type AgentsConfig = ReturnType<typeof agentsConfig>;
