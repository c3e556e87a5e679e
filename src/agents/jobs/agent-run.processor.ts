import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Job, WaitingError, Worker } from 'bullmq';
import { RunGraphService } from '#src/agents/graph/run-graph.service.js';
import { ProviderRegistry } from '#src/agents/llm/provider-registry.js';
import type { RunContext } from '#src/agents/graph/run-context.js';
import type { Run } from '#src/agents/runs/entities/run.entity.js';
import { RunProgressService } from '#src/agents/runs/run-progress.service.js';
import { RunsService } from '#src/agents/runs/runs.service.js';
import { TrajectoryRecorder } from '#src/agents/trajectories/trajectory-recorder.service.js';
import { DomainError } from '#src/common/errors.js';
import type { BudgetExceededError } from '#src/metrics/metrics.errors.js';
import { inSpan, withCarriedContext } from '#src/telemetry/spans.js';
import {
  CancelledRunError,
  RunInterruptedError,
  isInterruption,
  pausesForBudget,
} from '#src/agents/graph/graph.errors.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { JobName, JobOf, QueueName } from '#src/queue/queue.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { RunCancellationService } from './run-cancellation.service.js';

class RunTimeoutError extends Error {
  constructor(ms: number) {
    super(`The run exceeded its time limit of ${Math.round(ms / 1000)} s.`);
    this.name = 'RunTimeoutError';
  }
}

/**
 * The BullMQ consumer of agent runs. The Worker is built here (not with @Processor) so that its
 * concurrency and stall settings come from typed config at start. A job loads its run, advances the
 * graph from its checkpoint and records the end state; a redelivered stalled job continues where the
 * dead worker's last checkpoint left off.
 */
