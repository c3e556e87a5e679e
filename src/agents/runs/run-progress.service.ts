import { randomUUID } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { LlmUsage, RoutingDecision, WriteWithUsage } from '#src/agents/llm/llm.types.js';
import type { EventType } from '#src/common/events.js';
import { TaskStatusService } from '#src/tasks/task-status.service.js';
import { RunStep, RunStepStatus } from './entities/run-step.entity.js';
import { Run, RunAwaiting, RunResult } from './entities/run.entity.js';
import { RunEventsService } from './run-events.service.js';
import { normaliseUsd } from '#src/metrics/money.js';
import { RunsService, usageOf } from './runs.service.js';

export type ClaimOutcome = { action: 'start' | 'resume' | 'recover'; run: Run } | { action: 'skip'; run: Run | null };

/** A running step's usage so far and its memo (see recordStepProgress). */
export interface StepProgress {
  usage: LlmUsage;
  costUsd: string;
  provider: string | null;
  model: string | null;
  routing?: RoutingDecision | null;
  output: unknown;
}

export interface StepStart {
  agent: string;
  iteration: number;
  stepKey?: string;
  provider?: string | null;
  model?: string | null;
}

export interface StepFinish {
  status: Exclude<RunStepStatus, 'running'>;
  usage?: Partial<LlmUsage>;
  costUsd?: string;
  summary: string;
  error?: string;
  output?: unknown;
  provider?: string | null;
  model?: string | null;
  /** The router's decision for the step's latest model call. */
  routing?: RoutingDecision | null;
  /** Extra fields for the `agent.completed` event. */
  data?: Record<string, unknown>;
}

/**
 * The worker's side of a run: claiming it, its steps, usage and its terminal states. Each change
 * commits with the event that reports it.
 */
