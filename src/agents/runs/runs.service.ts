import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { DataSource, EntityManager, In, LessThan } from 'typeorm';
import { Page, PageQueryDto, paginate } from '#src/common/pagination.js';
import type { AllConfig } from '#src/config/namespaces.js';
import { JobName, JobOf, QueueName } from '#src/queue/queue.constants.js';
import { REDIS_CLIENT } from '#src/redis/redis.constants.js';
import { RedisFactory } from '#src/redis/redis.factory.js';
import { TaskStatusService } from '#src/tasks/task-status.service.js';
import { normaliseUsd } from '#src/metrics/money.js';
import { ValidationFailedError } from '#src/common/errors.js';
import { BudgetService } from '#src/metrics/budget.service.js';
import { ownership } from '#src/orgs/access-policy.js';
import { ResourceLocators } from '#src/orgs/resource-locators.js';
import { RunStep } from './entities/run-step.entity.js';
import { ACTIVE_RUN_STATUSES, ResumeAnswer, Run, RunInput } from './entities/run.entity.js';
import { RunEventsService } from './run-events.service.js';
import { traceCarrier } from '#src/telemetry/spans.js';
import {
  RunActiveError,
  RunNotAwaitingInputError,
  RunNotCancellableError,
  RunNotFoundError,
  ServerBusyError,
  TooManyQueuedRunsError,
} from './runs.errors.js';

export interface RunWithSteps {
  run: Run;
  steps: RunStep[];
}

const UNIQUE_VIOLATION = '23505';

/** pg_advisory_xact_lock key of the queue-limit check (hashtext('runs:queue-limits')). */
const QUEUE_LIMITS_LOCK = 'runs:queue-limits';