@Injectable()
export class AgentRunProcessor implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(AgentRunProcessor.name);
  private worker?: Worker<JobOf<JobName.AgentRun>>;
  private sweepTimer?: NodeJS.Timeout;
  private readonly settings: AllConfig['agents'];
  private readonly shutdownTimeoutMs: number;
  /** Aborted when this process starts shutting down: every run in flight is handed over. */
  private readonly handover = new AbortController();
  /** The runs in flight on this worker (their abort controllers). */
  private readonly inFlight = new Map<string, AbortController>();

  constructor(
    config: ConfigService<AllConfig, true>,
    private readonly redisFactory: RedisFactory,
    private readonly graph: RunGraphService,
    private readonly progress: RunProgressService,
    private readonly runs: RunsService,
    private readonly cancellation: RunCancellationService,
    private readonly providers: ProviderRegistry,
    private readonly trajectories: TrajectoryRecorder,
  ) {
    this.settings = config.get('agents', { infer: true });
    this.shutdownTimeoutMs = config.get('app', { infer: true }).shutdownTimeoutMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    // The SDKs load before the first job, not inside it while its lock is held.
    await this.providers.prepareAll();
    this.worker = new Worker<JobOf<JobName.AgentRun>>(QueueName.AgentRuns, (job, token) => this.traced(job, token), {
      connection: this.redisFactory.bullConnection(),
      prefix: `${this.redisFactory.prefix}:bull`,
      concurrency: this.settings.workerConcurrency,
      lockDuration: this.settings.jobLockMs,
      stalledInterval: this.settings.jobStalledIntervalMs,
      maxStalledCount: 2,
    });
    // onFailed never rejects (it exists for the database being down); sweep logs its own failures.
    this.worker.on('failed', (job, error) => void this.onFailed(job, error).catch(() => undefined));
    this.worker.on('error', (error) => this.logger.error({ err: error }, 'agent run worker error'));
    this.sweepTimer = setInterval(() => void this.sweep().catch(() => undefined), this.settings.queuedSweepMs);
    this.sweepTimer.unref();
  }

  /**
   * Shutdown (SIGTERM of a deploy or a scale-in) hands the runs in flight over instead of failing
   * them: no new job is taken, each run stops at its next node boundary (half of SHUTDOWN_TIMEOUT_MS
   * for a step in flight to finish, then its model call or sandbox is aborted), its job goes back to
   * the wait list and another worker continues from the checkpoint. This is a destroy hook so that it
   * ends before any shutdown hook closes the database, Redis or the checkpointer.
   */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweepTimer);
    if (!this.worker) return;
    const closed = this.worker.close();
    if (this.inFlight.size > 0) {
      this.logger.log({ runs: [...this.inFlight.keys()] }, 'shutting down: handing the runs in flight over');
      this.handover.abort(new RunInterruptedError());
      const grace = setTimeout(() => {
        for (const controller of this.inFlight.values()) controller.abort(new RunInterruptedError());
      }, this.shutdownTimeoutMs / 2);
      grace.unref();
      await closed.finally(() => clearTimeout(grace));
      return;
    }
    await closed;
  }

  /** One span per job of the run, in the trace of the request that enqueued it. */
  private traced(job: Job<JobOf<JobName.AgentRun>>, token?: string): Promise<void> {
    return withCarriedContext(job.data.trace, () =>
      inSpan('agent run', { 'quorum.run.id': job.data.runId, 'messaging.message.id': job.id ?? '' }, () =>
        this.process(job, token),
      ),
    );
  }

  async process(job: Job<JobOf<JobName.AgentRun>>, token?: string): Promise<void> {
    const started = Date.now();
    const { runId } = job.data;
    const claim = await this.progress.claim(runId);
    if (claim.action === 'skip') {
      this.logger.log({ jobId: job.id, runId, status: claim.run?.status }, 'nothing to do for this run');
      return;
    }
    const run = claim.run;
    this.logger.log({ jobId: job.id, runId, action: claim.action }, 'agent run job started');
    const controller = this.cancellation.register(runId);
    this.inFlight.set(runId, controller);
    // A recovered job inherits what is left of the run's time; a start or a plan answer gets it whole
    // (time spent waiting for the user's approval does not count against the run).
    const budgetMs = claim.action === 'recover' ? this.remainingMs(run) : this.settings.runTimeoutMs;
    const timer = setTimeout(() => controller.abort(new RunTimeoutError(this.settings.runTimeoutMs)), budgetMs);
    // A run paused by its budget continues from its checkpoint as a recovered one does: finished
    // steps are reused, only the refused call and what follows it run (and are paid for).
    const budgetResume = claim.action === 'resume' && run.resumeAnswer?.budget === true;
    const ctx = this.contextFor(run, controller.signal, claim.action === 'recover' || budgetResume);
    ctx.handover = this.handover.signal;
    try {
      // A cancel that landed between the claim and the registration above: looked up while the
      // graph starts, and it stops the run as a cancel message would. It counts as the graph's
      // first look; if it fails, the graph looks itself.
      ctx.cancelCheckedAt = Date.now();
      void this.progress.isCancelRequested(runId).then(
        (cancelled) => {
          if (cancelled) controller.abort(new CancelledRunError());
        },
        (error: unknown) => {
          ctx.cancelCheckedAt = undefined;
          this.logger.warn({ err: error, runId }, 'looking up a cancel after the claim failed');
        },
      );
      const exit = await this.graph.advance(ctx, claim.action === 'resume' && !budgetResume ? run.resumeAnswer : null);
      // The trajectory is complete before the run's end (or its wait for input) is announced.
      await this.trajectories.flushRun(runId);
      if (exit.kind === 'interrupted') await this.progress.awaitInput(run, { plan: exit.plan });
      else if (exit.status === 'completed') await this.progress.complete(run, exit.result, {});
      else await this.progress.fail(run, exit.code ?? 'AGENT_FAILED', exit.reason ?? 'The run failed.', exit.result);
    } catch (error) {
      await this.trajectories.flushRun(runId);
      if (isInterruption(controller.signal, error) && !(await this.progress.isCancelRequested(runId))) {
        await this.handOver(job, token, runId);
        throw new WaitingError();
      }
      await this.endWithError(ctx, controller.signal, error);
    } finally {
      this.inFlight.delete(runId);
      // A finished run's result lives on the run row; its checkpoints (code included) are not kept.
      if (run.status === 'completed' || run.status === 'failed' || run.status === 'cancelled')
        await this.graph.forget(run.id);
      clearTimeout(timer);
      this.cancellation.release(runId, controller);
      const done = { jobId: job.id, runId, ms: Date.now() - started, status: run.status };
      // A failed run says why on the same line (LLM_UNAVAILABLE: no provider configured, …).
      if (run.status === 'failed')
        this.logger.warn(
          { ...done, code: run.errorCode, reason: run.error },
          `agent run failed: ${run.errorCode ?? 'AGENT_FAILED'}: ${run.error ?? 'no reason recorded'}`,
        );
      else this.logger.log(done, 'agent run job done');
    }
  }

  /** The run stays `running` with its job back in the wait list; the next worker's claim recovers it. */
  private async handOver(job: Job<JobOf<JobName.AgentRun>>, token: string | undefined, runId: string): Promise<void> {
    await job.moveToWait(token);
    this.logger.log({ jobId: job.id, runId }, 'run handed over: its job is back in the queue');
  }

  private async endWithError(ctx: RunContext, signal: AbortSignal, error: unknown): Promise<void> {
    const run = ctx.run;
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (reason instanceof CancelledRunError || (await this.progress.isCancelRequested(run.id))) {
      await this.progress.cancel(run);
      return;
    }
    if (!reason && pausesForBudget(run, error)) {
      await this.progress.pauseForBudget(run, budgetRefusal(error));
      return;
    }
    const result = await this.graph.latestResult(ctx).catch(() => null);
    if (reason instanceof RunTimeoutError) {
      await this.progress.fail(run, 'RUN_TIMEOUT', reason.message, result);
      return;
    }
    if (error instanceof DomainError) {
      await this.progress.fail(run, error.code, error.message, result);
      return;
    }
    if (isTransient(error)) {
      // The database or the network blinked: BullMQ retries the job with backoff and the next attempt
      // continues from the checkpoint (completed steps are reused, not paid for again).
      this.logger.warn({ err: error, runId: run.id }, 'agent run hit a transient error; the job will be retried');
      throw error;
    }
    this.logger.error({ err: error, runId: run.id }, 'agent run failed unexpectedly');
    await this.progress.fail(
      run,
      'AGENT_FAILED',
      `The run failed: ${(error as Error)?.message ?? String(error)}`,
      result,
    );
  }

  /**
   * A job that failed for good outside the graph (the database was down on its last attempt, or it
   * stalled more often than allowed) fails its run, so no run stays `running` without a job.
   */
  async onFailed(job: Job<JobOf<JobName.AgentRun>> | undefined, error: Error): Promise<void> {
    if (!job) return;
    try {
      const state = await job.getState().catch(() => 'unknown');
      if (state !== 'failed') return;
      const run = await this.runs.findById(job.data.runId);
      if (run) await this.progress.fail(run, 'AGENT_FAILED', `The run could not be processed: ${error.message}`);
    } catch (failure) {
      // Most often the database is still down: the run stays `running` and the stranded-run sweep
      // (or the next worker start) settles it. A rejection here must not end the worker.
      this.logger.error(
        { err: failure, jobId: job.id, runId: job.data.runId, jobError: error.message },
        'could not mark the run of a failed job as failed',
      );
    }
  }

  private async sweep(): Promise<void> {
    try {
      await this.runs.enqueueStranded(this.settings.queuedSweepMs);
    } catch (error) {
      this.logger.warn({ err: error }, 'sweeping stranded runs failed');
    }
  }

  private remainingMs(run: Run): number {
    const startedAt = run.startedAt?.getTime() ?? Date.now();
    return Math.max(1_000, startedAt + this.settings.runTimeoutMs - Date.now());
  }

  private contextFor(run: Run, signal: AbortSignal, recovering: boolean): RunContext {
    const config = run.input.config ?? {};
    const models: Record<string, string> = {};
    for (const [agent, ref] of Object.entries(config.models ?? {})) if (ref) models[agent] = ref;
    return {
      run,
      signal,
      maxIterations: config.maxIterations ?? this.settings.maxIterations,
      requirePlanApproval: config.requirePlanApproval ?? false,
      councilEnabled: config.councilEnabled ?? this.settings.councilByDefault,
      judges: config.judges ?? this.settings.councilJudges,
      models,
      maxToolCalls: config.maxToolCalls ?? this.settings.maxToolCalls,
      latencySloMs: config.latencySloMs,
      loopContextTokens: this.settings.loopContextTokens,
      recovering,
    };
  }
}

/** Connection loss, server shutdown, serialization failure or deadlock: worth another attempt. */
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08003',
  '08006',
  '40001',
  '40P01',
]);

function isTransient(error: unknown): boolean {
  const code =
    (error as { code?: unknown; driverError?: { code?: unknown } })?.code ??
    (error as { driverError?: { code?: unknown } })?.driverError?.code;
  return typeof code === 'string' && TRANSIENT_CODES.has(code);
}

/** What the refused call needed and from which limit (the `BUDGET_EXCEEDED` error's details). */
function budgetRefusal(error: DomainError) {
  const detail = (error.options.extra ?? {}) as Partial<BudgetExceededError['detail']>;
  return {
    scope: detail.scope ?? 'user',
    scopeId: detail.scopeId ?? '',
    limitUsd: detail.limitUsd ?? '0',
    spentUsd: detail.spentUsd ?? '0',
    requiredUsd: detail.requiredUsd ?? '0',
  };
}
