import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { LlmUsage, RoutingDecision } from '#src/agents/llm/llm.types.js';
import type { EventType } from '#src/common/events.js';
import { TaskStatusService } from '#src/tasks/task-status.service.js';
import { RunStep, RunStepStatus } from './entities/run-step.entity.js';
import { Run, RunAwaiting, RunResult } from './entities/run.entity.js';
import { RunEventsService } from './run-events.service.js';
import { normaliseUsd } from '#src/metrics/money.js';
import { RunsService, usageOf } from './runs.service.js';

export type ClaimOutcome = { action: 'start' | 'resume' | 'recover'; run: Run } | { action: 'skip'; run: Run | null };

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

  async findStep(stepId: string): Promise<RunStep | null> {
    return this.dataSource.getRepository(RunStep).findOne({ where: { id: stepId } });
  }

  /**
   * Writes a running step's usage so far and its latest model answer (a tool loop's round) on its
   * row: the step's cost is current even if the worker dies, and a resumed loop finds the answer of
   * a model call whose checkpoint was lost instead of paying for it again.
   */
  async recordStepProgress(
    stepId: string,
    progress: {
      usage: LlmUsage;
      costUsd: string;
      provider: string | null;
      model: string | null;
      routing?: RoutingDecision | null;
      output: unknown;
    },
  ): Promise<void> {
    await this.dataSource.getRepository(RunStep).update(
      { id: stepId },
      {
        inputTokens: progress.usage.inputTokens,
        cachedInputTokens: progress.usage.cachedInputTokens,
        outputTokens: progress.usage.outputTokens,
        ...(progress.routing ? { routing: progress.routing } : {}),
        costUsd: progress.costUsd,
        provider: progress.provider,
        model: progress.model,
        output: progress.output as never,
      },
    );
  }

  async startStep(run: Run, start: StepStart): Promise<RunStep> {
    return this.events.transaction(async (manager) => {
      if (await this.hasEnded(manager, run.id)) throw new RunEndedError(run.id);
      const step = await manager.save(
        manager.create(RunStep, {
          runId: run.id,
          userId: run.userId,
          stepKey: start.stepKey ?? null,
          agent: start.agent,
          iteration: start.iteration,
          provider: start.provider ?? null,
          model: start.model ?? null,
          status: 'running',
          startedAt: new Date(),
        }),
      );
      await this.events.append(manager, run, 'agent.started', {
        agent: start.agent,
        iteration: start.iteration,
        stepId: step.id,
        provider: start.provider ?? undefined,
        model: start.model ?? undefined,
      });
      return step;
    });
  }

  async finishStep(run: Run, step: RunStep, finish: StepFinish): Promise<void> {
    const inputTokens = finish.usage?.inputTokens ?? 0;
    const cachedInputTokens = finish.usage?.cachedInputTokens ?? 0;
    const outputTokens = finish.usage?.outputTokens ?? 0;
    const costUsd = finish.costUsd ?? '0';
    await this.events.transaction(async (manager) => {
      // A step still going when its run ended (a judge answering after the cancel) writes nothing:
      // the run's steps were closed with its terminal event, which stays the last one.
      if (await this.hasEnded(manager, run.id)) return;
      await manager.update(
        RunStep,
        { id: step.id },
        {
          status: finish.status,
          finishedAt: new Date(),
          inputTokens,
          cachedInputTokens,
          outputTokens,
          costUsd,
          ...(finish.routing ? { routing: finish.routing } : {}),
          summary: finish.summary.slice(0, 2000),
          error: finish.error ?? null,
          output: (finish.output ?? null) as never,
          provider: finish.provider ?? step.provider,
          model: finish.model ?? step.model,
        },
      );
      const usage = await this.addUsage(manager, run, { inputTokens, cachedInputTokens, outputTokens }, costUsd);
      await this.events.append(manager, run, 'agent.completed', {
        agent: step.agent,
        iteration: step.iteration,
        stepId: step.id,
        status: finish.status,
        summary: finish.summary.slice(0, 500),
        provider: finish.provider ?? step.provider ?? undefined,
        model: finish.model ?? step.model ?? undefined,
        stepUsage: { inputTokens, cachedInputTokens, outputTokens, costUsd: normaliseUsd(costUsd) },
        usage,
        ...finish.data,
      });
    });
  }

  async setIteration(run: Run, iteration: number): Promise<void> {
    run.iteration = iteration;
    await this.dataSource.getRepository(Run).update({ id: run.id }, { iteration });
  }

  /** An event on its own (nothing written with it); dropped once the run has ended. */
  async emit(run: Run, type: EventType, data: Record<string, unknown>): Promise<void> {
    await this.events.appendUnlessEnded(run, type, { iteration: run.iteration, ...data });
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
    await this.finish(run, 'completed', { result }, 'run.completed', data);
  }

  async fail(run: Run, code: string, message: string, result?: RunResult | null): Promise<void> {
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

  private async addUsage(
    manager: EntityManager,
    run: Run,
    tokens: { inputTokens: number; cachedInputTokens: number; outputTokens: number },
    costUsd: string,
  ) {
    const [rows] = await manager.query<
      [Array<{ input_tokens: number; cached_input_tokens: number; output_tokens: number; cost_usd: string }>, number]
    >(
      `UPDATE runs SET input_tokens = input_tokens + $2, cached_input_tokens = cached_input_tokens + $3,
         output_tokens = output_tokens + $4, cost_usd = cost_usd + $5::numeric
       WHERE id = $1 RETURNING input_tokens, cached_input_tokens, output_tokens, cost_usd`,
      [run.id, tokens.inputTokens, tokens.cachedInputTokens, tokens.outputTokens, costUsd],
    );
    const row = rows[0];
    run.inputTokens = row.input_tokens;
    run.cachedInputTokens = row.cached_input_tokens;
    run.outputTokens = row.output_tokens;
    run.costUsd = row.cost_usd;
    return usageOf(run);
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