/** Runs as users and the API see them: creation on execute, queries, cancel and resume. */
@Injectable()
export class RunsService {
  private readonly logger = new Logger(RunsService.name);
  private readonly queueLimits: AllConfig['agents']['queueLimits'];

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectQueue(QueueName.AgentRuns) private readonly queue: Queue<JobOf<JobName.AgentRun>>,
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    private readonly redisFactory: RedisFactory,
    private readonly events: RunEventsService,
    private readonly taskStatus: TaskStatusService,
    private readonly budgets: BudgetService,
    locators: ResourceLocators,
    config: ConfigService<AllConfig, true>,
  ) {
    this.queueLimits = config.get('agents', { infer: true }).queueLimits;
    locators.register('run', {
      locate: (id) =>
        this.dataSource
          .getRepository(Run)
          .findOne({ select: { userId: true, orgId: true }, where: { id } })
          .then(ownership),
      notFound: () => new RunNotFoundError(),
    });
  }

  cancelChannel(): string {
    return this.redisFactory.key('run-cancel');
  }

  /**
   * Inserts the queued run, its `run.queued` event and the task's new status in the caller's
   * transaction (which holds the task row's lock). The partial unique index on active runs backs the
   * check up, so even a caller without that lock cannot create a second active run.
   */
  async createQueued(
    manager: EntityManager,
    task: { id: string; userId: string; orgId: string | null },
    input: RunInput,
    apiKeyId: string | null = null,
  ): Promise<Run> {
    if (await this.findActiveForTask(manager, task.id)) throw new RunActiveError();
    await this.assertQueueCapacity(manager, task.userId);
    let run: Run;
    try {
      // A savepoint keeps the caller's transaction usable when the unique index refuses the row.
      run = await manager.transaction((inner) =>
        inner.save(
          inner.create(Run, {
            taskId: task.id,
            userId: task.userId,
            orgId: task.orgId,
            apiKeyId,
            status: 'queued',
            input,
          }),
        ),
      );
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new RunActiveError();
      throw error;
    }
    await this.taskStatus.set(manager, task.id, 'queued');
    await this.events.append(manager, run, 'run.queued', { iteration: 0 });
    return run;
  }

  /**
   * Back-pressure: refuses a new run while `MAX_QUEUED_RUNS` runs (anyone's) or
   * `MAX_QUEUED_RUNS_PER_USER` runs started by `userId` wait for a worker. The check holds an
   * advisory lock to the end of the caller's transaction, so concurrent executes see each other's
   * runs and cannot overshoot; the caller's transaction rolls back on refusal, so nothing is created.
   */
  private async assertQueueCapacity(manager: EntityManager, userId: string): Promise<void> {
    const { maxQueuedRuns, maxQueuedRunsPerUser, retryAfterSeconds } = this.queueLimits;
    if (maxQueuedRuns === 0 && maxQueuedRunsPerUser === 0) return;
    // Taken before the count (its own statement), so the count sees every run committed before it.
    await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [QUEUE_LIMITS_LOCK]);
    const [counts] = await manager.query<Array<{ total: number; mine: number }>>(
      `SELECT count(*)::int AS total, count(*) FILTER (WHERE user_id = $1)::int AS mine
         FROM runs WHERE status = 'queued'`,
      [userId],
    );
    if (maxQueuedRuns > 0 && counts.total >= maxQueuedRuns) {
      this.logger.warn({ queued: counts.total, limit: maxQueuedRuns }, 'refusing a run: the queue is full');
      throw new ServerBusyError(retryAfterSeconds);
    }
    if (maxQueuedRunsPerUser > 0 && counts.mine >= maxQueuedRunsPerUser) {
      throw new TooManyQueuedRunsError(maxQueuedRunsPerUser, retryAfterSeconds);
    }
  }

  /** Adds the run's job; jobId = run id (resumes get their own id), so a repeated enqueue is a no-op. */
  async enqueue(run: Pick<Run, 'id' | 'resumeCount'>): Promise<void> {
    const jobId = run.resumeCount > 0 ? `${run.id}-resume-${run.resumeCount}` : run.id;
    await this.queue.add(JobName.AgentRun, { runId: run.id, trace: traceCarrier() }, { jobId });
  }

  /**
   * The outbox half of execute: a run committed as queued whose enqueue never happened (a crash
   * between commit and `queue.add`) is enqueued again. Adding an existing job id is a no-op.
   */
  async enqueueStranded(olderThanMs: number): Promise<number> {
    const stranded = await this.dataSource.getRepository(Run).find({
      where: { status: 'queued', updatedAt: LessThan(new Date(Date.now() - olderThanMs)) },
      take: 100,
    });
    for (const run of stranded) {
      const jobId = run.resumeCount > 0 ? `${run.id}-resume-${run.resumeCount}` : run.id;
      const job = await this.queue.getJob(jobId);
      const state = job ? await job.getState() : 'missing';
      if (state === 'missing' || state === 'unknown') {
        this.logger.warn({ runId: run.id }, 're-enqueueing a queued run that had no job');
        await this.enqueue(run);
      }
    }
    return stranded.length;
  }

  /** The organization's runs, or (orgId null) the user's own. */
  async list(scope: { userId: string; orgId: string | null }, page: PageQueryDto, taskId?: string): Promise<Page<Run>> {
    const query = this.dataSource.getRepository(Run).createQueryBuilder('run');
    if (scope.orgId) query.where('run.orgId = :orgId', { orgId: scope.orgId });
    else query.where('run.userId = :userId AND run.orgId IS NULL', { userId: scope.userId });
    if (taskId) query.andWhere('run.taskId = :taskId', { taskId });
    return paginate(query, page);
  }

  /** A run with its steps (who may read it is decided by the route's @Authorize). */
  async getWithSteps(runId: string): Promise<RunWithSteps> {
    const run = await this.get(runId);
    const steps = await this.dataSource
      .getRepository(RunStep)
      .find({ where: { runId }, order: { createdAt: 'ASC', id: 'ASC' } });
    return { run, steps };
  }

  async get(runId: string): Promise<Run> {
    const run = await this.dataSource.getRepository(Run).findOne({ where: { id: runId } });
    if (!run) throw new RunNotFoundError();
    return run;
  }

  async findById(runId: string): Promise<Run | null> {
    return this.dataSource.getRepository(Run).findOne({ where: { id: runId } });
  }

  async findActiveForTask(manager: EntityManager, taskId: string): Promise<Run | null> {
    return manager.getRepository(Run).findOne({ where: { taskId, status: In([...ACTIVE_RUN_STATUSES]) } });
  }

  /** Whether any run of the organization's tasks is queued, running or waiting for input. */
  async hasActiveInOrg(manager: EntityManager, orgId: string): Promise<boolean> {
    return manager.getRepository(Run).exists({ where: { orgId, status: In([...ACTIVE_RUN_STATUSES]) } });
  }

  async latestForTask(taskId: string): Promise<Run | null> {
    return this.dataSource.getRepository(Run).findOne({ where: { taskId }, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  /**
   * Cancels the task's active run. A queued or waiting run is cancelled at once (no worker holds it);
   * a running one gets its flag set and a Redis message that makes its worker abort within seconds.
   */
  async cancelForTask(taskId: string): Promise<Run> {
    const run = await this.events.transaction(async (manager) => {
      const active = await manager
        .getRepository(Run)
        .createQueryBuilder('run')
        .setLock('pessimistic_write')
        .where('run.taskId = :taskId AND run.status IN (:...statuses)', { taskId, statuses: ACTIVE_RUN_STATUSES })
        .getOne();
      if (!active) throw new RunNotCancellableError();
      active.cancelRequested = true;
      if (active.status === 'running') {
        await manager.update(Run, { id: active.id }, { cancelRequested: true });
        return active;
      }
      await this.markCancelled(manager, active);
      return active;
    });
    if (run.status === 'running') await this.redis.publish(this.cancelChannel(), run.id);
    return run;
  }

  /** Ends a run as cancelled (status, task status and `run.cancelled` in the caller's transaction). */
  async markCancelled(manager: EntityManager, run: Run): Promise<void> {
    run.status = 'cancelled';
    run.finishedAt = new Date();
    run.error = 'Cancelled by the user.';
    run.errorCode = 'RUN_CANCELLED';
    await manager.update(
      Run,
      { id: run.id },
      {
        status: 'cancelled',
        finishedAt: run.finishedAt,
        error: run.error,
        errorCode: run.errorCode,
        cancelRequested: true,
      },
    );
    await this.taskStatus.set(manager, run.taskId, 'cancelled');
    // Steps still open end with the run: none stays `running` forever.
    await manager.update(
      RunStep,
      { runId: run.id, status: 'running' },
      { status: 'cancelled', finishedAt: run.finishedAt, error: 'The run was cancelled.' },
    );
    await this.events.append(manager, run, 'run.cancelled', { iteration: run.iteration, usage: usageOf(run) });
    // A cancelled run never continues: its LangGraph checkpoints (generated code included) go with it.
    for (const table of ['checkpoint_writes', 'checkpoint_blobs', 'checkpoints']) {
      await manager.query(`DELETE FROM langgraph.${table} WHERE thread_id = $1`, [run.id]);
    }
  }

  /**
   * Answers a run waiting for input; the run goes back to the queue with the answer stored. A plan
   * answer approves or re-plans with feedback. A run paused by its budget continues (approve: true)
   * from its checkpoint, once every limit that applies has room for the call it was refused: it is
   * checked here (402 `BUDGET_EXCEEDED` while it has not), and reserved again by the call itself.
   */
  async resume(runId: string, answer: ResumeAnswer, raise: { maxCostUsd?: string } = {}): Promise<Run> {
    const run = await this.events.transaction(async (manager) => {
      const locked = await manager
        .getRepository(Run)
        .findOne({ where: { id: runId }, lock: { mode: 'pessimistic_write' } });
      if (!locked) throw new RunNotFoundError();
      if (locked.status !== 'awaiting_input') throw new RunNotAwaitingInputError();
      const awaiting = locked.awaiting ?? { reason: 'plan' };
      let stored: ResumeAnswer = answer;
      if (raise.maxCostUsd !== undefined && !(awaiting.reason === 'budget' && awaiting.scope === 'task'))
        throw new ValidationFailedError([
          { field: 'maxCostUsd', message: "only a run paused by its task's limit takes a new one" },
        ]);
      if (awaiting.reason === 'budget') {
        if (!answer.approve || answer.feedback !== undefined)
          throw new ValidationFailedError(
            [
              {
                field: 'approve',
                message: 'a run paused by its budget continues with {approve: true} (cancel the task to stop it)',
              },
            ],
            'The run is paused by its budget, not waiting for a plan answer.',
          );
        if (raise.maxCostUsd !== undefined) {
          // The run works on a snapshot of the task: both get the new limit.
          const maxCostUsd = normaliseUsd(raise.maxCostUsd);
          locked.input = { ...locked.input, config: { ...locked.input.config, maxCostUsd } };
          await manager.update(Run, { id: locked.id }, { input: locked.input });
          await this.taskStatus.setMaxCost(manager, locked.taskId, maxCostUsd);
        }
        const refused = await this.budgets.shortfall(
          {
            userId: locked.userId,
            orgId: locked.orgId,
            apiKeyId: locked.apiKeyId,
            taskId: locked.taskId,
            taskLimitUsd: locked.input.config.maxCostUsd === undefined ? null : String(locked.input.config.maxCostUsd),
          },
          awaiting.requiredUsd,
        );
        if (refused) throw refused;
        stored = { approve: true, budget: true };
      }
      locked.status = 'queued';
      locked.resumeCount += 1;
      locked.resumeAnswer = stored;
      locked.awaiting = null;
      await manager.update(
        Run,
        { id: locked.id },
        { status: 'queued', resumeCount: locked.resumeCount, resumeAnswer: stored, awaiting: null },
      );
      await this.taskStatus.set(manager, locked.taskId, 'queued');
      await this.events.append(manager, locked, 'run.queued', {
        iteration: locked.iteration,
        resumed: true,
        approve: stored.approve,
        reason: awaiting.reason,
      });
      return locked;
    });
    await this.enqueue(run);
    return run;
  }
}

export function usageOf(run: Pick<Run, 'inputTokens' | 'outputTokens' | 'costUsd'> & { cachedInputTokens?: number }) {
  return {
    inputTokens: run.inputTokens,
    cachedInputTokens: run.cachedInputTokens ?? 0,
    outputTokens: run.outputTokens,
    costUsd: normaliseUsd(run.costUsd),
  };
}