@Injectable()
export class RunProgressService {
  private readonly logger = new Logger(RunProgressService.name);
  /** Per run, the last event written in the background (see emitSoon), until it has been waited for. */
  private readonly backlog = new Map<string, Promise<void>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly events: RunEventsService,
    private readonly taskStatus: TaskStatusService,
    private readonly runs: RunsService,
  ) {}

  /**
   * Takes the run for this job. A queued run starts (or resumes after a plan answer); a run already
   * `running` is a stalled job redelivered after a worker died, which continues from its checkpoint.
   */
  async claim(runId: string): Promise<ClaimOutcome> {
    return this.events.transaction(async (manager) => {
      const run = await manager
        .getRepository(Run)
        .findOne({ where: { id: runId }, lock: { mode: 'pessimistic_write' } });
      if (!run) return { action: 'skip', run: null };
      if (
        run.status === 'completed' ||
        run.status === 'failed' ||
        run.status === 'cancelled' ||
        run.status === 'awaiting_input'
      ) {
        return { action: 'skip', run };
      }
      if (run.cancelRequested) {
        await this.runs.markCancelled(manager, run);
        return { action: 'skip', run };
      }
      if (run.status === 'running') {
        // Steps the dead worker left open will never finish; they are closed so the list stays honest.
        await manager.update(
          RunStep,
          { runId, status: 'running' },
          { status: 'interrupted', finishedAt: new Date(), error: 'The worker stopped during this step.' },
        );
        return { action: 'recover', run };
      }
      const resumed = run.resumeCount > 0;
      run.status = 'running';
      run.startedAt ??= new Date();
      await manager.update(Run, { id: run.id }, { status: 'running', startedAt: run.startedAt });
      await this.taskStatus.set(manager, run.taskId, 'running');
      await this.events.append(manager, run, 'run.started', { iteration: run.iteration, resumed });
      return { action: resumed ? 'resume' : 'start', run };
    });
  }

  async isCancelRequested(runId: string): Promise<boolean> {
    const row = await this.dataSource
      .getRepository(Run)
      .findOne({ where: { id: runId }, select: { id: true, cancelRequested: true } });
    return row?.cancelRequested ?? false;
  }

  async completedStep(runId: string, stepKey: string): Promise<RunStep | null> {
    return this.dataSource.getRepository(RunStep).findOne({ where: { runId, stepKey, status: 'completed' } });
  }

  /** The newest step of a step key (a tool loop continued after a crash has one row per worker). */
  async latestStep(runId: string, stepKey: string): Promise<RunStep | null> {
    return this.dataSource
      .getRepository(RunStep)
      .findOne({ where: { runId, stepKey }, order: { startedAt: 'DESC', id: 'DESC' } });
  }

  /**
   * Writes a running step's usage so far and its memo (a tool loop's latest model answer and the loop
   * before it) on its row: the step's cost is current even if the worker dies, and a resumed loop
   * continues from the memo instead of paying for its model calls again.
   */
  async recordStepProgress(stepId: string, progress: StepProgress): Promise<void> {
    const params: unknown[] = [];
    const sql = this.stepProgressWrite(stepId, progress).sql((value) => {
      params.push(value);
      return `$${params.length}`;
    });
    await this.dataSource.query(sql, params);
  }

  /**
   * The same write as recordStepProgress, to go with a model call's usage row (a tool loop's memo
   * of each model call: see LlmCallRequest.recordWith): one statement, one transaction.
   */
  stepProgressWrite(stepId: string, progress: StepProgress): WriteWithUsage {
    return {
      sql: (param) =>
        `UPDATE run_steps SET input_tokens = ${param(progress.usage.inputTokens)},
           cached_input_tokens = ${param(progress.usage.cachedInputTokens)},
           output_tokens = ${param(progress.usage.outputTokens)},
           routing = COALESCE(${param(progress.routing ? JSON.stringify(progress.routing) : null)}::jsonb, routing),
           cost_usd = ${param(progress.costUsd)}::numeric, provider = ${param(progress.provider)},
           model = ${param(progress.model)},
           output = ${param(progress.output === undefined || progress.output === null ? null : JSON.stringify(progress.output))}::jsonb
         WHERE id = ${param(stepId)}`,
    };
  }

  /**
   * The step row and its `agent.started` event, in one statement with the run's lock (see
   * RunEventsService.appendUnlessEnded); a run that has ended meanwhile gets no step.
   */
  async startStep(run: Run, start: StepStart): Promise<RunStep> {
    await this.flushEvents(run.id);
    const step = Object.assign(new RunStep(), {
      id: randomUUID(),
      runId: run.id,
      userId: run.userId,
      stepKey: start.stepKey ?? null,
      agent: start.agent,
      iteration: start.iteration,
      provider: start.provider ?? null,
      model: start.model ?? null,
      status: 'running',
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      routing: null,
      costUsd: '0',
      summary: null,
      error: null,
      output: null,
      startedAt: new Date(),
      finishedAt: null,
    } satisfies Omit<RunStep, 'createdAt'>);
    const stored = await this.events.appendUnlessEnded(
      run,
      'agent.started',
      {
        agent: start.agent,
        iteration: start.iteration,
        stepId: step.id,
        provider: start.provider ?? undefined,
        model: start.model ?? undefined,
      },
      (params) => {
        const at = params.length;
        params.push(step.id, step.stepKey, step.agent, step.iteration, step.provider, step.model, step.startedAt);
        const p = (n: number) => `$${at + n}`;
        return {
          with: [
            `step AS (INSERT INTO run_steps (id, run_id, user_id, step_key, agent, iteration, provider, model, status, started_at)
               SELECT ${p(1)}, $2, $3, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}, 'running', ${p(7)} FROM next)`,
          ],
        };
      },
    );
    if (!stored) throw new RunEndedError(run.id);
    step.createdAt = step.startedAt;
    return step;
  }

  /**
   * The step's end, the run's usage and the `agent.completed` event (with the run's totals), in one
   * statement with the run's lock. A step still going when its run ended (a judge answering after
   * the cancel) writes nothing: the run's steps were closed with its terminal event, which stays
   * the last one.
   */
  async finishStep(run: Run, step: RunStep, finish: StepFinish): Promise<void> {
    await this.flushEvents(run.id);
    const inputTokens = finish.usage?.inputTokens ?? 0;
    const cachedInputTokens = finish.usage?.cachedInputTokens ?? 0;
    const outputTokens = finish.usage?.outputTokens ?? 0;
    const costUsd = finish.costUsd ?? '0';
    const provider = finish.provider ?? step.provider;
    const model = finish.model ?? step.model;
    const stored = await this.events.appendUnlessEnded(
      run,
      'agent.completed',
      {
        agent: step.agent,
        iteration: step.iteration,
        stepId: step.id,
        status: finish.status,
        summary: finish.summary.slice(0, 500),
        provider: provider ?? undefined,
        model: model ?? undefined,
        stepUsage: { inputTokens, cachedInputTokens, outputTokens, costUsd: normaliseUsd(costUsd) },
        ...finish.data,
      },
      (params) => {
        const at = params.length;
        params.push(
          inputTokens,
          cachedInputTokens,
          outputTokens,
          costUsd,
          step.id,
          finish.status,
          new Date(),
          finish.routing ? JSON.stringify(finish.routing) : null,
          finish.summary.slice(0, 2000),
          finish.error ?? null,
          finish.output === undefined || finish.output === null ? null : JSON.stringify(finish.output),
          provider,
          model,
        );
        const p = (n: number) => `$${at + n}`;
        return {
          set: [
            `input_tokens = input_tokens + ${p(1)}`,
            `cached_input_tokens = cached_input_tokens + ${p(2)}`,
            `output_tokens = output_tokens + ${p(3)}`,
            `cost_usd = cost_usd + ${p(4)}::numeric`,
          ],
          usage: true,
          with: [
            `step AS (UPDATE run_steps SET status = ${p(6)}, finished_at = ${p(7)}, input_tokens = ${p(1)},
                 cached_input_tokens = ${p(2)}, output_tokens = ${p(3)}, cost_usd = ${p(4)}::numeric,
                 routing = COALESCE(${p(8)}::jsonb, routing), summary = ${p(9)}, error = ${p(10)},
                 output = ${p(11)}::jsonb, provider = ${p(12)}, model = ${p(13)}
               WHERE id = ${p(5)} AND EXISTS (SELECT 1 FROM next))`,
          ],
        };
      },
    );
    if (stored?.totals) Object.assign(run, stored.totals);
  }

  async setIteration(run: Run, iteration: number): Promise<void> {
    run.iteration = iteration;
    await this.dataSource.getRepository(Run).update({ id: run.id }, { iteration });
  }

  /** An event on its own (nothing written with it); dropped once the run has ended. */
  async emit(run: Run, type: EventType, data: Record<string, unknown>): Promise<void> {
    await this.flushEvents(run.id);
    await this.events.appendUnlessEnded(run, type, { iteration: run.iteration, ...data });
  }

  /**
   * An event (on its own, as `emit`) whose write does not hold the caller up: a tool loop's
   * `agent.tool_call` is written while the loop asks the model its next question. The run's later
   * events wait for it, so their order (and `seq`) is the order they were emitted in; a write that
   * failed is thrown by the next one that waits (flushEvents), which fails that step instead.
   */
  emitSoon(run: Run, type: EventType, data: Record<string, unknown>): void {
    const before = this.backlog.get(run.id);
    const fields = { iteration: run.iteration, ...data };
    const write = (before ?? Promise.resolve())
      .then(() => this.events.appendUnlessEnded(run, type, fields))
      .then(() => undefined);
    this.backlog.set(run.id, write);
    // Forgotten once written; a failure stays until a flush reports it.
    write.then(
      () => {
        if (this.backlog.get(run.id) === write) this.backlog.delete(run.id);
      },
      () => undefined,
    );
  }

  /** Waits for the run's events written in the background; throws the failure of one that was not. */
  async flushEvents(runId: string): Promise<void> {
    const pending = this.backlog.get(runId);
    if (!pending) return;
    try {
      await pending;
    } finally {
      if (this.backlog.get(runId) === pending) this.backlog.delete(runId);
    }
  }

  /** flushEvents for a run that is ending anyway (failed, cancelled): a lost event is logged, not thrown. */
  private async settleEvents(runId: string): Promise<void> {
    await this.flushEvents(runId).catch((error: unknown) =>
      this.logger.warn({ err: error, runId }, 'an event written in the background was lost'),
    );
  }

  /**
   * Whether the run already has its terminal state. The row lock waits for a cancel committing at
   * the same moment, so nothing lands after its event. A write lock, not a shared one: the event
   * append that follows updates the same row (`last_seq`), and two shared holders upgrading deadlock.
   */
  private async hasEnded(manager: EntityManager, runId: string): Promise<boolean> {
    const row = await manager
      .getRepository(Run)
      .findOne({ where: { id: runId }, select: { id: true, status: true }, lock: { mode: 'pessimistic_write' } });
    return !row || isTerminal(row.status);
  }

  /** The graph stopped at the plan-approval interrupt: the run waits for a plan answer. */
  async awaitInput(run: Run, data: Record<string, unknown>): Promise<void> {
    await this.flushEvents(run.id);
    await this.events.transaction(async (manager) => {
      const awaiting: RunAwaiting = { reason: 'plan' };
      run.status = 'awaiting_input';
      run.awaiting = awaiting;
      await manager.update(Run, { id: run.id }, { status: 'awaiting_input', resumeAnswer: null, awaiting });
      await this.taskStatus.set(manager, run.taskId, 'awaiting_input');
      await this.events.append(manager, run, 'run.awaiting_input', {
        iteration: run.iteration,
        reason: 'plan',
        ...data,
      });
    });
  }

  /**
   * A limit refused a model call of a run whose task pauses on budget: the run waits in
   * `awaiting_input` (`reason: "budget"`) with its checkpoint. Steps left open by the refused call
   * are closed as interrupted, as after a worker's crash; the resumed run redoes only them.
   */
  async pauseForBudget(
    run: Run,
    refused: Omit<Extract<RunAwaiting, { reason: 'budget' }>, 'reason'> & { spentUsd: string },
  ): Promise<void> {
    await this.flushEvents(run.id);
    await this.events.transaction(async (manager) => {
      const locked = await manager
        .getRepository(Run)
        .findOne({ where: { id: run.id }, lock: { mode: 'pessimistic_write' } });
      if (!locked || isTerminal(locked.status)) return;
      const awaiting: RunAwaiting = {
        reason: 'budget',
        scope: refused.scope,
        scopeId: refused.scopeId,
        limitUsd: normaliseUsd(refused.limitUsd),
        requiredUsd: normaliseUsd(refused.requiredUsd),
      };
      await manager.update(
        RunStep,
        { runId: run.id, status: 'running' },
        {
          status: 'interrupted',
          finishedAt: new Date(),
          error: 'Paused: the budget does not cover the next model call.',
        },
      );
      await manager.update(Run, { id: run.id }, { status: 'awaiting_input', resumeAnswer: null, awaiting });
      await this.taskStatus.set(manager, run.taskId, 'awaiting_input');
      Object.assign(run, { status: 'awaiting_input', awaiting, resumeAnswer: null });
      await this.events.append(manager, locked, 'run.awaiting_input', {
        iteration: locked.iteration,
        reason: 'budget',
        scope: awaiting.scope,
        scopeId: awaiting.scopeId,
        limitUsd: awaiting.limitUsd,
        spentUsd: normaliseUsd(refused.spentUsd),
        requiredUsd: awaiting.requiredUsd,
        usage: usageOf(locked),
      });
    });
  }

  async complete(run: Run, result: RunResult, data: Record<string, unknown>): Promise<void> {
    await this.flushEvents(run.id);
    await this.finish(run, 'completed', { result }, 'run.completed', data);
  }

  async fail(run: Run, code: string, message: string, result?: RunResult | null): Promise<void> {
    await this.settleEvents(run.id);
    await this.finish(
      run,
      'failed',
      { error: message.slice(0, 4000), errorCode: code, result: result ?? null },
      'run.failed',
      {
        code,
        error: message.slice(0, 1000),
      },
    );
  }

  async cancel(run: Run): Promise<void> {
    await this.settleEvents(run.id);
    await this.events.transaction(async (manager) => {
      const locked = await manager
        .getRepository(Run)
        .findOne({ where: { id: run.id }, lock: { mode: 'pessimistic_write' } });
      if (!locked || isTerminal(locked.status)) return;
      await this.runs.markCancelled(manager, locked);
      Object.assign(run, {
        status: locked.status,
        finishedAt: locked.finishedAt,
        error: locked.error,
        errorCode: locked.errorCode,
      });
    });
  }

  private async finish(
    run: Run,
    status: 'completed' | 'failed',
    fields: Partial<Pick<Run, 'result' | 'error' | 'errorCode'>>,
    type: EventType,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.events.transaction(async (manager) => {
      const locked = await manager
        .getRepository(Run)
        .findOne({ where: { id: run.id }, lock: { mode: 'pessimistic_write' } });
      if (!locked || isTerminal(locked.status)) return;
      const finishedAt = new Date();
      await manager.update(Run, { id: run.id }, { ...fields, status, finishedAt } as never);
      await this.taskStatus.set(manager, run.taskId, status);
      Object.assign(run, fields, { status, finishedAt });
      await this.events.append(manager, locked, type, { iteration: locked.iteration, usage: usageOf(locked), ...data });
    });
  }
}

/** A step was about to start on a run that has already ended (cancelled meanwhile). */
export class RunEndedError extends Error {
  constructor(runId: string) {
    super(`The run ${runId} has already ended.`);
    this.name = 'RunEndedError';
  }
}

export function isTerminal(status: Run['status']): boolean {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}
